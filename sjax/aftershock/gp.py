"""Gaussian-process detection magnitude μ(t): exact and composite-likelihood fits.

Model (Ogata & Katsura 1993, GJI 113:727; Omi et al. 2013, BSSA 103:1116; Morikawa et al. 2021, GJI
226:1018). Recorded events follow ``k (t+c)^(−p) β e^{−β(M−Mref)}
Φ((M − μ(t))/σ)`` with μ piecewise constant between events (AftFore convention, see
`log_likelihood_piecewise`) and

    μ(t_i) = m(x_i) + f(x_i),   x = ln(1 + t/t0) (`log_time`),   m(x) = mu_mean + mu_slope · x,
    f ~ GP(0, kernel(amplitude, lengthscale)).

The log-likelihood separates over events: event i contributes
``a_i(θ) + g_i(μ_i)`` with ``a_i = ln k − p ln(t_i + c) + ln β − β(M_i − Mref)`` and the
*site* ``g_i(μ) = ln Φ((M_i − μ)/σ) − Λ_i e^{G(μ)}`` (``Λ_i`` the Omori count of the interval
before event i, ``G`` the closed-form magnitude integral). Each site is log-concave; its
Laplace approximation is a Gaussian pseudo-observation ``y_i ~ N(μ_i, v_i)`` (mode ``y_i``,
``v_i = −1/g_i''(y_i)``: `event_sites`). Integrating μ out then has closed form: since
the GP prior and the site are both exponentials of quadratics,

    ln p(data | θ, ψ) ≈ Σ_i [a_i + g_i(y_i) + ½ ln(2π v_i)] + ln N(y; m, K + V).

* **Exact** (`exact_log_marginal`): the n-dimensional Gaussian term by Cholesky, O(n³).
* **Composite** (`composite_log_marginal`): the Gaussian term replaced by the pairwise
  composite likelihood ``(1/(n−1)) Σ_{i<j} ln N₂((y_i, y_j); (m_i, m_j), K₂ + V₂)`` (each
  event's marginal counted once), O(n²) with no factorisation; the pair sum runs over row
  blocks (bounded memory) and shards over devices (``mesh``).

**Known bias of the composite.** Each pair term treats ``(y_i, y_j)`` as a draw from
``N₂(m, K₂ + V₂)``, but the pseudo-data are expansions of likelihood factors, not sampling
draws. For an event well above μ (``ln Φ ≈ 0``) the site is ``−Λ_i e^{G(μ)}`` with
``G ≈ const − βμ``, whose Newton step from any centre is ``1/β``: the data set the weight
``1/v_i`` but hardly the position ``y_i``. At the true parameters the residuals therefore
scatter less than the model says (mean ``r_i²/(k_ii + v_i)`` = 0.51–0.72 on four catalogues
simulated from this model, n = 429–683, amplitude 0.2, ``v ≈ 0.25`` mag²), and the marginal
parts of the pairs, which dominate the O(n²) sum, pull the GP amplitude down. The exact term is
a Laplace approximation of the likelihood, not a model for the pseudo-data, and is not pulled
the same way. At a few hundred events the amplitude is also weakly identified: on the 307-event
catalogue of `benchmarks/aftershock_nuts.py` the exact-GP NUTS posterior of ln amplitude has
mean −1.61 and sd 0.85 (prior: −1.61 and 1); the exact Laplace mode is −2.31 and the composite
−3.06, and on a 683-event simulated catalogue the exact Laplace fit itself is 2.2 standard
errors below the true amplitude. The Godambe bootstrap draws μ with the fitted amplitude, and
the composite's standard errors of μ's mean line are narrow with it (0.35–0.38 of the NUTS sd;
exact Laplace 0.55). The Omori/GR parameters and σ are not affected (within 0.7 NUTS sd, widths
0.82–1.5). Tried without removing the bias: exact (all-event) centring (estimates move < 0.02),
32-node Gauss–Hermite per-event marginals (< 0.04), a Vecchia conditional composite at 32
neighbours, block composites (pairs of blocks of 16–77 events, independent blocks of n/4–n/2
events: ln amplitude −2.5 to −3.0 against the exact −2.31), full-weight dependence-only pair
terms (degenerate) and a bootstrap correction of the score's bias (the expected score at the fit
is ≈ 0: below amplitude ≈ 0.2 the composite barely responds to the amplitude, so there is no
bias to measure from the fit).

Both include the same weak prior (`log_prior`): broad normals (sd 10) on the unconstrained
Omori/GR/mean parameters, AftFore's log-normal prior on σ (median 0.2, sd 1 in ln σ; real
catalogues with binned magnitudes otherwise run to σ → 0) and log-normal priors on the GP
amplitude (median 0.2) and length scale (median 1 log-time unit), which keep the
hyperparameters off the boundaries.

`fit_gp` maximises either with optax (Adam then L-BFGS). Uncertainty: the exact fit uses the
inverse Hessian (Laplace). The composite objective is not a likelihood, so its inverse Hessian
is over-confident; the composite fit reports the **curvature-adjusted composite posterior**
(`adjusted_composite_posterior`; Pauli et al. 2011, Ribatet et al. 2012): the composite
log-likelihood is replaced by the quadratic with its Godambe information ``H_c J⁻¹ H_c``
(``H_c`` its Hessian, ``J`` the variance of its score, estimated by a parametric bootstrap of
catalogues simulated from the fit with μ(t) drawn from the fitted GP), and multiplied by the
prior. Against the exact-GP NUTS posterior on 307 events (`benchmarks/aftershock_nuts.py`)
this puts eight of nine parameters within 1 posterior sd (log amplitude ≈ 1.7 sd low) with
standard errors at least 0.7 of the posterior sd for six of nine; the plain sandwich
``H⁻¹JH⁻¹`` of the penalised objective was 3–11× too narrow for the μ mean line and the
hyperparameters (its ``H`` holds the prior's curvature, its ``J`` not).
μ(t) itself is summarised by GP regression on the site pseudo-data
(`mu_posterior`), exact or from the ``neighbours`` nearest events in log time.

The unconstrained vector (`GP_NAMES`) is ``log_k, log_c, p, log_b, log_sigma, mu_mean,
mu_slope, log_mu_amplitude, log_mu_lengthscale``; the first five are shared with every other
fit in `sjax.aftershock` (the forecasting module draws from them). Use float64.
"""

from __future__ import annotations

