"""Process-driven wavefield reconstruction: re-run the forward model with posterior samples at
points without stations and summarise the ensemble (mean and credible band)."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["WavefieldBand", "reconstruct_wavefield", "band_coverage", "relative_misfit"]


class WavefieldBand(NamedTuple):
    """Posterior summary of a wavefield.

    Attributes:
        mean: ``(n_point, n_component, n_time)`` posterior mean.
        lower, upper: same shape, the ``(1 − level)/2`` and ``(1 + level)/2`` quantiles.
        level: the credible level (e.g. 0.95).
    """

    mean: jax.Array
    lower: jax.Array
    upper: jax.Array
    level: float


def reconstruct_wavefield(samples: jax.Array, simulate_at: Callable, *, level: float = 0.95,
                          batch_size: int = 16) -> WavefieldBand:  # fmt: skip
    """Simulate the wavefield for every posterior sample and summarise it pointwise.

    Args:
        samples: ``(n_sample, n_parameter)`` posterior draws of θ.
        simulate_at: ``θ -> (n_point, n_component, n_time)`` the (filtered) wavefield at the
            target points, e.g. built from `LayeredSpace.medium` and `sjax.wave.layered_sh`.
        level: credible level of the band.
        batch_size: samples simulated together (``jax.lax.map`` batches; memory ∝ batch).

    Returns:
        `WavefieldBand`.
    """
    samples = jnp.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] < 2:
        raise ValueError(f"samples must be (n_sample >= 2, n_parameter), got {samples.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    fields = jax.lax.map(simulate_at, samples, batch_size=batch_size)
    tail = 0.5 * (1.0 - level)
    lower, upper = jnp.quantile(fields, jnp.array([tail, 1.0 - tail]), axis=0)
    return WavefieldBand(fields.mean(axis=0), lower, upper, float(level))


def band_coverage(band: WavefieldBand, truth: jax.Array, *, floor: float = 0.01,
                  pooled: bool = False) -> jax.Array:  # fmt: skip
    """Fraction of samples where ``truth`` lies inside the band, counted where ``|truth|``
    exceeds ``floor`` × its peak on that trace (so the quiet time before the first arrival,
    where band and truth are both ~0, does not count as coverage).

    Args:
        band: `WavefieldBand` of shape ``(n_point, n_component, n_time)``.
        truth: the true wavefield, same shape.
        floor: relative amplitude below which samples are not counted.
        pooled: return one fraction over the counted samples of all points.

    Returns:
        ``(n_point,)`` coverage per point, or ``()`` when ``pooled``.
    """
    truth = jnp.asarray(truth)
    peak = jnp.max(jnp.abs(truth), axis=(-2, -1), keepdims=True)
    counted = jnp.abs(truth) > floor * peak
    inside = (truth >= band.lower) & (truth <= band.upper) & counted
    axes = None if pooled else (-2, -1)
    return inside.sum(axis=axes) / jnp.maximum(counted.sum(axis=axes), 1)


def relative_misfit(estimate: jax.Array, truth: jax.Array) -> jax.Array:
    """``‖estimate − truth‖ / ‖truth‖`` per point (norms over components and time):
    ``(n_point,)``."""
    estimate, truth = jnp.asarray(estimate), jnp.asarray(truth)
    return jnp.linalg.norm((estimate - truth).reshape(truth.shape[0], -1), axis=1) / (
        jnp.linalg.norm(truth.reshape(truth.shape[0], -1), axis=1)
    )
