"""Model pieces and the recorded-event log-likelihood against independent numpy/scipy code."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special
from scipy.stats import norm

from sjax.aftershock import (
    AftershockParams,
    Catalog,
    detected_magnitude_log_density,
    exprel,
    log_detected_magnitude_integral,
    log_likelihood,
    log_likelihood_piecewise,
    log_time_quadrature,
    omori_integral,
    ridgecrest_catalog,
)

LN10 = math.log(10.0)
QUAD = dict(epsabs=0.0, epsrel=1e-13, limit=500)


def params_of(k, c, p, b, sigma):
    return AftershockParams(*(jnp.asarray(x, dtype=jnp.float64) for x in (k, c, p, b, sigma)))


PARAMS = params_of(k=0.08, c=0.012, p=1.07, b=0.95, sigma=0.25)
MREF = 6.5


def mu_smooth(t):
    """A decaying 50 %-detection magnitude, smooth in log time (works for jnp and numpy)."""
    return 3.2 - 0.35 * jnp.log1p(t / 0.03)


def mu_smooth_np(t):
    return 3.2 - 0.35 * np.log1p(t / 0.03)


def synthetic_catalog(n=40, seed=0, start=0.0, end=3.0):
    rng = np.random.default_rng(seed)
    times = np.sort(start + (end - start) * rng.uniform(0.0, 1.0, n) ** 3)
    mags = np.round(2.0 + rng.exponential(1.0 / (0.95 * LN10), n), 2)
    return Catalog(times, mags, start, end)


# ------------------------------------------------------------------------------------------
# Independent scipy references


def gr_phi_quad(mu, b, sigma, mref, cutoff=None):
    beta = b * LN10

    def integrand(m):
        return math.exp(math.log(beta) - beta * (m - mref) + special.log_ndtr((m - mu) / sigma))

    peak = mu - beta * sigma**2
    if cutoff is None:
        return integrate.quad(integrand, -np.inf, peak, **QUAD)[0] + integrate.quad(
            integrand, peak, np.inf, **QUAD)[0]  # fmt: skip
    if cutoff < peak:
        return integrate.quad(integrand, cutoff, peak, **QUAD)[0] + integrate.quad(
            integrand, peak, np.inf, **QUAD)[0]  # fmt: skip
    return integrate.quad(integrand, cutoff, np.inf, **QUAD)[0]


def omori_quad(t0, t1, k, c, p):
    edges = np.geomspace(t0 + c, t1 + c, 12) - c
    edges[0], edges[-1] = t0, t1
    return sum(integrate.quad(lambda t: k * (t + c) ** (-p), a, b, **QUAD)[0]
               for a, b in zip(edges[:-1], edges[1:]))  # fmt: skip


def g_numpy(mu, b, sigma, mref, cutoff=None):
    """The magnitude integral written out with scipy's normal CDF (independent of sjax)."""
    beta = b * LN10
    full = math.exp(beta * (mref - mu) + 0.5 * beta**2 * sigma**2)
    if cutoff is None:
        return full
    return math.exp(-beta * (cutoff - mref)) * special.ndtr((cutoff - mu) / sigma) + full * (
        special.ndtr((mu - beta * sigma**2 - cutoff) / sigma))  # fmt: skip


def event_terms_numpy(params, times, mags, mus, mref):
    k, c, p, b, sigma = (float(x) for x in params)
    beta = b * LN10
    total = 0.0
    for t, m, mu in zip(times, mags, mus):
        total += math.log(k) - p * math.log(t + c)
        total += math.log(beta) - beta * (m - mref) + math.log(norm.cdf((m - mu) / sigma))
    return total


def loglik_continuous_numpy(params, times, mags, start, end, mref, cutoff=None):
    k, c, p, b, sigma = (float(x) for x in params)
    events = event_terms_numpy(params, times, mags, mu_smooth_np(np.asarray(times)), mref)
    edges = np.geomspace(start + c, end + c, 16) - c
    edges[0], edges[-1] = start, end
    count = sum(
        integrate.quad(lambda t: k * (t + c) ** (-p) * g_numpy(mu_smooth_np(t), b, sigma, mref,
                                                              cutoff), lo, hi, **QUAD)[0]
        for lo, hi in zip(edges[:-1], edges[1:])
    )  # fmt: skip
    return events - count


def loglik_piecewise_numpy(params, times, mags, mus, start, end, mref, cutoff=None):
    k, c, p, b, sigma = (float(x) for x in params)
    events = event_terms_numpy(params, times, mags, mus, mref)
    count, previous = 0.0, start
    for t, mu in zip(times, mus):
        count += omori_quad(previous, t, k, c, p) * g_numpy(mu, b, sigma, mref, cutoff)
        previous = t
    count += omori_quad(previous, end, k, c, p) * g_numpy(mus[-1], b, sigma, mref, cutoff)
    return events - count


