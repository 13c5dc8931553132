"""Omi et al. (AftFore) state-space baseline for the detection magnitude μ ("GRDR-SSM").

Omi et al. 2013, BSSA 103:1116; 2015, BSSA 105:2765. μ is indexed by **event number** (events
sorted by time): ``μ = (μ_1, …, μ_n)``
with the smoothness prior of second differences

    ln p(μ | V) = −(n−2)/2 · ln(2πV) − μᵀWμ/(2V),   W = D₂ᵀD₂ (pentadiagonal; diagonal
    1, 5, 6, …, 6, 5, 1),

and the magnitude-only likelihood ``Σ_i ln f(M_i; β, μ_i, σ)`` with ``f`` the density of
recorded magnitudes (`detected_magnitude_log_density`, AftFore ``pdf_GRDR``). The constant
``½ ln pdet(W)`` of the (improper, rank n−2) prior is dropped throughout: it does not depend on
the hyperparameters.

Algorithm (``fit_state_space``):

1. **Mode** (`smooth_mu`): for hyperparameters ``(b, σ, V)``, μ̂ maximises the log-posterior by
   Newton iterations with the pentadiagonal Hessian ``H = diag(h) − W/V`` (``h_i`` the second
   derivative of ``ln f`` in ``μ_i``, in closed form via the Mills ratio), each solved by an
   O(n) banded Cholesky (bandwidth 2, `banded_cholesky`, written with `jax.lax.scan`) and an
   Armijo backtracking step; no dense n×n matrix is formed. The loop (a `jax.lax.while_loop`,
   at most ``max_iter`` iterations, typically 5–10) runs forward only: μ̂ is differentiated
   **implicitly** (`jax.lax.custom_root`, ``dμ̂ = (−H)⁻¹ ∂_θ∇``, one extra banded solve; the
   band of H is recovered from 5 Hessian-vector products) instead of by unrolling, so the
   gradient is exact at the mode and costs O(n) whatever the iteration count.
2. **Hyperparameters** (`laplace_approximation`): the Laplace-approximated marginal
   log-likelihood ``L(b, σ, V) = Σ ln f(M_i; μ̂_i) + ln p(μ̂ | V) + (n/2) ln 2π − ½ ln|−H|`` is
   maximised over ``(ln b, ln σ, ln V)``: a grid in ``ln V`` (b = 1, σ = 0.2), then optax
   L-BFGS directions (`optax.lbfgs` without its line search) with an Armijo backtracking line
   search, driven from Python so that the objective, which contains a Newton solve, is
   compiled once (an in-``jit`` optax line search would compile it 3–4 times). AftFore uses
   quasi-Newton with 5-point numerical gradients and a soft barrier on V; here the gradient is
   autodiff (with the implicit μ̂) and V > 0 by the log scale. The objective carries round-off
   of ~1e-11 relative (``μᵀWμ/V`` for small V), so the default per-event gradient tolerance is
   1e-5.
3. **Joint fit** (AftFore recipe): ``μ(t_i) = μ̂₀_i + μ₁`` with a single shift μ₁;
   ``log_likelihood_piecewise`` (AftFore ``LG_OU_GRDR``) is maximised over the unconstrained
   ``(log_k, log_c, p, log_b, log_sigma, mu_shift)`` (optional Adam, then L-BFGS with zoom line
   search, `sjax.aftershock.fit.minimise`, inside one ``jit``); the
   covariance is the inverse Hessian of the negative log-likelihood on that scale (μ̂₀ held
   fixed, as in AftFore).
4. **Band for μ**: the Laplace posterior ``N(μ̂₀, (−H)⁻¹)`` at the fitted hyperparameters is
   sampled as ``μ̂₀ + L⁻ᵀz`` (O(n) per sample), the shift is added as an independent
   ``N(μ̂₁, se(μ₁)²)``, and pointwise 2.5 / 97.5 % quantiles form the 95 % band. The band is
   conditional on (b, σ, V) of step 2 and does not include smoothing bias: where μ(t) bends
   sharply in event index (e.g. a fast early decay) it can under-cover.

Padding: `fit_state_space` pads the event arrays with zero-weight events to a size bucket
(`sjax.aftershock.fit._padded_size`: multiples of 256 up to 8191 events), so a new learning
window with a similar number of events reuses the compiled programs (and JAX's persistent
compilation cache across processes). The padding is exact, not approximate: padded entries of μ
have no likelihood term, no coupling to the events and a standard normal prior whose
normalisation cancels their share of the Laplace term, so mode, marginal and gradient of the
events are those of the unpadded problem (``event_weights`` of `laplace_approximation`).

Banded storage: a symmetric pentadiagonal matrix ``A`` (n×n) is stored as ``bands`` of shape
``(3, n)`` with ``bands[k, i] = A[i, i−k]`` (``bands[1, 0] = bands[2, 0] = bands[2, 1] = 0``);
its lower Cholesky factor ``L`` is stored the same way. Use float64.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import log_ndtr

from sjax.aftershock.catalog import Catalog
from sjax.aftershock.fit import (
    _OMORI_NAMES,
    _pad_events,
    check_magnitude_cutoff,
    from_unconstrained,
    inverse_hessian_covariance,
    minimise,
)
from sjax.aftershock.likelihood import (
    AftershockParams,
    expected_detected_count_piecewise,
    log_likelihood_piecewise,
)
from sjax.aftershock.magnitudes import beta_from_b, log_detected_magnitude_integral
from sjax.aftershock.priors import omi_log_prior

__all__ = [
    "STATE_SPACE_NAMES",
    "LaplaceApproximation",
    "PiecewiseConstantMu",
    "StateSpaceResult",
    "banded_cholesky",
    "banded_cholesky_solve",
    "banded_log_det",
    "fit_state_space",
    "laplace_approximation",
    "laplace_log_marginal",
    "second_difference_matvec",
    "second_difference_precision",
    "smooth_mu",
]

#: Names of the unconstrained vector of the joint fit (`StateSpaceResult.unconstrained`).
STATE_SPACE_NAMES = _OMORI_NAMES + ("mu_shift",)

_MIN_EVENTS = 10
_LOG_2PI = math.log(2.0 * math.pi)


# ------------------------------------------------------------------------------------------
# Banded (pentadiagonal) linear algebra


def second_difference_precision(n: int, dtype=None) -> jax.Array:
    """``W = D₂ᵀD₂`` for ``n`` points in banded storage (see the module docstring).

    ``D₂`` is the ``(n−2, n)`` second-difference operator (rows ``[1, −2, 1]``), so
    ``μᵀWμ = Σ_i (μ_{i+2} − 2μ_{i+1} + μ_i)²``. For n ≥ 4 the diagonal is
    ``1, 5, 6, …, 6, 5, 1``, the first sub-diagonal ``−2, −4, …, −4, −2`` and the second ``1``.

    Args:
        n: number of points (≥ 3), static.
        dtype: float dtype (default: JAX's default float).

    Returns:
        ``(3, n)`` bands, ``bands[k, i] = W[i, i−k]`` (zero where ``i − k < 0``).

    Raises:
        ValueError: ``n < 3``.
    """
    n = int(n)
    if n < 3:
        raise ValueError(f"n={n}: the second-difference prior needs at least 3 points")
    return _event_precision_bands(n, n, dtype or jnp.result_type(float))


def second_difference_matvec(x: jax.Array) -> jax.Array:
    """``W x = D₂ᵀ(D₂ x)`` in O(n) without forming W.

    Args:
        x: ``(n,)`` vector (n ≥ 3).

    Returns:
        ``(n,)`` vector.
    """
    return _event_second_difference_matvec(x, x.shape[0])


def _event_precision_bands(n_events: jax.Array, size: int, dtype) -> jax.Array:
    """``(3, size)`` bands of the second-difference precision of the first ``n_events`` of
    ``size`` points (`second_difference_precision` of ``n_events``), zero on the trailing
    padding, which it does not couple to the events. ``n_events`` may be traced."""
    rows = (jnp.arange(size - 2) + 2 < n_events).astype(dtype)  # D₂ rows inside the events
    zero = jnp.zeros((2,), dtype)
    first = jnp.concatenate([rows, zero])  # row i starts at point i
    middle = jnp.concatenate([zero[:1], rows, zero[:1]])  # row i − 1
    last = jnp.concatenate([zero, rows])  # row i − 2
    return jnp.stack([first + 4.0 * middle + last, -2.0 * (middle + last), last])


def _event_second_difference_matvec(x: jax.Array, n_events: jax.Array) -> jax.Array:
    """``W x`` with the W of `_event_precision_bands` (zero on the trailing padding)."""
    rows = jnp.arange(x.shape[0] - 2) + 2 < n_events
    d = jnp.where(rows, x[2:] - 2.0 * x[1:-1] + x[:-2], 0.0)
    zero = jnp.zeros((2,), x.dtype)
    return (jnp.concatenate([d, zero]) - 2.0 * jnp.concatenate([zero[:1], d, zero[:1]])
            + jnp.concatenate([zero, d]))  # fmt: skip


def _chol_step(carry, a):
    l_prev, l_prev_sub, l_prev2 = carry  # L[i−1,i−1], L[i−1,i−2], L[i−2,i−2]
    a0, a1, a2 = a
    l2 = a2 / l_prev2
    l1 = (a1 - l2 * l_prev_sub) / l_prev
    l0 = jnp.sqrt(a0 - l1 * l1 - l2 * l2)
    return (l0, l1, l_prev), (l0, l1, l2)


def banded_cholesky(bands: jax.Array) -> jax.Array:
    """Cholesky factor ``A = L Lᵀ`` of a symmetric positive-definite pentadiagonal matrix.

    O(n) `jax.lax.scan` over rows; differentiable. A matrix that is not positive definite gives
    NaN entries (no error is raised inside ``jit``).

    Args:
        bands: ``(3, n)`` banded storage of ``A`` (``bands[k, i] = A[i, i−k]``).

    Returns:
        ``(3, n)`` banded storage of the lower factor (``chol[k, i] = L[i, i−k]``).
    """
    one = jnp.ones((), bands.dtype)
    _, (l0, l1, l2) = jax.lax.scan(_chol_step, (one, 0.0 * one, one), tuple(bands))
    return jnp.stack([l0, l1, l2])


def _forward(chol: jax.Array, rhs: jax.Array) -> jax.Array:
    """Solve ``L y = rhs``; ``rhs`` is ``(n,)`` or ``(n, m)``."""

    def step(carry, x):
        y1, y2 = carry  # y[i−1], y[i−2]
        l0, l1, l2, b = x
        y = (b - l1 * y1 - l2 * y2) / l0
        return (y, y1), y

    zero = jnp.zeros(rhs.shape[1:], rhs.dtype)
    _, y = jax.lax.scan(step, (zero, zero), (chol[0], chol[1], chol[2], rhs))
    return y


def _backward(chol: jax.Array, rhs: jax.Array) -> jax.Array:
    """Solve ``Lᵀ x = rhs``; ``rhs`` is ``(n,)`` or ``(n, m)``."""
    pad1 = jnp.zeros((1,), chol.dtype)
    up1 = jnp.concatenate([chol[1, 1:], pad1])  # L[i+1, i]
    up2 = jnp.concatenate([chol[2, 2:], pad1, pad1])  # L[i+2, i]

    def step(carry, x):
        x1, x2 = carry  # x[i+1], x[i+2]
        l0, u1, u2, b = x
        xi = (b - u1 * x1 - u2 * x2) / l0
        return (xi, x1), xi

    zero = jnp.zeros(rhs.shape[1:], rhs.dtype)
    _, x = jax.lax.scan(step, (zero, zero), (chol[0], up1, up2, rhs), reverse=True)
    return x


def banded_cholesky_solve(chol: jax.Array, rhs: jax.Array) -> jax.Array:
    """Solve ``A x = rhs`` given the banded Cholesky factor of ``A`` (two O(n) scans).

    Args:
        chol: ``(3, n)`` factor from `banded_cholesky`.
        rhs: ``(n,)`` or ``(n, m)`` right-hand side(s).

    Returns:
        ``x`` with the shape of ``rhs``.
    """
    return _backward(chol, _forward(chol, rhs))


def banded_log_det(chol: jax.Array) -> jax.Array:
    """``ln det A = 2 Σ_i ln L[i, i]`` from the banded Cholesky factor (scalar)."""
    return 2.0 * jnp.sum(jnp.log(chol[0]))


def _band_from_matvec(matvec, n: int, dtype) -> jax.Array:
    """Banded storage of a pentadiagonal linear map from 5 matrix–vector products.

    Columns ``j ≡ r (mod 5)`` never share a row inside the band, so ``matvec(P_r)`` with
    ``P_r = [j mod 5 == r]`` returns column j's entries in rows ``j−2 … j+2``.
    """
    idx = jnp.arange(n)
    probes = [(idx % 5 == r).astype(dtype) for r in range(5)]
    cols = jnp.stack([matvec(p) for p in probes])  # (5, n): cols[r, i] = A[i, j(i, r)]
    return jnp.stack([cols[(idx - k) % 5, idx] * (idx >= k) for k in range(3)])


# ------------------------------------------------------------------------------------------
# Mode of μ and the Laplace marginal likelihood


def _hyper(log_hyper):
    log_hyper = jnp.asarray(log_hyper)
    return jnp.exp(log_hyper[0]), jnp.exp(log_hyper[1]), jnp.exp(log_hyper[2])


def _initial_mu(magnitudes, weights, b, sigma):
    """Constant start (zero on the padding): recorded magnitudes are ``N(μ − βσ², σ²) +
    Exp(β)`` at fixed μ."""
    beta = beta_from_b(b)
    mean = jnp.sum(weights * magnitudes) / jnp.sum(weights)
    return weights * (mean + beta * sigma**2 - 1.0 / beta)


def _event_weights(magnitudes, event_weights):
    """``(n,)`` 0/1 weights (all ones by default) and the number of events they keep."""
    if event_weights is None:
        weights = jnp.ones_like(magnitudes)
    else:
        weights = jnp.broadcast_to(jnp.asarray(event_weights, magnitudes.dtype), magnitudes.shape)
    return weights, jnp.sum(weights)


class _Posterior(NamedTuple):
    """Log-posterior of μ (up to hyperparameter-only constants) and its derivatives.

    Trailing entries with ``weights`` 0 are padding: no likelihood term, no coupling to the
    events, and a standard normal prior, so that they leave the mode and the Laplace marginal
    of the events unchanged (their mode is 0 and their block of ``−H`` the identity)."""

    magnitudes: jax.Array
    weights: jax.Array
    b: jax.Array
    sigma: jax.Array
    variance: jax.Array
    magnitude_cutoff: float | None

    @property
    def n_events(self):
        return jnp.sum(self.weights)

    def prior_matvec(self, x):
        """Prior precision times ``x``: ``W x / V`` on the events, ``x`` on the padding."""
        w_x = _event_second_difference_matvec(x, self.n_events)
        return w_x / self.variance + (1.0 - self.weights) * x

    def terms(self, mu, derivatives: bool = True):
        """``ln f(M_i; μ_i)`` (= `detected_magnitude_log_density`) and, if ``derivatives``,
        its first and second derivatives in ``μ_i``, each ``(n,)``: one ``log_ndtr`` per event,
        the Mills ratio ``r = φ(z)/Φ(z)`` gives ``∂ ln Φ = −r/σ``, ``∂² ln Φ = −r(z + r)/σ²``."""
        beta = beta_from_b(self.b)
        z = (self.magnitudes - mu) / self.sigma
        log_cdf = log_ndtr(z)
        log_norm = log_detected_magnitude_integral(mu, self.b, self.sigma, 0.0,
                                                   self.magnitude_cutoff)  # fmt: skip
        value = self.weights * (jnp.log(beta) - beta * self.magnitudes + log_cdf - log_norm)
        if not derivatives:
            return value, None, None
        mills = jnp.exp(-0.5 * z * z - 0.5 * _LOG_2PI - log_cdf)
        d1 = -mills / self.sigma
        d2 = -mills * (z + mills) / self.sigma**2
        if self.magnitude_cutoff is None:  # ln G = −βμ + β²σ²/2
            return value, self.weights * (d1 + beta), self.weights * d2
        # ln G = logaddexp(edge, tail) with tail = −βμ + β²σ²/2 + ln Φ(u), u = (μ−βσ²−Mc)/σ;
        # the φ terms of dG/dμ cancel, so d ln G/dμ = −β w with w = e^{tail − ln G} and
        # d² ln G/dμ² = β² w (1 − w) − (β/σ) e^{−βμ + β²σ²/2 + ln φ(u) − ln G}.
        u = (mu - beta * self.sigma**2 - self.magnitude_cutoff) / self.sigma
        scale = -beta * mu + 0.5 * (beta * self.sigma) ** 2
        w = jnp.exp(scale + log_ndtr(u) - log_norm)
        density = jnp.exp(scale - 0.5 * u * u - 0.5 * _LOG_2PI - log_norm)
        d2 = d2 - beta**2 * w * (1.0 - w) + beta * density / self.sigma
        return value, self.weights * (d1 + beta * w), self.weights * d2

    def log_lik_terms(self, mu):
        return self.terms(mu, derivatives=False)[0]

    def value(self, mu):
        return jnp.sum(self.log_lik_terms(mu)) - 0.5 * jnp.dot(mu, self.prior_matvec(mu))

    def grad(self, mu):
        return self.terms(mu)[1] - self.prior_matvec(mu)

    def neg_hessian_bands(self, mu, min_curvature=None, curvature=None):
        h = -(self.terms(mu)[2] if curvature is None else curvature)
        if min_curvature is not None:
            h = jnp.maximum(h, min_curvature)
        w = _event_precision_bands(self.n_events, mu.shape[0], mu.dtype) / self.variance
        return w.at[0].add(self.weights * h + 1.0 - self.weights)


def _newton(
    post: _Posterior, mu0, max_iter: int, n_backtrack: int = 12, decrement_tol: float = 1e-24
):
    """Damped Newton ascent; returns ``(μ̂, iterations, max|∇|)``. Forward only.

    Stops after ``max_iter`` iterations, or after the step at which the Newton decrement
    ``∇ᵀ(−H)⁻¹∇`` was ≤ ``decrement_tol`` or the accepted step did not increase the
    log-posterior (round-off floor: for small V the gradient ``W μ / V`` carries round-off
    of order ``1e-16 |μ| / V``)."""
    alphas = 0.5 ** jnp.arange(n_backtrack, dtype=mu0.dtype)

    def cond(state):
        _, _, it, decrement, stalled = state
        return (it < max_iter) & (decrement > decrement_tol) & ~stalled

    def body(state):
        mu, value, it, _, _ = state
        _, d1, d2 = post.terms(mu)
        p_mu = post.prior_matvec(mu)
        g = d1 - p_mu
        # Exact Newton where −H is positive definite (quadratic convergence); where it is not
        # (the likelihood with a cutoff is not concave in μ everywhere), clamp the curvature.
        chol = banded_cholesky(post.neg_hessian_bands(mu, None, d2))
        clamped = banded_cholesky(post.neg_hessian_bands(mu, 1e-10, d2))
        chol = jnp.where(jnp.all(jnp.isfinite(chol)) & jnp.all(chol[0] > 0), chol, clamped)
        d = banded_cholesky_solve(chol, g)
        decrement = jnp.dot(g, d)
        # log-posterior at μ + αd for every α: the prior part is a quadratic in α.
        lik = jnp.sum(post.log_lik_terms(mu[None, :] + alphas[:, None] * d[None, :]), axis=1)
        quad = (jnp.dot(mu, p_mu) + 2.0 * alphas * jnp.dot(d, p_mu)
                + alphas**2 * jnp.dot(d, post.prior_matvec(d)))  # fmt: skip
        trials = lik - 0.5 * quad
        slack = 1e-13 * (1.0 + jnp.abs(value))
        ok = jnp.isfinite(trials) & (trials >= value + 1e-4 * alphas * decrement - slack)
        j = jnp.argmax(ok)
        alpha = jnp.where(jnp.any(ok), alphas[j], 0.0)
        new_value = jnp.where(jnp.any(ok), trials[j], value)
        return mu + alpha * d, new_value, it + 1, decrement, ~(new_value > value)

    state = (mu0, post.value(mu0), jnp.zeros((), jnp.int32), jnp.inf, jnp.zeros((), bool))
    mu, _, it, _, _ = jax.lax.while_loop(cond, body, state)
    return mu, it, jnp.max(jnp.abs(post.grad(mu)))


def _smooth(post: _Posterior, mu0, max_iter: int):
    """μ̂ with implicit differentiation (custom_root) w.r.t. the closed-over hyperparameters."""
    n = mu0.shape[0]

    frozen = post._replace(b=jax.lax.stop_gradient(post.b),
                           sigma=jax.lax.stop_gradient(post.sigma),
                           variance=jax.lax.stop_gradient(post.variance))  # fmt: skip

    def solve(_, x0):
        return _newton(frozen, x0, max_iter)[0]

    def tangent_solve(g, y):
        def solver(matvec, rhs):
            chol = banded_cholesky(-_band_from_matvec(matvec, n, rhs.dtype))
            return -banded_cholesky_solve(chol, rhs)

        return jax.lax.custom_linear_solve(g, y, solver, symmetric=True)

    return jax.lax.custom_root(post.grad, jax.lax.stop_gradient(mu0), solve, tangent_solve)


def smooth_mu(
    log_hyper: jax.Array,
    magnitudes: jax.Array,
    *,
    magnitude_cutoff: float | None = None,
    initial: jax.Array | None = None,
    max_iter: int = 50,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Posterior mode μ̂ of the event-indexed detection magnitudes given ``(b, σ, V)``.

    Maximises ``Σ_i ln f(M_i; β, μ_i, σ) − μᵀWμ/(2V)`` by Newton iterations with the
    pentadiagonal Hessian (banded Cholesky, O(n) per iteration) and backtracking (largest
    ``α ∈ {1, ½, …}`` meeting an Armijo condition); stops once a step no longer increases the
    log-posterior (the round-off floor; typically 5–10 iterations), the Newton decrement
    ``∇ᵀ(−H)⁻¹∇`` is ≤ 1e-24, or after ``max_iter`` iterations. Pure and
    jittable; differentiable in ``log_hyper`` by the implicit-function theorem
    (``dμ̂ = −H⁻¹ ∂_θ∇``), not by unrolling.

    Args:
        log_hyper: ``(3,)`` ``(ln b, ln σ, ln V)``; V is the variance of the second
            differences of μ (magnitude² per event²).
        magnitudes: ``(n,)`` recorded magnitudes in time order (n ≥ 3).
        magnitude_cutoff: optional catalogue cut Mc (static).
        initial: optional ``(n,)`` start (warm start); default a constant from the mean
            magnitude.
        max_iter: maximum Newton iterations (static).
        event_weights: optional ``(n,)`` 0/1 mask, ones then zeros: the trailing zero-weight
            entries are padding (e.g. to a fixed array size, so one compiled program serves
            catalogues of different lengths); they leave μ̂ of the events unchanged and get
            μ̂ = 0. Default None: every entry is an event.

    Returns:
        ``(n,)`` μ̂ in magnitude units.
    """
    b, sigma, variance = _hyper(log_hyper)
    weights, _ = _event_weights(magnitudes, event_weights)
    post = _Posterior(magnitudes, weights, b, sigma, variance, magnitude_cutoff)
    mu0 = _initial_mu(magnitudes, weights, b, sigma) if initial is None else jnp.asarray(initial)
    return _smooth(post, mu0, max_iter)


class LaplaceApproximation(NamedTuple):
    """Laplace approximation of the posterior of μ given ``(b, σ, V)`` (`laplace_approximation`).

    Attributes:
        log_marginal: scalar Laplace marginal log-likelihood (nats, without ``½ ln pdet W``).
        mode: ``(n,)`` posterior mode μ̂ (magnitude units).
        cholesky: ``(3, n)`` banded Cholesky factor L of the posterior precision ``−H`` at μ̂
            (so the approximate posterior is ``N(μ̂, (L Lᵀ)⁻¹)``; a draw is ``μ̂ + L⁻ᵀz``).
    """

    log_marginal: jax.Array
    mode: jax.Array
    cholesky: jax.Array


def laplace_approximation(
    log_hyper: jax.Array,
    magnitudes: jax.Array,
    *,
    magnitude_cutoff: float | None = None,
    initial: jax.Array | None = None,
    max_iter: int = 50,
    event_weights: jax.Array | None = None,
) -> LaplaceApproximation:
    """Laplace approximation at ``(b, σ, V)``: marginal log-likelihood, mode and factor.

    ``L = Σ_i ln f(M_i; μ̂_i) − (n−2)/2 ln(2πV) − μ̂ᵀWμ̂/(2V) + (n/2) ln 2π − ½ ln|−H|`` with
    μ̂ = `smooth_mu` and ``−H = diag(−∂²ln f/∂μ_i²) + W/V`` at μ̂ (log-determinant from the
    banded Cholesky, O(n)). The hyperparameter-free constant ``½ ln pdet(W)`` of the (rank
    n−2) prior is dropped. Pure and jittable; ``jax.grad`` of ``log_marginal`` in
    ``log_hyper`` is exact (autodiff, with μ̂ differentiated implicitly; AftFore uses 5-point
    numerical gradients). NaN if ``−H`` is not positive definite.

    Args:
        log_hyper: ``(3,)`` ``(ln b, ln σ, ln V)``.
        magnitudes: ``(n,)`` recorded magnitudes in time order (n ≥ 3).
        magnitude_cutoff: optional catalogue cut Mc (static).
        initial, max_iter, event_weights: as in `smooth_mu`. With padding, ``L`` is that of
            the events alone: the padding's standard normal prior, ``−(N−n)/2 ln 2π``, cancels
            its share of the Laplace term ``(N/2) ln 2π`` and its block of ``−H`` is the
            identity (exact, not approximate).

    Returns:
        `LaplaceApproximation` (mode and factor of length n, padding included).
    """
    b, sigma, variance = _hyper(log_hyper)
    weights, n = _event_weights(magnitudes, event_weights)
    post = _Posterior(magnitudes, weights, b, sigma, variance, magnitude_cutoff)
    mu0 = _initial_mu(magnitudes, weights, b, sigma) if initial is None else jnp.asarray(initial)
    mu = _smooth(post, mu0, max_iter)
    chol = banded_cholesky(post.neg_hessian_bands(mu))
    value = (post.value(mu) - 0.5 * (n - 2) * (_LOG_2PI + jnp.log(variance))
             + 0.5 * n * _LOG_2PI - 0.5 * banded_log_det(chol))  # fmt: skip
    return LaplaceApproximation(value, mu, chol)


def laplace_log_marginal(
    log_hyper: jax.Array,
    magnitudes: jax.Array,
    *,
    magnitude_cutoff: float | None = None,
    initial: jax.Array | None = None,
    max_iter: int = 50,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Laplace-approximated marginal log-likelihood of the magnitudes given ``(b, σ, V)``.

    ``L = Σ_i ln f(M_i; μ̂_i) − (n−2)/2 ln(2πV) − μ̂ᵀWμ̂/(2V) + (n/2) ln 2π − ½ ln|−H|``; see
    `laplace_approximation` (this is its ``log_marginal``). Differentiable in ``log_hyper``.

    Args:
        log_hyper: ``(3,)`` ``(ln b, ln σ, ln V)``.
        magnitudes: ``(n,)`` recorded magnitudes in time order (n ≥ 3).
        magnitude_cutoff: optional catalogue cut Mc (static).
        initial, max_iter, event_weights: as in `smooth_mu`.

    Returns:
        Scalar log marginal likelihood (nats).
    """
    return laplace_approximation(log_hyper, magnitudes, magnitude_cutoff=magnitude_cutoff,
                                 initial=initial, max_iter=max_iter,
                                 event_weights=event_weights).log_marginal  # fmt: skip


# ------------------------------------------------------------------------------------------
# Result


class PiecewiseConstantMu(NamedTuple):
    """μ(t) held constant between events (AftFore): ``μ(t) = μ_i`` for ``t_{i−1} < t ≤ t_i``,
    ``μ_1`` for ``t ≤ t_1`` and ``μ_n`` after the last event. A callable pytree, usable as
    ``mu_fn`` in `log_likelihood` / `simulate_catalog`.

    Attributes:
        event_times: ``(n,)`` sorted event times (days).
        mu_at_events: ``(n,)`` μ at the events (magnitude units).
    """

    event_times: jax.Array
    mu_at_events: jax.Array

    def __call__(self, t: jax.Array) -> jax.Array:
        index = jnp.searchsorted(self.event_times, t, side="left")
        return self.mu_at_events[jnp.minimum(index, self.mu_at_events.shape[0] - 1)]


class StateSpaceResult(NamedTuple):
    """Result of `fit_state_space`.

    Attributes:
        params: `AftershockParams` (k events/day for M ≥ Mref, c days, p, b, sigma) at the
            joint maximum-likelihood estimate.
        params_standard_errors: `AftershockParams` of natural-scale standard errors (delta
            method; for k and c prefer the log-scale ones in ``unconstrained_standard_errors``).
        mu_at_events: ``(n,)`` ``μ̂₀ + μ₁`` at the event times (magnitude units).
        mu_lower, mu_upper: ``(n,)`` pointwise 95 % band of μ at the events: 2.5 / 97.5 %
            quantiles of Laplace-posterior draws of μ̂₀ (given the fitted b, σ, V) plus the
            shift ``N(μ₁, se(μ₁)²)`` (the shift spread is left out if the Hessian is not
            positive definite).
        mu_smooth: ``(n,)`` μ̂₀, the magnitude-only posterior mode.
        event_times: ``(n,)`` event times (days since the main shock).
        smoothness_variance: V (scalar, magnitude² per event²).
        hyper_b, hyper_sigma: b and σ of the marginal-likelihood step (the joint fit
            re-estimates both).
        unconstrained_names: `STATE_SPACE_NAMES`, ``("log_k", "log_c", "p", "log_b",
            "log_sigma", "mu_shift")``.
        unconstrained: ``(6,)`` joint estimate in that order (the first five are those of
            `sjax.aftershock.fit`).
        unconstrained_covariance: ``(6, 6)`` inverse Hessian of the negative log-likelihood.
        unconstrained_standard_errors: ``(6,)`` square roots of its diagonal.
        log_likelihood: maximised `log_likelihood_piecewise` (scalar).
        log_marginal_likelihood: Laplace marginal log-likelihood at (b, σ, V) of the
            hyperparameter step (scalar, without ``½ ln pdet W``).
        grad_norm: max-norm of the per-event gradient of the joint fit at the optimum.
        converged: joint fit and hyperparameter fit reached their gradient tolerance, and the
            Hessian is positive definite.
        n_events: number of events n.
        reference_magnitude, magnitude_cutoff: as passed to `fit_state_space`.
    """

    params: AftershockParams
    params_standard_errors: AftershockParams
    mu_at_events: jax.Array
    mu_lower: jax.Array
    mu_upper: jax.Array
    mu_smooth: jax.Array
    event_times: jax.Array
    smoothness_variance: jax.Array
    hyper_b: jax.Array
    hyper_sigma: jax.Array
    unconstrained_names: tuple
    unconstrained: jax.Array
    unconstrained_covariance: jax.Array
    unconstrained_standard_errors: jax.Array
    log_likelihood: jax.Array
    log_marginal_likelihood: jax.Array
    grad_norm: jax.Array
    converged: bool
    n_events: int
    reference_magnitude: float
    magnitude_cutoff: float | None

    @property
    def mu_fn(self) -> PiecewiseConstantMu:
        """μ(t) piecewise constant between events (`PiecewiseConstantMu`); call it as
        ``result.mu_fn(t)`` or pass ``result.mu_fn`` as ``mu_fn``."""
        return PiecewiseConstantMu(self.event_times, self.mu_at_events)


# ------------------------------------------------------------------------------------------
# Fitting


@functools.partial(jax.jit, static_argnames=("magnitude_cutoff", "max_iter"))
def _hyper_objective(log_hyper, magnitudes, weights, initial, *, magnitude_cutoff, max_iter):
    """Negative Laplace marginal per event, its gradient, and the approximation (aux)."""
    n = jnp.sum(weights)

    def f(x):
        approx = laplace_approximation(x, magnitudes, magnitude_cutoff=magnitude_cutoff,
                                       initial=initial, max_iter=max_iter,
                                       event_weights=weights)  # fmt: skip
        return -approx.log_marginal / n, approx

    (value, approx), grad = jax.value_and_grad(f, has_aux=True)(log_hyper)
    return value, grad, approx


_lbfgs_direction = optax.lbfgs(linesearch=None)  # −(L-BFGS inverse-Hessian estimate)·gradient
_lbfgs_update = jax.jit(_lbfgs_direction.update)


def _fit_hyper(magnitudes, weights, log_v_grid, *, magnitude_cutoff, max_iter, max_steps, gtol,
               max_backtracking=30):  # fmt: skip
    """Maximise the Laplace marginal over ``(ln b, ln σ, ln V)``: grid in ln V (b = 1,
    σ = 0.2), then optax L-BFGS directions with an Armijo backtracking line search.

    The loop runs in Python so that the objective (one Newton solve per call) is compiled
    once (`_hyper_objective`) and reused by the grid, every trial point and the result;
    optax's L-BFGS memory uses the actual parameter and gradient differences, so an external
    line search is consistent with it. Each accepted mode warm-starts the next Newton solve.
    """
    kw = {"magnitude_cutoff": magnitude_cutoff, "max_iter": max_iter}
    dtype = magnitudes.dtype
    best = None
    start = _initial_mu(magnitudes, weights, 1.0, 0.2)
    for log_v in log_v_grid:
        x = jnp.asarray([0.0, np.log(0.2), log_v], dtype)
        value, grad, approx = _hyper_objective(x, magnitudes, weights, start, **kw)
        if np.isfinite(float(value)) and (best is None or float(value) < float(best[1])):
            best = (x, value, grad, approx)
    if best is None:
        raise ValueError("the Laplace marginal likelihood is not finite on the ln V grid")
    x, value, grad, approx = best
    opt_state = _lbfgs_direction.init(x)
    steps = 0
    while steps < max_steps and float(jnp.max(jnp.abs(grad))) > gtol:
        direction, opt_state = _lbfgs_update(grad, opt_state, x)
        slope = float(jnp.dot(grad, direction))
        if not slope < 0.0:  # not a descent direction: restart the memory, steepest descent
            opt_state = _lbfgs_direction.init(x)
            direction, opt_state = _lbfgs_update(grad, opt_state, x)
            slope = float(jnp.dot(grad, direction))
        alpha = 1.0
        for _ in range(max_backtracking):
            trial = _hyper_objective(x + alpha * direction, magnitudes, weights, approx.mode,
                                     **kw)  # fmt: skip
            if np.isfinite(float(trial[0])) and float(trial[0]) <= float(value) + 1e-4 * alpha * (
                slope
            ):
                break
            alpha *= 0.5
        else:
            break  # no decrease: at the round-off floor of the objective
        x = x + alpha * direction
        value, grad, approx = trial
        steps += 1
    return x, approx, float(jnp.max(jnp.abs(grad))), steps


def _joint_nll(z, catalog, weights, mu_smooth, reference_magnitude, magnitude_cutoff):
    params, shift = from_unconstrained(z, "constant")
    return -log_likelihood_piecewise(params, catalog, mu_smooth + shift.mu,
                                     reference_magnitude=reference_magnitude,
                                     magnitude_cutoff=magnitude_cutoff,
                                     event_weights=weights)  # fmt: skip


@functools.partial(jax.jit, static_argnames=("reference_magnitude", "magnitude_cutoff", "prior",
                                             "adam_steps", "lbfgs_steps", "learning_rate",
                                             "gtol"))  # fmt: skip
def _fit_joint(times, magnitudes, weights, start, end, mu_smooth, b0, sigma0, *,
               reference_magnitude, magnitude_cutoff, prior, adam_steps, lbfgs_steps,
               learning_rate, gtol):  # fmt: skip
    # Traced fields: the Catalog is not validated here (the padding repeats (end, M) events).
    catalog = Catalog(times, magnitudes, start, end)
    n = jnp.sum(weights)
    dtype = times.dtype
    z0 = jnp.stack([jnp.zeros((), dtype), jnp.log(jnp.asarray(0.01, dtype)),
                    jnp.asarray(1.05, dtype), jnp.log(b0), jnp.log(sigma0),
                    jnp.zeros((), dtype)])  # fmt: skip
    params0, _ = from_unconstrained(z0, "constant")
    expected = expected_detected_count_piecewise(params0, catalog, mu_smooth,
                                                 reference_magnitude=reference_magnitude,
                                                 magnitude_cutoff=magnitude_cutoff,
                                                 event_weights=weights)  # fmt: skip
    z0 = z0.at[0].set(jnp.log(n) - jnp.log(expected))

    def total(z):  # negative log-posterior (log-likelihood alone without the prior)
        nll = _joint_nll(z, catalog, weights, mu_smooth, reference_magnitude, magnitude_cutoff)
        return nll - omi_log_prior(z) if prior else nll

    def objective(z):
        return total(z) / n

    state = minimise(objective, z0, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps,
                     learning_rate=learning_rate, gtol=gtol)  # fmt: skip
    z = state.z
    log_lik = -_joint_nll(z, catalog, weights, mu_smooth, reference_magnitude, magnitude_cutoff)
    return z, log_lik, jnp.max(jnp.abs(state.grad)), jax.hessian(total)(z), state.count


@functools.partial(jax.jit, static_argnames=("n_samples",))
def _band_samples(key, mu_smooth, chol, shift, shift_se, n_samples):
    """``(n, n_samples)`` draws of ``μ̂₀ + L⁻ᵀz + μ₁``, ``μ₁ ~ N(shift, shift_se²)``."""
    key_mu, key_shift = jax.random.split(key)
    n = mu_smooth.shape[0]
    z = jax.random.normal(key_mu, (n, n_samples), mu_smooth.dtype)
    shifts = shift + shift_se * jax.random.normal(key_shift, (n_samples,), mu_smooth.dtype)
    return mu_smooth[:, None] + _backward(chol, z) + shifts[None, :]


def fit_state_space(
    catalog: Catalog,
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    key: jax.Array | None = None,
    n_band_samples: int = 1000,
    prior: bool = True,
    log_variance_grid: tuple[float, ...] = tuple(np.linspace(-24.0, -4.0, 9)),
    max_newton_iter: int = 50,
    hyper_steps: int = 100,
    hyper_gtol: float = 1e-5,
    adam_steps: int = 0,
    lbfgs_steps: int = 500,
    learning_rate: float = 0.02,
    gtol: float = 1e-7,
) -> StateSpaceResult:
    """Omi et al. (AftFore) state-space fit: smooth μ̂₀ by marginal likelihood, then the
    joint Omori–Utsu / GR / detection fit with ``μ(t_i) = μ̂₀_i + μ₁``.

    See the module docstring for the algorithm.

    Args:
        catalog: `Catalog` of recorded events (sorted; its window is the observation window).
        reference_magnitude: Mref, the magnitude ``k`` refers to.
        magnitude_cutoff: catalogue cut Mc (every magnitude must be ≥ Mc), or None.
        key: `jax.random` key for the μ band samples (default ``jax.random.key(0)``).
        n_band_samples: Laplace-posterior samples of μ for the 95 % band.
        prior: include AftFore's generic priors (`sjax.aftershock.priors.OMI_GENERIC_PRIOR`)
            in the joint fit, which then is a MAP estimate with Laplace (inverse-Hessian)
            covariance, as in AftFore.
            Without them, fits to the first hours can run to σ → 0 or p ≫ 1.
        log_variance_grid: ``ln V`` values searched (with b = 1, σ = 0.2) for the start of
            the hyperparameter optimisation.
        max_newton_iter: Newton iterations cap for μ̂ (`smooth_mu`).
        hyper_steps, hyper_gtol: L-BFGS steps cap and per-event gradient tolerance of the
            marginal-likelihood maximisation over ``(ln b, ln σ, ln V)``.
        adam_steps, lbfgs_steps, learning_rate, gtol: joint fit, as in `sjax.aftershock.fit`,
            except that ``adam_steps`` defaults to 0 (L-BFGS only): the start (μ̂₀; b, σ from
            the marginal step; k matching the recorded count; c = 0.01 day, p = 1.05) is close,
            and each optimiser stage adds compile time.

    Returns:
        `StateSpaceResult`.

    Raises:
        TypeError: ``catalog`` is not a `Catalog`.
        ValueError: fewer than 10 events, magnitudes below ``magnitude_cutoff``, or
            ``n_band_samples < 2``.
    """
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a sjax.aftershock.Catalog, got {type(catalog).__name__}")
    n = catalog.n_events
    if n < _MIN_EVENTS:
        raise ValueError(
            f"catalogue has {n} events: the state-space model needs at least {_MIN_EVENTS}"
        )
    magnitude_cutoff = check_magnitude_cutoff(catalog, magnitude_cutoff)
    if int(n_band_samples) < 2:
        raise ValueError(f"n_band_samples={n_band_samples} must be >= 2")
    reference_magnitude = float(reference_magnitude)
    key = jax.random.key(0) if key is None else key
    # every array padded to a size bucket: one compiled program serves nearby catalogue sizes
    times, mags, weights = _pad_events(catalog)

    log_hyper, approx, hyper_grad, _ = _fit_hyper(
        mags, weights, np.asarray(log_variance_grid, float), magnitude_cutoff=magnitude_cutoff,
        max_iter=int(max_newton_iter), max_steps=int(hyper_steps), gtol=float(hyper_gtol),
    )  # fmt: skip
    b_hyper, sigma_hyper, variance = _hyper(log_hyper)
    marginal, mu_padded, chol = approx

    z, ll, grad_norm, hessian, _ = _fit_joint(
        times, mags, weights, catalog.start, catalog.end, mu_padded, b_hyper, sigma_hyper,
        reference_magnitude=reference_magnitude, magnitude_cutoff=magnitude_cutoff,
        prior=bool(prior), adam_steps=int(adam_steps), lbfgs_steps=int(lbfgs_steps),
        learning_rate=float(learning_rate), gtol=float(gtol),
    )  # fmt: skip
    cov_z, positive = inverse_hessian_covariance(hessian)
    se_z = np.sqrt(np.diag(cov_z))
    params, shift = from_unconstrained(z, "constant")
    natural_se = [float(params.k) * se_z[0], float(params.c) * se_z[1], se_z[2],
                  float(params.b) * se_z[3], float(params.sigma) * se_z[4]]  # fmt: skip
    shift_se = se_z[5] if np.isfinite(se_z[5]) else 0.0  # no covariance: band without μ₁ spread
    samples = _band_samples(key, mu_padded, chol, shift.mu, jnp.asarray(shift_se, mags.dtype),
                            int(n_band_samples))  # fmt: skip
    lower, upper = np.quantile(np.asarray(samples)[:n], [0.025, 0.975], axis=1)
    mu_smooth = mu_padded[:n]
    converged = (
        positive
        and float(grad_norm) <= gtol
        and float(hyper_grad) <= hyper_gtol
        and bool(np.isfinite(float(ll)))
        and bool(np.isfinite(float(marginal)))
    )
    return StateSpaceResult(
        params=params,
        params_standard_errors=AftershockParams(*(jnp.asarray(s) for s in natural_se)),
        mu_at_events=mu_smooth + shift.mu,
        mu_lower=jnp.asarray(lower),
        mu_upper=jnp.asarray(upper),
        mu_smooth=mu_smooth,
        event_times=catalog.times,
        smoothness_variance=variance,
        hyper_b=b_hyper,
        hyper_sigma=sigma_hyper,
        unconstrained_names=STATE_SPACE_NAMES,
        unconstrained=z,
        unconstrained_covariance=jnp.asarray(cov_z),
        unconstrained_standard_errors=jnp.asarray(se_z),
        log_likelihood=ll,
        log_marginal_likelihood=marginal,
        grad_norm=grad_norm,
        converged=converged,
        n_events=n,
        reference_magnitude=reference_magnitude,
        magnitude_cutoff=magnitude_cutoff,
    )
