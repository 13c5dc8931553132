"""The layered prior (support, normalisation, draws) and station selection (greedy D-optimal
against brute force; group lasso on a problem with known informative stations)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax.imaging import (
    greedy_d_optimal, group_lasso_selection, layered_space, linearised_covariance,
    random_subsets,
)  # fmt: skip


@pytest.fixture(scope="module")
def space():
    return layered_space([(50.0, 500.0)], [(200.0, 800.0), (500.0, 1600.0)],
                         density=[1800.0, 2200.0], log_noise=(-3.0, 1.0))  # fmt: skip


def test_space_maps_theta_to_a_medium(space):
    theta = jnp.array([120.0, 300.0, 900.0, -1.0])
    medium = space.medium(theta)
    np.testing.assert_allclose(medium.thickness, [120.0])
    np.testing.assert_allclose(medium.velocity_s, [300.0, 900.0])
    np.testing.assert_allclose(medium.velocity_p, np.sqrt(3.0) * np.array([300.0, 900.0]))
    np.testing.assert_allclose(space.noise_sigma(theta), np.exp(-1.0))
    assert space.names == ("thickness_1", "velocity_s_1", "velocity_s_2", "log_noise")


def test_prior_is_normalised_on_the_ordered_region(space):
    # Monte Carlo over the box: E_box[exp(log_prior)] * volume(box) = 1
    draws = jax.random.uniform(jax.random.key(0), (200_000, 4), minval=space.lower,
                               maxval=space.upper)  # fmt: skip
    box_volume = float(jnp.prod(space.upper - space.lower))
    integral = float(jnp.mean(jnp.exp(space.log_prior(draws)))) * box_volume
    assert abs(integral - 1.0) < 0.01, integral
    inside = space.sample_prior(jax.random.key(1), 500)
    assert bool(jnp.all(space.inside(inside)))
    assert float(space.log_prior(jnp.array([120.0, 700.0, 600.0, 0.0]))) == -np.inf  # order


def test_space_rejects_bad_bounds():
    with pytest.raises(ValueError, match="thickness needs 1"):
        layered_space([], [(1.0, 2.0), (2.0, 3.0)], density=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"velocity_s\[1\] bounds"):
        layered_space([(1.0, 2.0)], [(1.0, 2.0), (3.0, 3.0)], density=[1.0, 1.0])
    with pytest.raises(ValueError, match="admit no increasing"):
        layered_space([(1.0, 2.0)], [(5.0, 6.0), (1.0, 2.0)], density=[1.0, 1.0])
    with pytest.raises(ValueError, match="density must be 2"):
        layered_space([(1.0, 2.0)], [(1.0, 2.0), (2.0, 3.0)], density=[1.0])


def _log_det(jacobian, subset, sigma, prior):
    blocks = sum(jacobian[s].T @ jacobian[s] for s in subset) / sigma**2
    return np.linalg.slogdet(prior * np.eye(jacobian.shape[-1]) + blocks)[1]


def test_greedy_d_optimal_against_brute_force():
    rng = np.random.default_rng(3)
    jacobian = rng.standard_normal((8, 5, 3)) * rng.uniform(0.1, 2.0, (8, 1, 1))
    selection = greedy_d_optimal(jacobian, 3, noise_sigma=0.5, prior_precision=2.0)
    assert len(set(selection.stations.tolist())) == 3
    np.testing.assert_allclose(selection.score[-1],
                               _log_det(jacobian, selection.stations, 0.5, 2.0), rtol=1e-10)
    best_single = max(range(8), key=lambda s: _log_det(jacobian, [s], 0.5, 2.0))
    assert selection.stations[0] == best_single
    optimum = max(_log_det(jacobian, c, 0.5, 2.0) for c in itertools.combinations(range(8), 3))
    base = _log_det(jacobian, [], 0.5, 2.0)
    # submodular guarantee: greedy gain >= (1 - 1/e) of the optimal gain
    assert selection.score[-1] - base >= (1 - np.exp(-1)) * (optimum - base) - 1e-12
    covariance = linearised_covariance(jacobian, selection.stations, noise_sigma=0.5,
                                       prior_precision=2.0)  # fmt: skip
    np.testing.assert_allclose(np.linalg.slogdet(np.asarray(covariance))[1],
                               -selection.score[-1], rtol=1e-10)  # fmt: skip
    with pytest.raises(ValueError, match=r"k=9 must lie in \[1, n_station=8\]"):
        greedy_d_optimal(jacobian, 9, noise_sigma=0.5)


def test_group_lasso_finds_the_informative_stations():
    rng = np.random.default_rng(4)
    n_draw, n_station, n_data = 300, 7, 6
    parameters = rng.standard_normal((n_draw, 2))
    records = 0.3 * rng.standard_normal((n_draw, n_station, n_data))
    records[:, 2] += parameters @ rng.standard_normal((2, n_data))
    records[:, 5] += parameters @ rng.standard_normal((2, n_data))
    selection = group_lasso_selection(records, parameters, 2)
    assert sorted(selection.stations.tolist()) == [2, 5]
    subsets = random_subsets(jax.random.key(0), n_station, 3, 10)
    assert subsets.shape == (10, 3) and all(len(set(s)) == 3 for s in subsets.tolist())
