"""Maximum-likelihood (or, by default, weakly regularised MAP) fit of the parametric aftershock
model with a parametric μ(t).

Model (Ogata & Katsura 1993, GJI 113:727; Omi et al. 2013, BSSA 103:1116): recorded-event intensity
``k (t+c)^(−p) β e^{−β(M−Mref)} Φ((M−μ(t))/σ)``
with one of two μ(t) models behind one interface (both are pytrees callable as ``mu_fn(t)``):

* `ConstantMu`: ``μ(t) = mu`` (likelihood exact: `log_likelihood_piecewise` with scalar μ);
* `LogLinearMu`: ``μ(t) = mu0 − decay · ln(1 + t/tau)``, the log-linear completeness decay of
  Helmstetter, Kagan & Jackson (2006, BSSA 96:90; M_c(t) = M_main − 4.5 − 0.75 log10 t) with a
  time scale ``tau`` (days) that keeps μ finite at t = 0: ``mu0`` is μ at the main shock,
  ``decay`` the drop per e-fold of time for t ≫ tau. ``decay`` is left unconstrained (a
  negative value is an increasing μ); when it is ~0, ``tau`` is not identified. The time
  integral uses `log_likelihood` (Gauss–Legendre in ln(t + c), ~1e-12 relative).

Unconstrained parametrisation (the optimisation and covariance space): ``log_k, log_c, p,
log_b, log_sigma`` then ``mu`` or ``mu0, mu_decay, log_mu_tau``. Positive parameters are
optimised on the log scale; their natural-scale standard errors follow by the delta method
(``se(k) ≈ k · se(log k)``; for strongly skewed ones such as ``c`` prefer the log-scale SE in
`FitResult.unconstrained_standard_errors`).

Algorithm: ``(init, step)`` in the optax/blackjax shape: `fit_init` builds a `FitState` from an
unconstrained starting vector, `fit_step` does one optimiser update on the objective (negative
log-likelihood **per event**, so step sizes do not depend on n); `fit` drives Adam for
``adam_steps`` steps (robust from a crude start) then `optax.lbfgs` with zoom line search until
the per-event gradient's max-norm is below ``gtol`` (or ``lbfgs_steps``), all inside one
``jit``; the event arrays are padded with zero-weight events to a size bucket (multiples of
`PAD_MULTIPLE` = 256) so that catalogues of different lengths share one compilation. Standard
errors come from the inverse of ``jax.hessian`` of the total negative
log-likelihood (plus the prior) at the optimum. By default (``prior=True``) the objective adds
the weak priors of `sjax.aftershock.priors` (AftFore's generic priors on b, p, ln c, ln σ and a
normal on ln tau), which keep real sequences out of degenerate optima; ``prior=False`` is the
plain maximum-likelihood fit. A fit is reported as converged only if the gradient test passes,
the Hessian is positive definite and every unconstrained standard error is at most
`MAX_UNCONSTRAINED_SE` (a larger one means the parameter is not identified: e.g. ln tau of a
log-linear μ(t) that has collapsed to a step).

Use float64 (``jax_enable_x64``): in float32 the total
log-likelihood of thousands of events has no digits left for the line search.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sjax.aftershock.catalog import Catalog
from sjax.aftershock.likelihood import (
    AftershockParams,
    expected_detected_count,
    log_likelihood,
    log_likelihood_piecewise,
)
from sjax.aftershock.priors import log_tau_prior, omi_log_prior

__all__ = [
    "ConstantMu",
    "LogLinearMu",
    "MU_MODELS",
    "FitState",
    "FitInfo",
    "FitResult",
    "unconstrained_names",
    "from_unconstrained",
    "negative_log_likelihood",
    "log_prior",
    "MAX_UNCONSTRAINED_SE",
    "initial_unconstrained",
    "fit_init",
    "fit_step",
    "minimise",
    "check_magnitude_cutoff",
    "inverse_hessian_covariance",
    "fit",
]

_OMORI_NAMES = ("log_k", "log_c", "p", "log_b", "log_sigma")
_OMORI_NATURAL = ("k", "c", "p", "b", "sigma")


class ConstantMu(NamedTuple):
    """Constant 50 %-detection magnitude, ``μ(t) = mu`` (magnitude units).

    Callable: ``ConstantMu(2.5)(t)`` returns μ with the shape of ``t``.
    """

    mu: jax.Array

    unconstrained_names = ("mu",)

    def __call__(self, t: jax.Array) -> jax.Array:
        return jnp.full(jnp.shape(t), self.mu, dtype=jnp.result_type(t, self.mu))

    @staticmethod
    def from_unconstrained(z: jax.Array) -> "ConstantMu":
        return ConstantMu(z[0])

    def to_unconstrained(self) -> jax.Array:
        return jnp.stack([jnp.asarray(self.mu)])


class LogLinearMu(NamedTuple):
    """Log-linear decaying 50 %-detection magnitude, ``μ(t) = mu0 − decay · ln(1 + t/tau)``.

    Attributes:
        mu0: μ at the main shock (t = 0), magnitude units.
        decay: drop of μ per e-fold of time for t ≫ tau (magnitude units; 0.75/ln 10 ≈ 0.33 in
            Helmstetter et al. 2006).
        tau: time scale in days (> 0).
    """

    mu0: jax.Array
    decay: jax.Array
    tau: jax.Array

    unconstrained_names = ("mu0", "mu_decay", "log_mu_tau")

    def __call__(self, t: jax.Array) -> jax.Array:
        return self.mu0 - self.decay * jnp.log1p(t / self.tau)

    @staticmethod
    def from_unconstrained(z: jax.Array) -> "LogLinearMu":
        return LogLinearMu(z[0], z[1], jnp.exp(z[2]))

    def to_unconstrained(self) -> jax.Array:
        return jnp.stack([jnp.asarray(self.mu0), jnp.asarray(self.decay), jnp.log(self.tau)])


#: μ(t) models by name (the ``mu_model`` argument of `fit`).
MU_MODELS = {"constant": ConstantMu, "log_linear": LogLinearMu}


def _mu_class(mu_model):
    if isinstance(mu_model, str):
        if mu_model not in MU_MODELS:
            raise ValueError(f"mu_model={mu_model!r} is unknown; choose one of {list(MU_MODELS)}")
        return MU_MODELS[mu_model]
    if mu_model in MU_MODELS.values():
        return mu_model
    raise ValueError(f"mu_model={mu_model!r} is unknown; choose one of {list(MU_MODELS)}")


def unconstrained_names(mu_model="log_linear") -> tuple[str, ...]:
    """Names of the entries of the unconstrained vector for ``mu_model``."""
    return _OMORI_NAMES + _mu_class(mu_model).unconstrained_names


def _natural_names(mu_model) -> tuple[str, ...]:
    return _OMORI_NATURAL + tuple(_mu_class(mu_model)._fields)


def from_unconstrained(z: jax.Array, mu_model="log_linear"):
    """Unconstrained vector ``z`` ``(5 + n_mu,)`` → ``(AftershockParams, μ model)``."""
    params = AftershockParams(
        k=jnp.exp(z[0]), c=jnp.exp(z[1]), p=z[2], b=jnp.exp(z[3]), sigma=jnp.exp(z[4])
    )
    return params, _mu_class(mu_model).from_unconstrained(z[5:])


def _natural_vector(z: jax.Array, mu_model) -> jax.Array:
    params, mu = from_unconstrained(z, mu_model)
    return jnp.stack([*params, *mu])


def negative_log_likelihood(
    z: jax.Array,
    catalog: Catalog,
    mu_model="log_linear",
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    event_weights: jax.Array | None = None,
) -> jax.Array:
    """Total negative log-likelihood of ``catalog`` at the unconstrained vector ``z``.

    Pure; works under ``jit``/``grad``/``hessian``.

    Args:
        z: ``(5 + n_mu,)`` unconstrained parameters (`unconstrained_names`).
        catalog: `Catalog` (its window is the observation window).
        mu_model: ``"constant"`` / ``"log_linear"`` or the class.
        reference_magnitude: Mref; magnitude_cutoff: optional catalogue cut Mc.
        event_weights: optional ``(n,)`` 0/1 mask; zero-weight events (padding) are ignored
            (see `sjax.aftershock.likelihood`). Default None: every event counts.

    Returns:
        Scalar ``−ℓ``.
    """
    params, mu = from_unconstrained(z, mu_model)
    if isinstance(mu, ConstantMu):
        ll = log_likelihood_piecewise(
            params, catalog, mu.mu, reference_magnitude=reference_magnitude,
            magnitude_cutoff=magnitude_cutoff, event_weights=event_weights,
        )  # fmt: skip
    else:
        ll = log_likelihood(params, catalog, mu, reference_magnitude=reference_magnitude,
                            magnitude_cutoff=magnitude_cutoff,
                            event_weights=event_weights)  # fmt: skip
    return -ll


def log_prior(z: jax.Array, mu_model="log_linear") -> jax.Array:
    """Log-density (up to a constant) of the weak priors of `fit` at the unconstrained ``z``:
    `sjax.aftershock.priors.omi_log_prior` on the Omori/GR part and, for `LogLinearMu`,
    `sjax.aftershock.priors.log_tau_prior` on ``log_mu_tau``; flat in ``log_k`` and μ's level
    and decay."""
    value = omi_log_prior(z)
    if _mu_class(mu_model) is LogLinearMu:
        value = value + log_tau_prior(z[7])
    return value


#: A fit with an unconstrained standard error above this is not identified (a factor e^10 on
#: the log scale, 10 magnitude units for μ), and is never reported as converged.
MAX_UNCONSTRAINED_SE = 10.0


def initial_unconstrained(
    catalog: Catalog,
    mu_model="log_linear",
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
) -> jax.Array:
    """A crude data-driven starting point (unconstrained vector).

    b = 1, σ = 0.2, p = 1.05, c = 0.01 day; μ from the recorded magnitudes using
    ``M = N(μ − βσ², σ²) + Exp(β)`` (mean ``μ − βσ² + 1/β``): the mean for `ConstantMu`, a
    least-squares line in ``ln(1 + t/tau)`` with tau = 0.01 day for `LogLinearMu`; then k
    such that the expected recorded count equals n.
    """
    cls = _mu_class(mu_model)
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    b0, sigma0, p0, c0, tau0 = 1.0, 0.2, 1.05, 0.01, 0.01
    beta0 = b0 * np.log(10.0)
    shifted = mags - 1.0 / beta0 + beta0 * sigma0**2
    if cls is ConstantMu:
        mu_z = np.array([shifted.mean()])
    else:
        x = -np.log1p(times / tau0)
        slope, intercept = np.polyfit(x, shifted, 1) if np.ptp(x) > 0 else (0.0, shifted.mean())
        mu_z = np.array([intercept, max(slope, 0.0), np.log(tau0)])
    z = np.concatenate([[0.0, np.log(c0), p0, np.log(b0), np.log(sigma0)], mu_z])
    expected = _expected_count_at(jnp.asarray(z), catalog.start, catalog.end, cls,
                                  reference_magnitude, magnitude_cutoff)  # fmt: skip
    z[0] = np.log(catalog.n_events) - np.log(float(expected))
    return jnp.asarray(z, dtype=catalog.times.dtype)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _expected_count_at(z, start, end, mu_model, reference_magnitude, magnitude_cutoff):
    params, mu = from_unconstrained(z, mu_model)
    return expected_detected_count(
        params, start, end, mu, reference_magnitude=reference_magnitude,
        magnitude_cutoff=magnitude_cutoff,
    )  # fmt: skip


class FitState(NamedTuple):
    """State of the optimiser.

    Attributes:
        z: ``(n_params,)`` unconstrained parameters.
        value: scalar objective (negative log-likelihood per event) at ``z``.
        grad: ``(n_params,)`` its gradient.
        opt_state: the optax state.
        count: int scalar, number of steps taken.
    """

    z: jax.Array
    value: jax.Array
    grad: jax.Array
    opt_state: optax.OptState
    count: jax.Array


class FitInfo(NamedTuple):
    """Per-step diagnostics: ``value`` (objective after the step) and ``grad_norm`` (max-norm)."""

    value: jax.Array
    grad_norm: jax.Array


def fit_init(
    z: jax.Array,
    objective: Callable[[jax.Array], jax.Array],
    optimizer: optax.GradientTransformationExtraArgs,
) -> FitState:
    """`FitState` at the unconstrained start ``z`` for ``objective`` (scalar function of z)."""
    value, grad = jax.value_and_grad(objective)(z)
    return FitState(z, value, grad, optimizer.init(z), jnp.zeros((), jnp.int32))


def fit_step(
    state: FitState,
    objective: Callable[[jax.Array], jax.Array],
    optimizer: optax.GradientTransformationExtraArgs,
) -> tuple[FitState, FitInfo]:
    """One optimiser update. ``optimizer`` receives ``value``, ``grad`` and ``value_fn`` as
    extra arguments (wrap plain transformations with `optax.with_extra_args_support`)."""
    updates, opt_state = optimizer.update(
        state.grad, state.opt_state, state.z, value=state.value, grad=state.grad,
        value_fn=objective,
    )  # fmt: skip
    z = optax.apply_updates(state.z, updates)
    value, grad = jax.value_and_grad(objective)(z)
    new = FitState(z, value, grad, opt_state, state.count + 1)
    return new, FitInfo(value, jnp.max(jnp.abs(grad)))


def minimise(
    objective: Callable[[jax.Array], jax.Array],
    z0: jax.Array,
    *,
    adam_steps: int,
    lbfgs_steps: int,
    learning_rate: float,
    gtol: float,
) -> FitState:
    """Minimise ``objective`` from ``z0``: ``adam_steps`` Adam steps (robust from a crude
    start), then `optax.lbfgs` (zoom line search) until the gradient's max-norm is ≤ ``gtol``,
    ``adam_steps + lbfgs_steps`` steps in all, or a non-finite iterate. Traceable: call it
    inside ``jit`` (static step counts).

    Returns:
        The final `FitState` (``count`` = steps taken).
    """
    adam = optax.with_extra_args_support(optax.adam(learning_rate))
    state = fit_init(z0, objective, adam)
    state, _ = jax.lax.scan(lambda s, _: fit_step(s, objective, adam), state, None,
                            length=adam_steps)  # fmt: skip
    lbfgs = optax.lbfgs()
    state = fit_init(state.z, objective, lbfgs)._replace(count=state.count)

    def not_done(s):
        return (s.count < adam_steps + lbfgs_steps) & (jnp.max(jnp.abs(s.grad)) > gtol) & (
            jnp.all(jnp.isfinite(s.z))
        )  # fmt: skip

    return jax.lax.while_loop(not_done, lambda s: fit_step(s, objective, lbfgs)[0], state)


def inverse_hessian_covariance(hessian) -> tuple[np.ndarray, bool]:
    """``(H⁻¹, positive)`` for a Hessian of a negative log-objective: the symmetrised inverse
    when ``H`` is finite and positive definite, else a NaN matrix and ``positive=False``."""
    hessian = np.asarray(hessian)
    positive = bool(np.all(np.isfinite(hessian))) and bool(
        np.all(np.linalg.eigvalsh(0.5 * (hessian + hessian.T)) > 0)
    )
    if not positive:
        return np.full_like(hessian, np.nan), False
    cov = np.linalg.inv(hessian)
    return 0.5 * (cov + cov.T), True


def check_magnitude_cutoff(catalog: Catalog, magnitude_cutoff) -> float | None:
    """``magnitude_cutoff`` as a float (or None); ValueError if an event lies below it."""
    if magnitude_cutoff is None:
        return None
    low = np.flatnonzero(np.asarray(catalog.magnitudes) < magnitude_cutoff)
    if low.size:
        raise ValueError(
            f"{low.size} event(s) have magnitude below magnitude_cutoff={magnitude_cutoff} "
            f"(e.g. magnitudes[{low[0]}]={float(catalog.magnitudes[low[0]])}); use "
            "catalog.above(magnitude_cutoff)"
        )
    return float(magnitude_cutoff)


class FitResult(NamedTuple):
    """Result of `fit`.

    Attributes:
        params: `AftershockParams` at the maximum-likelihood estimate.
        mu: fitted μ(t) model (`ConstantMu` or `LogLinearMu`), callable as ``mu_fn``.
        params_standard_errors: `AftershockParams` of natural-scale standard errors (delta
            method from the log scale for k, c, b, sigma).
        mu_standard_errors: same structure as ``mu``, standard errors.
        names: natural parameter names, ``(n_params,)``.
        estimates: ``(n_params,)`` natural-scale estimates, in ``names`` order.
        covariance: ``(n_params, n_params)`` natural-scale covariance (delta method).
        unconstrained_names, unconstrained, unconstrained_covariance, unconstrained_standard_errors:
            the same on the optimisation scale (``log_k``, …).
        log_likelihood: log-likelihood at the estimate, without the prior (scalar).
        grad_norm: max-norm of the per-event gradient at the optimum.
        n_steps: Adam + L-BFGS steps taken.
        converged: ``grad_norm <= gtol``, a positive-definite Hessian (otherwise the
            standard errors are NaN) and every unconstrained standard error at most
            `MAX_UNCONSTRAINED_SE`.
        n_events: number of events fitted.
        diagnosis: why the fit is not converged (empty when it is).
        prior: whether the weak priors were included (MAP) or not (maximum likelihood).
    """

    params: AftershockParams
    mu: NamedTuple
    params_standard_errors: AftershockParams
    mu_standard_errors: NamedTuple
    names: tuple
    estimates: jax.Array
    covariance: jax.Array
    unconstrained_names: tuple
    unconstrained: jax.Array
    unconstrained_covariance: jax.Array
    unconstrained_standard_errors: jax.Array
    log_likelihood: jax.Array
    grad_norm: jax.Array
    n_steps: int
    converged: bool
    n_events: int
    diagnosis: str = ""
    prior: bool = True

    def summary(self) -> dict[str, tuple[float, float]]:
        """``{name: (estimate, standard error)}`` on the natural scale."""
        se = np.sqrt(np.diag(np.asarray(self.covariance)))
        return {n: (float(v), float(s)) for n, v, s in zip(self.names, self.estimates, se)}


#: Event arrays are padded to a multiple of this size (larger steps for very large catalogues,
#: see `_padded_size`) so that `_optimize` compiles once per size bucket, not once per n.
PAD_MULTIPLE = 256


def _padded_size(n: int) -> int:
    """Smallest multiple of ``max(PAD_MULTIPLE, 2^(bit_length(n) − 5))`` that is ≥ n (≤ 256
    padded events up to n = 8191, ≤ 6 % padding beyond)."""
    step = max(PAD_MULTIPLE, 2 ** max(0, int(n).bit_length() - 5))
    return -(-int(n) // step) * step


def _pad_events(catalog: Catalog) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(times, magnitudes, weights)`` padded to `_padded_size`: the padding events sit at
    ``t = end`` (zero-length piecewise intervals) with the last magnitude and weight 0."""
    # On the host (numpy): eager jnp ops would compile anew for every (n, n_pad).
    dtype = catalog.times.dtype
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    n = times.shape[0]
    n_pad = _padded_size(n) - n
    times = np.concatenate([times, np.full(n_pad, np.asarray(catalog.end), times.dtype)])
    mags = np.concatenate([mags, np.full(n_pad, mags[-1], mags.dtype)])
    weights = np.concatenate([np.ones(n), np.zeros(n_pad)])
    return jnp.asarray(times, dtype), jnp.asarray(mags, dtype), jnp.asarray(weights, dtype)


