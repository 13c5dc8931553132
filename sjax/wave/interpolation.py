"""Off-grid points: Kaiser-windowed sinc interpolation (Hicks 2002).

Sources are injected and receivers read with the same weights, so injection is the exact
adjoint of reading (this is what makes the discrete scheme reciprocal). The weights are smooth
in the point's position, so seismograms are differentiable with respect to source and receiver
coordinates. Near the free surface the weights falling above it are folded back onto their
mirror rows (even parity).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["PointWeights", "sinc_weights", "point_weights", "gather", "scatter_add"]

HALF_WIDTH = 4  # nodes on each side of the point
KAISER_BETA = 6.31  # Hicks (2002), table 2, for a half-width of 4 nodes


class PointWeights(NamedTuple):
    """Interpolation stencil of points on a staggered grid.

    Attributes:
        rows: ``(n_point, 2r, 1)`` int row indices.
        cols: ``(n_point, 1, 2r)`` int column indices.
        weights: ``(n_point, 2r, 2r)`` weights (sum to 1 away from edges).
    """

    rows: jax.Array
    cols: jax.Array
    weights: jax.Array


def sinc_weights(position: jax.Array) -> tuple[jax.Array, jax.Array]:
    """1-D Kaiser-windowed sinc stencil of points at fractional node coordinates.

    Args:
        position: ``(n,)`` point coordinates in units of node index (node ``k`` at ``k``).

    Returns:
        ``(indices, weights)``, each ``(n, 2r)``; indices may fall outside the array.
    """
    base = jnp.floor(position).astype(jnp.int32)
    offsets = jnp.arange(-HALF_WIDTH + 1, HALF_WIDTH + 1, dtype=jnp.int32)
    indices = base[:, None] + offsets[None, :]
    distance = indices.astype(position.dtype) - position[:, None]
    ratio2 = (distance / HALF_WIDTH) ** 2
    inside = ratio2 < 1.0
    safe = jnp.where(inside, 1.0 - ratio2, 1.0)
    window = jnp.where(inside, jnp.i0(KAISER_BETA * jnp.sqrt(safe)) / jnp.i0(KAISER_BETA), 0.0)
    return indices, jnp.sinc(distance) * window


def _fold_and_clip(indices, weights, n_nodes: int, mirror: str | None):
    if mirror == "node":  # surface on node 0: ghost -k -> k
        indices = jnp.abs(indices)
    elif mirror == "half":  # surface half a cell above half-node 0: ghost -1-k -> k
        indices = jnp.where(indices < 0, -1 - indices, indices)
    valid = (indices >= 0) & (indices < n_nodes)
    return jnp.clip(indices, 0, n_nodes - 1), jnp.where(valid, weights, 0.0)


def point_weights(
    z: jax.Array,
    x: jax.Array,
    *,
    shape: tuple[int, int],
    spacing: tuple[float, float],
    origin_x: float,
    offset: tuple[float, float],
    free_surface: bool,
) -> PointWeights:
    """2-D interpolation stencil of points ``(z, x)`` (m) on a (possibly staggered) grid.

    Args:
        z, x: ``(n,)`` depths and horizontal positions in m.
        shape: ``(nz_total, nx_total)`` array shape.
        spacing: ``(dz, dx)`` in m.
        origin_x: horizontal position in m of column 0 of the array.
        offset: ``(row_offset, col_offset)``: node ``(i, j)`` of this field sits at
            ``((i + row_offset)·dz, origin_x + (j + col_offset)·dx)``; 0 or 0.5.
        free_surface: fold weights above ``z = 0`` back onto their mirror rows.
    """
    row_offset, col_offset = offset
    rows, wz = sinc_weights(z / spacing[0] - row_offset)
    mirror = None if not free_surface else ("node" if row_offset == 0.0 else "half")
    rows, wz = _fold_and_clip(rows, wz, shape[0], mirror)
    cols, wx = sinc_weights((x - origin_x) / spacing[1] - col_offset)
    cols, wx = _fold_and_clip(cols, wx, shape[1], None)
    return PointWeights(rows[:, :, None], cols[:, None, :], wz[:, :, None] * wx[:, None, :])


def gather(field: jax.Array, stencil: PointWeights) -> jax.Array:
    """Interpolated values ``(n_point,)`` of a ``(nz, nx)`` field at the stencil's points.

    The stencil's indices are clipped into the array when it is built, so the gather promises
    in-bounds indices; that lets XLA transpose it (the adjoint source in reverse mode) into a
    cheap in-place scatter instead of a bounds-checked one (halves the gradient cost).
    """
    values = field.at[stencil.rows, stencil.cols].get(mode="promise_in_bounds")
    return jnp.sum(values * stencil.weights, axis=(1, 2))


def scatter_add(field: jax.Array, stencil: PointWeights, amplitudes: jax.Array) -> jax.Array:
    """Add ``amplitudes`` ``(n_point,)`` spread by the stencil into a ``(nz, nx)`` field."""
    values = (stencil.weights * amplitudes[:, None, None]).astype(field.dtype)
    rows = jnp.broadcast_to(stencil.rows, values.shape)
    cols = jnp.broadcast_to(stencil.cols, values.shape)
    return field.at[rows, cols].add(values)
