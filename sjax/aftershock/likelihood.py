"""Log-likelihood of recorded aftershocks: Omori–Utsu × Gutenberg–Richter × detection.

Rate of recorded events (Ogata & Katsura 1993, GJI 113:727; Omi et al. 2013, BSSA 103:1116), t in
days since the main shock, M in magnitude units:

    λ_obs(t, M) = k (t + c)^(−p) · β e^{−β(M − Mref)} · Φ((M − μ(t))/σ),   β = b ln 10.

On a window [S, T] with recorded events (t_i, M_i):

    ℓ = Σ_i ln λ_obs(t_i, M_i) − ∫_S^T k (t + c)^(−p) G(μ(t)) dt,
    G(μ) = ∫_{Mc}^{∞} β e^{−β(M − Mref)} Φ((M − μ)/σ) dM

(closed form, `sjax.aftershock.magnitudes`).

Two treatments of the time integral, chosen by the function:

* `log_likelihood` takes μ as a **callable** ``mu_fn(t)`` and integrates by composite
  Gauss–Legendre quadrature in ``u = ln(t + c)`` (`log_time_quadrature`): the Omori factor is
  then the smooth ``e^{(1−p)u}``, and a μ(t) that is smooth in log-time (as the GP models are)
  is integrated to ~1e-12 relative with the default 16 panels × 16 nodes.
* `log_likelihood_piecewise` takes μ **at the event times** and holds it constant between
  events, exactly as AftFore's ``LG_OU_GRDR``: [S, t_1] uses μ_1, (t_{i−1}, t_i] uses μ_i, and
  (t_n, T] uses μ_n; each piece is the closed-form `omori_integral`. This is the convention of
  the Omi et al. state-space baseline.

The parameters are unconstrained numbers here: positivity of ``k``, ``c``, ``b``, ``sigma`` is
the caller's business (e.g. optimise their logarithms). ``reference_magnitude`` is a fixed
constant (keep it, e.g. the main-shock magnitude, the same across fits: ``k`` scales with
``e^{−β Mref}``).

Padding (``event_weights``): the likelihoods accept an optional ``(n,)`` 0/1 mask. A zero-weight
event contributes nothing: its log-intensity term is dropped and, in the piecewise integral, the
interval it closes is merged with the next weighted event's (μ is taken from the next weighted
event, or from the last weighted event for trailing ones). Appending zero-weight events at
``t = end`` therefore leaves the value unchanged, which lets `sjax.aftershock.fit` pad event
arrays to a few fixed sizes so that one compilation serves catalogues of different lengths.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.aftershock.catalog import Catalog
from sjax.aftershock.magnitudes import (
    beta_from_b,
    detection_log_probability,
    gutenberg_richter_log_density,
    log_detected_magnitude_integral,
)
from sjax.aftershock.omori import omori_integral, omori_log_rate

__all__ = [
    "AftershockParams",
    "detected_log_intensity",
    "log_time_quadrature",
    "expected_detected_count",
    "expected_detected_count_piecewise",
    "log_likelihood",
    "log_likelihood_piecewise",
]


class AftershockParams(NamedTuple):
    """Parameters of the Omori–Utsu × Gutenberg–Richter × detection model.

    Every field is an array (scalars for one parameter set, ``(batch,)`` for `jax.vmap`).

    Attributes:
        k: Omori–Utsu productivity K in events/day: the rate of events with
            M ≥ ``reference_magnitude`` is ``k (t + c)^(−p)``.
        c: Omori–Utsu time offset in days (> 0).
        p: Omori–Utsu decay exponent (dimensionless; p = 1 is handled smoothly).
        b: Gutenberg–Richter b-value (per magnitude unit; β = b ln 10).
        sigma: width of the detection function Φ((M − μ)/σ), in magnitude units (> 0).
    """

    k: jax.Array
    c: jax.Array
    p: jax.Array
    b: jax.Array
    sigma: jax.Array

    @property
    def beta(self) -> jax.Array:
        """β = b ln 10."""
        return beta_from_b(self.b)


def detected_log_intensity(
    params: AftershockParams,
    times: jax.Array,
    magnitudes: jax.Array,
    mu: jax.Array,
    *,
    reference_magnitude: float,
) -> jax.Array:
    """``ln λ_obs(t, M) = ln k − p ln(t + c) + ln β − β(M − Mref) + ln Φ((M − μ)/σ)``.

    Args:
        params: `AftershockParams` (scalar fields).
        times: ``(n,)`` event times in days since the main shock.
        magnitudes: ``(n,)`` event magnitudes.
        mu: ``(n,)`` (or scalar) 50 %-detection magnitude at the event times.
        reference_magnitude: Mref, the magnitude ``k`` refers to.

    Returns:
        ``(n,)`` log-intensity in ln(events / day / magnitude unit).
    """
    return (
        omori_log_rate(times, params.k, params.c, params.p)
        + gutenberg_richter_log_density(magnitudes, params.b, reference_magnitude)
        + detection_log_probability(magnitudes, mu, params.sigma)
    )


def _weighted_event_sum(terms: jax.Array, event_weights: jax.Array | None) -> jax.Array:
    """``Σ_i w_i terms_i`` (plain sum when ``event_weights`` is None); zero-weight terms are
    excluded with ``where`` so that non-finite padding values cannot leak into the sum."""
    if event_weights is None:
        return jnp.sum(terms)
    w = jnp.broadcast_to(jnp.asarray(event_weights, terms.dtype), terms.shape)
    return jnp.sum(jnp.where(w > 0, w * terms, jnp.zeros_like(terms)))


def _mu_for_intervals(mu: jax.Array, event_weights: jax.Array | None) -> jax.Array:
    """μ per event with zero-weight events taking the μ of the next weighted event (or of the
    last weighted one when none follows): the piecewise integral then equals the integral of
    the catalogue without the zero-weight events. ``mu`` is ``(n,)``."""
    if event_weights is None:
        return mu
    n = mu.shape[0]
    index = jnp.arange(n)
    active = jnp.broadcast_to(jnp.asarray(event_weights), (n,)) > 0
    following = jax.lax.cummin(jnp.where(active, index, n), reverse=True)
    preceding = jax.lax.cummax(jnp.where(active, index, -1))
    source = jnp.where(following < n, following, jnp.maximum(preceding, 0))
    return mu[source]


def log_time_quadrature(
    start: jax.Array, end: jax.Array, offset: jax.Array, n_panels: int = 16, order: int = 16
) -> tuple[jax.Array, jax.Array]:
    """Nodes and weights for ``∫_start^end f(t) dt`` by Gauss–Legendre in ``u = ln(t + offset)``.

    ``[ln(start + offset), ln(end + offset)]`` is cut into ``n_panels`` equal panels with an
    ``order``-point Gauss–Legendre rule on each; ``t = e^u − offset`` and the weights include
    the Jacobian ``e^u``. Geometric spacing in t resolves the early, fast part of a sequence.
    Differentiable in ``start``, ``end`` and ``offset``.

    Args:
        start, end: window bounds in days (``end > start > −offset``), scalars.
        offset: scalar in days (> 0), typically the Omori ``c``.
        n_panels, order: static sizes.

    Returns:
        ``(nodes, weights)``, each ``(n_panels * order,)``; nodes in days, weights in days.
    """
    x, w = np.polynomial.legendre.leggauss(order)
    u0 = jnp.log(start + offset)
    u1 = jnp.log(end + offset)
    width = (u1 - u0) / n_panels
    left = u0 + width * jnp.arange(n_panels)
    u = (left[:, None] + 0.5 * width * (jnp.asarray(x) + 1.0)[None, :]).reshape(-1)
    weights = jnp.tile(0.5 * width * jnp.asarray(w), n_panels) * jnp.exp(u)
    return jnp.exp(u) - offset, weights


def expected_detected_count(
    params: AftershockParams,
    start: jax.Array,
    end: jax.Array,
    mu_fn: Callable[[jax.Array], jax.Array],
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    n_panels: int = 16,
    order: int = 16,
) -> jax.Array:
    """Expected number of *recorded* events in ``[start, end]``: ``∫ k (t+c)^(−p) G(μ(t)) dt``.

    Quadrature by `log_time_quadrature` with ``offset = params.c``.

    Args:
        params: `AftershockParams` (scalar fields).
        start, end: window in days since the main shock.
        mu_fn: vectorised callable, ``(m,)`` times in days -> ``(m,)`` μ(t) in magnitude units.
        reference_magnitude: Mref; magnitude_cutoff: optional catalogue cut Mc.
        n_panels, order: quadrature sizes (static).

    Returns:
        Scalar expected count.
    """
    nodes, weights = log_time_quadrature(start, end, params.c, n_panels, order)
    log_g = log_detected_magnitude_integral(
        mu_fn(nodes), params.b, params.sigma, reference_magnitude, magnitude_cutoff
    )
    return jnp.sum(weights * jnp.exp(omori_log_rate(nodes, params.k, params.c, params.p) + log_g))


def expected_detected_count_piecewise(
    params: AftershockParams,
    catalog: Catalog,
    mu_at_events: jax.Array,
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Expected number of recorded events on ``[catalog.start, catalog.end]`` with μ piecewise
    constant between events (AftFore convention, see the module docstring).

    Args:
        params: `AftershockParams` (scalar fields).
        catalog: `Catalog` with ``n`` events.
        mu_at_events: ``(n,)`` μ at the event times (magnitude units).
        reference_magnitude: Mref; magnitude_cutoff: optional catalogue cut Mc.
        event_weights: optional ``(n,)`` 0/1 mask; zero-weight events are ignored (their
            intervals merge with the next weighted event's, see the module docstring).
            Default None: every event counts.

    Returns:
        Scalar expected count.
    """
    times = catalog.times
    lower = jnp.concatenate([jnp.reshape(catalog.start, (1,)).astype(times.dtype), times])
    upper = jnp.concatenate([times, jnp.reshape(catalog.end, (1,)).astype(times.dtype)])
    counts = omori_integral(lower, upper, params.k, params.c, params.p)
    mu = _mu_for_intervals(jnp.broadcast_to(mu_at_events, times.shape), event_weights)
    mu = jnp.concatenate([mu, mu[-1:]])  # the last interval (t_n, T] keeps μ_n
    log_g = log_detected_magnitude_integral(
        mu, params.b, params.sigma, reference_magnitude, magnitude_cutoff
    )
    return jnp.sum(counts * jnp.exp(log_g))


