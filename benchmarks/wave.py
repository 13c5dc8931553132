"""Benchmark of `sjax.wave`: cell-updates per second of the SH and P-SV propagators.

What is measured, for each wave type on three square grids:

* **sjax forward** — a jitted `sjax.wave.simulate` (2-layer `LayeredMedium`, Ricker
  `PointForce` for SH / `explosion` for P-SV, 10 surface `Receivers`, explicit ``dt``,
  ``adjoint=CheckpointAdjoint()``; the ``*_symplectic`` records use ``SymplecticAdjoint()``),
  compiled once, then the best of a few timed repeats
  (``block_until_ready``).
* **sjax forward+gradient** — jitted ``jax.value_and_grad`` of the misfit
  ``0.5·Σ(traces − observed)²`` with respect to the whole medium (all layer properties);
  reported as cell-updates/s and as the ratio gradient time / forward time.
* **NumPy, same scheme** (in-run baseline) — the identical discretisation written in vectorised
  float32 NumPy below: 4th-order staggered differences, the same free-surface mirror/imaging
  rules and C-PML memory variables, the same material, C-PML profiles and source patterns (taken
  from `sjax.wave.build_model`) and the same receiver interpolation. Before timing, the script
  asserts that it reproduces `sh_step`/`psv_step` to 2e-4 relative on a 64×64 grid over 200
  steps, so the baseline is honestly the same scheme. Forward only.
* **Deepwave scalar** (peer, SH only) — ``deepwave.scalar`` (constant-density acoustic wave
  equation, 4th order in space, 2nd-order time stepping) on the same padded array: physical
  grid plus a 20-cell PML on the left, right and bottom and a reflecting (``"rigid"``, the SH
  free-surface parity) top, float32, CPU, ``torch.set_num_threads(2)``, the same ``dt`` (the
  script checks Deepwave does not sub-step). Forward (``torch.no_grad``) and forward+backward
  (``loss.backward()`` w.r.t. the velocity). Its update has fewer flops per cell than SH with
  variable μ and ρ, so ≥ 1× is a demanding target.

Cells are counted as the size of the stepped array, absorbing layer included:
``(nz + 20)·(nx + 40)`` for an ``nz × nx`` physical grid, for sjax and for the peers alike;
cell-updates/s = cells × time steps / seconds. Timings are taken on whatever device JAX picks
(recorded in ``devices``); the NumPy and Deepwave peers always run on the CPU.

Usage: ``python benchmarks/wave.py [--quick] [--out PATH]``. ``--quick`` uses small grids and
few steps (one to two minutes, mostly compilation, on a 2-core CPU) and writes
``benchmarks/results/wave_quick.json``; the full run writes ``benchmarks/results/wave.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from sjax.integrate import CheckpointAdjoint, SymplecticAdjoint
from sjax.media import LayeredMedium
from sjax.wave import (
    Grid,
    PointForce,
    Receivers,
    Ricker,
    build_model,
    explosion,
    psv_init,
    psv_step,
    sh_init,
    sh_step,
    simulate,
    stable_time_step,
)
from sjax.wave.grid import FD_COEFFICIENTS
from sjax.wave.simulate import receiver_stencils

SPACING = 5.0  # m
WIDTH = 20  # C-PML cells (left, right, bottom)
FREQUENCY = 10.0  # Hz, Ricker peak
N_RECEIVER = 10
C1, C2 = FD_COEFFICIENTS
# (physical nodes per side, time steps); step counts are perfect squares so that simulate's
# √n checkpoint blocks add no padding steps.
FULL = {"grids": ((128, 600), (256, 400), (512, 200)), "repeats": 5}
QUICK = {"grids": ((64, 64), (96, 64), (128, 64)), "repeats": 5}
RESULTS = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------------------------------
# The problem
# --------------------------------------------------------------------------------------------


def problem(n: int, wave: str, origin_time: float = 0.0):
    """Medium, grid, source, receivers and dt of an ``n × n`` benchmark problem."""
    grid = Grid(n, n, SPACING, SPACING, absorbing_width=WIDTH)
    depth, width = grid.extent
    medium = LayeredMedium(
        thickness=[depth / 3], velocity_p=[1800.0, 3500.0], velocity_s=[600.0, 2000.0],
        density=[1900.0, 2500.0],
    )  # fmt: skip
    wavelet = Ricker(FREQUENCY, origin_time=origin_time)
    x_source, z_source = 0.3 * width, 0.2 * depth
    source = (
        PointForce(x_source, z_source, wavelet)
        if wave == "sh"
        else explosion(x_source, z_source, wavelet)
    )
    receivers = Receivers(np.linspace(0.1, 0.9, N_RECEIVER) * width)
    dt = stable_time_step(medium, grid, wave=wave)
    return medium, grid, source, receivers, dt


def best_time(fn, repeats: int) -> float:
    """Best wall time (s) of ``fn()`` over ``repeats`` calls, after one untimed warm-up call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


