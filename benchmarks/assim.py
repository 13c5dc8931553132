"""Benchmark of `sjax.integrate` / `sjax.assim`: cost and memory of exact adjoints of a wave ODE.

The problem (float32 by default; ``--float64`` enables x64 and is recorded as ``dtype``): the
semi-discrete SH wave equation ``sjax.assim.wave_ode(medium, grid, wave="sh")`` on a fixed grid
— full run ``Grid(nz=64, nx=64, 10 m, absorbing_width=10)`` (stepped array 74 × 84), ``--quick``
``Grid(24, 24, 10 m, absorbing_width=4)`` (28 × 32) — with a two-layer `LayeredMedium`
(thickness [200 m] full / [80 m] quick, vp [2000, 3000], vs [800, 1600], rho [2000, 2300]) and
its sponge, ``dt = stable_time_step(medium, grid, wave="sh")`` (courant 0.5). The initial state
is a Gaussian displacement bump (σ = 3 cells, a third of the depth down, mid-width) at rest; the
observation is the displacement on the surface row (the ``nx`` physical columns) at every step
endpoint; the cost is ``0.5·Σ(y − y_obs)²`` with ``y_obs`` the same solve in a perturbed medium
(``vs × 1.05``).

What is measured:

1. **Gradient strategies** — for N = 10³ and 10⁴ steps (``--quick``: 100 and 400) of
   ``Splitting(wave_displacement_rate, wave_velocity_rate, STORMER_VERLET)``, and for the
   smaller N only of ``RungeKutta(wave_vector_field, RK4)``: the jitted
   ``jax.grad(cost, argnums=(0, 1))`` with respect to (initial state, medium) through
   `sjax.integrate.solve` with ``DirectAdjoint()``, ``CheckpointAdjoint()`` (√N blocks) and
   ``SymplecticAdjoint()`` (√N checkpoints). Every configuration runs in a **fresh
   subprocess** (this script re-invoked with a hidden ``--worker`` argument, JSON on stdout) so
   that its memory is its own:

   * ``grad_time_<strategy>[_rk4]_N<n>`` — best wall time of 3 calls of the AOT-compiled
     gradient after an untimed first call (``block_until_ready``); baseline the
     ``DirectAdjoint`` time of the same scheme and N; target ``<= 2.5`` for the symplectic
     adjoint.
   * ``grad_over_forward_<strategy>[_rk4]_N<n>`` — the same gradient time against the best of 3
     of the jitted cost alone (forward solve + misfit, same adjoint strategy, same process).
     ``forward_time[_rk4]_N<n>`` is the `DirectAdjoint` worker's forward (a plain scan).
   * ``peak_memory_<strategy>[_rk4]_N<n>`` — the increase of the process's peak resident set
     (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the first gradient call over the
     baseline taken after the imports and JAX's backend start-up (``jax.devices()``), so it
     includes the problem set-up, the observed data and the XLA compilation of the forward and
     gradient (about 150–350 MiB, which dominates unless the gradient itself is larger); the
     set-up + compilation part alone (``ru_maxrss`` just before the gradient call) is stored as
     ``setup_compile_rss_increase``. Baseline ``DirectAdjoint``; target ``<= 0.1`` for the
     symplectic adjoint at the largest N.
   * ``peak_memory_exec_<strategy>[_rk4]_N<n>`` — the gradient call alone: just before it,
     glibc's ``malloc_trim(0)`` returns freed heap pages to the OS (so the call cannot reuse
     pages already resident) and ``/proc/self/clear_refs`` (value 5) resets the kernel's peak
     RSS to the current RSS; the value is ``ru_maxrss`` after the call minus that RSS (None
     where unsupported). With psutil, the peak of the RSS sampled every 2 ms by a thread during
     the call, minus the RSS before it, is stored as ``sampled_rss_increase``. Same baseline and
     target.
   * ``xla_memory_<strategy>[_rk4]_N<n>`` — XLA's compiled memory analysis of the gradient
     (``jax.jit(grad).lower(...).compile().memory_analysis()``): temp + argument + output
     bytes (components stored); same baseline and target.

   Each worker also saves its gradient; ``gradient_rel_diff`` is ‖g − g_direct‖ / ‖g_direct‖
   against the `DirectAdjoint` gradient of the same scheme and N (the adjoints are exact, so it
   is round-off).
2. **diffrax peer** — ``diffrax.diffeqsolve`` of the same ODE (``ODETerm`` of
   ``wave_vector_field``, the state a ``(u, v)`` pytree) with the classical RK4 tableau as a
   ``diffrax.AbstractERK`` (diffrax has no classical RK4 and its ``SemiImplicitEuler`` cannot
   represent the sponge term ``−γ v`` in the velocity equation), ``ConstantStepSize`` with the
   same ``dt``, ``max_steps=N``, ``RecursiveCheckpointAdjoint()`` (its default number of
   checkpoints, O(√N)) and the surface row saved at every step endpoint by
   ``SaveAt(t0=True, steps=True, fn=...)`` — the same N + 1 rows as ``SaveAt(ts=k·dt)``, which
   was avoided because with diffrax 0.7.2 it gives a *wrong* gradient here (8 % off a central
   finite difference in float64, also with ``Tsit5``; correct with ``DirectAdjoint``, with
   ``checkpoints=N`` or with ``ts`` off the step endpoints), for the same two N (quick: the
   smaller only), measured exactly like the sjax strategies in its own subprocess:
   ``diffrax_grad_time_N<n>``, ``diffrax_peak_memory[_exec]_N<n>``, ``diffrax_xla_memory_N<n>``,
   ``diffrax_grad_over_forward_N<n>``; ``gradient_rel_diff`` against sjax's RK4 gradient checks
   that both compute the same thing (in float32 diffrax accumulates time, so its steps differ
   from ``dt`` by up to ~0.1 % at N = 10⁴; sjax steps exactly ``dt``). Baseline: sjax's RK4 `DirectAdjoint` where it was measured (the smaller N), otherwise sjax's
   Störmer–Verlet `DirectAdjoint` (2 force evaluations per step against RK4's 4, so the time
   ratio there is not like for like; the baseline names the scheme). Only reported. If diffrax
   is not importable the records are skipped with a note and ``"diffrax": {"skipped": ...}``.
3. **Hessian–vector products** — a `FourDVar` for N = 10³ (quick 100) Störmer–Verlet steps,
   `DirectAdjoint`, ``Observations(steps=range(0, N + 1, 5))`` of the surface row (from the
   true bump, ``std`` 1 % of their peak), control z = the initial displacement field
   ``(nz_total, nx_total)`` via ``model = lambda z: ((z, 0), ode, None)``; at z = 0.8 × the
   true bump and a random direction v: best of 3 jitted ``hvp(cost, z, v)`` (second-order
   adjoint, √N checkpoints) and ``hvp(cost, z, v, method="jvp_grad")`` (forward over reverse
   through the `DirectAdjoint` scan), each against the jitted ``cost(z)`` (records
   ``hvp_over_forward`` — target ``<= 5`` — and ``hvp_jvp_grad_over_forward``). The two HVPs
   are compared (``rel_diff_vs_jvp_grad``).
4. **Twin experiment** — ``sjax.assim.twin.layered_twin()`` and ``twin_realisation(twin,
   key(0))`` (the SH leapfrog + C-PML as a `DiscreteMap`, `SymplecticAdjoint`; the same in full
   and quick runs): best of 3 jitted ``cost(z)``, ``jax.value_and_grad(cost)`` and
   ``hvp(cost, z, v)`` (v = the prior standard deviations) at the background mean, the last two
   as ratios to the forward.

Timings run on whatever device JAX picks (recorded in ``devices``); workers run one after
another. The driver process itself never imports JAX: a child's ``ru_maxrss`` starts from the
peak RSS of the process that spawned it, so the driver has to stay smaller than a worker's
post-import baseline. Usage: ``python benchmarks/assim.py [--quick] [--float64] [--out PATH]``;
the full run (estimated 5–10 minutes on a 2-core CPU) writes ``benchmarks/results/assim.json``, ``--quick``
(under two minutes, mostly compilation) ``benchmarks/results/assim_quick.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FULL = {"grid": (64, 64, 10.0, 10), "thickness": 200.0, "steps": (1000, 10000),
        "rk4_steps": (1000,), "diffrax_steps": (1000, 10000), "hvp_steps": 1000,
        "repeats": 3}  # fmt: skip
QUICK = {"grid": (24, 24, 10.0, 4), "thickness": 80.0, "steps": (100, 400),
         "rk4_steps": (100,), "diffrax_steps": (100,), "hvp_steps": 100,
         "repeats": 3}  # fmt: skip
STRATEGIES = ("direct", "checkpoint", "symplectic")
SYMPLECTIC_TIME_TARGET = "<= 2.5"
SYMPLECTIC_MEMORY_TARGET = "<= 0.1"
HVP_TARGET = "<= 5"
OBSERVE_EVERY = 5  # 4D-Var observation interval (steps)
RESULTS = Path(__file__).resolve().parent / "results"
RESULT_MARKER = "@@ASSIM-RESULT "
START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - START:4.0f} s] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# Worker side: one configuration per process
# --------------------------------------------------------------------------------------------


def max_rss() -> int:
    """Peak resident set of this process so far, in bytes (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def current_rss() -> int | None:
    """Current resident set in bytes (Linux ``/proc/self/statm``), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> int | None:
    """Return the allocator's free memory to the OS (glibc ``malloc_trim``, so that the call
    measured next cannot reuse pages already resident), then reset the kernel's peak-RSS mark
    (hence ``ru_maxrss``) to the current RSS (Linux ``/proc/self/clear_refs``, value 5); the
    current RSS in bytes, or None if unsupported."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    rss = current_rss()
    return rss if rss is not None and max_rss() <= rss + 2**20 else None


