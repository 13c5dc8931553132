"""Warm-up adaptation (step sizes, ladder) and log-evidence estimators on conjugate Gaussians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.diagnostics import effective_sample_size
from scipy.stats import norm

from sjax import mcmc

# prior N(0, I), likelihood Π_d N(y_d | θ_d, 1/λ): every tempered target is Gaussian with
# precision 1 + ηλ and mean ηλy / (1 + ηλ); the evidence is Π_d N(y_d | 0, 1 + 1/λ).
Y = np.array([0.5, -1.0, 1.5])
PRECISION = 25.0


def logprior(x):
    return -0.5 * jnp.sum(x**2) - 0.5 * x.size * jnp.log(2 * jnp.pi)


def make_loglikelihood(y, precision):
    def loglikelihood(x):
        return (-0.5 * precision * jnp.sum((x - y) ** 2)
                + 0.5 * x.size * jnp.log(precision / (2 * jnp.pi)))  # fmt: skip

    return loglikelihood


def analytic_mean_loglikelihood(eta, y, precision):
    """⟨log L⟩ under the η-tempered posterior."""
    tempered = 1.0 + eta * precision
    mean = eta * precision * y / tempered
    return np.sum(0.5 * np.log(precision / (2 * np.pi))
                  - 0.5 * precision * ((y - mean) ** 2 + 1.0 / tempered))  # fmt: skip


def log_evidence(y, precision):
    return float(np.sum(norm.logpdf(y, 0.0, np.sqrt(1.0 + 1.0 / precision))))


@pytest.fixture(scope="module")
def runs():
    """RWM REMC on the 3-D target with a geometric ladder, uneven here because the prior
    dominates at small η: adapted (step sizes + ladder) and step sizes only."""
    ladder = mcmc.geometric_ladder(8, 1e-3, include_zero=True)
    algorithm = mcmc.replica_exchange(logprior, make_loglikelihood(Y, PRECISION), ladder,
                                      step_size=0.5)  # fmt: skip
    state = algorithm.init(jnp.zeros((8, 3)))
    out = {}
    for name, settings in (("adapted", mcmc.adaptation("rwm")),
                           ("geometric", mcmc.adaptation("rwm", adapt_ladder=False))):  # fmt: skip
        out[name] = mcmc.run_chain(jax.random.key(5), algorithm, state, 4000, n_warmup=4000,
                                   adapt=settings, checkpoint_every=4000)  # fmt: skip
    return out


def test_adaptation_hits_target_acceptance_and_evens_swap_rates(runs):
    adapted, geometric = runs["adapted"], runs["geometric"]
    for result in (adapted, geometric):
        np.testing.assert_array_less(np.abs(np.asarray(result.acceptance) - 0.3), 0.15)
    ladder = np.asarray(adapted.state.inverse_temperature)
    assert ladder[0] == 0.0 and ladder[-1] == 1.0 and np.all(np.diff(ladder) > 0)
    spread = {name: float(np.ptp(np.asarray(r.swap_rate))) for name, r in runs.items()}
    assert spread["adapted"] < 0.5 * spread["geometric"], spread
    assert int(adapted.round_trips) > int(geometric.round_trips)


def test_rwm_cold_chain_moments_within_monte_carlo_error(runs):
    draws = np.asarray(runs["adapted"].samples)
    mean = PRECISION * Y / (1 + PRECISION)
    var = 1.0 / (1 + PRECISION)
    squares = (draws - mean) ** 2
    ess_mean = effective_sample_size(draws[None])
    ess_var = effective_sample_size(squares[None])
    assert np.all(ess_mean > 200), ess_mean
    # 4 Monte Carlo standard errors, sd / sqrt(ESS)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 4 * draws.std(0) / np.sqrt(ess_mean))
    np.testing.assert_array_less(np.abs(draws.var(0) - var), 4 * squares.std(0) / np.sqrt(ess_var))


def test_evidence_estimators_on_exact_inputs():
    y, precision = Y[:1], 4.0
    truth = log_evidence(y, precision)
    ladder = mcmc.geometric_ladder(400, 1e-4, include_zero=True)
    means = np.array([analytic_mean_loglikelihood(e, y, precision) for e in np.asarray(ladder)])
    # trapezoid error O(max Δη² · |d²⟨log L⟩/dη²|) on this dense ladder
    assert abs(float(mcmc.thermodynamic_integration(ladder, means)) - truth) < 2e-3
    # exact samples of each tempered posterior
    coarse = np.asarray(mcmc.geometric_ladder(12, 1e-2, include_zero=True))
    tempered = 1.0 + coarse * precision
    rng = np.random.default_rng(0)
    theta = coarse * precision * y / tempered + rng.standard_normal((20000, 12)) / np.sqrt(tempered)
    loglik = norm.logpdf(y, theta, 1 / np.sqrt(precision))
    assert abs(float(mcmc.stepping_stone(coarse, loglik)) - truth) < 0.02
    with pytest.raises(ValueError, match=r"loglikelihood_samples must have shape \(N, 12\)"):
        mcmc.stepping_stone(coarse, loglik[:, :5])
    with pytest.raises(ValueError, match=r"mean_loglikelihood must have shape \(12,\)"):
        mcmc.thermodynamic_integration(coarse, np.zeros(3))


def test_evidence_from_remc_run_matches_analytic():
    y, precision = Y[:1], 4.0
    truth = log_evidence(y, precision)
    ladder = mcmc.geometric_ladder(16, 1e-2, include_zero=True)
    algorithm = mcmc.replica_exchange(logprior, make_loglikelihood(y, precision), ladder,
                                      step_size=1.0)  # fmt: skip
    result = mcmc.run_chain(jax.random.key(2), algorithm, algorithm.init(jnp.zeros((16, 1))),
                            5000, n_warmup=2500, checkpoint_every=2500)  # fmt: skip
    ladder = result.state.inverse_temperature  # as adapted (endpoints kept)
    trace = result.loglikelihood_trace
    ti = float(mcmc.thermodynamic_integration(ladder, trace.mean(0)))
    ss = float(mcmc.stepping_stone(ladder, trace))
    # tolerance 0.05 nats: errors of both were < 0.007 over 4 seeds (Monte Carlo error plus
    # the trapezoid bias, ~0.005 on 16 rungs)
    assert abs(ti - truth) < 0.05, (ti, truth)
    assert abs(ss - truth) < 0.05, (ss, truth)