# --------------------------------------------------------------------------------------------
# sjax
# --------------------------------------------------------------------------------------------


def time_sjax(n: int, n_steps: int, wave: str, repeats: int, adjoint=CheckpointAdjoint()):
    """(forward seconds, forward+gradient seconds) of jitted `simulate` with ``n_steps`` steps,
    the gradient by the ``adjoint`` strategy of `simulate`."""
    medium, grid, source, receivers, dt = problem(n, wave)
    duration = (n_steps - 0.5) * dt  # simulate takes floor(duration/dt) + 1 = n_steps samples

    @jax.jit
    def forward(medium, source, receivers):
        return simulate(medium, grid, source, receivers, duration=duration, dt=dt, wave=wave).traces

    observed = forward(
        LayeredMedium(
            medium.thickness, medium.velocity_p * 1.05, medium.velocity_s * 1.05, medium.density
        ),
        source,
        receivers,
    )
    assert observed.shape[-1] == n_steps

    @jax.jit
    def value_and_gradient(medium, source, receivers):
        def misfit(medium):
            traces = simulate(medium, grid, source, receivers, duration=duration, dt=dt,
                              wave=wave, adjoint=adjoint).traces  # fmt: skip
            return 0.5 * jnp.sum((traces - observed) ** 2)

        return jax.value_and_grad(misfit)(medium)

    seconds_forward = best_time(lambda: forward(medium, source, receivers), repeats)
    seconds_gradient = best_time(lambda: value_and_gradient(medium, source, receivers), repeats)
    return seconds_forward, seconds_gradient


# --------------------------------------------------------------------------------------------
# The same scheme in vectorised NumPy (ports of sjax.wave.stencils / sh / psv)
# --------------------------------------------------------------------------------------------


def _along(axis: int, start: int, stop: int):
    return (slice(None),) * axis + (slice(start, stop),)


def _padded(field, axis, before, after, top, on_nodes):
    n = field.shape[axis]
    shape = list(field.shape)
    shape[axis] = n + before + after
    out = np.zeros(shape, field.dtype)
    out[_along(axis, before, before + n)] = field
    if top != "zero":
        first = 1 if on_nodes else 0
        head = np.flip(field[_along(axis, first, first + before)], axis=axis)
        out[_along(axis, 0, before)] = head if top == "even" else -head
    return out


def np_forward(field, axis, spacing, top="zero"):
    """`sjax.wave.stencils.forward` in NumPy: nodes → half-nodes."""
    n = field.shape[axis]
    p = _padded(field, axis, 1, 2, top, on_nodes=True)
    f = lambda shift: p[_along(axis, 1 + shift, 1 + shift + n)]
    return (C1 * (f(1) - f(0)) + C2 * (f(2) - f(-1))) / spacing


def np_backward(field, axis, spacing, top="zero"):
    """`sjax.wave.stencils.backward` in NumPy: half-nodes → nodes."""
    n = field.shape[axis]
    p = _padded(field, axis, 2, 1, top, on_nodes=False)
    g = lambda shift: p[_along(axis, 2 + shift, 2 + shift + n)]
    return (C1 * (g(0) - g(-1)) + C2 * (g(1) - g(-2))) / spacing