import functools
import math
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from sjax._threads import single_blas_thread
from sjax.aftershock.catalog import Catalog
from sjax.aftershock.fit import (
    check_magnitude_cutoff,
    initial_unconstrained,
    inverse_hessian_covariance,
    minimise,
)
from sjax.aftershock.kernels import KERNELS, kernel_matrix, log_time
from sjax.aftershock.likelihood import AftershockParams
from sjax.aftershock.magnitudes import (
    detection_log_probability,
    gutenberg_richter_log_density,
    log_detected_magnitude_integral,
)
from sjax.aftershock.omori import omori_integral, omori_log_rate
from sjax.shard import AXIS

__all__ = [
    "GP_NAMES",
    "EventData",
    "GPConfig",
    "GPFitResult",
    "GPMuPath",
    "adjusted_composite_posterior",
    "composite_log_marginal",
    "draw_gp_mu",
    "event_data",
    "event_sites",
    "exact_log_marginal",
    "fit_gp",
    "gp_regression_mean",
    "log_prior",
    "mu_band",
    "mu_posterior",
    "pair_log_density_sum",
    "unpack",
]

GP_NAMES = (
    "log_k",
    "log_c",
    "p",
    "log_b",
    "log_sigma",
    "mu_mean",
    "mu_slope",
    "log_mu_amplitude",
    "log_mu_lengthscale",
)
NATURAL_NAMES = (
    "k",
    "c",
    "p",
    "b",
    "sigma",
    "mu_mean",
    "mu_slope",
    "mu_amplitude",
    "mu_lengthscale",
)
_LOG_SCALE = np.array([1, 1, 0, 1, 1, 0, 0, 1, 1], dtype=bool)

# Prior (see the module docstring): (mean, sd) per unconstrained entry.
_PRIOR_MEAN = np.array([0.0, 0.0, 0.0, 0.0, math.log(0.2), 0.0, 0.0, math.log(0.2), 0.0])
_PRIOR_SD = np.array([10.0, 10.0, 10.0, 10.0, 1.0, 10.0, 10.0, 1.0, 1.0])
_NEWTON_STEPS = 20  # per-event Newton steps towards the marginal-prior mode
_JOINT_STEPS = 6  # then joint (GP-regression) Newton steps
_PADDING_VARIANCE = 1e6  # site variance of padded events: no influence on the GP
_MAX_SITE_VARIANCE = 100.0  # mag²: caps flat or locally convex sites (near a cutoff)
_NEWTON_MAX_STEP = 0.5  # magnitude units per undamped Newton step
_MIN_BOOTSTRAP = len(GP_NAMES) + 1  # score samples for a positive-definite Godambe J


class GPConfig(NamedTuple):
    """Static settings of the GP model (hashable; pass to the jitted functions as static).

    Attributes:
        reference_magnitude: Mref (magnitude the productivity ``k`` refers to).
        magnitude_cutoff: catalogue cut Mc or None.
        kernel: ``"squared_exponential"`` or ``"matern52"``.
        time_offset: ``t0`` of the log-time coordinate, days.
    """

    reference_magnitude: float
    magnitude_cutoff: float | None = None
    kernel: str = "squared_exponential"
    time_offset: float = 1e-3


class EventData(NamedTuple):
    """Event arrays padded to a fixed size (padding has weight 0), shapes ``(N,)``.

    ``lower``/``upper`` bound the interval before each event; the last real event also owns
    ``(extra_lower, extra_upper) = (t_n, T]`` (zero-length elsewhere). Padded events sit at
    the window end with zero-length intervals.
    """

    times: jax.Array
    magnitudes: jax.Array
    weights: jax.Array
    lower: jax.Array
    upper: jax.Array
    extra_lower: jax.Array
    extra_upper: jax.Array


def event_data(catalog: Catalog, size: int | None = None) -> EventData:
    """`EventData` of a `Catalog`, padded to ``size`` (default: no padding).

    Raises:
        ValueError: ``size`` smaller than the number of events.
    """
    times = np.asarray(catalog.times, dtype=float)
    mags = np.asarray(catalog.magnitudes, dtype=float)
    start, end = float(catalog.start), float(catalog.end)
    n = times.size
    size = n if size is None else int(size)
    if size < n:
        raise ValueError(f"size={size} is smaller than the number of events ({n})")
    pad = size - n
    weights = np.concatenate([np.ones(n), np.zeros(pad)])
    lower = np.concatenate([[start], times[:-1], np.full(pad, end)])
    upper = np.concatenate([times, np.full(pad, end)])
    extra_lower = np.full(size, end)
    extra_lower[n - 1] = times[-1]
    extra_upper = np.full(size, end)
    times = np.concatenate([times, np.full(pad, end)])
    mags = np.concatenate([mags, np.full(pad, mags[-1])])
    return EventData(
        *(jnp.asarray(a) for a in (times, mags, weights, lower, upper, extra_lower, extra_upper))
    )


def unpack(z: jax.Array, kernel: str = "squared_exponential"):
    """Unconstrained ``(9,)`` vector -> ``(AftershockParams, (mu_mean, mu_slope), kernel)``."""
    params = AftershockParams(jnp.exp(z[0]), jnp.exp(z[1]), z[2], jnp.exp(z[3]), jnp.exp(z[4]))
    return params, (z[5], z[6]), KERNELS[kernel](jnp.exp(z[7]), jnp.exp(z[8]))


def natural(z: jax.Array) -> jax.Array:
    """Natural-scale ``(9,)`` vector (`NATURAL_NAMES`) from the unconstrained one."""
    return jnp.where(jnp.asarray(_LOG_SCALE), jnp.exp(z), z)


def log_prior(z: jax.Array) -> jax.Array:
    """Log-density of the weak prior on the unconstrained vector (see the module docstring)."""
    r = (z - _PRIOR_MEAN) / _PRIOR_SD
    return -0.5 * jnp.sum(r * r) - jnp.sum(jnp.log(_PRIOR_SD)) - 4.5 * math.log(2 * math.pi)


def _event_terms(params, data, config):
    """``a_i`` and exposures ``Λ_i`` (events of zero weight get exposure 1, a dummy)."""
    a = omori_log_rate(data.times, params.k, params.c, params.p) + gutenberg_richter_log_density(
        data.magnitudes, params.b, config.reference_magnitude
    )
    exposure = omori_integral(data.lower, data.upper, params.k, params.c, params.p)
    exposure += omori_integral(data.extra_lower, data.extra_upper, params.k, params.c, params.p)
    return a, jnp.where(data.weights > 0, exposure, 1.0)


