"""GPD training windows with soft (Gaussian) phase labels, from synthetic records with a wide
range of S − P times, overlapping events and real-noise augmentation.

A training record (`training_records`) is 60 s at 100 Hz:

* one event (`sjax.detect.synthetic.synthetic_records`) with its P onset 2–20 s in and S − P drawn
  log-uniformly from 0.3 s to 30 s (local events to regional distances);
* with probability ``overlap`` a second event, its P anywhere from 1 s to 55 s, 0.2–5 times the
  first event's amplitude (log-uniform): overlapping P and S trains, an S of one event before or
  after the P of the next;
* noise: with probability ``real_noise`` quiet real noise (`sjax.detect.real_noise`, ObsPy's
  PPSD reference records), otherwise the synthetic ``1/f`` noise;
* signal and noise are demeaned, detrended and causally band-passed 3–20 Hz like `annotate`'s
  input, then the noise is scaled to unit RMS *in that band* and the signal to the record's
  P-SNR (the first event's direct P peak over the band-passed noise RMS, log-uniform in ``snr``).

Windows (`gpd_training_set`) are cut at centres anywhere in the record: near every arrival
(within ±10 samples and within ±150 samples of it), at uniformly random positions, and from the
record's noise alone (four per record: hard negatives; with one, the model made 18 false picks
per hour of synthetic noise at a 0.9 trigger). Their labels are soft (`soft_labels`): the P probability
is a Gaussian of the distance from the window centre to the nearest P onset, width σ =
``label_width`` samples, the same for S, and noise takes the rest. A model trained on them
outputs, at each position, how close to an onset the window centre is, so its P and S
probabilities peak at the onsets and a trigger threshold below 1 picks them (`pick` takes the
arg-max inside a trigger).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from obspy.signal.filter import bandpass
from scipy.signal import detrend

from sjax.detect.annotate import GPD_PREFILTER
from sjax.detect.gpd import SAMPLING_RATE, WINDOW_SAMPLES, normalize_windows
from sjax.detect.real_noise import real_noise_records
from sjax.detect.synthetic import synthetic_records

__all__ = [
    "RECORD_SAMPLES",
    "LABEL_WIDTH",
    "TrainingRecords",
    "training_records",
    "soft_labels",
    "gpd_training_set",
]

RECORD_SAMPLES = 6000
"""Samples per training record (60 s at 100 Hz)."""

LABEL_WIDTH = 20.0
"""σ of the Gaussian phase labels in samples (0.2 s)."""

_P_ONSET = (2.0, 20.0)  # s after the record start
_S_MINUS_P = (0.3, 30.0)  # s, log-uniform
_SECOND_P = (1.0, 55.0)  # s: where the second event's P lands
_SECOND_AMPLITUDE = (0.2, 5.0)  # relative to the first event, log-uniform
_TIGHT, _WIDE = 10, 150  # samples: offsets of the windows cut near each arrival
_UNIFORM = 2  # windows per record at uniform random positions
_NOISE_WINDOWS = 4  # windows per record of its noise alone (hard negatives against false picks)
_CHUNK = 500  # records generated per call (bounds memory)
_FAR = -(10**6)  # onset index of an absent arrival (its Gaussian label is 0)


class TrainingRecords(NamedTuple):
    """Output of `training_records` (``n`` records of `RECORD_SAMPLES` samples).

    Attributes:
        waveforms: ``(n, 3, samples)`` float32 band-passed records (N, E, Z), noise of unit RMS.
        noise: ``(n, 3, samples)`` float32 the band-passed noise alone.
        p_onsets: ``(n, 2)`` int32 P onset samples (first event, second event; `_FAR` if the
            record has no second event or it starts after the record).
        s_onsets: ``(n, 2)`` int32 S onset samples, the same way.
        snr: ``(n,)`` the P-SNR of the first event in the 3–20 Hz band.
        real_noise: ``(n,)`` bool, True where the noise is real.
    """

    waveforms: np.ndarray
    noise: np.ndarray
    p_onsets: np.ndarray
    s_onsets: np.ndarray
    snr: np.ndarray
    real_noise: np.ndarray


def _filter_like_annotate(x: np.ndarray) -> np.ndarray:
    """Detrend and band-pass ``(..., samples)`` records with `annotate`'s `GPD_PREFILTER`."""
    x = detrend(np.asarray(x, np.float64), axis=-1, type="linear")
    return bandpass(x, GPD_PREFILTER.f_min, GPD_PREFILTER.f_max, SAMPLING_RATE,
                    corners=GPD_PREFILTER.corners, zerophase=GPD_PREFILTER.zerophase)


