"""`invert`: replica-exchange sampling of a `LayeredPosterior`, in unit-cube coordinates of the
prior box (so one random-walk step size per replica fits parameters in m and m/s alike),
whitened after a first warm-up by the cold replica's covariance."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from sjax.imaging.posterior import LayeredPosterior
from sjax.mcmc import ChainResult, geometric_ladder, replica_exchange, run_chain

__all__ = ["InversionResult", "invert", "unit_cube_densities"]


class InversionResult(NamedTuple):
    """Posterior samples of θ and the chain's diagnostics.

    Attributes:
        samples: ``(n_samples, n_parameter)`` draws of θ (SI units) from the η = 1 replica.
        chain: the `sjax.mcmc.ChainResult` (in unit-cube coordinates: acceptance, swap rates,
            round trips, per-slot log-likelihood traces, the final state).
        ladder: ``(n_replicas,)`` inverse temperatures after warm-up adaptation.
    """

    samples: jax.Array
    chain: ChainResult
    ladder: jax.Array


def unit_cube_densities(posterior: LayeredPosterior):
    """``(logprior, loglikelihood)`` of ``u`` ∈ [0, 1]^d with θ = lower + u·(upper − lower);
    the log prior includes the Jacobian Σ log(upper − lower), so evidences are unchanged."""
    space = posterior.space
    log_jacobian = jnp.sum(jnp.log(space.widths()))

    def logprior(u):
        return posterior.logprior(space.from_unit(u)) + log_jacobian

    def loglikelihood(u):
        return posterior.loglikelihood(space.from_unit(u))

    return logprior, loglikelihood


def invert(key: jax.Array, posterior: LayeredPosterior, *, n_replicas: int = 12,
           n_warmup: int = 1000, n_samples: int = 1000, thin: int = 1, kernel: str = "rwm",
           min_inverse_temperature: float = 1e-4, step_size: float = 0.05, start=None,
           whiten: bool = True, progress: bool = False, checkpoint=None,
           checkpoint_every: int = 250, mesh=None) -> InversionResult:  # fmt: skip
    """Sample θ by replica exchange (random-walk Metropolis within replicas by default).

    Args:
        key: PRNG key (prior draws for the start, then the chain).
        posterior: a `LayeredPosterior` (`layered_posterior` or `ImagingTwin.posterior`).
        n_replicas: R; 1 gives a plain Metropolis chain (the paper's baseline).
        n_warmup: adapting sweeps (step sizes and ladder), discarded.
        n_samples: kept samples; ``thin`` sweeps each.
        kernel: "rwm", "mala" or "hmc" within replicas.
        min_inverse_temperature: η of the hottest replica of the initial geometric ladder.
        step_size: initial proposal scale in unit-cube coordinates (fraction of the box).
        start: ``(n_replicas, n_parameter)`` initial θ (default: prior draws).
        whiten: spend the first half of warm-up in unit-cube coordinates (a quarter adapting,
            a quarter collecting the cold replica's samples), then sample in
            coordinates whitened by the cold replica's covariance (frozen before sampling),
            so random-walk proposals follow the thickness–velocity trade-off.
        progress: a progress bar over sweeps.
        checkpoint: ``.npz`` path or folder: save every ``checkpoint_every`` sweeps and resume
            from it after an interruption (`sjax.mcmc.run_chain`); the whitening half of the
            warm-up is not checkpointed and is recomputed (identically) on resume.
        mesh: shard the replica axis over this device mesh.

    Returns:
        `InversionResult`.
    """
    space = posterior.space
    key_start, key_chain = jax.random.split(key)
    if start is None:
        start = space.sample_prior(key_start, n_replicas)
    start = jnp.asarray(start, space.lower.dtype)
    if start.shape != (n_replicas, space.n_parameter):
        raise ValueError(f"start must have shape ({n_replicas}, {space.n_parameter}), got "
                         f"{start.shape}")  # fmt: skip
    logprior, loglikelihood = unit_cube_densities(posterior)
    ladder = geometric_ladder(n_replicas, min_inverse_temperature)
    positions = space.to_unit(start)
    key_chain, key_first = jax.random.split(key_chain)
    shift = jnp.zeros(space.n_parameter, start.dtype)
    factor = jnp.eye(space.n_parameter, dtype=start.dtype)
    if whiten and n_warmup >= 40:
        # first half of warm-up in unit-cube coordinates; then an affine map u = shift + factor z
        # from the cold replica's samples (adaptive Metropolis à la Haario et al. 2001, frozen
        # before sampling), so isotropic proposals follow the thickness–velocity trade-off
        n_first = n_warmup // 4  # adapting sweeps, then as many sweeps collecting samples
        first = _sample(key_first, logprior, loglikelihood, ladder, positions, step_size,
                        kernel=kernel, n_warmup=n_first, n_samples=n_first // 2, thin=2,
                        progress=progress, mesh=mesh)  # fmt: skip
        shift, factor = _whitening(first.samples)
        positions = jax.vmap(lambda u: jax.scipy.linalg.solve_triangular(
            factor, u - shift, lower=True))(first.state.position)  # fmt: skip
        ladder, step_size = first.state.inverse_temperature, first.state.step_size
        n_warmup = n_warmup - n_first - 2 * (n_first // 2)

    def to_unit(z):
        return shift + factor @ z

    log_det = jnp.sum(jnp.log(jnp.diag(factor)))
    chain = _sample(key_chain, lambda z: logprior(to_unit(z)) + log_det,
                    lambda z: loglikelihood(to_unit(z)), ladder, positions, step_size,
                    kernel=kernel, n_warmup=n_warmup, n_samples=n_samples, thin=thin,
                    progress=progress, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, mesh=mesh)  # fmt: skip
    samples = space.from_unit(jax.vmap(to_unit)(chain.samples))
    return InversionResult(samples, chain, chain.state.inverse_temperature)


def _sample(key, logprior, loglikelihood, ladder, positions, step_size, *, kernel, **options):
    algorithm = replica_exchange(logprior, loglikelihood, ladder, kernel=kernel,
                                 step_size=step_size)  # fmt: skip
    return run_chain(key, algorithm, algorithm.init(positions), **options)


def _whitening(samples):
    """Mean and lower Cholesky factor of the samples' covariance (regularised)."""
    shift = jnp.mean(samples, axis=0)
    ridge = 1e-6 * jnp.eye(samples.shape[1], dtype=samples.dtype)
    covariance = jnp.cov(samples, rowvar=False) + ridge
    return shift, jnp.linalg.cholesky(covariance)
