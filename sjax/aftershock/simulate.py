"""Synthetic *recorded* aftershock catalogues from the model, by thinning.

The true process (Ogata & Katsura 1993, GJI 113:727; Omi et al. 2013, BSSA 103:1116) is a marked
Poisson process with intensity
``k (t + c)^(−p) · β e^{−β(M − Mref)}`` (t in days since the main shock, ``k`` in events/day with
M ≥ Mref). `simulate_catalog` draws it **exactly** above a magnitude floor and keeps each event
with probability ``q(M | t) = Φ((M − μ(t))/σ)``:

1. The window ``[start, end]`` is cut into ``n_bins`` bins, geometric in ``t + c``. In bin j the
   floor is ``F_j = min_bin μ(t) − βσ² − 8σ`` (or ``magnitude_cutoff`` if that is higher;
   ``min_bin μ`` is taken on 33 geometric points per bin, so μ(t) must be resolved by that
   grid). Recorded magnitudes at fixed μ are ``N(μ − βσ², σ²) + Exp(β)`` (see
   `sjax.aftershock.magnitudes`), so the recorded mass lost below ``F_j`` is below
   ``Φ(−8) ≈ 6e−16`` relative: negligible. A time-dependent floor keeps the number of true
   events to draw (and discard) small when μ(t) decays strongly.
2. The number of true events above the floor is ``Poisson(Λ)``, ``Λ = Σ_j Λ_j``,
   ``Λ_j = omori_integral(e_j, e_{j+1}) · e^{−β(F_j − Mref)}``; each event picks bin j with
   probability ``Λ_j/Λ``, its time by inverting the closed-form Omori integral on the bin
   (stable through p = 1), and its magnitude as ``F_j + Exp(β)`` (Gutenberg–Richter above F_j).
3. Each event is kept with probability Φ((M − μ(t))/σ) (and M ≥ ``magnitude_cutoff``).

All randomness comes from the given `jax.random` key (split into five streams: count, bin,
time, magnitude, detection). The draws are
fixed-size JAX arrays, but the buffer size depends on the parameter *values* and the result is a
variable-length `Catalog`, so `simulate_catalog` is **not jittable** (and not vmappable); call
it in a Python loop over keys.
"""

from __future__ import annotations

import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax.aftershock.catalog import Catalog, catalog_from_arrays
from sjax.aftershock.likelihood import AftershockParams
from sjax.aftershock.magnitudes import beta_from_b, detection_probability
from sjax.aftershock.omori import exprel, omori_integral

__all__ = ["simulate_catalog"]

_FLOOR_SIGMAS = 8.0  # floor = min μ − βσ² − 8σ: recorded mass below it < Φ(−8)
_POINTS_PER_BIN = 33


def _log1prel(z: jax.Array) -> jax.Array:
    """``log1p(z) / z``, equal to 1 at z = 0 (Taylor series for |z| < 1e-3)."""
    small = jnp.abs(z) < 1e-3
    safe = jnp.where(small, jnp.ones_like(z), z)
    taylor = 1.0 + z * (-1.0 / 2.0 + z * (1.0 / 3.0 + z * (-1.0 / 4.0 + z / 5.0)))
    return jnp.where(small, taylor, jnp.log1p(safe) / safe)


def _check_inputs(params, start, end, reference_magnitude, magnitude_cutoff, max_events):
    for name in ("k", "c", "p", "b", "sigma"):
        value = np.asarray(getattr(params, name))
        if value.ndim != 0:
            raise ValueError(f"params.{name} must be a scalar, got shape {value.shape}")
        if not np.isfinite(value):
            raise ValueError(f"params.{name}={float(value)} must be finite")
        if name != "p" and not value > 0:
            raise ValueError(f"params.{name}={float(value)} must be > 0")
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ValueError(f"window bounds must be finite, got start={start}, end={end} days")
    if start < 0:
        raise ValueError(f"start={start} days is before the main shock (must be >= 0)")
    if not end > start:
        raise ValueError(f"empty window: end={end} days must exceed start={start} days")
    if not np.isfinite(reference_magnitude):
        raise ValueError(f"reference_magnitude={reference_magnitude} must be finite")
    if magnitude_cutoff is not None and not np.isfinite(magnitude_cutoff):
        raise ValueError(f"magnitude_cutoff={magnitude_cutoff} must be finite or None")
    if int(max_events) < 1:
        raise ValueError(f"max_events={max_events} must be >= 1")


