"""Benchmark of `sjax.detect`: GPD and EQTransformer annotation and GPD training throughput on
the CPU, and the shipped pickers' accuracy and false picks on real recordings.

What is measured (float32, on whatever device JAX picks; recorded in ``devices``):

* **Continuous annotation** (``gpd_annotate_day_cpu``, station-days/s) — `sjax.detect.annotate`
  of one station's three-component 100 Hz noise record from ``synthetic_continuous(key,
  duration, event_every=None)`` with ``pretrained_gpd()`` (the published Ross et al. 2018
  weights, its default; the weights do not change the arithmetic), stride 10 samples
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
* **EQTransformer annotation** (``eqt_annotate_samples_per_s_cpu``, 100 Hz three-component
  samples per second) — `sjax.detect.annotate` of ``pretrained_eqt()`` on ``eqt_duration`` (1 h;
  15 min with ``--quick``) of synthetic noise: 60 s windows every 3000 samples, 1–45 Hz
  zero-phase pre-filter, max stacking, batch sizes 8 (the default), 32, 128 (8 only with
  ``--quick``), each compiled on 120 s first; the best batch size is timed again interleaved
  with the peer, best time counts. The record also holds GPD's samples/s of the same run
  (``gpd_samples_per_s``). Peer: ``seisbench.models.EQTransformer()`` (random weights, nothing
  downloaded) ``annotate(stream)`` with its defaults (overlap 3000 = the same windows, max
  stacking; no filter without pretrained defaults) at batch sizes 256 (its default) and 32
  (256 only with ``--quick``), 2 torch threads, warmed up on 120 s; best time counts. ``ratio``
  = sjax / SeisBench samples/s.
* **Real recordings** (``<model>_real_*``) — each picker of `DETECT_MODELS` (``gpd`` =
  ``gpd_ross2018``, ``eqt`` = ``eqt_mousavi2020``, ``gpd-synthetic`` = ``gpd_synthetic``) with
  its default thresholds (`annotate`, then `pick`) on ObsPy's bundled RJOB event (100 Hz, 30 s)
  and BW.UH3 record (50 Hz, ~230 s, three local events): 4 P and 4 S onsets (`REAL_ONSETS`,
  STA/LTA + AIC, ±0.05 s). Per model: P onsets picked within 0.2 s (``p_picked``, target ≥ 4
  for the published GPD, on the value), S within 0.3 s (``s_picked``), the mean absolute error
  of those picks (``pick_error_mean``), the smallest over the onsets of the largest P
  probability within 0.2 s (``p_peak_probability_min``), and false picks per hour of real noise
  (``noise_false_picks_per_h``: picks farther than 0.5 s from every onset and outside (−2 s,
  +15 s) of each P onset, per hour of annotated record outside those windows — only ~3 minutes,
  so one pick is ~20/h; the picks are listed). Baseline = the synthetic GPD (before) against
  the published weights (after); ``ratio`` null where the baseline is 0. The same in
  ``--quick`` runs (the data are small).
* **Training** (``gpd_training_samples_per_s_cpu``, windows/s) — `sjax.detect.train.train_step`
  (forward + backward + AdamW update of `make_optimizer`, training-mode batch-norm) on a `GPD`
  with a batch of 256 (64 with ``--quick``) random max-normalised windows and random labels;
  one compiling step, then the median of ``TRAIN_STEPS`` timed steps (each waited for with
  ``block_until_ready``). Peer: the same step of SeisBench's torch GPD on the same windows
  (``(batch, 3, 400)`` layout): ``cross_entropy(model(x, logits=True), y)``, ``backward()``,
  ``torch.optim.AdamW(lr=1e-3, weight_decay=1e-4)`` step, 2 torch threads; one untimed step,
  then the median of the same number of steps, alternating with sjax's steps (both see the
  same load). ``ratio`` = sjax / torch windows/s.
* **GPU (not measured here)** — ``gpd_annotate_day_gpu_h100`` is a static record of a separate
  measurement of the same annotate call on an NVIDIA H100 (``"measured_here": false``); it is
  written only by the full run.

Peer availability: SeisBench and PyTorch are not sjax dependencies. When either cannot be
imported, or when the environment variable ``SJAX_BENCH_NO_PEER=1`` is set (to check that path
with the peer installed), the peer is skipped: its records get ``baseline``,
``baseline_value`` and ``ratio`` null and a note saying why.

LAPACK threads: as in ``benchmarks/aftershock.py``, ``OPENBLAS_NUM_THREADS=1`` is set (unless
already set) before NumPy and JAX load OpenBLAS; GPD itself uses no LAPACK.

Usage: ``python benchmarks/detect.py [--quick] [--out PATH]``. The full run (about 8–10
minutes on a busy 2-core CPU) writes ``benchmarks/results/detect.json``; ``--quick`` (a 3-minute
GPD record, batch 256 only, 15 min for EQTransformer, training batch 64; about 30–60 s without
the peer, 80 s with it) writes
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
import obspy  # noqa: E402
from flax import nnx  # noqa: E402

from sjax.detect import GPD, annotate, normalize_windows, pick, pretrained_gpd  # noqa: E402
from sjax.detect import synthetic_continuous  # noqa: E402
from sjax.detect.pipeline import DETECT_MODELS  # noqa: E402
from sjax.detect.train import make_optimizer, train_step  # noqa: E402

DAY = 86_400.0  # s
STRIDE = 10  # samples between windows (GPD and SeisBench default)
COMPILE_SPAN = 60.0  # s of the record used to compile / warm up
TORCH_THREADS = 2
FULL = {"duration": 1800.0, "batch_sizes": (256, 1024, 4096), "peer_repeats": 2,
        "train_batch": 256, "train_steps": 5,
        "eqt_duration": 3600.0, "eqt_batch_sizes": (8, 32, 128), "eqt_peer_batch_sizes": (256, 32),
        "eqt_repeats": 3}  # fmt: skip
QUICK = {"duration": 180.0, "batch_sizes": (256,), "peer_repeats": 1,
         "train_batch": 64, "train_steps": 3,
         "eqt_duration": 900.0, "eqt_batch_sizes": (8,), "eqt_peer_batch_sizes": (256,),
         "eqt_repeats": 1}  # fmt: skip
EQT_STRIDE = 3000  # samples: sjax's default = SeisBench's default overlap of 3000 of 6000
RATE = 100.0  # Hz: both models' input rate

# Real recordings shipped inside ObsPy, with hand-checked onsets (UTC; STA/LTA + AIC, ±0.05 s).
UH3_PATH = Path(obspy.__file__).parent / "signal/tests/data/BW.UH3._.SH?.D.2010.147.cut.slist.gz"
REAL_ONSETS = {
    "RJOB": {"P": ["2009-08-24T00:20:07.72"], "S": ["2009-08-24T00:20:08.68"]},
    "UH3": {"P": ["2010-05-27T16:24:33.15", "2010-05-27T16:25:26.61", "2010-05-27T16:27:30.42"],
            "S": ["2010-05-27T16:24:34.35", "2010-05-27T16:25:27.75", "2010-05-27T16:27:31.60"]},
}  # fmt: skip
# Not in REAL_ONSETS: a weak transient in BW.UH3 (recursive STA/LTA 0.5 s / 5 s of the 3-20 Hz
# band: 7.3 on SHE and 4.8 on SHN at 16:27:03.24, 3.3 on SHZ at 16:27:01.71), perhaps a small
# event; picks within FALSE_DISTANCE of these times are counted as false but flagged.
UH3_UNLISTED = ["2010-05-27T16:27:01.71", "2010-05-27T16:27:03.24"]
TOLERANCE = {"P": 0.2, "S": 0.3}  # s: a pick this close to an onset of its phase picks it
FALSE_DISTANCE = 0.5  # s: a pick farther than this from every onset (P or S) is false
EVENT_WINDOW = (-2.0, 15.0)  # s around each P onset: not noise (picks there are not counted)
REAL_MODELS = ("gpd", "eqt", "gpd-synthetic")  # DETECT_MODELS names; the last is the baseline
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
        torch.manual_seed(0)
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
        pretrained_load_s=timings["load_s"], samples_per_s=duration * RATE / seconds,
        weights="pretrained_gpd() = ross2018 (the published weights; speed does not depend on "
                "them)",
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


def sjax_training_step(windows, labels):
    """``(step, compile_s)``: a warm `train_step` call on a fresh `GPD` (after one compiling)."""
    model = GPD(rngs=nnx.Rngs(0))
    model.train()
    optimizer = make_optimizer(model, total_steps=100)
    weights = jnp.ones(labels.shape, jnp.float32)

    def step():
        return train_step(model, optimizer, (windows,), labels, weights)

    return step, timed(step)


def torch_training_step(peer, windows, labels):
    """A torch GPD AdamW step on the same windows (after one untimed step)."""
    torch, sbm = peer
    torch.manual_seed(0)
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
    return step


def training_record(config, peer, peer_note) -> dict:
    batch, steps = config["train_batch"], config["train_steps"]
    windows, labels = training_batch(batch)
    sjax_step, compile_s = sjax_training_step(windows, labels)
    torch_step = None if peer[0] is None else torch_training_step(peer, windows, labels)
    seconds, peer_seconds = [], None if torch_step is None else []
    for _ in range(steps):  # alternating, so that both see the same load on the shared CPU
        seconds.append(timed(sjax_step))
        if torch_step is not None:
            peer_seconds.append(timed(torch_step))
    progress(f"sjax train_step batch {batch}: median {statistics.median(seconds):.2f} s/step "
             f"(compile call {compile_s:.1f} s)" + ("" if torch_step is None else
             f"; torch GPD step: median {statistics.median(peer_seconds):.2f} s/step"))  # fmt: skip
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
              f"torch.set_num_threads({TORCH_THREADS}), median of {steps} steps after one, "
              "each step alternating with sjax's")),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# EQTransformer annotation throughput
# --------------------------------------------------------------------------------------------

_LOADED: dict[str, object] = {}


def shipped_model(name: str):
    """The `DETECT_MODELS` picker ``name``, loaded once per run."""
    if name not in _LOADED:
        _LOADED[name] = DETECT_MODELS[name].load()
    return _LOADED[name]


def eqt_windows(n: int) -> int:
    """Number of 6000-sample windows `annotate` makes for ``n`` samples at `EQT_STRIDE`."""
    return 1 if n <= 6000 else -(-(n - 6000) // EQT_STRIDE) + 1


def eqt_timings(config, peer) -> dict:
    """Warm seconds of sjax's EQTransformer annotate per batch size and of SeisBench's."""
    duration = config["eqt_duration"]
    stream = synthetic_continuous(jax.random.key(2), duration, event_every=None).stream
    start = stream[0].stats.starttime
    short = stream.slice(start, start + 2 * COMPILE_SPAN)
    model = shipped_model("eqt")
    sweep = {}
    for batch_size in config["eqt_batch_sizes"]:
        compile_s = timed(lambda: annotate(model, short, batch_size=batch_size))
        sweep[batch_size] = [timed(lambda: annotate(model, stream, batch_size=batch_size))]
        progress(f"sjax EQTransformer annotate batch {batch_size}: {sweep[batch_size][0]:.2f} s "
                 f"warm on {duration:.0f} s (compile call {compile_s:.1f} s)")  # fmt: skip
    best = min(sweep, key=lambda b: sweep[b][0])
    torch, sbm = peer
    peer_sweep, peer_note = {}, None
    if torch is None:
        peer_note = peer[1]
    elif not hasattr(sbm, "EQTransformer"):
        peer_note = "peer skipped: seisbench.models has no EQTransformer"
    else:
        try:
            torch.manual_seed(0)
            peer_model = sbm.EQTransformer()  # random weights: nothing is downloaded
            peer_model.eval()
            warm = timed(lambda: peer_model.annotate(short))
            progress(f"seisbench EQTransformer warm-up on {2 * COMPILE_SPAN:.0f} s: {warm:.2f} s")
            for _ in range(config["eqt_repeats"]):
                for batch_size in config["eqt_peer_batch_sizes"]:
                    peer_sweep.setdefault(batch_size, []).append(timed(
                        lambda: peer_model.annotate(stream, batch_size=batch_size)))  # fmt: skip
                sweep[best].append(timed(lambda: annotate(model, stream, batch_size=best)))
                progress("seisbench EQTransformer annotate: " + ", ".join(
                    f"batch {b} {t[-1]:.2f} s" for b, t in peer_sweep.items())
                    + f"; sjax batch {best} again: {sweep[best][-1]:.2f} s")  # fmt: skip
        except Exception as error:  # an offline failure of the optional peer is reported
            peer_sweep, peer_note = {}, f"peer skipped: seisbench EQTransformer failed ({error!r})"
    if peer_note is not None:
        progress(peer_note)
        for _ in range(config["eqt_repeats"] - 1):  # same number of sjax calls without a peer
            sweep[best].append(timed(lambda: annotate(model, stream, batch_size=best)))
    return {"duration": duration, "npts": stream[0].stats.npts, "sweep": sweep, "best": best,
            "peer": peer_sweep, "peer_note": peer_note}  # fmt: skip


def eqt_record(timings, gpd_record) -> dict:
    duration, best, sweep, npts = (timings[k] for k in ("duration", "best", "sweep", "npts"))
    seconds = min(sweep[best])
    value = npts / seconds
    peer = timings["peer"]
    peer_best = min(peer, key=lambda b: min(peer[b])) if peer else None
    peer_seconds = min(peer[peer_best]) if peer else None
    gpd_samples = gpd_record["samples_per_s"]
    return record(
        "eqt_annotate_samples_per_s_cpu", value, "samples/s", ">= 1",
        None if peer_seconds is None else "seisbench_eqtransformer_torch_cpu",
        None if peer_seconds is None else npts / peer_seconds,
        record_s=duration, npts=npts, windows=eqt_windows(npts), stride=EQT_STRIDE,
        batch_size=best, seconds=seconds, station_days_per_s=(duration / DAY) / seconds,
        sweep_seconds={str(b): t for b, t in sweep.items()},
        peer_batch_size=peer_best, peer_seconds={str(b): t for b, t in peer.items()} or None,
        gpd_samples_per_s=gpd_samples, speedup_over_gpd=value / gpd_samples,
        weights="pretrained_eqt() (the published weights; speed does not depend on them)",
        note=(f"sjax annotate(pretrained_eqt(), stream, batch_size={best}) (60 s windows every "
              f"{EQT_STRIDE} samples, 1-45 Hz zero-phase pre-filter, max stacking) best of the "
              f"batch sizes {list(sweep)}, warm, best of {len(sweep[best])} calls, on "
              f"{duration:.0f} s of synthetic 3-component 100 Hz noise; value = 100 Hz "
              "samples (3-component time steps) per second; gpd_samples_per_s = the same "
              "unit for gpd_annotate_day_cpu (a 400-sample window every 10 samples); "
              + (timings["peer_note"] or
                 "peer: seisbench.models.EQTransformer() (random weights, no download) "
                 f"annotate(stream) defaults (overlap 3000, max stacking, blinding 500; no "
                 f"filter without pretrained defaults) at batch sizes {list(peer)}, best "
                 f"(batch {peer_best}), torch.set_num_threads({TORCH_THREADS}), "
                 "interleaved with sjax's calls")),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Real recordings: pick accuracy and false picks of the shipped pickers
# --------------------------------------------------------------------------------------------


def real_streams() -> dict[str, obspy.Stream]:
    """ObsPy's bundled RJOB event (100 Hz, 30 s) and the BW.UH3 record (50 Hz, ~230 s)."""
    return {"RJOB": obspy.read(), "UH3": obspy.read(str(UH3_PATH))}


