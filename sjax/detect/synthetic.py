"""Synthetic three-component local-earthquake records and labelled GPD training windows.

A record is coloured noise plus a P and an S arrival (ground velocity, arbitrary unit):

* **noise**: independent white Gaussian noise per component shaped in the frequency domain to a
  power spectrum ``∝ 1/max(f, f_min)^α`` (``α = noise_exponent``; flat below ``f_min`` so the
  record has no huge random drift), then scaled to the requested SNR;
* **source pulse**: far-field ground velocity of a Brune (ω²) source,
  ``v(t) ∝ (1 − ω_c t) e^{−ω_c t} H(t)``, spectrum ``i f/f_c / (1 + i f/f_c)²`` — causal;
* **attenuation**: the causal, minimum-phase t* operator with amplitude ``exp(−π f t*)``, its
  phase obtained from the amplitude by the (homomorphic) Hilbert transform, so nothing arrives
  before the onset; ``t*_S = 4 t*_P`` (Q_P = 9/4 Q_S and t_S = √3 t_P) and ``f_c,S = f_c,P/1.5``;
* **polarisation**: ray at incidence angle ``i`` (from vertical) and random back-azimuth: P moves
  along the ray (``Z = cos i``, horizontal radial ``sin i``), so it is strongest on Z; S moves in a
  random direction perpendicular to the ray (mix of SV = (radial ``cos i``, Z ``−sin i``) and SH
  = transverse), so it is strongest on the horizontals; S is ``s_to_p_ratio`` times larger;
* **coda**: after each arrival, noise filtered with that arrival's spectrum under an exponential
  envelope of decay time ``coda_decay`` s, relative size ``coda_ratio``, random polarisation.

Components are ordered N, E, Z (`COMPONENTS`, the GPD order); records are ``(n, 3, samples)``.
Every draw comes from an explicit ``jax.random`` key, so a key fixes the output.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import is_concrete
from sjax.detect.gpd import CLASSES, COMPONENTS, SAMPLING_RATE, WINDOW_SAMPLES

__all__ = [
    "COMPONENTS",
    "SyntheticRecords",
    "GPDWindows",
    "ContinuousRecord",
    "synthetic_continuous",
    "measure_snr",
    "synthetic_records",
    "gpd_training_windows",
]

_T_STAR_S_OVER_P = 4.0
_FC_P_OVER_S = 1.5


class SyntheticRecords(NamedTuple):
    """Output of `synthetic_records` (shapes for ``n`` records of ``s`` samples).

    Attributes:
        waveforms: ``(n, 3, s)`` signal + noise, components N, E, Z.
        signal: ``(n, 3, s)`` the noise-free P + S part (pulses and codas).
        noise: ``(n, 3, s)`` the scaled noise part (``waveforms = signal + noise``).
        p_index: ``(n,)`` int32 sample index of the P onset.
        s_index: ``(n,)`` int32 sample index of the S onset (always > ``p_index``).
        snr: ``(n,)`` the SNR of each record as defined in `measure_snr`.
        sampling_rate: samples per second (Hz), a Python float.
    """

    waveforms: jax.Array
    signal: jax.Array
    noise: jax.Array
    p_index: jax.Array
    s_index: jax.Array
    snr: jax.Array
    sampling_rate: float


class GPDWindows(NamedTuple):
    """Labelled windows for GPD training (``m`` windows).

    Attributes:
        windows: ``(m, 400, 3)`` raw (un-normalised) windows, channels last (N, E, Z).
        labels: ``(m,)`` int32 class indices in `sjax.detect.gpd.CLASSES` order (0 P, 1 S,
            2 noise).
        centre: ``(m,)`` int32 index in the source record of the window's sample 200.
        record: ``(m,)`` int32 index of the source record.
    """

    windows: jax.Array
    labels: jax.Array
    centre: jax.Array
    record: jax.Array


def measure_snr(signal: jax.Array, noise: jax.Array) -> jax.Array:
    """The SNR used throughout `sjax.detect.synthetic` (an amplitude ratio, not dB).

    ``SNR = max_{c,t} |signal_c(t)| / sqrt(mean_{c,t} noise_c(t)²)``: peak absolute noise-free
    signal over all three components and samples, divided by the root-mean-square of the noise
    over all components and samples of the same record.

    Args:
        signal, noise: ``(..., 3, samples)`` arrays.

    Returns:
        ``(...)`` SNR per record.
    """
    peak = jnp.max(jnp.abs(signal), axis=(-2, -1))
    rms = jnp.sqrt(jnp.mean(noise**2, axis=(-2, -1)))
    return peak / rms


def _check_range(name: str, value, low: float = 0.0, strict: bool = True) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    bad = (lo <= low or hi <= low) if strict else (lo < low or hi < low)
    if not (math.isfinite(lo) and math.isfinite(hi)) or bad or hi < lo:
        op = ">" if strict else ">="
        raise ValueError(f"{name}={value} must be a finite (low, high) range with low <= high "
                         f"and both {op} {low}")  # fmt: skip
    return lo, hi


def _min_phase_attenuation(freqs: jax.Array, t_star: jax.Array, n_fft: int) -> jax.Array:
    """rfft of the causal minimum-phase operator with amplitude ``exp(−π f t*)``.

    Homomorphic method: the real cepstrum of the log-amplitude is folded onto positive quefrency,
    which turns the zero-phase log spectrum into the minimum-phase one.
    """
    cepstrum = jnp.fft.irfft(-jnp.pi * freqs * t_star, n=n_fft)
    fold = np.zeros(n_fft)
    fold[0] = 1.0
    fold[1 : (n_fft + 1) // 2] = 2.0
    if n_fft % 2 == 0:
        fold[n_fft // 2] = 1.0
    return jnp.exp(jnp.fft.rfft(cepstrum * fold, n=n_fft))


def _brune_velocity(freqs: jax.Array, corner: jax.Array) -> jax.Array:
    """Spectrum of the Brune far-field velocity pulse, ``(i f/f_c) / (1 + i f/f_c)²``."""
    z = 1j * freqs / corner
    return z / (1.0 + z) ** 2


def synthetic_records(
    key: jax.Array,
    n: int,
    *,
    n_samples: int = 3000,
    sampling_rate: float = 100.0,
    snr: float | jax.Array = 10.0,
    p_onset: tuple[float, float] = (6.0, 12.0),
    s_minus_p: tuple[float, float] = (2.5, 10.0),
    s_minus_p_scale: str = "linear",
    corner_frequency: tuple[float, float] = (2.0, 8.0),
    t_star_p: tuple[float, float] = (0.005, 0.03),
    incidence: tuple[float, float] = (5.0, 40.0),
    s_to_p_ratio: tuple[float, float] = (2.0, 5.0),
    coda_ratio: float = 0.15,
    coda_decay: tuple[float, float] = (0.5, 2.0),
    noise_exponent: float = 1.0,
    noise_corner: float = 0.5,
    dtype=jnp.float32,
) -> SyntheticRecords:
    """Synthetic three-component records with one P and one S arrival each (see module doc).

    Per record, onsets, corner frequency, t*, incidence angle, back-azimuth, S polarisation,
    S/P ratio and coda decay are drawn uniformly from the given ranges. Noise is scaled so that
    each record's `measure_snr` equals ``snr`` (to round-off).

    Args:
        key: ``jax.random`` key.
        n: number of records.
        n_samples: samples per record.
        sampling_rate: Hz; its Nyquist frequency must exceed twice the largest corner frequency.
        snr: amplitude SNR (`measure_snr`), scalar or ``(n,)``; must be > 0.
        p_onset: range of P onset times in s after the first sample.
        s_minus_p: range of S − P times in s (> 0).
        s_minus_p_scale: ``"linear"`` draws S − P uniformly, ``"log"`` log-uniformly (as many
            records with 0.3–3 s as with 3–30 s).
        corner_frequency: range of the P corner frequency f_c in Hz (S uses f_c / 1.5).
        t_star_p: range of the P attenuation t* in s (S uses 4 t*).
        incidence: range of incidence angles at the station in degrees from vertical, in [0, 90].
        s_to_p_ratio: range of S/P peak-amplitude ratios of the direct pulses.
        coda_ratio: coda amplitude relative to the arrival's pulse amplitude (>= 0).
        coda_decay: range of coda envelope decay times in s.
        noise_exponent: α of the noise power spectrum ``1/f^α`` (0 = white).
        noise_corner: f_min in Hz below which the noise spectrum is flat.
        dtype: output float dtype.

    Returns:
        `SyntheticRecords` with ``(n, 3, n_samples)`` arrays; onsets are whole samples.

    Raises:
        ValueError: naming the argument, for a non-positive or too low sampling rate, bad counts
            or lengths, records too short for the onsets, bad ranges or a non-positive SNR.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples={n_samples!r} must be an integer >= 2")
    sampling_rate = float(sampling_rate)
    if not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise ValueError(f"sampling_rate={sampling_rate} Hz must be positive and finite")
    p_lo, p_hi = _check_range("p_onset", p_onset, strict=False)
    sp_lo, sp_hi = _check_range("s_minus_p", s_minus_p)
    if s_minus_p_scale not in ("linear", "log"):
        raise ValueError(f"s_minus_p_scale={s_minus_p_scale!r} must be 'linear' or 'log'")
    fc_lo, fc_hi = _check_range("corner_frequency", corner_frequency)
    ts_lo, ts_hi = _check_range("t_star_p", t_star_p, strict=False)
    inc_lo, inc_hi = _check_range("incidence", incidence, strict=False)
    if inc_hi > 90.0:
        raise ValueError(f"incidence={incidence} degrees must lie in [0, 90]")
    ratio_lo, ratio_hi = _check_range("s_to_p_ratio", s_to_p_ratio)
    decay_lo, decay_hi = _check_range("coda_decay", coda_decay)
    if not coda_ratio >= 0:
        raise ValueError(f"coda_ratio={coda_ratio} must be >= 0")
    if not noise_corner > 0:
        raise ValueError(f"noise_corner={noise_corner} Hz must be positive")
    nyquist = sampling_rate / 2.0
    if nyquist <= 2.0 * fc_hi:
        raise ValueError(
            f"sampling_rate={sampling_rate:g} Hz is too low: its Nyquist {nyquist:g} Hz must "
            f"exceed 2 × the largest corner_frequency ({fc_hi:g} Hz)"
        )
    duration = n_samples / sampling_rate
    if p_hi + sp_hi >= duration:
        raise ValueError(
            f"n_samples={n_samples} ({duration:g} s at {sampling_rate:g} Hz) is too short: the "
            f"latest S onset is at p_onset[1] + s_minus_p[1] = {p_hi + sp_hi:g} s"
        )
    snr = jnp.broadcast_to(jnp.asarray(snr, dtype=dtype), (n,))
    if is_concrete(snr) and not bool(np.all(np.asarray(snr) > 0)):
        raise ValueError(f"snr={np.asarray(snr)} must be > 0 (an amplitude ratio, not dB)")

    ranges = (
        sampling_rate, p_lo, p_hi, sp_lo, sp_hi, fc_lo, fc_hi, ts_lo, ts_hi, inc_lo, inc_hi,
        ratio_lo, ratio_hi, decay_lo, decay_hi, coda_ratio, noise_exponent, noise_corner,
    )
    signal, noise, p_index, s_index = _generate(
        key, snr, tuple(float(v) for v in ranges), n=int(n), n_samples=int(n_samples),
        log_s_minus_p=s_minus_p_scale == "log",
    )
    signal, noise = signal.astype(dtype), noise.astype(dtype)
    return SyntheticRecords(
        waveforms=signal + noise,
        signal=signal,
        noise=noise,
        p_index=p_index,
        s_index=s_index,
        snr=measure_snr(signal, noise),
        sampling_rate=sampling_rate,
    )


