"""Benchmark of `sjax.mcmc`: replica-exchange throughput, sharding, and ESS/s against TFP.

The target (float32): a 10-D two-mode Gaussian mixture, modes at ±2·(1, …, 1) with weights
0.3 / 0.7 and unit covariance, prior N(0, 5² I) (untempered); ladder
``geometric_ladder(R, 1e-2)``; random-walk Metropolis with the fixed per-slot step sizes
ε_l = 2.38/√D · min(5, η_l^(-1/2)) (no adaptation, so both sides of every comparison run the
same chain). What is measured:

1. ``replica_sweeps_per_s_R<R>`` for R = 4, 16, 64: R × sweeps / s of ``run_chain`` (one jitted
   ``lax.scan`` chunk over the vmapped REMC sweep; best of 2 timed calls after the compiling
   one; ``--quick``: 1). Baseline: a Python loop over replicas of the same *jitted
   single-replica* RWM kernel (``sjax.mcmc.build_rwm``), the exchange done on the host with
   NumPy. Target ``>= R/2`` at
   R = 16; the other R are reported.
2. ``sweeps_per_s_8_devices`` (R = 64, ``--quick`` 16): a subprocess with
   ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` times ``run_chain(mesh=batch_mesh(8))``
   against ``batch_mesh(1)`` in the same process. Informational: the 8 devices share the
   machine's physical cores (2 here), so ≈ 1 is expected.
3. ``ess_per_s_two_mode`` (R = 16): effective samples per second of the cold chain's mode
   indicator 1[θ_1 > 0] (``numpyro.diagnostics.effective_sample_size``), sjax against TFP's
   ``tfp.substrates.jax.mcmc.ReplicaExchangeMC`` (``benchmarks/peers/tfp_remc.py``, run in the
   separate venv ``/work/peer-tfp`` or ``$SJAX_TFP_PYTHON``) with the same target, ladder, step
   sizes, initial state and sweep counts. Each side runs 4 independent chains (seeds 0–3; a
   single chain's ESS scatters by a factor 2–3 between seeds) and the multi-chain ESS of the
   (4, N) cold-chain draws is divided by the summed time of the 4 full calls (warm-up +
   sampling; each the best of 2 compiled calls, as the machine may be shared; ``--quick``: 1
   call).
   ``ess_per_s_two_mode_min_coordinate`` uses the smallest ESS over the 10 coordinates.
   Target ``>= 1``. If TFP cannot run, the record's baseline is None and
   the reason is in ``notes`` / ``peers``.
4. ``layered_records(quick)``: likelihood evaluations per second of `sjax.wave.layered_sh`
   vs `simulate` on a layered twin (``benchmarks/remc_parts/layered_records.py``), and the
   imaging twin of `sjax.imaging` (``benchmarks/remc_parts/imaging_records.py``): REMC against
   plain Metropolis from a far start with the same evaluations, the wavefield at held-out
   points against kriging, band coverage, D-optimal against random stations.

Usage: ``python benchmarks/remc.py [--quick] [--out PATH]``; the full run (a few minutes on a
2-core CPU) writes ``benchmarks/results/remc.json``, ``--quick`` ``remc_quick.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing

from sjax import mcmc  # noqa: E402
from sjax.cache import enable_compilation_cache  # noqa: E402
from sjax.shard import batch_mesh, describe_devices  # noqa: E402

DIMENSION = 10
MODE = 2.0
WEIGHTS = (0.3, 0.7)
PRIOR_SCALE = 5.0
FULL = {"replicas": (4, 16, 64), "sweeps": 4000, "baseline_sweeps": (200, 100, 30),
        "devices_replicas": 64, "devices_sweeps": 2000, "ess_warmup": 1000, "ess_samples": 20000,
        "ess_chains": 4, "repeats": 2}  # fmt: skip
QUICK = {"replicas": (4, 16, 64), "sweeps": 500, "baseline_sweeps": (40, 20, 6),
         "devices_replicas": 16, "devices_sweeps": 100, "ess_warmup": 200, "ess_samples": 2000,
         "ess_chains": 4, "repeats": 1}  # fmt: skip
RESULT_MARKER = "@@REMC-RESULT "
TFP_PYTHON = os.environ.get("SJAX_TFP_PYTHON", "/work/peer-tfp/bin/python")
START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - START:4.0f} s] {message}", flush=True)


def modes() -> np.ndarray:
    return np.stack([np.full(DIMENSION, MODE), np.full(DIMENSION, -MODE)]).astype(np.float32)


def logprior(x):
    return -0.5 * jnp.sum((x / PRIOR_SCALE) ** 2)


def loglikelihood(x):
    squared = jnp.sum((x - jnp.asarray(modes())) ** 2, axis=-1)
    return jax.scipy.special.logsumexp(jnp.log(jnp.asarray(WEIGHTS)) - 0.5 * squared)


def problem(n_replicas: int):
    """(ladder, step sizes, algorithm, initial state) with every replica in the +2 mode."""
    ladder = mcmc.geometric_ladder(n_replicas, 1e-2).astype(jnp.float32)
    step_size = 2.38 / np.sqrt(DIMENSION) * np.minimum(PRIOR_SCALE, np.asarray(ladder) ** -0.5)
    algorithm = mcmc.replica_exchange(logprior, loglikelihood, ladder,
                                      step_size=step_size.astype(np.float32))  # fmt: skip
    state = algorithm.init(jnp.tile(jnp.asarray(modes()[0]), (n_replicas, 1)))
    return ladder, step_size, algorithm, state


def timed_run(algorithm, state, n_samples, *, n_warmup=0, mesh=None, repeats=2, seed=0,
              compile_first=True):  # fmt: skip
    """(best seconds of ``repeats`` calls, result) of run_chain without adaptation, after an
    untimed compiling call unless ``compile_first`` is False."""

    def call():
        result = mcmc.run_chain(jax.random.key(seed), algorithm, state, n_samples,
                                n_warmup=n_warmup, adapt=False,
                                checkpoint_every=n_warmup + n_samples, mesh=mesh,
                                trace_loglikelihood=False)  # fmt: skip
        return jax.block_until_ready(result)

    if compile_first:
        call()
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def python_loop_seconds(n_replicas: int, n_sweeps: int) -> float:
    """Seconds for ``n_sweeps`` sweeps of a Python loop over replicas of a jitted
    single-replica RWM kernel, with the exchange on the host."""
    ladder, step_size, _, state = problem(n_replicas)
    kernel = jax.jit(mcmc.build_rwm(logprior, loglikelihood))
    replicas = [mcmc.ReplicaState(state.position[l], state.logprior[l], state.loglikelihood[l],
                                  None, None) for l in range(n_replicas)]  # fmt: skip
    eta = [ladder[l] for l in range(n_replicas)]
    eps = [jnp.float32(s) for s in step_size]
    keys = list(jax.random.split(jax.random.key(1), (n_sweeps + 1) * n_replicas))
    rng = np.random.default_rng(0)
    eta_np = np.asarray(ladder, np.float64)

    def sweep(t, parity):
        for l in range(n_replicas):
            replicas[l] = kernel(keys[t * n_replicas + l], replicas[l], eta[l], eps[l])[0]
        loglik = np.array([float(r.loglikelihood) for r in replicas])
        for l in range(parity, n_replicas - 1, 2):
            log_ratio = (eta_np[l + 1] - eta_np[l]) * (loglik[l] - loglik[l + 1])
            if np.log(rng.uniform()) < log_ratio:
                replicas[l], replicas[l + 1] = replicas[l + 1], replicas[l]

    sweep(n_sweeps, 0)  # compile
    start = time.perf_counter()
    for t in range(n_sweeps):
        sweep(t, t % 2)
    return time.perf_counter() - start


def record(name, value, unit, target, baseline=None, baseline_value=None, **extra):
    ratio = None if value is None or baseline_value is None else value / baseline_value
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target (on ``ratio`` if it has a baseline); None if unknown."""
    if rec["target"] in ("report", "informational") or rec["value"] is None:
        return None
    if rec["baseline"] is not None and rec["ratio"] is None:
        return None
    number = rec["value"] if rec["baseline"] is None else rec["ratio"]
    op, bound = rec["target"].split()
    return number >= float(bound) if op == ">=" else number <= float(bound)


