"""Continuous EQTransformer annotation of ObsPy streams (Mousavi et al. 2020).

`annotate_eqt` is what `sjax.detect.annotate` runs for an `EQTransformer`:

1. `stream_to_segments` with `EQT_PREFILTER` (``mseed_predictor.py``: linear detrend,
   1–45 Hz Butterworth, 2 corners, zero-phase; a high-pass at 1 Hz where 45 Hz is above the
   input's Nyquist frequency), 100 Hz, components E, N, Z, one segment per gap-free stretch.
2. 60 s windows (6000 samples) every ``stride`` samples (default 3000, half-overlapping; the
   last window ends at the segment's end), a segment shorter than one window zero-padded to
   6000 samples; `predict_eqt` (per-window, per-component std normalisation) in batches of
   exactly ``batch_size`` windows, so the jitted model compiles once per batch size.
3. Overlapping windows are combined by the sample-wise maximum (SeisBench's ``"max"``
   stacking; ``mseed_predictor.py`` picks each window separately instead).

The result is a `Stream` of detection, P and S probability traces (``EQT_D``, ``EQT_P``,
``EQT_S``) at 100 Hz that `sjax.detect.pick` turns into picks (`EQT_TRIGGER_ON`).
"""

from __future__ import annotations

import numpy as np
import obspy
from flax import nnx

from sjax.detect.annotate import (
    Prefilter,
    _by_channel,
    _rms_around,
    _segment_traces,
    _segments,
    _validated_model_name,
)
from sjax.detect.eqt import (
    EQT_BANDPASS,
    EQT_COMPONENTS,
    EQT_SAMPLING_RATE,
    EQT_THRESHOLDS,
    EQT_WINDOW_SAMPLES,
    predict_eqt,
)

__all__ = ["EQT_CHANNELS", "EQT_PREFILTER", "EQT_TRIGGER_ON", "EQT_TRIGGER_OFF", "annotate_eqt"]

EQT_CHANNELS: tuple[str, ...] = ("EQT_D", "EQT_P", "EQT_S")
"""Channel codes of the probability traces: detection, P, S (`EQT_OUTPUTS` order)."""

EQT_PREFILTER = Prefilter(*EQT_BANDPASS, corners=2, zerophase=True)
"""EQTransformer's pre-filter (``mseed_predictor.py``): 1–45 Hz, 2 corners, zero-phase."""

EQT_TRIGGER_ON = EQT_THRESHOLDS["P"]
"""Trigger-on probability for P and S picks (0.1, the published P and S thresholds)."""

EQT_TRIGGER_OFF = 0.05
"""Trigger-off probability of `pick` for EQTransformer (half of `EQT_TRIGGER_ON`)."""

_MIN_SAMPLES = 1000  # 10 s: shorter stretches are not annotated


def _window_starts(n: int, stride: int) -> np.ndarray:
    """Window starts covering ``n`` samples: every ``stride``, the last one ending at ``n``."""
    if n <= EQT_WINDOW_SAMPLES:
        return np.zeros(1, dtype=int)
    starts = np.arange(0, n - EQT_WINDOW_SAMPLES + 1, stride)
    if starts[-1] != n - EQT_WINDOW_SAMPLES:
        starts = np.append(starts, n - EQT_WINDOW_SAMPLES)
    return starts


def _segment_probabilities(model, data: np.ndarray, stride: int, batch_size: int) -> np.ndarray:
    """``(3, n)`` detection/P/S for one ``(3, n)`` E/N/Z segment (max over windows)."""
    n = data.shape[1]
    padded = np.zeros((3, max(n, EQT_WINDOW_SAMPLES)), dtype=np.float32)
    padded[:, :n] = data
    starts = _window_starts(n, stride)
    out = np.zeros((3, padded.shape[1]), dtype=np.float32)
    batch = np.zeros((batch_size, EQT_WINDOW_SAMPLES, 3), dtype=np.float32)
    for i in range(0, starts.size, batch_size):
        chunk = starts[i : i + batch_size]
        for j, start in enumerate(chunk):
            batch[j] = padded[:, start : start + EQT_WINDOW_SAMPLES].T
        batch[chunk.size :] = 0.0
        probabilities = np.asarray(predict_eqt(model, batch))  # (batch, 6000, 3)
        for j, start in enumerate(chunk):
            window = out[:, start : start + EQT_WINDOW_SAMPLES]
            np.maximum(window, probabilities[j].T, out=window)
    return out[:, :n]


def annotate_eqt(
    model: nnx.Module,
    stream: obspy.Stream,
    *,
    stride: int = 3000,
    batch_size: int = 8,
    model_name: str | None = None,
) -> obspy.Stream:
    """Continuous detection, P and S probabilities of EQTransformer for one station.

    See the module docstring for the pre-processing, windows and stacking.

    Args:
        model: an `EQTransformer` (its mode is not changed).
        stream: ObsPy `Stream` of one station's three components (any rate ≥ 50 Hz; gaps
            allowed), see `stream_to_segments`.
        stride: window step in samples (≤ 6000; default 3000 = 30 s).
        batch_size: windows per jitted call.
        model_name: recorded as ``stats.model_name`` (default ``"eqt"``), see `annotate`.

    Returns:
        `Stream` of float32 traces: for each of `EQT_CHANNELS`, one trace per gap-free segment
        of at least 10 s, at 100 Hz, sample-aligned with the pre-processed segment, with the
        input's network/station/location codes; stats ``model_name`` and ``source_channels``
        as in `annotate`, and on ``EQT_S`` traces ``horizontal_rms`` (the RMS of the filtered
        N and E data over ± 1 s at each sample), which `pick` uses to name an S pick's channel.

    Raises:
        ValueError: bad ``stride``/``batch_size``/``model_name``, no gap-free stretch of 10 s,
            or any error of `stream_to_segments`.
    """
    if int(stride) != stride or not 1 <= stride <= EQT_WINDOW_SAMPLES:
        raise ValueError(f"stride={stride} must be an integer from 1 to {EQT_WINDOW_SAMPLES} "
                         "(samples)")  # fmt: skip
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be a positive integer")
    model_name = _validated_model_name("eqt" if model_name is None else model_name)
    segments, channels = _segments(stream, EQT_SAMPLING_RATE, EQT_COMPONENTS, EQT_PREFILTER, 1)
    longest = max((data.shape[1] for data, _ in segments), default=0)
    if longest < _MIN_SAMPLES:
        raise ValueError(f"npts: the longest stretch covered by all three components has "
                         f"{longest} samples at {EQT_SAMPLING_RATE:g} Hz; EQTransformer needs "
                         f"{_MIN_SAMPLES} (10 s)")  # fmt: skip
    traces = []
    for data, start in segments:
        if data.shape[1] < _MIN_SAMPLES:
            continue
        out = _segment_probabilities(model, data, int(stride), int(batch_size))
        samples = np.arange(data.shape[1])
        rms = {comp: _rms_around(data[EQT_COMPONENTS.index(comp)], samples) for comp in ("N", "E")}
        traces += _segment_traces(stream[0].stats, start, EQT_SAMPLING_RATE, out, EQT_CHANNELS,
                                  model_name, channels, rms)  # fmt: skip
    return _by_channel(traces, EQT_CHANNELS)
