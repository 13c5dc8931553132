"""Bridges between sjax arrays and the ObsPy world."""

from __future__ import annotations

import math

import numpy as np
import obspy

from sjax.wave.simulate import COMPONENTS, SimulationResult
from sjax.wave.sources import Receivers

__all__ = ["seismograms_to_stream", "round_sampling_rate", "band_code"]

# sjax components -> SEED component letters: x = radial (R), y = transverse (T), z down -> Z up
_SEED = {"x": ("R", 1.0), "y": ("T", 1.0), "z": ("Z", -1.0)}

# SEED band codes for broadband (long-period corner >= 10 s) channels, by sampling rate (Hz):
# (lowest rate of the band, code), highest band first (SEED manual v2.4, appendix A)
_BANDS = ((1000.0, "F"), (250.0, "C"), (80.0, "H"), (10.0, "B"), (1.0 + 1e-9, "M"),
          (0.5, "L"), (0.05, "V"), (0.005, "U"), (0.0, "R"))  # fmt: skip
_QUANTITY_UNITS = {"displacement": "m", "velocity": "m/s"}


def band_code(sampling_rate: float) -> str:
    """SEED band code (first channel letter) of a broadband channel sampled at
    ``sampling_rate`` Hz: F (≥ 1000), C (≥ 250), H (≥ 80), B (≥ 10), M (> 1), L (≈ 1), V,
    U."""
    for lowest, code in _BANDS:
        if sampling_rate >= lowest:
            return code
    raise ValueError(f"sampling_rate={sampling_rate} Hz must be positive")


def round_sampling_rate(rate: float) -> float:
    """Largest "round" rate ``{1, 2, 2.5, 4, 5} × 10^k`` Hz that does not exceed ``rate``
    (e.g. 1320 Hz → 1000 Hz, 659.9 Hz → 500 Hz)."""
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"sampling rate {rate} Hz must be positive and finite")
    decade = 10.0 ** math.floor(math.log10(rate))
    for mantissa in (10.0, 5.0, 4.0, 2.5, 2.0):
        if mantissa * decade <= rate * (1 + 1e-9):
            return mantissa * decade
    return decade


def seismograms_to_stream(
    result: SimulationResult,
    receivers: Receivers,
    wave: str,
    *,
    source=None,
    quantity: str | None = None,
    sampling_rate: float | str | None = "round",
    network: str = "SX",
    station_prefix: str = "S",
    starttime: obspy.UTCDateTime | str | None = None,
) -> obspy.Stream:
    """Convert simulated seismograms to an ObsPy `Stream` (one `Trace` per receiver and
    component).

    The simulation's time step (a CFL fraction, e.g. 1320.07 Hz) is rarely a rate other
    software expects, so by default the traces are resampled to a round rate
    (`round_sampling_rate`; a zero-phase low-pass at 0.4 × the new rate, then Lanczos
    interpolation); the time step of a stable run oversamples the wavelet, so this loses
    nothing that the grid resolved. Channels follow the SEED convention for synthetics:
    band code from the sampling rate (`band_code`), instrument ``X`` (synthetic), components
    ``R`` (x), ``T`` (y, SH) and ``Z`` (up, so the sign of sjax's downward z is flipped).

    Each trace carries the receiver position (m) in ``stats.coordinates`` (``x``, ``depth``)
    and, with ``source``, its horizontal offset from the source in ``stats.distance`` (m, as
    ObsPy's record-section plots use it) and SAC headers in ``stats.sac`` (``dist`` in km,
    ``evdp``, ``stdp`` in km, ``user0``/``user1`` receiver/source x in m), so that
    ``stream.write(..., format="SAC")`` keeps the distances. ``stats.sjax`` records the
    quantity, its unit and the original time step.

    Args:
        result: the `SimulationResult` of `sjax.wave.simulate` (one simulation, not a batch).
        receivers: the `Receivers` used.
        wave: ``"sh"`` or ``"psv"``.
        source: optional source of the run (anything with ``x`` and ``z`` in m).
        quantity: ``"displacement"`` or ``"velocity"`` (what `simulate` recorded), stored in
            ``stats.sjax``; optional.
        sampling_rate: ``"round"`` (default), a rate in Hz (at most the simulation's), or
            None to keep the simulation's own rate.
        network, station_prefix: SEED codes; stations are numbered ``S000``, ``S001``...
        starttime: time of sample 0 (an `obspy.UTCDateTime` or ISO string; default
            1970-01-01T00:00:00, ObsPy's default). Pass the event's origin time for real use.

    Returns:
        The `obspy.Stream`.
    """
    traces = np.asarray(result.traces)
    if traces.ndim != 3:
        raise ValueError(f"result.traces must be (n_receiver, n_component, n_time), got "
                         f"{traces.shape}")  # fmt: skip
    components = COMPONENTS[wave]
    if traces.shape[:2] != (receivers.n_receiver, len(components)):
        raise ValueError(
            f"result.traces {traces.shape} do not match {receivers.n_receiver} receivers and "
            f"components {components} of wave={wave!r}"
        )
    if quantity is not None and quantity not in _QUANTITY_UNITS:
        raise ValueError(f"quantity={quantity!r} must be 'displacement' or 'velocity'")
    dt = float(result.times[1] - result.times[0])
    native = 1.0 / dt
    target = _target_rate(sampling_rate, native)
    start = obspy.UTCDateTime(0) if starttime is None else obspy.UTCDateTime(starttime)
    channel_band = band_code(native if target is None else target)
    stream = obspy.Stream()
    for k in range(traces.shape[0]):
        x_receiver, z_receiver = float(receivers.x[k]), float(receivers.z[k])
        for c, name in enumerate(components):
            letter, sign = _SEED[name]
            trace = obspy.Trace(sign * traces[k, c].astype(np.float64))
            trace.stats.network = network
            trace.stats.station = f"{station_prefix}{k:03d}"
            trace.stats.channel = f"{channel_band}X{letter}"
            trace.stats.delta = dt
            trace.stats.starttime = start
            trace.stats.coordinates = obspy.core.AttribDict(x=x_receiver, depth=z_receiver)
            trace.stats.sjax = obspy.core.AttribDict(
                quantity=quantity or "unknown", unit=_QUANTITY_UNITS.get(quantity, "unknown"),
                simulation_dt_s=dt, wave=wave,
            )  # fmt: skip
            if source is not None:
                x_source, z_source = float(source.x), float(source.z)
                trace.stats.distance = abs(x_receiver - x_source)
                trace.stats.sac = obspy.core.AttribDict(
                    dist=abs(x_receiver - x_source) / 1e3, evdp=z_source / 1e3,
                    stdp=z_receiver / 1e3, user0=x_receiver, user1=x_source,
                )  # fmt: skip
            stream.append(trace)
    if target is not None and abs(target - native) > 1e-9 * native:
        stream.filter("lowpass", freq=0.4 * target, corners=8, zerophase=True)
        stream.interpolate(target, method="lanczos", a=20)
    return stream


def _target_rate(sampling_rate, native: float) -> float | None:
    if sampling_rate is None:
        return None
    if sampling_rate == "round":
        return round_sampling_rate(native)
    if isinstance(sampling_rate, str):
        raise ValueError(f"sampling_rate={sampling_rate!r} must be 'round', a rate in Hz or None")
    rate = float(sampling_rate)
    if not (np.isfinite(rate) and 0 < rate <= native * (1 + 1e-9)):
        raise ValueError(f"sampling_rate={sampling_rate} Hz must be positive and at most the "
                         f"simulation's {native:.6g} Hz (1/dt)")  # fmt: skip
    return rate