def _span(traces) -> list[tuple[float, float]]:
    return [(tr.stats.starttime.timestamp, tr.stats.endtime.timestamp) for tr in traces]


def _noise_seconds(spans, onsets_p) -> float:
    """Seconds of ``spans`` outside every event window around the P onsets."""
    total = 0.0
    for lo, hi in spans:
        cuts = sorted((max(lo, p + EVENT_WINDOW[0]), min(hi, p + EVENT_WINDOW[1]))
                      for p in onsets_p)  # fmt: skip
        covered, reach = 0.0, lo
        for a, b in cuts:
            a = max(a, reach)
            if b > a:
                covered += b - a
                reach = b
        total += hi - lo - covered
    return total


def station_scores(probabilities, picks, onsets, unlisted=()) -> dict:
    """Matches, errors, peak P probabilities and false picks of one station's picks."""
    times = {ph: [obspy.UTCDateTime(t).timestamp for t in onsets[ph]] for ph in ("P", "S")}
    every = times["P"] + times["S"]
    unlisted = [obspy.UTCDateTime(t).timestamp for t in unlisted]
    scores = {"picks": [[p.phase_hint, str(p.time)[:23], round(p.extra.probability.value, 4)]
                        for p in picks]}  # fmt: skip
    for ph in ("P", "S"):
        errors = []
        for onset in times[ph]:
            gaps = [abs(p.time.timestamp - onset) for p in picks if p.phase_hint == ph]
            near = [g for g in gaps if g <= TOLERANCE[ph]]
            errors.append(round(min(near), 4) if near else None)  # times are on 0.01 s
        scores[f"{ph}_errors"] = errors
    p_traces = [tr for tr in probabilities if tr.stats.channel.endswith("_P")]
    peaks = []
    for onset in times["P"]:
        best = 0.0
        for tr in p_traces:
            t = tr.times("timestamp")
            near = np.abs(t - onset) <= TOLERANCE["P"]
            if near.any():
                best = max(best, float(tr.data[near].max()))
        peaks.append(best)
    scores["P_peaks"] = peaks
    false = [p for p in picks if min(abs(p.time.timestamp - t) for t in every) > FALSE_DISTANCE]
    in_event = [p for p in false if any(EVENT_WINDOW[0] <= p.time.timestamp - t <= EVENT_WINDOW[1]
                                        for t in times["P"])]  # fmt: skip
    noise = [p for p in false if p not in in_event]
    scores["false_total"] = len(false)
    scores["false_in_noise"] = [[p.phase_hint, str(p.time)[:23],
                                 round(p.extra.probability.value, 4)] for p in noise]  # fmt: skip
    scores["false_near_unlisted"] = sum(
        1 for p in noise if any(abs(p.time.timestamp - t) <= FALSE_DISTANCE for t in unlisted))
    scores["noise_s"] = _noise_seconds(_span(p_traces), times["P"])
    return scores


