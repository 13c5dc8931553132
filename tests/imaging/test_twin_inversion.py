"""The layered twin end to end (two layers over bedrock, 8 surface stations, 10 % noise, 1 Hz,
float32: the sampler's float32 path): replica exchange recovers the structure, the wavefield it
reconstructs at points without stations beats ordinary kriging and its band covers the truth,
and D-optimal stations beat random ones.

The fast variant (6 replicas, 500 + 500 sweeps, shared by the tests below) checks what a short
chain already shows: an informative posterior whose cold replica has the log-likelihood the
truth has, reconstruction against kriging, the band, and station selection. The slow variant
(10 replicas, 1500 + 1500 sweeps) asserts the issue's numbers: 95 % intervals that cover every
true parameter, and a band covering ≥ 90 % of the true held-out samples.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax.imaging import (
    band_coverage, greedy_d_optimal, imaging_twin, invert, krige, linearised_covariance,
    random_subsets, reconstruct_wavefield, relative_misfit,
)  # fmt: skip


@pytest.fixture(scope="module")
def twin():
    return imaging_twin(jax.random.key(0), n_station=8, noise_level=0.1, dtype=jnp.float32)


@pytest.fixture(scope="module")
def inversion(twin):
    return invert(jax.random.key(1), twin.posterior, n_replicas=6, n_warmup=500, n_samples=500)


def _reconstruction(twin, inversion):
    band = reconstruct_wavefield(inversion.samples[::4], twin.simulate_targets)
    kriged = krige(np.asarray(twin.stations.x), twin.observed, np.asarray(twin.targets.x))
    remc = float(jnp.mean(relative_misfit(band.mean, twin.true_targets)))
    kriging = float(jnp.mean(relative_misfit(kriged, twin.true_targets)))
    return band, remc, kriging


def test_short_chain_is_informative_and_calibrated(twin, inversion):
    samples = np.asarray(inversion.samples)
    prior_std = np.asarray(twin.space.widths()) / np.sqrt(12.0)  # uniform box
    assert np.all(samples.std(axis=0) < 0.8 * prior_std), (samples.std(axis=0), prior_std)
    # at the posterior, log L_max − log L ~ χ²_d / 2 (d = 5): the truth's log-likelihood is a
    # typical one of the cold replica (within 3.5 of its median, about the 99.5 % point)
    truth = float(twin.posterior.loglikelihood(twin.truth))
    median = float(jnp.median(inversion.chain.loglikelihood))
    assert abs(truth - median) < 3.5, (truth, median)
    chain = inversion.chain
    # the hottest pair may barely swap (prior draws sit ~1e6 nats below the data's optimum)
    assert float(np.median(np.asarray(chain.swap_rate))) > 0.1, chain.swap_rate
    assert np.all(np.abs(np.asarray(chain.acceptance) - 0.3) < 0.15), chain.acceptance


def test_reconstruction_beats_kriging(twin, inversion):
    band, remc, kriging = _reconstruction(twin, inversion)
    assert remc <= 0.5 * kriging, (remc, kriging)
    # a short chain under-spreads (0.63 here); the slow variant checks the long chain's band
    assert float(band_coverage(band, twin.true_targets, pooled=True)) >= 0.5


def test_d_optimal_stations_beat_the_median_random_subset(twin, inversion):
    theta = jnp.mean(inversion.samples, axis=0)
    unit = lambda u: twin.posterior.predict(twin.space.from_unit(u))  # noqa: E731
    jacobian = jax.jacfwd(unit)(twin.space.to_unit(theta))  # (S, 1, T, d) in unit coordinates
    jacobian = jacobian.reshape(jacobian.shape[0], -1, jacobian.shape[-1])
    options = {"noise_sigma": twin.noise_sigma, "prior_precision": 12.0}  # uniform box: var 1/12
    k = 3
    chosen = greedy_d_optimal(jacobian, k, **options)

    def variance(stations):
        return float(jnp.trace(linearised_covariance(jacobian, stations, **options)))

    random = [variance(s) for s in random_subsets(jax.random.key(2), jacobian.shape[0], k, 20)]
    assert variance(chosen.stations) < np.median(random), (variance(chosen.stations), random)


@pytest.mark.slow
def test_long_chain_covers_the_truth_and_its_band_the_wavefield(twin):
    inversion = invert(jax.random.key(1), twin.posterior, n_replicas=10, n_warmup=1500,
                       n_samples=1500)  # fmt: skip
    low, high = np.quantile(np.asarray(inversion.samples), [0.025, 0.975], axis=0)
    truth = np.asarray(twin.truth)
    assert np.all((low <= truth) & (truth <= high)), (twin.space.names, low, truth, high)
    band, remc, kriging = _reconstruction(twin, inversion)
    assert remc <= 0.5 * kriging, (remc, kriging)
    # the issue: the band covers the true held-out traces at >= 90 % of their samples (pooled
    # over the held-out points; each point alone, 0.90-0.92 in this run, at >= 85 %)
    coverage = band_coverage(band, twin.true_targets)
    assert float(band_coverage(band, twin.true_targets, pooled=True)) >= 0.9, coverage
    assert float(jnp.min(coverage)) >= 0.85, coverage