def np_sh_step(model, state, amplitude):
    """`sjax.wave.sh_step` in NumPy; ``state = (u, v, memory)``."""
    u, v, (psi_x, psi_z, phi_x, phi_z) = state
    mat, pml, grid = model.material, model.pml, model.grid
    top_u, top_s = ("even", "odd") if model.free_surface else ("zero", "zero")
    dx, dz = grid.spacing_x, grid.spacing_z
    du_dx = np_forward(u, 1, dx)
    du_dz = np_forward(u, 0, dz, top_u)
    psi_x = pml.b_x_half * psi_x + pml.a_x_half * du_dx
    psi_z = pml.b_z_half * psi_z + pml.a_z_half * du_dz
    ds_dx = np_backward(mat.mu_x * (du_dx + psi_x), 1, dx)
    ds_dz = np_backward(mat.mu_z * (du_dz + psi_z), 0, dz, top_s)
    phi_x = pml.b_x * phi_x + pml.a_x * ds_dx
    phi_z = pml.b_z * phi_z + pml.a_z * ds_dz
    force = ds_dx + phi_x + ds_dz + phi_z
    v = v + model.dt * (force + amplitude * model.source_pattern) / mat.density
    return u + model.dt * v, v, (psi_x, psi_z, phi_x, phi_z)


def np_psv_step(model, state, amplitude):
    """`sjax.wave.psv_step` in NumPy; ``state = ((u_x, u_z), (v_x, v_z), memory)``."""
    (ux, uz), (vx, vz), memory = state
    m_exx, m_ezz, m_dzux, m_dxuz, m_sxx, m_sxz_z, m_sxz_x, m_szz = memory
    mat, pml, grid = model.material, model.pml, model.grid
    dx, dz = grid.spacing_x, grid.spacing_z
    top = "odd" if model.free_surface else "zero"
    exx = np_forward(ux, 1, dx)
    ezz = np_backward(uz, 0, dz)
    dzux = np_forward(ux, 0, dz)
    dxuz = np_backward(uz, 1, dx)
    if model.free_surface:
        ezz[1] = (uz[1] - uz[0]) / dz
        dzux[0] = (ux[1] - ux[0]) / dz
    m_exx = pml.b_x_half * m_exx + pml.a_x_half * exx
    m_ezz = pml.b_z * m_ezz + pml.a_z * ezz
    m_dzux = pml.b_z_half * m_dzux + pml.a_z_half * dzux
    m_dxuz = pml.b_x * m_dxuz + pml.a_x * dxuz
    exx, ezz = exx + m_exx, ezz + m_ezz
    lam, modulus = mat.lam, mat.p_modulus
    sxx = modulus * exx + lam * ezz
    szz = lam * exx + modulus * ezz
    if model.free_surface:
        lam0, mod0 = np.broadcast_to(lam, sxx.shape)[0], np.broadcast_to(modulus, sxx.shape)[0]
        sxx[0] = (mod0 - lam0**2 / mod0) * exx[0]
        szz[0] = 0.0
    sxz = mat.mu_shear * (dzux + m_dzux + dxuz + m_dxuz)
    dsxx = np_backward(sxx, 1, dx)
    dsxz_z = np_backward(sxz, 0, dz, top)
    dsxz_x = np_forward(sxz, 1, dx)
    dszz = np_forward(szz, 0, dz, top)
    m_sxx = pml.b_x * m_sxx + pml.a_x * dsxx
    m_sxz_z = pml.b_z * m_sxz_z + pml.a_z * dsxz_z
    m_sxz_x = pml.b_x_half * m_sxz_x + pml.a_x_half * dsxz_x
    m_szz = pml.b_z_half * m_szz + pml.a_z_half * dszz
    pattern_x, pattern_z = model.source_pattern
    vx = vx + model.dt * (dsxx + m_sxx + dsxz_z + m_sxz_z + amplitude * pattern_x) / mat.density_x
    vz = vz + model.dt * (dsxz_x + m_sxz_x + dszz + m_szz + amplitude * pattern_z) / mat.density_z
    memory = (m_exx, m_ezz, m_dzux, m_dxuz, m_sxx, m_sxz_z, m_sxz_x, m_szz)
    return (ux + model.dt * vx, uz + model.dt * vz), (vx, vz), memory


