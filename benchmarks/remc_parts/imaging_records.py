"""Records of the imaging twin for ``benchmarks/remc.py``: REMC against plain Metropolis from a
far start (same number of likelihood evaluations), the wavefield reconstructed at held-out
points against ordinary kriging, band coverage, and D-optimal against random stations.

Run alone: ``python benchmarks/remc_parts/imaging_records.py [--quick]`` prints the records as JSON.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from sjax.imaging import imaging_twin, invert, twin_experiment


def _record(name, value, unit, target, baseline=None, baseline_value=None, **extra) -> dict:
    ratio = None if baseline_value in (None, 0) else float(value) / float(baseline_value)
    return {"name": name, "value": float(value), "unit": unit, "baseline": baseline,
            "baseline_value": None if baseline_value is None else float(baseline_value),
            "ratio": ratio, "target": target, **extra}  # fmt: skip


def imaging_records(quick: bool) -> list[dict]:
    """Twin records (float32 twin: 12 stations, 5 % noise, 1 Hz; see `sjax.imaging.twin`)."""
    n_replicas = 8 if quick else 10
    n_warmup, n_samples = (150, 150) if quick else (1500, 1500)
    with jax.enable_x64(True):
        twin = imaging_twin(jax.random.key(0), dtype=jnp.float32)
        start = time.perf_counter()
        experiment = twin_experiment(jax.random.key(1), twin, n_replicas=n_replicas,
                                     n_warmup=n_warmup, n_samples=n_samples)  # fmt: skip
        seconds = time.perf_counter() - start
        summary = experiment.summary
        # a far start: a thick, fast top layer over a thin second layer (h1 455 m, h2 170 m,
        # β 740/1160/2820 m/s); every replica starts there for REMC, the one chain for MH
        far = jnp.asarray(twin.space.from_unit(jnp.array([0.9, 0.1, 0.9, 0.6, 0.9])))
        sweeps = n_warmup + n_samples
        remc = invert(jax.random.key(2), twin.posterior, n_replicas=n_replicas,
                      n_warmup=n_warmup, n_samples=n_samples,
                      start=jnp.tile(far, (n_replicas, 1)))  # fmt: skip
        metropolis = invert(jax.random.key(2), twin.posterior, n_replicas=1,
                            n_warmup=n_replicas * n_warmup, n_samples=n_replicas * n_samples,
                            start=far[None])  # fmt: skip
        truth_loglik = float(twin.posterior.loglikelihood(twin.truth))
    gap_remc = truth_loglik - float(jnp.median(remc.chain.loglikelihood))
    gap_mh = truth_loglik - float(jnp.median(metropolis.chain.loglikelihood))
    common = {"n_replicas": n_replicas, "sweeps": sweeps}
    return [
        _record("twin_heldout_misfit_remc_over_kriging", summary["misfit_ratio_remc_over_kriging"],
                "ratio of mean relative misfits (lower is better)", "<= 0.5", **common),
        _record("twin_band_coverage_min", min(summary["band_coverage"]),
                "fraction of samples inside the 95 % band (worst held-out point)", ">= 0.9",
                **common),
        _record("twin_band_coverage_pooled", summary["band_coverage_pooled"],
                "fraction of all held-out samples inside the 95 % band", ">= 0.9", **common),
        _record("twin_truth_inside_95", float(summary["truth_inside_95"]),
                "1 if every true parameter is inside its 95 % interval", ">= 1", **common),
        _record("twin_selected_variance", summary["selected_variance"],
                "trace of linearised posterior covariance, unit cube (lower is better)",
                "<= 1", baseline="median of 50 random 4-subsets",
                baseline_value=summary["random_variance_median"]),
        _record("twin_far_start_loglik_gap_remc", gap_remc,
                "log L(truth) − median cold log L (lower is better)", "<= 0.2",
                baseline="plain Metropolis, same evaluations", baseline_value=gap_mh,
                **common),
        _record("twin_experiment_seconds", seconds, "s (inversion + imaging + selection)",
                "report", **common),
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(imaging_records("--quick" in sys.argv[1:]), indent=1))
