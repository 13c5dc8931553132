"""Aftershock forecasts: expected numbers of *true* events and posterior-predictive counts.

Omi et al. 2015, BSSA 105:2765. For parameters θ = (k, c, p, b, σ) the number of true events with
magnitude
M ≥ M_th in the window [T1, T2] (days since the main shock) is Poisson with mean

    Λ(θ) = ∫_{T1}^{T2} k (t + c)^(−p) dt · e^{−β(M_th − Mref)},   β = b ln 10,

(`expected_count`; the Omori integral is `omori_integral`, smooth through p = 1). Detection
enters only the fit: forecasts are for real, not recorded, events. With posterior (or
approximate-posterior) draws θ_1 … θ_S the predictive distribution of the count N is the
Poisson mixture

    P(N ≤ n) = F(n) = (1/S) Σ_s P(Poisson(Λ_s) ≤ n) = (1/S) Σ_s Q(n + 1, Λ_s),

Q the regularised upper incomplete gamma function (`jax.scipy.special.gammaincc`). `forecast`
reports its mean, median, a central interval and P(N ≥ 1) = 1 − (1/S) Σ_s e^{−Λ_s}.

Draws come from `parameter_draws` (Gaussian on the fit's unconstrained scale: a Laplace
approximation of the posterior) for any fit result exposing ``unconstrained`` and
``unconstrained_covariance`` whose first five entries are ``log_k, log_c, p, log_b,
log_sigma``, or directly from a sampler (e.g. NUTS) as an `AftershockParams` batch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaincc, ndtri

from sjax._arrays import is_concrete
from sjax.aftershock.catalog import Catalog
from sjax.aftershock.likelihood import AftershockParams
from sjax.aftershock.magnitudes import beta_from_b
from sjax.aftershock.omori import omori_integral

__all__ = [
    "Forecast",
    "completeness_magnitude",
    "expected_count",
    "forecast",
    "observed_counts",
    "parameter_draws",
    "poisson_mixture_cdf",
    "poisson_mixture_quantile",
]

_N_OMORI = 5  # log_k, log_c, p, log_b, log_sigma lead every unconstrained vector


# --------------------------------------------------------------------------------------------
# Parameter draws


def parameter_draws(key: jax.Array, result, n_draws: int) -> AftershockParams:
    """Draw Omori–Utsu/GR/detection parameters from a fit's Gaussian (Laplace) approximation.

    ``z ~ N(result.unconstrained[:5], result.unconstrained_covariance[:5, :5])`` on the
    unconstrained scale ``(log_k, log_c, p, log_b, log_sigma)``, then mapped to the natural
    scale (``exp`` for k, c, b, σ; p as is). The μ(t) parameters (entries 5 onward) are
    marginalised out simply by ignoring them: forecasts of true events do not depend on μ.

    Args:
        key: `jax.random` key.
        result: any fit result with ``unconstrained`` ``(n_params,)`` and
            ``unconstrained_covariance`` ``(n_params, n_params)`` whose first five entries are
            ``log_k, log_c, p, log_b, log_sigma`` (e.g. `sjax.aftershock.FitResult`).
        n_draws: number of draws S (≥ 1).

    Returns:
        `AftershockParams` with ``(n_draws,)`` fields: k in events/day (M ≥ Mref), c in days,
        p, b, σ in magnitude units.

    Raises:
        TypeError: ``result`` lacks ``unconstrained`` or ``unconstrained_covariance``.
        ValueError: ``n_draws < 1``, wrong shapes, or a covariance that is not finite and
            positive semidefinite (the fit did not converge).
    """
    for name in ("unconstrained", "unconstrained_covariance"):
        if not hasattr(result, name):
            raise TypeError(f"result has no field {name!r}: pass a fit result (e.g. FitResult)")
    n_draws = int(n_draws)
    if n_draws < 1:
        raise ValueError(f"n_draws={n_draws} must be >= 1")
    mean = np.asarray(result.unconstrained, dtype=float)
    cov = np.asarray(result.unconstrained_covariance, dtype=float)
    if mean.ndim != 1 or mean.shape[0] < _N_OMORI:
        raise ValueError(f"result.unconstrained must have shape (>=5,), got {mean.shape}")
    if cov.shape != (mean.shape[0], mean.shape[0]):
        raise ValueError(
            f"result.unconstrained_covariance must have shape {(mean.shape[0],) * 2}, got "
            f"{cov.shape}"
        )
    mean, cov = mean[:_N_OMORI], cov[:_N_OMORI, :_N_OMORI]
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"result.unconstrained[:5]={mean} is not finite: fit did not converge")
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            "result.unconstrained_covariance is not finite (NaN/inf): fit did not converge "
            "(Hessian not positive definite at the optimum)"
        )
    cov = 0.5 * (cov + cov.T)
    eigenvalues, vectors = np.linalg.eigh(cov)
    tolerance = 1e-10 * max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    if eigenvalues.min() < -tolerance:
        raise ValueError(
            "result.unconstrained_covariance is not positive semidefinite (smallest "
            f"eigenvalue {eigenvalues.min():.3g}): fit did not converge"
        )
    dtype = jnp.asarray(result.unconstrained).dtype
    factor = jnp.asarray(vectors * np.sqrt(np.clip(eigenvalues, 0.0, None)), dtype)
    return _draw_natural(key, jnp.asarray(mean, dtype), factor, n_draws)


@functools.partial(jax.jit, static_argnums=3)
def _draw_natural(key, mean, factor, n_draws):
    z = mean + jax.random.normal(key, (n_draws, _N_OMORI), mean.dtype) @ factor.T
    return AftershockParams(
        k=jnp.exp(z[:, 0]), c=jnp.exp(z[:, 1]), p=z[:, 2], b=jnp.exp(z[:, 3]),
        sigma=jnp.exp(z[:, 4]),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Expected counts and the Poisson mixture


def expected_count(
    params: AftershockParams,
    start: jax.Array,
    end: jax.Array,
    magnitude_threshold: jax.Array,
    *,
    reference_magnitude: float,
) -> jax.Array:
    """Expected number of *true* events with M ≥ ``magnitude_threshold`` in ``[start, end]``.

    ``Λ = omori_integral(start, end, k, c, p) · e^{−β(M_th − Mref)}`` (Omi et al. 2015, BSSA
    105:2765), exact
    and smooth through p = 1. Pure; broadcasts, so batched ``(S,)`` params give ``(S,)``.

    Args:
        params: `AftershockParams`, scalar or ``(S,)`` fields (k in events/day for M ≥ Mref).
        start, end: window in days since the main shock (``end ≥ start > −c``); any shapes
            broadcasting with the params fields.
        magnitude_threshold: M_th (magnitude units), broadcasting likewise.
        reference_magnitude: Mref, the magnitude ``k`` refers to.

    Returns:
        Λ (dimensionless count), the broadcast shape of the arguments.

    Raises:
        ValueError: concrete ``end < start``.
    """
    if is_concrete(start, end) and np.any(np.asarray(end) < np.asarray(start)):
        raise ValueError(f"window end={end} days must not precede start={start} days")
    counts = omori_integral(start, end, params.k, params.c, params.p)
    return counts * jnp.exp(-beta_from_b(params.b) * (magnitude_threshold - reference_magnitude))


def poisson_mixture_cdf(n: jax.Array, rates: jax.Array) -> jax.Array:
    """CDF of the equal-weight Poisson mixture, ``F(n) = mean_s P(Poisson(Λ_s) ≤ n)``.

    Args:
        n: integer-valued counts, any shape ``B`` (``F = 0`` for n < 0).
        rates: ``(..., S)`` Poisson means Λ_s ≥ 0, the leading dimensions broadcasting with
            ``B``.

    Returns:
        ``F(n)`` in [0, 1], the broadcast shape of ``n`` and ``rates[..., 0]``.
    """
    n = jnp.floor(jnp.asarray(n, rates.dtype))
    cdf = gammaincc(jnp.maximum(n, 0.0)[..., None] + 1.0, rates)
    return jnp.where(n < 0, 0.0, jnp.mean(cdf, axis=-1))


@jax.jit
def poisson_mixture_quantile(q: jax.Array, rates: jax.Array) -> jax.Array:
    """Quantile of the Poisson mixture: ``min{n ≥ 0 : F(n) ≥ q}`` (`poisson_mixture_cdf`).

    The same convention as ``scipy.stats.poisson.ppf`` (with one draw the two agree). Found by
    integer bisection on ``[−1, max Λ + 12 √max Λ + 40]`` (F is non-decreasing), ~log2 of the
    upper bound evaluations of F.

    Args:
        q: probability in (0, 1), any shape broadcasting with ``rates[..., 0]``.
        rates: ``(..., S)`` Poisson means Λ_s ≥ 0.

    Returns:
        Integer-valued float array of the broadcast shape.
    """
    q = jnp.asarray(q, rates.dtype)
    top = jnp.max(rates, axis=-1)
    shape = jnp.broadcast_shapes(q.shape, top.shape)
    lo = jnp.full(shape, -1.0, rates.dtype)  # F(lo) < q
    hi = jnp.broadcast_to(jnp.ceil(top + 12.0 * jnp.sqrt(top) + 40.0), shape)  # F(hi) ≥ q

    def body(bounds):
        lo, hi = bounds
        mid = jnp.floor(0.5 * (lo + hi))
        above = poisson_mixture_cdf(mid, rates) >= q
        return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

    _, hi = jax.lax.while_loop(lambda b: jnp.any(b[1] - b[0] > 1.0), body, (lo, hi))
    return hi


# --------------------------------------------------------------------------------------------
# Forecast


class Forecast(NamedTuple):
    """Posterior-predictive forecast of the number of *true* events per window and threshold.

    All per-cell arrays have shape ``(W, H)``: W windows × H magnitude thresholds. With F the
    mixture CDF (module docstring) and ``quantile(q) = min{n ≥ 0 : F(n) ≥ q}``:

    Attributes:
        expected: posterior mean of Λ (= predictive mean of the count).
        median: ``quantile(0.5)``.
        lower: ``quantile((1 − level)/2)``.
        upper: ``quantile((1 + level)/2)``; ``P(lower ≤ N ≤ upper) ≥ level`` under the
            mixture (P(N < lower) < (1 − level)/2 and P(N > upper) ≤ (1 − level)/2).
        prob_at_least_one: ``P(N ≥ 1) = 1 − mean_s e^{−Λ_s}``.
        windows: ``(W, 2)`` window ``(start, end)`` in days since the main shock.
        thresholds: ``(H,)`` magnitude thresholds M_th.
        level: central predictive probability of ``[lower, upper]`` (e.g. 0.95).
        n_draws: number of parameter draws S.
    """

    expected: jax.Array
    median: jax.Array
    lower: jax.Array
    upper: jax.Array
    prob_at_least_one: jax.Array
    windows: jax.Array
    thresholds: jax.Array
    level: float
    n_draws: int

    def table(self) -> str:
        """Plain-text table, one row per (window, threshold)."""
        pct = f"{100 * self.level:g}%"
        header = (f"{'start (d)':>10s} {'end (d)':>10s} {'M >=':>6s} {'expected':>10s} "
                  f"{'median':>7s} {pct + ' interval':>17s} {'P(>=1)':>7s}")  # fmt: skip
        lines = [header, "-" * len(header)]
        windows = np.asarray(self.windows)
        for i, (start, end) in enumerate(windows):
            for j, threshold in enumerate(np.asarray(self.thresholds)):
                interval = f"[{int(self.lower[i, j])}, {int(self.upper[i, j])}]"
                lines.append(
                    f"{start:10.4g} {end:10.4g} {threshold:6.4g} "
                    f"{float(self.expected[i, j]):10.4g} {int(self.median[i, j]):7d} "
                    f"{interval:>17s} {float(self.prob_at_least_one[i, j]):7.4f}"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-serialisable dict: nested lists (``[window][threshold]``) and plain numbers."""

        def as_int(x):
            return np.asarray(x).astype(int).tolist()

        return {
            "windows": np.asarray(self.windows, dtype=float).tolist(),
            "thresholds": np.asarray(self.thresholds, dtype=float).tolist(),
            "level": float(self.level),
            "n_draws": int(self.n_draws),
            "expected": np.asarray(self.expected, dtype=float).tolist(),
            "median": as_int(self.median),
            "lower": as_int(self.lower),
            "upper": as_int(self.upper),
            "prob_at_least_one": np.asarray(self.prob_at_least_one, dtype=float).tolist(),
        }