@functools.partial(jax.jit, static_argnames=("mu_model", "reference_magnitude",
                                             "magnitude_cutoff", "prior", "adam_steps",
                                             "lbfgs_steps", "learning_rate", "gtol"))  # fmt: skip
def _optimize(z0, times, magnitudes, weights, start, end, *, mu_model, reference_magnitude,
              magnitude_cutoff, prior, adam_steps, lbfgs_steps, learning_rate, gtol):  # fmt: skip
    # Traced fields: the Catalog is not validated here (the padding repeats (end, M) events).
    catalog = Catalog(times, magnitudes, start, end)
    n = jnp.sum(weights)

    def total(z):  # negative log-posterior (log-likelihood alone without the prior)
        nll = negative_log_likelihood(z, catalog, mu_model,
                                      reference_magnitude=reference_magnitude,
                                      magnitude_cutoff=magnitude_cutoff,
                                      event_weights=weights)  # fmt: skip
        return nll - log_prior(z, mu_model) if prior else nll

    def objective(z):
        return total(z) / n

    state = minimise(objective, z0, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps,
                     learning_rate=learning_rate, gtol=gtol)  # fmt: skip
    z = state.z
    hessian = jax.hessian(total)(z)
    jac = jax.jacfwd(lambda x: _natural_vector(x, mu_model))(z)
    ll = -negative_log_likelihood(z, catalog, mu_model,
                                  reference_magnitude=reference_magnitude,
                                  magnitude_cutoff=magnitude_cutoff,
                                  event_weights=weights)  # fmt: skip
    return z, ll, jnp.max(jnp.abs(state.grad)), state.count, hessian, jac


