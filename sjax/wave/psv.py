"""2-D P-SV (in-plane) elastodynamics on a Virieux staggered grid, Störmer–Verlet in time.

    ρ ∂²u_i/∂t² = ∂_j σ_ij + f_i,   σ = λ tr(ε) I + 2 μ ε

Node layout: u_x at ``(i, j)``, u_z at ``(i + 1/2, j + 1/2)``, σ_xx and σ_zz at
``(i, j + 1/2)``, σ_xz at ``(i + 1/2, j)``. The free surface lies on row 0 (the u_x/σ_xx row)
and is imposed by stress imaging (Levander 1988): σ_zz = 0 on the surface, σ_xx there from the
plane-stress modulus 4μ(λ+μ)/(λ+2μ), and odd images of σ_zz and σ_xz above it; the two strain
stencils that would reach above the surface fall back to second order. With a rigid (zero-ghost)
top and no absorbing layer the operator is exactly symmetric and the discrete energy is
conserved to round-off. C-PML on the left, right and bottom.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from sjax.wave import stencils
from sjax.wave.boundaries import PMLCoefficients
from sjax.wave.grid import Grid
from sjax.wave.materials import PSVMaterial

__all__ = ["PSVState", "PSVModel", "psv_init", "psv_elastic_force", "psv_step"]


class PSVState(NamedTuple):
    """P-SV wavefield at one time level.

    Attributes:
        displacement: ``(u_x, u_z)``, each ``(nz_total, nx_total)``, at t_n, m (z down).
        velocity: ``(v_x, v_z)`` at t_{n−1/2}, m/s.
        memory: eight C-PML memory arrays (four strain and four divergence derivatives).
    """

    displacement: tuple[jax.Array, jax.Array]
    velocity: tuple[jax.Array, jax.Array]
    memory: tuple


class PSVModel(eqx.Module):
    """Everything one P-SV time step needs besides the state.

    Attributes:
        material: `PSVMaterial`.
        pml: `PMLCoefficients`.
        source_pattern: ``(pattern_x, pattern_z)`` force densities (N/m³) per unit amplitude.
        grid, dt, free_surface: static, as in `sjax.wave.sh.SHModel`.
    """

    material: PSVMaterial
    pml: PMLCoefficients
    source_pattern: tuple[jax.Array, jax.Array]
    grid: Grid = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    free_surface: bool = eqx.field(static=True, default=True)


def psv_init(grid: Grid, dtype=jnp.float32) -> PSVState:
    """A quiescent P-SV state on ``grid``."""
    zero = jnp.zeros(grid.shape, dtype)
    return PSVState((zero, zero), (zero, zero), (zero,) * 8)


def psv_elastic_force(
    displacement: tuple[jax.Array, jax.Array],
    memory: tuple,
    material: PSVMaterial,
    pml: PMLCoefficients,
    grid: Grid,
    free_surface: bool,
) -> tuple[tuple[jax.Array, jax.Array], tuple]:
    """Elastic force densities ``(∂_j σ_xj, ∂_j σ_zj)`` (N/m³) and updated C-PML memory.

    Args:
        displacement: ``(u_x, u_z)`` on their staggered nodes, m.
        memory: the eight C-PML memory arrays.
        material, pml, grid, free_surface: as in `PSVModel`.
    """
    ux, uz = displacement
    m_exx, m_ezz, m_dzux, m_dxuz, m_sxx, m_sxz_z, m_sxz_x, m_szz = memory
    dx, dz = grid.spacing_x, grid.spacing_z
    top = "odd" if free_surface else "zero"

    nodes, halves = ("node", "node"), ("half", "half")
    z_half = ("half", "node")
    ux_padded, uz_padded = stencils.pad(ux, nodes), stencils.pad(uz, halves)
    exx = stencils.derivative(ux_padded, nodes, 1, dx)  # at (i, j + 1/2)
    dzux = stencils.derivative(ux_padded, nodes, 0, dz)  # at (i + 1/2, j)
    ezz = stencils.derivative(uz_padded, halves, 0, dz)  # at (i, j + 1/2)
    dxuz = stencils.derivative(uz_padded, halves, 1, dx)  # at (i + 1/2, j)
    if free_surface:  # second-order stencils where the 4th-order ones reach above the surface
        ezz = ezz.at[1].set((uz[1] - uz[0]) / dz)
        dzux = dzux.at[0].set((ux[1] - ux[0]) / dz)
    m_exx = pml.b_x_half * m_exx + pml.a_x_half * exx
    m_ezz = pml.b_z * m_ezz + pml.a_z * ezz
    m_dzux = pml.b_z_half * m_dzux + pml.a_z_half * dzux
    m_dxuz = pml.b_x * m_dxuz + pml.a_x * dxuz
    exx, ezz = exx + m_exx, ezz + m_ezz
    lam, modulus = material.lam, material.p_modulus
    sxx = modulus * exx + lam * ezz
    szz = lam * exx + modulus * ezz
    if free_surface:
        lam0, mod0 = jnp.broadcast_to(lam, sxx.shape)[0], jnp.broadcast_to(modulus, sxx.shape)[0]
        sxx = sxx.at[0].set((mod0 - lam0**2 / mod0) * exx[0])
        szz = szz.at[0].set(0.0)
    sxz = material.mu_shear * (dzux + m_dzux + dxuz + m_dxuz)

    dsxx = stencils.derivative(stencils.pad(sxx, ("none", "half")), ("none", "half"), 1, dx)
    dszz = stencils.derivative(stencils.pad(szz, ("node", "none"), top), ("node", "none"), 0, dz)
    sxz_padded = stencils.pad(sxz, z_half, top)
    dsxz_z = stencils.derivative(sxz_padded, z_half, 0, dz)
    dsxz_x = stencils.derivative(sxz_padded, z_half, 1, dx)
    m_sxx = pml.b_x * m_sxx + pml.a_x * dsxx
    m_sxz_z = pml.b_z * m_sxz_z + pml.a_z * dsxz_z
    m_sxz_x = pml.b_x_half * m_sxz_x + pml.a_x_half * dsxz_x
    m_szz = pml.b_z_half * m_szz + pml.a_z_half * dszz
    force_x = dsxx + m_sxx + dsxz_z + m_sxz_z
    force_z = dsxz_x + m_sxz_x + dszz + m_szz
    memory = (m_exx, m_ezz, m_dzux, m_dxuz, m_sxx, m_sxz_z, m_sxz_x, m_szz)
    return (force_x, force_z), memory


def psv_step(model: PSVModel, state: PSVState, amplitude: jax.Array) -> PSVState:
    """Advance the P-SV state by one leapfrog step (see `sjax.wave.sh.sh_step`)."""
    (force_x, force_z), memory = psv_elastic_force(
        state.displacement, state.memory, model.material, model.pml, model.grid,
        model.free_surface,
    )  # fmt: skip
    pattern_x, pattern_z = model.source_pattern
    vx = state.velocity[0] + model.dt * (force_x + amplitude * pattern_x) / model.material.density_x
    vz = state.velocity[1] + model.dt * (force_z + amplitude * pattern_z) / model.material.density_z
    ux = state.displacement[0] + model.dt * vx
    uz = state.displacement[1] + model.dt * vz
    return PSVState((ux, uz), (vx, vz), memory)