class RSSSampler:
    """Peak of the current RSS sampled by a thread (psutil) while the ``with`` body runs."""

    def __init__(self, interval: float = 0.002):
        try:
            import psutil
        except ImportError:
            self.process = None
            return
        self.process = psutil.Process()
        self.interval = interval

    def __enter__(self):
        if self.process is None:
            return self
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        if self.process is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def increase(self) -> int | None:
        return None if self.process is None else int(self.peak - self.before)


def device_string() -> str:
    import jax

    devices = jax.devices()
    kind = "" if devices[0].platform == "cpu" else f" ({devices[0].device_kind})"
    return f"{devices[0].platform} x{len(devices)}{kind}"


def best_time(fn, args, repeats: int) -> float:
    """Best wall time (s) of ``fn(*args)`` over ``repeats`` calls, after an untimed one."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def memory_stats(compiled) -> dict | None:
    """Temp/argument/output/alias bytes of XLA's compiled memory analysis, or None."""
    try:
        stats = compiled.memory_analysis()
    except (NotImplementedError, AttributeError):
        return None
    if stats is None:
        return None
    out = {
        key: int(getattr(stats, f"{key}_size_in_bytes", 0))
        for key in ("temp", "argument", "output", "alias", "generated_code")
    }
    out["total"] = out["temp"] + out["argument"] + out["output"]
    return out