def real_data_scores(name: str, streams) -> dict:
    """`station_scores` of the `DETECT_MODELS` picker ``name`` on every real stream."""
    spec = DETECT_MODELS[name]
    model = shipped_model(name)
    out = {}
    for station, stream in streams.items():
        start = time.perf_counter()
        probabilities = annotate(model, stream, model_name=spec.model_name)
        picks = pick(probabilities, threshold_on=spec.threshold_on,
                     threshold_off=spec.threshold_off)  # fmt: skip
        out[station] = station_scores(probabilities, picks, REAL_ONSETS[station],
                                      UH3_UNLISTED if station == "UH3" else ())  # fmt: skip
        out[station]["seconds"] = time.perf_counter() - start
    return out


def _summary(scores) -> dict:
    """The five numbers of one model over all stations."""
    p = [e for s in scores.values() for e in s["P_errors"]]
    s_ = [e for s in scores.values() for e in s["S_errors"]]
    matched_p, matched_s = [e for e in p if e is not None], [e for e in s_ if e is not None]
    both = matched_p + matched_s
    noise_s = sum(s["noise_s"] for s in scores.values())
    false_noise = sum(len(s["false_in_noise"]) for s in scores.values())
    return {
        "p_picked": len(matched_p), "p_onsets": len(p),
        "s_picked": len(matched_s), "s_onsets": len(s_),
        "error": statistics.fmean(both) if both else None,
        "p_error": statistics.fmean(matched_p) if matched_p else None,
        "s_error": statistics.fmean(matched_s) if matched_s else None,
        "p_peak": min(pk for s in scores.values() for pk in s["P_peaks"]),
        "false_rate": false_noise / (noise_s / 3600.0),
        "false_noise": false_noise, "noise_s": noise_s,
        "false_total": sum(s["false_total"] for s in scores.values()),
        "false_near_unlisted": sum(s["false_near_unlisted"] for s in scores.values()),
    }  # fmt: skip