def simulate_catalog(
    key: jax.Array,
    params: AftershockParams,
    mu_fn: Callable[[jax.Array], jax.Array],
    *,
    start: float,
    end: float,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    max_events: int = 2_000_000,
    n_bins: int = 64,
) -> Catalog:
    """Simulate a recorded aftershock catalogue by thinning the true Omori–Utsu × GR process.

    See the module docstring for the algorithm. Not jittable (variable-length output).

    Args:
        key: `jax.random` key; the only source of randomness (same key and inputs → same
            catalogue).
        params: `AftershockParams` with scalar fields: ``k`` events/day with M ≥ Mref,
            ``c`` days (> 0), ``p``, ``b`` (> 0), ``sigma`` magnitude units (> 0).
        mu_fn: vectorised callable, times ``(m,)`` in days → μ(t) ``(m,)`` (or a scalar), the
            50 %-detection magnitude (e.g. `sjax.aftershock.LogLinearMu`).
        start, end: observation window in days since the main shock (``0 <= start < end``).
        reference_magnitude: Mref, the magnitude ``k`` refers to.
        magnitude_cutoff: optional catalogue cut Mc: only events with M ≥ Mc are recorded
            (pass the same value to the likelihood).
        max_events: cap on the number of *true* events drawn above the floor (memory guard);
            a ``ValueError`` is raised when the expected number (plus 8 standard deviations)
            exceeds it.
        n_bins: number of time bins for the piecewise-constant magnitude floor (static).

    Returns:
        `Catalog` of the recorded events on ``[start, end]``, sorted by time.

    Raises:
        ValueError: invalid parameters or window, too many true events for ``max_events``, or
            no event recorded (the `Catalog` cannot be empty).

    Example:
        >>> params = AftershockParams(k=0.05, c=0.01, p=1.1, b=1.0, sigma=0.25)
        >>> cat = simulate_catalog(jax.random.key(0), params, LogLinearMu(4.0, 0.4, 0.02),
        ...                        start=0.0, end=3.0, reference_magnitude=6.5)  # doctest: +SKIP
    """
    start, end = float(start), float(end)
    reference_magnitude = float(reference_magnitude)
    _check_inputs(params, start, end, reference_magnitude, magnitude_cutoff, max_events)
    if magnitude_cutoff is not None:
        magnitude_cutoff = float(magnitude_cutoff)
    dtype = jnp.result_type(float)
    params = AftershockParams(*(jnp.asarray(x, dtype) for x in params))
    lower, upper, floor, log_rates = _bins(params, mu_fn, start, end, reference_magnitude,
                                           magnitude_cutoff, n_bins)  # fmt: skip
    if not bool(jnp.all(jnp.isfinite(floor))):
        raise ValueError("mu_fn returned non-finite values on the window")
    total = float(jnp.exp(jax.scipy.special.logsumexp(log_rates)))
    if not math.isfinite(total):
        raise ValueError(f"expected number of true events is not finite ({total})")
    n_buffer = _bucket(int(math.ceil(total + 8.0 * math.sqrt(total) + 32.0)))
    if n_buffer > max_events:
        raise ValueError(
            f"the simulation needs about {total:.4g} true events above the magnitude floor "
            f"(buffer {n_buffer}) but max_events={max_events}; raise max_events or shorten "
            "the window"
        )
    key_count, key_draw = jax.random.split(key)
    n_true = _poisson(key_count, jnp.asarray(total, dtype))
    if int(n_true) > n_buffer:  # probability < 1e-15
        raise ValueError(f"drew {int(n_true)} true events, more than the buffer of {n_buffer}")
    times, mags, keep = _draw(key_draw, params, mu_fn, lower, upper, floor, log_rates, n_true,
                              n_buffer, magnitude_cutoff)  # fmt: skip
    n_true = int(n_true)
    keep = np.asarray(keep)
    if not keep.any():
        raise ValueError(
            f"no event was recorded ({n_true} true events drawn above the floor, expected "
            f"{total:.4g}); increase k or the window"
        )
    return catalog_from_arrays(
        np.asarray(times)[keep], np.asarray(mags)[keep], start=start, end=end, sort=True
    )


