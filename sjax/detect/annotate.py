"""Continuous GPD annotation of ObsPy streams, picks and QuakeML export (Ross et al. 2018, BSSA
108:2894). `annotate` hands an `EQTransformer` to `sjax.detect.eqt_annotate`, which reuses the
segments of step 1 with EQTransformer's own pre-filter; `pick` works on either's output.

Pipeline (the original ``gpd_predict.py`` rule, made gap-aware):

1. `stream_to_segments`: one station's three components → a list of ``(3, n)`` float32 arrays in
   N, E, Z order, one per stretch of time covered by all three components without a gap
   (overlaps are merged, time tears of up to one sample interval bridged). Each segment is
   pre-processed on its own: linearly detrended, tapered over its first ``1 / f_min`` s and
   band-passed 3–20 Hz (4-pole Butterworth, **causal**, ``zerophase=False`` as in the original,
   so no filter energy leaks before an onset), then resampled to 100 Hz when needed. Components
   are named by the channel code (Z, N, E, 1, 2) or, for other codes (``Q``, ``R``, ...), by the
   orientation in the header (SAC ``cmpinc``/``cmpaz``, ``stats.orientation``,
   ``stats.inventory``).
2. `annotate`: in each segment of at least 400 samples, sliding 400-sample windows with a stride
   of 10 samples, each window max-normalised and classified by `predict_proba` in fixed-size,
   zero-padded batches through one jitted function; the result is a `Stream` of three
   probability traces per segment (``GPD_P``, ``GPD_S``, ``GPD_N`` = noise) at ``100 / stride``
   Hz, time-stamped at window centres, so a gap in the data is a gap in the probabilities.
3. `pick`: hysteresis trigger (`obspy.signal.trigger.trigger_onset`, on 0.95 / off 0.1 as in the
   original GPD) on each P and S trace; the pick is the arg-max of the probability inside each
   closed trigger. `picks_to_catalog` wraps the picks in a `Catalog` (QuakeML-writable; the
   probability is an extra element in the `SJAX_NAMESPACE`).

Example:
    >>> import obspy
    >>> from flax import nnx
    >>> from sjax.detect import GPD, annotate, pick, picks_to_catalog
    >>> probs = annotate(GPD(rngs=nnx.Rngs(0)), obspy.read())
    >>> catalog = picks_to_catalog(pick(probs, threshold_on=0.5))
    >>> catalog.write("picks.xml", format="QUAKEML")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import obspy
from flax import nnx
from obspy.core.event import (
    Catalog,
    Comment,
    CreationInfo,
    Event,
    Pick,
    QuantityError,
    ResourceIdentifier,
    WaveformStreamID,
)
from obspy.core.util import AttribDict
from obspy.signal.filter import bandpass as _butterworth_bandpass
from obspy.signal.filter import highpass as _butterworth_highpass
from obspy.signal.trigger import trigger_onset
from scipy.signal import detrend

import sjax
from sjax.detect.eqt import EQTransformer
from sjax.detect.gpd import CLASSES, COMPONENTS, SAMPLING_RATE, WINDOW_SAMPLES, predict_proba

__all__ = [
    "PROBABILITY_CHANNELS",
    "SJAX_NAMESPACE",
    "PICK_CONFIDENCE_LEVEL",
    "GPD_PREFILTER",
    "Prefilter",
    "stream_to_segments",
    "stream_to_array",
    "annotate",
    "pick",
    "picks_to_catalog",
]

PROBABILITY_CHANNELS: tuple[str, ...] = ("GPD_P", "GPD_S", "GPD_N")
"""Channel codes of the probability traces, in `CLASSES` order (``GPD_N`` = noise)."""

SJAX_NAMESPACE = "smi:local/sjax"
"""XML namespace of sjax's QuakeML extras (a pick's ``extra.probability``)."""

PICK_CONFIDENCE_LEVEL = 100.0 * math.erf(math.sqrt(math.log(2.0)))
"""Confidence level (%, ≈ 76.1) of a pick's ``time_errors``: the uncertainty is the half-width
at half maximum of the probability peak, which for a Gaussian-shaped peak is 1.177 σ, and
± 1.177 σ holds 76.1 % of a Gaussian."""

_COMPONENT_ALIASES = {"N": "N", "E": "E", "Z": "Z", "1": "N", "2": "E"}
_MAX_UPSAMPLING = 2.0  # input rates below target / 2 are refused
_MAX_BRIDGED_GAP = 1  # samples: a gap of at most one missing sample is interpolated, not split
_ORIENTATION_TOLERANCE = 5.0  # degrees, for header orientations
_SAC_UNDEFINED = -12345.0
_RMS_HALF_WINDOW = 1.0  # s: horizontal RMS over +-1 s around each window centre (S channel)
_MODEL_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def _angle_near(angle: float, targets: tuple[float, ...]) -> bool:
    return any(abs((angle - t + 180.0) % 360.0 - 180.0) <= _ORIENTATION_TOLERANCE for t in targets)


def _header_orientation(tr: obspy.Trace) -> tuple[float, float | None, str] | None:
    """``(inclination from the vertical, azimuth, header values as text)`` in degrees from the
    header, or None if it has no orientation."""
    sac = tr.stats.get("sac")
    if sac is not None and sac.get("cmpinc", _SAC_UNDEFINED) != _SAC_UNDEFINED:
        azimuth = sac.get("cmpaz", _SAC_UNDEFINED)
        azimuth = None if azimuth == _SAC_UNDEFINED else float(azimuth)
        return float(sac["cmpinc"]), azimuth, f"SAC cmpinc={sac['cmpinc']:g}, cmpaz={azimuth}"
    orientation, source = tr.stats.get("orientation"), "stats.orientation"
    if orientation is None and tr.stats.get("inventory") is not None:
        source = "stats.inventory"
        try:
            orientation = tr.stats.inventory.get_orientation(tr.id, tr.stats.starttime)
        except Exception:  # ObsPy raises a bare Exception when the channel is not in it
            orientation = None
    if orientation is None or orientation.get("dip") is None:
        return None
    dip, azimuth = float(orientation["dip"]), orientation.get("azimuth")
    azimuth = None if azimuth is None else float(azimuth)
    # SEED dip is down from the horizontal (-90 = up): inclination from the vertical = dip + 90
    return dip + 90.0, azimuth, f"{source} dip={dip:g}, azimuth={azimuth}"


def _component(tr: obspy.Trace) -> str:
    """``"Z"``, ``"N"`` or ``"E"`` from the channel code, else from the header's orientation."""
    code = tr.stats.channel[-1:].upper()
    if code in _COMPONENT_ALIASES:
        return _COMPONENT_ALIASES[code]
    header = _header_orientation(tr)
    if header is None:
        raise ValueError(
            f"component {code!r} of channel {tr.id} is not one of Z, N, E, 1, 2 and its header "
            "gives no orientation (SAC cmpinc/cmpaz, stats.orientation dip/azimuth or "
            "stats.inventory)"
        )
    inclination, azimuth, values = header
    if _angle_near(inclination, (0.0, 180.0)):
        return "Z"
    if _angle_near(inclination, (90.0,)) and azimuth is not None:
        if _angle_near(azimuth, (0.0, 180.0)):
            return "N"
        if _angle_near(azimuth, (90.0, 270.0)):
            return "E"
    raise ValueError(
        f"component: cannot tell the orientation of channel {tr.id} from its header ({values});"
        " need vertical (SAC cmpinc 0 or 180, SEED dip -90 or 90) or horizontal (cmpinc 90, dip "
        "0) with azimuth 0/180 (north) or 90/270 (east)"
    )


