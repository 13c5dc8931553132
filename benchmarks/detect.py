"""Benchmark of `sjax.detect`: GPD continuous annotation and GPD training throughput on the CPU.

What is measured (float32, on whatever device JAX picks; recorded in ``devices``):

* **Continuous annotation** (``gpd_annotate_day_cpu``, station-days/s) — `sjax.detect.annotate`
  of one station's three-component 100 Hz noise record from ``synthetic_continuous(key,
  duration, event_every=None)`` with the shipped weights (`pretrained_gpd`), stride 10 samples
  (the GPD rule: one 400-sample window every 0.1 s), the full pipeline included (detrend, causal
  3–20 Hz band-pass, windowing, per-window normalisation, jitted batches, output `Stream`). For
  each batch size (256, 1024, 4096; 256 only with ``--quick``) the prediction is first compiled
  on the record's first 60 s, then the whole record is annotated once and timed; the fastest
  batch size is timed again, interleaved with the peer, and its best time is the value. The
  cost is linear in the number of windows, so station-days/s = (record length / 86 400 s) /
  seconds. A whole day (864 000 windows) would take about half an hour per call on a shared
  2-core CPU, so the full run annotates ``DURATION`` = 30 min (17 961 windows) and scales; the
  record says so (``record_s``, ``scaled_to_day``).
* **Peer: SeisBench GPD** (same run, same stream) — ``seisbench.models.GPD()`` with random
  weights (the architecture is what costs; weights do not change the arithmetic) and its
  ``annotate(stream)`` defaults: stride 10, batch 256, per-window demean + max-normalisation,
  PyTorch CPU with ``torch.set_num_threads(2)`` (the two cores XLA's CPU client uses). It is
  warmed up on the first 60 s, then timed twice, alternating with sjax so that both see the same
  load on the shared CPU; the best time counts. SeisBench applies no band-pass for a model
  without pretrained defaults, sjax does (a few % of its time), so the comparison slightly
  favours the peer. ``ratio`` = sjax / SeisBench station-days/s, target ≥ 1.
* **Training** (``gpd_training_samples_per_s_cpu``, windows/s) — `sjax.detect.train.train_step`
  (forward + backward + AdamW update of `make_optimizer`, training-mode batch-norm) on a `GPD`
  with a batch of 256 (64 with ``--quick``) random max-normalised windows and random labels;
  one compiling step, then the median of ``TRAIN_STEPS`` timed steps (each waited for with
  ``block_until_ready``). Peer: the same step of SeisBench's torch GPD on the same windows
  (``(batch, 3, 400)`` layout): ``cross_entropy(model(x, logits=True), y)``, ``backward()``,
  ``torch.optim.AdamW(lr=1e-3, weight_decay=1e-4)`` step, 2 torch threads; one untimed step,
  then the median of the same number of steps. ``ratio`` = sjax / torch windows/s.
* **GPU (not measured here)** — ``gpd_annotate_day_gpu_h100`` is a static record of a separate
  measurement of the same annotate call on an NVIDIA H100 (``"measured_here": false``); it is
  written only by the full run.

Peer availability: SeisBench and PyTorch are not sjax dependencies. When either cannot be
imported, or when the environment variable ``SJAX_BENCH_NO_PEER=1`` is set (to check that path
with the peer installed), the peer is skipped: its records get ``baseline``,
``baseline_value`` and ``ratio`` null and a note saying why.

LAPACK threads: as in ``benchmarks/aftershock.py``, ``OPENBLAS_NUM_THREADS=1`` is set (unless
already set) before NumPy and JAX load OpenBLAS; GPD itself uses no LAPACK.

Usage: ``python benchmarks/detect.py [--quick] [--out PATH]``. The full run (about 6–8 minutes
on a busy 2-core CPU) writes ``benchmarks/results/detect.json``; ``--quick`` (a 3-minute record,
batch 256 only, training batch 64; well under a minute without the peer) writes
``benchmarks/results/detect_quick.json``. The 1-minute load average at the start and the end
is stored, since other processes on the shared CPU slow every timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

# Before numpy/jax load OpenBLAS (see the module docstring).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from sjax.detect import GPD, annotate, normalize_windows, pretrained_gpd  # noqa: E402
from sjax.detect import synthetic_continuous  # noqa: E402
from sjax.detect.train import make_optimizer, train_step  # noqa: E402

DAY = 86_400.0  # s
STRIDE = 10  # samples between windows (GPD and SeisBench default)
COMPILE_SPAN = 60.0  # s of the record used to compile / warm up
TORCH_THREADS = 2
FULL = {"duration": 1800.0, "batch_sizes": (256, 1024, 4096), "peer_repeats": 2,
        "train_batch": 256, "train_steps": 5}  # fmt: skip
QUICK = {"duration": 180.0, "batch_sizes": (256,), "peer_repeats": 1,
         "train_batch": 64, "train_steps": 3}  # fmt: skip
GPU_RECORD = {
    "name": "gpd_annotate_day_gpu_h100", "value": 0.135, "unit": "station-days/s",
    "baseline": None, "baseline_value": None, "ratio": None, "target": "report",
    "measured_here": False, "device": "NVIDIA H100", "jax": "0.11.2", "batch_size": 4096,
    "seconds_per_day": 7.4,
    "note": "measured on an NVIDIA H100 in a separate run of the same annotate call (quarter "
            "day, warm); not re-run by this script",
}  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"
START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - START:4.0f} s] {message}", flush=True)


def timed(fn) -> float:
    """Wall seconds of one call of ``fn()`` (its result waited for)."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# The peer (optional)