def _coloured_noise(key, shape, n_samples, dt, exponent, corner):
    """Zero-mean Gaussian noise ``shape + (n_samples,)`` with amplitude spectrum
    ∝ max(f, f_min)^(−α/2) (power ∝ 1/f^α), unnormalised."""
    white = jax.random.normal(key, tuple(shape) + (n_samples,))
    freqs = jnp.fft.rfftfreq(n_samples, dt)
    shaping = jnp.maximum(freqs, corner) ** (-exponent / 2.0)
    noise = jnp.fft.irfft(jnp.fft.rfft(white, axis=-1) * shaping, n=n_samples)
    return noise - jnp.mean(noise, axis=-1, keepdims=True)


@functools.partial(jax.jit, static_argnames=("n", "n_samples", "log_s_minus_p"))
def _generate(key, snr, ranges, *, n: int, n_samples: int, log_s_minus_p: bool = False):
    """The numerical core of `synthetic_records` (arguments already validated)."""
    (
        sampling_rate, p_lo, p_hi, sp_lo, sp_hi, fc_lo, fc_hi, ts_lo, ts_hi, inc_lo, inc_hi,
        ratio_lo, ratio_hi, decay_lo, decay_hi, coda_ratio, noise_exponent, noise_corner,
    ) = ranges
    keys = jax.random.split(key, 12)
    u = lambda k, lo, hi: jax.random.uniform(k, (n,), minval=lo, maxval=hi)  # noqa: E731
    dt = 1.0 / sampling_rate
    p_index = jnp.round(u(keys[0], p_lo, p_hi) * sampling_rate).astype(jnp.int32)
    s_minus_p = (jnp.exp(u(keys[1], jnp.log(sp_lo), jnp.log(sp_hi))) if log_s_minus_p
                 else u(keys[1], sp_lo, sp_hi))  # fmt: skip
    s_index = p_index + jnp.maximum(
        1, jnp.round(s_minus_p * sampling_rate).astype(jnp.int32)
    )
    corner_p = u(keys[2], fc_lo, fc_hi)
    t_star = u(keys[3], ts_lo, ts_hi)
    inc = jnp.deg2rad(u(keys[4], inc_lo, inc_hi))
    baz = u(keys[5], 0.0, 2 * jnp.pi)
    psi = u(keys[6], 0.0, 2 * jnp.pi)  # S polarisation angle between SV and SH
    s_ratio = u(keys[7], ratio_lo, ratio_hi)
    decay = u(keys[8], decay_lo, decay_hi)

    # unit polarisation vectors in (N, E, Z)
    radial = jnp.stack([jnp.cos(baz), jnp.sin(baz), jnp.zeros(n)], axis=-1)
    transverse = jnp.stack([-jnp.sin(baz), jnp.cos(baz), jnp.zeros(n)], axis=-1)
    up = jnp.array([0.0, 0.0, 1.0])
    sin_i, cos_i = jnp.sin(inc)[:, None], jnp.cos(inc)[:, None]
    pol_p = sin_i * radial + cos_i * up
    sv = cos_i * radial - sin_i * up
    pol_s = jnp.cos(psi)[:, None] * sv + jnp.sin(psi)[:, None] * transverse

    # pulses by FFT on a doubled grid (no wrap-around), causal by construction
    n_fft = 2 * n_samples
    freqs = jnp.fft.rfftfreq(n_fft, dt)
    shift = lambda idx: jnp.exp(-2j * jnp.pi * freqs * (idx[:, None] * dt))  # noqa: E731
    spec_p = _brune_velocity(freqs, corner_p[:, None]) * jax.vmap(
        lambda ts: _min_phase_attenuation(freqs, ts, n_fft)
    )(t_star)
    spec_s = _brune_velocity(freqs, corner_p[:, None] / _FC_P_OVER_S) * jax.vmap(
        lambda ts: _min_phase_attenuation(freqs, ts, n_fft)
    )(_T_STAR_S_OVER_P * t_star)
    to_time = lambda spec: jnp.fft.irfft(spec, n=n_fft)[..., :n_samples]  # noqa: E731
    # the sampled spectra are band-limited, so the onset jump rings (Gibbs) a few per cent
    # before the onset; the continuous pulse is causal, so those samples are set to zero
    sample = jnp.arange(n_samples)
    causal = lambda x, onset: jnp.where(sample[None, :] >= onset[:, None], x, 0.0)  # noqa: E731
    pulse_p = causal(to_time(spec_p * shift(p_index)), p_index)
    pulse_s = causal(to_time(spec_s * shift(s_index)), s_index)
    peak = lambda x: jnp.max(jnp.abs(x), axis=-1, keepdims=True)  # noqa: E731
    pulse_p = pulse_p / peak(pulse_p)
    pulse_s = s_ratio[:, None] * pulse_s / peak(pulse_s)

    # codas: 3-component noise with the arrival's spectrum under an exponential envelope
    times = jnp.arange(n_samples) * dt

    def coda(k, spec, onset, amplitude):
        white = jax.random.normal(k, (n, 3, n_fft))
        shaped = jnp.fft.irfft(jnp.fft.rfft(white, axis=-1) * spec[:, None, :], n=n_fft)
        shaped = shaped[..., :n_samples]
        shaped = shaped / jnp.sqrt(jnp.mean(shaped**2, axis=(-2, -1), keepdims=True))
        lag = times[None, :] - (onset * dt)[:, None]
        envelope = jnp.where(lag >= 0, jnp.exp(-jnp.maximum(lag, 0) / decay[:, None]), 0.0)
        # unit-RMS noise peaks near 3, so /3 makes the coda peak ≈ coda_ratio × amplitude
        return coda_ratio * amplitude[:, None, None] * envelope[:, None, :] * shaped / 3.0

    signal = (
        pol_p[:, :, None] * pulse_p[:, None, :]
        + pol_s[:, :, None] * pulse_s[:, None, :]
        + coda(keys[9], spec_p, p_index, jnp.ones(n))
        + coda(keys[10], spec_s, s_index, s_ratio)
    )

    noise = _coloured_noise(keys[11], (n, 3), n_samples, dt, noise_exponent, noise_corner)
    unit_snr = measure_snr(signal, noise)  # SNR with the unscaled noise
    noise = noise * (unit_snr / snr)[:, None, None]

    return signal, noise, p_index, s_index