def _station_components(
    stream: obspy.Stream, sampling_rate: float
) -> tuple[dict[str, list[obspy.Trace]], dict[str, str]]:
    """Validated traces per component and the channel code of each component."""
    if not sampling_rate > 0:
        raise ValueError(f"sampling_rate={sampling_rate} Hz must be > 0")
    if len(stream) == 0:
        raise ValueError("stream is empty: need three components (N/E/Z or 1/2/Z)")
    stations = sorted({(tr.stats.network, tr.stats.station, tr.stats.location) for tr in stream})
    if len(stations) > 1:
        names = ", ".join(".".join(s) for s in stations)
        raise ValueError(f"station: traces of several stations are mixed ({names}); "
                         "annotate one station at a time")  # fmt: skip
    by_component: dict[str, list[obspy.Trace]] = {}
    channels: dict[str, set[str]] = {}
    lowest = sampling_rate / _MAX_UPSAMPLING
    for tr in stream:
        rate = float(tr.stats.sampling_rate)
        if not rate > 0:
            raise ValueError(f"sampling_rate={rate} Hz of {tr.id} must be > 0")
        if rate < lowest:
            raise ValueError(
                f"sampling_rate={rate:g} Hz of {tr.id} is below {lowest:g} Hz: up-sampling to "
                f"{sampling_rate:g} Hz by more than {_MAX_UPSAMPLING:g}x is not supported. None "
                f"of sjax's shipped pickers is trained for {rate:g} Hz data: they take 100 Hz "
                "input, so recordings need at least 50 Hz"
            )
        comp = _component(tr)
        by_component.setdefault(comp, []).append(tr)
        channels.setdefault(comp, set()).add(tr.stats.channel)
    missing = [c for c in COMPONENTS if c not in by_component]
    if missing:
        raise ValueError(
            f"component(s) {', '.join(missing)} missing for {'.'.join(stations[0])} (have "
            f"channels {sorted({tr.stats.channel for tr in stream})}; need N/E/Z or 1/2/Z)"
        )
    for comp, names in channels.items():
        if len(names) > 1:
            raise ValueError(f"component {comp} given by several channels {sorted(names)}; "
                             "select one instrument first")  # fmt: skip
        rates = {float(tr.stats.sampling_rate) for tr in by_component[comp]}
        if len(rates) > 1:
            raise ValueError(f"sampling_rate differs between the traces of component {comp} "
                             f"({sorted(rates)} Hz)")  # fmt: skip
    return by_component, {comp: next(iter(names)) for comp, names in channels.items()}