# --------------------------------------------------------------------------------------------


def load_peer():
    """``(torch, seisbench.models)`` or ``(None, reason)`` when the peer is not to be run."""
    if os.environ.get("SJAX_BENCH_NO_PEER", "") not in ("", "0"):
        return None, "peer skipped: SJAX_BENCH_NO_PEER is set"
    try:
        import seisbench.models as sbm
        import torch
    except ImportError as error:
        return None, f"peer skipped: seisbench/torch not importable ({error})"
    torch.set_num_threads(TORCH_THREADS)
    return torch, sbm


# --------------------------------------------------------------------------------------------
# Annotation
# --------------------------------------------------------------------------------------------


def annotation_timings(config, peer) -> dict:
    """Seconds of sjax's annotate per batch size (sweep + interleaved repeats) and of the peer."""
    duration = config["duration"]
    stream = synthetic_continuous(jax.random.key(0), duration, event_every=None).stream
    start = stream[0].stats.starttime
    short = stream.slice(start, start + COMPILE_SPAN)
    progress(f"synthetic record: {duration:.0f} s, 3 x {stream[0].stats.npts} samples")
    models = []
    load_s = timed(lambda: models.append(pretrained_gpd()))
    model = models[0]
    progress(f"pretrained_gpd() loaded in {load_s:.1f} s")
    sweep, windows = {}, None
    for batch_size in config["batch_sizes"]:
        compile_s = timed(lambda: annotate(model, short, stride=STRIDE, batch_size=batch_size))
        out = []
        seconds = timed(lambda: out.append(
            annotate(model, stream, stride=STRIDE, batch_size=batch_size)))  # fmt: skip
        windows = out[0][0].stats.npts
        sweep[batch_size] = [seconds]
        progress(f"sjax annotate batch {batch_size}: {seconds:.1f} s warm "
                 f"(compile call {compile_s:.1f} s), {windows} windows")  # fmt: skip
    best = min(sweep, key=lambda b: sweep[b][0])
    peer_seconds, peer_windows = [], None
    torch, sbm = peer
    if torch is not None:
        peer_model = sbm.GPD()
        warm = timed(lambda: peer_model.annotate(short))
        progress(f"seisbench GPD warm-up on {COMPILE_SPAN:.0f} s: {warm:.1f} s")
        for _ in range(config["peer_repeats"]):
            out = []
            peer_seconds.append(timed(lambda: out.append(peer_model.annotate(stream))))
            peer_windows = out[0][0].stats.npts
            sweep[best].append(timed(
                lambda: annotate(model, stream, stride=STRIDE, batch_size=best)))  # fmt: skip
            progress(f"seisbench GPD annotate: {peer_seconds[-1]:.1f} s ({peer_windows} "
                     f"windows); sjax batch {best} again: {sweep[best][-1]:.1f} s")  # fmt: skip
        if peer_windows != windows:
            raise RuntimeError(f"seisbench made {peer_windows} windows, sjax {windows}")
    return {"duration": duration, "windows": windows, "sweep": sweep, "best": best,
            "peer": peer_seconds, "load_s": load_s}  # fmt: skip


