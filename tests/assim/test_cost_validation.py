"""Bad 4D-Var input raises clear errors; observations at any subset of steps; float32 path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import integrate as ig
from sjax.assim import Background, FourDVar, Observations, hvp

SCHEME = ig.RungeKutta(lambda t, x, a: a * x, ig.RK4)


def cost(observations, background=None, n_steps=10):
    return FourDVar(SCHEME, lambda z: (z, jnp.asarray(-0.5, z.dtype), None),
                    lambda x, a: x[:2], observations, background, n_steps=n_steps,
                    dt=0.1)  # fmt: skip


def test_observation_steps_must_be_sorted_unique_and_in_range():
    with pytest.raises(ValueError, match="strictly increasing"):
        Observations([3, 2], np.zeros((2, 2)), std=1.0)
    with pytest.raises(ValueError, match="integers"):
        Observations([0.5, 1.0], np.zeros((2, 2)), std=1.0)
    with pytest.raises(ValueError, match="one row per step"):
        Observations([1, 2, 3], np.zeros((2, 2)), std=1.0)
    with pytest.raises(ValueError, match="after the last step"):
        cost(Observations([2, 11], np.zeros((2, 2)), std=1.0), n_steps=10)


def test_noise_and_background_covariances_are_checked():
    with pytest.raises(ValueError, match="positive"):
        Observations([1], np.zeros((1, 2)), std=-1.0)
    with pytest.raises(ValueError, match="positive definite"):
        Observations([1], np.zeros((1, 2)), covariance=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        Observations([1], np.zeros((1, 2)), covariance=np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        Background(np.zeros(2), covariance=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="exactly one"):
        Background(np.zeros(2))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        Background(np.zeros(3), covariance=np.eye(2))


def test_prediction_shape_mismatch_is_reported():
    bad = cost(Observations([1, 4], np.zeros((2, 3)), std=1.0))
    with pytest.raises(ValueError, match="shape"):
        bad(jnp.ones(4))


def test_hvp_direction_must_match_the_control():
    c = cost(Observations([1, 4], np.zeros((2, 2)), std=1.0))
    with pytest.raises(ValueError, match="structure"):
        hvp(c, {"a": jnp.ones(4)}, jnp.ones(4))
    with pytest.raises(ValueError, match="method"):
        hvp(c, jnp.ones(4), jnp.ones(4), method="finite_difference")


def test_cost_matches_a_hand_computed_value_for_a_subset_of_steps():
    """x_n = r^n x0 with r the RK4 amplification of x' = −x/2; observed at steps 1 and 4."""
    values = np.array([[0.5, 0.1], [0.2, -0.3]])
    c = cost(Observations([1, 4], values, std=np.array([0.5, 2.0])),
             Background(np.zeros(4), std=2.0))  # fmt: skip
    z = jnp.array([1.0, -2.0, 3.0, 0.5])
    h = -0.05
    r = 1 + h + h**2 / 2 + h**3 / 6 + h**4 / 24
    expected = 0.5 * np.sum((np.asarray(z) / 2.0) ** 2)
    for row, n in enumerate((1, 4)):
        expected += 0.5 * np.sum(((r**n * np.asarray(z)[:2] - values[row]) / [0.5, 2.0]) ** 2)
    assert float(c(z)) == pytest.approx(expected, rel=1e-13)


def test_float32_gradient_and_hvp_follow_float64():
    c64 = cost(Observations([1, 4, 9], np.ones((3, 2)), std=0.3), Background(np.zeros(4),
                                                                                std=1.0))
    z = jnp.array([1.0, -2.0, 3.0, 0.5])
    g64 = jax.grad(c64)(z)
    h64 = hvp(c64, z, jnp.ones(4))
    c32 = jax.tree.map(lambda a: a.astype(jnp.float32) if isinstance(a, jax.Array) else a, c64)
    g32 = jax.grad(c32)(z.astype(jnp.float32))
    h32 = hvp(c32, z.astype(jnp.float32), jnp.ones(4, jnp.float32))
    assert g32.dtype == jnp.float32
    # float32 tolerance: 1e-5 relative (a few ulps of accumulated rounding over 10 RK4 steps)
    assert np.linalg.norm(g32 - g64) / np.linalg.norm(g64) < 1e-5
    assert np.linalg.norm(h32 - h64) / np.linalg.norm(h64) < 1e-5