def _check_windows(windows) -> np.ndarray:
    try:
        array = np.asarray(windows, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"windows must be a sequence of (start, end) pairs, got {windows!r}")
    if array.size == 0:
        raise ValueError("windows is empty: give at least one (start, end) window")
    if array.ndim == 1 and array.shape == (2,):
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"windows must have shape (W, 2) of (start, end), got {array.shape}")
    for i, (start, end) in enumerate(array):
        if not (np.isfinite(start) and np.isfinite(end)):
            raise ValueError(f"windows[{i}]=({start}, {end}) must be finite (days)")
        if start < 0:
            raise ValueError(f"windows[{i}] start={start} days is before the main shock")
        if not end > start:
            raise ValueError(f"windows[{i}]: end={end} days must exceed start={start} days")
    return array


def _check_thresholds(thresholds, name="magnitude_thresholds") -> np.ndarray:
    array = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}={array.tolist()} must be finite")
    return array


def _check_draws(params) -> AftershockParams:
    if not isinstance(params, AftershockParams):
        raise TypeError(f"params_draws must be AftershockParams, got {type(params).__name__}")
    fields = [jnp.atleast_1d(jnp.asarray(x)) for x in params]
    sizes = {f.shape for f in fields}
    if any(f.ndim != 1 for f in fields) or len(sizes) != 1:
        raise ValueError(
            "params_draws fields must be scalars or 1-D of one common length (S,), got shapes "
            + str({n: tuple(jnp.shape(x)) for n, x in zip(AftershockParams._fields, params)})
        )
    for name, value in zip(AftershockParams._fields, fields):
        if is_concrete(value) and not bool(jnp.all(jnp.isfinite(value))):
            raise ValueError(f"params_draws.{name} has non-finite values")
    return AftershockParams(*fields)