def gpd_training_windows(
    key: jax.Array,
    records: SyntheticRecords,
    *,
    jitter: int = 0,
    noise_margin: int = 50,
) -> GPDWindows:
    """Cut labelled 400-sample GPD windows from `synthetic_records` output.

    For each record three windows: P-centred (label 0), S-centred (label 1) and a noise window
    (label 2) lying entirely before ``p_index − noise_margin`` at a random position. A centred
    window has the arrival at its sample 200 (``centre``), shifted by a uniform random integer in
    ``[−jitter, jitter]`` when ``jitter > 0``. Windows are ordered P for all records, then S,
    then noise.

    Args:
        key: ``jax.random`` key (noise-window positions and jitter).
        records: `SyntheticRecords` sampled at 100 Hz.
        jitter: maximum shift in samples of the arrival from the window centre (0–199).
        noise_margin: samples kept free between a noise window's end and the P onset (>= 0).

    Returns:
        `GPDWindows` with ``3 n`` raw windows ``(3 n, 400, 3)`` (channels last, N/E/Z).

    Raises:
        ValueError: for a sampling rate other than 100 Hz, a bad ``jitter`` or ``noise_margin``,
            or records whose onsets leave no room for the windows.
    """
    if float(records.sampling_rate) != SAMPLING_RATE:
        raise ValueError(
            f"records.sampling_rate={records.sampling_rate:g} Hz: GPD windows are defined at "
            f"{SAMPLING_RATE:g} Hz; resample first"
        )
    half = WINDOW_SAMPLES // 2
    if not isinstance(jitter, (int, np.integer)) or not 0 <= jitter < half:
        raise ValueError(f"jitter={jitter!r} must be an integer in [0, {half - 1}] samples")
    if not isinstance(noise_margin, (int, np.integer)) or noise_margin < 0:
        raise ValueError(f"noise_margin={noise_margin!r} must be a non-negative integer")
    waveforms = records.waveforms
    n, _, n_samples = waveforms.shape
    p_index, s_index = records.p_index, records.s_index
    if is_concrete(p_index, s_index):
        p_np, s_np = np.asarray(p_index), np.asarray(s_index)
        lowest = max(WINDOW_SAMPLES + noise_margin, half + jitter)
        if p_np.min() < lowest:
            raise ValueError(
                f"records.p_index min {p_np.min()} < {lowest}: no room before P for a noise "
                f"window ({WINDOW_SAMPLES} samples + noise_margin {noise_margin}) or the P window"
            )
        if s_np.max() + half + jitter > n_samples:
            raise ValueError(
                f"records.s_index max {s_np.max()} leaves no room for an S window in "
                f"{n_samples} samples"
            )

    return _cut_windows(
        key, waveforms, p_index, s_index, jitter=int(jitter), noise_margin=int(noise_margin)
    )


