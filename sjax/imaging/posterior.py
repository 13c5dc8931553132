"""Log-posterior of layered structure (and source position, noise level) given station
records: the uniform `LayeredSpace` prior and a Gaussian likelihood of band-passed waveforms."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from sjax.imaging.filters import _check_band, bandpass
from sjax.imaging.space import LayeredSpace
from sjax.wave.sources import PointForce

__all__ = ["LayeredPosterior", "layered_posterior"]


class LayeredPosterior(NamedTuple):
    """The pieces a tempered sampler needs (p_η ∝ prior · likelihood^η).

    Attributes:
        logprior: ``θ -> ()`` log prior density (``-inf`` outside the support).
        loglikelihood: ``θ -> ()`` Gaussian log-likelihood of the filtered records; finite
            everywhere (outside the support it is evaluated at the nearest point of the box,
            so gradients stay finite; the prior rejects such θ).
        predict: ``θ -> (n_station, n_component, n_time)`` filtered synthetic records.
        observed: the filtered observed records.
        space: the `LayeredSpace`.
    """

    logprior: Callable
    loglikelihood: Callable
    predict: Callable
    observed: jax.Array
    space: LayeredSpace


def layered_posterior(
    space: LayeredSpace, observed: jax.Array, forward: Callable, source: PointForce, *,
    dt: float, band: tuple[float, float], noise_sigma: float | None = None, corners: int = 4,
    observed_filtered: bool = False,
) -> LayeredPosterior:  # fmt: skip
    """Build the log-posterior of ``θ`` given station records.

    Data and synthetics pass through the same zero-phase Butterworth band-pass (`bandpass`),
    and the residuals are i.i.d. Gaussian with standard deviation σ:
    ``log L = −N/2 log(2π σ²) − Σ r² / (2σ²)``, ``N`` = number of samples.

    Args:
        space: the parameterisation and prior (`layered_space`).
        observed: ``(n_station, n_component, n_time)`` records at spacing ``dt`` (band-passed
            here unless ``observed_filtered``).
        forward: ``(medium, source) -> (n_station, n_component, n_time)`` synthetic records at
            the stations, for example
            ``lambda m, s: layered_sh(m, s, stations, duration=T, dt=dt).traces``.
        source: the source; θ's ``source_x``/``source_z`` replace its position when sampled.
        dt: sample interval in s.
        band: ``(freqmin, freqmax)`` in Hz.
        noise_sigma: fixed σ (trace units), or None to sample ``log_noise`` (then ``space``
            must have it).
        corners: Butterworth order of each half of the band-pass.
        observed_filtered: ``observed`` is already band-passed (e.g. a twin whose noise is
            added after filtering); only the synthetics are filtered then.

    Returns:
        `LayeredPosterior`.
    """
    observed = jnp.asarray(observed)
    if observed.ndim != 3:
        raise ValueError(f"observed must be (n_station, n_component, n_time), got shape "
                         f"{observed.shape}")  # fmt: skip
    if not bool(jnp.all(jnp.isfinite(observed))):
        raise ValueError("observed contains NaN or infinite samples")
    sampled_noise = "log_noise" in space.names
    if noise_sigma is None and not sampled_noise:
        raise ValueError("give noise_sigma, or sample it with layered_space(..., log_noise=...)")
    if noise_sigma is not None and (sampled_noise or not noise_sigma > 0):
        raise ValueError(f"noise_sigma={noise_sigma} must be positive and the space must not "
                         "also sample log_noise")  # fmt: skip
    freqmin, freqmax = band
    _check_band(freqmin, freqmax, dt, corners)
    filtered = (observed if observed_filtered
                else bandpass(observed, dt, freqmin, freqmax, corners=corners))
    n_data = filtered.size
    centre = 0.5 * (space.lower + space.upper)

    def predict(theta):
        traces = forward(space.medium(theta), space.source(theta, source))
        if traces.shape != observed.shape:
            raise ValueError(f"forward returned shape {traces.shape}, observed is "
                             f"{observed.shape}")  # fmt: skip
        return bandpass(traces, dt, freqmin, freqmax, corners=corners)

    def loglikelihood(theta):
        safe = jnp.where(space.inside(theta), theta, jnp.clip(theta, space.lower, space.upper))
        safe = jnp.where(space.inside(safe), safe, centre)
        residual = predict(safe) - filtered
        sigma = space.noise_sigma(safe) if sampled_noise else noise_sigma
        return (-0.5 * jnp.sum(residual**2) / sigma**2
                - n_data * (jnp.log(sigma) + 0.5 * math.log(2.0 * math.pi)))  # fmt: skip

    return LayeredPosterior(space.log_prior, loglikelihood, predict, filtered, space)