def _log_uniform(key, shape, low, high):
    return np.exp(np.asarray(jax.random.uniform(key, shape, minval=math.log(low),
                                                maxval=math.log(high))))  # fmt: skip


def _shifted(x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Each ``(3, s)`` record of ``x`` delayed by ``shift[i]`` samples (zeros shifted in)."""
    n, _, s = x.shape
    source = np.arange(s)[None, :] - shift[:, None]  # (n, s)
    inside = (source >= 0) & (source < s)
    out = x[np.arange(n)[:, None], :, np.clip(source, 0, s - 1)]  # (n, s, 3)
    return np.where(inside[..., None], out, 0.0).transpose(0, 2, 1)


def training_records(
    key: jax.Array,
    n: int,
    *,
    snr: tuple[float, float] = (2.0, 50.0),
    overlap: float = 0.3,
    real_noise: float = 0.5,
) -> TrainingRecords:
    """``n`` band-passed 60-s training records (see the module doc).

    Args:
        key: ``jax.random`` key.
        n: number of records (<= 500 per call keeps memory near 1 GB).
        snr: ``(low, high)`` range of the first event's P-SNR, drawn log-uniformly.
        overlap: probability of a second event in a record, in [0, 1].
        real_noise: probability that a record's noise is real rather than synthetic, in [0, 1].

    Returns:
        `TrainingRecords`.

    Raises:
        ValueError: naming the argument, for a bad count, range or probability.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n={n} must be a positive integer")
    low, high = snr
    if not 0 < low <= high:
        raise ValueError(f"snr={snr} must be a (low, high) range of positive values")
    for name, value in (("overlap", overlap), ("real_noise", real_noise)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} must be a probability in [0, 1]")
    n = int(n)
    keys = jax.random.split(key, 8)
    kwargs = dict(n_samples=RECORD_SAMPLES, snr=1.0, p_onset=_P_ONSET, s_minus_p=_S_MINUS_P,
                  s_minus_p_scale="log")  # fmt: skip
    first = synthetic_records(keys[0], n, **kwargs)
    second = synthetic_records(keys[1], n, **kwargs)
    has_second = np.asarray(jax.random.bernoulli(keys[2], overlap, (n,)))
    target = np.round(np.asarray(jax.random.uniform(keys[3], (n,), minval=_SECOND_P[0],
                                                    maxval=_SECOND_P[1])) * SAMPLING_RATE)  # fmt: skip
    shift = target.astype(np.int64) - np.asarray(second.p_index)
    amplitude = _log_uniform(keys[4], (n,), *_SECOND_AMPLITUDE) * has_second
    signal = np.asarray(first.signal, np.float64) + amplitude[:, None, None] * _shifted(
        np.asarray(second.signal, np.float64), shift
    )
    p2 = np.asarray(second.p_index) + shift
    s2 = np.asarray(second.s_index) + shift
    keep = has_second & (p2 < RECORD_SAMPLES)
    p_onsets = np.stack([np.asarray(first.p_index), np.where(keep, p2, _FAR)], axis=1)
    s_onsets = np.stack([np.asarray(first.s_index),
                         np.where(keep & (s2 < RECORD_SAMPLES), s2, _FAR)], axis=1)  # fmt: skip

    is_real = np.asarray(jax.random.bernoulli(keys[5], real_noise, (n,)))
    noise = np.asarray(first.noise, np.float64)
    if is_real.any():
        noise[is_real] = real_noise_records(keys[6], int(is_real.sum()))
    noise = _filter_like_annotate(noise)
    noise /= np.sqrt(np.mean(noise**2, axis=(1, 2), keepdims=True))
    snrs = _log_uniform(keys[7], (n,), low, high)
    signal = _filter_like_annotate(signal) * snrs[:, None, None]
    return TrainingRecords(
        waveforms=(signal + noise).astype(np.float32),
        noise=noise.astype(np.float32),
        p_onsets=p_onsets.astype(np.int32),
        s_onsets=s_onsets.astype(np.int32),
        snr=snrs,
        real_noise=is_real,
    )


def soft_labels(centres, p_onsets, s_onsets, width: float = LABEL_WIDTH) -> np.ndarray:
    """Gaussian P/S/noise labels of windows centred at ``centres``.

    ``P = max_k exp(−(c − p_k)² / 2σ²)`` over the P onsets of the window's record, ``S`` the
    same over its S onsets; where ``P + S > 1`` both are scaled to sum to 1; noise = 1 − P − S.

    Args:
        centres: ``(m,)`` window-centre sample indices.
        p_onsets, s_onsets: ``(m, k)`` onset sample indices per window (far-away values, e.g.
            −10⁶, for absent arrivals).
        width: σ in samples (> 0).

    Returns:
        ``(m, 3)`` float32 labels in `sjax.detect.gpd.CLASSES` order (P, S, noise); rows sum to 1.
    """
    if not width > 0:
        raise ValueError(f"width={width} samples must be positive")
    c = np.asarray(centres, np.float64)[:, None]
    gauss = lambda onsets: np.max(  # noqa: E731
        np.exp(-0.5 * ((c - np.asarray(onsets, np.float64)) / width) ** 2), axis=1)
    p, s = gauss(p_onsets), gauss(s_onsets)
    scale = np.maximum(p + s, 1.0)
    p, s = p / scale, s / scale
    return np.stack([p, s, np.maximum(1.0 - p - s, 0.0)], axis=1).astype(np.float32)


def _window_centres(key, p_onsets, s_onsets):
    """``(n, k)`` centres per record and a validity mask (see `gpd_training_set`)."""
    n = p_onsets.shape[0]
    half = WINDOW_SAMPLES // 2
    onsets = np.concatenate([p_onsets, s_onsets], axis=1)  # (n, 4)
    k_tight, k_wide, k_uniform = jax.random.split(key, 3)
    tight = np.asarray(jax.random.randint(k_tight, onsets.shape, -_TIGHT, _TIGHT + 1))
    wide = np.asarray(jax.random.randint(k_wide, onsets.shape, -_WIDE, _WIDE + 1))
    uniform = np.asarray(jax.random.randint(k_uniform, (n, _UNIFORM), half,
                                            RECORD_SAMPLES - half + 1))  # fmt: skip
    centres = np.concatenate([onsets + tight, onsets + wide, uniform], axis=1)
    valid = np.concatenate([onsets >= 0, onsets >= 0, np.ones_like(uniform, bool)], axis=1)
    valid &= (centres >= half) & (centres <= RECORD_SAMPLES - half)
    return centres, valid


def _cut(waveforms, record, centres):
    sample = (centres - WINDOW_SAMPLES // 2)[:, None] + np.arange(WINDOW_SAMPLES)
    return waveforms[record[:, None], :, sample]  # (m, 400, 3), channels last


def gpd_training_set(
    key: jax.Array,
    n_records: int,
    *,
    label_width: float = LABEL_WIDTH,
    **record_kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """Max-normalised GPD windows and soft labels from ``n_records`` `training_records`.

    Per record: for each arrival (P and S of one or two events), a window centred within ±10
    samples of it and one within ±150 samples; two windows at uniform random positions; four
    windows of the record's noise alone. About 10–14 windows per record, shuffled.

    Args:
        key: ``jax.random`` key.
        n_records: number of training records.
        label_width: σ of the Gaussian labels in samples (`soft_labels`).
        **record_kwargs: ``snr``, ``overlap``, ``real_noise`` of `training_records`.

    Returns:
        ``(windows, labels)``: ``(m, 400, 3)`` float32 max-normalised windows (N, E, Z last) and
        ``(m, 3)`` float32 soft labels (P, S, noise).
    """
    if int(n_records) != n_records or n_records < 1:
        raise ValueError(f"n_records={n_records} must be a positive integer")
    half = WINDOW_SAMPLES // 2
    windows, labels = [], []
    for start in range(0, int(n_records), _CHUNK):
        k_rec, k_centre, k_noise = jax.random.split(jax.random.fold_in(key, start), 3)
        records = training_records(k_rec, min(_CHUNK, int(n_records) - start), **record_kwargs)
        n = records.waveforms.shape[0]
        centres, valid = _window_centres(k_centre, records.p_onsets, records.s_onsets)
        record = np.broadcast_to(np.arange(n)[:, None], centres.shape)[valid]
        centres = centres[valid]
        windows.append(_cut(records.waveforms, record, centres))
        labels.append(soft_labels(centres, records.p_onsets[record], records.s_onsets[record],
                                  label_width))  # fmt: skip
        noise_centres = np.asarray(jax.random.randint(k_noise, (n * _NOISE_WINDOWS,), half,
                                                      RECORD_SAMPLES - half + 1))  # fmt: skip
        windows.append(_cut(records.noise, np.repeat(np.arange(n), _NOISE_WINDOWS),
                            noise_centres))  # fmt: skip
        labels.append(np.tile(np.array([[0.0, 0.0, 1.0]], np.float32),
                              (n * _NOISE_WINDOWS, 1)))  # fmt: skip
    windows, labels = np.concatenate(windows), np.concatenate(labels)
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 2**31 - 1), len(labels)))
    normalised = np.asarray(normalize_windows(jnp.asarray(windows[order])))
    return normalised, labels[order]
