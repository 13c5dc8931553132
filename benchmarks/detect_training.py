"""Benchmark of the synthetic GPD's training distribution: the shipped synthetic model before and
after the retraining of issue 17 (soft labels, S − P 0.3–30 s, overlapping events, real-noise
augmentation), the published weights fine-tuned on the same synthetics, and the published
weights themselves, scored on the same held-out data.

Models (each with its own trigger; `pick`'s arg-max inside a trigger):

* ``before``: the synthetic GPD shipped before the retraining (hard labels, S − P 2.5–10 s;
  trigger 0.99 / 0.1). Not shipped any more: pass its file with ``--before`` (it is
  ``sjax/detect/weights/gpd.msgpack`` of commit a54e12f); without it the records have no
  baseline.
* ``after``: ``pretrained_gpd("synthetic")`` with `GPD_TRIGGER_ON` / 0.1 (the value).
* ``fine_tuned``: ``--fine-tuned PATH`` (``scripts/train_detectors.py --models
  gpd_from_ross2018``: the published weights fine-tuned 2 epochs on the same synthetics), with
  the after model's trigger; optional.
* ``ross2018``: ``pretrained_gpd("ross2018")`` with `GPD_ROSS2018_TRIGGER_ON` / 0.1.

Held-out sets (seed 271828, not a training or threshold-choice seed):

* synthetic continuous records (`synthetic_continuous`, P-SNR 5–20) of ``duration`` each with
  S − P in 2.5–10 s (the old training range), 0.3–2.5 s and 10–30 s (events every 45 s):
  fraction of P picks within 0.1 s and S picks within 0.2 s, false picks among the events;
* synthetic noise only: false picks per hour;
* real noise held out from training (`real_noise_records(part="test")`: quiet stretches of the
  last 15 minutes of ObsPy's two PPSD reference records, pseudo three-component, 60 s each):
  picks per hour;
* real recordings (ObsPy's RJOB and BW.UH3, the 4 P and 4 S onsets of ``benchmarks/detect.py``):
  P and S picked, mean pick error, false picks per hour of their noise.

``ratio`` = after / before where a before model is given. Usage: ``python
benchmarks/detect_training.py [--quick] [--out PATH] [--before PATH] [--fine-tuned PATH]``; the
full run (30 min per synthetic set) takes about 3 minutes on 2 cores and writes
``benchmarks/results/detect_training.json``; ``--quick`` (4 min per set, 5 real-noise records)
under a minute.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402
import obspy  # noqa: E402
from flax import nnx  # noqa: E402

from sjax.detect import (  # noqa: E402
    GPD,
    GPD_ROSS2018_TRIGGER_ON,
    GPD_TRIGGER_ON,
    annotate,
    pick,
    pretrained_gpd,
    score_picks,
    synthetic_continuous,
)
from sjax.detect.real_noise import real_noise_records  # noqa: E402
from sjax.detect.train import load_weights  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SEED = 271828
FULL = {"duration": 1800.0, "real_noise_records": 30}
QUICK = {"duration": 240.0, "real_noise_records": 5}
SETS = {  # name: synthetic_continuous keyword arguments
    "sp_2.5_10s": {},
    "sp_0.3_2.5s": {"s_minus_p": (0.3, 2.5)},
    "sp_10_30s": {"s_minus_p": (10.0, 30.0), "event_every": 45.0},
}
START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - START:4.0f} s] {message}", flush=True)


def _detect_benchmark():
    """``benchmarks/detect.py`` as a module (its real recordings, onsets and scoring)."""
    spec = importlib.util.spec_from_file_location("detect_benchmark", HERE / "detect.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _from_file(path: str):
    return load_weights(path, nnx.eval_shape(lambda: GPD(rngs=nnx.Rngs(0))))


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def models(before: str | None, fine_tuned: str | None) -> dict:
    """name -> (model, threshold_on, threshold_off, provenance)."""
    out = {}
    if before:
        out["before"] = (_from_file(before), 0.99, 0.1, f"{before} (sha256 {_sha256(before)})")
    out["after"] = (pretrained_gpd("synthetic"), GPD_TRIGGER_ON, 0.1,
                    'pretrained_gpd("synthetic")')  # fmt: skip
    if fine_tuned:
        out["fine_tuned"] = (_from_file(fine_tuned), GPD_TRIGGER_ON, 0.1,
                             f"{fine_tuned} (sha256 {_sha256(fine_tuned)})")  # fmt: skip
    out["ross2018"] = (pretrained_gpd("ross2018"), GPD_ROSS2018_TRIGGER_ON, 0.1,
                       'pretrained_gpd("ross2018")')  # fmt: skip
    return out


def synthetic_scores(model, on, off, config) -> dict:
    key = jax.random.key(SEED)
    out = {}
    for i, (name, kwargs) in enumerate(SETS.items()):
        events = synthetic_continuous(jax.random.fold_in(key, i), config["duration"],
                                      snr=(5.0, 20.0), **kwargs)  # fmt: skip
        scores = score_picks(pick(annotate(model, events.stream), threshold_on=on,
                                  threshold_off=off), events.p_times, events.s_times)  # fmt: skip
        out[name] = {"events": len(events.p_times), "p_within_0.1s": scores.p_within,
                     "s_within_0.2s": scores.s_within, "false_picks": scores.false_picks}  # fmt: skip
    noise = synthetic_continuous(jax.random.fold_in(key, 99), config["duration"],
                                 event_every=None)  # fmt: skip
    picks = pick(annotate(model, noise.stream), threshold_on=on, threshold_off=off)
    out["synthetic_noise_picks_per_h"] = len(picks) / (config["duration"] / 3600.0)
    return out


def real_noise_rate(model, on, off, config) -> float:
    """Picks per hour on held-out real noise (pseudo three-component 60-s records)."""
    records = real_noise_records(jax.random.key(SEED), config["real_noise_records"], part="test")
    count = 0
    for record in records:
        stream = obspy.Stream()
        for c, component in enumerate("NEZ"):
            trace = obspy.Trace(record[c], header={"sampling_rate": 100.0, "station": "REF",
                                                   "channel": "EH" + component})  # fmt: skip
            stream.append(trace)
        count += len(pick(annotate(model, stream), threshold_on=on, threshold_off=off))
    return count / (len(records) * records.shape[-1] / 100.0 / 3600.0)


def real_recording_scores(detect, model, on, off) -> dict:
    scores = {}
    for station, stream in detect.real_streams().items():
        probabilities = annotate(model, stream)
        picks = pick(probabilities, threshold_on=on, threshold_off=off)
        scores[station] = detect.station_scores(
            probabilities, picks, detect.REAL_ONSETS[station],
            detect.UH3_UNLISTED if station == "UH3" else ())  # fmt: skip
    summary = detect._summary(scores)
    return {k: summary[k] for k in ("p_picked", "s_picked", "error", "false_rate", "p_peak")}


def run(quick: bool, before: str | None, fine_tuned: str | None) -> dict:
    config = QUICK if quick else FULL
    detect = _detect_benchmark()
    scores, provenance = {}, {}
    for name, (model, on, off, source) in models(before, fine_tuned).items():
        start = time.perf_counter()
        scores[name] = {**synthetic_scores(model, on, off, config),
                        "real_noise_picks_per_h": real_noise_rate(model, on, off, config),
                        "real": real_recording_scores(detect, model, on, off)}  # fmt: skip
        provenance[name] = {"source": source, "threshold_on": on, "threshold_off": off}
        progress(f"{name}: {json.dumps(scores[name])} ({time.perf_counter() - start:.0f} s)")
    records = []

    def add(metric, unit, getter, target="report"):
        base = getter(scores["before"]) if "before" in scores else None
        value = getter(scores["after"])
        extra = {name: getter(s) for name, s in scores.items() if name not in ("before", "after")}
        ratio = None if base in (None, 0) or value is None else value / base
        records.append({"name": f"gpd_synthetic_{metric}", "value": value, "unit": unit,
                        "baseline": "before" if base is not None else None,
                        "baseline_value": base, "ratio": ratio, "target": target,
                        **{f"{k}_value": v for k, v in extra.items()}})  # fmt: skip

    for name in SETS:
        add(f"{name}_p_within_0.1s", "fraction of P onsets", lambda s, n=name: s[n]["p_within_0.1s"])
        add(f"{name}_s_within_0.2s", "fraction of S onsets", lambda s, n=name: s[n]["s_within_0.2s"])
        add(f"{name}_false_picks", "picks", lambda s, n=name: s[n]["false_picks"])
    add("synthetic_noise_picks_per_h", "picks/h", lambda s: s["synthetic_noise_picks_per_h"])
    add("real_noise_picks_per_h", "picks/h", lambda s: s["real_noise_picks_per_h"])
    add("real_p_picked", "of 4 P onsets (0.2 s)", lambda s: s["real"]["p_picked"])
    add("real_s_picked", "of 4 S onsets (0.3 s)", lambda s: s["real"]["s_picked"])
    add("real_pick_error_mean", "s", lambda s: s["real"]["error"])
    add("real_p_peak_probability_min", "probability", lambda s: s["real"]["p_peak"])
    add("real_recording_noise_picks_per_h", "picks/h", lambda s: s["real"]["false_rate"])
    devices = jax.devices()
    return {
        "part": "detect_training",
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "jax": jax.__version__, "devices": f"{devices[0].platform} x{len(devices)}",
        "quick": quick, "seed": SEED, "config": config, "models": provenance,
        "notes": "value = after (the retrained pretrained_gpd('synthetic')), baseline = before "
                 "(the previous synthetic weights), *_value = the other models; each model "
                 "with its own trigger (models[*].threshold_on/off). Synthetic sets: P-SNR "
                 "5-20, P within 0.1 s, S within 0.2 s (score_picks). Real recordings: "
                 "benchmarks/detect.py's RJOB + BW.UH3 onsets and scoring.",
        "scores": scores, "records": records,
    }  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--before", default=None, help="weights file of the earlier model")
    parser.add_argument("--fine-tuned", default=None, help="weights file of the fine-tuned model")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("detect_training_quick.json" if args.quick
                                 else "detect_training.json")  # fmt: skip
    result = run(args.quick, args.before, args.fine_tuned)
    print(f"\n{'name':48s} {'after':>8s} {'before':>8s}  others")
    for rec in result["records"]:
        fmt = lambda v: "-" if v is None else f"{v:.3g}"  # noqa: E731
        others = ", ".join(f"{k[:-6]} {fmt(v)}" for k, v in rec.items() if k.endswith("_value")
                           and k != "baseline_value")  # fmt: skip
        print(f"{rec['name']:48s} {fmt(rec['value']):>8s} {fmt(rec['baseline_value']):>8s}  "
              f"{others}")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({time.perf_counter() - START:.0f} s)")


if __name__ == "__main__":
    main()