def _contiguous(traces: list[obspy.Trace]) -> list[obspy.Trace]:
    """One channel's traces merged (overlaps: the later trace wins) and split at gaps; gaps of at
    most `_MAX_BRIDGED_GAP` samples are filled by linear interpolation instead."""
    pieces = obspy.Stream([tr.copy() for tr in traces if tr.stats.npts > 0])
    if len(pieces) == 0:
        return []
    for tr in pieces:
        tr.data = tr.data.astype(np.float64)  # keeps a mask if the input has one
    pieces.merge(method=1, fill_value=None)
    merged = pieces[0]
    mask = np.ma.getmaskarray(merged.data)
    if mask.any():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        runs = [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2])
                if 0 < a and b < mask.size and b - a <= _MAX_BRIDGED_GAP]  # fmt: skip
        values = np.ma.getdata(merged.data).copy()
        if runs:
            fill = np.concatenate(runs)
            good = np.flatnonzero(~mask)
            values[fill] = np.interp(fill, good, values[good])
            mask[fill] = False
        merged.data = np.ma.masked_array(values, mask)
    return list(merged.split())


class Prefilter(NamedTuple):
    """Butterworth band-pass applied to each segment before a model sees it.

    Attributes:
        f_min, f_max: corner frequencies in Hz (``f_max`` at or above the input's Nyquist
            frequency: high-pass at ``f_min`` only).
        corners: filter order.
        zerophase: forward and backward (acausal, twice the order) instead of causal.
    """

    f_min: float
    f_max: float
    corners: int = 4
    zerophase: bool = False


GPD_PREFILTER = Prefilter(3.0, 20.0, corners=4, zerophase=False)
"""GPD's pre-filter (``gpd_predict.py``): 3–20 Hz, 4 corners, causal."""


def _as_prefilter(bandpass) -> Prefilter | None:
    """``None``, a `Prefilter`, or a ``(f_min, f_max)`` pair (causal, 4 corners)."""
    if bandpass is None or isinstance(bandpass, Prefilter):
        return bandpass
    return Prefilter(*bandpass)


def _preprocess(x: np.ndarray, rate: float, prefilter: Prefilter | None) -> np.ndarray:
    """Demean (``prefilter=None``), or linearly detrend, taper the first ``1 / f_min`` s (and the
    last, for a zero-phase filter) with a half cosine and band-pass — one contiguous segment at
    ``rate`` Hz."""
    x = np.asarray(x, dtype=np.float64)
    if prefilter is None:
        return x - x.mean()
    x = detrend(x, type="linear")
    k = min(x.size, int(round(rate / prefilter.f_min)))
    ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(k) / k))
    x[:k] *= ramp
    if prefilter.zerophase:
        x[x.size - k :] *= ramp[::-1]
    if prefilter.f_max >= 0.5 * rate:
        return _butterworth_highpass(x, prefilter.f_min, rate, corners=prefilter.corners,
                                     zerophase=prefilter.zerophase)  # fmt: skip
    return _butterworth_bandpass(x, prefilter.f_min, prefilter.f_max, rate,
                                 corners=prefilter.corners, zerophase=prefilter.zerophase)


