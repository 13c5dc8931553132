"""Replica-exchange Monte Carlo (parallel tempering): ``init`` and ``build_kernel``.

Replica ``l`` targets p_l(θ) ∝ π(θ)·exp(η_l·log L(θ)) (the prior is not tempered) with the
ascending ladder η_0 < … < η_{R-1} = 1. The state stacks the R replicas along a leading axis.
One sweep (`build_kernel`'s ``step``) is

1. a within-replica update of every replica (`sjax.mcmc.kernels`, vmapped over the replica
   axis with the first R keys of ``jax.random.split(key, R + 1)``, so results do not depend on
   the device layout; the last key drives the exchange);
2. one exchange sweep over the even pairs (0, 1), (2, 3), … or the odd pairs (1, 2), (3, 4), …
   (alternating with ``state.parity``), pair (l, l+1) swapping its states with probability
   min{1, exp[(η_{l+1} − η_l)(log L_l − log L_{l+1})]} — with the energy E = −log L this is the
   textbook min{1, exp[(η_{l+1} − η_l)(E_{l+1} − E_l)]}.

The exchange permutes the stacked *states* (positions, log densities, gradients, walker labels);
the temperatures and step sizes stay in their slots, so with the replica axis sharded over
devices only states move.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.mcmc.kernels import KERNELS, ReplicaState, build_replica_kernel, evaluate
from sjax.mcmc.ladder import check_ladder

__all__ = [
    "RemcState",
    "RemcInfo",
    "SamplingAlgorithm",
    "init",
    "build_kernel",
    "exchange",
    "replica_exchange",
]


class RemcState(NamedTuple):
    """Stacked replicas; R = number of replicas, slot 0 hottest, slot R - 1 the posterior."""

    position: Any  # pytree, every leaf (R, ...)
    logprior: jax.Array  # (R,) log π at each slot's position
    loglikelihood: jax.Array  # (R,) log L at each slot's position
    inverse_temperature: jax.Array  # (R,) η of each slot (fixed per slot; states move)
    step_size: jax.Array  # (R,) proposal scale of each slot (units of the position)
    walker: jax.Array  # (R,) int32, which original walker occupies each slot
    direction: jax.Array  # (R,) int32 walker label: -1 last end visited the hottest, +1 the
    #                       coldest (after a hottest visit), 0 not yet at the hottest end
    round_trips: jax.Array  # () int32, completed hottest -> coldest -> hottest round trips
    parity: jax.Array  # () int32, 0: even pairs (0, 1), (2, 3)... are tried next, 1: odd
    logprior_grad: Any = None  # pytree like position (MALA/HMC), else None
    loglikelihood_grad: Any = None  # pytree like position (MALA/HMC), else None


class RemcInfo(NamedTuple):
    """Diagnostics of one sweep."""

    acceptance: jax.Array  # (R,) within-replica acceptance probability of each slot
    swap_probability: jax.Array  # (R-1,) min(1, exp(log ratio)) of pair (l, l+1), all pairs
    swap_accepted: jax.Array  # (R-1,) bool, swapped this sweep (False if not attempted)
    swap_attempted: jax.Array  # (R-1,) bool, pair attempted this sweep (even or odd)
    round_trips: jax.Array  # () int32, total round trips so far


class SamplingAlgorithm(NamedTuple):
    """blackjax-style pair: ``init(positions) -> RemcState``, ``step(key, state)``."""

    init: Callable
    step: Callable


def _replica(state: RemcState) -> ReplicaState:
    return ReplicaState(state.position, state.logprior, state.loglikelihood,
                        state.logprior_grad, state.loglikelihood_grad)  # fmt: skip


def init(positions, logprior_fn: Callable, loglikelihood_fn: Callable, ladder, *,
         step_size=0.1, kernel: str = "rwm") -> RemcState:  # fmt: skip
    """Stack the initial replicas and evaluate their log densities.

    Args:
        positions: pytree whose leaves have the replica axis R first (e.g. ``(R, D)``).
        logprior_fn: ``position -> ()`` log prior density (not tempered).
        loglikelihood_fn: ``position -> ()`` log likelihood (tempered by η).
        ladder: ``(R,)`` inverse temperatures, see `check_ladder`.
        step_size: proposal scale, a scalar or ``(R,)`` per slot, > 0 (units of the position).
        kernel: the within-replica kernel the state is for ("rwm", "mala", "hmc"); gradient
            kernels store the gradients of both log densities.

    Returns:
        The `RemcState`; walker ``l`` starts in slot ``l``.

    Raises:
        ValueError: for an invalid ladder, a leading axis other than R, a non-finite initial
            log prior or log likelihood (the replica indices are named), a non-positive or
            mis-shaped step size, or an unknown kernel.
    """
    ladder = check_ladder(ladder)
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r} must be one of {sorted(KERNELS)}")
    n = ladder.shape[0]
    leaves = jax.tree.leaves(positions)
    if not leaves:
        raise ValueError("positions must have at least one array leaf")
    shapes = [np.shape(leaf) for leaf in leaves]
    if any(len(s) == 0 or s[0] != n for s in shapes):
        raise ValueError(
            f"positions must have leading axis len(ladder)={n}; got leaf shapes {shapes}"
        )
    positions = jax.tree.map(jnp.asarray, positions)
    dtype = jnp.result_type(*jax.tree.leaves(positions))
    steps = np.asarray(step_size, dtype=np.float64)
    if steps.shape not in ((), (n,)):
        raise ValueError(f"step_size must be a scalar or shape ({n},), got shape {steps.shape}")
    if not np.all(np.isfinite(steps) & (steps > 0)):
        raise ValueError(f"step_size must be finite and > 0, got {step_size}")
    replicas = jax.vmap(lambda x: evaluate(logprior_fn, loglikelihood_fn, x,
                                           gradients=KERNELS[kernel][1]))(positions)  # fmt: skip
    for name, values in (("logprior", replicas.logprior),
                         ("loglikelihood", replicas.loglikelihood)):  # fmt: skip
        bad = np.flatnonzero(~np.isfinite(np.asarray(values)))
        if bad.size:
            raise ValueError(
                f"initial {name} is not finite at replica indices {bad.tolist()}"
            )
    direction = np.zeros(n, np.int32)
    direction[0] = -1  # the walker in the hottest slot has visited the hottest end
    return RemcState(
        position=replicas.position, logprior=replicas.logprior,
        loglikelihood=replicas.loglikelihood, inverse_temperature=ladder.astype(dtype),
        step_size=jnp.broadcast_to(jnp.asarray(steps, dtype), (n,)),
        walker=jnp.arange(n, dtype=jnp.int32), direction=jnp.asarray(direction),
        round_trips=jnp.zeros((), jnp.int32), parity=jnp.zeros((), jnp.int32),
        logprior_grad=replicas.logprior_grad, loglikelihood_grad=replicas.loglikelihood_grad,
    )  # fmt: skip


def exchange(key, state: RemcState) -> tuple[RemcState, RemcInfo]:
    """One exchange sweep over the pairs of parity ``state.parity``, then flip the parity.

    Args:
        key: PRNG key (one uniform per pair).
        state: the replicas after their within-replica update.

    Returns:
        ``(state, info)``; ``info.acceptance`` is all ones (filled in by `build_kernel`).
    """
    n = state.inverse_temperature.shape[0]
    eta = state.inverse_temperature
    loglik = state.loglikelihood
    log_ratio = (eta[1:] - eta[:-1]) * (loglik[:-1] - loglik[1:])
    log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
    probability = jnp.exp(jnp.minimum(log_ratio, 0.0))
    attempted = jnp.arange(n - 1) % 2 == state.parity
    uniform = jax.random.uniform(key, (n - 1,), dtype=probability.dtype)
    accepted = attempted & (jnp.log(uniform) < log_ratio)
    # pairs of one parity are disjoint: slot i takes from i + 1 if pair i swaps, from i - 1 if
    # pair i - 1 swaps
    up = jnp.concatenate([accepted, jnp.zeros(1, bool)]).astype(jnp.int32)
    down = jnp.concatenate([jnp.zeros(1, bool), accepted]).astype(jnp.int32)
    permutation = jnp.arange(n) + up - down
    gather = lambda tree: jax.tree.map(lambda x: x[permutation], tree)  # noqa: E731
    walker, direction = gather((state.walker, state.direction))
    # round trips: a walker labelled +1 (last end visited: coldest) reaching the hottest slot
    # (label 0: not yet at the hottest end); a single replica makes no round trips
    completed = (direction[0] == 1) & (n > 1)
    direction = direction.at[0].set(-1)
    direction = direction.at[n - 1].set(jnp.where(direction[n - 1] == -1, 1, direction[n - 1]))
    moved = state._replace(
        position=gather(state.position), logprior=gather(state.logprior),
        loglikelihood=gather(state.loglikelihood), logprior_grad=gather(state.logprior_grad),
        loglikelihood_grad=gather(state.loglikelihood_grad), walker=walker,
        direction=direction, round_trips=state.round_trips + completed.astype(jnp.int32),
        parity=1 - state.parity,
    )  # fmt: skip
    info = RemcInfo(jnp.ones(n, probability.dtype), probability, accepted, attempted,
                    moved.round_trips)  # fmt: skip
    return moved, info


def build_kernel(logprior_fn: Callable, loglikelihood_fn: Callable, *, kernel: str = "rwm",
                 n_leapfrog: int = 10) -> Callable:  # fmt: skip
    """The REMC sweep ``step(key, state) -> (state, info)``.

    Args:
        logprior_fn: ``position -> ()`` log prior (untempered).
        loglikelihood_fn: ``position -> ()`` log likelihood.
        kernel: within-replica kernel: "rwm" (random-walk Metropolis, the default), "mala" or
            "hmc"; the state must come from `init` with the same ``kernel``.
        n_leapfrog: leapfrog steps per HMC update.

    Returns:
        ``step(key, state) -> (RemcState, RemcInfo)``, jit-able, one within-replica update of
        every replica and one exchange sweep. ``step.kernel`` holds the kernel name (read by
        `sjax.mcmc.run_chain` for its default target acceptance).
    """
    update = build_replica_kernel(kernel, logprior_fn, loglikelihood_fn, n_leapfrog=n_leapfrog)

    def step(key, state: RemcState):
        if (state.logprior_grad is None) == KERNELS[kernel][1]:
            raise ValueError(f"state was initialised for another kernel than kernel={kernel!r}")
        n = state.inverse_temperature.shape[0]
        keys = jax.random.split(key, n + 1)  # one per replica (any layout), one for exchange
        replicas, acceptance = jax.vmap(update)(
            keys[:n], _replica(state), state.inverse_temperature, state.step_size
        )
        state = state._replace(
            position=replicas.position, logprior=replicas.logprior,
            loglikelihood=replicas.loglikelihood, logprior_grad=replicas.logprior_grad,
            loglikelihood_grad=replicas.loglikelihood_grad,
        )  # fmt: skip
        state, info = exchange(keys[n], state)
        return state, info._replace(acceptance=acceptance)

    step.kernel = kernel
    return step


def replica_exchange(logprior_fn: Callable, loglikelihood_fn: Callable, ladder, *,
                     kernel: str = "rwm", step_size=0.1,
                     n_leapfrog: int = 10) -> SamplingAlgorithm:  # fmt: skip
    """blackjax-style REMC: ``init(positions)`` and ``step(key, state)``.

    Args:
        logprior_fn, loglikelihood_fn: ``position -> ()`` log densities.
        ladder: ``(R,)`` inverse temperatures (`geometric_ladder`).
        kernel: "rwm", "mala" or "hmc".
        step_size: scalar or ``(R,)`` initial proposal scales.
        n_leapfrog: leapfrog steps per HMC update.

    Example:
        >>> algorithm = replica_exchange(logprior, loglik, geometric_ladder(8))
        >>> state = algorithm.init(jnp.zeros((8, 2)))
        >>> state, info = jax.jit(algorithm.step)(jax.random.key(0), state)
    """
    ladder = check_ladder(ladder)

    def init_fn(positions):
        return init(positions, logprior_fn, loglikelihood_fn, ladder, step_size=step_size,
                    kernel=kernel)  # fmt: skip

    step = build_kernel(logprior_fn, loglikelihood_fn, kernel=kernel, n_leapfrog=n_leapfrog)
    return SamplingAlgorithm(init_fn, step)
