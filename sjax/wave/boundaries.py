"""Convolutional perfectly matched layer (C-PML) profiles.

Each spatial derivative ``∂f`` inside the layer is replaced by ``∂f + ψ`` with the memory
variable updated by recursive convolution, ``ψ ← b ψ + a ∂f`` (Roden & Gedney 2000; Komatitsch
& Martin 2007), with κ = 1,

    d(s) = d0 (s/L)²,   α(s) = α_max (1 − s/L),   b = exp(−(d + α) dt),   a = d (b − 1)/(d + α),

where ``s`` is the distance into the layer of thickness ``L`` and
``d0 = −3 v_max ln(R) / (2 L)`` for a target reflection coefficient ``R``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.wave.grid import Grid

__all__ = ["PMLCoefficients", "pml_coefficients"]


class PMLCoefficients(NamedTuple):
    """Recursive-convolution coefficients, each a broadcastable profile.

    ``*_z`` arrays have shape ``(nz_total, 1)``, ``*_x`` arrays ``(1, nx_total)``; the suffix
    ``half`` marks profiles sampled at half-nodes ``i + 1/2``.
    """

    a_z: jax.Array
    b_z: jax.Array
    a_z_half: jax.Array
    b_z_half: jax.Array
    a_x: jax.Array
    b_x: jax.Array
    a_x_half: jax.Array
    b_x_half: jax.Array


def _distance_into_layer(positions: np.ndarray, start: float, end: float, width: float):
    before = np.clip(start - positions, 0.0, None)
    after = np.clip(positions - end, 0.0, None)
    return np.minimum(before + after, width)


def _coefficients(distance, width, velocity_max, dt, reflection, frequency, dtype):
    ratio = jnp.asarray(distance / width, dtype)
    d0 = -3.0 * velocity_max * math.log(reflection) / (2.0 * width)
    damping = d0 * ratio**2
    alpha = jnp.pi * frequency * (1.0 - ratio)
    inside = ratio > 0
    b = jnp.where(inside, jnp.exp(-(damping + alpha) * dt), 1.0)
    safe = jnp.where(inside, damping + alpha, 1.0)
    a = jnp.where(inside, damping * (b - 1.0) / safe, 0.0)
    return a.astype(dtype), b.astype(dtype)


def pml_coefficients(
    grid: Grid,
    *,
    velocity_max: float,
    dt: float,
    frequency: float,
    reflection: float = 1e-4,
    dtype=jnp.float32,
) -> PMLCoefficients:
    """C-PML coefficients for the left, right and bottom edges of ``grid``.

    Args:
        grid: the `Grid`; its ``absorbing_width`` sets the layer thickness (0 disables it).
        velocity_max: fastest wave speed in m/s (sets the damping strength; may be traced,
            no gradient flows through it).
        dt: time step in s.
        frequency: dominant source frequency in Hz (sets the frequency shift α_max = π f;
            may be traced, no gradient flows through it).
        reflection: theoretical normal-incidence reflection coefficient R of the layer.
        dtype: floating dtype of the profiles.
    """
    w = grid.absorbing_width
    velocity_max = jax.lax.stop_gradient(velocity_max)
    frequency = jax.lax.stop_gradient(frequency)
    if w == 0:
        one = lambda n, axis: jnp.ones((n, 1) if axis == 0 else (1, n), dtype)  # noqa: E731
        zero = lambda n, axis: jnp.zeros((n, 1) if axis == 0 else (1, n), dtype)  # noqa: E731
        nz, nx = grid.shape
        return PMLCoefficients(
            zero(nz, 0), one(nz, 0), zero(nz, 0), one(nz, 0),
            zero(nx, 1), one(nx, 1), zero(nx, 1), one(nx, 1),
        )  # fmt: skip
    if not 0 < reflection < 1:
        raise ValueError(f"reflection={reflection} must lie in (0, 1)")
    out = {}
    depth_bottom = (grid.nz - 1) * grid.spacing_z
    width_z = w * grid.spacing_z
    for suffix, offset in (("", 0.0), ("_half", 0.5)):
        z = grid.depths(offset)
        dist = _distance_into_layer(z, -np.inf, depth_bottom, width_z)
        a, b = _coefficients(dist, width_z, velocity_max, dt, reflection, frequency, dtype)
        out["a_z" + suffix], out["b_z" + suffix] = a[:, None], b[:, None]
    x_right = (grid.nx - 1) * grid.spacing_x
    width_x = w * grid.spacing_x
    for suffix, offset in (("", 0.0), ("_half", 0.5)):
        x = grid.xs(offset)
        dist = _distance_into_layer(x, 0.0, x_right, width_x)
        a, b = _coefficients(dist, width_x, velocity_max, dt, reflection, frequency, dtype)
        out["a_x" + suffix], out["b_x" + suffix] = a[None, :], b[None, :]
    return PMLCoefficients(**out)