def annotation_record(timings, peer_note) -> dict:
    duration, best, sweep = timings["duration"], timings["best"], timings["sweep"]
    seconds = min(sweep[best])
    per_day = duration / DAY
    peer = min(timings["peer"]) if timings["peer"] else None
    return record(
        "gpd_annotate_day_cpu", per_day / seconds, "station-days/s", ">= 1",
        None if peer is None else "seisbench_gpd_torch_cpu",
        None if peer is None else per_day / peer,
        batch_size=best, record_s=duration, windows=timings["windows"], stride=STRIDE,
        scaled_to_day=duration != DAY, seconds=seconds, seconds_per_day=seconds / per_day,
        sweep_seconds={str(b): s for b, s in sweep.items()}, peer_seconds=timings["peer"],
        pretrained_load_s=timings["load_s"],
        note=(f"sjax annotate(pretrained_gpd(), stream, batch_size={best}) best of the batch "
              f"sizes {list(sweep)}, warm, best of {len(sweep[best])} calls; "
              f"{duration:.0f} s record of 3-component 100 Hz noise, time scaled linearly to "
              "one day; " + (peer_note or
              f"peer: seisbench.models.GPD() (random weights) annotate(stream) defaults "
              f"(stride 10, batch 256), torch CPU, torch.set_num_threads({TORCH_THREADS}) = "
              "the 2 cores XLA uses, best of "
              f"{len(timings['peer'])} calls interleaved with sjax's")),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def training_batch(batch: int):
    k_x, k_y = jax.random.split(jax.random.key(1))
    windows = normalize_windows(jax.random.normal(k_x, (batch, 400, 3), jnp.float32))
    labels = jax.random.randint(k_y, (batch,), 0, 3)
    return windows, labels


def sjax_training_seconds(windows, labels, steps: int) -> list[float]:
    """Seconds of each of ``steps`` warm `train_step` calls (after one compiling call)."""
    model = GPD(rngs=nnx.Rngs(0))
    model.train()
    optimizer = make_optimizer(model, total_steps=steps + 1)
    weights = jnp.ones(labels.shape, jnp.float32)
    compile_s = timed(lambda: train_step(model, optimizer, (windows,), labels, weights))
    seconds = [timed(lambda: train_step(model, optimizer, (windows,), labels, weights))
               for _ in range(steps)]  # fmt: skip
    progress(f"sjax train_step batch {labels.shape[0]}: median {statistics.median(seconds):.2f} "
             f"s/step (compile call {compile_s:.1f} s)")  # fmt: skip
    return seconds


def torch_training_seconds(peer, windows, labels, steps: int) -> list[float]:
    """Seconds of each of ``steps`` torch GPD AdamW steps (after one untimed step)."""
    torch, sbm = peer
    model = sbm.GPD()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.from_numpy(np.asarray(windows).transpose(0, 2, 1).copy())
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, logits=True), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    seconds = [timed(step) for _ in range(steps)]
    progress(f"torch GPD step batch {labels.shape[0]}: median {statistics.median(seconds):.2f} "
             "s/step")  # fmt: skip
    return seconds


