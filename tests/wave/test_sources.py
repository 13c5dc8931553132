"""Wavelets and the interpolation weights that place sources and receivers off the grid."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax.wave import GaussianDerivative, Ricker
from sjax.wave.interpolation import sinc_weights

T = jnp.linspace(0.0, 1.0, 200_001)


def test_ricker_is_minus_second_derivative_of_gaussian_and_peaks_after_lag():
    f0, t0 = 8.0, 0.1
    ricker = Ricker(f0, origin_time=t0, amplitude=2.0)(T)
    assert float(T[jnp.argmax(ricker)]) == pytest.approx(t0 + 1.5 / f0, abs=1e-5)
    assert float(jnp.max(ricker)) == pytest.approx(2.0, rel=1e-9)
    gaussian = GaussianDerivative(f0, origin_time=t0, order=0)(T)
    second = jnp.gradient(jnp.gradient(gaussian, T), T)
    # Ricker ∝ −g''; compare shapes away from the ends (finite-difference error ~1e-6)
    np.testing.assert_allclose(-second / jnp.max(-second), ricker / 2.0, atol=1e-5)
    assert abs(float(ricker[0])) < 1e-7 * 2.0  # starts at origin_time (~1e-8 of the peak)


def test_gaussian_derivative_order_one_is_unit_peak_derivative():
    wavelet = GaussianDerivative(5.0, origin_time=0.05, order=1)
    values = wavelet(T)
    assert float(jnp.max(values)) == pytest.approx(1.0, rel=1e-8)
    derivative = jnp.gradient(GaussianDerivative(5.0, origin_time=0.05, order=0)(T), T)
    np.testing.assert_allclose(values, derivative / jnp.max(derivative), atol=1e-6)
    with pytest.raises(ValueError, match="order=2"):
        GaussianDerivative(5.0, order=2)


@pytest.mark.parametrize("position", [10.0, 10.25, 10.5, 10.9])
def test_sinc_weights_interpolate_smooth_fields(position):
    indices, weights = sinc_weights(jnp.array([position]))
    assert indices.shape == (1, 8)
    assert float(jnp.sum(weights)) == pytest.approx(1.0, abs=2e-3)
    # a band-limited field at 6 nodes per wavelength is interpolated to < 0.5 %
    k = 2 * np.pi / 6.0
    value = jnp.sum(weights[0] * jnp.cos(k * indices[0]))
    assert abs(float(value) - np.cos(k * position)) < 5e-3
    if position == 10.0:  # on a node the stencil is a Kronecker delta
        np.testing.assert_allclose(weights[0], (np.arange(-3, 5) == 0).astype(float), atol=1e-12)


def test_sinc_weights_are_differentiable_in_position():
    grad = jax.grad(lambda x: jnp.sum(sinc_weights(x)[1] * jnp.arange(8.0)))(jnp.array([3.3]))
    assert np.all(np.isfinite(np.asarray(grad)))
    h = 1e-6
    f = lambda x: float(jnp.sum(sinc_weights(jnp.array([x]))[1] * jnp.arange(8.0)))  # noqa: E731
    assert float(grad[0]) == pytest.approx((f(3.3 + h) - f(3.3 - h)) / (2 * h), rel=1e-6)