def _resampled(piece: obspy.Trace, t0, t1, n: int, sampling_rate: float, prefilter) -> np.ndarray:
    """The span ``[t0, t1]`` of one contiguous piece, pre-processed, as ``n`` samples at
    ``sampling_rate`` from ``t0`` (at most ``n``: a same-rate piece is cut at the nearest
    sample, ≤ half a sample of misalignment; other rates are Lanczos-resampled, ``a = 20``)."""
    rate = float(piece.stats.sampling_rate)
    if abs(rate - sampling_rate) <= 1e-9 * sampling_rate:
        i0 = int(round((t0 - piece.stats.starttime) * rate))
        return _preprocess(piece.data[i0 : i0 + n], rate, prefilter)
    tr = piece.slice(t0 - 1.0 / rate, t1 + 1.0 / rate)
    tr.data = _preprocess(tr.data, rate, prefilter)
    tr.interpolate(sampling_rate, method="lanczos", a=20, starttime=t0, npts=n)
    return tr.data


def _segments(
    stream: obspy.Stream,
    sampling_rate: float,
    components: tuple[str, ...],
    bandpass: Prefilter | tuple[float, float] | None,
    min_samples: int,
) -> tuple[list[tuple[np.ndarray, obspy.UTCDateTime]], dict[str, str]]:
    """`stream_to_segments` and the channel code of each component."""
    bandpass = _as_prefilter(bandpass)
    if sorted(components) != sorted(COMPONENTS):
        raise ValueError(f"components={components!r} must name N, E and Z once each")
    if bandpass is not None and not 0.0 < bandpass.f_min < bandpass.f_max:
        raise ValueError(f"bandpass={tuple(bandpass)!r} must be (f_min, f_max) with 0 < f_min < "
                         "f_max Hz, or None")  # fmt: skip
    if bandpass is not None and (int(bandpass.corners) != bandpass.corners or bandpass.corners < 1):
        raise ValueError(f"bandpass corners={bandpass.corners} must be a positive integer")
    if int(min_samples) != min_samples or min_samples < 1:
        raise ValueError(f"min_samples={min_samples} must be a positive integer")
    by_component, channels = _station_components(stream, sampling_rate)
    pieces = {comp: _contiguous(by_component[comp]) for comp in components}
    # spans covered by every component: (start, end, piece per component)
    spans = [(p.stats.starttime, p.stats.endtime, {components[0]: p})
             for p in pieces[components[0]]]  # fmt: skip
    for comp in components[1:]:
        spans = [
            (max(t0, q.stats.starttime), min(t1, q.stats.endtime), {**used, comp: q})
            for t0, t1, used in spans
            for q in pieces[comp]
            if max(t0, q.stats.starttime) <= min(t1, q.stats.endtime)
        ]
    segments = []
    for t0, t1, used in sorted(spans, key=lambda span: span[0]):
        n = int(np.floor((t1 - t0) * sampling_rate + 1e-6)) + 1
        if n < min_samples:
            continue
        rows = [_resampled(used[c], t0, t1, n, sampling_rate, bandpass) for c in components]
        n = min(len(r) for r in rows)
        if n >= min_samples:
            segments.append((np.stack([r[:n] for r in rows]).astype(np.float32), t0))
    return segments, channels


