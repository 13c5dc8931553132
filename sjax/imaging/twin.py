"""A synthetic twin for layered-structure inversion and wavefield imaging: a true two-layer
basin over bedrock, a buried SH line source, a line of surface stations with held-out points
between them, and noisy band-passed records (the test bed of Kano et al. 2017, in 2-D SH)."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.imaging.filters import bandpass
from sjax.imaging.posterior import LayeredPosterior, layered_posterior
from sjax.imaging.space import LayeredSpace, layered_space
from sjax.media import LayeredMedium
from sjax.wave.layered import layered_sh, layered_sh_sampling
from sjax.wave.sources import PointForce, Receivers, Ricker

__all__ = ["ImagingTwin", "imaging_twin", "TRUE_THETA"]

#: True θ of the twin: thickness_1, thickness_2 (m), velocity_s_1..3 (m/s).
TRUE_THETA = (200.0, 400.0, 400.0, 900.0, 2000.0)
DENSITY = (1800.0, 2000.0, 2400.0)  # kg/m³


class ImagingTwin(NamedTuple):
    """Everything a twin experiment needs.

    Attributes:
        space: the `LayeredSpace` (uniform prior box).
        truth: ``(n_parameter,)`` true θ.
        source: the `PointForce` (known).
        stations: `Receivers` with records.
        targets: `Receivers` at held-out points (no records), between the stations.
        observed: ``(n_station, 1, n_time)`` noisy band-passed records.
        true_targets: ``(n_target, 1, n_time)`` noise-free band-passed wavefield at the targets.
        posterior: the `LayeredPosterior` of θ given ``observed``.
        simulate_targets: ``θ -> (n_target, 1, n_time)`` band-passed wavefield at the targets.
        wavefield: ``(θ, receivers) -> (n_receiver, 1, n_time)`` band-passed wavefield at any
            surface `Receivers` between the source's epicentre and the last station (the
            frequency–wavenumber sampling covers those offsets).
        duration, dt: record length and sample interval in s.
        band: ``(freqmin, freqmax)`` in Hz.
        noise_sigma: σ of the added noise (m).
    """

    space: LayeredSpace
    truth: jax.Array
    source: PointForce
    stations: Receivers
    targets: Receivers
    observed: jax.Array
    true_targets: jax.Array
    posterior: LayeredPosterior
    simulate_targets: Callable
    wavefield: Callable
    duration: float
    dt: float
    band: tuple[float, float]
    noise_sigma: float


def imaging_twin(key: jax.Array, *, n_station: int = 12, spacing: float = 250.0,
                 duration: float = 6.0, dt: float = 0.02, frequency: float = 1.0,
                 band: tuple[float, float] = (0.25, 2.0), noise_level: float = 0.05,
                 max_frequency: float | None = None, dtype=None) -> ImagingTwin:  # fmt: skip
    """Build the twin: records at ``n_station`` surface stations ``spacing`` m apart starting
    300 m from the source's epicentre, and held-out targets halfway between every other pair.

    Noise: i.i.d. Gaussian with σ = ``noise_level`` × the peak filtered amplitude, added after
    the band-pass (the likelihood's noise model), so the posterior is calibrated.

    Args:
        key: PRNG key for the noise.
        n_station: stations on the line (≥ 4).
        spacing: station spacing in m.
        duration, dt: record length and sample interval in s.
        frequency: Ricker peak frequency of the source (Hz).
        band: band-pass corners in Hz, applied to data and synthetics alike.
        noise_level: noise σ relative to the peak filtered amplitude.
        max_frequency: highest frequency (Hz) `layered_sh` computes (the band-pass makes
            1.5 × ``band[1]``, the default, enough: its gain there is 4 %); the wavenumber count
            scales with it. The rest of the sampling is `layered_sh_sampling` for the slowest
            and fastest velocity_s of the prior box, which serves every medium in it.
        dtype: floating dtype of every array (default: JAX's default float). float32 halves
            the cost of a likelihood evaluation and agrees with float64 to about 1e-5.

    Returns:
        `ImagingTwin`.
    """
    if n_station < 4:
        raise ValueError(f"n_station must be at least 4, got {n_station}")
    space = layered_space(
        thickness=[(50.0, 500.0), (100.0, 800.0)],
        velocity_s=[(200.0, 800.0), (500.0, 1600.0), (1200.0, 3000.0)],
        density=DENSITY,
    )  # fmt: skip
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    cast = lambda tree: jax.tree.map(lambda a: jnp.asarray(a, dtype), tree)  # noqa: E731
    space, truth = cast(space), jnp.asarray(TRUE_THETA, dtype)
    source = cast(PointForce(0.0, 1000.0, Ricker(frequency, origin_time=1.2 / frequency)))
    x = 300.0 + spacing * np.arange(n_station)
    stations = cast(Receivers(x))
    targets = cast(Receivers(0.5 * (x[:-1] + x[1:])[::2]))
    # one static frequency-wavenumber sampling that serves every medium of the prior box
    bounding = LayeredMedium([1.0], [2.0 * float(space.upper.max())] * 2,
                             [float(space.lower[space.index("velocity_s_1")]),
                              float(space.upper.max())], [2000.0] * 2)  # fmt: skip
    options = layered_sh_sampling(
        bounding, source, Receivers(np.concatenate([x, [0.0]])), duration=duration, dt=dt,
        max_frequency=1.5 * band[1] if max_frequency is None else max_frequency,
    )  # fmt: skip

    def forward_at(receivers):
        def forward(medium: LayeredMedium, source: PointForce):
            return layered_sh(medium, source, receivers, duration=duration, dt=dt,
                              **options).traces  # fmt: skip

        return forward

    clean = bandpass(forward_at(stations)(space.medium(truth), source), dt, *band)
    noise_sigma = float(noise_level * jnp.max(jnp.abs(clean)))
    observed = clean + noise_sigma * jax.random.normal(key, clean.shape, dtype)
    posterior = layered_posterior(space, observed, forward_at(stations), source, dt=dt,
                                  band=band, noise_sigma=noise_sigma,
                                  observed_filtered=True)  # fmt: skip

    def wavefield(theta, receivers: Receivers):
        traces = forward_at(receivers)(space.medium(theta), space.source(theta, source))
        return bandpass(traces, dt, *band)

    def simulate_targets(theta):
        return wavefield(theta, targets)

    return ImagingTwin(
        space, truth, source, stations, targets, observed, simulate_targets(truth), posterior,
        simulate_targets, wavefield, float(duration), float(dt), tuple(band), noise_sigma,
    )  # fmt: skip
