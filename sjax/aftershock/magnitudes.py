"""Gutenberg–Richter magnitudes, the detection function and their closed-form integral.

Magnitudes are in magnitude units; ``b`` is the Gutenberg–Richter b-value and
``β = b ln 10``; ``mu`` is the magnitude detected with 50 % probability and ``sigma`` (> 0) the
width of the detection function q(M) = Φ((M − μ)/σ) (Ogata & Katsura; Omi et al.). All
functions are pure, broadcast over their arguments and work under ``jit``/``vmap``/``grad``.

The magnitude integral (Omi et al. 2013, AftFore ``Int_GRDR``) follows by parts:

    ∫_{Mc}^{∞} β e^{−β(M−Mref)} Φ((M−μ)/σ) dM
        = e^{−β(Mc−Mref)} Φ((Mc−μ)/σ) + e^{β(Mref−μ) + β²σ²/2} Φ((μ − βσ² − Mc)/σ),

(the second term is E[e^{−β(M−Mref)}; M ≥ Mc] for M ~ N(μ, σ²), by completing the square).
For Mc → −∞ the first term vanishes and the second tends to the familiar
``exp(β(Mref − μ) + β²σ²/2)``. Note that the untruncated form counts events at *every*
magnitude below Mref (the GR law is extrapolated downwards and only Φ makes the integral
finite); a catalogue cut at a fixed magnitude (e.g. Ridgecrest at M 2.5) needs the truncated
form with ``magnitude_cutoff``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

__all__ = [
    "beta_from_b",
    "gutenberg_richter_log_density",
    "detection_log_probability",
    "detection_probability",
    "log_detected_magnitude_integral",
    "detected_magnitude_log_density",
]


def beta_from_b(b: jax.Array) -> jax.Array:
    """``β = b ln 10`` (per magnitude unit), same shape as ``b``."""
    return b * jnp.log(10.0)


def gutenberg_richter_log_density(
    magnitude: jax.Array, b: jax.Array, reference_magnitude: jax.Array
) -> jax.Array:
    """``ln[β e^{−β(M − Mref)}]`` = ``ln β − β (M − Mref)``.

    This is the log-density (per magnitude unit) of magnitudes above ``reference_magnitude``
    under the Gutenberg–Richter law; in the aftershock model it multiplies the Omori–Utsu rate
    whose ``k`` counts events with M ≥ Mref.

    Args:
        magnitude: magnitudes M (any shape).
        b: b-value; reference_magnitude: Mref (magnitude units).

    Returns:
        Log-density, broadcast shape of the arguments.
    """
    beta = beta_from_b(b)
    return jnp.log(beta) - beta * (magnitude - reference_magnitude)


def detection_log_probability(
    magnitude: jax.Array, mu: jax.Array, sigma: jax.Array
) -> jax.Array:
    """``ln q(M) = ln Φ((M − μ)/σ)`` via `jax.scipy.special.log_ndtr` (accurate far below μ).

    Args:
        magnitude: magnitudes M (any shape).
        mu: magnitude detected with 50 % probability; sigma: detection width (> 0).

    Returns:
        Log-probability of detection (≤ 0), broadcast shape of the arguments.
    """
    return log_ndtr((magnitude - mu) / sigma)


def detection_probability(magnitude: jax.Array, mu: jax.Array, sigma: jax.Array) -> jax.Array:
    """``q(M) = Φ((M − μ)/σ)``, the probability that an event of magnitude M is recorded.

    Args:
        magnitude: magnitudes (any shape); mu: 50 %-detection magnitude; sigma: width (> 0).

    Returns:
        Probability in [0, 1], broadcast shape of the arguments.
    """
    return ndtr((magnitude - mu) / sigma)


def log_detected_magnitude_integral(
    mu: jax.Array,
    b: jax.Array,
    sigma: jax.Array,
    reference_magnitude: jax.Array,
    magnitude_cutoff: jax.Array | None = None,
) -> jax.Array:
    """``ln ∫_{Mc}^{∞} β e^{−β(M − Mref)} Φ((M − μ)/σ) dM`` in closed form.

    With ``magnitude_cutoff=None`` (Mc = −∞) this is ``β(Mref − μ) + β²σ²/2`` (Ogata & Katsura
    1993, GJI 113:727; Omi et al. 2013, BSSA 103:1116);
    otherwise the truncated form in the module docstring, evaluated as a ``logaddexp`` of two
    ``log_ndtr`` terms (no overflow, no cancellation).

    Multiplied by the Omori–Utsu rate ``k (t + c)^(−p)`` it gives the rate of *recorded*
    events per day at time t when μ = μ(t).

    Args:
        mu: 50 %-detection magnitude(s) (any shape).
        b: b-value; sigma: detection width (> 0); reference_magnitude: Mref.
        magnitude_cutoff: optional lower magnitude limit Mc of the catalogue (static ``None`` or
            an array/number); events below it are assumed removed from the catalogue.

    Returns:
        Log of the integral, broadcast shape of the arguments.
    """
    beta = beta_from_b(b)
    full = beta * (reference_magnitude - mu) + 0.5 * (beta * sigma) ** 2
    if magnitude_cutoff is None:
        return full
    tail = full + log_ndtr((mu - beta * sigma**2 - magnitude_cutoff) / sigma)
    edge = -beta * (magnitude_cutoff - reference_magnitude) + log_ndtr(
        (magnitude_cutoff - mu) / sigma
    )
    return jnp.logaddexp(edge, tail)


def detected_magnitude_log_density(
    magnitude: jax.Array,
    mu: jax.Array,
    b: jax.Array,
    sigma: jax.Array,
    magnitude_cutoff: jax.Array | None = None,
) -> jax.Array:
    """Log-density of *recorded* magnitudes at fixed μ (AftFore ``pdf_GRDR``).

    ``f(M) = β e^{−β(M − Mref)} Φ((M − μ)/σ) / ∫_{Mc}^{∞}(same) dM``; for Mc = −∞ this is
    ``β exp(−β(M − μ) − β²σ²/2) Φ((M − μ)/σ)``. Mref cancels.

    Args:
        magnitude: magnitudes (any shape, ≥ ``magnitude_cutoff`` if given).
        mu, b, sigma: as in `log_detected_magnitude_integral`.
        magnitude_cutoff: optional lower limit Mc of the catalogue.

    Returns:
        Log-density per magnitude unit, broadcast shape of the arguments.
    """
    reference = jnp.zeros_like(jnp.asarray(mu))
    return (
        gutenberg_richter_log_density(magnitude, b, reference)
        + detection_log_probability(magnitude, mu, sigma)
        - log_detected_magnitude_integral(mu, b, sigma, reference, magnitude_cutoff)
    )
