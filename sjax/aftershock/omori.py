"""Omori–Utsu aftershock rate and its time integral, stable through p = 1.

Times are in days since the main shock; ``k`` is in events/day (for magnitudes at or above the
reference magnitude, see `sjax.aftershock.likelihood`), ``c`` in days, ``p`` dimensionless.
All functions are pure, broadcast over their arguments and work under ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["omori_rate", "omori_log_rate", "omori_integral", "exprel"]

# |x| below this uses the Taylor series of expm1(x)/x (truncation error x⁵/720 < 2e-18).
_EXPREL_SWITCH = 1e-3


def exprel(x: jax.Array) -> jax.Array:
    """``expm1(x) / x``, equal to 1 at ``x = 0`` and smooth (with finite derivatives) there.

    Uses a 5-term Taylor series for ``|x| < 1e-3`` and ``expm1(x)/x`` elsewhere; the
    "double where" keeps gradients finite on both sides.

    Args:
        x: array of any shape.

    Returns:
        Array of the shape of ``x``.
    """
    x = jnp.asarray(x)
    small = jnp.abs(x) < _EXPREL_SWITCH
    safe = jnp.where(small, jnp.ones_like(x), x)
    taylor = 1.0 + x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x / 120.0)))
    return jnp.where(small, taylor, jnp.expm1(safe) / safe)


def omori_log_rate(t: jax.Array, k: jax.Array, c: jax.Array, p: jax.Array) -> jax.Array:
    """Logarithm of the Omori–Utsu rate, ``ln k − p ln(t + c)``.

    Args:
        t: times in days since the main shock (any shape, ``t + c > 0``).
        k: productivity in events/day.
        c: time offset in days (> 0).
        p: decay exponent.

    Returns:
        ``ln λ(t)`` (λ in events/day), broadcast shape of the arguments.
    """
    return jnp.log(k) - p * jnp.log(t + c)


def omori_rate(t: jax.Array, k: jax.Array, c: jax.Array, p: jax.Array) -> jax.Array:
    """Omori–Utsu rate ``λ(t) = k (t + c)^(−p)`` in events/day.

    Args:
        t: times in days since the main shock (any shape).
        k: productivity in events/day; c: offset in days; p: decay exponent.

    Returns:
        Rate in events/day, broadcast shape of the arguments.
    """
    return jnp.exp(omori_log_rate(t, k, c, p))


def omori_integral(
    t0: jax.Array, t1: jax.Array, k: jax.Array, c: jax.Array, p: jax.Array
) -> jax.Array:
    """Expected number of events ``∫_{t0}^{t1} k (t + c)^(−p) dt`` (dimensionless count).

    With ``q = 1 − p`` and ``d = ln((t1 + c)/(t0 + c)) = log1p((t1 − t0)/(t0 + c))``,

        ∫ = k (t0 + c)^q · d · exprel(q d),   exprel(x) = expm1(x)/x,

    which equals ``k[(t1+c)^q − (t0+c)^q]/q`` for ``p ≠ 1`` and ``k ln((t1+c)/(t0+c))`` at
    ``p = 1``, with no division by ``1 − p``: the value and its derivatives are smooth through
    ``p = 1``. ``log1p`` keeps short intervals (``t1 − t0 ≪ t0 + c``) accurate.

    Args:
        t0, t1: interval bounds in days since the main shock (``t1 ≥ t0 > −c``), any shapes
            that broadcast.
        k: productivity in events/day; c: offset in days (> 0); p: decay exponent.

    Returns:
        Expected count, broadcast shape of the arguments (0 where ``t1 == t0``).
    """
    base = t0 + c
    d = jnp.log1p((t1 - t0) / base)
    q = 1.0 - p
    return k * jnp.exp(q * jnp.log(base)) * d * exprel(q * d)
