"""``sjax detect``: pick P and S phases in a waveform file with the shipped GPD weights.

`detect_stream` reads any ObsPy-readable file (or ``"rjob"``, ObsPy's bundled three-component
example event), annotates each station's three components (`sjax.detect.annotate`), picks by
hysteresis trigger + arg-max, and writes the probability traces (MiniSEED), the picks (QuakeML
and a text table) and a figure of waveforms, probabilities and picks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
import obspy

from sjax.detect.annotate import annotate, pick, picks_to_catalog
from sjax.detect.pretrained import GPD_TRIGGER_ON, pretrained_gpd

__all__ = ["read_waveforms", "detect_stream", "plot_annotation"]


def read_waveforms(source) -> obspy.Stream:
    """An ObsPy `Stream` from a `Stream`, a file path, or ``"rjob"`` (ObsPy's example event).

    Raises:
        ValueError: for a missing or unreadable file, or an empty stream.
    """
    if isinstance(source, obspy.Stream):
        stream = source.copy()
    elif str(source).lower() == "rjob":
        stream = obspy.read()  # bundled: BW.RJOB..EH?, 100 Hz, 30 s
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"waveform file not found: {str(source)!r} (any ObsPy-readable "
                             "format, or 'rjob' for ObsPy's bundled example)")  # fmt: skip
        try:
            stream = obspy.read(str(path))
        except Exception as error:  # ObsPy raises many types for unreadable files
            raise ValueError(f"could not read {str(source)!r} with ObsPy: {error}") from None
    if len(stream) == 0:
        raise ValueError(f"{source!r} holds no traces")
    return stream


def _by_station(stream: obspy.Stream) -> dict[str, obspy.Stream]:
    groups = defaultdict(obspy.Stream)
    for tr in stream:
        s = tr.stats
        groups[f"{s.network}.{s.station}.{s.location}.{s.channel[:2]}"].append(tr)
    return dict(groups)


def plot_annotation(stream: obspy.Stream, probabilities: obspy.Stream, picks, path) -> Path:
    """Figure: each component (normalised) above the P / S / noise probability traces, picks as
    vertical lines (P blue, S red). Returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(stream) + 1, 1, figsize=(10, 1.4 * (len(stream) + 1) + 0.6),
                             sharex=True)  # fmt: skip
    t0 = min(tr.stats.starttime for tr in stream)
    for ax, tr in zip(axes[:-1], stream):
        data = tr.data - np.mean(tr.data)
        ax.plot(tr.times(reftime=t0), data / max(np.abs(data).max(), 1e-30), "k", lw=0.5)
        ax.set_ylabel(tr.stats.channel, rotation=0, ha="right")
        ax.set_yticks([])
    colours = {"P": "tab:blue", "S": "tab:red", "N": "0.6"}
    for tr in probabilities:
        phase = tr.stats.channel.rsplit("_", 1)[-1]
        axes[-1].plot(tr.times(reftime=t0), tr.data, color=colours[phase], lw=1, label=phase)
    for p in picks:
        for ax in axes:
            ax.axvline(p.time - t0, color=colours[p.phase_hint], lw=1, ls="--")
    axes[-1].set_ylim(0, 1.05)
    axes[-1].set_ylabel("probability")
    axes[-1].set_xlabel(f"seconds after {t0.isoformat()[:19]}")
    axes[-1].legend(loc="upper right", ncol=3, fontsize=8)
    axes[0].set_title(f"{stream[0].id.rsplit('.', 1)[0].rstrip('.')}: GPD picks (dashed)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def detect_stream(
    source,
    *,
    out: str | Path = "detect_out",
    threshold_on: float = GPD_TRIGGER_ON,
    threshold_off: float = 0.1,
    model=None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Annotate and pick every station of a waveform file with GPD; write the results.

    Args:
        source: a file path, a `Stream`, or ``"rjob"``; stations need three components (Z, N/1,
            E/2), any sampling rate from 50 Hz up (resampled to 100 Hz).
        out: output folder: ``probabilities.mseed`` (channels ``GPP``, ``GPS``, ``GPN``: P, S and
            noise probability at 10 Hz), ``picks.xml`` (QuakeML), ``picks.txt``,
            ``detect_<station>.png`` and ``detect.json``.
        threshold_on, threshold_off: trigger thresholds of `pick` (default on: `GPD_TRIGGER_ON`
            = 0.99, chosen for the shipped weights).
        model: a `GPD` (default: the shipped `pretrained_gpd`).
        echo: where the pick table goes (``print`` by default).

    Returns:
        Summary dict (stations, picks with time/phase/probability, files).

    Raises:
        ValueError: unreadable input, or a station `annotate` cannot use (names the problem).
    """
    stream = read_waveforms(source)
    model = pretrained_gpd() if model is None else model
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    all_probabilities, all_picks, figures = obspy.Stream(), [], []
    for name, station in sorted(_by_station(stream).items()):
        try:
            probabilities = annotate(model, station)
        except ValueError as error:
            raise ValueError(f"station {name}: {error}") from None
        picks = pick(probabilities, threshold_on=threshold_on, threshold_off=threshold_off)
        all_probabilities += probabilities
        all_picks += picks
        figure = out / f"detect_{name.replace('.', '_')}.png"
        figures.append(plot_annotation(station, probabilities, picks, figure).name)
    all_picks.sort(key=lambda p: p.time)
    as_mseed = all_probabilities.copy()
    for tr in as_mseed:  # MiniSEED channel codes have 3 characters: GPD_P -> GPP, ...
        tr.stats.channel = "GP" + tr.stats.channel[-1]
    as_mseed.write(str(out / "probabilities.mseed"), format="MSEED")
    picks_to_catalog(all_picks).write(str(out / "picks.xml"), format="QUAKEML")
    rows = [
        {
            "time": str(p.time),
            "station": f"{p.waveform_id.network_code}.{p.waveform_id.station_code}",
            "phase": p.phase_hint,
            "probability": float(p.comments[0].text.split("=")[1]),
        }
        for p in all_picks
    ]
    lines = [f"{'time (UTC)':28s} {'station':12s} phase  probability"]
    lines += [f"{r['time']:28s} {r['station']:12s} {r['phase']:5s}  {r['probability']:.3f}"
              for r in rows]  # fmt: skip
    (out / "picks.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        echo(line)
    summary = {
        "stations": sorted(_by_station(stream)),
        "threshold_on": threshold_on,
        "threshold_off": threshold_off,
        "picks": rows,
        "files": ["probabilities.mseed", "picks.xml", "picks.txt", *figures],
    }
    (out / "detect.json").write_text(json.dumps(summary, indent=2))
    return summary