def problem(quick: bool):
    """(grid, medium, observed-data medium, dt, x0, observe) of the benchmark ODE."""
    import jax.numpy as jnp
    import numpy as np

    from sjax import LayeredMedium
    from sjax.wave import Grid, stable_time_step

    config = QUICK if quick else FULL
    nz, nx, spacing, width = config["grid"]
    grid = Grid(nz, nx, spacing, spacing, absorbing_width=width)
    medium = LayeredMedium([config["thickness"]], [2000.0, 3000.0], [800.0, 1600.0],
                           [2000.0, 2300.0])  # fmt: skip
    observed_medium = LayeredMedium(medium.thickness, medium.velocity_p,
                                    medium.velocity_s * 1.05, medium.density)  # fmt: skip
    dt = stable_time_step(medium, grid, wave="sh")
    z = np.arange(grid.shape[0])[:, None] * spacing
    x = (np.arange(grid.shape[1])[None, :] - width) * spacing
    depth, extent = grid.extent
    sigma = 3.0 * spacing
    bump = np.exp(-((z - depth / 3) ** 2 + (x - extent / 2) ** 2) / (2 * sigma**2))
    dtype = medium.density.dtype
    x0 = (jnp.asarray(bump, dtype), jnp.zeros(grid.shape, dtype))

    def observe(state, ode):
        return state[0][0, width : width + nx]

    return grid, medium, observed_medium, dt, x0, observe