def _bucket(n: int) -> int:
    """Round up to a multiple of 2^(⌊log2 n⌋ − 4) (≤ 6 % padding; fewer recompilations)."""
    step = 2 ** max(0, n.bit_length() - 5)
    return -(-n // step) * step


# Compiled once per process (scalar shapes), shared by every simulation.
_poisson = jax.jit(jax.random.poisson)


@eqx.filter_jit
def _bins(params, mu_fn, start, end, reference_magnitude, magnitude_cutoff, n_bins):
    """Bin edges (geometric in t + c), magnitude floors and log expected true counts."""
    k, c, p, b, sigma = params
    beta = beta_from_b(b)
    log_edges = jnp.linspace(jnp.log(start + c), jnp.log(end + c), n_bins + 1)
    edges = (jnp.exp(log_edges) - c).at[0].set(start).at[-1].set(end)
    sub = jnp.exp(jnp.linspace(log_edges[:-1], log_edges[1:], _POINTS_PER_BIN, axis=1)) - c
    sub = sub.at[0, 0].set(start).at[-1, -1].set(end)
    mu_grid = jnp.broadcast_to(mu_fn(sub.reshape(-1)), (sub.size,)).reshape(sub.shape)
    floor = jnp.min(mu_grid, axis=1) - beta * sigma**2 - _FLOOR_SIGMAS * sigma
    if magnitude_cutoff is not None:
        floor = jnp.maximum(floor, magnitude_cutoff)
    lower, upper = edges[:-1], edges[1:]
    log_counts = jnp.log(omori_integral(lower, upper, k, c, p))
    log_rates = log_counts - beta * (floor - reference_magnitude)
    return lower, upper, floor, log_rates


@eqx.filter_jit
def _draw(key, params, mu_fn, lower, upper, floor, log_rates, n_true, n_buffer,
          magnitude_cutoff):  # fmt: skip
    """Fixed-size draws: ``(n_buffer,)`` times, magnitudes and the keep mask."""
    k, c, p, b, sigma = params
    beta = beta_from_b(b)
    dtype = lower.dtype
    key_bin, key_time, key_mag, key_detect = jax.random.split(key, 4)
    shape = (n_buffer,)
    # Bin j with probability Λ_j/Λ, by inverting the cumulative distribution (cheaper than
    # `jax.random.categorical`, which draws one Gumbel per bin and event).
    cumulative = jnp.cumsum(jax.nn.softmax(log_rates))
    bins = jnp.searchsorted(cumulative, jax.random.uniform(key_bin, shape, dtype) * cumulative[-1])
    bins = jnp.minimum(bins, log_rates.shape[0] - 1)
    # Time: invert ∫_{e_j}^{t} (s + c)^(−p) ds = u ∫_{e_j}^{e_{j+1}}, u ∈ (0, 1].
    u = 1.0 - jax.random.uniform(key_time, shape, dtype)
    base = lower[bins] + c
    width = jnp.log1p((upper[bins] - lower[bins]) / base)
    q = 1.0 - p
    x = u * width * exprel(q * width)  # = (∫ up to t) / (k base^q)
    d = x * _log1prel(q * x)  # ln((t + c)/base)
    times = jnp.clip(lower[bins] + base * jnp.expm1(d), lower[bins], upper[bins])
    # Magnitude: Gutenberg–Richter above the bin's floor.
    mags = floor[bins] - jnp.log1p(-jax.random.uniform(key_mag, shape, dtype)) / beta
    mu = jnp.broadcast_to(mu_fn(times), shape)
    keep = jax.random.uniform(key_detect, shape, dtype) < detection_probability(mags, mu, sigma)
    keep &= jnp.arange(n_buffer) < n_true
    if magnitude_cutoff is not None:
        keep &= mags >= magnitude_cutoff
    return times, mags, keep