def stream_to_segments(
    stream: obspy.Stream,
    *,
    sampling_rate: float = SAMPLING_RATE,
    components: tuple[str, ...] = COMPONENTS,
    bandpass: Prefilter | tuple[float, float] | None = GPD_PREFILTER,
    min_samples: int = WINDOW_SAMPLES,
) -> list[tuple[np.ndarray, obspy.UTCDateTime]]:
    """One station's three-component stream as contiguous, pre-processed ``(3, n)`` segments.

    Components: the last letter of the channel code, ``Z``, ``N``, ``E``, or ``1``/``2`` (taken
    as N/E). Any other code (``Q``, ``R``, ...) is named by the orientation in the header: SAC
    ``cmpinc``/``cmpaz`` (degrees from the vertical / east of north), else
    ``stats.orientation`` or ``stats.inventory`` (SEED dip/azimuth, as
    ``Inventory.get_orientation`` returns): vertical if the inclination is 0 or 180°, north if it
    is 90° and the azimuth 0 or 180°, east if the azimuth is 90 or 270° (± 5°).

    Gaps: each component's traces are merged (overlaps: the later trace's samples win, ObsPy's
    ``merge(method=1)``); time tears below half a sample are contiguous (ObsPy's rule) and a gap
    of one missing sample (tears up to about one sample interval) is linearly interpolated;
    longer gaps split the data. A segment is a stretch covered by all three components at once.
    Each segment is pre-processed on its own (on a copy; the input is not modified): linearly
    detrended, tapered over its first ``1 / f_min`` s (half cosine, so the causal filter does
    not ring at the segment start; a zero-phase filter also tapers the last ``1 / f_min`` s)
    and band-passed (`Prefilter`; GPD's `GPD_PREFILTER` is a 4-corner causal Butterworth, as
    ``gpd_predict.py``; also the anti-alias filter of any resampling), or only demeaned if
    ``bandpass`` is None; components whose rate differs from ``sampling_rate`` are then
    resampled by Lanczos interpolation (``a = 20``) onto a grid starting at the segment start,
    components at ``sampling_rate`` are cut at the nearest sample (≤ half a sample of
    misalignment).

    Resampling rule: input rates ≥ ``sampling_rate / 2`` are accepted (down-sampling any amount,
    up-sampling at most 2×, i.e. ≥ 50 Hz for the shipped 100 Hz pickers); lower rates are
    refused.

    Args:
        stream: ObsPy `Stream` of one station (same network, station and location codes), one
            channel per component.
        sampling_rate: target rate in Hz (GPD: 100).
        components: order of the rows, a permutation of ``("N", "E", "Z")`` (GPD: N, E, Z;
            EQTransformer: E, N, Z).
        bandpass: a `Prefilter`, ``(f_min, f_max)`` in Hz (causal, 4 corners), or None for
            demeaned raw data. Default `GPD_PREFILTER` (3–20 Hz).
        min_samples: shortest segment kept, in samples at ``sampling_rate`` (GPD window: 400).

    Returns:
        ``[(data, starttime), ...]`` in time order: ``data`` of shape ``(3, n)`` float32, rows in
        ``components`` order, ``n >= min_samples`` samples at ``sampling_rate``, and the
        `UTCDateTime` of its sample 0. Empty if no common stretch is long enough.

    Raises:
        ValueError: empty stream; several stations mixed (``station``); a missing, duplicated or
            undeterminable component (``component``); a non-positive or too low
            ``sampling_rate``; bad ``components``, ``bandpass`` or ``min_samples``.
    """
    return _segments(stream, sampling_rate, tuple(components), bandpass, min_samples)[0]


def stream_to_array(
    stream: obspy.Stream,
    *,
    sampling_rate: float = SAMPLING_RATE,
    preprocess: bool = True,
    components: tuple[str, ...] = COMPONENTS,
    bandpass: Prefilter | tuple[float, float] | None = GPD_PREFILTER,
) -> tuple[np.ndarray, obspy.UTCDateTime]:
    """One station's three-component stream as one ``(3, n)`` float32 array, gaps zero-filled.

    The segments of `stream_to_segments` (each pre-processed on its own, so no filter rings
    across a gap) are placed on one grid from the start of the first to the end of the last
    segment, each at its nearest sample; **gaps**, and stretches where not all three components
    have data, **are zeros**. Models should not see such zeros (a gap edge looks like an onset):
    `annotate` works on the segments instead.

    Args:
        stream: ObsPy `Stream` of one station, see `stream_to_segments`.
        sampling_rate: target rate in Hz (GPD: 100).
        preprocess: False is ``bandpass=None`` (demeaned raw data).
        components: row order, a permutation of ``("N", "E", "Z")``.
        bandpass: as in `stream_to_segments`.

    Returns:
        ``(data, starttime)``: ``data`` of shape ``(3, n)`` float32 in ``components`` order at
        ``sampling_rate``, and the `UTCDateTime` of sample 0.

    Raises:
        ValueError: as `stream_to_segments`, or no common time span (``starttime/endtime``).
    """
    segments = stream_to_segments(stream, sampling_rate=sampling_rate, components=components,
                                  bandpass=bandpass if preprocess else None,
                                  min_samples=1)  # fmt: skip
    if not segments:
        raise ValueError("starttime/endtime: the components have no common time span")
    start = segments[0][1]
    last, last_start = segments[-1]
    n = int(round((last_start - start) * sampling_rate)) + last.shape[1]
    data = np.zeros((len(components), n), dtype=np.float32)
    for segment, t0 in segments:
        i0 = int(round((t0 - start) * sampling_rate))
        data[:, i0 : i0 + segment.shape[1]] = segment[:, : n - i0]
    return data, start


@functools.partial(jax.jit, static_argnums=0)
def _predict_batch(graphdef, state, windows):
    """Probabilities ``(batch, 3)`` for raw windows ``(batch, 400, 3)`` (compiled per shape)."""
    return predict_proba(nnx.merge(graphdef, state), windows)