def sjax_scheme(name: str):
    from sjax.assim import wave_displacement_rate, wave_vector_field, wave_velocity_rate
    from sjax.integrate import RK4, STORMER_VERLET, RungeKutta, Splitting

    if name == "rk4":
        return RungeKutta(wave_vector_field, RK4)
    return Splitting(wave_displacement_rate, wave_velocity_rate, STORMER_VERLET)


def diffrax_rk4():
    """The classical RK4 tableau in diffrax's explicit Runge–Kutta machinery."""
    import diffrax
    import numpy as np

    class ClassicalRK4(diffrax.AbstractERK):
        tableau = diffrax.ButcherTableau(
            c=np.array([0.5, 0.5, 1.0]),
            b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
            b_error=np.zeros(4),
            a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
        )
        interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

        def order(self, terms):
            return 4

    return ClassicalRK4()


def trajectory_function(task, grid, dt, observe):
    """``trajectory(x0, medium) -> (N + 1, nx)`` surface displacements for the task's method."""
    from sjax.assim import wave_ode, wave_vector_field
    from sjax.integrate import CheckpointAdjoint, DirectAdjoint, SymplecticAdjoint, solve

    n = task["n_steps"]
    if task["adjoint"] == "diffrax":
        import diffrax

        solver = diffrax_rk4()
        # every step endpoint, t0 included: the same N + 1 rows as SaveAt(ts=k·dt), whose
        # gradient is wrong under RecursiveCheckpointAdjoint (see the module docstring)
        saveat = diffrax.SaveAt(t0=True, steps=True, fn=lambda t, y, ode: observe(y, ode))

        def trajectory(x0, medium):
            ode = wave_ode(medium, grid, wave="sh")
            solution = diffrax.diffeqsolve(
                diffrax.ODETerm(wave_vector_field), solver, t0=0.0, t1=n * dt, dt0=dt, y0=x0,
                args=ode, saveat=saveat, stepsize_controller=diffrax.ConstantStepSize(),
                adjoint=diffrax.RecursiveCheckpointAdjoint(), max_steps=n,
            )  # fmt: skip
            return solution.ys

        return trajectory

    scheme = sjax_scheme(task["scheme"])
    adjoint = {"direct": DirectAdjoint(), "checkpoint": CheckpointAdjoint(),
               "symplectic": SymplecticAdjoint()}[task["adjoint"]]  # fmt: skip

    def trajectory(x0, medium):
        ode = wave_ode(medium, grid, wave="sh")
        return solve(scheme, x0, ode, n_steps=n, dt=dt, observe=observe, adjoint=adjoint)

    return trajectory


def gradient_worker(task) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.flatten_util import ravel_pytree

    jax.devices()  # start the backend before the baseline
    rss_baseline = max_rss()
    grid, medium, observed_medium, dt, x0, observe = problem(task["quick"])
    trajectory = trajectory_function(task, grid, dt, observe)

    def cost(x0, medium, y_obs):
        return 0.5 * jnp.sum((trajectory(x0, medium) - y_obs) ** 2)

    def cost_and_observations(x0, medium, y_obs):
        y = trajectory(x0, medium)
        return 0.5 * jnp.sum((y - y_obs) ** 2), y

    # one compiled forward gives the observed data (perturbed medium) and the forward timing
    forward = jax.jit(cost_and_observations)
    zeros = jnp.zeros((task["n_steps"] + 1, grid.nx), x0[0].dtype)
    y_obs = forward(x0, observed_medium, zeros)[1]

    start = time.perf_counter()
    gradient = jax.jit(jax.grad(cost, argnums=(0, 1))).lower(x0, medium, y_obs).compile()
    compile_seconds = time.perf_counter() - start
    xla = memory_stats(gradient)
    rss_before = max_rss()  # peak of imports + set-up + compilation
    rss_reset = reset_peak_rss()  # from here ru_maxrss tracks the gradient call alone
    with RSSSampler() as sampler:
        g = jax.block_until_ready(gradient(x0, medium, y_obs))
    rss_after = max_rss()
    grad_seconds = best_time(gradient, (x0, medium, y_obs), task["repeats"])
    forward_seconds = best_time(forward, (x0, medium, y_obs), task["repeats"])
    flat = np.asarray(ravel_pytree(g)[0], np.float64)
    np.save(task["gradient_path"], flat)
    out = {
        "grad_seconds": grad_seconds, "forward_seconds": forward_seconds,
        "grad_compile_seconds": compile_seconds, "rss_baseline": rss_baseline,
        "peak_rss_increase": max(rss_before, rss_after) - rss_baseline,
        "setup_compile_rss_increase": rss_before - rss_baseline,
        "execution_rss_increase": None if rss_reset is None else rss_after - rss_reset,
        "sampled_rss_increase": sampler.increase, "xla": xla, "devices": device_string(),
        "cost": float(forward(x0, medium, y_obs)[0]), "gradient_norm": float(np.linalg.norm(flat)),
        "dt": dt, "cells": math.prod(grid.shape),
    }  # fmt: skip
    if task["adjoint"] == "diffrax":
        import diffrax

        out["diffrax_version"] = diffrax.__version__
    return out


