"""Weak priors that keep the parametric aftershock fits away from degenerate optima.

On a real sequence the plain maximum-likelihood fits can run off to meaningless corners: a
constant-μ fit to p = 15, c = 13 d, k = 2e16 (the early incompleteness absorbed by Omori's
law), a log-linear μ(t) to tau = 5e-15 d with μ₀ = 14 ± 2e5. AftFore (Omi et al. 2013, 2015)
regularises with "generic" normal priors on b, p, ln c and ln σ; sjax uses the same, plus a
normal on ln tau for the log-linear μ(t) (tau = 0.01 d times or divided by 10 at one sd).
"""

import math

import jax
import jax.numpy as jnp

__all__ = ["OMI_GENERIC_PRIOR", "LOG_TAU_PRIOR", "omi_log_prior", "log_tau_prior"]

#: Omi et al. "generic" (Japan) priors of AftFore, as (mean, sd) of normals on
#: b (β = b ln 10), p, ln c (c in days) and ln σ.
OMI_GENERIC_PRIOR = {"b": (0.85, 0.15), "p": (1.05, 0.13), "log_c": (-4.02, 1.42),
                     "log_sigma": (math.log(0.2), 1.0)}  # fmt: skip

#: (mean, sd) of the normal prior on ln tau (tau in days) of `LogLinearMu`.
LOG_TAU_PRIOR = (math.log(0.01), math.log(10.0))


def omi_log_prior(z: jax.Array) -> jax.Array:
    """Log-density (up to a constant) of `OMI_GENERIC_PRIOR` at an unconstrained vector whose
    first five entries are ``log_k, log_c, p, log_b, log_sigma``; flat in ``log_k`` and in
    every later entry."""
    values = {"b": jnp.exp(z[3]), "p": z[2], "log_c": z[1], "log_sigma": z[4]}
    return sum(-0.5 * ((values[name] - m) / s) ** 2 for name, (m, s) in OMI_GENERIC_PRIOR.items())


def log_tau_prior(log_tau: jax.Array) -> jax.Array:
    """Log-density (up to a constant) of `LOG_TAU_PRIOR` at ``log_tau``."""
    mean, sd = LOG_TAU_PRIOR
    return -0.5 * ((log_tau - mean) / sd) ** 2
