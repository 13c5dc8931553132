"""2-D SH (anti-plane, scalar) elastodynamics on a staggered grid, Störmer–Verlet in time.

    ρ ∂²u/∂t² = ∂x(μ ∂x u) + ∂z(μ ∂z u) + f

``u`` (the y displacement) lives on nodes ``(i, j)``; the stresses σ_xy = μ ∂x u on
``(i, j + 1/2)`` and σ_zy = μ ∂z u on ``(i + 1/2, j)``. The free surface (σ_zy = 0) lies on node
row 0 and is imposed by mirror images (even u, odd σ_zy), so without absorbing layers the
scheme is the exact restriction of a symmetric full-space scheme and conserves the discrete
energy to round-off. The left, right and bottom edges carry a C-PML.

Time stepping (leapfrog / Störmer–Verlet, velocity at half steps):
``v_{n+1/2} = v_{n−1/2} + dt·a(u_n, t_n)``, ``u_{n+1} = u_n + dt·v_{n+1/2}``.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from sjax.wave import stencils
from sjax.wave.boundaries import PMLCoefficients
from sjax.wave.grid import Grid
from sjax.wave.materials import SHMaterial

__all__ = ["SHState", "SHModel", "sh_init", "sh_elastic_force", "sh_step", "surface_weights"]


class SHState(NamedTuple):
    """SH wavefield at one time level.

    Attributes:
        displacement: ``(nz_total, nx_total)`` u_y at t_n, m.
        velocity: ``(nz_total, nx_total)`` ∂u_y/∂t at t_{n−1/2}, m/s.
        memory: C-PML memory variables ``(ψ_x, ψ_z, φ_x, φ_z)`` of ∂x u, ∂z u, ∂x σ_xy, ∂z σ_zy.
    """

    displacement: jax.Array
    velocity: jax.Array
    memory: tuple[jax.Array, jax.Array, jax.Array, jax.Array]


class SHModel(eqx.Module):
    """Everything one SH time step needs besides the state.

    Attributes:
        material: `SHMaterial` on the staggered grid.
        pml: `PMLCoefficients`.
        source_pattern: ``(nz_total, nx_total)`` force density (N/m³) per unit source amplitude.
        grid: the `Grid` (static).
        dt: time step in s (static).
        free_surface: traction-free top if True, else a rigid (zero-ghost) top (static).
    """

    material: SHMaterial
    pml: PMLCoefficients
    source_pattern: jax.Array
    grid: Grid = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    free_surface: bool = eqx.field(static=True, default=True)


def surface_weights(grid: Grid, free_surface: bool, dtype) -> jax.Array:
    """``(nz_total, 1)`` quadrature weights of node rows: 1/2 on a free-surface row, else 1."""
    w = jnp.ones((grid.shape[0], 1), dtype)
    return w.at[0].set(0.5) if free_surface else w


def sh_init(grid: Grid, dtype=jnp.float32) -> SHState:
    """A quiescent SH state on ``grid``."""
    zero = jnp.zeros(grid.shape, dtype)
    return SHState(zero, zero, (zero, zero, zero, zero))


def sh_elastic_force(
    displacement: jax.Array,
    memory: tuple,
    material: SHMaterial,
    pml: PMLCoefficients,
    grid: Grid,
    free_surface: bool,
) -> tuple[jax.Array, tuple]:
    """Elastic force density ``∇·σ`` (N/m³) at the nodes and the updated C-PML memory.

    Args:
        displacement: ``(nz_total, nx_total)`` u_y in m.
        memory: the four C-PML memory arrays.
        material, pml, grid, free_surface: as in `SHModel`.
    """
    psi_x, psi_z, phi_x, phi_z = memory
    top_u, top_s = ("even", "odd") if free_surface else ("zero", "zero")
    dx, dz = grid.spacing_x, grid.spacing_z
    nodes, x_half, z_half = ("node", "node"), ("none", "half"), ("half", "none")
    padded = stencils.pad(displacement, nodes, top_u)
    du_dx = stencils.derivative(padded, nodes, 1, dx)
    du_dz = stencils.derivative(padded, nodes, 0, dz)
    psi_x = pml.b_x_half * psi_x + pml.a_x_half * du_dx
    psi_z = pml.b_z_half * psi_z + pml.a_z_half * du_dz
    sigma_x = material.mu_x * (du_dx + psi_x)  # at (i, j + 1/2)
    sigma_z = material.mu_z * (du_dz + psi_z)  # at (i + 1/2, j)
    ds_dx = stencils.derivative(stencils.pad(sigma_x, x_half), x_half, 1, dx)
    ds_dz = stencils.derivative(stencils.pad(sigma_z, z_half, top_s), z_half, 0, dz)
    phi_x = pml.b_x * phi_x + pml.a_x * ds_dx
    phi_z = pml.b_z * phi_z + pml.a_z * ds_dz
    return ds_dx + phi_x + ds_dz + phi_z, (psi_x, psi_z, phi_x, phi_z)


def sh_step(model: SHModel, state: SHState, amplitude: jax.Array) -> SHState:
    """Advance the SH state by one leapfrog step.

    Args:
        model: the `SHModel`.
        state: `SHState` holding ``u_n`` and ``v_{n−1/2}``.
        amplitude: scalar source amplitude at ``t_n`` (multiplies ``model.source_pattern``).

    Returns:
        `SHState` holding ``u_{n+1}`` and ``v_{n+1/2}``.
    """
    force, memory = sh_elastic_force(
        state.displacement, state.memory, model.material, model.pml, model.grid,
        model.free_surface,
    )  # fmt: skip
    acceleration = (force + amplitude * model.source_pattern) / model.material.density
    velocity = state.velocity + model.dt * acceleration
    displacement = state.displacement + model.dt * velocity
    return SHState(displacement, velocity, memory)