def real_data_records(quick: bool) -> list[dict]:
    """Pick accuracy of each shipped picker on RJOB and BW.UH3 (the same in ``quick`` runs: the
    data are 4 minutes), the published ones with the synthetic GPD as baseline (before/after)."""
    del quick  # small enough for CI as it is
    streams = real_streams()
    scores = {}
    for name in REAL_MODELS:
        start = time.perf_counter()
        scores[name] = real_data_scores(name, streams)
        progress(f"real data, {name}: " + "; ".join(
            f"{st} {len(s['picks'])} picks" for st, s in scores[name].items())
            + f" ({time.perf_counter() - start:.1f} s incl. load + compile)")  # fmt: skip
    base_name = REAL_MODELS[-1]
    base = _summary(scores[base_name])
    base_label = DETECT_MODELS[base_name].model_name
    records = []
    for name in REAL_MODELS:
        spec, summary = DETECT_MODELS[name], _summary(scores[name])
        prefix = spec.model_name
        is_base = name == base_name
        detail = {"model": name, "threshold_on": spec.threshold_on,
                  "threshold_off": spec.threshold_off}  # fmt: skip

        def add(key, unit, target, field, **extra):
            base_value = None if is_base else base[field]
            rec = record(f"{prefix}_real_{key}", summary[field], unit, target,
                         None if is_base else base_label, base_value, **detail, **extra)
            if target != "report":
                rec["target_on"] = "value"
            records.append(rec)

        n_p, n_s = summary["p_onsets"], summary["s_onsets"]
        add("p_picked", f"of {n_p} P onsets", ">= 4" if name == "gpd" else "report", "p_picked",
            tolerance_s=TOLERANCE["P"],
            errors_s={st: s["P_errors"] for st, s in scores[name].items()})
        add("s_picked", f"of {n_s} S onsets", "report", "s_picked", tolerance_s=TOLERANCE["S"],
            errors_s={st: s["S_errors"] for st, s in scores[name].items()})
        add("pick_error_mean", "s", "report", "error", p_error_s=summary["p_error"],
            s_error_s=summary["s_error"],
            note="mean |pick - onset| over the onsets picked (P within 0.2 s, S within 0.3 s; "
                 "the nearest pick of the phase); null when none is")
        add("p_peak_probability_min", "probability", "report", "p_peak",
            peaks={st: s["P_peaks"] for st, s in scores[name].items()},
            note="per onset the largest P probability within 0.2 s, then the smallest over "
                 "the 4 onsets")
        add("noise_false_picks_per_h", "picks/h", "report", "false_rate",
            false_picks_in_noise=summary["false_noise"], noise_s=summary["noise_s"],
            false_picks_total=summary["false_total"],
            false_picks_near_unlisted_uh3_transient=summary["false_near_unlisted"],
            false_in_noise={st: s["false_in_noise"] for st, s in scores[name].items()},
            picks={st: s["picks"] for st, s in scores[name].items()},
            note=f"picks farther than {FALSE_DISTANCE} s from every onset and outside "
                 f"({EVENT_WINDOW[0]:+g} s, {EVENT_WINDOW[1]:+g} s) of each P onset, per hour "
                 "of the annotated record outside those windows (noise_s: only ~3 minutes, "
                 "so one pick is ~20/h); false_picks_total also counts false picks inside the "
                 "event windows (coda); false_picks_near_unlisted_uh3_transient: those within "
                 "0.5 s of an unlisted weak transient in BW.UH3 at 16:27:01.7 (Z) / 16:27:03.2 "
                 "(N, E), perhaps a small event")
    return records


