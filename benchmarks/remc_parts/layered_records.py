"""Cost of one likelihood evaluation: semi-analytic `layered_sh` against finite-difference
`simulate` (wave="sh") on the same layered twin.

The twin: 2 layers over a half-space (h = 150, 300 m; β = 400, 800, 1600 m/s), a Ricker
line force (1.5 Hz) at 100 m depth, 12 surface stations 200 m – 1.5 km from it, a 3 s record
sampled at 10 ms. A likelihood evaluation is a jitted forward run plus the sum of squared
residuals against "observed" data (the twin's own traces for a 5 % faster medium).

* ``layered_sh`` — default `layered_sh_sampling` of the twin, float64, computed at the data
  sampling (10 ms).
* ``simulate`` — 12 m grid (≥ 10 nodes per S wavelength up to 3.3 Hz, where the Ricker is at
  1.5 % of its peak; with the interfaces mid-cell it matches `layered_sh` to 0.4 % in
  ``tests/wave/test_layered.py``), 20-cell C-PML, 900 m deep and 300 m beyond the last station,
  ``dt`` = 2 ms (half the CFL bound), traces decimated to the data's 10 ms — float64 too, so the two
  evaluate the same likelihood to the same accuracy.
* ``layered_sh`` with ``jax.vmap`` over a batch of 16 media (16 replicas of a tempered chain).

Timings exclude compilation (one warm-up call) and are the median of repeats.
Usage: ``python benchmarks/remc_parts/layered_records.py [--quick]`` prints the records as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from sjax.media import LayeredMedium
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate
from sjax.wave.layered import layered_sh, layered_sh_sampling

DT_DATA, DURATION, BATCH = 0.01, 3.0, 16


def twin(scale: float = 1.0, dtype=np.float64) -> LayeredMedium:
    """The benchmark medium, velocities scaled by ``scale``."""
    values = ([150.0, 300.0], [1000.0, 1800.0, 3200.0], np.array([400.0, 800.0, 1600.0]) * scale,
              [1800.0, 2000.0, 2300.0])  # fmt: skip
    return LayeredMedium(*(np.asarray(v, dtype) for v in values))


def median_time(fn, repeats: int) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls after one untimed warm-up."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def record(name, value, unit, baseline, baseline_value, target) -> dict:
    return {"name": name, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value, "ratio": value / baseline_value,
            "target": target}  # fmt: skip


def _misfits(dtype):
    """Jitted likelihood evaluations ``medium -> Σ (traces − observed)²`` in ``dtype``:
    (layered_sh, layered_sh vmapped over a batch, simulate), the twin and the batch."""
    source = PointForce(np.asarray(300.0, dtype), np.asarray(100.0, dtype), Ricker(1.5))
    receivers = Receivers(np.asarray(300.0 + np.linspace(200.0, 1500.0, 12), dtype))
    # sampling for a prior: β_min 10 % below the twin's slowest layer, β_max 10 % above its fastest
    bounds = twin()
    bounds = LayeredMedium(bounds.thickness, bounds.velocity_p,
                           bounds.velocity_s * np.array([0.9, 1.0, 1.1]),
                           bounds.density)  # fmt: skip
    sampling = layered_sh_sampling(bounds, source, receivers, duration=DURATION, dt=DT_DATA)

    def layered_traces(medium):
        return layered_sh(medium, source, receivers, duration=DURATION, dt=DT_DATA,
                          **sampling).traces  # fmt: skip

    observed = layered_traces(twin(1.05, dtype))
    layered_misfit = jax.jit(lambda m: jnp.sum((layered_traces(m) - observed) ** 2))
    medium = twin(1.0, dtype)
    scales = jnp.linspace(0.95, 1.05, BATCH, dtype=dtype)[:, None]
    batch = jax.tree.map(lambda leaf: jnp.stack([leaf] * BATCH), medium)
    batch = LayeredMedium(batch.thickness, batch.velocity_p, batch.velocity_s * scales,
                          batch.density)  # fmt: skip
    batched_misfit = jax.jit(jax.vmap(lambda m: jnp.sum((layered_traces(m) - observed) ** 2)))

    decimation = 5  # dt = 2 ms: courant 0.5 of the CFL bound for β = 1600 m/s on this grid
    dt_fd = DT_DATA / decimation

    def fd_traces(medium):
        traces = simulate(medium, GRID, source, receivers, duration=DURATION + 0.5 * dt_fd,
                          dt=dt_fd, check=False).traces  # fmt: skip
        return traces[..., ::decimation]

    fd_observed = fd_traces(twin(1.05, dtype))
    assert fd_observed.shape == observed.shape, (fd_observed.shape, observed.shape)
    fd_misfit = jax.jit(lambda m: jnp.sum((fd_traces(m) - fd_observed) ** 2))
    return (layered_misfit, batched_misfit, fd_misfit), medium, batch, sampling


GRID = Grid(nz=76, nx=176, spacing_z=12.0, spacing_x=12.0)


def benchmark_layered_sh(quick: bool) -> list[dict]:
    """Likelihood evaluations per second of `layered_sh` vs `simulate` (SH), and vmapped.

    Runs under ``jax.enable_x64(True)`` (float64 records; float32 ones pass float32 inputs).

    Args:
        quick: fewer timing repeats (3 instead of 7; FD 2 instead of 3).

    Returns:
        Records in the DESIGN.md benchmark format (also printed).
    """
    repeats, fd_repeats = (3, 2) if quick else (7, 3)
    times = {}
    with jax.enable_x64(True):
        for label, dtype in (("", np.float64), ("_float32", np.float32)):
            (layered, batched, fd), medium, batch, sampling = _misfits(dtype)
            times[label] = (median_time(lambda: layered(medium), repeats),  # noqa: B023
                            median_time(lambda: batched(batch), repeats),  # noqa: B023
                            median_time(lambda: fd(medium), fd_repeats))  # noqa: B023  # fmt: skip
    records = []
    for label, (t_layered, t_batch, t_fd) in times.items():
        records += [
            record(f"layered_sh{label}_likelihood_evals_per_s", 1 / t_layered, "evals/s",
                   f"simulate_sh_12m_grid{label}", 1 / t_fd, ">= 100"),
            record(f"layered_sh{label}_vmap{BATCH}_likelihood_evals_per_s", BATCH / t_batch,
                   "evals/s", f"layered_sh{label}_unbatched", 1 / t_layered, ">= 1"),
            record(f"layered_sh{label}_seconds_per_eval", t_layered, "s/eval (lower is better)",
                   f"simulate_sh_12m_grid{label}", t_fd, "<= 0.01"),
        ]  # fmt: skip
    records.append(record("layered_sh_float32_speedup", times[""][0] / times["_float32"][0],
                          "x (float64 time / float32 time)", "layered_sh_float64", 1.0,
                          ">= 1"))  # fmt: skip
    print(f"sampling: {sampling}; FD grid {GRID.shape} cells, dt {DT_DATA / 5:.4g} s")
    print(f"{'record':52s} {'value':>12s} {'baseline':>12s} {'ratio':>10s}  target")
    for r in records:
        print(f"{r['name']:52s} {r['value']:12.4g} {r['baseline_value']:12.4g} "
              f"{r['ratio']:10.4g}  {r['target']}")  # fmt: skip
    return records


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(benchmark_layered_sh(args.quick), indent=1))


if __name__ == "__main__":
    main()