def _site(mu, magnitude, exposure, params, config):
    log_g = log_detected_magnitude_integral(
        mu, params.b, params.sigma, config.reference_magnitude, config.magnitude_cutoff
    )
    return detection_log_probability(magnitude, mu, params.sigma) - exposure * jnp.exp(log_g)


def _site_derivatives(params, data, config):
    """Vectorised ``(g, g', g'')`` of the sites in μ (exposures fixed by ``params``)."""
    a, exposure = _event_terms(params, data, config)

    def site(mu, m, e):
        return _site(mu, m, e, params, config)

    d0 = jax.vmap(site)
    d1 = jax.vmap(jax.grad(site))
    d2 = jax.vmap(jax.grad(jax.grad(site)))
    return a, lambda mu: (
        d0(mu, data.magnitudes, exposure),
        d1(mu, data.magnitudes, exposure),
        d2(mu, data.magnitudes, exposure),
    )


def _expand(derivs, centre, weights):
    """Second-order expansion of the sites about ``centre``: pseudo-data and variances."""
    g0, g1, g2 = derivs(centre)
    precision = jnp.maximum(-g2, 1.0 / _MAX_SITE_VARIANCE)
    variance = jnp.where(weights > 0, 1.0 / precision, _PADDING_VARIANCE)
    return centre + g1 / precision, g0 + 0.5 * g1**2 / precision, variance


