"""Twin experiment on a layered SH model: three S velocities and a thickness from noisy
seismograms, recovered within two posterior standard deviations, with calibrated errors."""

import jax
import numpy as np
import pytest

from sjax.assim import hvp
from sjax.assim.optimize import minimize, newton_cg
from sjax.assim.posterior import posterior_std
from sjax.assim.twin import layered_twin, twin_estimates, twin_realisation
from sjax.integrate import DirectAdjoint


@pytest.fixture(scope="module")
def twin():
    return layered_twin()


def test_newton_cg_recovers_the_structure_within_two_posterior_sigmas(twin):
    # Hessian-vector products by forward-over-reverse AD here (compiles in half the time); the
    # second-order adjoint's equality with them is test_hessian.py's, and the slow calibration
    # test below and notebook 03 run the twin with it
    cost, background_mean = twin_realisation(twin, jax.random.key(0), adjoint=DirectAdjoint())
    solver = newton_cg(jax.value_and_grad(cost), lambda z, v: hvp(cost, z, v, method="jvp_grad"),
                       cg_max_iterations=8)  # fmt: skip
    result = minimize(solver, background_mean, max_iterations=30, tolerance=1e-8)
    assert result.converged, result.reason
    assert np.all(np.diff(result.trace.value) <= 0)
    std = np.asarray(posterior_std(cost, result.params, method="jvp_grad"))
    error = (np.asarray(result.params) - twin.truth) / std
    assert np.all(np.abs(error) < 2.0), error
    # the seismograms constrain the shallow structure far beyond the prior
    assert np.all(std[[0, 1, 3]] < 0.6 * twin.prior_std[[0, 1, 3]]), std


@pytest.mark.slow
def test_posterior_std_is_calibrated_over_noise_realisations(twin):
    """RMS error of 32 MAP estimates (noise and background drawn anew each time) agrees with
    the Laplace posterior standard deviation within 25 % for every parameter."""
    keys = jax.random.split(jax.random.key(1), 32)
    estimates, gradient_norms = twin_estimates(twin, keys, n_iterations=12)
    # the true 80 m thickness lies on a grid node, where the volume-averaged rasterisation puts
    # a kink in the cost: a realisation whose minimum falls on it stalls there with a non-zero
    # gradient (notebook 03, section 6); such estimates stay in the RMS, but most must converge
    assert np.mean(np.asarray(gradient_norms) < 1e-2) >= 0.75, np.asarray(gradient_norms)
    cost, _ = twin_realisation(twin, keys[0])
    std = np.asarray(posterior_std(cost, estimates[0]))
    rms = np.sqrt(np.mean((np.asarray(estimates) - twin.truth) ** 2, axis=0))
    assert np.all(np.abs(rms / std - 1) < 0.25), (rms / std, np.asarray(gradient_norms))
