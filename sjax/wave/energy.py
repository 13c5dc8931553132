"""Discrete energies of the leapfrog schemes.

Without absorbing layers and sources, Störmer–Verlet conserves exactly (to round-off)

    E_n = ½ v_{n−1/2}ᵀ M v_{n+1/2} + ½ u_nᵀ K u_n,

where M is the (surface-weighted) mass matrix and K = −M·(elastic force operator) the
stiffness. The ordinary energy ½ v_nᵀ M v_n + ½ u_nᵀ K u_n with v_n = (v_{n−1/2} + v_{n+1/2})/2
is not conserved exactly but oscillates without secular drift (symplectic behaviour).
All energies are per unit length along y (J/m).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sjax.wave.psv import PSVModel, PSVState, psv_elastic_force
from sjax.wave.sh import SHModel, SHState, sh_elastic_force, surface_weights

__all__ = ["potential_energy", "kinetic_energy", "leapfrog_energy", "ordinary_energy"]


def _components(model, field):
    """A field of the model's components as a tuple: SH has one, P-SV two."""
    return (field,) if isinstance(model, SHModel) else tuple(field)


def _weights(model):
    """Per-component quadrature weights of node rows (1/2 on a free-surface row)."""
    dtype = jax.tree.leaves(model.material)[0].dtype
    w = surface_weights(model.grid, model.free_surface, dtype)
    return (w,) if isinstance(model, SHModel) else (w, jnp.ones_like(w))


def _masses(model):
    """Per-component nodal mass density ρ·w."""
    material = model.material
    densities = (material.density,) if isinstance(model, SHModel) else (
        material.density_x, material.density_z)  # fmt: skip
    return tuple(w * rho for w, rho in zip(_weights(model), densities))


def potential_energy(model: SHModel | PSVModel, state: SHState | PSVState) -> jax.Array:
    """Strain energy ½ uᵀ K u of ``state.displacement`` (exact without an absorbing layer;
    C-PML memory is ignored)."""
    force_fn = sh_elastic_force if isinstance(model, SHModel) else psv_elastic_force
    n_memory = 4 if isinstance(model, SHModel) else 8
    displacement = state.displacement
    zeros = (jnp.zeros_like(_components(model, displacement)[0]),) * n_memory
    forces, _ = force_fn(displacement, zeros, model.material, model.pml, model.grid,
                         model.free_surface)  # fmt: skip
    cell = model.grid.spacing_x * model.grid.spacing_z
    pairs = zip(_weights(model), _components(model, displacement), _components(model, forces))
    return -0.5 * cell * sum(jnp.sum(w * u * f) for w, u, f in pairs)


def kinetic_energy(model: SHModel | PSVModel, velocity_a, velocity_b) -> jax.Array:
    """½ v_aᵀ M v_b for two velocity fields (arrays for SH, ``(v_x, v_z)`` for P-SV)."""
    cell = model.grid.spacing_x * model.grid.spacing_z
    pairs = zip(_masses(model), _components(model, velocity_a), _components(model, velocity_b))
    return 0.5 * cell * sum(jnp.sum(m * a * b) for m, a, b in pairs)


def leapfrog_energy(model, state, next_state) -> jax.Array:
    """The exactly conserved ``E_n`` from ``state`` = (u_n, v_{n−1/2}) and ``next_state`` =
    (u_{n+1}, v_{n+1/2})."""
    kinetic = kinetic_energy(model, state.velocity, next_state.velocity)
    return kinetic + potential_energy(model, state)


def ordinary_energy(model, state, next_state) -> jax.Array:
    """Kinetic energy of v_n = (v_{n−1/2} + v_{n+1/2})/2 plus the strain energy of u_n."""
    average = jax.tree.map(lambda a, b: 0.5 * (a + b), state.velocity, next_state.velocity)
    return kinetic_energy(model, average, average) + potential_energy(model, state)