def local_gp_mean(
    x, r, v, kernel, neighbours: int | None, n_valid=None, *, sequential: bool = False
):
    """GP-regression mean of f at the inputs ``x`` from noisy data ``r = f(x) + N(0, v)``.

    Exact (``neighbours=None``: ``K (K + V)⁻¹ r``, O(n³)) or block-local: for ``x`` sorted,
    the events are cut into consecutive blocks of ``neighbours`` and each block is regressed
    on a window of ``2 · neighbours`` consecutive events around it (a halo of
    ``neighbours / 2`` on each side): O(n · neighbours²) in a few large batched solves.

    Args:
        x: ``(n,)`` sorted inputs; r: ``(n,)`` data; v: ``(n,)`` noise variances.
        kernel: covariance kernel; neighbours: block size (must divide n) or None.
        n_valid: number of leading entries that are real events (the rest is padding, which
            windows never reach into); default all.
        sequential: factorise the windows one at a time (``lax.map``) instead of as one
            batched Cholesky. Same values. Used inside multi-device CPU programs, where every
            device runs this replicated: jaxlib's batched LAPACK kernels then split their
            batch onto the intra-op thread pool that runs the devices, and with all pool
            threads waiting on their own batches the program deadlocks (seen with 8 forced
            CPU devices on 2 cores).

    Returns:
        ``(n,)`` posterior mean of f.
    """
    n = x.shape[0]
    if neighbours is None or 2 * neighbours >= n:
        return gp_regression_mean(kernel, x, x, r, v)
    if n % neighbours:
        raise ValueError(f"neighbours={neighbours} must divide the number of events ({n})")
    width = 2 * neighbours
    last = n - width if n_valid is None else jnp.maximum(n_valid - width, 0)
    starts = jnp.clip(jnp.arange(0, n, neighbours) - neighbours // 2, 0, last)
    window = starts[:, None] + jnp.arange(width)[None, :]
    core = jnp.arange(n).reshape(-1, neighbours)

    def one(xq, xs, rs, vs):
        return gp_regression_mean(kernel, xq, xs, rs, vs)

    blocks = (x[core], x[window], r[window], v[window])
    if sequential:
        return jax.lax.map(lambda b: one(*b), blocks).reshape(n)
    return jax.vmap(one)(*blocks).reshape(n)


@jax.custom_vjp
def gp_regression_mean(kernel, x_query, x_data, r, v):
    """``K(x_query, x_data) (K(x_data, x_data) + diag(v))⁻¹ r``: a GP-regression mean.

    Reverse-mode differentiable in every argument with a hand-written VJP that reuses the
    forward Cholesky factor (two triangular-solve pairs instead of differentiating the
    factorisation, several times faster on CPU). Reverse mode only (no ``jvp``).

    Args:
        kernel: covariance kernel (pytree); x_query: ``(q,)``; x_data, r, v: ``(w,)`` inputs,
            data and noise variances.

    Returns:
        ``(q,)`` posterior mean.
    """
    return _regression_forward(kernel, x_query, x_data, r, v)[0]


def _regression_forward(kernel, x_query, x_data, r, v):
    chol = jnp.linalg.cholesky(kernel_matrix(kernel, x_data, x_data) + jnp.diag(v))
    alpha = jax.scipy.linalg.cho_solve((chol, True), r)
    return kernel_matrix(kernel, x_query, x_data) @ alpha, (kernel, x_query, x_data, chol, alpha)


def _regression_matrices(kernel, x_query, x_data):
    return kernel_matrix(kernel, x_query, x_data), kernel_matrix(kernel, x_data, x_data)


def _regression_backward(residuals, g):
    # mean = K_qd A⁻¹ r, A = K_dd + diag(v):  r̄ = β,  K̄_qd = g αᵀ,  Ā = −β αᵀ  (β = A⁻¹ K_qdᵀ g).
    kernel, x_query, x_data, chol, alpha = residuals
    (k_qd, _), pullback = jax.vjp(_regression_matrices, kernel, x_query, x_data)
    beta = jax.scipy.linalg.cho_solve((chol, True), k_qd.T @ g)
    kernel_bar, xq_bar, xd_bar = pullback((g[:, None] * alpha[None, :], -beta[:, None] * alpha))
    return kernel_bar, xq_bar, xd_bar, beta, -beta * alpha


gp_regression_mean.defvjp(_regression_forward, _regression_backward)


@functools.partial(jax.jit, static_argnames=("config", "neighbours", "sequential"))
def event_sites(
    z: jax.Array,
    data: EventData,
    config: GPConfig,
    neighbours: int | None = 32,
    *,
    sequential: bool = False,
):
    """Gaussian pseudo-observations of μ at the events, expanded about the posterior mode.

    Each site ``g_i(μ) = ln Φ((M_i − μ)/σ) − Λ_i e^{G(μ)}`` is expanded to second order about
    ``c_i``: ``g_i(μ) ≈ g_i(c_i) + g_i'²/(2W_i) − W_i(μ − y_i)²/2`` with ``W_i = −g_i''(c_i)``
    and ``y_i = c_i + g_i'(c_i)/W_i``, a pseudo-observation ``y_i ~ N(μ_i, 1/W_i)``. The
    centres ``c`` are the mode of ``Σ g_i(μ_i) + ln N(μ; m, K)``, found by Newton's method,
    whose step is GP regression of the pseudo-data: ``c ← m + K(K + W⁻¹)⁻¹(y − m)``
    (`local_gp_mean`; exact or from ``neighbours`` consecutive events). With the exact
    regression this is the classical Laplace approximation of the latent GP (Rasmussen &
    Williams 2006, §3.4).

    Iterations start from each site's mode under the GP's marginal prior and run under
    ``stop_gradient`` (20 per-event then 6 joint steps, changes clipped to ±0.5); two
    further steps carry gradients, so derivatives of the centres are those of the fixed
    point (implicit-function theorem) without differentiating the loop.

    Args:
        z: ``(9,)`` unconstrained parameters (`GP_NAMES`); data: `EventData`; config:
            `GPConfig`; neighbours: regression window (None: exact, O(n³)).
        sequential: one window factorisation at a time (`local_gp_mean`; for multi-device
            CPU programs).

    Returns:
        ``(a, residual, log_site, variance, x, kernel)``: ``(N,)`` arrays ``a_i``,
        ``y_i − m_i``, ``g_i(c_i) + g_i'²/(2W_i)``, ``1/W_i`` (padding: 1e6), the log-time
        inputs ``x`` and the kernel.
    """
    x = log_time(data.times, config.time_offset)

    def model(z):
        params, (mean0, slope), kernel = unpack(z, config.kernel)
        a, derivs = _site_derivatives(params, data, config)
        return a, derivs, mean0 + slope * x, kernel

    def joint_step(c, derivs, mean, kernel, clip):
        y, _, v = _expand(derivs, c, data.weights)
        new = mean + local_gp_mean(
            x, y - mean, v, kernel, neighbours, jnp.sum(data.weights > 0), sequential=sequential
        )
        return c + jnp.clip(new - c, -_NEWTON_MAX_STEP, _NEWTON_MAX_STEP) if clip else new

    def centres(z):  # the Newton loops, on constants only (no derivatives through them)
        _, derivs, mean, kernel = model(z)
        prior_var = kernel.amplitude**2

        def marginal_step(_, c):  # Newton on g_i(μ) + ln N(μ; m_i, s²), event by event
            _, g1, g2 = derivs(c)
            step = -(g1 - (c - mean) / prior_var) / (g2 - 1.0 / prior_var)
            return c + jnp.clip(step, -_NEWTON_MAX_STEP, _NEWTON_MAX_STEP)

        c = jax.lax.fori_loop(0, _NEWTON_STEPS, marginal_step, mean)
        return jax.lax.fori_loop(
            0, _JOINT_STEPS, lambda _, c: joint_step(c, derivs, mean, kernel, True), c
        )

    c = centres(jax.lax.stop_gradient(z))
    a, derivs, mean, kernel = model(z)
    for _ in range(2):
        c = joint_step(c, derivs, mean, kernel, False)
    y, log_site, v = _expand(derivs, c, data.weights)
    return a, y - mean, log_site, v, x, kernel


def _site_sum(a, log_site, v, weights):
    return jnp.sum(weights * (a + log_site + 0.5 * jnp.log(2 * math.pi * v)))


@functools.partial(jax.jit, static_argnames=("config",))
def exact_log_marginal(z: jax.Array, data: EventData, config: GPConfig) -> jax.Array:
    """Site-Laplace log marginal likelihood with the exact n-dimensional GP term, + `log_prior`.

    O(n³) (Cholesky of ``K + V``). ``data`` must not be padded (all weights 1).

    Args:
        z: ``(9,)`` unconstrained parameters (`GP_NAMES`).
        data: `EventData` ``(n,)``.
        config: `GPConfig` (static).

    Returns:
        Scalar log marginal likelihood + log prior.
    """
    a, r, log_site, v, x, kernel = event_sites(z, data, config, neighbours=None)
    site_sum = _site_sum(a, log_site, v, data.weights)
    cov = kernel_matrix(kernel, x, x) + jnp.diag(v)
    chol = jnp.linalg.cholesky(cov)
    white = jax.scipy.linalg.solve_triangular(chol, r, lower=True)
    gauss = (
        -0.5 * jnp.sum(white**2)
        - jnp.sum(jnp.log(jnp.diag(chol)))
        - 0.5 * r.shape[0] * math.log(2 * math.pi)
    )
    return site_sum + gauss + log_prior(z)


@functools.partial(jax.jit, static_argnames=("block_size", "mesh"))
def pair_log_density_sum(x, r, v, w, kernel, *, block_size: int = 256, mesh=None) -> jax.Array:
    """``Σ_{i<j} w_i w_j ln N₂((r_i, r_j); 0, [[k_ii+v_i, k_ij], [k_ij, k_jj+v_j]])``.

    O(N²) time, O(block_size²) memory per step (gradients included): the events are cut into
    blocks of ``block_size`` and the sum runs over the upper-triangular block pairs with
    ``lax.map``.
    With a ``mesh`` (1-D, axis ``"batch"``, `sjax.shard.batch_mesh`) the block pairs are split
    over its devices with ``shard_map`` and the partial sums added with ``psum``: the same
    value as on one device up to summation order.

    Args:
        x: ``(N,)`` log-time inputs; r: ``(N,)`` residuals ``y − m``; v: ``(N,)`` site
            variances; w: ``(N,)`` event weights (0 for padding). ``N`` must be a multiple of
            ``block_size``.
        kernel: a kernel from `sjax.aftershock.kernels`.

    Returns:
        Scalar sum.
    """
    n = x.shape[0]
    if n % block_size:
        raise ValueError(
            f"{n} events is not a multiple of block_size={block_size}; pad with "
            "event_data(catalog, size=...)"
        )
    n_devices = 1 if mesh is None else mesh.devices.size
    first, second = np.triu_indices(n // block_size)
    valid = np.ones(first.size)
    extra = -first.size % n_devices  # pad the pair list so it splits evenly over devices
    first, second = np.pad(first, (0, extra)), np.pad(second, (0, extra))
    valid = np.pad(valid, (0, extra))
    index = jnp.arange(n).reshape(-1, block_size)
    s = (kernel(x, x) + v).reshape(-1, block_size)
    x, r, w = (t.reshape(-1, block_size) for t in (x, r, w))
    rows = tuple(t[first] for t in (index, x, r, s, w))
    cols = tuple(t[second] for t in (index, x, r, s, w))

    def block_sum(args):
        (i, xi, ri, si, wi), (j, xj, rj, sj, wj), ok = args
        c = kernel(xi[:, None], xj[None, :])
        det = si[:, None] * sj[None, :] - c * c
        mask = (j[None, :] > i[:, None]) & (wi[:, None] * wj[None, :] * ok > 0)
        det = jnp.where(mask, det, 1.0)
        quad = (
            sj[None, :] * ri[:, None] ** 2
            - 2.0 * c * ri[:, None] * rj[None, :]
            + si[:, None] * rj[None, :] ** 2
        ) / det
        lp = -math.log(2 * math.pi) - 0.5 * jnp.log(det) - 0.5 * quad
        return jnp.sum(jnp.where(mask, lp, 0.0))

    def local_sum(rows, cols, ok):
        # Rematerialised: the reverse pass recomputes each block, so memory stays O(block²).
        return jnp.sum(jax.lax.map(jax.checkpoint(block_sum), (rows, cols, ok)))

    ok = jnp.asarray(valid, x.dtype)
    if mesh is None:
        return local_sum(rows, cols, ok)
    spec = PartitionSpec(AXIS)
    sharded = jax.shard_map(
        lambda *a: jax.lax.psum(local_sum(*a), AXIS),
        mesh=mesh,
        in_specs=(spec, spec, spec),
        out_specs=PartitionSpec(),
        check_vma=False,
    )
    return sharded(rows, cols, ok)


@functools.partial(jax.jit, static_argnames=("config", "neighbours", "block_size", "mesh"))
def composite_log_marginal(
    z: jax.Array,
    data: EventData,
    config: GPConfig,
    *,
    neighbours: int = 32,
    block_size: int = 256,
    mesh=None,
) -> jax.Array:
    """Site-Laplace marginal with the pairwise composite GP term, + `log_prior`. O(N²).

    ``Σ_i w_i [a_i + g_i(y_i) + ½ ln 2πv_i] + (1/(n−1)) Σ_{i<j} ln N₂(...)`` with
    ``n = Σ w_i`` (see the module docstring). Pure; ``jit``/``grad``-able; sharded over
    ``mesh`` when given (`pair_log_density_sum`).

    Args:
        z: ``(9,)`` unconstrained parameters (`GP_NAMES`).
        data: `EventData` ``(N,)``, N a multiple of ``block_size``.
        config: `GPConfig`.

    Returns:
        Scalar composite log marginal likelihood + log prior.
    """
    # Sharded, the sites are computed replicated on every device: factorise one window at a
    # time there (`local_gp_mean`: batched LAPACK calls deadlock the multi-device CPU runtime).
    a, r, log_site, v, x, kernel = event_sites(
        z, data, config, neighbours=neighbours, sequential=mesh is not None
    )
    site_sum = _site_sum(a, log_site, v, data.weights)
    pairs = pair_log_density_sum(x, r, v, data.weights, kernel, block_size=block_size, mesh=mesh)
    n = jnp.sum(data.weights)
    return site_sum + pairs / (n - 1.0) + log_prior(z)


def mu_posterior(
    z: jax.Array,
    data: EventData,
    config: GPConfig,
    times: jax.Array,
    *,
    neighbours: int | None = 32,
) -> tuple[jax.Array, jax.Array]:
    """Posterior mean and standard deviation of μ(t) given the site pseudo-data (plug-in z).

    GP regression of the pseudo-observations ``y_i ~ N(μ(t_i), v_i)`` (`event_sites`):
    exact (``neighbours=None``, O(n³)) or conditioned on the ``neighbours`` nearest events in
    log time of each query time (O(q · neighbours³), the local/Vecchia-style approximation
    used for large n).

    Args:
        z: ``(9,)`` unconstrained parameters; data: `EventData`; config: `GPConfig`.
        times: ``(q,)`` query times in days.
        neighbours: number of nearest events per query, or None for all.

    Returns:
        ``(mean, sd)``, each ``(q,)`` in magnitude units.
    """
    _, (mean0, slope), kernel = unpack(z, config.kernel)
    _, r, _, v, x, _ = event_sites(z, data, config, neighbours=neighbours)
    keep = np.asarray(data.weights) > 0
    x, r, v = x[keep], r[keep], v[keep]
    xq = log_time(jnp.asarray(times, dtype=x.dtype), config.time_offset)

    def condition(xq1, xs, rs, vs):
        cov = kernel_matrix(kernel, xs, xs) + jnp.diag(vs)
        chol = jnp.linalg.cholesky(cov)
        kq = kernel(xq1, xs)
        alpha = jax.scipy.linalg.cho_solve((chol, True), rs)
        white = jax.scipy.linalg.solve_triangular(chol, kq, lower=True)
        var = kernel(xq1, xq1) - jnp.sum(white**2)
        return kq @ alpha, jnp.sqrt(jnp.maximum(var, 0.0))

    if neighbours is None or neighbours >= x.shape[0]:
        mean, sd = jax.vmap(condition, in_axes=(0, None, None, None))(xq, x, r, v)
    else:
        _, idx = jax.lax.top_k(-jnp.abs(xq[:, None] - x[None, :]), int(neighbours))
        mean, sd = jax.vmap(condition)(xq, x[idx], r[idx], v[idx])
    return mean0 + slope * xq + mean, sd


def mu_band(
    key: jax.Array,
    z: jax.Array,
    covariance: jax.Array,
    data: EventData,
    config: GPConfig,
    times: jax.Array,
    *,
    neighbours: int | None = 32,
    n_draws: int = 200,
    level: float = 0.95,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Credible band of μ(t) including parameter uncertainty.

    Draws ``z ~ N(ẑ, covariance)`` (``n_draws``), for each the GP posterior of μ at ``times``
    (`mu_posterior`) and one μ from it; returns the median and the central ``level`` band of
    the draws. Without the parameter draws the band would ignore the strong correlation of μ
    with σ, b and c (Morikawa et al. 2021, GJI 226:1018).

    Args:
        key: `jax.random` key; z: ``(9,)`` estimate; covariance: ``(9, 9)`` its covariance.
        data, config: as in `mu_posterior`; times: ``(q,)`` days.

    Returns:
        ``(median, lower, upper)``, each ``(q,)`` magnitude units.
    """
    k_z, k_mu = jax.random.split(key)
    chol = jnp.linalg.cholesky(covariance + 1e-12 * jnp.eye(z.shape[0]))
    draws = z + jax.random.normal(k_z, (n_draws, z.shape[0]), z.dtype) @ chol.T

    def one(zd):
        return mu_posterior(zd, data, config, times, neighbours=neighbours)

    mean, sd = jax.lax.map(one, draws)
    samples = mean + sd * jax.random.normal(k_mu, mean.shape, mean.dtype)
    tail = 0.5 * (1.0 - level)
    lower, median, upper = jnp.quantile(samples, jnp.array([tail, 0.5, 1.0 - tail]), axis=0)
    return median, lower, upper


class GPMuPath(NamedTuple):
    """A μ(t) path tabulated on a grid in log time, linearly interpolated (a pytree, so
    jitted simulators compile once for every path of the same grid size).

    Attributes:
        log_times: ``(G,)`` increasing grid of ``ln(1 + t/t0)``.
        values: ``(G,)`` μ on the grid, magnitude units.
        time_offset: ``t0`` in days.
    """

    log_times: jax.Array
    values: jax.Array
    time_offset: float

    def __call__(self, t: jax.Array) -> jax.Array:
        """μ at times ``t`` (days, any shape); constant beyond the grid."""
        return jnp.interp(log_time(jnp.asarray(t), self.time_offset), self.log_times, self.values)


@single_blas_thread
def draw_gp_mu(
    key: jax.Array, z: jax.Array, config: GPConfig, end: float, n_grid: int = 256
) -> GPMuPath:
    """A random μ(t) path from the GP prior at ``z``.

    The path is drawn on ``n_grid`` points uniform in log time over ``[0, end]`` and linearly
    interpolated (beyond ``end`` it stays at its last value).

    Args:
        key: `jax.random` key; z: ``(9,)`` unconstrained parameters; config: `GPConfig`;
        end: last time in days.

    Returns:
        `GPMuPath`, a vectorised callable: times ``(m,)`` in days -> μ ``(m,)``.
    """
    _, (mean0, slope), kernel = unpack(z, config.kernel)
    xg = jnp.linspace(0.0, float(log_time(end, config.time_offset)) * 1.001, n_grid)
    cov = kernel_matrix(kernel, xg, xg) + 1e-8 * kernel.amplitude**2 * jnp.eye(n_grid)
    path = (
        mean0 + slope * xg + jnp.linalg.cholesky(cov) @ jax.random.normal(key, (n_grid,), xg.dtype)
    )
    return GPMuPath(xg, path, float(config.time_offset))


class GPFitResult(NamedTuple):
    """Result of `fit_gp`.

    Attributes:
        params: `AftershockParams` at the estimate.
        names: `NATURAL_NAMES`; estimates: ``(9,)`` natural-scale estimates.
        standard_errors: ``(9,)`` natural-scale standard errors (delta method).
        unconstrained_names: `GP_NAMES`.
        unconstrained: ``(9,)`` estimate: the mode of the curvature-adjusted composite
            posterior (composite; `adjusted_composite_posterior`) or of the Laplace
            posterior (exact).
        unconstrained_covariance: ``(9, 9)``: ``(H J⁻¹ H + prior precision)⁻¹`` (composite,
            Godambe information plus prior) or ``H⁻¹`` (exact).
        hessian_covariance: ``(9, 9)`` the naive ``H⁻¹`` at the maximiser (for comparison).
        log_objective: maximised composite/exact log marginal + log prior.
        composite_mode: ``(9,)`` the maximiser of the objective itself (before the Godambe
            adjustment; equal to ``unconstrained`` for exact fits).
        method: ``"composite"`` or ``"exact"``; config: `GPConfig`.
        data: the `EventData` fitted (for `mu_posterior`).
        converged: max-norm of the per-event gradient ≤ gtol and positive-definite Hessian.
        grad_norm, n_steps, n_events, n_bootstrap: diagnostics.
        seconds: wall time of the fit including uncertainty.
    """

    params: AftershockParams
    names: tuple
    estimates: jax.Array
    standard_errors: jax.Array
    unconstrained_names: tuple
    unconstrained: jax.Array
    unconstrained_covariance: jax.Array
    hessian_covariance: jax.Array
    log_objective: jax.Array
    composite_mode: jax.Array
    method: str
    config: GPConfig
    data: EventData
    converged: bool
    grad_norm: float
    n_steps: int
    n_events: int
    n_bootstrap: int
    seconds: float

    @property
    def unconstrained_standard_errors(self) -> jax.Array:
        """``(9,)`` standard errors on the optimisation scale."""
        return jnp.sqrt(jnp.diag(self.unconstrained_covariance))

    def summary(self) -> dict[str, tuple[float, float]]:
        """``{name: (estimate, standard error)}`` on the natural scale."""
        return {
            n: (float(e), float(s))
            for n, e, s in zip(self.names, self.estimates, self.standard_errors)
        }

    def mu_posterior(self, times, *, neighbours: int | None = 32):
        """``(mean, sd)`` of μ at ``times`` (days); see `mu_posterior` (exact fits use all
        events)."""
        neighbours = None if self.method == "exact" else neighbours
        return mu_posterior(
            self.unconstrained, self.data, self.config, times, neighbours=neighbours
        )

    @single_blas_thread
    def mu_band(
        self,
        times,
        *,
        key=None,
        n_draws: int = 200,
        level: float = 0.95,
        neighbours: int | None = 32,
    ):
        """``(median, lower, upper)`` of μ at ``times`` with parameter uncertainty
        (`mu_band`)."""
        key = jax.random.key(1) if key is None else key
        neighbours = None if self.method == "exact" else neighbours
        return mu_band(
            key,
            self.unconstrained,
            self.unconstrained_covariance,
            self.data,
            self.config,
            jnp.asarray(times),
            neighbours=neighbours,
            n_draws=n_draws,
            level=level,
        )


def _objective(method, config, neighbours, block_size, mesh):
    if method == "exact":
        return lambda z, data: exact_log_marginal(z, data, config)
    return lambda z, data: composite_log_marginal(
        z, data, config, neighbours=neighbours, block_size=block_size, mesh=mesh
    )


@functools.partial(
    jax.jit,
    static_argnames=(
        "method",
        "config",
        "neighbours",
        "block_size",
        "mesh",
        "adam_steps",
        "lbfgs_steps",
        "learning_rate",
        "gtol",
    ),
)
def _maximise(
    z0,
    data,
    *,
    method,
    config,
    neighbours,
    block_size,
    mesh,
    adam_steps,
    lbfgs_steps,
    learning_rate,
    gtol,
):
    log_objective = _objective(method, config, neighbours, block_size, mesh)
    n = jnp.sum(data.weights)

    def objective(z):
        return -log_objective(z, data) / n

    state = minimise(
        objective,
        z0,
        adam_steps=adam_steps,
        lbfgs_steps=lbfgs_steps,
        learning_rate=learning_rate,
        gtol=gtol,
    )
    return state.z, log_objective(state.z, data), jnp.max(jnp.abs(state.grad)), state.count


@functools.partial(
    jax.jit, static_argnames=("method", "config", "neighbours", "block_size", "mesh")
)
def _score(z, data, *, method, config, neighbours, block_size, mesh):
    """Gradient of the log objective (reverse mode)."""
    return jax.grad(_objective(method, config, neighbours, block_size, mesh))(z, data)


def _hessian(z, data, step=1e-4, **static):
    """Hessian of −objective by central differences of the exact gradient (relative error
    ~1e-8). Forward-over-reverse (``jax.hessian``) through the batched Cholesky factorisations
    of the centring stalls the XLA CPU runtime in jax 0.10, so it is avoided."""
    eye = np.eye(z.shape[0])
    columns = [
        (
            np.asarray(_score(z - step * e, data, **static))
            - np.asarray(_score(z + step * e, data, **static))
        )
        / (2 * step)
        for e in eye
    ]
    return np.stack(columns, axis=1)


def adjusted_composite_posterior(
    z: np.ndarray, hessian: np.ndarray, variability: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Composite likelihood calibrated by its Godambe information, then combined with the prior.

    The composite log-likelihood ``cℓ`` is not a likelihood: its curvature ``H_c`` overstates
    the information, which is ``G = H_c J⁻¹ H_c`` (Godambe; ``J`` the variance of its score).
    The curvature-adjusted composite posterior (Pauli, Racugno & Ventura 2011; Ribatet, Cooley
    & Davison 2012) replaces ``cℓ`` by the quadratic with the same maximiser and curvature
    ``G`` and multiplies by the prior. The prior (`log_prior`) is Gaussian on the unconstrained
    scale (precision ``Π``, mean ``m₀``), so the result is Gaussian, with precision ``G + Π`` and
    mode one Newton step from the maximiser ``ẑ`` of ``cℓ + ln prior``:

        ẑ_adj = ẑ + (G + Π)⁻¹ (H_c J⁻¹ − I) s,   s = ∇cℓ(ẑ) = Π (ẑ − m₀).

    When the composite is calibrated (``J = H_c``) nothing moves. Unlike the plain sandwich
    ``H⁻¹JH⁻¹`` of the penalised objective (which puts the prior's curvature in ``H`` but not
    its absence of variability in ``J``), the adjusted covariance never claims more precision
    than the prior where the data are uninformative (e.g. the GP length scale on few events).

    Args:
        z: ``(9,)`` maximiser of the composite log marginal + log prior.
        hessian: ``(9, 9)`` Hessian of −(composite log marginal + log prior) at ``z``.
        variability: ``(9, 9)`` ``J``, the covariance of the composite score.

    Returns:
        ``(z_adjusted, covariance)``: ``(9,)`` and ``(9, 9)`` NumPy arrays.

    Raises:
        ValueError: ``variability`` is not positive definite.
    """
    z = np.asarray(z, dtype=float)
    prior_precision = np.diag(1.0 / _PRIOR_SD**2)
    h_c = np.asarray(hessian, dtype=float) - prior_precision
    try:
        chol = np.linalg.cholesky(np.asarray(variability, dtype=float))
    except np.linalg.LinAlgError:
        raise ValueError("the Godambe variability J is not positive definite") from None

    def j_solve(b):
        return np.linalg.solve(chol.T, np.linalg.solve(chol, b))

    precision = h_c @ j_solve(h_c) + prior_precision
    precision = 0.5 * (precision + precision.T)
    score = prior_precision @ (z - _PRIOR_MEAN)
    z_adjusted = z + np.linalg.solve(precision, h_c @ j_solve(score) - score)
    return z_adjusted, np.linalg.inv(precision)


def _padded_size(n: int, block_size: int) -> int:
    return -(-n // block_size) * block_size


def _godambe_variability(key, z, catalog, n_bootstrap, size, progress, **static):
    """``J``: covariance of the composite score over catalogues simulated from the fit
    (padded to at least ``size`` events so that the compiled `_score` is reused)."""
    from sjax.aftershock.simulate import simulate_catalog  # simulate imports fit: avoid a cycle

    config, block_size = static["config"], static["block_size"]
    params, _, _ = unpack(z, config.kernel)
    start, end = float(catalog.start), float(catalog.end)
    catalogs = []
    keys = jax.random.split(key, n_bootstrap)
    iterator = keys
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(keys, desc="Godambe bootstrap", unit="catalogue", leave=False)
    for k in iterator:
        k_mu, k_cat = jax.random.split(k)
        try:
            catalogs.append(
                simulate_catalog(
                    k_cat,
                    params,
                    draw_gp_mu(k_mu, z, config, end),
                    start=start,
                    end=end,
                    reference_magnitude=config.reference_magnitude,
                    magnitude_cutoff=config.magnitude_cutoff,
                )
            )
        except ValueError:  # an empty simulated catalogue: no score to add
            continue
    if len(catalogs) < _MIN_BOOTSTRAP:
        raise ValueError(
            f"the Godambe bootstrap simulated {len(catalogs)} non-empty catalogues; J of the "
            f"{len(GP_NAMES)} parameters needs at least {_MIN_BOOTSTRAP} (raise n_bootstrap)"
        )
    size = max(_padded_size(max(c.n_events for c in catalogs), block_size), size)
    scores = np.stack([np.asarray(_score(z, event_data(c, size), **static)) for c in catalogs])
    return np.cov(scores, rowvar=False), len(catalogs)


@single_blas_thread
def fit_gp(
    catalog: Catalog,
    *,
    reference_magnitude: float,
    method: str = "composite",
    kernel: str = "squared_exponential",
    time_offset: float = 1e-3,
    magnitude_cutoff: float | None = None,
    key: jax.Array | None = None,
    n_bootstrap: int = 50,
    neighbours: int = 32,
    block_size: int = 256,
    mesh=None,
    initial: jax.Array | None = None,
    adam_steps: int = 100,
    lbfgs_steps: int = 300,
    learning_rate: float = 0.02,
    gtol: float = 1e-6,
    progress: bool = False,
) -> GPFitResult:
    """Fit the GP detection model: Omori/GR parameters, μ(t)'s mean and GP hyperparameters.

    Maximises `composite_log_marginal` (``method="composite"``, O(n²) per evaluation,
    estimate and covariance from `adjusted_composite_posterior`) or `exact_log_marginal`
    (``"exact"``, O(n³), Laplace uncertainty) with Adam then L-BFGS on the per-event
    objective, inside one ``jit``.

    Known limitation of the composite fit: it underestimates the GP amplitude, and with it
    the standard errors of μ's mean line and the μ band where events are sparse (the first
    minutes; see the module docstring); use ``"exact"`` up to a few thousand events when the
    band matters.

    Args:
        catalog: `Catalog` of recorded events (window = observation window).
        reference_magnitude: Mref (keep fixed across fits, e.g. the main-shock magnitude).
        method: ``"composite"`` or ``"exact"``.
        kernel: ``"squared_exponential"`` or ``"matern52"`` (`KERNELS`).
        time_offset: t0 of the log-time coordinate ``ln(1 + t/t0)`` in days.
        magnitude_cutoff: catalogue cut Mc, or None.
        key: `jax.random` key for the Godambe bootstrap (default ``key(0)``).
        n_bootstrap: simulated catalogues for the Godambe ``J`` (composite only; ≥ 10).
        neighbours: events per local GP regression in the composite fit's Laplace centring
            (`event_sites`); the exact fit uses all.
        block_size: rows per block of the pair sum; mesh: optional device mesh
            (`sjax.shard.batch_mesh`) to shard the pair sum.
        initial: optional ``(9,)`` unconstrained start.
        adam_steps, lbfgs_steps, learning_rate, gtol: optimiser settings.
        progress: show a progress bar for the bootstrap.

    Returns:
        `GPFitResult`.

    Raises:
        TypeError: ``catalog`` is not a `Catalog`.
        ValueError: unknown ``method``/``kernel``, fewer than 20 events, magnitudes below
            ``magnitude_cutoff``, non-positive ``time_offset``, bad ``initial``, composite
            ``n_bootstrap`` below 10 (J of 9 parameters would be singular).
    """
    t_start = time.perf_counter()
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a sjax.aftershock.Catalog, got {type(catalog).__name__}")
    if method not in ("composite", "exact"):
        raise ValueError(f"method must be 'composite' or 'exact', got {method!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    if not time_offset > 0:
        raise ValueError(f"time_offset must be > 0 days, got {time_offset}")
    n = catalog.n_events
    if n < 20:
        raise ValueError(f"catalogue has {n} events: the GP model needs at least 20")
    if method == "composite" and n_bootstrap < _MIN_BOOTSTRAP:
        raise ValueError(
            f"n_bootstrap={n_bootstrap}: the Godambe J of the {len(GP_NAMES)} parameters needs at "
            f"least {_MIN_BOOTSTRAP} simulated catalogues to be positive definite"
        )
    magnitude_cutoff = check_magnitude_cutoff(catalog, magnitude_cutoff)
    config = GPConfig(float(reference_magnitude), magnitude_cutoff, kernel, float(time_offset))
    size = n if method == "exact" else _padded_size(n, block_size)
    data = event_data(catalog, size)
    if initial is None:
        z0 = _initial(catalog, config)
    else:
        z0 = jnp.asarray(initial, dtype=data.times.dtype)
        if z0.shape != (9,) or not bool(jnp.all(jnp.isfinite(z0))):
            raise ValueError(f"initial must be finite with shape (9,), got {z0.shape}")
    static = dict(
        method=method,
        config=config,
        neighbours=int(neighbours),
        block_size=int(block_size),
        mesh=mesh,
    )
    z, value, grad_norm, count = _maximise(
        z0,
        data,
        adam_steps=int(adam_steps),
        lbfgs_steps=int(lbfgs_steps),
        learning_rate=float(learning_rate),
        gtol=float(gtol),
        **static,
    )
    hessian = _hessian(z, data, **static)
    hessian = 0.5 * (hessian + hessian.T)
    h_inv, positive = inverse_hessian_covariance(hessian)
    n_boot = 0
    composite_mode = z
    if method == "composite" and positive:
        key = jax.random.key(0) if key is None else key
        variability, n_boot = _godambe_variability(
            key, z, catalog, int(n_bootstrap), size, progress, **static
        )
        z, cov = adjusted_composite_posterior(z, hessian, variability)
        z = jnp.asarray(z)
    else:
        cov = h_inv
    cov = 0.5 * (cov + cov.T)
    jac = np.where(_LOG_SCALE, np.exp(np.asarray(z)), 1.0)
    se = jac * np.sqrt(np.diag(cov))
    return GPFitResult(
        params=unpack(z, kernel)[0],
        names=NATURAL_NAMES,
        estimates=natural(z),
        standard_errors=jnp.asarray(se),
        unconstrained_names=GP_NAMES,
        unconstrained=z,
        unconstrained_covariance=jnp.asarray(cov),
        hessian_covariance=jnp.asarray(h_inv),
        log_objective=value,
        composite_mode=composite_mode,
        method=method,
        config=config,
        data=data,
        converged=bool(float(grad_norm) <= gtol) and positive,
        grad_norm=float(grad_norm),
        n_steps=int(count),
        n_events=n,
        n_bootstrap=n_boot,
        seconds=time.perf_counter() - t_start,
    )


def _initial(catalog: Catalog, config: GPConfig) -> jax.Array:
    """Start: the parametric crude start for the Omori/GR part, a least-squares line for the
    mean in log time, amplitude 0.2 and length scale 1."""
    z5 = np.asarray(
        initial_unconstrained(
            catalog,
            "constant",
            reference_magnitude=config.reference_magnitude,
            magnitude_cutoff=config.magnitude_cutoff,
        )
    )[:5]
    beta = math.log(10.0)
    shifted = np.asarray(catalog.magnitudes) - 1.0 / beta + beta * 0.2**2
    x = np.asarray(log_time(catalog.times, config.time_offset))
    slope, intercept = np.polyfit(x, shifted, 1) if np.ptp(x) > 0 else (0.0, shifted.mean())
    return jnp.asarray(np.concatenate([z5, [intercept, slope, math.log(0.2), 0.0]]))