def _window_probabilities(graphdef, state, data: np.ndarray, stride: int, batch_size: int):
    """``(m, 3)`` probabilities of the 400-sample windows of ``data`` ``(3, n)`` every ``stride``
    samples, in batches of exactly ``batch_size`` windows (the last one zero-padded)."""
    # (m, 3, 400) view, no copy; batches are copied as they are fed in
    view = np.lib.stride_tricks.sliding_window_view(data, WINDOW_SAMPLES, axis=1)[:, ::stride]
    view = view.transpose(1, 2, 0)  # (m, 400, 3)
    m = view.shape[0]
    out = np.empty((m, len(CLASSES)), dtype=np.float32)
    batch = np.zeros((batch_size, WINDOW_SAMPLES, len(COMPONENTS)), dtype=np.float32)
    for i in range(0, m, batch_size):
        k = min(batch_size, m - i)
        batch[:k] = view[i : i + k]
        batch[k:] = 0.0
        out[i : i + k] = np.asarray(_predict_batch(graphdef, state, jnp.asarray(batch)))[:k]
    return out


def _rms_around(row: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """RMS of a 100 Hz ``row`` over ± `_RMS_HALF_WINDOW` s around each of ``centres`` (sample
    indices; the interval is clipped at the ends of ``row``)."""
    half = int(round(_RMS_HALF_WINDOW * SAMPLING_RATE))
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(row, np.float64) ** 2)])
    lo = np.clip(centres - half, 0, row.size - 1)
    hi = np.clip(centres + half, lo + 1, row.size)
    return np.sqrt((energy[hi] - energy[lo]) / (hi - lo)).astype(np.float32)


def _segment_traces(
    stats, starttime, sampling_rate: float, probabilities: np.ndarray, names, model_name: str,
    channels: dict[str, str], horizontal_rms: dict[str, np.ndarray],
) -> list[obspy.Trace]:  # fmt: skip
    """One segment's probability traces (row k of ``probabilities`` as channel ``names[k]``)
    with the codes of ``stats`` and the stats `pick` reads: ``model_name``,
    ``source_channels`` and, on the ``*_S`` trace, ``horizontal_rms`` (a `Stream` of the N and
    E rows of ``horizontal_rms``, named by their input channels)."""
    header = {"network": stats.network, "station": stats.station, "location": stats.location,
              "sampling_rate": sampling_rate, "starttime": starttime}  # fmt: skip
    traces = []
    for row, name in zip(probabilities, names):
        tr = obspy.Trace(np.ascontiguousarray(row), header=dict(header, channel=name))
        tr.stats.model_name = model_name
        tr.stats.source_channels = AttribDict(channels)
        if name.endswith("_S"):
            tr.stats.horizontal_rms = obspy.Stream([
                obspy.Trace(horizontal_rms[comp], header=dict(header, channel=channels[comp]))
                for comp in ("N", "E")
            ])  # fmt: skip
        traces.append(tr)
    return traces


def _by_channel(traces: list[obspy.Trace], names) -> obspy.Stream:
    """``traces`` ordered by channel (``names`` order), segments in time order within each."""
    return obspy.Stream(sorted(traces, key=lambda tr: names.index(tr.stats.channel)))


def _validated_model_name(model_name) -> str:
    if not isinstance(model_name, str) or not _MODEL_NAME.fullmatch(model_name):
        raise ValueError(f"model_name={model_name!r} must be a non-empty string of letters, "
                         "digits, '_', '.' or '-'")  # fmt: skip
    return model_name