def throughput_records(config) -> list[dict]:
    records = []
    for n_replicas, n_baseline in zip(config["replicas"], config["baseline_sweeps"]):
        _, _, algorithm, state = problem(n_replicas)
        seconds, _ = timed_run(algorithm, state, config["sweeps"], repeats=config["repeats"])
        value = n_replicas * config["sweeps"] / seconds
        loop = python_loop_seconds(n_replicas, n_baseline)
        base = n_replicas * n_baseline / loop
        target = f">= {n_replicas // 2}" if n_replicas == 16 else "report"
        records.append(record(
            f"replica_sweeps_per_s_R{n_replicas}", value, "replica-sweeps/s", target,
            "python_loop_jitted_single_replica_rwm", base, n_replicas=n_replicas,
            sweeps=config["sweeps"], baseline_sweeps=n_baseline,
        ))  # fmt: skip
        progress(f"throughput R={n_replicas}: {value:.3g} vs loop {base:.3g} replica-sweeps/s")
    return records


def devices_worker(config) -> dict:
    """In a process with 8 forced CPU devices: sweeps/s sharded over 8 vs on 1 device."""
    n_replicas, n_sweeps = config["devices_replicas"], config["devices_sweeps"]
    _, _, algorithm, state = problem(n_replicas)
    out = {"devices": describe_devices(), "n_replicas": n_replicas, "sweeps": n_sweeps}
    results = {}
    for n in (8, 1):
        seconds, results[n] = timed_run(algorithm, state, n_sweeps, mesh=batch_mesh(n),
                                        repeats=config["repeats"])  # fmt: skip
        out[f"sweeps_per_s_{n}"] = n_sweeps / seconds
    out["max_abs_diff"] = float(np.max(np.abs(np.asarray(results[8].samples)
                                              - np.asarray(results[1].samples))))  # fmt: skip
    return out


