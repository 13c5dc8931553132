"""Replica exchange: the swap rule, bad input, a two-mode target and Gaussian moments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.diagnostics import effective_sample_size

from sjax import mcmc

# --- two-mode target in 2-D: modes at ±(6, 6) (weights 0.3 / 0.7), unit width, prior
# N(0, 10² I); the prior factor is the same at both modes, so the posterior weights stay
# 0.3 / 0.7 exactly. (In 1-D an adapted random walk occasionally jumps the 12-unit gap.)
MODES, WEIGHTS = (6.0, -6.0), (0.3, 0.7)


def mixture_logprior(x):
    return jnp.sum(-0.5 * (x / 10.0) ** 2)


def mixture_loglikelihood(x):
    terms = [jnp.log(w) - 0.5 * jnp.sum((x - m) ** 2) for m, w in zip(MODES, WEIGHTS)]
    return jnp.logaddexp(*terms)


def moment_tolerance(draws, truth_mean, truth_var):
    """4 Monte Carlo standard errors, sd/sqrt(ESS), of the mean and of the variance (the latter
    from the ESS and sd of (x - mean)²), per coordinate; draws (N, D)."""
    draws = np.asarray(draws)
    squares = (draws - truth_mean) ** 2
    ess_mean = effective_sample_size(draws[None])
    ess_var = effective_sample_size(squares[None])
    return (4 * draws.std(0) / np.sqrt(ess_mean), 4 * squares.std(0) / np.sqrt(ess_var),
            ess_mean)  # fmt: skip


def test_swap_probability_matches_formula_and_accepted_swaps_permute_states():
    ladder = jnp.array([0.1, 0.25, 0.5, 1.0])
    # loglikelihood = x[0]; both even pairs have log L_l > log L_{l+1} (probability 1), the odd
    # pair not
    positions = jnp.array([[3.0, 10.0], [1.0, 11.0], [2.0, 12.0], [-5.0, 13.0]])
    state = mcmc.init(positions, lambda x: 0.0 * x[0], lambda x: x[0], ladder,
                      step_size=jnp.array([0.4, 0.3, 0.2, 0.1]))  # fmt: skip
    energy = -positions[:, 0]  # E = -log L
    eta = np.asarray(ladder)
    expected = np.minimum(1.0, np.exp((eta[1:] - eta[:-1]) * (energy[1:] - energy[:-1])))
    exchange = jax.jit(mcmc.exchange)
    moved, info = exchange(jax.random.key(3), state)
    np.testing.assert_allclose(info.swap_probability, expected, rtol=1e-14)
    np.testing.assert_allclose(info.swap_probability[1], np.exp(0.25 * (1.0 - 2.0)), rtol=1e-14)
    assert expected[0] == 1.0 and expected[2] == 1.0 and expected[1] < 1.0
    np.testing.assert_array_equal(info.swap_attempted, [True, False, True])
    np.testing.assert_array_equal(info.swap_accepted, [True, False, True])  # probability 1
    np.testing.assert_array_equal(moved.position, positions[jnp.array([1, 0, 3, 2])])
    np.testing.assert_array_equal(moved.loglikelihood, positions[jnp.array([1, 0, 3, 2]), 0])
    np.testing.assert_array_equal(moved.walker, [1, 0, 3, 2])
    np.testing.assert_array_equal(moved.inverse_temperature, state.inverse_temperature)
    np.testing.assert_array_equal(moved.step_size, state.step_size)
    assert int(moved.parity) == 1
    # the next exchange tries the odd pair (1, 2) only
    _, info = exchange(jax.random.key(4), moved)
    np.testing.assert_array_equal(info.swap_attempted, [False, True, False])


def test_swap_acceptance_frequency_equals_probability():
    ladder = jnp.array([0.2, 0.6, 1.0])
    positions = jnp.array([[-1.0], [0.5], [2.0]])  # log L increasing: both probabilities < 1
    state = mcmc.init(positions, lambda x: 0.0 * x[0], lambda x: x[0], ladder)
    keys = jax.random.split(jax.random.key(0), 4000)
    _, info = jax.jit(jax.vmap(mcmc.exchange, in_axes=(0, None)))(keys, state)
    p = float(np.exp(0.4 * (-1.0 - 0.5)))
    frequency = float(np.mean(info.swap_accepted[:, 0]))
    assert abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / 4000)
    assert not np.any(info.swap_accepted[:, 1])  # odd pair not attempted at parity 0


def quadratic(x):
    return -0.5 * jnp.sum(x**2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(positions=jnp.zeros((3, 2)), ladder=[0.1, 0.5, 1.0],
              logprior_fn=lambda x: jnp.where(x[0] > 0, 0.0, -jnp.inf)),
         r"initial logprior is not finite at replica indices \[0, 1, 2\]"),
        (dict(positions=jnp.array([[0.0], [1.0], [0.0]]), ladder=[0.1, 0.5, 1.0],
              loglikelihood_fn=lambda x: jnp.log(x[0])),
         r"initial loglikelihood is not finite at replica indices \[0, 2\]"),
        (dict(ladder=[0.5, 0.2, 1.0]), "ladder must be strictly increasing"),
        (dict(ladder=[0.1, 0.5, 0.9]), r"ladder\[-1\]=0.9 must be exactly 1"),
        (dict(ladder=[-0.1, 0.5, 1.0]), r"ladder must lie in \[0, 1\]"),
        (dict(ladder=[[0.5, 1.0]]), "ladder must be a non-empty 1-D array"),
        (dict(positions=jnp.zeros((4, 2))), r"leading axis len\(ladder\)=3"),
        (dict(step_size=0.0), "step_size must be finite and > 0"),
        (dict(step_size=jnp.array([0.1, -1.0, 0.1])), "step_size must be finite and > 0"),
        (dict(step_size=jnp.ones(2)), r"step_size must be a scalar or shape \(3,\)"),
        (dict(kernel="nuts"), "kernel='nuts' must be one of"),
    ],
)  # fmt: skip
def test_init_rejects_bad_input_naming_the_field(kwargs, match):
    arguments = dict(positions=jnp.zeros((3, 2)), logprior_fn=quadratic,
                     loglikelihood_fn=quadratic, ladder=[0.1, 0.5, 1.0])  # fmt: skip
    arguments.update(kwargs)
    positions = arguments.pop("positions")
    with pytest.raises(ValueError, match=match):
        mcmc.init(positions, **arguments)


def test_other_entry_points_reject_bad_input():
    with pytest.raises(ValueError, match="n_replicas=0"):
        mcmc.geometric_ladder(0)
    with pytest.raises(ValueError, match="min_inverse_temperature=1.5"):
        mcmc.geometric_ladder(4, 1.5)
    with pytest.raises(ValueError, match="n_leapfrog=0"):
        mcmc.build_kernel(quadratic, quadratic, kernel="hmc", n_leapfrog=0)
    with pytest.raises(ValueError, match="target_acceptance=1.2"):
        mcmc.adaptation(target_acceptance=1.2)
    algorithm = mcmc.replica_exchange(quadratic, quadratic, [0.5, 1.0])
    state = algorithm.init(jnp.zeros((2, 1)))
    with pytest.raises(ValueError, match="n_samples=0 must be an integer >= 1"):
        mcmc.run_chain(jax.random.key(0), algorithm, state, 0)
    with pytest.raises(ValueError, match="thin=0"):
        mcmc.run_chain(jax.random.key(0), algorithm, state, 10, thin=0)
    with pytest.raises(ValueError, match="another kernel"):
        mcmc.build_kernel(quadratic, quadratic, kernel="mala")(jax.random.key(0), state)


def test_ladders():
    ladder = mcmc.geometric_ladder(5, 1e-2)
    np.testing.assert_allclose(ladder, [1e-2, 10**-1.5, 1e-1, 10**-0.5, 1.0], rtol=1e-14)
    assert ladder[-1] == 1.0
    np.testing.assert_array_equal(mcmc.geometric_ladder(1), [1.0])
    with_zero = mcmc.geometric_ladder(4, 1e-2, include_zero=True)
    np.testing.assert_allclose(with_zero, [0.0, 1e-2, 1e-1, 1.0], rtol=1e-14)
    mcmc.check_ladder(with_zero)


def test_two_modes_single_chain_stays_and_remc_recovers_weights():
    key = jax.random.key(0)
    single = mcmc.replica_exchange(mixture_logprior, mixture_loglikelihood, [1.0], step_size=1.0)
    stuck = mcmc.run_chain(key, single, single.init(jnp.full((1, 2), 6.0)), 4000,
                           adapt=False, checkpoint_every=4000)  # fmt: skip
    assert np.all(np.asarray(stuck.samples) > 0)  # never leaves the +6 mode
    assert int(stuck.round_trips) == 0

    ladder = mcmc.geometric_ladder(8, 1e-2)
    algorithm = mcmc.replica_exchange(mixture_logprior, mixture_loglikelihood, ladder,
                                      step_size=1.0)  # fmt: skip
    result = mcmc.run_chain(key, algorithm, algorithm.init(jnp.full((8, 2), 6.0)), 12000,
                            n_warmup=2000, checkpoint_every=2000)  # fmt: skip
    upper = np.asarray(result.samples[:, 0] > 0, float)
    assert abs(upper.mean() - WEIGHTS[0]) < 0.05, upper.mean()
    assert int(result.round_trips) > 100
    # the within-mode shape is right too: mean of the -6 mode
    lower = np.asarray(result.samples)[upper == 0]
    np.testing.assert_array_less(np.abs(lower.mean(0) + 6.0), 0.1)


# --- 10-D Gaussian target for the gradient kernels: prior N(0, I), likelihood N(y | θ, 0.2² I).
# (In 3-D the HMC acceptance falls off a cliff near the leapfrog stability limit, so the
# adapted acceptance is erratic; 10-D gives a smooth acceptance curve.)
Y = jnp.linspace(-1.5, 1.5, 10)
PRECISION = 25.0
POSTERIOR_MEAN = PRECISION * np.asarray(Y) / (1.0 + PRECISION)
POSTERIOR_VAR = 1.0 / (1.0 + PRECISION)


def gaussian_logprior(x):
    return -0.5 * jnp.sum(x**2) - 0.5 * x.size * jnp.log(2 * jnp.pi)


def gaussian_loglikelihood(x):
    return -0.5 * PRECISION * jnp.sum((x - Y) ** 2) + 0.5 * x.size * jnp.log(
        PRECISION / (2 * jnp.pi)
    )


@pytest.mark.parametrize("kernel", ["mala", "hmc"])
def test_gradient_kernels_recover_gaussian_moments(kernel):
    ladder = mcmc.geometric_ladder(4, 0.05)
    algorithm = mcmc.replica_exchange(gaussian_logprior, gaussian_loglikelihood, ladder,
                                      kernel=kernel, step_size=0.1, n_leapfrog=5)  # fmt: skip
    state = algorithm.init(jnp.zeros((4, 10)))
    result = mcmc.run_chain(jax.random.key(1), algorithm, state, 1500, n_warmup=1500,
                            checkpoint_every=1500)  # fmt: skip
    draws = np.asarray(result.samples)
    mean_tol, var_tol, ess = moment_tolerance(draws, POSTERIOR_MEAN, POSTERIOR_VAR)
    assert np.all(ess > 100), ess
    np.testing.assert_array_less(np.abs(draws.mean(0) - POSTERIOR_MEAN), mean_tol)
    np.testing.assert_array_less(np.abs(draws.var(0) - POSTERIOR_VAR), var_tol)
    target = mcmc.TARGET_ACCEPTANCE[kernel]
    np.testing.assert_array_less(np.abs(np.asarray(result.acceptance) - target), 0.15)


def test_hmc_rejects_outside_support_without_nan():
    # prior: uniform on x > 0 (log prior -inf elsewhere, its gradient NaN-free by the guard,
    # `sjax.mcmc.kernels.evaluate`, which MALA shares); trajectories leave the support often
    def logprior(x):
        return jnp.where(jnp.all(x > 0), 0.0, -jnp.inf)

    def loglikelihood(x):
        return -0.5 * jnp.sum((x - 0.1) ** 2 / 0.04)

    algorithm = mcmc.replica_exchange(logprior, loglikelihood, [0.5, 1.0], kernel="hmc",
                                      step_size=0.3, n_leapfrog=3)  # fmt: skip
    state = algorithm.init(jnp.full((2, 2), 0.05))
    step = jax.jit(algorithm.step)
    accepted = []
    for i in range(30):
        state, info = step(jax.random.key(i), state)
        assert np.all(np.isfinite(np.asarray(info.acceptance)))
        accepted.append(np.asarray(info.acceptance))
    assert 0 < np.mean(accepted) < 1  # some proposals left the support and were rejected
    assert np.all(np.asarray(state.position) > 0)
    assert np.all(np.isfinite(np.asarray(state.logprior_grad)))
    assert np.all(np.isfinite(np.asarray(state.loglikelihood_grad)))