@functools.partial(jax.jit, static_argnames=("jitter", "noise_margin"))
def _cut_windows(key, waveforms, p_index, s_index, *, jitter: int, noise_margin: int):
    """The numerical core of `gpd_training_windows` (arguments already validated)."""
    n = waveforms.shape[0]
    half = WINDOW_SAMPLES // 2
    k_jitter, k_noise = jax.random.split(key)
    shifts = jax.random.randint(k_jitter, (2, n), -jitter, jitter + 1)
    latest_start = p_index - noise_margin - WINDOW_SAMPLES  # >= 0 (checked above)
    noise_start = jax.random.randint(k_noise, (n,), 0, latest_start + 1)
    starts = jnp.concatenate(
        [p_index + shifts[0] - half, s_index + shifts[1] - half, noise_start]
    ).astype(jnp.int32)
    record = jnp.tile(jnp.arange(n, dtype=jnp.int32), 3)
    sample = starts[:, None] + jnp.arange(WINDOW_SAMPLES)  # (3n, 400)
    windows = waveforms[record[:, None], :, sample]  # one gather -> (3n, 400, 3), channels last
    labels = jnp.repeat(jnp.arange(len(CLASSES), dtype=jnp.int32), n)
    return GPDWindows(windows=windows, labels=labels, centre=starts + half, record=record)


