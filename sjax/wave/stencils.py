"""4th-order staggered-grid first derivatives.

``forward`` maps nodes ``i`` to half-nodes ``i + 1/2`` (stored at index ``i``); ``backward`` maps
half-nodes back to nodes. With zero ghost values they are exact negative transposes of each
other, ``backward = −forwardᵀ``, which makes the stiffness operator ``−backward ∘ C ∘ forward``
symmetric and the leapfrog scheme conserve a discrete energy exactly.

At the free surface (top of axis 0) the ghost rows are mirror images: even for the field at
nodes (``f[−i] = f[i]``) and odd for the field at half-nodes (``g[−1/2−i] = −g[1/2+i]``). These
two reflections are again exact negative transposes under the node weights (1/2 on the surface
row, 1 elsewhere).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sjax.wave.grid import FD_COEFFICIENTS

__all__ = ["forward", "backward"]

C1, C2 = FD_COEFFICIENTS


def _shift_slices(padded: jax.Array, axis: int, start: int, length: int) -> jax.Array:
    return jax.lax.slice_in_dim(padded, start, start + length, axis=axis)


def _pad(field: jax.Array, axis: int, before: int, after: int, top: str, on_nodes: bool):
    """Pad ``field`` along ``axis``: zeros after the end; before index 0 zeros or a mirror image.

    Nodes mirror about node 0 (``f[-k] = ±f[k]``); half-nodes about the same plane
    (``g[-1-k] = ±g[k]``).
    """
    tail = jnp.zeros_like(jax.lax.slice_in_dim(field, 0, after, axis=axis))
    if top == "zero":
        head = jnp.zeros_like(jax.lax.slice_in_dim(field, 0, before, axis=axis))
    elif top in ("even", "odd"):
        first = 1 if on_nodes else 0
        head = jnp.flip(jax.lax.slice_in_dim(field, first, first + before, axis=axis), axis=axis)
        head = head if top == "even" else -head
    else:
        raise ValueError(f"top={top!r} must be 'zero', 'even' or 'odd'")
    return jnp.concatenate([head, field, tail], axis=axis)


def forward(field: jax.Array, axis: int, spacing: float, top: str = "zero") -> jax.Array:
    """Derivative at half-nodes ``i + 1/2`` of a field at nodes ``i`` (same shape).

    Args:
        field: array with nodes along ``axis``.
        axis: the differentiated axis.
        spacing: node spacing in m.
        top: ghost rule before index 0: ``"zero"``, or ``"even"``/``"odd"`` mirror about node 0.
    """
    n = field.shape[axis]
    padded = _pad(field, axis, 1, 2, top, on_nodes=True)  # padded[k] = field[k - 1]
    f = lambda shift: _shift_slices(padded, axis, 1 + shift, n)  # noqa: E731  field[i + shift]
    return (C1 * (f(1) - f(0)) + C2 * (f(2) - f(-1))) / spacing


def backward(field: jax.Array, axis: int, spacing: float, top: str = "zero") -> jax.Array:
    """Derivative at nodes ``i`` of a field at half-nodes ``i + 1/2`` stored at index ``i``.

    Args:
        field: array with half-nodes along ``axis``.
        axis: the differentiated axis.
        spacing: node spacing in m.
        top: ghost rule before index 0: ``"zero"``, or ``"even"``/``"odd"`` mirror about node 0.
    """
    n = field.shape[axis]
    padded = _pad(field, axis, 2, 1, top, on_nodes=False)  # padded[k] = field[k - 2]
    g = lambda shift: _shift_slices(padded, axis, 2 + shift, n)  # noqa: E731  field[i + shift]
    return (C1 * (g(0) - g(-1)) + C2 * (g(1) - g(-2))) / spacing
