"""The band-pass against SciPy's Butterworth designs, and ordinary kriging against an
independent covariance-form solve and a known random field."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from sjax.imaging import Variogram, bandpass, bandpass_response, fit_variogram, krige
from sjax.imaging import kriging_weights


def test_response_is_the_product_of_scipy_analogue_butterworths():
    f = np.linspace(0.05, 20.0, 400)
    w = 2 * np.pi * f
    _, low = signal.freqs(*signal.butter(4, 2 * np.pi * 4.0, "low", analog=True), worN=w)
    _, high = signal.freqs(*signal.butter(4, 2 * np.pi * 0.5, "high", analog=True), worN=w)
    expected = np.abs(low * high) ** 2
    np.testing.assert_allclose(np.asarray(bandpass_response(f, 0.5, 4.0)), expected,
                               rtol=1e-9, atol=1e-14)  # fmt: skip


def test_bandpass_matches_scipy_zero_phase_filter_away_from_nyquist():
    rng = np.random.default_rng(1)
    dt = 0.01
    x = rng.standard_normal(4000)
    sos = signal.butter(4, [0.5, 4.0], "bandpass", fs=1 / dt, output="sos")
    reference = signal.sosfiltfilt(sos, x)
    ours = np.asarray(bandpass(jnp.asarray(x), dt, 0.5, 4.0))
    interior = slice(500, -500)  # edge transients of filtfilt differ
    # the digital (bilinear) band-pass design differs from the analogue cascade by a few %
    misfit = np.linalg.norm(ours[interior] - reference[interior]) / np.linalg.norm(
        reference[interior])
    assert misfit < 0.08, misfit
    # zero phase: a symmetric pulse stays symmetric about its centre
    pulse = np.exp(-(((np.arange(801) - 400) * dt / 0.2) ** 2))
    filtered = np.asarray(bandpass(jnp.asarray(pulse), dt, 0.5, 4.0))
    np.testing.assert_allclose(filtered[:400], filtered[401:][::-1], atol=1e-6 * np.abs(
        filtered).max())  # fmt: skip


def test_bandpass_float32_and_bad_band():
    x = jnp.ones(256, jnp.float32)
    assert bandpass(x, 0.01, 0.5, 4.0).dtype == jnp.float32
    with pytest.raises(ValueError, match="Nyquist=50"):
        bandpass(x, 0.01, 0.5, 60.0)
    with pytest.raises(ValueError, match="dt must be positive"):
        bandpass(x, 0.0, 0.5, 4.0)


def _covariance_form_weights(xs, xt, variogram):
    """Ordinary kriging in the covariance form C = 1 − γ, solved with NumPy."""
    def cov(a, b):
        d = np.abs(a[:, None] - b[None, :])
        return 1.0 - np.asarray(variogram(jnp.asarray(d)))
    n = len(xs)
    system = np.ones((n + 1, n + 1))
    system[:n, :n] = cov(xs, xs)
    system[n, n] = 0.0
    rhs = np.vstack([cov(xs, xt), np.ones((1, len(xt)))])
    return np.linalg.solve(system, rhs)[:n].T


def test_kriging_weights_match_covariance_form_and_interpolate_exactly():
    xs = np.array([0.0, 130.0, 310.0, 420.0, 700.0])
    xt = np.array([60.0, 365.0, 900.0])
    variogram = Variogram(250.0, 0.0, "exponential")
    ours = np.asarray(kriging_weights(xs, xt, variogram))
    np.testing.assert_allclose(ours, _covariance_form_weights(xs, xt, variogram), atol=1e-10)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-12)
    at_stations = np.asarray(kriging_weights(xs, xs, variogram))
    np.testing.assert_allclose(at_stations, np.eye(len(xs)), atol=1e-9)
    values = np.stack([np.full(7, 3.5), np.arange(7.0)] * 2 + [np.full(7, 3.5)])  # (5, 7)
    np.testing.assert_allclose(np.asarray(krige(xs, values, xs, variogram)), values,
                               atol=1e-8)  # fmt: skip


def test_fit_variogram_recovers_range_of_a_gaussian_random_field():
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(0.0, 3000.0, 40))
    true = Variogram(400.0, 0.0, "gaussian")
    covariance = 1.0 - np.asarray(true(jnp.asarray(np.abs(x[:, None] - x[None, :]))))
    factor = np.linalg.cholesky(covariance + 1e-8 * np.eye(len(x)))
    field = factor @ rng.standard_normal((len(x), 400))
    fitted = fit_variogram(x, field, model="gaussian")
    assert abs(fitted.range / true.range - 1) < 0.15, fitted
    assert fitted.nugget < 0.1, fitted
    with pytest.raises(ValueError, match="at least 3 stations"):
        fit_variogram(x[:2], field[:2])