# --------------------------------------------------------------------------------------------
# Records and driver
# --------------------------------------------------------------------------------------------


def record(name, value, unit, target, baseline=None, baseline_value=None, **extra):
    ratio = None if value is None or not baseline_value else value / baseline_value  # not x/0
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target: on ``value`` where ``target_on`` is ``"value"``, else
    on ``ratio``; None without a peer (ratio null) or a target ("report")."""
    number = rec["value"] if rec.get("target_on") == "value" else rec["ratio"]
    if rec["target"] == "report" or number is None:
        return None
    op, bound = rec["target"].split()
    return number >= float(bound) if op == ">=" else number <= float(bound)


def run(quick: bool) -> dict:
    config = QUICK if quick else FULL
    load_before = os.getloadavg()
    peer = load_peer()
    peer_note = peer[1] if peer[0] is None else None
    if peer_note:
        progress(peer_note)
    gpd = annotation_record(annotation_timings(config, peer), peer_note)
    records = [gpd, eqt_record(eqt_timings(config, peer), gpd),
               training_record(config, peer, peer_note), *real_data_records(quick)]  # fmt: skip
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
            "torch_threads": peer[0].get_num_threads(),
            "models": "seisbench.models.GPD(), seisbench.models.EQTransformer(): random "
                      "weights (nothing downloaded)"},
        "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "load_average_5min": [round(load_before[1], 2), round(os.getloadavg()[1], 2)],
        "notes": "gpd_annotate_day_cpu: station-days/s = (record length / 86400 s) / warm "
        "seconds of annotate on that record (linear in the number of stride-10 windows); "
        "ratio = sjax / SeisBench GPD (torch CPU, random weights, its annotate defaults) on the "
        "same stream in the same run. gpd_training_samples_per_s_cpu: windows/s of one "
        "forward+backward+AdamW step, ratio = sjax / torch. eqt_annotate_samples_per_s_cpu: "
        "100 Hz samples/s of EQTransformer annotate, ratio = sjax / SeisBench EQTransformer "
        "(random weights, torch CPU, 2 threads) on the same stream. gpd_annotate_day_gpu_h100: "
        "static, measured_here=false (full run only). *_real_*: the shipped pickers "
        "(gpd_ross2018 = DETECT_MODELS['gpd'], eqt_mousavi2020 = 'eqt', gpd_synthetic = "
        "'gpd-synthetic', each with its DETECT_MODELS thresholds) on ObsPy's RJOB event and "
        "BW.UH3 record (4 P and 4 S onsets), baseline = the synthetic GPD (before) vs the "
        "published weights (after); target_on='value' means the target is on the value, not "
        "the ratio. The CPU is shared with other jobs: load_average_* (start, end) shows how "
        f"busy it was (os.getloadavg() at the start: {tuple(round(x, 2) for x in load_before)}); "
        "both sides of each speed comparison were timed alternately",
        "records": records,
    }  # fmt: skip


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def print_table(result: dict) -> None:
    print(f"\ndetect benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"quick={result['quick']}  load(1 min) {result['load_average_1min']}")  # fmt: skip
    header = (f"{'name':44s} {'value':>9s} {'unit':16s} {'baseline':33s} {'base val':>9s} "
              f"{'ratio':>6s}  target")  # fmt: skip
    print(header)
    print("-" * (len(header) + 6))
    for rec in result["records"]:
        value = "-" if rec["value"] is None else f"{rec['value']:.3g}"
        base = "" if rec["baseline_value"] is None else f"{rec['baseline_value']:.3g}"
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.2f}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        here = "" if rec.get("measured_here", True) else " (not measured here)"
        on = " (on value)" if rec.get("target_on") == "value" else ""
        print(f"{rec['name']:44s} {value:>9s} {rec['unit']:16s} "
              f"{rec['baseline'] or '-':33s} {base:>9s} {ratio:>6s}  {rec['target']}{on} "
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