def training_record(config, peer, peer_note) -> dict:
    batch, steps = config["train_batch"], config["train_steps"]
    windows, labels = training_batch(batch)
    seconds = sjax_training_seconds(windows, labels, steps)
    peer_seconds = None if peer[0] is None else torch_training_seconds(peer, windows, labels,
                                                                       steps)  # fmt: skip
    value = batch / statistics.median(seconds)
    peer_value = None if peer_seconds is None else batch / statistics.median(peer_seconds)
    return record(
        "gpd_training_samples_per_s_cpu", value, "windows/s", ">= 1",
        None if peer_value is None else "seisbench_gpd_torch_cpu_adamw", peer_value,
        batch_size=batch, steps=steps, step_seconds=seconds, peer_step_seconds=peer_seconds,
        note=("sjax.detect.train.train_step (forward + backward + AdamW, training-mode "
              "batch-norm) on GPD, random max-normalised windows, median of "
              f"{steps} warm steps; " + (peer_note or
              "peer: the same step of seisbench.models.GPD (torch CPU, cross_entropy on "
              "logits, torch.optim.AdamW(lr=1e-3, weight_decay=1e-4)), same windows, "
              f"torch.set_num_threads({TORCH_THREADS}), median of {steps} steps after one")),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Records and driver
# --------------------------------------------------------------------------------------------


def record(name, value, unit, target, baseline=None, baseline_value=None, **extra):
    ratio = None if baseline_value is None else value / baseline_value
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target (on ``ratio``); None without a peer or a target."""
    if rec["target"] == "report" or rec["ratio"] is None:
        return None
    op, bound = rec["target"].split()
    return rec["ratio"] >= float(bound) if op == ">=" else rec["ratio"] <= float(bound)


def run(quick: bool) -> dict:
    config = QUICK if quick else FULL
    load_before = os.getloadavg()
    peer = load_peer()
    peer_note = peer[1] if peer[0] is None else None
    if peer_note:
        progress(peer_note)
    records = [annotation_record(annotation_timings(config, peer), peer_note),
               training_record(config, peer, peer_note)]  # fmt: skip
    if not quick:
        records.append(dict(GPU_RECORD))
    devices = jax.devices()
    return {
        "part": "detect",
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} "
        f"{os.cpu_count()} cpus",
        "jax": jax.__version__,
        "devices": f"{devices[0].platform} x{len(devices)}"
        + ("" if devices[0].platform == "cpu" else f" ({devices[0].device_kind})"),
        "quick": quick,
        "peer": None if peer[0] is None else {
            "seisbench": _version("seisbench"), "torch": peer[0].__version__,
            "torch_threads": peer[0].get_num_threads()},
        "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "load_average_5min": [round(load_before[1], 2), round(os.getloadavg()[1], 2)],
        "notes": "gpd_annotate_day_cpu: station-days/s = (record length / 86400 s) / warm "
        "seconds of annotate on that record (linear in the number of stride-10 windows); "
        "ratio = sjax / SeisBench GPD (torch CPU, random weights, its annotate defaults) on the "
        "same stream in the same run. gpd_training_samples_per_s_cpu: windows/s of one "
        "forward+backward+AdamW step, ratio = sjax / torch. gpd_annotate_day_gpu_h100: static, "
        "measured_here=false (full run only). The CPU is shared with other jobs: "
        "load_average_* (start, end) shows how busy it was; both sides were timed alternately",
        "records": records,
    }  # fmt: skip


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def print_table(result: dict) -> None:
    print(f"\ndetect benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"quick={result['quick']}  load(1 min) {result['load_average_1min']}")  # fmt: skip
    header = (f"{'name':32s} {'value':>9s} {'unit':15s} {'baseline':30s} {'base val':>9s} "
              f"{'ratio':>6s}  target")  # fmt: skip
    print(header)
    print("-" * (len(header) + 6))
    for rec in result["records"]:
        base = "" if rec["baseline_value"] is None else f"{rec['baseline_value']:.3g}"
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.2f}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        here = "" if rec.get("measured_here", True) else " (not measured here)"
        print(f"{rec['name']:32s} {rec['value']:9.3g} {rec['unit']:15s} "
              f"{rec['baseline'] or '-':30s} {base:>9s} {ratio:>6s}  {rec['target']} "
              f"{status}{here}")  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("detect_quick.json" if args.quick else "detect.json")
    start = time.perf_counter()
    result = run(args.quick)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
