"""Source time functions, point sources and receivers (all differentiable pytrees)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import as_float, is_concrete

__all__ = [
    "Ricker",
    "GaussianDerivative",
    "PointForce",
    "MomentTensorSource",
    "explosion",
    "Receivers",
]


def _require_finite(owner: str, **fields) -> None:
    """ValueError naming the first field of ``owner`` with a NaN or infinite value (concrete
    arrays only; traced values are checked inside `simulate` at run time)."""
    for name, value in fields.items():
        if is_concrete(value) and not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(f"{owner} {name}={np.asarray(value)} must be finite (no NaN or inf)")


def _check_frequency(owner: str, frequency) -> None:
    if is_concrete(frequency) and not np.all(np.asarray(frequency) > 0):
        raise ValueError(f"{owner} frequency={np.asarray(frequency)} Hz must be positive")


class Ricker(eqx.Module):
    """Ricker wavelet (second derivative of a Gaussian, negated) of peak frequency ``frequency``.

    ``s(t) = amplitude · (1 − 2a) e^{−a}``, ``a = (π f (t − origin_time − 1.5/f))²``: the
    wavelet starts (to 1e-8 of its peak) at ``origin_time`` and peaks ``1.5/f`` later.

    Attributes:
        frequency: peak frequency in Hz.
        origin_time: onset time in s (differentiable).
        amplitude: peak value (N/m for a line force, N·m/m for a moment; differentiable).
    """

    frequency: jax.Array
    origin_time: jax.Array
    amplitude: jax.Array

    def __init__(self, frequency, origin_time=0.0, amplitude=1.0):
        self.frequency = as_float(frequency)
        self.origin_time = as_float(origin_time)
        self.amplitude = as_float(amplitude)
        _check_frequency("Ricker", self.frequency)
        _require_finite("Ricker", frequency=self.frequency, origin_time=self.origin_time,
                        amplitude=self.amplitude)  # fmt: skip

    @property
    def lag(self):
        return 1.5 / self.frequency

    @property
    def upper_frequency(self):
        """Frequency (Hz) above which the amplitude spectrum stays below about 3 % of its peak,
        ``2.5 f``: the frequency a grid must resolve."""
        return 2.5 * self.frequency

    def __call__(self, t: jax.Array) -> jax.Array:
        """Wavelet samples at times ``t`` (s), same shape as ``t``."""
        arg = (jnp.pi * self.frequency * (t - self.origin_time - self.lag)) ** 2
        return self.amplitude * (1.0 - 2.0 * arg) * jnp.exp(-arg)


class GaussianDerivative(eqx.Module):
    """Gaussian (``order=0``) or its first derivative (``order=1``), normalised to unit peak.

    ``g(t) = exp(−(π f τ)²)`` with ``τ = t − origin_time − 1.5/f``; ``order=1`` gives
    ``−τ g(t)`` scaled to peak 1. Useful when a smooth, non-zero-mean force pulse is wanted.

    Attributes:
        frequency: characteristic frequency in Hz.
        origin_time: onset time in s.
        amplitude: peak value.
        order: 0 or 1 (static).
    """

    frequency: jax.Array
    origin_time: jax.Array
    amplitude: jax.Array
    order: int = eqx.field(static=True)

    def __init__(self, frequency, origin_time=0.0, amplitude=1.0, order=1):
        if order not in (0, 1):
            raise ValueError(f"order={order} must be 0 or 1")
        self.frequency = as_float(frequency)
        self.origin_time = as_float(origin_time)
        self.amplitude = as_float(amplitude)
        self.order = order
        _check_frequency("GaussianDerivative", self.frequency)
        _require_finite("GaussianDerivative", frequency=self.frequency,
                        origin_time=self.origin_time, amplitude=self.amplitude)  # fmt: skip

    @property
    def upper_frequency(self):
        """Frequency (Hz) above which the amplitude spectrum stays below about 3 % of its peak
        (``2.5 f`` bounds both orders): the frequency a grid must resolve."""
        return 2.5 * self.frequency

    def __call__(self, t: jax.Array) -> jax.Array:
        """Wavelet samples at times ``t`` (s)."""
        tau = t - self.origin_time - 1.5 / self.frequency
        a = jnp.pi * self.frequency
        g = jnp.exp(-((a * tau) ** 2))
        if self.order == 0:
            return self.amplitude * g
        return self.amplitude * (-tau * g) * a * jnp.sqrt(2.0 * jnp.e)


class PointForce(eqx.Module):
    """A point (line, in 2-D) force at ``(x, z)``.

    For SH the force acts along y (out of plane) and ``direction`` is ignored; for P-SV it is
    the unit-free vector ``(f_x, f_z)`` multiplying the wavelet.

    Attributes:
        x, z: position in m (z positive down).
        wavelet: a callable pytree ``t -> amplitude`` (`Ricker`, `GaussianDerivative`).
        direction: ``(2,)`` force direction ``(f_x, f_z)`` for P-SV.
    """

    x: jax.Array
    z: jax.Array
    wavelet: eqx.Module
    direction: jax.Array

    def __init__(self, x, z, wavelet, direction=(0.0, 1.0)):
        self.x, self.z = as_float(x), as_float(z)
        self.wavelet = wavelet
        self.direction = as_float(direction)
        _require_finite("PointForce", x=self.x, z=self.z, direction=self.direction)


class MomentTensorSource(eqx.Module):
    """A 2-D moment-tensor point source (P-SV), injected as the equivalent body force
    ``f_i = −M_ij ∂_j δ(x − x_s)``.

    Attributes:
        x, z: position in m.
        wavelet: source time function of the moment (N·m/m).
        moment: ``(3,)`` = ``(M_xx, M_zz, M_xz)``, unit-free pattern multiplying the wavelet.
    """

    x: jax.Array
    z: jax.Array
    wavelet: eqx.Module
    moment: jax.Array

    def __init__(self, x, z, wavelet, moment=(1.0, 1.0, 0.0)):
        self.x, self.z = as_float(x), as_float(z)
        self.wavelet = wavelet
        self.moment = as_float(moment)
        _require_finite("MomentTensorSource", x=self.x, z=self.z, moment=self.moment)


def explosion(x, z, wavelet) -> MomentTensorSource:
    """An isotropic (explosion) source, ``M = I`` times the wavelet."""
    return MomentTensorSource(x, z, wavelet, moment=(1.0, 1.0, 0.0))


class Receivers(eqx.Module):
    """Receivers at arbitrary positions (interpolated, not snapped to nodes).

    Attributes:
        x: ``(n_receiver,)`` horizontal positions in m.
        z: ``(n_receiver,)`` depths in m (0 = free surface).
    """

    x: jax.Array
    z: jax.Array

    def __init__(self, x, z=None):
        self.x = jnp.atleast_1d(as_float(x))
        self.z = jnp.zeros_like(self.x) if z is None else jnp.atleast_1d(as_float(z))
        if self.x.shape != self.z.shape:
            raise ValueError(f"receiver x {self.x.shape} and z {self.z.shape} shapes differ")
        _require_finite("Receivers", x=self.x, z=self.z)

    @property
    def n_receiver(self) -> int:
        return self.x.shape[0]
