"""Within-replica Metropolis kernels on the tempered target π(θ)·exp(η·log L(θ)).

Each kernel is built from ``logprior_fn`` and ``loglikelihood_fn`` (position pytree -> scalar)
and returns ``step(key, replica, inverse_temperature, step_size) -> (replica, acceptance)`` for
*one* replica; `sjax.mcmc.remc` vmaps it over the replica axis. Positions are flattened with
``jax.flatten_util.ravel_pytree`` for the proposals, so any pytree of float arrays works.

Positions where the prior or the likelihood is not finite have tempered log density −∞ and are
rejected; the gradients there are set to zero (never NaN), which keeps leapfrog trajectories
reversible and volume preserving, so HMC stays exact.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = [
    "KERNELS",
    "ReplicaState",
    "evaluate",
    "tempered_logdensity",
    "build_rwm",
    "build_mala",
    "build_hmc",
    "build_replica_kernel",
]


class ReplicaState(NamedTuple):
    """One replica (no replica axis)."""

    position: Any  # pytree
    logprior: jax.Array  # ()
    loglikelihood: jax.Array  # ()
    logprior_grad: Any  # pytree like position, or None for kernels without gradients
    loglikelihood_grad: Any  # pytree like position, or None


def _scalar(value, name: str) -> jax.Array:
    value = jnp.asarray(value)
    if value.shape != ():
        raise TypeError(f"{name} must return a scalar, got shape {value.shape}")
    return value


def tempered_logdensity(logprior, loglikelihood, inverse_temperature) -> jax.Array:
    """``logprior + η·loglikelihood``, or −∞ where either term is not finite (NaN included).

    Args:
        logprior: log π(θ), any shape.
        loglikelihood: log L(θ), broadcastable with ``logprior``.
        inverse_temperature: η in [0, 1], broadcastable.
    """
    finite = jnp.isfinite(logprior) & jnp.isfinite(loglikelihood)
    value = jnp.where(finite, logprior, 0.0) + inverse_temperature * jnp.where(
        finite, loglikelihood, 0.0
    )
    return jnp.where(finite, value, -jnp.inf)


def evaluate(logprior_fn, loglikelihood_fn, position, *, gradients: bool) -> ReplicaState:
    """Log prior, log likelihood and (with ``gradients``) their gradients at ``position``.

    Both gradients come from one forward pass (``jax.vjp``) and two pullbacks. They are zero
    wherever the log density or the gradient is not finite.

    Args:
        logprior_fn: ``position -> ()`` log prior.
        loglikelihood_fn: ``position -> ()`` log likelihood.
        position: pytree of one replica (no replica axis).
        gradients: also return the two gradients (pytrees like ``position``).

    Returns:
        A `ReplicaState` (gradient fields None without ``gradients``).

    Raises:
        TypeError: if a log density does not return a scalar.
    """
    if not gradients:
        logprior = _scalar(logprior_fn(position), "logprior_fn")
        loglikelihood = _scalar(loglikelihood_fn(position), "loglikelihood_fn")
        return ReplicaState(position, logprior, loglikelihood, None, None)

    def both(x):
        return (_scalar(logprior_fn(x), "logprior_fn"),
                _scalar(loglikelihood_fn(x), "loglikelihood_fn"))  # fmt: skip

    (logprior, loglikelihood), pullback = jax.vjp(both, position)
    one, zero = jnp.ones_like(logprior), jnp.zeros_like(logprior)
    (prior_grad,) = pullback((one, jnp.zeros_like(loglikelihood)))
    (likelihood_grad,) = pullback((zero, jnp.ones_like(loglikelihood)))
    finite = jnp.isfinite(logprior) & jnp.isfinite(loglikelihood)

    def clean(tree):
        return jax.tree.map(lambda g: jnp.where(finite & jnp.isfinite(g), g, 0.0), tree)

    return ReplicaState(position, logprior, loglikelihood, clean(prior_grad),
                        clean(likelihood_grad))  # fmt: skip


def _tempered(replica: ReplicaState, inverse_temperature) -> jax.Array:
    return tempered_logdensity(replica.logprior, replica.loglikelihood, inverse_temperature)


def _tempered_grad(replica: ReplicaState, inverse_temperature) -> jax.Array:
    """Flat gradient of the tempered log density."""
    prior, _ = ravel_pytree(replica.logprior_grad)
    likelihood, _ = ravel_pytree(replica.loglikelihood_grad)
    return prior + inverse_temperature * likelihood


def _draws(key, flat):
    """(ξ ~ N(0, I) shaped like ``flat``, u ~ U(0, 1)) for a proposal and its acceptance."""
    key_noise, key_accept = jax.random.split(key)
    noise = jax.random.normal(key_noise, flat.shape, flat.dtype)
    return noise, jax.random.uniform(key_accept, dtype=flat.dtype)


def _metropolis(uniform, log_ratio, proposal: ReplicaState, current: ReplicaState):
    """Accept ``proposal`` with probability min(1, exp(log_ratio)); NaN counts as rejection.

    ``uniform`` is a U(0, 1) draw."""
    log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
    acceptance = jnp.exp(jnp.minimum(log_ratio, 0.0))
    accept = jnp.log(uniform) < log_ratio
    chosen = jax.tree.map(lambda new, old: jnp.where(accept, new, old), proposal, current)
    return chosen, acceptance


def build_rwm(logprior_fn: Callable, loglikelihood_fn: Callable) -> Callable:
    """Random-walk Metropolis: θ' = θ + ε·ξ, ξ ~ N(0, I) (the paper-faithful default).

    Returns:
        ``step(key, replica, inverse_temperature, step_size) -> (replica, acceptance)`` with
        scalar η and ε (ε in the units of the position) and ``acceptance`` () the Metropolis
        acceptance probability of the proposal.
    """

    def step(key, replica: ReplicaState, inverse_temperature, step_size):
        flat, unravel = ravel_pytree(replica.position)
        noise, uniform = _draws(key, flat)
        proposal = evaluate(logprior_fn, loglikelihood_fn, unravel(flat + step_size * noise),
                            gradients=False)  # fmt: skip
        log_ratio = _tempered(proposal, inverse_temperature) - _tempered(
            replica, inverse_temperature
        )
        return _metropolis(uniform, log_ratio, proposal, replica)

    return step


def build_mala(logprior_fn: Callable, loglikelihood_fn: Callable) -> Callable:
    """Metropolis-adjusted Langevin: θ' = θ + (ε²/2)·∇log p_η(θ) + ε·ξ.

    Returns:
        ``step(key, replica, inverse_temperature, step_size) -> (replica, acceptance)``; the
        replica carries both gradients.
    """

    def step(key, replica: ReplicaState, inverse_temperature, step_size):
        flat, unravel = ravel_pytree(replica.position)
        noise, uniform = _draws(key, flat)
        half = 0.5 * step_size**2
        moved = flat + half * _tempered_grad(replica, inverse_temperature) + step_size * noise
        proposal = evaluate(logprior_fn, loglikelihood_fn, unravel(moved), gradients=True)
        back = flat - moved - half * _tempered_grad(proposal, inverse_temperature)
        log_q_back = -0.5 * jnp.sum(back**2) / step_size**2
        log_q_forward = -0.5 * jnp.sum(noise**2)
        log_ratio = _tempered(proposal, inverse_temperature) - _tempered(
            replica, inverse_temperature
        )
        log_ratio = log_ratio + log_q_back - log_q_forward
        return _metropolis(uniform, log_ratio, proposal, replica)

    return step


def build_hmc(logprior_fn: Callable, loglikelihood_fn: Callable, n_leapfrog: int = 10) -> Callable:
    """Hamiltonian Monte Carlo: ``n_leapfrog`` leapfrog steps of size ε, identity mass matrix.

    Returns:
        ``step(key, replica, inverse_temperature, step_size) -> (replica, acceptance)``; the
        replica carries both gradients.
    """
    if int(n_leapfrog) != n_leapfrog or n_leapfrog < 1:
        raise ValueError(f"n_leapfrog={n_leapfrog} must be an integer >= 1")
    n_leapfrog = int(n_leapfrog)

    def step(key, replica: ReplicaState, inverse_temperature, step_size):
        flat, unravel = ravel_pytree(replica.position)
        momentum0, uniform = _draws(key, flat)
        momentum = momentum0 + 0.5 * step_size * _tempered_grad(replica, inverse_temperature)

        def leapfrog(carry, index):
            current, x, p = carry
            x = x + step_size * p
            current = evaluate(logprior_fn, loglikelihood_fn, unravel(x), gradients=True)
            kick = jnp.where(index == n_leapfrog - 1, 0.5, 1.0) * step_size
            p = p + kick * _tempered_grad(current, inverse_temperature)
            return (current, x, p), None

        (proposal, _, momentum), _ = jax.lax.scan(
            leapfrog, (replica, flat, momentum), jnp.arange(n_leapfrog)
        )
        energy_change = 0.5 * jnp.sum(momentum**2) - 0.5 * jnp.sum(momentum0**2)
        log_ratio = _tempered(proposal, inverse_temperature) - _tempered(
            replica, inverse_temperature
        )
        log_ratio = log_ratio - energy_change
        return _metropolis(uniform, log_ratio, proposal, replica)

    return step


# name -> (builder, needs gradients)
KERNELS = {"rwm": (build_rwm, False), "mala": (build_mala, True), "hmc": (build_hmc, True)}


def build_replica_kernel(kernel: str, logprior_fn, loglikelihood_fn, *, n_leapfrog: int = 10):
    """The within-replica kernel named ``kernel`` ("rwm", "mala" or "hmc").

    Raises:
        ValueError: for an unknown ``kernel`` name.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r} must be one of {sorted(KERNELS)}")
    if kernel == "hmc":
        return build_hmc(logprior_fn, loglikelihood_fn, n_leapfrog)
    return KERNELS[kernel][0](logprior_fn, loglikelihood_fn)