class ContinuousRecord(NamedTuple):
    """Output of `synthetic_continuous`.

    Attributes:
        stream: ObsPy `Stream` of three traces (channels ``HHN``, ``HHE``, ``HHZ``) at 100 Hz.
        p_times: list of `obspy.UTCDateTime` true P onsets (empty for noise only).
        s_times: list of `obspy.UTCDateTime` true S onsets.
        snr: ``(n_events,)`` the P-SNR of each event: peak amplitude of the direct P pulse over
            the RMS of the noise (the S pulse is ``s_to_p_ratio`` times larger).
    """

    stream: object
    p_times: list
    s_times: list
    snr: np.ndarray


def synthetic_continuous(
    key: jax.Array,
    duration: float,
    *,
    event_every: float | None = 30.0,
    snr: float | tuple[float, float] = 10.0,
    station: str = "SYN",
    starttime: str = "2020-01-01T00:00:00",
    noise_exponent: float = 1.0,
    noise_corner: float = 0.5,
    **record_kwargs,
) -> ContinuousRecord:
    """A continuous three-component 100 Hz record: one coloured noise over the whole span (no
    seams) with a local earthquake (P + S, `synthetic_records`) every ``event_every`` seconds.

    Each event occupies a slot of ``event_every`` s (its P onset ``p_onset`` s into the slot, S
    ``s_minus_p`` s later, both from ``record_kwargs`` or the `synthetic_records` defaults) and
    is scaled to its **P-SNR**: the direct P pulse's peak (3-component) amplitude over the noise
    RMS (the noise has unit RMS over the whole record). The S pulse is ``s_to_p_ratio`` (2–5)
    times larger, so the S-SNR and `measure_snr` are 2–5 times the P-SNR.
    ``event_every=None`` gives noise only (for false-pick rates).

    Args:
        key: ``jax.random`` key.
        duration: record length in s.
        event_every: slot length in s (>= the latest S onset + 2 s), or ``None``.
        snr: one P-SNR, or a ``(low, high)`` range sampled log-uniformly per event.
        station: station code of the traces (network ``XX``).
        starttime: ISO time of the first sample.
        noise_exponent, noise_corner: noise spectrum, as in `synthetic_records`.
        **record_kwargs: passed to `synthetic_records` (e.g. ``p_onset``, ``s_minus_p``).

    Returns:
        `ContinuousRecord`.
    """
    import obspy

    if not (math.isfinite(duration) and duration * SAMPLING_RATE >= WINDOW_SAMPLES):
        raise ValueError(f"duration={duration} s must be at least {WINDOW_SAMPLES / SAMPLING_RATE}"
                         " s")  # fmt: skip
    dt = 1.0 / SAMPLING_RATE
    n_total = int(round(duration * SAMPLING_RATE))
    k_noise, k_events, k_snr = jax.random.split(key, 3)
    noise = _coloured_noise(k_noise, (3,), n_total, dt, noise_exponent, noise_corner)
    noise = np.asarray(noise / jnp.sqrt(jnp.mean(noise**2)), dtype=np.float64)
    data = noise.copy()
    start = obspy.UTCDateTime(starttime)
    p_times, s_times, snrs = [], [], np.zeros(0)
    if event_every is not None:
        slot = int(round(event_every * SAMPLING_RATE))
        n_events = n_total // slot
        if n_events:
            low, high = (snr, snr) if np.isscalar(snr) else snr
            if not 0 < low <= high:
                raise ValueError(f"snr={snr} must be positive (a value or a (low, high) range)")
            snrs = np.exp(np.asarray(jax.random.uniform(
                k_snr, (n_events,), minval=math.log(low), maxval=math.log(high))))  # fmt: skip
            records = synthetic_records(k_events, n_events, n_samples=slot, snr=1.0,
                                        noise_exponent=noise_exponent,
                                        noise_corner=noise_corner, **record_kwargs)  # fmt: skip
            signal = np.asarray(records.signal, dtype=np.float64)  # unit direct-P amplitude
            for i in range(n_events):
                data[:, i * slot : (i + 1) * slot] += signal[i] * snrs[i]
            p_times = [start + (i * slot + int(p)) * dt for i, p in enumerate(records.p_index)]
            s_times = [start + (i * slot + int(s)) * dt for i, s in enumerate(records.s_index)]
    stream = obspy.Stream()
    for c, component in enumerate(COMPONENTS):
        tr = obspy.Trace(data[c].astype(np.float32))
        tr.stats.network, tr.stats.station, tr.stats.channel = "XX", station, "HH" + component
        tr.stats.sampling_rate, tr.stats.starttime = SAMPLING_RATE, start
        stream.append(tr)
    return ContinuousRecord(stream, p_times, s_times, snrs)
