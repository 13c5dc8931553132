"""Hand-written exact adjoints of one SH / P-SV leapfrog step (with C-PML and free surface).

For a step ``x_{n+1} = Φ(x_n; θ, a_n)`` (`sh_step`, `psv_step`) these functions return, for a
cotangent ``λ_{n+1}`` of ``x_{n+1}``,

    λ_n = (∂Φ/∂x)ᵀ λ_{n+1},   θ̄ = (∂Φ/∂θ)ᵀ λ_{n+1},   ā_n = (∂Φ/∂a)ᵀ λ_{n+1},

written out by hand rather than by reverse-mode AD: the transposed stencils
(`sjax.wave.stencils.forward_transpose` / `backward_transpose`, which carry the free-surface
mirror rules), the C-PML memory recursion run backwards, and the material gradients
accumulated from the forward strains. They read both ``x_n`` and ``x_{n+1}`` so nothing of the
forward step is recomputed except the strains of ``x_n`` (the acceleration is
``(v_{n+1/2} − v_{n−1/2})/dt``). ``θ`` is the model's material and source pattern; the C-PML
profiles get zero cotangents (`pml_coefficients` stops their gradients).

The adjoint is exact for the discrete scheme: tests compare it with ``jax.vjp`` of the step to
round-off. `sjax.wave.simulate` uses it for ``adjoint=SymplecticAdjoint()``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sjax.wave import stencils
from sjax.wave.psv import PSVModel, PSVState
from sjax.wave.sh import SHModel, SHState

__all__ = ["sh_adjoint_step", "psv_adjoint_step"]


def _reduce_to(values: jax.Array, like: jax.Array) -> jax.Array:
    """Sum ``values`` over the axes along which ``like`` is broadcast (the chain rule of
    broadcasting a ``(nz, 1)`` profile over x)."""
    axes = tuple(i for i, (v, n) in enumerate(zip(values.shape, jnp.shape(like))) if n == 1 < v)
    return jnp.sum(values, axis=axes, keepdims=True).reshape(jnp.shape(like))


def _zero_pml(pml):
    return jax.tree.map(jnp.zeros_like, pml)


def sh_adjoint_step(
    model: SHModel, state: SHState, next_state: SHState, amplitude: jax.Array,
    cotangent: SHState,
) -> tuple[SHState, SHModel, jax.Array]:  # fmt: skip
    """Exact adjoint of `sjax.wave.sh.sh_step` at ``state`` (``x_n``) → ``next_state``.

    Args:
        model: the `SHModel` of the forward step.
        state, next_state: `SHState` ``x_n`` and ``x_{n+1} = sh_step(model, x_n, amplitude)``.
        amplitude: scalar source amplitude of the step.
        cotangent: `SHState` cotangent ``λ_{n+1}``.

    Returns:
        ``(λ_n, model cotangent, amplitude cotangent)``: the state cotangent, an `SHModel` of
        cotangents (material reduced to the shapes of its profiles, zero C-PML), and a scalar.
    """
    material, pml, grid, dt = model.material, model.pml, model.grid, model.dt
    dx, dz = grid.spacing_x, grid.spacing_z
    top_u, top_s = ("even", "odd") if model.free_surface else ("zero", "zero")
    u_bar, v_bar, (psi_x_bar, psi_z_bar, phi_x_bar, phi_z_bar) = cotangent
    v_bar = v_bar + dt * u_bar  # u_{n+1} = u_n + dt·v_{n+1/2}
    force_bar = dt * v_bar / material.density
    acceleration = (next_state.velocity - state.velocity) / dt
    density_bar = _reduce_to(-force_bar * acceleration, material.density)
    amplitude_bar = jnp.sum(force_bar * model.source_pattern)
    pattern_bar = amplitude * force_bar
    # force = ∂x σx + φx' + ∂z σz + φz',  φ' = b φ + a ∂σ
    phi_x_total, phi_z_total = phi_x_bar + force_bar, phi_z_bar + force_bar
    ds_dx_bar = force_bar + pml.a_x * phi_x_total
    ds_dz_bar = force_bar + pml.a_z * phi_z_total
    sigma_x_bar = stencils.backward_transpose(ds_dx_bar, 1, dx)
    sigma_z_bar = stencils.backward_transpose(ds_dz_bar, 0, dz, top_s)
    # σ = μ (∂u + ψ'),  ψ' = b ψ + a ∂u
    nodes = ("node", "node")
    padded = stencils.pad(state.displacement, nodes, top_u)
    du_dx = stencils.derivative(padded, nodes, 1, dx)
    du_dz = stencils.derivative(padded, nodes, 0, dz)
    psi_x_next, psi_z_next = next_state.memory[0], next_state.memory[1]
    mu_x_bar = _reduce_to(sigma_x_bar * (du_dx + psi_x_next), material.mu_x)
    mu_z_bar = _reduce_to(sigma_z_bar * (du_dz + psi_z_next), material.mu_z)
    strain_x_bar, strain_z_bar = material.mu_x * sigma_x_bar, material.mu_z * sigma_z_bar
    psi_x_total, psi_z_total = psi_x_bar + strain_x_bar, psi_z_bar + strain_z_bar
    du_dx_bar = strain_x_bar + pml.a_x_half * psi_x_total
    du_dz_bar = strain_z_bar + pml.a_z_half * psi_z_total
    u_bar = (
        u_bar
        + stencils.forward_transpose(du_dx_bar, 1, dx)
        + stencils.forward_transpose(du_dz_bar, 0, dz, top_u)
    )
    memory_bar = (pml.b_x_half * psi_x_total, pml.b_z_half * psi_z_total,
                  pml.b_x * phi_x_total, pml.b_z * phi_z_total)  # fmt: skip
    model_bar = SHModel(
        type(material)(density_bar, mu_x_bar, mu_z_bar), _zero_pml(pml), pattern_bar, grid, dt,
        model.free_surface,
    )  # fmt: skip
    return SHState(u_bar, v_bar, memory_bar), model_bar, amplitude_bar


def _strains(displacement, grid, free_surface):
    """The four raw displacement derivatives of `psv_elastic_force` (before C-PML)."""
    ux, uz = displacement
    dx, dz = grid.spacing_x, grid.spacing_z
    nodes, halves = ("node", "node"), ("half", "half")
    ux_padded, uz_padded = stencils.pad(ux, nodes), stencils.pad(uz, halves)
    exx = stencils.derivative(ux_padded, nodes, 1, dx)
    dzux = stencils.derivative(ux_padded, nodes, 0, dz)
    ezz = stencils.derivative(uz_padded, halves, 0, dz)
    dxuz = stencils.derivative(uz_padded, halves, 1, dx)
    if free_surface:
        ezz = ezz.at[1].set((uz[1] - uz[0]) / dz)
        dzux = dzux.at[0].set((ux[1] - ux[0]) / dz)
    return exx, ezz, dzux, dxuz


def _surface_difference_transpose(row_bar: jax.Array, like: jax.Array, spacing: float):
    """Field cotangent of the second-order surface stencil ``(f[1] − f[0]) / spacing`` for the
    cotangent ``row_bar`` of its result."""
    return jnp.zeros_like(like).at[1].add(row_bar / spacing).at[0].add(-row_bar / spacing)


def psv_adjoint_step(
    model: PSVModel, state: PSVState, next_state: PSVState, amplitude: jax.Array,
    cotangent: PSVState,
) -> tuple[PSVState, PSVModel, jax.Array]:  # fmt: skip
    """Exact adjoint of `sjax.wave.psv.psv_step` (see `sh_adjoint_step`; same arguments and
    returns with `PSVState`/`PSVModel`)."""
    material, pml, grid, dt = model.material, model.pml, model.grid, model.dt
    dx, dz = grid.spacing_x, grid.spacing_z
    free = model.free_surface
    top = "odd" if free else "zero"
    (ux_bar, uz_bar), (vx_bar, vz_bar), memory_bar = cotangent
    (m_exx_b, m_ezz_b, m_dzux_b, m_dxuz_b, m_sxx_b, m_sxz_z_b, m_sxz_x_b, m_szz_b) = memory_bar
    vx_bar, vz_bar = vx_bar + dt * ux_bar, vz_bar + dt * uz_bar
    fx_bar, fz_bar = dt * vx_bar / material.density_x, dt * vz_bar / material.density_z
    ax_n = (next_state.velocity[0] - state.velocity[0]) / dt
    az_n = (next_state.velocity[1] - state.velocity[1]) / dt
    density_x_bar = _reduce_to(-fx_bar * ax_n, material.density_x)
    density_z_bar = _reduce_to(-fz_bar * az_n, material.density_z)
    pattern_x, pattern_z = model.source_pattern
    amplitude_bar = jnp.sum(fx_bar * pattern_x) + jnp.sum(fz_bar * pattern_z)
    pattern_bar = (amplitude * fx_bar, amplitude * fz_bar)
    # divergence memory: m' = b m + a ∂σ; force_x = ∂x σxx + m_sxx' + ∂z σxz + m_sxz_z', ...
    m_sxx_t, m_sxz_z_t = m_sxx_b + fx_bar, m_sxz_z_b + fx_bar
    m_sxz_x_t, m_szz_t = m_sxz_x_b + fz_bar, m_szz_b + fz_bar
    dsxx_bar = fx_bar + pml.a_x * m_sxx_t
    dsxz_z_bar = fx_bar + pml.a_z * m_sxz_z_t
    dsxz_x_bar = fz_bar + pml.a_x_half * m_sxz_x_t
    dszz_bar = fz_bar + pml.a_z_half * m_szz_t
    sxx_bar = stencils.backward_transpose(dsxx_bar, 1, dx)
    szz_bar = stencils.forward_transpose(dszz_bar, 0, dz, top)
    sxz_bar = stencils.backward_transpose(dsxz_z_bar, 0, dz, top) + stencils.forward_transpose(
        dsxz_x_bar, 1, dx
    )
    # stresses from the strains of x_n plus the strain memory of x_{n+1}
    exx, ezz, dzux, dxuz = _strains(state.displacement, grid, free)
    m_exx, m_ezz, m_dzux, m_dxuz = next_state.memory[:4]
    e_xx, e_zz = exx + m_exx, ezz + m_ezz
    shear = dzux + m_dzux + dxuz + m_dxuz
    lam, modulus, mu = material.lam, material.p_modulus, material.mu_shear
    if free:  # σzz = 0 and σxx = (M − λ²/M) εxx on the surface row
        surface_sxx_bar = sxx_bar[0]
        sxx_bar, szz_bar = sxx_bar.at[0].set(0.0), szz_bar.at[0].set(0.0)
    e_xx_bar = modulus * sxx_bar + lam * szz_bar
    e_zz_bar = lam * sxx_bar + modulus * szz_bar
    modulus_bar = sxx_bar * e_xx + szz_bar * e_zz
    lam_bar = sxx_bar * e_zz + szz_bar * e_xx
    if free:
        lam0 = jnp.broadcast_to(lam, e_xx.shape)[0]
        mod0 = jnp.broadcast_to(modulus, e_xx.shape)[0]
        e_xx_bar = e_xx_bar.at[0].set((mod0 - lam0**2 / mod0) * surface_sxx_bar)
        k_bar = surface_sxx_bar * e_xx[0]
        modulus_bar = modulus_bar.at[0].set(k_bar * (1.0 + lam0**2 / mod0**2))
        lam_bar = lam_bar.at[0].set(-2.0 * k_bar * lam0 / mod0)
    mu_bar = _reduce_to(sxz_bar * shear, mu)
    shear_bar = mu * sxz_bar
    # strain memory: m' = b m + a ∂u
    m_exx_t, m_ezz_t = m_exx_b + e_xx_bar, m_ezz_b + e_zz_bar
    m_dzux_t, m_dxuz_t = m_dzux_b + shear_bar, m_dxuz_b + shear_bar
    exx_bar = e_xx_bar + pml.a_x_half * m_exx_t
    ezz_bar = e_zz_bar + pml.a_z * m_ezz_t
    dzux_bar = shear_bar + pml.a_z_half * m_dzux_t
    dxuz_bar = shear_bar + pml.a_x * m_dxuz_t
    if free:  # second-order surface stencils replaced rows ezz[1] and dzux[0]
        ux_bar = ux_bar + _surface_difference_transpose(dzux_bar[0], ux_bar, dz)
        uz_bar = uz_bar + _surface_difference_transpose(ezz_bar[1], uz_bar, dz)
        dzux_bar, ezz_bar = dzux_bar.at[0].set(0.0), ezz_bar.at[1].set(0.0)
    ux_bar = (
        ux_bar
        + stencils.forward_transpose(exx_bar, 1, dx)
        + stencils.forward_transpose(dzux_bar, 0, dz)
    )
    uz_bar = (
        uz_bar
        + stencils.backward_transpose(ezz_bar, 0, dz)
        + stencils.backward_transpose(dxuz_bar, 1, dx)
    )
    memory_prev = (
        pml.b_x_half * m_exx_t, pml.b_z * m_ezz_t, pml.b_z_half * m_dzux_t, pml.b_x * m_dxuz_t,
        pml.b_x * m_sxx_t, pml.b_z * m_sxz_z_t, pml.b_x_half * m_sxz_x_t, pml.b_z_half * m_szz_t,
    )  # fmt: skip
    material_bar = type(material)(
        density_x=density_x_bar, density_z=density_z_bar,
        lam=_reduce_to(lam_bar, lam), p_modulus=_reduce_to(modulus_bar, modulus), mu_shear=mu_bar,
    )  # fmt: skip
    model_bar = PSVModel(material_bar, _zero_pml(pml), pattern_bar, grid, dt, free)
    return PSVState((ux_bar, uz_bar), (vx_bar, vz_bar), memory_prev), model_bar, amplitude_bar