# ------------------------------------------------------------------------------------------
# Pieces


@pytest.mark.parametrize(
    "mu, b, sigma, mref, cutoff",
    [(2.0, 1.0, 0.2, 6.5, None), (3.4, 0.8, 0.45, 7.1, None), (1.2, 1.3, 0.1, 5.0, None),
     (2.6, 1.0, 0.3, 7.1, 2.5), (2.0, 0.9, 0.2, 6.0, 2.5), (3.5, 1.1, 0.35, 7.1, 1.0)],
)  # fmt: skip
def test_closed_form_magnitude_integral_matches_quadrature(mu, b, sigma, mref, cutoff):
    closed = float(jnp.exp(log_detected_magnitude_integral(mu, b, sigma, mref, cutoff)))
    np.testing.assert_allclose(closed, gr_phi_quad(mu, b, sigma, mref, cutoff), rtol=1e-10)


def test_untruncated_integral_is_the_methods_formula():
    mu, b, sigma, mref = 2.3, 1.05, 0.27, 7.1
    beta = b * LN10
    expected = beta * (mref - mu) + beta**2 * sigma**2 / 2
    np.testing.assert_allclose(log_detected_magnitude_integral(mu, b, sigma, mref), expected,
                               rtol=1e-14)  # fmt: skip
    # A cutoff far below μ changes nothing.
    np.testing.assert_allclose(log_detected_magnitude_integral(mu, b, sigma, mref, -5.0),
                               expected, rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("cutoff", [None, 2.5])
def test_detected_magnitude_density_is_normalised(cutoff):
    lower = -np.inf if cutoff is None else cutoff
    log_density = jax.jit(lambda m: detected_magnitude_log_density(m, 2.7, 1.0, 0.3, cutoff))
    density = lambda m: math.exp(float(log_density(m)))
    total = integrate.quad(density, lower, 2.0, **QUAD)[0] + integrate.quad(
        density, 2.0, np.inf, **QUAD)[0]  # fmt: skip
    np.testing.assert_allclose(total, 1.0, rtol=1e-10)


@pytest.mark.parametrize("p", [0.7, 1.0 - 1e-9, 1.0, 1.0 + 1e-9, 1.0 + 2e-3, 1.35])
@pytest.mark.parametrize("t0, t1", [(0.0, 7.0), (0.3, 0.30001), (2.0, 40.0)])
def test_omori_integral_matches_quadrature_through_p_equal_one(p, t0, t1):
    k, c = 12.0, 0.015
    value = float(omori_integral(t0, t1, k, c, p))
    np.testing.assert_allclose(value, omori_quad(t0, t1, k, c, p), rtol=1e-10)


def test_omori_integral_is_smooth_in_p_at_one():
    k, c, t0, t1 = 5.0, 0.01, 0.0, 3.0
    at_one = float(omori_integral(t0, t1, k, c, 1.0))
    np.testing.assert_allclose(at_one, k * math.log((t1 + c) / (t0 + c)), rtol=1e-14)
    grad = jax.grad(omori_integral, argnums=4)
    g1 = float(grad(t0, t1, k, c, 1.0))
    # d/dp at p = 1: −k ∫ ln(t + c)/(t + c) dt = −k [ln²(t1 + c) − ln²(t0 + c)]/2
    expected = -k * (math.log(t1 + c) ** 2 - math.log(t0 + c) ** 2) / 2
    np.testing.assert_allclose(g1, expected, rtol=1e-12)
    for dp in (1e-9, -1e-9, 1e-4, -1e-4):  # continuous across the Taylor/expm1 switch
        np.testing.assert_allclose(float(grad(t0, t1, k, c, 1.0 + dp)), g1, rtol=2e-3)
    x = jnp.array([-2e-3, -1e-3 - 1e-12, -1e-3, 0.0, 1e-3, 1e-3 + 1e-12, 5e-3])
    np.testing.assert_allclose(exprel(x), np.expm1(np.asarray(x)) / np.where(x == 0, 1, x)
                               + (np.asarray(x) == 0), rtol=2e-15)  # fmt: skip


def test_log_time_quadrature_integrates_omori_exactly():
    nodes, weights = log_time_quadrature(0.0, 5.0, 0.02, n_panels=4, order=8)
    assert nodes.shape == weights.shape == (32,)
    assert float(nodes.min()) > 0.0 and float(nodes.max()) < 5.0
    value = jnp.sum(weights * 3.0 * (nodes + 0.02) ** -1.2)
    np.testing.assert_allclose(value, omori_integral(0.0, 5.0, 3.0, 0.02, 1.2), rtol=1e-13)


# ------------------------------------------------------------------------------------------
# Full log-likelihood


@pytest.mark.parametrize("cutoff", [None, 2.0])
def test_log_likelihood_matches_independent_scipy_implementation(cutoff):
    catalog = synthetic_catalog(start=0.002, end=3.0)
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    value = jax.jit(lambda q, cat: log_likelihood(
        q, cat, mu_smooth, reference_magnitude=MREF, magnitude_cutoff=cutoff))(PARAMS, catalog)
    reference = loglik_continuous_numpy(PARAMS, times, mags, 0.002, 3.0, MREF, cutoff)
    np.testing.assert_allclose(float(value), reference, rtol=1e-10)


@pytest.mark.parametrize("cutoff", [None, 2.0])
def test_piecewise_log_likelihood_matches_independent_scipy_implementation(cutoff):
    catalog = synthetic_catalog(seed=1)
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    mus = mu_smooth_np(times)
    value = jax.jit(lambda q, cat, mu: log_likelihood_piecewise(
        q, cat, mu, reference_magnitude=MREF, magnitude_cutoff=cutoff))(PARAMS, catalog, mus)
    reference = loglik_piecewise_numpy(PARAMS, times, mags, mus, 0.0, 3.0, MREF, cutoff)
    np.testing.assert_allclose(float(value), reference, rtol=1e-10)


def test_ridgecrest_piecewise_log_likelihood_matches_reference():
    catalog = ridgecrest_catalog()
    params = params_of(k=0.02, c=0.008, p=1.08, b=0.9, sigma=0.2)
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    mus = 3.5 - 0.4 * np.log1p(times / 0.01)
    value = jax.jit(lambda q, cat, mu: log_likelihood_piecewise(
        q, cat, mu, reference_magnitude=7.1, magnitude_cutoff=2.5))(params, catalog, mus)
    # Reference with the closed-form Omori integral (its quadrature is checked above).
    k, c, p, b, sigma = (float(x) for x in params)
    edges = np.concatenate([[float(catalog.start)], times, [float(catalog.end)]])
    omori = k * ((edges[1:] + c) ** (1 - p) - (edges[:-1] + c) ** (1 - p)) / (1 - p)
    g = [g_numpy(mu, b, sigma, 7.1, 2.5) for mu in np.append(mus, mus[-1])]
    reference = event_terms_numpy(params, times, mags, mus, 7.1) - np.dot(omori, g)
    np.testing.assert_allclose(float(value), reference, rtol=1e-10)


def test_constant_mu_agrees_between_quadrature_and_piecewise():
    catalog = synthetic_catalog(seed=2)
    kwargs = dict(reference_magnitude=MREF, magnitude_cutoff=1.5)
    smooth = jax.jit(lambda q, cat: log_likelihood(
        q, cat, lambda t: jnp.full_like(t, 2.4), **kwargs))(PARAMS, catalog)
    piecewise = jax.jit(lambda q, cat: log_likelihood_piecewise(
        q, cat, jnp.asarray(2.4), **kwargs))(PARAMS, catalog)
    np.testing.assert_allclose(smooth, piecewise, rtol=1e-12)


def test_gradients_are_finite_and_match_central_differences():
    catalog = synthetic_catalog(seed=3)
    mus = jnp.asarray(mu_smooth_np(np.asarray(catalog.times)))
    functions = {
        "continuous": lambda q: log_likelihood(q, catalog, mu_smooth, reference_magnitude=MREF,
                                               magnitude_cutoff=2.0),
        "piecewise": lambda q: log_likelihood_piecewise(q, catalog, mus, reference_magnitude=MREF),
    }  # fmt: skip
    for name, f in functions.items():
        grad_f, batch_f = jax.jit(jax.grad(f)), jax.jit(jax.vmap(f))
        for p_value in (1.0, 1.07):  # p = 1 exactly is a regular point
            params = PARAMS._replace(p=jnp.asarray(p_value))
            grads = np.array([float(g) for g in grad_f(params)])
            assert np.all(np.isfinite(grads)), name
            x = np.array([float(v) for v in params])
            steps = 1e-6 * np.abs(x)
            shifted = x[None, :] + np.concatenate([np.diag(steps), -np.diag(steps)])  # (10, 5)
            values = np.asarray(batch_f(AftershockParams(*jnp.asarray(shifted.T))))
            numeric = (values[:5] - values[5:]) / (2 * steps)
            np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-6, err_msg=name)


def test_log_likelihood_vmaps_over_parameter_sets():
    catalog = synthetic_catalog(seed=4)
    batch = params_of(k=[0.05, 0.08, 0.2], c=[0.005, 0.012, 0.05], p=[0.9, 1.0, 1.2],
                      b=[0.8, 0.95, 1.1], sigma=[0.15, 0.25, 0.4])  # fmt: skip

    def f(q):
        return log_likelihood(q, catalog, mu_smooth, reference_magnitude=MREF)

    batched = jax.jit(jax.vmap(f))(batch)
    assert batched.shape == (3,)
    single = [jax.jit(f)(jax.tree.map(lambda x: x[i], batch)) for i in range(3)]
    np.testing.assert_allclose(batched, single, rtol=1e-12)
