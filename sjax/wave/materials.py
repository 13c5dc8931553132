"""Rasterisation of a `LayeredMedium` onto the staggered grids of the SH and P-SV schemes.

Properties are volume-averaged over each node's depth cell (`sjax.media.averaged_profile`), so
they vary continuously — and differentiably — with the layer thicknesses. Layered media give
depth profiles of shape ``(nz_total, 1)`` that broadcast along x; the propagators accept any
arrays broadcastable to ``(nz_total, nx_total)``, so laterally varying models plug in too.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from sjax.media import LayeredMedium, averaged_profile
from sjax.wave.grid import Grid

__all__ = ["SHMaterial", "PSVMaterial", "sh_material", "psv_material"]


class SHMaterial(NamedTuple):
    """SH-scheme properties (each broadcastable to ``(nz_total, nx_total)``).

    Attributes:
        density: ρ at displacement nodes ``(i, j)``, kg/m³.
        mu_x: μ at the σ_xy nodes ``(i, j + 1/2)``, Pa.
        mu_z: μ at the σ_zy nodes ``(i + 1/2, j)``, Pa.
    """

    density: jax.Array
    mu_x: jax.Array
    mu_z: jax.Array


class PSVMaterial(NamedTuple):
    """P-SV-scheme properties (each broadcastable to ``(nz_total, nx_total)``).

    Attributes:
        density_x: ρ at u_x nodes ``(i, j)``.
        density_z: ρ at u_z nodes ``(i + 1/2, j + 1/2)``.
        lam, p_modulus: λ and λ + 2μ at normal-stress nodes ``(i, j + 1/2)``.
        mu_shear: μ at shear-stress nodes ``(i + 1/2, j)``.
    """

    density_x: jax.Array
    density_z: jax.Array
    lam: jax.Array
    p_modulus: jax.Array
    mu_shear: jax.Array


def _cells(grid: Grid, offset: float):
    depth = jnp.asarray(grid.depths(offset))
    half = 0.5 * grid.spacing_z
    return depth - half, depth + half


def _profiles(medium: LayeredMedium, grid: Grid, dtype):
    if medium.velocity_p.ndim != 1:
        raise ValueError("rasterise one medium at a time; use jax.vmap for a batch")
    cast = lambda d: {k: v.astype(dtype)[:, None] for k, v in d.items()}  # noqa: E731
    nodes = cast(averaged_profile(medium, *_cells(grid, 0.0)))
    halves = cast(averaged_profile(medium, *_cells(grid, 0.5)))
    return nodes, halves


def sh_material(medium: LayeredMedium, grid: Grid) -> SHMaterial:
    """Rasterise ``medium`` for the SH scheme (profiles of shape ``(nz_total, 1)``)."""
    nodes, halves = _profiles(medium, grid, medium.density.dtype)
    return SHMaterial(nodes["density"], nodes["mu"], halves["mu"])


def psv_material(medium: LayeredMedium, grid: Grid) -> PSVMaterial:
    """Rasterise ``medium`` for the P-SV scheme (profiles of shape ``(nz_total, 1)``)."""
    nodes, halves = _profiles(medium, grid, medium.density.dtype)
    return PSVMaterial(
        density_x=nodes["density"],
        density_z=halves["density"],
        lam=nodes["lam"],
        p_modulus=nodes["p_modulus"],
        mu_shear=halves["mu"],
    )