def sjax_model(n: int, wave: str, origin_time: float = 0.0):
    """The jitted `build_model` output and receiver stencils of a problem, plus source and dt."""
    medium, grid, source, receivers, dt = problem(n, wave, origin_time)
    model, stencils = jax.jit(
        lambda medium, source, receivers: (
            build_model(medium, grid, source, dt=dt, wave=wave),
            receiver_stencils(grid, receivers, wave, True),
        )
    )(medium, source, receivers)
    return model, stencils, source, dt


def numpy_state(shape, wave: str):
    """A quiescent float32 NumPy state in the layout `np_sh_step`/`np_psv_step` take."""
    zero = np.zeros(shape, np.float32)
    return (zero, zero, (zero,) * 4) if wave == "sh" else ((zero, zero), (zero, zero), (zero,) * 8)


def numpy_run(model, stencils, amplitudes, state, wave):
    """Step the NumPy scheme through ``amplitudes``, recording displacement traces like simulate."""
    step = np_sh_step if wave == "sh" else np_psv_step
    traces = []
    for amplitude in amplitudes:
        fields = (state[0],) if wave == "sh" else state[0]
        traces.append(
            [np.sum(f[s.rows, s.cols] * s.weights, axis=(1, 2)) for f, s in zip(fields, stencils)]
        )
        state = step(model, state, amplitude)
    return state, np.asarray(traces)


def scan_steps(step, init, model, amplitudes):
    """Final state of sjax's ``step`` scanned over ``amplitudes`` from ``init(model.grid)``."""
    return jax.lax.scan(lambda s, a: (step(model, s, a), None), init(model.grid), amplitudes)[0]


def check_numpy_scheme(n: int = 64, n_steps: int = 200, tolerance: float = 2e-4) -> dict:
    """Max relative difference of the NumPy scheme from `sh_step`/`psv_step` after ``n_steps``.

    The wavelet peaks at t = 0 and the source sits near the surface and the left C-PML, so the
    free-surface rules, both layers and the absorbing layer are all exercised.
    """
    errors = {}
    for wave, step, init in (("sh", sh_step, sh_init), ("psv", psv_step, psv_init)):
        model, stencils, source, dt = sjax_model(n, wave, origin_time=-1.0 / FREQUENCY)
        amplitudes = np.asarray(source.wavelet(jnp.arange(n_steps) * dt), np.float32)
        final = jax.jit(scan_steps, static_argnums=(0, 1))(step, init, model, amplitudes)
        model_np, stencils_np = jax.tree.map(np.asarray, (model, stencils))
        state = numpy_state(model.grid.shape, wave)
        state, _ = numpy_run(model_np, stencils_np, amplitudes, state, wave)
        got = jax.tree.leaves(state[:2])
        want = [np.asarray(leaf) for leaf in jax.tree.leaves(tuple(final)[:2])]
        errors[wave] = max(
            float(np.max(np.abs(g - w)) / np.max(np.abs(w))) for g, w in zip(got, want)
        )
        assert errors[wave] < tolerance, (
            f"NumPy {wave} scheme differs from sjax by {errors[wave]:.2e} (relative)"
        )
    return errors


def time_numpy(model, stencils, amplitudes, wave: str, repeats: int) -> float:
    """Best seconds of the NumPy scheme stepped through ``amplitudes``, over ``repeats`` runs."""
    model_np, stencils_np = jax.tree.map(np.asarray, (model, stencils))
    times = []
    for _ in range(repeats):
        state = numpy_state(model.grid.shape, wave)
        start = time.perf_counter()
        numpy_run(model_np, stencils_np, amplitudes, state, wave)
        times.append(time.perf_counter() - start)
    return min(times)