def devices_records(config, quick: bool) -> tuple[list[dict], dict]:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    done = subprocess.run([sys.executable, __file__, "--worker", "devices"]
                          + (["--quick"] if quick else []),
                          env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            out = json.loads(line[len(RESULT_MARKER):])
            rec = record("sweeps_per_s_8_devices", out["sweeps_per_s_8"], "sweeps/s",
                         "informational", "same_process_1_device", out["sweeps_per_s_1"],
                         n_replicas=out["n_replicas"], sweeps=out["sweeps"],
                         max_abs_diff_vs_1_device=out["max_abs_diff"])  # fmt: skip
            progress(f"8 devices: {rec['value']:.3g} vs 1 device {rec['baseline_value']:.3g}")
            return [rec], {}
    return [], {"devices": (done.stderr or done.stdout)[-2000:]}


def mode_ess(samples) -> tuple[float, float, float]:
    """(ESS of the mode indicator, min ESS over coordinates, fraction in the +2 mode) of
    ``(n_chains, n_samples, D)`` cold-chain samples (multi-chain ESS, between-chain variance
    included)."""
    from numpyro.diagnostics import effective_sample_size

    samples = np.asarray(samples, np.float64)
    indicator = (samples[..., 0] > 0).astype(np.float64)
    ess = float(effective_sample_size(indicator))
    return ess, float(np.min(effective_sample_size(samples))), float(indicator.mean())


def run_tfp(config, ladder, step_size, initial) -> tuple[dict | None, np.ndarray | None, str]:
    """Run the TFP peer in its venv; (timings, cold samples, note)."""
    if not Path(TFP_PYTHON).exists():
        return None, None, f"TFP venv python {TFP_PYTHON} not found"
    with tempfile.TemporaryDirectory() as folder:
        config_path, out_path = Path(folder) / "config.json", Path(folder) / "samples.npy"
        config_path.write_text(json.dumps({
            "modes": modes().tolist(), "weights": list(WEIGHTS), "prior_scale": PRIOR_SCALE,
            "ladder": np.asarray(ladder, float).tolist(), "step_size": list(map(float, step_size)),
            "initial": modes()[0].tolist(), "n_warmup": config["ess_warmup"],
            "n_samples": config["ess_samples"], "seeds": list(range(config["ess_chains"])),
            "repeats": config["repeats"],
        }))  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        done = subprocess.run([TFP_PYTHON, str(ROOT / "peers" / "tfp_remc.py"), str(config_path),
                               str(out_path)], capture_output=True, text=True, timeout=900,
                              env=env)  # fmt: skip
        if done.returncode != 0:
            return None, None, "TFP peer failed: " + done.stderr.strip().splitlines()[-1]
        timing = json.loads(done.stdout.strip().splitlines()[-1])
        return timing, np.load(out_path), ""


def ess_records(config) -> tuple[list[dict], dict, str]:
    n_replicas = 16
    ladder, step_size, algorithm, state = problem(n_replicas)
    seconds, chains = 0.0, []
    for seed in range(config["ess_chains"]):  # the first call compiles (untimed)
        time_seed, result = timed_run(algorithm, state, config["ess_samples"],
                                      n_warmup=config["ess_warmup"],
                                      repeats=config["repeats"], seed=seed,
                                      compile_first=seed == 0)  # fmt: skip
        seconds += time_seed
        chains.append(np.asarray(result.samples))
    ess, ess_min, upper = mode_ess(np.stack(chains))
    progress(f"sjax ESS {ess:.0f} (min coordinate {ess_min:.0f}) in {seconds:.2f} s, "
             f"+2 mode fraction {upper:.3f}")  # fmt: skip
    timing, tfp_samples, note = run_tfp(config, ladder, step_size, modes()[0])
    peers = {"tfp": {"skipped": note}} if timing is None else {"tfp": timing}
    tfp_ess = tfp_ess_min = tfp_upper = None
    if timing is not None:
        tfp_ess, tfp_ess_min, tfp_upper = mode_ess(tfp_samples)
        peers["tfp"].update(ess=tfp_ess, ess_min_coordinate=tfp_ess_min, upper_fraction=tfp_upper)
        progress(f"TFP {timing['tfp']}: ESS {tfp_ess:.0f} (min {tfp_ess_min:.0f}) in "
                 f"{timing['seconds']:.2f} s, +2 mode fraction {tfp_upper:.3f}")  # fmt: skip
    extra = dict(n_replicas=n_replicas, n_chains=config["ess_chains"],
                 n_warmup=config["ess_warmup"],
                 n_samples=config["ess_samples"], sjax_seconds=seconds, sjax_ess=ess,
                 sjax_upper_fraction=upper,
                 tfp_seconds=None if timing is None else timing["seconds"], tfp_ess=tfp_ess,
                 tfp_upper_fraction=tfp_upper, true_upper_fraction=WEIGHTS[0])  # fmt: skip
    base = "tfp_ReplicaExchangeMC" + ("" if timing is None else f"_{timing['tfp']}")
    records = [
        record("ess_per_s_two_mode", ess / seconds, "ESS/s", ">= 1", base,
               None if timing is None else tfp_ess / timing["seconds"], **extra),
        record("ess_per_s_two_mode_min_coordinate", ess_min / seconds, "ESS/s", ">= 1", base,
               None if timing is None else tfp_ess_min / timing["seconds"],
               sjax_ess_min_coordinate=ess_min, tfp_ess_min_coordinate=tfp_ess_min),
    ]  # fmt: skip
    return records, peers, note


def layered_records(quick: bool) -> list[dict]:
    """Likelihood evaluations per second of the semi-analytic `sjax.wave.layered_sh` against
    finite differences (`benchmarks/remc_parts/layered_records.py`), and the imaging twin's
    records: REMC vs Metropolis from a far start, reconstruction vs kriging, band coverage,
    D-optimal vs random stations (`benchmarks/remc_parts/imaging_records.py`)."""
    sys.path.insert(0, str(ROOT / "remc_parts"))
    from imaging_records import imaging_records
    from layered_records import benchmark_layered_sh

    progress("layered forward model: evaluations per second vs simulate")
    records = benchmark_layered_sh(quick)
    progress("imaging twin: REMC vs Metropolis, reconstruction vs kriging, stations")
    return records + imaging_records(quick)


def run(quick: bool) -> dict:
    config = QUICK if quick else FULL
    load_before = os.getloadavg()[0]
    records = throughput_records(config)
    device_records, errors = devices_records(config, quick)
    records += device_records
    ess, peers, note = ess_records(config)
    records += ess
    records += layered_records(quick)
    notes = ("float32. replica_sweeps_per_s: best of 2 compiled run_chain calls (adapt=False) "
             "vs a Python loop over replicas of the jitted single-replica RWM kernel with a "
             "NumPy exchange; target >= R/2 at R=16. sweeps_per_s_8_devices: subprocess with 8 "
             "forced CPU devices sharing the physical cores, informational. ess_per_s: mode "
             "indicator multi-chain ESS (numpyro) of 4 chains / their summed time (best of 2 "
             "compiled calls each), "
             "same target, ladder, "
             "step sizes and sweeps as TFP's ReplicaExchangeMC (RWM inner kernel, even/odd "
             "swaps).")  # fmt: skip
    if note:
        notes += f" TFP peer not run: {note}"
    return {
        "part": "remc",
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} "
        f"{os.cpu_count()} cpus",
        "jax": importlib.metadata.version("jax"),
        "devices": describe_devices(),
        "quick": quick,
        "dtype": "float32",
        "target": {"dimension": DIMENSION, "modes": f"±{MODE}·ones", "weights": list(WEIGHTS),
                   "prior_scale": PRIOR_SCALE, "ladder": "geometric_ladder(R, 1e-2)"},
        "peers": peers,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "errors": errors,
        "notes": notes,
        "records": records,
    }