def hvp_worker(task) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from sjax.assim import DirectAdjoint, FourDVar, Observations, hvp, wave_ode

    grid, medium, _, dt, x0, observe = problem(task["quick"])
    n = task["n_steps"]
    scheme = sjax_scheme("verlet")
    ode = wave_ode(medium, grid, wave="sh")
    truth = x0[0]

    def model(z):
        return (z, jnp.zeros_like(z)), ode, None

    steps = tuple(range(0, n + 1, OBSERVE_EVERY))
    zero = Observations(steps, np.zeros((len(steps), grid.nx)), std=1.0)
    clean = jax.jit(lambda cost, z: cost.predict(z))(
        FourDVar(scheme, model, observe, zero, None, n_steps=n, dt=dt), truth)
    std = 0.01 * float(jnp.max(jnp.abs(clean)))
    observations = Observations(steps, clean, std=std)
    cost = FourDVar(scheme, model, observe, observations, None, n_steps=n, dt=dt,
                    adjoint=DirectAdjoint())  # fmt: skip
    z = 0.8 * truth
    v = jax.random.normal(jax.random.key(0), truth.shape, truth.dtype)
    repeats = task["repeats"]
    # the cost (a pytree: observations are arrays) is an argument, not a hashed static callable
    forward = jax.jit(lambda cost, z: cost(z))
    second_order = jax.jit(lambda cost, z, v: hvp(cost, z, v))
    jvp_grad = jax.jit(lambda cost, z, v: hvp(cost, z, v, method="jvp_grad"))
    out = {
        "forward_seconds": best_time(forward, (cost, z), repeats),
        "hvp_seconds": best_time(second_order, (cost, z, v), repeats),
        "hvp_jvp_grad_seconds": best_time(jvp_grad, (cost, z, v), repeats),
    }
    a = np.asarray(second_order(cost, z, v), np.float64)
    b = np.asarray(jvp_grad(cost, z, v), np.float64)
    out["rel_diff_vs_jvp_grad"] = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    out["n_observations"] = len(steps)
    return out


def twin_worker(task) -> dict:
    import jax
    import numpy as np

    from sjax.assim import hvp
    from sjax.assim.twin import layered_twin, twin_realisation

    twin = layered_twin()
    cost, mean = twin_realisation(twin, jax.random.key(0))
    v = jax.numpy.asarray(twin.prior_std, mean.dtype)
    repeats = task["repeats"]
    forward = jax.jit(lambda cost, z: cost(z))
    value_and_grad = jax.jit(lambda cost, z: jax.value_and_grad(cost)(z))
    second_order = jax.jit(lambda cost, z, v: hvp(cost, z, v))
    return {
        "forward_seconds": best_time(forward, (cost, mean), repeats),
        "value_and_grad_seconds": best_time(value_and_grad, (cost, mean), repeats),
        "hvp_seconds": best_time(second_order, (cost, mean, v), repeats),
        "n_steps": int(cost.n_steps), "grid": list(twin.grid.shape),
        "hvp_finite": bool(np.all(np.isfinite(np.asarray(second_order(cost, mean, v))))),
    }