def annotate(
    model: nnx.Module,
    stream: obspy.Stream,
    *,
    stride: int | None = None,
    batch_size: int | None = None,
    model_name: str | None = None,
) -> obspy.Stream:
    """Continuous P/S/noise probabilities for one station's three-component stream.

    For an `EQTransformer` this is `sjax.detect.eqt_annotate.annotate_eqt` (detection, P and S
    traces; defaults ``stride=3000``, ``batch_size=8``, ``model_name="eqt"``); the rest of this
    docstring is about `GPD`.

    The stream is cut into contiguous segments by `stream_to_segments` (100 Hz, N/E/Z, each
    detrended, tapered and band-passed 3–20 Hz on its own); in each segment of at least 400
    samples, windows of 400 samples every ``stride`` samples are classified by `predict_proba`
    (per-window max normalisation, inference-mode batch-norm) in batches of exactly
    ``batch_size`` windows (the last one zero-padded), so the jitted prediction compiles once
    per batch size. No window spans a gap.

    Args:
        model: a `GPD` or an `EQTransformer` (its mode is not changed).
        stream: ObsPy `Stream` of one station, see `stream_to_segments`.
        stride: window step in samples (default 10 = 0.1 s, the original GPD's).
        batch_size: windows per jitted call (default 256).
        model_name: recorded as ``stats.model_name`` (default ``"gpd"``; letters, digits,
            ``_.-``), used by `pick` in the picks' ``method_id``.

    Returns:
        `Stream` of float32 traces: for each channel of `PROBABILITY_CHANNELS` (P, S, noise), one
        trace per segment in time order, with the input's network/station/location codes,
        ``floor((n - 400) / stride) + 1`` samples for a segment of ``n`` samples, at
        ``100 / stride`` Hz, starting at the centre of the segment's first window (segment start
        + 2 s). Each trace's stats hold ``model_name`` and ``source_channels``, the input channel
        code per component (e.g. ``{"Z": "EHZ", "N": "EHN", "E": "EHE"}``); each ``GPD_S``
        trace also holds ``horizontal_rms``, a `Stream` of two traces (the N and E input
        channel codes, same start and rate as the probabilities) with the RMS of the filtered
        horizontal data over ± 1 s around each window centre, which `pick` uses to name the
        channel of an S pick.

    Raises:
        ValueError: bad ``stride``/``batch_size``/``model_name``, no common segment of 400
            samples (``npts``), or any error of `stream_to_segments`.
    """
    if isinstance(model, EQTransformer):
        from sjax.detect.eqt_annotate import annotate_eqt

        options = {"stride": stride, "batch_size": batch_size, "model_name": model_name}
        return annotate_eqt(model, stream, **{k: v for k, v in options.items() if v is not None})
    stride = 10 if stride is None else stride
    batch_size = 256 if batch_size is None else batch_size
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride={stride} must be a positive integer (samples)")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be a positive integer")
    model_name = _validated_model_name("gpd" if model_name is None else model_name)
    stride, batch_size = int(stride), int(batch_size)
    segments, channels = _segments(stream, SAMPLING_RATE, COMPONENTS, GPD_PREFILTER, 1)
    longest = max((data.shape[1] for data, _ in segments), default=0)
    if longest < WINDOW_SAMPLES:
        raise ValueError(f"npts: the longest stretch covered by all three components has "
                         f"{longest} samples at {SAMPLING_RATE:g} Hz, shorter than one "
                         f"{WINDOW_SAMPLES}-sample window")  # fmt: skip
    graphdef, state = nnx.split(model)
    traces = []
    for data, start in segments:
        if data.shape[1] < WINDOW_SAMPLES:
            continue
        out = _window_probabilities(graphdef, state, data, stride, batch_size)
        centres = np.arange(out.shape[0]) * stride + WINDOW_SAMPLES // 2
        rms = {comp: _rms_around(data[COMPONENTS.index(comp)], centres) for comp in ("N", "E")}
        traces += _segment_traces(stream[0].stats, start + centres[0] / SAMPLING_RATE,
                                  SAMPLING_RATE / stride, out.T, PROBABILITY_CHANNELS,
                                  model_name, channels, rms)  # fmt: skip
    return _by_channel(traces, PROBABILITY_CHANNELS)


def _half_width(prob: np.ndarray, idx: int, delta: float) -> float:
    """Half the duration (s) over which ``prob`` stays ≥ half its value at ``idx`` around it."""
    below = prob < 0.5 * prob[idx]
    left = np.flatnonzero(below[:idx])
    right = np.flatnonzero(below[idx + 1 :])
    first = left[-1] + 1 if left.size else 0
    last = idx + right[0] if right.size else prob.size - 1
    return 0.5 * float(last - first + 1) * delta


def _pick_channel(stats, phase: str, time: obspy.UTCDateTime) -> str:
    """The input channel of a pick: vertical for P, the larger-RMS horizontal for S."""
    if phase == "S" and stats.get("horizontal_rms"):
        amplitudes = []
        for env in stats.horizontal_rms:
            i = int(round((time - env.stats.starttime) * env.stats.sampling_rate))
            amplitudes.append((float(env.data[min(max(i, 0), env.stats.npts - 1)]),
                               env.stats.channel))  # fmt: skip
        return max(amplitudes)[1]
    if phase == "P" and "Z" in stats.get("source_channels", {}):
        return stats.source_channels["Z"]
    return stats.channel