def print_table(result: dict) -> None:
    print(f"\nremc benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"quick={result['quick']}")  # fmt: skip
    header = (f"{'name':34s} {'value':>9s} {'unit':16s} {'baseline':40s} {'base val':>9s} "
              f"{'ratio':>7s}  target")  # fmt: skip
    print(header)
    print("-" * (len(header) + 10))
    for rec in result["records"]:
        base = "" if rec["baseline_value"] is None else f"{rec['baseline_value']:.3g}"
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.3g}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        print(f"{rec['name']:34s} {rec['value']:>9.3g} {rec['unit']:16s} "
              f"{rec['baseline'] or '':40s} {base:>9s} {ratio:>7s}  "
              f"{rec['target']} {status}")  # fmt: skip
    for name, error in result["errors"].items():
        print(f"FAILED {name}: {error.splitlines()[-1] if error else ''}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short chains, for CI")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    enable_compilation_cache(min_compile_seconds=0.2)  # SJAX_CACHE_DIR=off: no cache
    if args.worker == "devices":
        out = devices_worker(QUICK if args.quick else FULL)
        print(RESULT_MARKER + json.dumps(out), flush=True)
        return
    out = args.out or RESULTS / ("remc_quick.json" if args.quick else "remc.json")
    start = time.perf_counter()
    result = run(args.quick)
    result["seconds"] = round(time.perf_counter() - start, 1)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