def worker(task: dict) -> None:
    if task["float64"]:
        import jax

        jax.config.update("jax_enable_x64", True)
    kind = task["kind"]
    result = {"gradient": gradient_worker, "hvp": hvp_worker, "twin": twin_worker}[kind](task)
    print(RESULT_MARKER + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------------------------


def run_worker(task: dict, timeout: float) -> dict:
    """Run ``task`` in a fresh interpreter; its JSON result, or ``{"error": ...}``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
    return {"error": f"worker exited {done.returncode}: " + "\n".join(tail)}


def record(name, value, unit, target, baseline=None, baseline_value=None, **extra):
    ratio = None if value is None or baseline_value is None else value / baseline_value
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target (on ``ratio`` if it has a baseline); None if unknown."""
    if rec["target"] == "report" or rec["value"] is None:
        return None
    if rec["baseline"] is not None and rec["ratio"] is None:
        return None
    number = rec["value"] if rec["baseline"] is None else rec["ratio"]
    op, bound = rec["target"].split()
    return number >= float(bound) if op == ">=" else number <= float(bound)


def gradient_records(label: str, results: dict, n: int, largest: int, base: dict,
                     base_label: str, symplectic_targets: bool) -> list[dict]:  # fmt: skip
    """Time, cost-in-forwards and memory records of one method at one N.

    ``label`` is the record stem (``symplectic``, ``direct_rk4``, ``diffrax`` ...), ``base`` the
    worker result of the `DirectAdjoint` baseline, ``base_label`` its name.
    """
    r = results
    time_target = SYMPLECTIC_TIME_TARGET if symplectic_targets else "report"
    memory_target = SYMPLECTIC_MEMORY_TARGET if symplectic_targets and n == largest else "report"
    base_xla = (base.get("xla") or {}).get("total")
    xla = r.get("xla") or {}
    prefix, suffix = ("diffrax_", "") if label.startswith("diffrax") else ("", f"_{label}")
    extra = {"n_steps": n, "cells": r["cells"], "dt": r["dt"]}
    if "gradient_rel_diff" in r:
        extra["gradient_rel_diff"] = r["gradient_rel_diff"]
        extra["gradient_rel_diff_reference"] = r["gradient_rel_diff_reference"]
    if "diffrax_version" in r:
        extra["diffrax_version"] = r["diffrax_version"]
    memory_extra = {
        "setup_compile_rss_increase": r["setup_compile_rss_increase"],
        "execution_rss_increase": r["execution_rss_increase"], "rss_baseline": r["rss_baseline"],
    }  # fmt: skip
    return [
        record(f"{prefix}grad_time{suffix}_N{n}", r["grad_seconds"], "s", time_target,
               base_label, base["grad_seconds"], compile_seconds=r["grad_compile_seconds"],
               **extra),
        record(f"{prefix}grad_over_forward{suffix}_N{n}", r["grad_seconds"], "s", "report",
               "forward_same_process", r["forward_seconds"], **extra),
        record(f"{prefix}peak_memory{suffix}_N{n}", r["peak_rss_increase"], "bytes",
               memory_target, base_label, base["peak_rss_increase"], **memory_extra, **extra),
        record(f"{prefix}peak_memory_exec{suffix}_N{n}", r["execution_rss_increase"], "bytes",
               memory_target, base_label, base["execution_rss_increase"],
               sampled_rss_increase=r["sampled_rss_increase"], **extra),
        record(f"{prefix}xla_memory{suffix}_N{n}", xla.get("total"), "bytes", memory_target,
               base_label, base_xla, xla=r.get("xla"), **extra),
    ]  # fmt: skip


def compare_gradients(path: Path, reference: Path) -> float:
    import numpy as np

    g, ref = np.load(path), np.load(reference)
    return float(np.linalg.norm(g - ref) / np.linalg.norm(ref))


def run(quick: bool, float64: bool) -> dict:
    # The driver never imports JAX: a worker's ru_maxrss starts from the RSS of the process
    # that spawned it (exec inherits the peak), so the driver has to stay small.
    config = QUICK if quick else FULL
    repeats = config["repeats"]
    timeout = 300 if quick else 900
    load_before = os.getloadavg()[0]
    if importlib.util.find_spec("diffrax") is not None:
        diffrax_info = {"version": importlib.metadata.version("diffrax"),
                        "solver": "classical RK4 tableau as diffrax.AbstractERK",
                        "adjoint": "RecursiveCheckpointAdjoint() (default checkpoints)"}  # fmt: skip
    else:
        diffrax_info = {"skipped": "diffrax not installed"}
        print("note: diffrax not installed; its peer records are skipped")
    largest = max(config["steps"])
    runs = [("verlet", s, n) for n in config["steps"] for s in STRATEGIES]
    runs += [("rk4", s, n) for n in config["rk4_steps"] for s in STRATEGIES]
    if "version" in diffrax_info:
        runs += [("rk4", "diffrax", n) for n in config["diffrax_steps"]]
    records, errors, results = [], {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for scheme, strategy, n in runs:
            path = Path(scratch) / f"{scheme}_{strategy}_{n}.npy"
            task = {"kind": "gradient", "scheme": scheme, "adjoint": strategy, "n_steps": n,
                    "quick": quick, "float64": float64, "repeats": repeats,
                    "gradient_path": str(path)}  # fmt: skip
            r = run_worker(task, timeout)
            key = (scheme, strategy, n)
            if "error" in r:
                errors[f"{scheme}_{strategy}_N{n}"] = r["error"]
                progress(f"{scheme} {strategy} N={n}: FAILED\n{r['error']}")
                continue
            reference = (scheme, "direct", n)
            if strategy == "diffrax" and reference not in results:
                reference = ("verlet", "direct", n)
            if reference in results and reference != key:
                ref_path = Path(scratch) / "{}_{}_{}.npy".format(*reference)
                r["gradient_rel_diff"] = compare_gradients(path, ref_path)
                r["gradient_rel_diff_reference"] = "{}_{}_N{}".format(*reference)
            results[key] = r
            progress(f"{scheme} {strategy} N={n}: grad {r['grad_seconds']:.3g} s, forward "
                     f"{r['forward_seconds']:.3g} s, peak RSS +{r['peak_rss_increase'] / 2**20:.0f}"
                     f" MiB, XLA {(r['xla'] or {}).get('total', 0) / 2**20:.1f} MiB")  # fmt: skip
    for scheme, strategy, n in runs:
        key = (scheme, strategy, n)
        if key not in results:
            continue
        base_key = ("verlet" if strategy == "diffrax" and ("rk4", "direct", n) not in results
                    else scheme, "direct", n)  # fmt: skip
        if base_key not in results:
            continue
        base_label = f"sjax_{base_key[0]}_direct_adjoint"
        label = strategy + ("_rk4" if scheme == "rk4" and strategy != "diffrax" else "")
        if strategy == "direct":
            r = results[key]
            name = "forward_time" + ("_rk4" if scheme == "rk4" else "") + f"_N{n}"
            records.append(record(name, r["forward_seconds"], "s", "report", n_steps=n,
                                  notes="jitted cost (plain scan + misfit), best of 3"))  # fmt: skip
        records += gradient_records(label, results[key], n, largest, results[base_key],
                                    base_label, strategy == "symplectic")  # fmt: skip
    progress("4D-Var Hessian-vector products ...")
    h = run_worker({"kind": "hvp", "n_steps": config["hvp_steps"], "quick": quick,
                    "float64": float64, "repeats": repeats}, timeout)  # fmt: skip
    if "error" in h:
        errors["hvp"] = h["error"]
        progress(f"hvp: FAILED\n{h['error']}")
    else:
        extra = {"n_steps": config["hvp_steps"], "n_observations": h["n_observations"]}
        records += [
            record("hvp_over_forward", h["hvp_seconds"], "s", HVP_TARGET, "forward_4dvar",
                   h["forward_seconds"], rel_diff_vs_jvp_grad=h["rel_diff_vs_jvp_grad"],
                   notes="hvp(cost, z, v): second-order adjoint", **extra),
            record("hvp_jvp_grad_over_forward", h["hvp_jvp_grad_seconds"], "s", "report",
                   "forward_4dvar", h["forward_seconds"],
                   notes="hvp(..., method='jvp_grad'), DirectAdjoint", **extra),
        ]  # fmt: skip
        progress(f"hvp: {h['hvp_seconds'] / h['forward_seconds']:.2f} forwards (jvp_grad "
                 f"{h['hvp_jvp_grad_seconds'] / h['forward_seconds']:.2f})")  # fmt: skip
    progress("twin experiment ...")
    t = run_worker({"kind": "twin", "quick": quick, "float64": float64, "repeats": repeats},
                   timeout)  # fmt: skip
    if "error" in t:
        errors["twin"] = t["error"]
        progress(f"twin: FAILED\n{t['error']}")
    else:
        extra = {"n_steps": t["n_steps"], "grid": t["grid"]}
        records += [
            record("twin_forward", t["forward_seconds"], "s", "report", **extra),
            record("twin_value_and_grad_over_forward", t["value_and_grad_seconds"], "s",
                   "report", "twin_forward", t["forward_seconds"], **extra),
            record("twin_hvp_over_forward", t["hvp_seconds"], "s", "report", "twin_forward",
                   t["forward_seconds"], hvp_finite=t["hvp_finite"], **extra),
        ]  # fmt: skip
        progress("twin done")
    devices = next((r["devices"] for r in results.values()), "unknown")
    nz, nx, spacing, width = config["grid"]
    return {
        "part": "assim",
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} "
        f"{os.cpu_count()} cpus",
        "jax": importlib.metadata.version("jax"),
        "devices": devices,
        "quick": quick,
        "dtype": "float64" if float64 else "float32",
        "grid": {"nz": nz, "nx": nx, "spacing": spacing, "absorbing_width": width},
        "diffrax": diffrax_info,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "errors": errors,
        "notes": "every gradient configuration ran in a fresh subprocess. grad_time_*: best of "
        f"{repeats} calls of the AOT-compiled jax.grad w.r.t. (initial state, medium) after an "
        "untimed call; baseline = DirectAdjoint of the same scheme and N (diffrax: sjax RK4 "
        "DirectAdjoint where measured, else sjax Stormer-Verlet DirectAdjoint). "
        "grad_over_forward_*: ratio = gradient / forward (jitted cost) in the same process. "
        "peak_memory_*: ru_maxrss after the first gradient call minus ru_maxrss after imports "
        "and backend start-up (includes set-up and XLA compilation; "
        "setup_compile_rss_increase is that part, sampled_rss_increase the psutil-sampled "
        "execution-only increase). xla_memory_*: compiled memory_analysis temp + argument + "
        "output bytes. Targets: symplectic time <= 2.5x direct, symplectic memory <= 0.1x "
        "direct at the largest N, 4D-Var hvp <= 5 forwards. load_average_1min (start, end) "
        "shows how busy the shared CPU was",
        "records": records,
    }


def _format(value, unit) -> str:
    if value is None:
        return "n/a"
    if unit == "bytes":
        return f"{value / 2**20:.1f}M"
    return f"{value:.3g}"


def print_table(result: dict) -> None:
    print(f"\nassim benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"dtype={result['dtype']}  quick={result['quick']}")  # fmt: skip
    header = (f"{'name':38s} {'value':>9s} {'unit':5s} {'baseline':28s} {'base val':>9s} "
              f"{'ratio':>7s}  target")  # fmt: skip
    print(header)
    print("-" * (len(header) + 10))
    for rec in result["records"]:
        unit = "MiB" if rec["unit"] == "bytes" else rec["unit"]
        base = "" if rec["baseline_value"] is None else _format(rec["baseline_value"],
                                                                  rec["unit"])  # fmt: skip
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.3g}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        value = _format(rec["value"], rec["unit"])
        print(f"{rec['name']:38s} {value:>9s} {unit:5s} {rec['baseline'] or '':28s} "
              f"{base:>9s} {ratio:>7s}  {rec['target']} {status}")  # fmt: skip
    if "skipped" in result["diffrax"]:
        print(f"diffrax peer skipped: {result['diffrax']['skipped']}")
    for name, error in result["errors"].items():
        print(f"FAILED {name}: {error.splitlines()[-1] if error else ''}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid and few steps, for CI")
    parser.add_argument("--float64", action="store_true", help="enable x64 (default float32)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(json.loads(args.worker))
        return
    out = args.out or RESULTS / ("assim_quick.json" if args.quick else "assim.json")
    start = time.perf_counter()
    result = run(args.quick, args.float64)
    result["seconds"] = round(time.perf_counter() - start, 1)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
