"""`simulate`: seismograms (and snapshots) of a point source in a layered medium."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import is_concrete
from sjax.integrate import CheckpointAdjoint, DirectAdjoint, DiscreteMap, SymplecticAdjoint
from sjax.integrate import solve as integrate_solve
from sjax.media import LayeredMedium
from sjax.wave.adjoint import psv_adjoint_step, sh_adjoint_step
from sjax.wave.boundaries import pml_coefficients
from sjax.wave.grid import (
    FD_COEFFICIENTS, Grid, _stability_bound, check_time_step, fastest_velocity, stable_time_step,
)  # fmt: skip
from sjax.wave.interpolation import PointWeights, gather, point_weights, scatter_add
from sjax.wave.materials import psv_material, sh_material
from sjax.wave.psv import PSVModel, psv_init, psv_step
from sjax.wave.sh import SHModel, sh_init, sh_step, surface_weights
from sjax.wave.sources import MomentTensorSource, PointForce, Receivers

__all__ = ["SimulationResult", "SamplingWarning", "simulate", "build_model", "receiver_stencils",
           "COMPONENTS"]

COMPONENTS = {"sh": ("y",), "psv": ("x", "z")}
# staggered offsets (row, col) of each displacement component
_OFFSETS = {"sh": ((0.0, 0.0),), "psv": ((0.0, 0.0), (0.5, 0.5))}


class SimulationResult(NamedTuple):
    """Output of `simulate`.

    Attributes:
        traces: ``(n_receiver, n_component, n_time)`` seismograms (m or m/s). Components are
            ``("y",)`` for SH and ``("x", "z")`` for P-SV, with z positive downwards.
        times: ``(n_time,)`` sample times in s (``n·dt``).
        snapshots: ``(n_snapshot, n_component, nz, nx)`` wavefields on the physical grid (each
            component on its own staggered nodes), or None.
        snapshot_times: ``(n_snapshot,)`` in s, or None.
    """

    traces: jax.Array
    times: jax.Array
    snapshots: jax.Array | None
    snapshot_times: jax.Array | None


def _stencil(grid: Grid, x, z, offset, free_surface) -> PointWeights:
    return point_weights(
        jnp.atleast_1d(z), jnp.atleast_1d(x), shape=grid.shape,
        spacing=(grid.spacing_z, grid.spacing_x),
        origin_x=-grid.absorbing_width * grid.spacing_x, offset=offset,
        free_surface=free_surface,
    )  # fmt: skip


def receiver_stencils(
    grid: Grid, receivers: Receivers, wave: str, free_surface: bool, dtype=None
) -> tuple[PointWeights, ...]:
    """Interpolation stencils of ``receivers`` for each displacement component of ``wave``
    (weights cast to ``dtype`` when given)."""
    stencils = []
    for offset in _OFFSETS[wave]:
        stencil = _stencil(grid, receivers.x, receivers.z, offset, free_surface)
        if dtype is not None:
            stencil = stencil._replace(weights=stencil.weights.astype(dtype))
        stencils.append(stencil)
    return tuple(stencils)


def _point_pattern(grid, x, z, offset, free_surface, dtype):
    stencil = _stencil(grid, x, z, offset, free_surface)
    field = scatter_add(jnp.zeros(grid.shape, dtype), stencil, jnp.ones((1,), dtype))
    return field / (grid.spacing_x * grid.spacing_z)


def _source_patterns(source, grid: Grid, wave: str, free_surface: bool, dtype):
    """Force density fields (N/m³ per unit amplitude), one per displacement component."""
    if wave == "sh":
        if not isinstance(source, PointForce):
            raise TypeError(f"SH takes a PointForce source, got {type(source).__name__}")
        pattern = _point_pattern(grid, source.x, source.z, (0.0, 0.0), free_surface, dtype)
        return pattern / surface_weights(grid, free_surface, dtype)
    mass_x = surface_weights(grid, free_surface, dtype)
    if isinstance(source, PointForce):
        fx, fz = source.direction[0], source.direction[1]
        px = _point_pattern(grid, source.x, source.z, (0.0, 0.0), free_surface, dtype)
        pz = _point_pattern(grid, source.x, source.z, (0.5, 0.5), free_surface, dtype)
        return (fx * px / mass_x, fz * pz)
    if isinstance(source, MomentTensorSource):
        # f_i = -M_ij d_j delta(x - x_s) = M_ij d/dx_s,j delta(x - x_s)
        def pattern(position, offset):
            return _point_pattern(grid, position[0], position[1], offset, free_surface, dtype)

        position = jnp.stack([source.x, source.z])
        d_px = jax.jacfwd(pattern)(position, (0.0, 0.0))  # (nz, nx, 2): d/dx_s, d/dz_s
        d_pz = jax.jacfwd(pattern)(position, (0.5, 0.5))
        mxx, mzz, mxz = source.moment[0], source.moment[1], source.moment[2]
        px = mxx * d_px[..., 0] + mxz * d_px[..., 1]
        pz = mxz * d_pz[..., 0] + mzz * d_pz[..., 1]
        return (px / mass_x, pz)
    raise TypeError(
        f"source must be a PointForce or MomentTensorSource, got {type(source).__name__}"
    )


def build_model(
    medium: LayeredMedium,
    grid: Grid,
    source,
    *,
    dt: float,
    wave: str = "sh",
    free_surface: bool = True,
    pml_frequency=None,
    pml_reflection: float = 1e-4,
):
    """The `SHModel`/`PSVModel` (material, C-PML, source pattern) for one simulation.

    This is the seam the adjoint and inversion code builds on: ``sh_step(model, state, a)``
    advances one step. Arguments are as in `simulate`.
    """
    dtype = medium.density.dtype
    material = sh_material(medium, grid) if wave == "sh" else psv_material(medium, grid)
    frequency = source.wavelet.frequency if pml_frequency is None else pml_frequency
    pml = pml_coefficients(
        grid, velocity_max=fastest_velocity(medium, wave), dt=dt, frequency=frequency,
        reflection=pml_reflection, dtype=dtype,
    )  # fmt: skip
    pattern = _source_patterns(source, grid, wave, free_surface, dtype)
    pattern = jax.tree.map(lambda p: p.astype(dtype), pattern)
    model_type = SHModel if wave == "sh" else PSVModel
    return model_type(material, pml, pattern, grid, dt, free_surface)


def _validate(medium, grid, source, receivers, wave, output, duration, snapshot_every):
    if wave not in COMPONENTS:
        raise ValueError(f"wave={wave!r} must be 'sh' or 'psv'")
    if output not in ("displacement", "velocity"):
        raise ValueError(f"output={output!r} must be 'displacement' or 'velocity'")
    if not isinstance(medium, LayeredMedium):
        raise TypeError(f"medium must be a LayeredMedium, got {type(medium).__name__}")
    if medium.velocity_p.ndim != 1:
        raise ValueError("simulate takes one medium; use jax.vmap over a batch of media")
    if not isinstance(receivers, Receivers):
        raise TypeError(f"receivers must be Receivers, got {type(receivers).__name__}")
    if not (np.isfinite(duration) and duration > 0):
        raise ValueError(f"duration={duration} s must be positive")
    if snapshot_every is not None and int(snapshot_every) < 1:
        raise ValueError(f"snapshot_every={snapshot_every} must be a positive number of steps")
    depth, width = grid.extent
    points = {"receivers": (receivers.x, receivers.z), "source": (source.x, source.z)}
    for name, (x, z) in points.items():
        if not is_concrete(x, z):
            continue
        x, z = np.asarray(x), np.asarray(z)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z))):
            raise ValueError(f"{name} positions must be finite; got x={x}, z={z}")
        if np.any((x < 0) | (x > width) | (z < 0) | (z > depth)):
            raise ValueError(
                f"{name} must lie inside the physical grid x in [0, {width}] m, "
                f"z in [0, {depth}] m; got x={x}, z={z}"
            )


class SamplingWarning(UserWarning):
    """A simulation whose inputs look implausible (units or grid resolution): it runs, but the
    result is probably not what was meant."""


#: Fewer grid points than this per shortest wavelength (at the wavelet's upper frequency) warn.
MIN_POINTS_PER_WAVELENGTH = 5.0
#: Wave speeds below this (m/s) warn: km/s typed where m/s is expected.
MIN_PLAUSIBLE_VELOCITY = 10.0


def _warn_implausible(medium, grid, source, wave) -> None:
    """`SamplingWarning` for wave speeds below 10 m/s and for fewer than 5 grid points per
    shortest wavelength (concrete inputs only)."""
    import warnings

    speeds = [medium.velocity_s] if wave == "sh" else [medium.velocity_s, medium.velocity_p]
    if not is_concrete(*speeds):
        return
    speeds = np.concatenate([np.ravel(np.asarray(v)) for v in speeds])
    slowest = float(np.min(speeds[speeds > 0])) if np.any(speeds > 0) else 0.0
    if 0 < slowest < MIN_PLAUSIBLE_VELOCITY:
        warnings.warn(f"slowest wave speed {slowest:.6g} m/s is below "
                      f"{MIN_PLAUSIBLE_VELOCITY:g} m/s: velocities are in m/s, not km/s",
                      SamplingWarning, stacklevel=3)  # fmt: skip
    upper = getattr(source.wavelet, "upper_frequency", None)
    if upper is None or not is_concrete(upper) or slowest <= 0:
        return
    upper = float(np.max(np.asarray(upper)))
    spacing = max(grid.spacing_x, grid.spacing_z)
    points = slowest / upper / spacing
    if points < MIN_POINTS_PER_WAVELENGTH:
        warnings.warn(
            f"{points:.2g} grid points per shortest wavelength ({slowest:.6g} m/s at the "
            f"wavelet's upper frequency {upper:.4g} Hz, spacing {spacing:g} m); below "
            f"{MIN_POINTS_PER_WAVELENGTH:g} grid dispersion dominates the waveforms: refine the "
            "grid or lower the frequency",
            SamplingWarning, stacklevel=3,
        )  # fmt: skip


def _runtime_checks(amplitudes, medium, source, receivers, grid, dt, wave):
    """``amplitudes`` carrying run-time errors (`equinox.error_if`) for what `_validate` and
    `check_time_step` cannot see in traced inputs (under ``jit``/``vmap``/``grad``): a ``dt``
    above the CFL bound of the traced medium, non-finite or non-positive material values, and
    non-finite or out-of-grid source and receiver positions. Every value reaches the traces
    through the source wavelet, so no result comes back without the error."""
    bound = _stability_bound(fastest_velocity(medium, wave), grid)
    name = "velocity_s" if wave == "sh" else "velocity_p"
    amplitudes = eqx.error_if(
        amplitudes, dt > bound,
        f"dt={dt:.6g} s violates CFL for the traced medium: needs dt <= 1 / ({name} max · "
        f"{sum(abs(c) for c in FD_COEFFICIENTS):.6g} · sqrt(1/dz² + 1/dx²)); pass a smaller dt, "
        "e.g. stable_time_step(fastest_medium, grid)",
    )  # fmt: skip
    materials = (medium.velocity_p, medium.velocity_s, medium.density)
    bad_material = jnp.any(jnp.stack([jnp.any(~(m > 0) | ~jnp.isfinite(m)) for m in materials]))
    amplitudes = eqx.error_if(amplitudes, bad_material, "velocity_p, velocity_s and density of "
                              "the traced medium must be positive and finite")  # fmt: skip
    depth, width = grid.extent
    for label, x, z in (("receivers", receivers.x, receivers.z), ("source", source.x, source.z)):
        inside = (x >= 0) & (x <= width) & (z >= 0) & (z <= depth)  # False for NaN
        message = (f"traced {label} positions must be finite and inside x in [0, {width}] m, "
                   f"z in [0, {depth}] m")  # fmt: skip
        amplitudes = eqx.error_if(amplitudes, ~jnp.all(inside), message)
    return eqx.error_if(amplitudes, ~jnp.all(jnp.isfinite(amplitudes)),
                        "the source wavelet has non-finite samples")  # fmt: skip


def simulate(
    medium: LayeredMedium,
    grid: Grid,
    source,
    receivers: Receivers,
    *,
    duration: float,
    dt: float | None = None,
    wave: str = "sh",
    output: str = "displacement",
    snapshot_every: int | None = None,
    free_surface: bool = True,
    pml_frequency=None,
    pml_reflection: float = 1e-4,
    adjoint=CheckpointAdjoint(),
    progress: bool = False,
    check: bool = True,
) -> SimulationResult:
    """Simulate 2-D SH or P-SV waves from a point source in a layered medium.

    A pure function: differentiable (``jax.grad``) with respect to the medium (velocities,
    densities, thicknesses), the source (position, origin time, amplitude, moment) and the
    receiver positions, and batchable with ``jax.vmap`` over media or sources. Under
    ``jit``/``vmap``/``grad`` pass ``dt`` explicitly (a traced medium cannot choose it); the
    grid, ``duration``, ``dt`` and the string/bool options are static.

    Args:
        medium: the `LayeredMedium`.
        grid: the `Grid` (physical domain plus C-PML).
        source: a `PointForce` (SH or P-SV) or `MomentTensorSource` (P-SV).
        receivers: `Receivers` anywhere in the physical domain.
        duration: simulated time in s; ``n_time = floor(duration/dt) + 1`` samples.
        dt: time step in s; default ``stable_time_step(medium, grid, wave=wave)``. A ``dt``
            above the CFL bound raises ``ValueError`` naming the bound; under ``jit`` with a
            traced medium it raises ``EquinoxRuntimeError`` at run time (as do non-finite
            material values and positions), so no non-finite traces come back silently.
            Implausible inputs (wave speeds below 10 m/s, under 5 grid points per shortest
            wavelength at the wavelet's upper frequency) warn with `SamplingWarning`.
        wave: ``"sh"`` or ``"psv"``.
        output: record ``"displacement"`` (m) or ``"velocity"`` (m/s).
        snapshot_every: also return the wavefield every this many steps.
        free_surface: traction-free top (default) or rigid top.
        pml_frequency: frequency (Hz) tuning the C-PML; default the source's frequency.
        pml_reflection: target C-PML reflection coefficient.
        adjoint: how reverse mode differentiates the time loop (``sjax.integrate``):
            `CheckpointAdjoint()` (default) rematerialises √n_time blocks (memory ∝ √n_time, about
            one extra forward solve; composes with ``jvp``/``jacfwd``); `DirectAdjoint()` stores
            every step; `SymplecticAdjoint()` is the hand-built adjoint (a ``custom_vjp`` that
            stores √n_time checkpoints, recomputes each step and applies the hand-written exact
            adjoint step `sh_adjoint_step`/`psv_adjoint_step`; reverse mode only, no snapshots).
        progress: show a progress bar (host callback; works under jit).
        check: with traced inputs (under ``jit``/``vmap``/``grad``), add the run-time checks of
            ``dt`` against the CFL bound, of the material values and of the positions
            (`equinox.error_if`). They are host callbacks, which JAX's persistent compilation
            cache does not store; ``check=False`` drops them (inputs already validated).
            Concrete inputs are always checked in Python, at no run-time cost.

    Returns:
        `SimulationResult` with ``traces`` of shape ``(n_receiver, n_component, n_time)``.
    """
    _validate(medium, grid, source, receivers, wave, output, duration, snapshot_every)
    if not isinstance(adjoint, (DirectAdjoint, CheckpointAdjoint, SymplecticAdjoint)):
        raise TypeError("adjoint must be DirectAdjoint(), CheckpointAdjoint() or "
                        f"SymplecticAdjoint(), got {type(adjoint).__name__}")  # fmt: skip
    if isinstance(adjoint, SymplecticAdjoint) and snapshot_every:
        raise ValueError("snapshot_every is not available with SymplecticAdjoint (it stores "
                         "only checkpoints); use CheckpointAdjoint() for snapshots")  # fmt: skip
    if dt is None:
        dt = stable_time_step(medium, grid, wave=wave)
    dt = float(dt)
    check_time_step(dt, medium, grid, wave)
    _warn_implausible(medium, grid, source, wave)
    n_time = int(math.floor(duration / dt + 1e-9)) + 1
    traced = not is_concrete(*jax.tree.leaves((medium, source, receivers)))
    return _simulate_core(
        medium, source, receivers, grid=grid, n_time=n_time, dt=dt, wave=wave, output=output,
        snapshot_every=snapshot_every, free_surface=free_surface, pml_frequency=pml_frequency,
        pml_reflection=pml_reflection, adjoint=adjoint, progress=progress,
        runtime_checks=bool(check) and traced,
    )  # fmt: skip


@eqx.filter_jit
def _simulate_core(
    medium, source, receivers, *, grid, n_time, dt, wave, output, snapshot_every, free_surface,
    pml_frequency, pml_reflection, adjoint, progress, runtime_checks,
) -> SimulationResult:  # fmt: skip
    model = build_model(
        medium, grid, source, dt=dt, wave=wave, free_surface=free_surface,
        pml_frequency=pml_frequency, pml_reflection=pml_reflection,
    )  # fmt: skip
    dtype = medium.density.dtype
    stencils = receiver_stencils(grid, receivers, wave, free_surface, dtype)
    times = jnp.arange(n_time, dtype=dtype) * dt
    amplitudes = source.wavelet(times).astype(dtype)
    if runtime_checks:
        amplitudes = _runtime_checks(amplitudes, medium, source, receivers, grid, dt, wave)
    if isinstance(adjoint, SymplecticAdjoint):
        traces = _traces_symplectic(model, stencils, amplitudes, wave, output, adjoint)
        return SimulationResult(traces, times, None, None)
    block = int(snapshot_every) if snapshot_every else max(1, int(round(math.sqrt(n_time))))
    n_block = -(-n_time // block)
    amplitudes = jnp.pad(amplitudes, (0, n_block * block - n_time)).reshape(n_block, block)

    state0, step = (sh_init(grid, dtype), sh_step) if wave == "sh" else (
        psv_init(grid, dtype), psv_step)  # fmt: skip
    use_velocity = output == "velocity"

    def fields(state, velocity: bool) -> tuple:
        field = state.velocity if velocity else state.displacement
        return (field,) if wave == "sh" else tuple(field)

    def record(state, new_state):
        if use_velocity:  # v_n = (v_{n-1/2} + v_{n+1/2}) / 2
            values = [0.5 * (a + b) for a, b in zip(fields(state, True), fields(new_state, True))]
        else:
            values = fields(state, False)
        return jnp.stack([gather(v, s) for v, s in zip(values, stencils)], axis=1)

    def run_block(model, state, block_amplitudes):
        def one_step(state, amplitude):
            new_state = step(model, state, amplitude)
            return new_state, record(state, new_state)

        return jax.lax.scan(one_step, state, block_amplitudes)

    if isinstance(adjoint, CheckpointAdjoint):  # rematerialise each block in reverse mode; the model is an explicit input
        run_block = jax.checkpoint(run_block)

    def outer(state, inputs):
        index, block_amplitudes = inputs
        state, traces = run_block(model, state, block_amplitudes)
        if progress:
            jax.debug.callback(functools.partial(_report_progress, n_block=n_block, block=block,
                                                 n_time=n_time, wave=wave), index)  # fmt: skip
        snap = None
        if snapshot_every:
            snap = jnp.stack([grid.physical(f) for f in fields(state, use_velocity)])
        return state, (traces, snap)

    _, (traces, snaps) = jax.lax.scan(outer, state0, (jnp.arange(n_block), amplitudes))
    traces = traces.reshape(n_block * block, *traces.shape[2:])[:n_time]
    traces = jnp.moveaxis(traces, 0, -1)  # (n_receiver, n_component, n_time)
    snapshot_times = None
    if snapshot_every:
        snapshot_times = (jnp.arange(1, n_block + 1) * block * dt).astype(dtype)
    return SimulationResult(traces, times, snaps, snapshot_times)


def _traces_symplectic(model, stencils, amplitudes, wave, output, adjoint) -> jax.Array:
    """Seismograms ``(n_receiver, n_component, n_time)`` by `sjax.integrate.solve` with the
    leapfrog step as a `DiscreteMap` whose adjoint is the hand-written `sh_adjoint_step` /
    `psv_adjoint_step` (the C-PML recursion is recomputed from checkpoints, never reversed)."""
    step = sh_step if wave == "sh" else psv_step
    n_time = amplitudes.shape[0]
    state0 = sh_init(model.grid, amplitudes.dtype) if wave == "sh" else psv_init(
        model.grid, amplitudes.dtype)  # fmt: skip

    def observe(state, stencils):
        field = state.velocity if output == "velocity" else state.displacement
        field = (field,) if wave == "sh" else tuple(field)
        return jnp.stack([gather(v, s) for v, s in zip(field, stencils)], axis=1)

    adjoint_step = sh_adjoint_step if wave == "sh" else psv_adjoint_step

    def leapfrog_adjoint(state, next_state, args, amplitude, cotangent):
        model, stencils = args
        state_bar, model_bar, amplitude_bar = adjoint_step(model, state, next_state, amplitude,
                                                           cotangent)  # fmt: skip
        return state_bar, (model_bar, jax.tree.map(jnp.zeros_like, stencils)), amplitude_bar

    leapfrog = DiscreteMap(lambda state, args, amplitude: step(args[0], state, amplitude),
                           name="leapfrog + C-PML", adjoint_function=leapfrog_adjoint)  # fmt: skip
    ys = integrate_solve(
        leapfrog, state0, (model, stencils), n_steps=n_time, dt=model.dt, inputs=amplitudes,
        observe=lambda state, args: observe(state, args[1]), adjoint=adjoint,
    )  # fmt: skip
    # velocity output: v_n = (v_{n-1/2} + v_{n+1/2}) / 2; displacement: u_0 ... u_{n_time-1}
    ys = 0.5 * (ys[:-1] + ys[1:]) if output == "velocity" else ys[:-1]
    return jnp.moveaxis(ys, 0, -1)


_progress_bar = None


def _report_progress(index, *, n_block: int, block: int, n_time: int, wave: str) -> None:
    """Host callback from the time loop after each block of ``block`` time steps: a tqdm bar
    counting time steps, opened at block 0, closed at the last."""
    global _progress_bar
    from tqdm.auto import tqdm

    done = int(np.max(np.asarray(index))) + 1
    if _progress_bar is None or done == 1:
        if _progress_bar is not None:
            _progress_bar.close()
        name = "SH" if wave == "sh" else "P-SV"
        _progress_bar = tqdm(total=n_time, desc=f"{name} simulation", unit="step",
                             unit_scale=False, leave=False)  # fmt: skip
    _progress_bar.n = min(done * block, n_time)
    _progress_bar.refresh()
    if done == n_block:
        _progress_bar.close()
        _progress_bar = None
