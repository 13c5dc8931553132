"""LayeredMedium: pytree behaviour, differentiable rasterisation and TauP export."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.media import averaged_profile, layer_fractions
from sjax.wave import Grid, sh_material

MEDIUM = LayeredMedium([120.0, 80.0], [1800.0, 2500.0, 4000.0], [600.0, 1200.0, 2300.0],
                       [1900.0, 2100.0, 2500.0])  # fmt: skip


def test_fractions_partition_each_cell_and_follow_interfaces():
    top = jnp.array([0.0, 115.0, 195.0, 300.0])
    bottom = top + 10.0
    fractions = layer_fractions(MEDIUM, top, bottom)
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(fractions[1], [0.5, 0.5, 0.0])  # interface at 120 m
    np.testing.assert_allclose(fractions[2], [0.0, 0.5, 0.5])  # interface at 200 m
    np.testing.assert_allclose(fractions[3], [0.0, 0.0, 1.0])


def test_harmonic_shear_modulus_and_arithmetic_density():
    profile = averaged_profile(MEDIUM, jnp.array([115.0]), jnp.array([125.0]))
    mu1, mu2 = 1900.0 * 600.0**2, 2100.0 * 1200.0**2
    np.testing.assert_allclose(profile["mu"], 1.0 / (0.5 / mu1 + 0.5 / mu2), rtol=1e-12)
    np.testing.assert_allclose(profile["density"], 2000.0, rtol=1e-12)
    modulus = 1.0 / (0.5 / (1900.0 * 1800.0**2) + 0.5 / (2100.0 * 2500.0**2))
    np.testing.assert_allclose(profile["lam"], modulus - 2 * profile["mu"], rtol=1e-12)


def test_rasterised_material_is_differentiable_in_thickness():
    grid = Grid(40, 16, 10.0, 10.0, 0)
    thickness0 = jnp.array([123.0, 81.0])  # interfaces inside cells, away from cell edges

    def total_mu(thickness):
        medium = eqx.tree_at(lambda m: m.thickness, MEDIUM, thickness)
        return jnp.sum(sh_material(medium, grid).mu_z)

    gradient = jax.grad(total_mu)(thickness0)
    assert np.all(np.abs(np.asarray(gradient)) > 0)
    h = 1e-3
    numeric = total_mu(thickness0.at[0].add(h)) - total_mu(thickness0.at[0].add(-h))
    np.testing.assert_allclose(gradient[0], numeric / (2 * h), rtol=1e-7)


def test_medium_is_a_pytree_usable_under_vmap_and_grad():
    batch = jax.tree.map(lambda x: jnp.stack([x, 1.1 * x]), MEDIUM)
    assert batch.velocity_s.shape == (2, 3)
    mean_vs = jax.vmap(lambda m: jnp.mean(m.velocity_s))(batch)
    np.testing.assert_allclose(mean_vs[1] / mean_vs[0], 1.1)
    grads = jax.grad(lambda m: jnp.sum(m.shear_modulus))(MEDIUM)
    np.testing.assert_allclose(grads.density, MEDIUM.velocity_s**2)
    with pytest.raises(AttributeError):
        MEDIUM.density = MEDIUM.density  # immutable