@functools.partial(jax.jit, static_argnames=("reference_magnitude",))
def _forecast_core(params, windows, thresholds, level, *, reference_magnitude):
    # rates: (W, H, S)
    rates = expected_count(
        params, windows[:, 0, None, None], windows[:, 1, None, None],
        thresholds[None, :, None], reference_magnitude=reference_magnitude,
    )  # fmt: skip
    probs = jnp.stack([0.5, 0.5 * (1.0 - level), 0.5 * (1.0 + level)]).astype(rates.dtype)
    quantiles = poisson_mixture_quantile(probs[:, None, None], rates[None])
    expected = jnp.mean(rates, axis=-1)
    at_least_one = -jnp.mean(jnp.expm1(-rates), axis=-1)  # 1 − mean e^{−Λ}, exact for small Λ
    return expected, quantiles, at_least_one


def forecast(
    params_draws: AftershockParams,
    windows: Sequence[tuple[float, float]],
    magnitude_thresholds: Sequence[float],
    *,
    reference_magnitude: float,
    level: float = 0.95,
) -> Forecast:
    """Posterior-predictive forecast of the number of true events per window and threshold.

    For each draw s, window [T1, T2] and threshold M_th, ``Λ_s`` is `expected_count`; the
    predictive count is the Poisson mixture over draws (see `Forecast` for the exact
    definitions of ``median``, ``lower`` and ``upper``).

    Args:
        params_draws: `AftershockParams` with ``(S,)`` fields (posterior draws, e.g. from
            `parameter_draws` or NUTS) or scalar fields (a plug-in forecast, S = 1).
        windows: W pairs ``(start, end)`` in days since the main shock, ``0 ≤ start < end``.
        magnitude_thresholds: H thresholds M_th (magnitude units).
        reference_magnitude: Mref used by the fit (``k`` counts events with M ≥ Mref).
        level: central predictive probability of ``[lower, upper]``, in (0, 1).

    Returns:
        `Forecast` with ``(W, H)`` arrays.

    Raises:
        ValueError: empty or invalid windows (start ≥ end, negative or non-finite), empty or
            non-finite thresholds, ``level`` outside (0, 1), non-finite draws.
        TypeError: ``params_draws`` is not `AftershockParams`.
    """
    params = _check_draws(params_draws)
    windows = _check_windows(windows)
    thresholds = _check_thresholds(magnitude_thresholds)
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} must be in (0, 1)")
    if not math.isfinite(float(reference_magnitude)):
        raise ValueError(f"reference_magnitude={reference_magnitude} must be finite")
    dtype = params.k.dtype
    expected, quantiles, at_least_one = _forecast_core(
        params, jnp.asarray(windows, dtype), jnp.asarray(thresholds, dtype),
        jnp.asarray(level, dtype), reference_magnitude=float(reference_magnitude),
    )  # fmt: skip
    quantiles = quantiles.astype(int)
    return Forecast(
        expected=expected, median=quantiles[0], lower=quantiles[1], upper=quantiles[2],
        prob_at_least_one=at_least_one, windows=jnp.asarray(windows, dtype),
        thresholds=jnp.asarray(thresholds, dtype), level=level, n_draws=params.k.shape[0],
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Completeness and observed counts


def completeness_magnitude(mu: jax.Array, sigma: jax.Array, probability: float = 0.98) -> jax.Array:
    """Magnitude detected with the given probability, ``M_c = μ + σ Φ⁻¹(probability)``.

    With the detection function q(M) = Φ((M − μ)/σ) the default 0.98 gives ``μ + 2.054 σ``
    (the "μ + 2σ" completeness of Omi et al. 2015).

    Args:
        mu: 50 %-detection magnitude(s) μ(t), any shape.
        sigma: detection width(s) (> 0), broadcasting with ``mu``.
        probability: detection probability in (0, 1).

    Returns:
        M_c in magnitude units, the broadcast shape.
    """
    if not 0.0 < float(probability) < 1.0:
        raise ValueError(f"probability={probability} must be in (0, 1)")
    mu = jnp.asarray(mu)
    return mu + sigma * ndtri(jnp.asarray(probability, jnp.result_type(mu, float)))


def observed_counts(catalog: Catalog, windows, thresholds) -> np.ndarray:
    """Number of catalogue events with ``M ≥ threshold`` and ``start ≤ t < end`` per window.

    For forecast-versus-observed comparisons: choose thresholds well above the completeness
    magnitude on the window (`completeness_magnitude`), else recorded counts undercount the
    true events a `forecast` refers to.

    Args:
        catalog: `Catalog` whose window ``[catalog.start, catalog.end]`` covers every window.
        windows: W pairs ``(start, end)`` in days since the main shock (half-open
            ``[start, end)``, so adjacent windows do not double count; a window ending at
            ``catalog.end`` includes events at ``end``).
        thresholds: H magnitude thresholds.

    Returns:
        ``(W, H)`` integer numpy array of counts.

    Raises:
        TypeError: ``catalog`` is not a `Catalog`.
        ValueError: invalid windows/thresholds, or a window outside the catalogue's window.
    """
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a sjax.aftershock.Catalog, got {type(catalog).__name__}")
    windows = _check_windows(windows)
    thresholds = _check_thresholds(thresholds, "thresholds")
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    c_start, c_end = float(catalog.start), float(catalog.end)
    counts = np.zeros((windows.shape[0], thresholds.shape[0]), dtype=int)
    for i, (start, end) in enumerate(windows):
        if start < c_start or end > c_end:
            raise ValueError(
                f"windows[{i}]=({start}, {end}) is outside the catalogue window [{c_start}, "
                f"{c_end}] days: counts there are unknown"
            )
        inside = (times >= start) & ((times < end) | ((end == c_end) & (times == end)))
        counts[i] = np.sum(inside[None, :] & (mags[None, :] >= thresholds[:, None]), axis=1)
    return counts
