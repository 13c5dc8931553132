"""Stationary covariance kernels for the Gaussian-process μ(t) model (tinygp style).

The GP lives on the log-time coordinate ``x = ln(1 + t / t0)`` (`log_time`): detection recovers
on a log-time scale after a main shock, so a stationary kernel in x is non-stationary in t
(fast changes early, slow later). Kernels are NamedTuples (pytrees, differentiable in their
hyperparameters) called as ``kernel(x1, x2)`` with broadcasting.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["KERNELS", "Matern52", "SquaredExponential", "kernel_matrix", "log_time"]


def log_time(t: jax.Array, time_offset: float) -> jax.Array:
    """``x = ln(1 + t / t0)``: the GP's input coordinate (dimensionless; 0 at the main shock).

    Args:
        t: times in days since the main shock (any shape, ≥ 0).
        time_offset: ``t0`` in days (> 0); μ is nearly constant for ``t ≪ t0``.
    """
    return jnp.log1p(t / time_offset)


class SquaredExponential(NamedTuple):
    """``k(x, x') = amplitude² exp(−(x − x')² / (2 lengthscale²))``.

    Attributes:
        amplitude: marginal standard deviation of μ about its mean (magnitude units).
        lengthscale: correlation length in log-time units (e-folds of ``1 + t/t0``).
    """

    amplitude: jax.Array
    lengthscale: jax.Array

    def __call__(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        r = (x1 - x2) / self.lengthscale
        return self.amplitude**2 * jnp.exp(-0.5 * r * r)


class Matern52(NamedTuple):
    """Matérn-5/2: ``a² (1 + √5 r + 5r²/3) e^{−√5 r}``, ``r = |x − x'| / lengthscale``.

    Rougher than `SquaredExponential` (twice differentiable sample paths). Same attributes.
    """

    amplitude: jax.Array
    lengthscale: jax.Array

    def __call__(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        r = jnp.sqrt(5.0) * jnp.abs(x1 - x2) / self.lengthscale
        return self.amplitude**2 * (1.0 + r + r * r / 3.0) * jnp.exp(-r)


#: Kernels by name (the ``kernel`` argument of `sjax.aftershock.fit_gp`).
KERNELS = {"squared_exponential": SquaredExponential, "matern52": Matern52}


def kernel_matrix(kernel, x1: jax.Array, x2: jax.Array) -> jax.Array:
    """``(len(x1), len(x2))`` covariance matrix ``kernel(x1[i], x2[j])``."""
    return kernel(x1[:, None], x2[None, :])
