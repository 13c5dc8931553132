"""Bridges between sjax arrays and the ObsPy world."""

from __future__ import annotations

import numpy as np
import obspy

from sjax.wave.simulate import COMPONENTS, SimulationResult
from sjax.wave.sources import Receivers

__all__ = ["seismograms_to_stream"]

# sjax components -> SEED component letters: x = radial (R), y = transverse (T), z down -> Z up
_SEED = {"x": ("R", 1.0), "y": ("T", 1.0), "z": ("Z", -1.0)}


def seismograms_to_stream(
    result: SimulationResult,
    receivers: Receivers,
    wave: str,
    *,
    network: str = "SX",
    station_prefix: str = "S",
    starttime: obspy.UTCDateTime | None = None,
) -> obspy.Stream:
    """Convert simulated seismograms to an ObsPy `Stream` (one `Trace` per receiver and
    component).

    Channels are ``BX?`` (synthetic), with components ``R`` (x), ``T`` (y, SH) and ``Z`` (up,
    so the sign of sjax's downward z is flipped). Receiver coordinates (m) are stored in
    ``trace.stats.coordinates`` as ``x`` and ``depth``.

    Args:
        result: the `SimulationResult` of `sjax.wave.simulate` (one simulation, not a batch).
        receivers: the `Receivers` used.
        wave: ``"sh"`` or ``"psv"``.
        network, station_prefix: SEED codes; stations are numbered ``S000``, ``S001``...
        starttime: time of sample 0 (default 1970-01-01).
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
    dt = float(result.times[1] - result.times[0])
    start = obspy.UTCDateTime(0) if starttime is None else starttime
    stream = obspy.Stream()
    for k in range(traces.shape[0]):
        for c, name in enumerate(components):
            letter, sign = _SEED[name]
            trace = obspy.Trace(sign * traces[k, c].astype(np.float64))
            trace.stats.network = network
            trace.stats.station = f"{station_prefix}{k:03d}"
            trace.stats.channel = f"BX{letter}"
            trace.stats.delta = dt
            trace.stats.starttime = start
            trace.stats.coordinates = obspy.core.AttribDict(
                x=float(receivers.x[k]), depth=float(receivers.z[k])
            )
            stream.append(trace)
    return stream