def pick(
    prob_stream: obspy.Stream,
    *,
    threshold_on: float = 0.95,
    threshold_off: float = 0.1,
    phases: tuple[str, ...] = ("P", "S"),
    open_triggers: str = "drop",
) -> list[Pick]:
    """Picks from probability traces by hysteresis trigger + arg-max (original GPD rule).

    For every trace whose channel ends in ``_P`` or ``_S`` (see `PROBABILITY_CHANNELS`; several
    stations and segments may be mixed; each trace is triggered on its own, so no trigger spans
    a gap), `obspy.signal.trigger.trigger_onset` opens a trigger where the probability reaches
    ``threshold_on`` and closes it where it falls below ``threshold_off``; the pick is the time
    of the maximum inside the trigger. Defaults are the original GPD's on 0.95 / off 0.1 (Ross
    et al. 2018; SeisBench uses 0.7 / 0.35).

    A trigger is *open* when it has not closed by the trace's last sample (the end of the data or
    a gap) or was already on at its first sample (the start of the data or the end of a gap):
    its maximum may be an edge, not a peak. ``open_triggers="drop"`` (default) reports only
    closed triggers; ``"mark"`` keeps open ones with ``evaluation_status="preliminary"`` and a
    comment saying the trigger was open.

    Args:
        prob_stream: output of `annotate`.
        threshold_on, threshold_off: trigger thresholds, ``0 <= off <= on <= 1``.
        phases: phases to pick.
        open_triggers: ``"drop"`` or ``"mark"``.

    Returns:
        `obspy.core.event.Pick` list sorted by time: ``phase_hint`` "P"/"S"; ``waveform_id`` with
        the input channel (``stats.source_channels["Z"]`` for P; for S the horizontal channel of
        ``stats.horizontal_rms`` with the larger RMS at the pick; the probability channel when
        these stats are absent); ``time_errors.uncertainty`` the half-width (s) of the
        probability peak above half its maximum, ``confidence_level`` `PICK_CONFIDENCE_LEVEL`;
        ``evaluation_mode="automatic"``; ``method_id`` ``smi:local/sjax/detect/<model>``
        (``stats.model_name``, default ``gpd``); ``creation_info`` author ``sjax`` and its
        version; the peak probability in ``extra.probability`` (`SJAX_NAMESPACE`, written to
        QuakeML) and as the first comment, ``"probability=0.987654"``.

    Raises:
        ValueError: thresholds out of order or outside [0, 1]; unknown ``open_triggers``.
    """
    if not 0.0 <= threshold_off <= threshold_on <= 1.0:
        raise ValueError(f"threshold_off={threshold_off} and threshold_on={threshold_on} must "
                         "satisfy 0 <= threshold_off <= threshold_on <= 1")  # fmt: skip
    if open_triggers not in ("drop", "mark"):
        raise ValueError(f"open_triggers={open_triggers!r} must be 'drop' or 'mark'")
    picks = []
    for tr in prob_stream:
        phase = tr.stats.channel.rsplit("_", 1)[-1]
        if "_" not in tr.stats.channel or phase not in phases:
            continue
        prob = np.asarray(tr.data, dtype=np.float64)
        n = prob.size
        if n == 0:
            continue
        method = ResourceIdentifier(f"smi:local/sjax/detect/{tr.stats.get('model_name', 'gpd')}")
        for on, off in trigger_onset(prob, threshold_on, threshold_off):
            on, off = int(on), min(int(off), n - 1)
            edge = "start" if on == 0 else "end" if off == n - 1 else None
            if edge is not None and open_triggers == "drop":
                continue
            idx = on + int(np.argmax(prob[on : off + 1]))
            time = tr.stats.starttime + idx * tr.stats.delta
            comments = [Comment(text=f"probability={prob[idx]:.6f}")]
            if edge is not None:
                comments.append(Comment(text=f"trigger open at the {edge} of the probability "
                                        "trace (data end or gap): time is the maximum so far"))
            picked = Pick(
                time=time,
                time_errors=QuantityError(uncertainty=_half_width(prob, idx, tr.stats.delta),
                                          confidence_level=PICK_CONFIDENCE_LEVEL),
                waveform_id=WaveformStreamID(
                    network_code=tr.stats.network, station_code=tr.stats.station,
                    location_code=tr.stats.location,
                    channel_code=_pick_channel(tr.stats, phase, time),
                ),
                phase_hint=phase,
                evaluation_mode="automatic",
                evaluation_status="preliminary" if edge is not None else None,
                method_id=method,
                creation_info=CreationInfo(author="sjax", version=sjax.__version__),
                comments=comments,
            )  # fmt: skip
            picked.extra = AttribDict(
                {"probability": {"value": float(prob[idx]), "namespace": SJAX_NAMESPACE}}
            )
            picks.append(picked)
    picks.sort(key=lambda p: p.time)
    return picks


def picks_to_catalog(picks: list[Pick]) -> Catalog:
    """A `Catalog` with one `Event` holding ``picks`` (write with ``format="QUAKEML"``; pass
    ``nsmap={"sjax": SJAX_NAMESPACE}`` for a readable prefix of the extra elements)."""
    event = Event(picks=list(picks), event_type="not reported")
    return Catalog(events=[event], description="sjax picks")
