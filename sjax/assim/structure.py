"""4D-Var for subsurface structure: the control is mapped to a `LayeredMedium`, the model is the
propagator's own leapfrog step with its C-PML (`sjax.wave.sh_step` / `psv_step`, a
`sjax.integrate.DiscreteMap`), and the observations are seismograms at the receivers."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp

from sjax.assim.cost import Background, FourDVar, Observations
from sjax.integrate import DiscreteMap, SymplecticAdjoint
from sjax.media import LayeredMedium
from sjax.wave.grid import Grid
from sjax.wave.interpolation import gather
from sjax.wave.psv import psv_init, psv_step
from sjax.wave.sh import sh_init, sh_step
from sjax.wave.simulate import build_model, receiver_stencils
from sjax.wave.sources import Receivers

__all__ = ["structure_problem", "seismogram_steps"]


def seismogram_steps(duration: float, dt: float, every: int = 1) -> tuple[int, ...]:
    """Step indices ``0, every, 2·every, ...`` of samples up to ``duration`` s at step ``dt``."""
    n_steps = int(math.floor(duration / dt + 1e-9))
    return tuple(range(0, n_steps + 1, int(every)))


def _leapfrog(wave: str) -> DiscreteMap:
    step = sh_step if wave == "sh" else psv_step

    def one_step(state, args, amplitude):
        return step(args[0], state, amplitude)

    return DiscreteMap(one_step, name=f"{wave.upper()} leapfrog + C-PML")


def structure_problem(
    medium_of: Callable[..., LayeredMedium],
    grid: Grid,
    source,
    receivers: Receivers,
    observations: Observations,
    *,
    dt: float,
    wave: str = "sh",
    background: Background | None = None,
    adjoint=SymplecticAdjoint(),
    free_surface: bool = True,
    pml_frequency=None,
) -> FourDVar:
    """A `FourDVar` cost for the structure behind seismograms.

    Args:
        medium_of: ``medium_of(z) -> LayeredMedium``, e.g. layer S velocities and a thickness
            placed into a reference medium (differentiable in ``z``).
        grid, source, receivers: as in `sjax.wave.simulate`.
        observations: `Observations` of displacement, rows ``(n_receiver, n_component)`` at step
            indices ``n`` (time ``n·dt``); `seismogram_steps` gives regular ones.
        dt: time step in s (must satisfy the CFL bound of every medium tried).
        wave: ``"sh"`` or ``"psv"``.
        background: `Background` prior on ``z`` (or None).
        adjoint: gradient strategy for ``jax.grad(cost)`` (default `SymplecticAdjoint`).
        free_surface, pml_frequency: as in `sjax.wave.simulate`.

    Returns:
        The `FourDVar`; ``cost.predict(z)`` gives the seismograms ``(K, n_receiver,
        n_component)`` at the observation steps.
    """
    if wave not in ("sh", "psv"):
        raise ValueError(f"wave={wave!r} must be 'sh' or 'psv'")
    n_steps = max(1, observations.steps[-1])

    def model(z):
        medium = medium_of(z)
        wave_model = build_model(medium, grid, source, dt=dt, wave=wave,
                                 free_surface=free_surface, pml_frequency=pml_frequency)
        dtype = medium.density.dtype
        stencils = receiver_stencils(grid, receivers, wave, free_surface, dtype)
        state0 = sh_init(grid, dtype) if wave == "sh" else psv_init(grid, dtype)
        amplitudes = source.wavelet(jnp.arange(n_steps, dtype=dtype) * dt).astype(dtype)
        return state0, (wave_model, stencils), amplitudes

    def observe(state, args):
        fields = (state.displacement,) if wave == "sh" else tuple(state.displacement)
        return jnp.stack([gather(f, s) for f, s in zip(fields, args[1])], axis=1)

    return FourDVar(_leapfrog(wave), model, observe, observations, background,
                    n_steps=n_steps, dt=float(dt), adjoint=adjoint)  # fmt: skip