def fit(
    catalog: Catalog,
    *,
    reference_magnitude: float,
    mu_model="log_linear",
    magnitude_cutoff: float | None = None,
    window: tuple[float, float] | None = None,
    initial: jax.Array | None = None,
    prior: bool = True,
    adam_steps: int = 300,
    lbfgs_steps: int = 500,
    learning_rate: float = 0.02,
    gtol: float = 1e-7,
) -> FitResult:
    """Fit k, c, p, b, σ and the μ(t) parameters, with standard errors: the maximum of the
    likelihood times the weak priors of `log_prior` (default), or of the likelihood alone.

    Args:
        catalog: `Catalog` of recorded events (its window is the observation window unless
            ``window`` is given).
        reference_magnitude: Mref, the magnitude ``k`` refers to (keep it fixed across fits,
            e.g. the main-shock magnitude).
        mu_model: ``"log_linear"`` (`LogLinearMu`, default) or ``"constant"`` (`ConstantMu`),
            or the class.
        magnitude_cutoff: catalogue cut Mc (every magnitude must be ≥ Mc), or None.
        window: optional ``(start, end)`` in days (or absolute times) to fit a sub-window via
            `Catalog.window`.
        initial: optional unconstrained start ``(n_params,)``; default `initial_unconstrained`.
        prior: include the weak priors (`log_prior`; a MAP estimate with Laplace covariance,
            as AftFore's); False: maximum likelihood with inverse-Hessian covariance.
        adam_steps: Adam steps (learning rate ``learning_rate`` on the per-event objective).
        lbfgs_steps: maximum L-BFGS steps after Adam.
        gtol: stop when the max-norm of the per-event gradient is ≤ gtol.

    Returns:
        `FitResult` (estimates, standard errors from the inverse Hessian, log-likelihood
        without the prior, convergence diagnostics and, if not converged, the reason).

    Raises:
        ValueError: empty window, too few events for the number of parameters, magnitudes below
            ``magnitude_cutoff``, unknown ``mu_model``, a bad ``initial``.
        TypeError: ``catalog`` is not a `Catalog`.
    """
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a sjax.aftershock.Catalog, got {type(catalog).__name__}")
    cls = _mu_class(mu_model)
    if window is not None:
        catalog = catalog.window(*window)  # raises ValueError on an empty window
    names_z = unconstrained_names(cls)
    n_params = len(names_z)
    n = catalog.n_events
    if n <= n_params:
        raise ValueError(
            f"catalogue has {n} events on [{float(catalog.start)}, {float(catalog.end)}] days: "
            f"too few to fit {n_params} parameters (needs more than {n_params})"
        )
    magnitude_cutoff = check_magnitude_cutoff(catalog, magnitude_cutoff)
    reference_magnitude = float(reference_magnitude)
    if initial is None:
        z0 = initial_unconstrained(catalog, cls, reference_magnitude=reference_magnitude,
                                   magnitude_cutoff=magnitude_cutoff)  # fmt: skip
    else:
        z0 = jnp.asarray(initial, dtype=catalog.times.dtype)
        if z0.shape != (n_params,) or not bool(jnp.all(jnp.isfinite(z0))):
            raise ValueError(f"initial must be finite with shape ({n_params},), got {z0.shape}")

    times, magnitudes, weights = _pad_events(catalog)
    z, ll, grad_norm, count, hessian, jac = _optimize(
        z0, times, magnitudes, weights, catalog.start, catalog.end, mu_model=cls,
        reference_magnitude=reference_magnitude, magnitude_cutoff=magnitude_cutoff,
        prior=bool(prior), adam_steps=int(adam_steps), lbfgs_steps=int(lbfgs_steps),
        learning_rate=float(learning_rate), gtol=float(gtol),
    )  # fmt: skip
    cov_z, positive = inverse_hessian_covariance(hessian)
    jac = np.asarray(jac)
    cov = jac @ cov_z @ jac.T
    params, mu = from_unconstrained(z, cls)
    se = np.sqrt(np.diag(cov))
    estimates = jnp.stack([*params, *mu])
    se_z = np.sqrt(np.diag(cov_z))
    diagnosis = _diagnose(float(grad_norm), gtol, positive, float(ll), se_z, names_z)
    return FitResult(
        params=params,
        mu=mu,
        params_standard_errors=AftershockParams(*(jnp.asarray(s) for s in se[:5])),
        mu_standard_errors=cls(*(jnp.asarray(s) for s in se[5:])),
        names=_natural_names(cls),
        estimates=estimates,
        covariance=jnp.asarray(cov),
        unconstrained_names=names_z,
        unconstrained=z,
        unconstrained_covariance=jnp.asarray(cov_z),
        unconstrained_standard_errors=jnp.sqrt(jnp.diag(jnp.asarray(cov_z))),
        log_likelihood=ll,
        grad_norm=grad_norm,
        n_steps=int(count),
        converged=not diagnosis,
        n_events=n,
        diagnosis=diagnosis,
        prior=bool(prior),
    )


def _diagnose(grad_norm, gtol, positive, log_likelihood, se_z, names_z) -> str:
    """Why a fit is not converged, or "" when it is."""
    if not np.isfinite(log_likelihood):
        return "the log-likelihood at the end is not finite"
    if not grad_norm <= gtol:
        return f"the gradient max-norm {grad_norm:.3g} is above gtol={gtol:g}"
    if not positive:
        return "the Hessian is not positive definite (no standard errors)"
    loose = [f"{n} ± {s:.3g}" for n, s in zip(names_z, se_z) if not s <= MAX_UNCONSTRAINED_SE]
    if loose:
        return (f"degenerate: {', '.join(loose)} (standard error above {MAX_UNCONSTRAINED_SE:g} "
                "on the unconstrained scale: not identified by these data)")  # fmt: skip
    return ""
