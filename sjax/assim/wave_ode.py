"""Semi-discrete SH and P-SV elastodynamics as an ODE ``x' = f(t, x)``, for any integrator.

The spatial operator is that of `sjax.wave` (4th-order staggered stencils, free surface by
mirror images / stress imaging); time is left to the integrator of `sjax.integrate` (RK4,
Störmer–Verlet, Yoshida's composition, ...). The state is ``x = (displacement, velocity)``, with
``displacement`` one array (SH) or a pair (P-SV). Absorbing edges are a *sponge*: the
``absorbing_width`` outer cells of the grid add ``−γ(s)·v`` to the acceleration,
``γ(s) = γ_max (s/L)²``, ``γ_max = 3 v_max ln(1/R) / (2L)`` — a dissipative term, so the
integration is no longer symplectic, but its adjoint stays exact.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax.media import LayeredMedium
from sjax.wave.boundaries import PMLCoefficients
from sjax.wave.grid import Grid, fastest_velocity
from sjax.wave.materials import PSVMaterial, SHMaterial, psv_material, sh_material
from sjax.wave.psv import psv_elastic_force
from sjax.wave.sh import sh_elastic_force

__all__ = ["WaveODE", "wave_ode", "wave_vector_field", "wave_displacement_rate",
           "wave_velocity_rate"]


class WaveODE(eqx.Module):
    """Parameters of the semi-discrete wave equation.

    Attributes:
        material: `SHMaterial` or `PSVMaterial` on the staggered grid.
        damping: ``(nz_total, nx_total)`` sponge rate γ in 1/s (zero in the interior).
        grid: the `Grid` (static).
        wave: ``"sh"`` or ``"psv"`` (static).
        free_surface: traction-free top (static).
    """

    material: SHMaterial | PSVMaterial
    damping: jax.Array
    grid: Grid = eqx.field(static=True)
    wave: str = eqx.field(static=True, default="sh")
    free_surface: bool = eqx.field(static=True, default=True)


def _no_pml(grid: Grid, dtype) -> PMLCoefficients:
    nz, nx = grid.shape
    zero_z, one_z = jnp.zeros((nz, 1), dtype), jnp.ones((nz, 1), dtype)
    zero_x, one_x = jnp.zeros((1, nx), dtype), jnp.ones((1, nx), dtype)
    return PMLCoefficients(zero_z, one_z, zero_z, one_z, zero_x, one_x, zero_x, one_x)


def _sponge(grid: Grid, velocity_max, reflection: float, dtype) -> jax.Array:
    w = grid.absorbing_width
    if w == 0:
        return jnp.zeros(grid.shape, dtype)
    nz, nx = grid.shape
    z = np.clip(np.arange(nz) - (grid.nz - 1), 0, None) / w
    x = np.maximum(np.clip(w - np.arange(nx), 0, None), np.clip(np.arange(nx) - (w + grid.nx - 1),
                                                                0, None)) / w  # fmt: skip
    ratio = np.maximum(z[:, None], x[None, :]) ** 2
    width = w * min(grid.spacing_x, grid.spacing_z)
    rate = 3.0 * jax.lax.stop_gradient(velocity_max) * math.log(1.0 / reflection) / (2.0 * width)
    return (rate * jnp.asarray(ratio)).astype(dtype)


def wave_ode(
    medium: LayeredMedium,
    grid: Grid,
    *,
    wave: str = "sh",
    free_surface: bool = True,
    reflection: float = 1e-3,
) -> WaveODE:
    """The `WaveODE` of ``medium`` on ``grid`` (sponge over its ``absorbing_width`` cells).

    Args:
        medium: the `LayeredMedium` (gradients flow to all its fields, thickness included).
        grid: the `Grid`; ``absorbing_width = 0`` gives reflecting (energy-conserving) edges.
        wave: ``"sh"`` or ``"psv"``.
        free_surface: traction-free (True) or rigid top.
        reflection: target reflection of the sponge, in (0, 1).
    """
    if wave not in ("sh", "psv"):
        raise ValueError(f"wave={wave!r} must be 'sh' or 'psv'")
    if not 0 < reflection < 1:
        raise ValueError(f"reflection={reflection} must lie in (0, 1)")
    material = sh_material(medium, grid) if wave == "sh" else psv_material(medium, grid)
    dtype = medium.density.dtype
    damping = _sponge(grid, fastest_velocity(medium, wave), reflection, dtype)
    return WaveODE(material, damping, grid, wave, free_surface)


def _force(displacement, ode: WaveODE):
    dtype = jax.tree.leaves(displacement)[0].dtype
    pml = _no_pml(ode.grid, dtype)
    if ode.wave == "sh":
        memory = (jnp.zeros_like(displacement),) * 4
        return sh_elastic_force(displacement, memory, ode.material, pml, ode.grid,
                                ode.free_surface)[0]  # fmt: skip
    memory = (jnp.zeros_like(displacement[0]),) * 8
    return psv_elastic_force(displacement, memory, ode.material, pml, ode.grid,
                             ode.free_surface)[0]  # fmt: skip


def wave_displacement_rate(t, x, ode: WaveODE):
    """``∂u/∂t = v`` (same structure as the displacement)."""
    return x[1]


def wave_velocity_rate(t, x, ode: WaveODE):
    """``∂v/∂t = ∇·σ(u)/ρ − γ v`` in m/s² (same structure as the velocity)."""
    force = _force(x[0], ode)
    if ode.wave == "sh":
        return force / ode.material.density - ode.damping * x[1]
    density = (ode.material.density_x, ode.material.density_z)
    return tuple(f / rho - ode.damping * v for f, rho, v in zip(force, density, x[1]))


def wave_vector_field(t, x, ode: WaveODE):
    """``(∂u/∂t, ∂v/∂t)`` for `sjax.integrate.RungeKutta`."""
    return wave_displacement_rate(t, x, ode), wave_velocity_rate(t, x, ode)

