"""``sjax detect``: pick P and S phases in waveform files with a shipped picker
(`DETECT_MODELS`: the published GPD by default, EQTransformer, the synthetic-trained GPD).

`detect_stream` reads ObsPy-readable files (several paths and glob patterns are read into one
stream; or ``"rjob"`` / ``"uh3"``, ObsPy's example recordings), annotates each station's
three components (`sjax.detect.annotate`; gaps split the data into segments), picks by
hysteresis trigger + arg-max, and writes the probability traces (MiniSEED), the picks (QuakeML
and a text table) and a figure of waveforms, probabilities and picks per station. A station
that cannot be annotated (e.g. a single component) is skipped with a warning.
"""

from __future__ import annotations

import glob
import json
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import obspy

from sjax.detect.annotate import SJAX_NAMESPACE, annotate, pick, picks_to_catalog
from sjax.detect.eqt import EQTransformer, pretrained_eqt
from sjax.detect.eqt_annotate import EQT_TRIGGER_OFF, EQT_TRIGGER_ON
from sjax.detect.pretrained import GPD_ROSS2018_TRIGGER_ON, GPD_TRIGGER_ON, pretrained_gpd

__all__ = ["DETECT_MODELS", "UH3_PATTERN", "DetectModel", "read_waveforms", "detect_stream",
           "plot_annotation"]  # fmt: skip


class DetectModel(NamedTuple):
    """A shipped picker as `detect_stream` / ``sjax detect --model`` uses it.

    Attributes:
        description: one line for the help text.
        load: returns the module (`GPD` or `EQTransformer`) with its weights.
        model_name: ``stats.model_name`` of its probability traces (the picks' ``method_id``).
        threshold_on, threshold_off: default trigger thresholds of `pick`.
    """

    description: str
    load: Callable[[], object]
    model_name: str
    threshold_on: float
    threshold_off: float


DETECT_MODELS: dict[str, DetectModel] = {
    "gpd": DetectModel("GPD with the published weights of Ross et al. (2018), trained on 4.5 M "
                       "Southern California seismograms (default)",
                       lambda: pretrained_gpd("ross2018"), "gpd_ross2018",
                       GPD_ROSS2018_TRIGGER_ON, 0.1),
    "eqt": DetectModel("EQTransformer with the published weights of Mousavi et al. (2020)",
                       pretrained_eqt, "eqt_mousavi2020", EQT_TRIGGER_ON, EQT_TRIGGER_OFF),
    "gpd-synthetic": DetectModel("GPD trained by sjax on its own synthetic records (a start for "
                                 "training and transfer learning)",
                                 lambda: pretrained_gpd("synthetic"), "gpd_synthetic",
                                 GPD_TRIGGER_ON, 0.1),
}  # fmt: skip
"""The pickers `detect_stream` loads by name."""

_GLOB_CHARACTERS = "*?["


UH3_PATTERN = str(Path(obspy.__file__).parent / "signal" / "tests" / "data"
                  / "BW.UH3._.SH?.D.2010.147.cut.slist.gz")  # fmt: skip
"""ObsPy's test recording of station BW.UH3 (SHE/SHN/SHZ, 50 Hz, 230 s, 2010-05-27, three local
events with S − P ≈ 1.2 s), read by ``"uh3"``; part of ObsPy installations with its tests."""