# --------------------------------------------------------------------------------------------
# Deepwave peer (scalar acoustic propagator, SH stand-in)
# --------------------------------------------------------------------------------------------


def time_deepwave(n: int, model, amplitudes, repeats: int):
    """(forward s, forward+backward s) of ``deepwave.scalar`` on the sjax SH array, or None.

    ``model`` is the sjax `SHModel` (its S speed profile becomes Deepwave's velocity) and
    ``amplitudes`` the source samples, one per time step.
    """
    try:
        import deepwave
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    _, grid, source, receivers, dt = problem(n, "sh")
    speed = np.sqrt(np.asarray(model.material.mu_x / model.material.density))[: grid.nz]
    velocity = torch.tensor(np.broadcast_to(speed, (grid.nz, grid.nx)).copy())
    amplitudes = torch.tensor(amplitudes).reshape(1, 1, -1)
    source_cell = [[[round(float(source.z) / SPACING), round(float(source.x) / SPACING)]]]
    receiver_cells = [[[0, round(float(x) / SPACING)] for x in np.asarray(receivers.x)]]
    kwargs = {
        "source_amplitudes": amplitudes,
        "source_locations": torch.tensor(source_cell),
        "receiver_locations": torch.tensor(receiver_cells),
        "accuracy": 4,
        "pml_width": [0, WIDTH, WIDTH, WIDTH],
        "boundary": ["rigid", "pml", "pml", "pml"],
        "pml_freq": FREQUENCY,
        "max_vel": 1.1 * float(np.max(speed)),  # room for the 5 % faster "observed" model
    }

    def forward(v):
        return deepwave.scalar(v, SPACING, dt, **kwargs)

    with torch.no_grad():
        out = forward(velocity)
    assert tuple(out.wavefield_0.shape[-2:]) == grid.shape, out.wavefield_0.shape
    assert out.info.step_ratio == 1, f"deepwave sub-steps dt by {out.info.step_ratio}"
    observed = forward(velocity * 1.05).receiver_amplitudes.detach()

    def run_forward():
        with torch.no_grad():
            return forward(velocity).receiver_amplitudes

    def run_gradient():
        v = velocity.clone().requires_grad_()
        loss = 0.5 * ((forward(v).receiver_amplitudes - observed) ** 2).sum()
        loss.backward()
        return v.grad

    return best_time(run_forward, repeats), best_time(run_gradient, repeats)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


DEEPWAVE_NOTE = (
    "deepwave.scalar: constant-density acoustic (fewer flops per cell than SH with variable mu "
    "and rho), accuracy=4, 20-cell PML left/right/bottom, rigid top, same array size and dt, "
    "float32, 2 torch threads"
)


