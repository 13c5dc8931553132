"""Synthetic tectonic tremor, teleseisms and labelled earthquake / tremor / noise records.

Three-component records, components N, E, Z on the **last** axis (``(n, n_samples, 3)``, the
layout of `sjax.detect.spectrogram.SpectrogramClassifier`; note that
`sjax.detect.synthetic.synthetic_records` returns ``(n, 3, n_samples)``). Amplitudes are ground
velocity in an arbitrary unit. Every draw comes from an explicit ``jax.random`` key.

* **coloured noise** (`coloured_noise`): white Gaussian noise shaped to the power spectrum
  ``∝ 1/max(f, corner)^exponent`` — the noise model of `synthetic_records` — zero-mean per trace
  and scaled to unit RMS over samples and components of each record.
* **tremor** (`tremor_waveforms`): a carrier of Gaussian noise band-passed to ``band`` (default
  2–8 Hz) by the zero-phase response ``|B(f)|²`` of a Butterworth band-pass of order
  ``corners`` (what ObsPy's ``filter("bandpass", zerophase=True)`` applies), under an emergent
  envelope: a Tukey window lasting ``duration`` s whose raised-cosine rise and fall each take a
  fraction ``rise`` of it, times a slow random modulation. Horizontal components are
  ``h_to_v`` times the vertical (tremor is S-wave dominated).
* **teleseism** (`teleseism_waveforms`): a long-period carrier (default 0.02–1 Hz, power
  ``∝ 1/f`` inside the band, i.e. equal energy per octave) under an envelope that rises as
  ``1 − e^{−τ/rise_time}``, decays as ``e^{−τ/decay}`` and is tapered to zero over the last tenth
  of ``duration``; Z is ``z_to_h`` times the horizontals.

Both wave trains are ``amplitude × envelope(t) × carrier(t)`` with the carrier at unit RMS over
the three components, so ``amplitude`` is the RMS over components at the envelope's peak (1).

`event_class_records` draws balanced classes `EVENT_CLASSES` = (earthquake, tremor, noise):
earthquakes from `synthetic_records`, tremor = coloured noise + a tremor burst, noise = coloured
noise, a fraction of it with a teleseism (a hard negative: large but long-period). Every record
has noise of unit RMS, so the SNRs below are the signal sizes in noise-RMS units.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import is_concrete
from sjax.detect.spectrogram import EVENT_CLASSES
from sjax.detect.synthetic import _coloured_noise, synthetic_records

__all__ = [
    "EVENT_CLASSES",
    "WaveTrains",
    "ClassRecords",
    "coloured_noise",
    "tremor_waveforms",
    "teleseism_waveforms",
    "event_class_records",
]


class WaveTrains(NamedTuple):
    """Output of `tremor_waveforms` and `teleseism_waveforms` (``n`` records, ``s`` samples).

    Attributes:
        waveforms: ``(n, s, 3)`` ground velocity (arbitrary unit), components N, E, Z last.
        envelope: ``(n, s)`` the envelope in [0, 1] (zero outside the wave train).
        onset: ``(n,)`` start of the wave train in s after the first sample (may be < 0).
        duration: ``(n,)`` length of the wave train in s (the envelope's support).
    """

    waveforms: jax.Array
    envelope: jax.Array
    onset: jax.Array
    duration: jax.Array


class ClassRecords(NamedTuple):
    """Output of `event_class_records` (``n`` records of ``s`` samples).

    Attributes:
        waveforms: ``(n, s, 3)`` records, components N, E, Z last; noise of unit RMS.
        labels: ``(n,)`` int32 class indices in `EVENT_CLASSES` order (0 earthquake, 1 tremor,
            2 noise).
    """

    waveforms: jax.Array
    labels: jax.Array


def _check_count(name: str, value, low: int) -> int:
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def _check_rate(sampling_rate) -> float:
    sampling_rate = float(sampling_rate)
    if not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise ValueError(f"sampling_rate={sampling_rate} Hz must be positive and finite")
    return sampling_rate


def _check_range(name: str, value, low: float = 0.0, high: float = math.inf,
                 strict: bool = True) -> tuple[float, float]:  # fmt: skip
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a (low, high) pair of numbers") from None
    below = (lo <= low) if strict else (lo < low)
    if not (math.isfinite(lo) and math.isfinite(hi)) or below or hi > high or hi < lo:
        op = ">" if strict else ">="
        raise ValueError(f"{name}={value} must be a finite (low, high) range with low <= high, "
                         f"low {op} {low:g} and high <= {high:g}")  # fmt: skip
    return lo, hi


def _check_band(band, sampling_rate: float) -> tuple[float, float]:
    lo, hi = _check_range("band", band)
    nyquist = sampling_rate / 2.0
    if not lo < hi < nyquist:
        raise ValueError(
            f"band={band} Hz must satisfy 0 < low < high < Nyquist ({nyquist:g} Hz at "
            f"sampling_rate={sampling_rate:g} Hz)"
        )
    return lo, hi


def _amplitudes(amplitude, n: int) -> jax.Array:
    amplitude = jnp.broadcast_to(jnp.asarray(amplitude, dtype=jnp.result_type(float)), (n,))
    if is_concrete(amplitude) and not bool(np.all(np.asarray(amplitude) >= 0)):
        raise ValueError(f"amplitude={np.asarray(amplitude)} must be >= 0")
    return amplitude


def _shaped_noise(key, spectrum, n: int, n_samples: int, *, unit_traces: bool) -> jax.Array:
    """Zero-mean Gaussian noise ``(n, 3, n_samples)`` with amplitude spectrum ``spectrum`` (rfft
    bins); each trace scaled to unit RMS if ``unit_traces``, else each record."""
    white = jax.random.normal(key, (n, 3, n_samples))
    shaped = jnp.fft.irfft(jnp.fft.rfft(white, axis=-1) * spectrum, n=n_samples)
    shaped = shaped - jnp.mean(shaped, axis=-1, keepdims=True)
    axes = -1 if unit_traces else (-2, -1)
    return shaped / jnp.sqrt(jnp.mean(shaped**2, axis=axes, keepdims=True))


def _butterworth_power(freqs, low: float, high: float, corners: int) -> jax.Array:
    """``|B(f)|²`` of an order-``corners`` Butterworth band-pass with edges ``low``, ``high``."""
    ratio_low = jnp.where(freqs > 0, low / jnp.where(freqs > 0, freqs, 1.0), jnp.inf)
    return 1.0 / ((1.0 + ratio_low ** (2 * corners)) * (1.0 + (freqs / high) ** (2 * corners)))


def coloured_noise(
    key: jax.Array,
    n: int,
    *,
    n_samples: int,
    sampling_rate: float,
    exponent: float = 1.0,
    corner: float = 0.5,
    dtype=jnp.float32,
) -> jax.Array:
    """Three-component coloured Gaussian noise, the noise model of `synthetic_records`.

    Power spectrum ``∝ 1/max(f, corner)^exponent`` (flat below ``corner``); each trace is
    zero-mean; each record is scaled to unit RMS over its samples and three components.

    Args:
        key: ``jax.random`` key.
        n: number of records.
        n_samples: samples per record (>= 2).
        sampling_rate: Hz.
        exponent: α of the ``1/f^α`` power spectrum (0 = white; >= 0).
        corner: Hz below which the spectrum is flat (> 0).
        dtype: output float dtype.

    Returns:
        ``(n, n_samples, 3)`` noise, components N, E, Z last.

    Raises:
        ValueError: naming the argument, for bad counts, a non-positive sampling rate or
            corner, or a negative exponent.
    """
    n = _check_count("n", n, 1)
    n_samples = _check_count("n_samples", n_samples, 2)
    sampling_rate = _check_rate(sampling_rate)
    if not (math.isfinite(float(exponent)) and float(exponent) >= 0):
        raise ValueError(f"exponent={exponent} must be finite and >= 0")
    if not (math.isfinite(float(corner)) and float(corner) > 0):
        raise ValueError(f"corner={corner} Hz must be positive and finite")
    return _coloured(key, float(sampling_rate), float(exponent), float(corner), n=n,
                     n_samples=n_samples).astype(dtype)  # fmt: skip


@functools.partial(jax.jit, static_argnames=("n", "n_samples"))
def _coloured(key, sampling_rate, exponent, corner, *, n: int, n_samples: int):
    noise = _coloured_noise(key, (n, 3), n_samples, 1.0 / sampling_rate, exponent, corner)
    noise = noise / jnp.sqrt(jnp.mean(noise**2, axis=(-2, -1), keepdims=True))
    return jnp.swapaxes(noise, 1, 2)


def tremor_waveforms(
    key: jax.Array,
    n: int,
    *,
    n_samples: int,
    sampling_rate: float,
    band: tuple[float, float] = (2.0, 8.0),
    duration: tuple[float, float] = (20.0, 120.0),
    centre: tuple[float, float] | None = None,
    rise: tuple[float, float] = (0.2, 0.5),
    modulation: float = 0.3,
    h_to_v: tuple[float, float] = (1.0, 2.0),
    corners: int = 4,
    amplitude: float | jax.Array = 1.0,
    dtype=jnp.float32,
) -> WaveTrains:
    """Emergent band-limited tremor bursts (see the module doc for the model).

    Per record the duration ``D``, the centre time, the rise fraction and the horizontal /
    vertical ratio are uniform draws from their ranges; the onset is ``centre − D/2`` and the
    burst lasts until ``centre + D/2`` (either may lie outside the record). The modulation
    multiplies the Tukey window by ``(1 + m·s(t)) / (1 + m)``, ``s`` the mean of three sinusoids
    of random frequency in 0.02–0.2 Hz and random phase, so the envelope stays in [0, 1].

    Args:
        key: ``jax.random`` key.
        n: number of records.
        n_samples: samples per record.
        sampling_rate: Hz; ``band[1]`` must be below its Nyquist frequency.
        band: (low, high) band-pass edges in Hz.
        duration: range of burst durations in s (> 0).
        centre: range of burst centre times in s after the first sample; default the middle
            half of the record, ``(T/4, 3T/4)`` with ``T = n_samples / sampling_rate``.
        rise: range of the fraction of ``D`` taken by each of the rise and the fall, in
            (0, 0.5].
        modulation: depth ``m`` of the slow amplitude modulation, in [0, 1).
        h_to_v: range of the RMS ratio of each horizontal to the vertical component (> 0).
        corners: Butterworth order (>= 1).
        amplitude: RMS over the three components at the envelope peak, scalar or ``(n,)``.
        dtype: output float dtype.

    Returns:
        `WaveTrains` with ``(n, n_samples, 3)`` waveforms.

    Raises:
        ValueError: naming the argument, for bad counts, band, ranges, ``modulation``,
            ``corners`` or a negative amplitude.
    """
    n = _check_count("n", n, 1)
    n_samples = _check_count("n_samples", n_samples, 2)
    sampling_rate = _check_rate(sampling_rate)
    f_lo, f_hi = _check_band(band, sampling_rate)
    d_lo, d_hi = _check_range("duration", duration)
    total = n_samples / sampling_rate
    c_lo, c_hi = (
        (total / 4.0, 3.0 * total / 4.0)
        if centre is None
        else _check_range("centre", centre, low=-math.inf)
    )
    r_lo, r_hi = _check_range("rise", rise, high=0.5)
    hv_lo, hv_hi = _check_range("h_to_v", h_to_v)
    if not 0.0 <= float(modulation) < 1.0:
        raise ValueError(f"modulation={modulation} must lie in [0, 1)")
    corners = _check_count("corners", corners, 1)
    ranges = (sampling_rate, f_lo, f_hi, d_lo, d_hi, c_lo, c_hi, r_lo, r_hi, hv_lo, hv_hi,
              float(modulation))  # fmt: skip
    out = _tremor(key, _amplitudes(amplitude, n), ranges, n=n, n_samples=n_samples,
                  corners=corners)  # fmt: skip
    return WaveTrains(out[0].astype(dtype), out[1].astype(dtype), *out[2:])


@functools.partial(jax.jit, static_argnames=("n", "n_samples", "corners"))
def _tremor(key, amplitude, ranges, *, n: int, n_samples: int, corners: int):
    """The numerical core of `tremor_waveforms` (arguments already validated)."""
    sampling_rate, f_lo, f_hi, d_lo, d_hi, c_lo, c_hi, r_lo, r_hi, hv_lo, hv_hi, depth = ranges
    key_draws, key_carrier = jax.random.split(key)
    draws = jax.random.uniform(key_draws, (n, 10))  # one RNG call: cheaper to compile
    scale = lambda column, lo, hi: lo + (hi - lo) * draws[:, column]  # noqa: E731
    length = scale(0, d_lo, d_hi)
    onset = scale(1, c_lo, c_hi) - length / 2.0
    rise = scale(2, r_lo, r_hi) * length
    h_to_v = scale(3, hv_lo, hv_hi)
    mod_f = 0.02 + 0.18 * draws[:, 4:7]  # Hz
    mod_phase = 2 * jnp.pi * draws[:, 7:10]

    times = jnp.arange(n_samples) / sampling_rate
    lag = times[None, :] - onset[:, None]  # (n, s)
    edge = jnp.minimum(lag, length[:, None] - lag) / rise[:, None]  # distance to the ends
    tukey = jnp.sin(0.5 * jnp.pi * jnp.clip(edge, 0.0, 1.0)) ** 2  # 0 outside, 1 on the plateau
    wobble = jnp.mean(jnp.sin(2 * jnp.pi * mod_f[:, :, None] * times + mod_phase[:, :, None]),
                      axis=1)  # fmt: skip
    envelope = tukey * (1.0 + depth * wobble) / (1.0 + depth)

    freqs = jnp.fft.rfftfreq(n_samples, 1.0 / sampling_rate)
    carrier = _shaped_noise(key_carrier, _butterworth_power(freqs, f_lo, f_hi, corners), n,
                            n_samples, unit_traces=True)
    gains = jnp.stack([h_to_v, h_to_v, jnp.ones(n)], axis=-1)
    gains = gains / jnp.sqrt(jnp.mean(gains**2, axis=-1, keepdims=True))  # unit RMS over N, E, Z
    waveforms = (amplitude[:, None] * envelope)[:, :, None] * jnp.swapaxes(
        carrier * gains[:, :, None], 1, 2
    )
    return waveforms, envelope, onset, length


def teleseism_waveforms(
    key: jax.Array,
    n: int,
    *,
    n_samples: int,
    sampling_rate: float,
    band: tuple[float, float] = (0.02, 1.0),
    duration: tuple[float, float] = (60.0, 600.0),
    onset: tuple[float, float] | None = None,
    rise_time: tuple[float, float] = (2.0, 10.0),
    z_to_h: tuple[float, float] = (0.5, 2.0),
    corners: int = 4,
    amplitude: float | jax.Array = 1.0,
    dtype=jnp.float32,
) -> WaveTrains:
    """Long-period, long-duration teleseismic wave trains (see the module doc for the model).

    Per record the duration ``D``, onset, rise time and Z/H ratio are uniform draws; the decay
    time is ``D / 3``. The envelope is scaled so that its peak is exactly 1 (when, as with the
    defaults, the peak ``rise_time · ln(1 + D / (3 rise_time))`` precedes the final taper).

    Args:
        key: ``jax.random`` key.
        n: number of records.
        n_samples: samples per record.
        sampling_rate: Hz; ``band[1]`` must be below its Nyquist frequency.
        band: (low, high) band-pass edges in Hz (power ``∝ 1/f`` in between).
        duration: range of wave-train durations in s (> 0).
        onset: range of onsets in s after the first sample; default ``(0, T/2)``,
            ``T = n_samples / sampling_rate``.
        rise_time: range of the envelope rise times in s (> 0).
        z_to_h: range of the RMS ratio of the vertical to each horizontal component (> 0).
        corners: Butterworth order (>= 1).
        amplitude: RMS over the three components at the envelope peak, scalar or ``(n,)``.
        dtype: output float dtype.

    Returns:
        `WaveTrains` with ``(n, n_samples, 3)`` waveforms.

    Raises:
        ValueError: naming the argument, for bad counts, band, ranges, ``corners`` or a
            negative amplitude.
    """
    n = _check_count("n", n, 1)
    n_samples = _check_count("n_samples", n_samples, 2)
    sampling_rate = _check_rate(sampling_rate)
    f_lo, f_hi = _check_band(band, sampling_rate)
    d_lo, d_hi = _check_range("duration", duration)
    o_lo, o_hi = (
        (0.0, n_samples / sampling_rate / 2.0)
        if onset is None
        else _check_range("onset", onset, low=-math.inf)
    )
    t_lo, t_hi = _check_range("rise_time", rise_time)
    zh_lo, zh_hi = _check_range("z_to_h", z_to_h)
    corners = _check_count("corners", corners, 1)
    ranges = (sampling_rate, f_lo, f_hi, d_lo, d_hi, o_lo, o_hi, t_lo, t_hi, zh_lo, zh_hi)
    out = _teleseism(key, _amplitudes(amplitude, n), ranges, n=n, n_samples=n_samples,
                     corners=corners)  # fmt: skip
    return WaveTrains(out[0].astype(dtype), out[1].astype(dtype), *out[2:])


@functools.partial(jax.jit, static_argnames=("n", "n_samples", "corners"))
def _teleseism(key, amplitude, ranges, *, n: int, n_samples: int, corners: int):
    """The numerical core of `teleseism_waveforms` (arguments already validated)."""
    sampling_rate, f_lo, f_hi, d_lo, d_hi, o_lo, o_hi, t_lo, t_hi, zh_lo, zh_hi = ranges
    key_draws, key_carrier = jax.random.split(key)
    draws = jax.random.uniform(key_draws, (n, 4))  # one RNG call: cheaper to compile
    scale = lambda column, lo, hi: lo + (hi - lo) * draws[:, column]  # noqa: E731
    length = scale(0, d_lo, d_hi)
    onset = scale(1, o_lo, o_hi)
    rise = scale(2, t_lo, t_hi)[:, None]
    z_to_h = scale(3, zh_lo, zh_hi)
    decay = length[:, None] / 3.0

    times = jnp.arange(n_samples) / sampling_rate
    lag = times[None, :] - onset[:, None]
    tau = jnp.clip(lag, 0.0, None)
    shape = (1.0 - jnp.exp(-tau / rise)) * jnp.exp(-tau / decay)
    peak = decay / (rise + decay) * (rise / (rise + decay)) ** (rise / decay)  # max of `shape`
    tail = jnp.clip((length[:, None] - lag) / (0.1 * length[:, None]), 0.0, 1.0)
    envelope = jnp.where((lag > 0) & (lag < length[:, None]),
                         shape / peak * jnp.sin(0.5 * jnp.pi * tail) ** 2, 0.0)  # fmt: skip

    freqs = jnp.fft.rfftfreq(n_samples, 1.0 / sampling_rate)
    spectrum = jnp.sqrt(_butterworth_power(freqs, f_lo, f_hi, corners)) * jnp.where(
        freqs > 0, jnp.where(freqs > 0, freqs, 1.0) ** -0.5, 0.0
    )
    carrier = _shaped_noise(key_carrier, spectrum, n, n_samples, unit_traces=True)
    gains = jnp.stack([jnp.ones(n), jnp.ones(n), z_to_h], axis=-1)
    gains = gains / jnp.sqrt(jnp.mean(gains**2, axis=-1, keepdims=True))
    waveforms = (amplitude[:, None] * envelope)[:, :, None] * jnp.swapaxes(
        carrier * gains[:, :, None], 1, 2
    )
    return waveforms, envelope, onset, length


def event_class_records(
    key: jax.Array,
    n: int,
    *,
    duration: float = 60.0,
    sampling_rate: float = 100.0,
    snr: tuple[float, float] = (10.0, 30.0),
    tremor_snr: tuple[float, float] = (1.0, 3.0),
    tremor_duration: tuple[float, float] = (20.0, 120.0),
    teleseism_fraction: float = 0.3,
    teleseism_snr: tuple[float, float] = (3.0, 20.0),
    noise_exponent: float = 1.0,
    noise_corner: float = 0.5,
    dtype=jnp.float32,
) -> ClassRecords:
    """Balanced, shuffled earthquake / tremor / noise records for `SpectrogramClassifier`.

    Class counts are ``ceil``/``floor`` of ``n / 3`` (they differ by at most one). Per class:

    * **earthquake** (0): `synthetic_records` with P onset uniform in ``(0.05 T, 0.4 T)``, S − P
      in ``(min(2.5, 0.1 T), min(10, 0.3 T))`` s and peak-signal / noise-RMS SNR uniform in
      ``snr``, rescaled so its noise has unit RMS;
    * **tremor** (1): `coloured_noise` + `tremor_waveforms` (default centre and shape) with
      durations in ``tremor_duration`` and peak-envelope RMS uniform in ``tremor_snr``;
    * **noise** (2): `coloured_noise`, with probability ``teleseism_fraction`` plus a
      `teleseism_waveforms` train of peak-envelope RMS uniform in ``teleseism_snr``.

    All classes share the noise model (``noise_exponent``, ``noise_corner``).

    Args:
        key: ``jax.random`` key.
        n: number of records (>= 3).
        duration: record length T in s.
        sampling_rate: Hz (> 32 Hz: `synthetic_records` needs a Nyquist above 16 Hz).
        snr, tremor_snr, teleseism_snr: (low, high) ranges of the signal sizes (> 0).
        tremor_duration: (low, high) range of the tremor burst lengths in s.
        teleseism_fraction: probability that a noise record holds a teleseism, in [0, 1].
        noise_exponent, noise_corner: the `coloured_noise` spectrum.
        dtype: output float dtype.

    Returns:
        `ClassRecords` with ``(n, round(duration · sampling_rate), 3)`` waveforms, int32 labels.

    Raises:
        ValueError: naming the argument, for ``n < 3``, a non-positive duration, bad ranges or
            fraction, and the cases of the generators used.
    """
    n = _check_count("n", n, 3)
    sampling_rate = _check_rate(sampling_rate)
    duration = float(duration)
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration={duration} s must be positive and finite")
    n_samples = int(round(duration * sampling_rate))
    snr_lo, snr_hi = _check_range("snr", snr)
    tr_lo, tr_hi = _check_range("tremor_snr", tremor_snr)
    te_lo, te_hi = _check_range("teleseism_snr", teleseism_snr)
    if not 0.0 <= float(teleseism_fraction) <= 1.0:
        raise ValueError(f"teleseism_fraction={teleseism_fraction} must lie in [0, 1]")
    counts = tuple(n // 3 + (1 if c < n % 3 else 0) for c in range(3))
    keys = jax.random.split(key, 7)
    quake_snr, tremor_amplitude, tele_amplitude = _class_draws(
        keys[0], (snr_lo, snr_hi, tr_lo, tr_hi, te_lo, te_hi, float(teleseism_fraction)),
        counts=counts,
    )  # fmt: skip
    work = jnp.result_type(float)
    noise_kw = dict(n_samples=n_samples, sampling_rate=sampling_rate, exponent=noise_exponent,
                    corner=noise_corner, dtype=work)  # fmt: skip
    quakes = synthetic_records(
        keys[1], counts[0], n_samples=n_samples, sampling_rate=sampling_rate, snr=quake_snr,
        p_onset=(0.05 * duration, 0.4 * duration),
        s_minus_p=(min(2.5, 0.1 * duration), min(10.0, 0.3 * duration)),
        noise_exponent=noise_exponent, noise_corner=noise_corner, dtype=work,
    )  # fmt: skip
    tremor = tremor_waveforms(
        keys[2], counts[1], n_samples=n_samples, sampling_rate=sampling_rate,
        duration=tremor_duration, amplitude=tremor_amplitude, dtype=work,
    )  # fmt: skip
    teleseism = teleseism_waveforms(keys[3], counts[2], n_samples=n_samples,
                                    sampling_rate=sampling_rate, amplitude=tele_amplitude,
                                    dtype=work)  # fmt: skip
    waveforms, labels = _assemble(
        keys[4], quakes.waveforms, quakes.noise,
        coloured_noise(keys[5], counts[1], **noise_kw) + tremor.waveforms,
        coloured_noise(keys[6], counts[2], **noise_kw) + teleseism.waveforms,
    )  # fmt: skip
    return ClassRecords(waveforms=waveforms.astype(dtype), labels=labels)


@functools.partial(jax.jit, static_argnames=("counts",))
def _class_draws(key, ranges, *, counts: tuple[int, int, int]):
    """Earthquake SNRs, tremor amplitudes and teleseism amplitudes (0 where none) of
    `event_class_records`, from one uniform draw."""
    snr_lo, snr_hi, tr_lo, tr_hi, te_lo, te_hi, fraction = ranges
    draws = jax.random.uniform(key, (max(counts), 4))
    quake_snr = snr_lo + (snr_hi - snr_lo) * draws[: counts[0], 0]
    tremor_amplitude = tr_lo + (tr_hi - tr_lo) * draws[: counts[1], 1]
    has_teleseism = draws[: counts[2], 2] < fraction
    tele_amplitude = jnp.where(has_teleseism, te_lo + (te_hi - te_lo) * draws[: counts[2], 3], 0)
    return quake_snr, tremor_amplitude, tele_amplitude


@jax.jit
def _assemble(key, quake_waveforms, quake_noise, tremor, noise):
    """Concatenate the classes (earthquakes rescaled to unit noise RMS, channels last), label
    and shuffle them."""
    noise_rms = jnp.sqrt(jnp.mean(quake_noise**2, axis=(1, 2), keepdims=True))
    earthquake = jnp.swapaxes(quake_waveforms / noise_rms, 1, 2)
    waveforms = jnp.concatenate([earthquake, tremor, noise])
    labels = jnp.concatenate([jnp.full(len(x), c, jnp.int32)
                              for c, x in enumerate((earthquake, tremor, noise))])  # fmt: skip
    order = jax.random.permutation(key, len(labels))
    return waveforms[order], labels[order]