def _read_one(source) -> obspy.Stream:
    """A `Stream`, ``"rjob"``, ``"uh3"``, a file path or a glob pattern as a `Stream`."""
    if isinstance(source, obspy.Stream):
        return source.copy()
    text = str(source)
    if text.lower() == "rjob":
        return obspy.read()  # bundled: BW.RJOB..EH?, 100 Hz, 30 s
    if text.lower() == "uh3":
        if not glob.glob(UH3_PATTERN):
            raise ValueError("'uh3' needs ObsPy's test data (obspy/signal/tests/data), which "
                             "this ObsPy installation lacks")  # fmt: skip
        text = UH3_PATTERN
    if Path(text).is_file():
        paths = [text]
    elif any(c in text for c in _GLOB_CHARACTERS):
        paths = [p for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
        if not paths:
            raise ValueError(f"no waveform file matches the pattern {text!r}")
    else:
        raise ValueError(f"waveform file not found: {text!r} (any ObsPy-readable format, a "
                         "glob pattern, or 'rjob' / 'uh3' for ObsPy's example recordings)")  # fmt: skip
    stream = obspy.Stream()
    for path in paths:
        try:
            stream += obspy.read(path)
        except Exception as error:  # ObsPy raises many types for unreadable files
            raise ValueError(f"could not read {path!r} with ObsPy: {error}") from None
    return stream


def read_waveforms(source) -> obspy.Stream:
    """An ObsPy `Stream` from a `Stream`, a file path, a glob pattern (``*``, ``?``, ``[...]``,
    ``**``), ``"rjob"`` (ObsPy's example event, 100 Hz), ``"uh3"`` (`UH3_PATTERN`, three local
    events at 50 Hz), or a list of these, all read into one stream.

    Raises:
        ValueError: for a missing or unreadable file, a pattern matching no file (named), no
            source, or an empty stream.
    """
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    if not sources:
        raise ValueError("no waveform source given (file paths, glob patterns or 'rjob')")
    stream = obspy.Stream()
    for item in sources:
        stream += _read_one(item)
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
    """Figure: each channel (normalised; gaps left blank) above the probability traces (one
    per segment: P, S and GPD's noise or EQTransformer's detection), picks as vertical lines
    (P blue, S red); the title names ``stats.model_name``. Returns the path written."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # files only; a notebook's backend is kept
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    waveforms = stream.copy()
    for tr in waveforms:  # merge needs one dtype per channel
        tr.data = tr.data.astype(np.float64)
    waveforms.merge()  # one trace per channel, gaps masked
    fig, axes = plt.subplots(len(waveforms) + 1, 1, sharex=True,
                             figsize=(10, 1.4 * (len(waveforms) + 1) + 0.6))  # fmt: skip
    t0 = min(tr.stats.starttime for tr in waveforms)
    for ax, tr in zip(axes[:-1], waveforms):
        data = tr.data - np.mean(tr.data)
        ax.plot(tr.times(reftime=t0), data / max(np.abs(data).max(), 1e-30), "k", lw=0.5)
        ax.set_ylabel(tr.stats.channel, rotation=0, ha="right")
        ax.set_yticks([])
    colours = {"P": "tab:blue", "S": "tab:red", "N": "0.6", "D": "0.4"}
    names = {"P": "P", "S": "S", "N": "noise", "D": "detection"}
    labelled = set()
    for tr in probabilities:
        phase = tr.stats.channel.rsplit("_", 1)[-1]
        axes[-1].plot(tr.times(reftime=t0), tr.data, color=colours[phase], lw=1,
                      label=None if phase in labelled else names[phase])  # fmt: skip
        labelled.add(phase)
    for p in picks:
        for ax in axes:
            ax.axvline(p.time - t0, color=colours[p.phase_hint], lw=1, ls="--")
    axes[-1].set_ylim(0, 1.05)
    axes[-1].set_ylabel("probability")
    axes[-1].set_xlabel(f"seconds after {t0.isoformat()[:19]}")
    axes[-1].legend(loc="upper right", ncol=3, fontsize=8)
    model = probabilities[0].stats.get("model_name", "gpd") if len(probabilities) else "gpd"
    axes[0].set_title(f"{waveforms[0].id.rsplit('.', 1)[0].rstrip('.')}: {model} picks "
                      "(dashed)")  # fmt: skip
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def detect_stream(
    source,
    *,
    out: str | Path = "detect_out",
    threshold_on: float | None = None,
    threshold_off: float | None = None,
    model="gpd",
    echo: Callable[[str], None] = print,
) -> dict:
    """Annotate and pick every station of waveform files; write the results.

    Stations are grouped by network, station, location and the first two channel letters
    (band and instrument). A station that cannot be annotated (a missing component, a sampling
    rate below 50 Hz, an undeterminable orientation, no 4 s without a gap, ...) is skipped with
    a `UserWarning` and a line on ``echo`` naming it and the reason, and listed under
    ``"skipped"`` in the summary; the other stations are processed.

    Args:
        source: a file path, a glob pattern, a `Stream`, ``"rjob"``, or a list of these (all
            read into one stream, see `read_waveforms`); stations need three components (Z,
            N/1, E/2, or orientations in the headers), any sampling rate from 50 Hz up
            (resampled to 100 Hz).
        out: output folder: ``probabilities.mseed`` (one trace per gap-free segment; GPD:
            channels ``GPP``, ``GPS``, ``GPN``, P, S and noise probability at 10 Hz;
            EQTransformer: ``EQD``, ``EQP``, ``EQS``, detection, P and S at 100 Hz),
            ``picks.xml`` (QuakeML), ``picks.txt``, ``detect_<station>.png`` and
            ``detect.json``.
        threshold_on, threshold_off: trigger thresholds of `pick`; default the model's
            (`DETECT_MODELS`: 0.95 / 0.1 for the published GPD, 0.1 / 0.05 for EQTransformer,
            0.96 / 0.1 for the synthetic GPD).
        model: a name of `DETECT_MODELS` (default ``"gpd"``, the published GPD weights), or a
            `GPD` / `EQTransformer` module (thresholds default to the published model's of
            that kind).
        echo: where the skipped stations and the pick table go (``print`` by default).

    Returns:
        Summary dict: ``stations`` (processed), ``skipped`` (``{"station", "reason"}`` each),
        thresholds, ``picks`` (time, station, channel, phase, probability, uncertainty in s) and
        ``files``.

    Raises:
        ValueError: bad thresholds, unreadable input, or no station could be processed (lists
            each station and why it was skipped).
    """
    spec = _model_spec(model)
    threshold_on = spec.threshold_on if threshold_on is None else threshold_on
    if threshold_off is None:  # the model's, or lower: a user's low threshold_on stays valid
        threshold_off = min(spec.threshold_off, threshold_on)
    pick(obspy.Stream(), threshold_on=threshold_on, threshold_off=threshold_off)  # checks them
    stream = read_waveforms(source)
    model = spec.load() if isinstance(model, str) else model
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    all_probabilities, all_picks, figures, stations, skipped = obspy.Stream(), [], [], [], []
    for name, station in sorted(_by_station(stream).items()):
        try:
            probabilities = annotate(model, station, model_name=spec.model_name)
        except Exception as error:  # one bad station must not stop the others
            reason = str(error)
            if not isinstance(error, ValueError):  # the checks of annotate raise ValueError
                reason = f"{type(error).__name__}: {reason}"
            warnings.warn(f"station {name} skipped: {reason}", UserWarning, stacklevel=2)
            echo(f"skipped station {name}: {reason}")
            skipped.append({"station": name, "reason": reason})
            continue
        picks = pick(probabilities, threshold_on=threshold_on, threshold_off=threshold_off)
        stations.append(name)
        all_probabilities += probabilities
        all_picks += picks
        figure = out / f"detect_{name.replace('.', '_')}.png"
        figures.append(plot_annotation(station, probabilities, picks, figure).name)
    if not stations:
        reasons = "; ".join(f"station {s['station']}: {s['reason']}" for s in skipped)
        raise ValueError(f"no station could be processed; {reasons}")
    all_picks.sort(key=lambda p: p.time)
    as_mseed = all_probabilities.copy()
    for tr in as_mseed:  # MiniSEED channel codes have 3 characters: GPD_P -> GPP, EQT_D -> EQD
        tr.stats.channel = tr.stats.channel[:2] + tr.stats.channel[-1]
    as_mseed.write(str(out / "probabilities.mseed"), format="MSEED")
    picks_to_catalog(all_picks).write(str(out / "picks.xml"), format="QUAKEML",
                                      nsmap={"sjax": SJAX_NAMESPACE})  # fmt: skip
    rows = [
        {
            "time": str(p.time),
            "station": f"{p.waveform_id.network_code}.{p.waveform_id.station_code}",
            "channel": p.waveform_id.channel_code,
            "phase": p.phase_hint,
            "probability": float(p.extra["probability"]["value"]),
            "uncertainty_s": float(p.time_errors.uncertainty),
        }
        for p in all_picks
    ]
    lines = [f"{'time (UTC)':28s} {'station':12s} channel phase  probability  uncertainty (s)"]
    lines += [f"{r['time']:28s} {r['station']:12s} {r['channel']:7s} {r['phase']:5s}  "
              f"{r['probability']:11.3f}  {r['uncertainty_s']:.2f}" for r in rows]  # fmt: skip
    (out / "picks.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        echo(line)
    summary = {
        "model": spec.model_name,
        "stations": stations,
        "skipped": skipped,
        "threshold_on": threshold_on,
        "threshold_off": threshold_off,
        "picks": rows,
        "files": ["probabilities.mseed", "picks.xml", "picks.txt", *figures],
    }
    (out / "detect.json").write_text(json.dumps(summary, indent=2))
    return summary


def _model_spec(model) -> DetectModel:
    """The `DetectModel` of a name, or the published model of a module's kind."""
    if isinstance(model, str):
        if model not in DETECT_MODELS:
            raise ValueError(f"model={model!r} is not a shipped picker; choose one of "
                             f"{', '.join(map(repr, DETECT_MODELS))}")  # fmt: skip
        return DETECT_MODELS[model]
    if isinstance(model, EQTransformer):
        return DETECT_MODELS["eqt"]._replace(model_name="eqt")
    return DETECT_MODELS["gpd"]._replace(model_name="gpd")