def record(name, value, unit, target, baseline=None, baseline_value=None, **extra):
    ratio = None if baseline_value is None else value / baseline_value
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target (on ``ratio`` if it has a baseline); None if unknown."""
    if rec["target"] == "n/a" or (rec["baseline"] is not None and rec["ratio"] is None):
        return None
    number = rec["value"] if rec["baseline"] is None else rec["ratio"]
    op, bound = rec["target"].split()
    return number >= float(bound) if op == ">=" else number <= float(bound)


def run(quick: bool) -> dict:
    config = QUICK if quick else FULL
    repeats = config["repeats"]
    load_before = os.getloadavg()[0]
    errors = check_numpy_scheme()
    print(f"NumPy scheme vs sjax sh_step/psv_step (64x64, 200 steps): max rel. diff "
          f"SH {errors['sh']:.1e}, P-SV {errors['psv']:.1e}")  # fmt: skip
    records = []
    for wave in ("sh", "psv"):
        for n, n_steps in config["grids"]:
            cells = math.prod(Grid(n, n, SPACING, SPACING, absorbing_width=WIDTH).shape)
            updates = cells * n_steps
            size = f"{n}x{n}"
            extra = {"cells": cells, "steps": n_steps}
            forward_s, gradient_s = time_sjax(n, n_steps, wave, repeats)
            model, stencils, source, dt = sjax_model(n, wave)
            amplitudes = np.asarray(source.wavelet(jnp.arange(n_steps) * dt), np.float32)
            numpy_s = time_numpy(model, stencils, amplitudes, wave, repeats)
            records.append(record(
                f"{wave}_forward_{size}", updates / forward_s, "cells/s", ">= 5",
                "numpy_same_scheme", updates / numpy_s, **extra,
            ))  # fmt: skip
            cost_extra = dict(extra)
            if wave == "sh":
                peer = time_deepwave(n, model, amplitudes, repeats)
                note = DEEPWAVE_NOTE if peer else "deepwave not importable; peer skipped"
                peer = peer or (None, None)
                for kind, seconds, peer_seconds in (
                    ("forward", forward_s, peer[0]), ("gradient", gradient_s, peer[1])
                ):  # fmt: skip
                    name = f"sh_{kind}_{size}" + ("_vs_deepwave" if kind == "forward" else "")
                    records.append(record(
                        name, updates / seconds, "cells/s", ">= 1", "deepwave_scalar_4th_order",
                        None if peer_seconds is None else updates / peer_seconds, **extra,
                        notes=note + ("; forward+backward" if kind == "gradient" else ""),
                    ))  # fmt: skip
                if peer[0] is not None:
                    cost_extra["notes"] = f"deepwave's own cost: {peer[1] / peer[0]:.2f}x"
            else:
                records.append(record(
                    f"psv_gradient_{size}", updates / gradient_s, "cells/s", "n/a", **extra
                ))  # fmt: skip
            records.append(record(
                f"{wave}_gradient_cost_{size}", gradient_s / forward_s,
                "x forward time (lower is better)", "<= 4", **cost_extra,
            ))  # fmt: skip
            _, symplectic_s = time_sjax(n, n_steps, wave, repeats, SymplecticAdjoint())
            records.append(record(
                f"{wave}_gradient_cost_symplectic_{size}", symplectic_s / forward_s,
                "x forward time (lower is better)", "<= 3", **extra,
                notes="simulate(adjoint=SymplecticAdjoint()): sqrt(n) checkpoints, per-step "
                "recomputation and the hand-written adjoint step (sjax.wave.adjoint)",
            ))  # fmt: skip
            print(f"  timed {wave} {size}", flush=True)
    devices = jax.devices()
    return {
        "part": "wave",
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} "
        f"{os.cpu_count()} cpus",
        "jax": jax.__version__,
        "devices": f"{devices[0].platform} x{len(devices)}"
        + ("" if devices[0].platform == "cpu" else f" ({devices[0].device_kind})"),
        "quick": quick,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "notes": "cells = stepped array incl. C-PML, (nz+20)*(nx+40), for sjax and peers; "
        "cells/s = cells * steps / best wall time; sjax = jitted simulate (adjoint=CheckpointAdjoint()), "
        "gradient = value_and_grad of an L2 trace misfit w.r.t. the medium; numpy baseline "
        f"verified against sh_step/psv_step (max rel. diff SH {errors['sh']:.1e}, "
        f"P-SV {errors['psv']:.1e}); load_average_1min (start, end) shows how busy the "
        "shared CPU was: other processes on it slow the 2-thread XLA code more than 1-thread "
        "NumPy",
        "records": records,
    }


def print_table(result: dict) -> None:
    print(f"\nwave benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"quick={result['quick']}")  # fmt: skip
    header = (
        f"{'name':30s} {'value':>9s} {'unit':32s} {'baseline':26s} {'base val':>9s} "
        f"{'ratio':>6s}  target"
    )
    print(header)
    print("-" * (len(header) + 8))
    for rec in result["records"]:
        base = "" if rec["baseline_value"] is None else f"{rec['baseline_value']:.3g}"
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.2f}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        baseline = rec["baseline"] or ""
        print(f"{rec['name']:30s} {rec['value']:9.3g} {rec['unit']:32s} {baseline:26s} "
              f"{base:>9s} {ratio:>6s}  {rec['target']} {status}")  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids and few steps, for CI")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("wave_quick.json" if args.quick else "wave.json")
    result = run(args.quick)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