def log_likelihood(
    params: AftershockParams,
    catalog: Catalog,
    mu_fn: Callable[[jax.Array], jax.Array],
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    n_panels: int = 16,
    order: int = 16,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Log-likelihood of the recorded catalogue on its window for a continuous μ(t).

    ``ℓ = Σ_i ln λ_obs(t_i, M_i) − ∫_S^T k (t + c)^(−p) G(μ(t)) dt`` with the integral by
    Gauss–Legendre quadrature in ln(t + c) (`expected_detected_count`). Pure; works under
    ``jit``, ``vmap`` (over ``params``) and ``grad``.

    Args:
        params: `AftershockParams` (scalar fields; vmap for a batch).
        catalog: `Catalog`; its window ``[start, end]`` is the observation window.
        mu_fn: vectorised callable, times ``(m,)`` in days -> μ ``(m,)`` in magnitude units.
        reference_magnitude: Mref, the magnitude ``k`` refers to.
        magnitude_cutoff: optional lower magnitude limit of the catalogue (events below it
            must have been removed, e.g. with `Catalog.above`).
        n_panels, order: quadrature sizes (static).
        event_weights: optional ``(n,)`` 0/1 mask multiplying the event terms (zero-weight
            events, e.g. padding, are ignored; the time integral does not depend on the
            events). Default None: every event counts.

    Returns:
        Scalar log-likelihood.

    Example:
        >>> params = AftershockParams(k=50.0, c=0.01, p=1.1, b=1.0, sigma=0.2)
        >>> ll = log_likelihood(params, catalog, lambda t: 3.0 - 0.5 * jnp.log1p(t / 0.01),
        ...                     reference_magnitude=7.1)  # doctest: +SKIP
    """
    events = detected_log_intensity(
        params, catalog.times, catalog.magnitudes, mu_fn(catalog.times),
        reference_magnitude=reference_magnitude,
    )  # fmt: skip
    count = expected_detected_count(
        params, catalog.start, catalog.end, mu_fn, reference_magnitude=reference_magnitude,
        magnitude_cutoff=magnitude_cutoff, n_panels=n_panels, order=order,
    )  # fmt: skip
    return _weighted_event_sum(events, event_weights) - count


def log_likelihood_piecewise(
    params: AftershockParams,
    catalog: Catalog,
    mu_at_events: jax.Array,
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Log-likelihood with μ given at the event times, piecewise constant in between
    (AftFore ``LG_OU_GRDR``): exact closed form, O(n).

    Args:
        params: `AftershockParams` (scalar fields; vmap for a batch).
        catalog: `Catalog` with ``n`` events and window ``[start, end]``.
        mu_at_events: ``(n,)`` μ at the event times (or a scalar for constant μ).
        reference_magnitude: Mref; magnitude_cutoff: optional catalogue cut Mc.
        event_weights: optional ``(n,)`` 0/1 mask: zero-weight events are ignored, so
            padding a catalogue with zero-weight events at ``t = end`` leaves ℓ unchanged.
            Default None: every event counts.

    Returns:
        Scalar log-likelihood.
    """
    mu = jnp.broadcast_to(mu_at_events, catalog.times.shape)
    events = detected_log_intensity(
        params, catalog.times, catalog.magnitudes, mu, reference_magnitude=reference_magnitude
    )
    count = expected_detected_count_piecewise(
        params, catalog, mu, reference_magnitude=reference_magnitude,
        magnitude_cutoff=magnitude_cutoff, event_weights=event_weights,
    )  # fmt: skip
    return _weighted_event_sum(events, event_weights) - count
