"""A twin experiment for structure: three S velocities and a layer thickness of a layered SH
model from noisy surface seismograms (used by the tests, notebook 03, the demo and the
benchmark). The truth, prior and noise are drawn from explicit keys, so batches of
realisations run under ``vmap``."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.assim.cost import Background, Observations, hvp
from sjax.assim.optimize import newton_cg
from sjax.assim.structure import seismogram_steps, structure_problem
from sjax.integrate import SymplecticAdjoint
from sjax.media import LayeredMedium
from sjax.wave.grid import Grid
from sjax.wave.sources import PointForce, Receivers, Ricker

__all__ = ["LayeredTwin", "layered_twin", "twin_realisation", "twin_estimates",
           "TWIN_PARAMETERS"]  # fmt: skip

TWIN_PARAMETERS = ("velocity_s[0] (m/s)", "velocity_s[1] (m/s)", "velocity_s[2] (m/s)",
                   "thickness[0] (m)")  # fmt: skip
_TRUTH = np.array([600.0, 1000.0, 1600.0, 80.0])
_PRIOR_STD = np.array([25.0, 40.0, 100.0, 5.0])


class LayeredTwin(NamedTuple):
    """The fixed parts of the twin.

    Attributes:
        grid, source, receivers: the experiment geometry.
        dt: time step in s; steps: observation step indices.
        truth: ``(4,)`` true (velocity_s[0..2], thickness[0]) in m/s and m.
        prior_std: ``(4,)`` background standard deviations.
        clean: ``(K, n_receiver, 1)`` noise-free displacement seismograms (m).
        noise_std: observation noise standard deviation (m).
    """

    grid: Grid
    source: PointForce
    receivers: Receivers
    dt: float
    steps: tuple
    truth: np.ndarray
    prior_std: np.ndarray
    clean: jax.Array
    noise_std: float


def _medium_of(z) -> LayeredMedium:
    """(velocity_s[0..2], thickness[0]) into the reference three-layer medium."""
    return LayeredMedium(jnp.stack([z[3], jnp.asarray(110.0, z.dtype)]),
                         jnp.array([1800.0, 2500.0, 3500.0], z.dtype), z[:3],
                         jnp.array([1900.0, 2200.0, 2500.0], z.dtype))  # fmt: skip


def layered_twin(*, noise_level: float = 0.05, duration: float = 0.7, dt: float = 2.5e-3,
                 n_receiver: int = 10) -> LayeredTwin:  # fmt: skip
    """Build the twin: a 32 × 48-node grid (10 m, 8 sponge cells), an 8 Hz SH force at 20 m
    depth, ``n_receiver`` surface receivers, interfaces at 80 m and 190 m; noise of
    ``noise_level`` times the largest clean amplitude."""
    grid = Grid(32, 48, 10.0, 10.0, 8)
    receivers = Receivers(np.linspace(40.0, 430.0, n_receiver))
    source = PointForce(240.0, 20.0, Ricker(8.0, origin_time=0.13))
    steps = seismogram_steps(duration, dt, 2)
    zero = Observations(steps, np.zeros((len(steps), n_receiver, 1)), std=1.0)
    cost = structure_problem(_medium_of, grid, source, receivers, zero, dt=dt)
    clean = jax.jit(lambda z: cost.predict(z))(jnp.asarray(_TRUTH))
    noise_std = noise_level * float(jnp.max(jnp.abs(clean)))
    return LayeredTwin(grid, source, receivers, dt, steps, _TRUTH, _PRIOR_STD, clean, noise_std)


def twin_realisation(twin: LayeredTwin, key, adjoint=SymplecticAdjoint()):
    """``(cost, background_mean)`` of one realisation: observations = clean + noise, background
    mean = truth + prior noise (both drawn from ``key``), so that MAP errors over realisations
    have the posterior covariance (in the linear limit)."""
    noise_key, prior_key = jax.random.split(key)
    noisy = twin.clean + twin.noise_std * jax.random.normal(noise_key, twin.clean.shape)
    mean = jnp.asarray(twin.truth) + jnp.asarray(twin.prior_std) * jax.random.normal(
        prior_key, (4,))  # fmt: skip
    cost = structure_problem(
        _medium_of, twin.grid, twin.source, twin.receivers,
        Observations(twin.steps, noisy, std=twin.noise_std), dt=twin.dt,
        background=Background(mean, std=jnp.asarray(twin.prior_std)), adjoint=adjoint,
    )  # fmt: skip
    return cost, mean


def twin_estimates(twin: LayeredTwin, keys, *, n_iterations: int = 10):
    """MAP estimates of a batch of realisations: ``n_iterations`` Newton–CG steps (second-order
    adjoint Hessian–vector products) from each background mean, vmapped over ``keys``.

    Returns:
        ``(estimates (R, 4), gradient norms (R,))`` at the last iterate.
    """

    def one(key):
        cost, mean = twin_realisation(twin, key)
        solver = newton_cg(jax.value_and_grad(cost), lambda z, v: hvp(cost, z, v),
                           cg_max_iterations=4)

        def body(state, _):
            return solver.step(state)[0], None

        state, _ = jax.lax.scan(body, solver.init(mean), None, length=n_iterations)
        return state.params, jnp.linalg.norm(state.grad)

    return jax.jit(jax.vmap(one))(keys)

