"""Optimisers for 4D-Var costs in the optax/blackjax shape: ``init(z0) -> state``,
``step(state) -> (state, info)``, pure functions that work under ``jit``, and a driver.

* `newton_cg`: inexact (truncated) Newton–CG. The Newton system ``H p = −g`` is solved by
  conjugate gradients with Hessian-vector products only, stopped at the relative residual
  ``η_k`` (forcing term, Eisenstat & Walker 1996, choice 1) or, Steihaug-style, at the first
  direction of non-positive curvature; then a backtracking Armijo line search.
* `lbfgs`: `optax.lbfgs` (zoom line search, strong Wolfe conditions) behind the same interface.
* `minimize`: a Python loop around the jitted ``step`` that records an `OptimizeTrace`, shows a
  tqdm progress bar, stops on the tolerances and raises on a non-finite cost.

Costs are given as ``value_and_grad(z) -> (J, g)`` (e.g. an adjoint model) with ``z`` any pytree
of floating-point arrays; `newton_cg` also needs ``hvp(z, v) -> H(z) v`` (e.g. second-order
adjoint, or a Gauss–Newton product). Both are only ever called on pytrees shaped like ``z0``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm
from jax.flatten_util import ravel_pytree

__all__ = [
    "Solver",
    "NewtonCGState",
    "LBFGSState",
    "StepInfo",
    "OptimizeTrace",
    "OptimizeResult",
    "newton_cg",
    "lbfgs",
    "minimize",
]

Params = Any  # a pytree of floating-point arrays
ValueAndGrad = Callable[[Params], tuple[jax.Array, Params]]
HessianVectorProduct = Callable[[Params, Params], Params]

_ARMIJO_SLOPE_FRACTION = 1e-4  # c1 in J(z + αp) ≤ J(z) + c1 α gᵀp
_MIN_FORCING_TERM = 1e-12  # floor of the CG relative residual η_k
_GOLDEN_RATIO = 0.5 * (1.0 + 5.0**0.5)  # Eisenstat–Walker safeguard exponent


class Solver(NamedTuple):
    """An optimiser as a pair of pure functions.

    Attributes:
        init: ``init(z0) -> state``; evaluates the cost and gradient at ``z0`` (one evaluation).
        step: ``step(state) -> (state, StepInfo)``; one outer iteration.
    """

    init: Callable[[Params], Any]
    step: Callable[[Any], tuple[Any, "StepInfo"]]


class NewtonCGState(NamedTuple):
    """State of `newton_cg`.

    Attributes:
        params: current iterate, a pytree like ``z0``.
        value: scalar cost at ``params``.
        grad: gradient at ``params``, a pytree like ``z0``.
        iteration: int scalar, outer iterations taken.
        n_evaluations: int scalar, calls of ``value_and_grad`` so far (including `init`'s).
        n_hvp: int scalar, Hessian-vector products so far.
        forcing_term: scalar relative CG residual ``η`` for the next Newton system.
    """

    params: Params
    value: jax.Array
    grad: Params
    iteration: jax.Array
    n_evaluations: jax.Array
    n_hvp: jax.Array
    forcing_term: jax.Array


class LBFGSState(NamedTuple):
    """State of `lbfgs`: as `NewtonCGState` (``n_hvp`` stays 0) plus the optax state.

    Attributes:
        params: current iterate, a pytree like ``z0``.
        value: scalar cost at ``params``.
        grad: gradient at ``params``.
        iteration: int scalar, outer iterations taken.
        n_evaluations: int scalar, calls of ``value_and_grad`` so far (including `init`'s).
        n_hvp: int scalar, always 0.
        optimizer_state: the `optax.lbfgs` state (memory and line-search state).
    """

    params: Params
    value: jax.Array
    grad: Params
    iteration: jax.Array
    n_evaluations: jax.Array
    n_hvp: jax.Array
    optimizer_state: optax.OptState


class StepInfo(NamedTuple):
    """Diagnostics of one outer iteration (all scalars).

    Attributes:
        value: cost after the step.
        grad_norm: Euclidean norm of the gradient after the step.
        step_size: accepted line-search step ``α`` (0 when the line search failed).
        cg_iterations: CG iterations (= Hessian-vector products) spent; 0 for `lbfgs`.
        negative_curvature: whether CG met a direction with ``dᵀHd ≤ 0``; False for `lbfgs`.
        line_search_failed: whether no step met the sufficient-decrease condition; the state
            is then returned unchanged.
        trial_value: cost at the last line-search trial point (``value`` unless the line
            search failed; non-finite when the cost was NaN or inf along the whole search).
    """

    value: jax.Array
    grad_norm: jax.Array
    step_size: jax.Array
    cg_iterations: jax.Array
    negative_curvature: jax.Array
    line_search_failed: jax.Array
    trial_value: jax.Array


class OptimizeTrace(NamedTuple):
    """Per-iteration record of `minimize`, numpy arrays of length ``n_iterations + 1``
    (entry 0 is the starting point, with ``step_size`` 0).

    Attributes:
        value: cost.
        grad_norm: Euclidean gradient norm.
        step_size: accepted line-search step.
        n_evaluations: cumulative calls of ``value_and_grad``.
    """

    value: np.ndarray
    grad_norm: np.ndarray
    step_size: np.ndarray
    n_evaluations: np.ndarray


class OptimizeResult(NamedTuple):
    """Outcome of `minimize`.

    Attributes:
        params: final iterate, a pytree like ``z0``.
        value: final cost (float).
        grad_norm: final Euclidean gradient norm (float).
        n_iterations: outer iterations taken (int).
        converged: whether a tolerance was met (bool).
        reason: why the loop stopped, in words.
        trace: the `OptimizeTrace`.
    """

    params: Params
    value: float
    grad_norm: float
    n_iterations: int
    converged: bool
    reason: str
    trace: OptimizeTrace


def _strongly_typed(state):
    """``state`` with weak types removed: a state from ``init`` (a Python-scalar cost, optax's
    initial line-search info) then has the types of one from ``step``, and the jitted step
    compiles once."""
    return jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.asarray(leaf).dtype), state)


def _flat_value_and_grad(value_and_grad: ValueAndGrad, unravel: Callable[[jax.Array], Params]):
    """``value_and_grad`` as a function of the flattened parameter vector."""

    def flat_value_and_grad(x):
        value, grad = value_and_grad(unravel(x))
        return value, ravel_pytree(grad)[0]

    return flat_value_and_grad


def _truncated_cg(hvp_flat, grad, forcing_term, max_iterations):
    """Steihaug-style CG for ``H p = −g`` from ``p = 0``.

    Stops when ``‖g + Hp‖ ≤ η ‖g‖``, after ``max_iterations`` products, or at the first
    direction ``d`` with ``dᵀHd ≤ 0``; then returns the current iterate, or ``−g`` if that
    happens in the first iteration. Returns ``(p, Hp, iterations, negative_curvature)``.
    """
    target = (forcing_term * jnp.linalg.norm(grad)) ** 2
    zeros = jnp.zeros_like(grad)
    residual_sq = grad @ grad

    def not_done(carry):
        iteration, _, _, _, _, residual_sq, negative_curvature = carry
        return (iteration < max_iterations) & (residual_sq > target) & ~negative_curvature

    def cg_iteration(carry):
        iteration, p, hp, residual, direction, residual_sq, _ = carry
        h_direction = hvp_flat(direction)
        curvature = direction @ h_direction
        negative_curvature = curvature <= 0
        first = iteration == 0
        # non-positive curvature: keep p (steepest descent d = −g if it is the first direction)
        alpha = jnp.where(negative_curvature, jnp.where(first, 1.0, 0.0),
                          residual_sq / jnp.where(negative_curvature, 1.0, curvature))  # fmt: skip
        p = p + alpha * direction
        hp = hp + alpha * h_direction
        residual = residual + alpha * h_direction
        new_residual_sq = residual @ residual
        beta = new_residual_sq / residual_sq
        direction = -residual + beta * direction
        return (iteration + 1, p, hp, residual, direction, new_residual_sq, negative_curvature)

    carry = (jnp.zeros((), jnp.int32), zeros, zeros, grad, -grad, residual_sq, jnp.array(False))
    iterations, p, hp, _, _, _, negative_curvature = jax.lax.while_loop(
        not_done, cg_iteration, carry
    )
    return p, hp, iterations, negative_curvature


def _backtracking_armijo(flat_value_and_grad, x, value, slope, direction, max_steps):
    """Largest ``α`` in a safeguarded-interpolation backtracking sequence from 1 with
    ``J(x + αp) ≤ J(x) + c1 α slope``, strictly below ``J(x)`` unless ``α = 1`` (a full step
    may leave the cost unchanged at round-off level near the minimum; a shortened one may not,
    so that a step lost in round-off is never accepted). A non-finite trial cost fails. Gives
    up after ``max_steps`` evaluations or once ``x + αp == x``.

    Returns ``(alpha, trial_value, trial_grad, n_evaluations, accepted)``.
    """

    def accepted(alpha, trial_value):
        armijo = trial_value <= value + _ARMIJO_SLOPE_FRACTION * alpha * slope
        return armijo & ((trial_value < value) | (alpha == 1.0))

    def not_done(carry):
        alpha, trial_value, _, count = carry
        moves = jnp.any(x + alpha * direction != x)
        return ~accepted(alpha, trial_value) & (count < max_steps) & moves

    def shrink(carry):
        alpha, trial_value, _, count = carry
        # minimiser of the quadratic through J(x), slope and J(x + αp), kept in [0.1α, 0.5α]
        curvature_term = 2.0 * (trial_value - value - slope * alpha)
        interpolated = -slope * alpha**2 / jnp.where(curvature_term > 0, curvature_term, 1.0)
        interpolated = jnp.clip(interpolated, 0.1 * alpha, 0.5 * alpha)
        alpha = jnp.where(jnp.isfinite(trial_value) & (curvature_term > 0), interpolated,
                          0.5 * alpha)  # fmt: skip
        trial_value, trial_grad = flat_value_and_grad(x + alpha * direction)
        return alpha, trial_value, trial_grad, count + 1

    alpha = jnp.ones((), x.dtype)
    trial_value, trial_grad = flat_value_and_grad(x + direction)
    alpha, trial_value, trial_grad, count = jax.lax.while_loop(
        not_done, shrink, (alpha, trial_value, trial_grad, jnp.ones((), jnp.int32))
    )
    return alpha, trial_value, trial_grad, count, accepted(alpha, trial_value)


def newton_cg(
    value_and_grad: ValueAndGrad,
    hvp: HessianVectorProduct,
    *,
    cg_tolerance: float = 0.1,
    cg_max_iterations: int = 50,
    line_search: str = "backtracking",
    max_line_search_steps: int = 30,
) -> Solver:
    """Inexact Newton–CG with a backtracking Armijo line search.

    Each step solves ``H p = −g`` approximately by CG (Hessian-vector products only) to the
    relative residual ``‖g + Hp‖ ≤ η_k ‖g‖``. The forcing term follows Eisenstat & Walker
    (1996, SIAM J. Sci. Comput. 17:16, choice 1): ``η_k = |‖g_k‖ − ‖g_{k−1} + α H p_{k−1}‖| /
    ‖g_{k−1}‖`` (how well the quadratic model predicted the new gradient), safeguarded by
    ``η_{k−1}^φ`` (φ golden ratio) when that exceeds 0.1, clipped to ``[1e-12, cg_tolerance]``,
    and ``η_0 = cg_tolerance``: loose solves far from the solution, superlinear convergence near
    it, and an essentially exact solve (so convergence in two steps) on a quadratic. CG stops
    Steihaug-style at the first direction of non-positive curvature and uses the CG iterate so
    far, or the steepest-descent direction ``−g`` if that happens at once, so the method also
    works away from a minimum where ``H`` is indefinite. The line search starts at ``α = 1``
    and backtracks by safeguarded quadratic interpolation (factor in [0.1, 0.5]) until
    ``J(z + αp) ≤ J(z) + 1e-4 α gᵀp`` (and a strict decrease when ``α < 1``); a non-finite
    trial cost is treated as too long a step. It fails (state unchanged) after
    ``max_line_search_steps`` evaluations or when the step no longer changes ``z`` (round-off,
    or a gradient inconsistent with the cost).

    Cost per step: CG iterations Hessian-vector products plus line-search evaluations of
    ``value_and_grad`` (usually one). Memory: a few parameter-sized vectors.

    Args:
        value_and_grad: ``value_and_grad(z) -> (J, g)``; ``J`` a scalar, ``g`` a pytree like
            ``z``. Must be traceable by JAX.
        hvp: ``hvp(z, v) -> H(z) v`` with ``v`` and the result pytrees like ``z``; ``H`` should
            be symmetric (exact Hessian or Gauss–Newton). Traceable by JAX.
        cg_tolerance: largest CG forcing term ``η`` (relative residual), in (0, 1).
        cg_max_iterations: maximum CG iterations (Hessian-vector products) per step, ≥ 1.
        line_search: ``"backtracking"`` (Armijo), the only choice.
        max_line_search_steps: maximum cost evaluations per line search, ≥ 1.

    Returns:
        A `Solver` whose states are `NewtonCGState` and infos `StepInfo`.

    Raises:
        ValueError: if an option is out of range.
    """
    if not 0.0 < cg_tolerance < 1.0:
        raise ValueError(f"cg_tolerance must be in (0, 1), got {cg_tolerance}")
    if int(cg_max_iterations) != cg_max_iterations or cg_max_iterations < 1:
        raise ValueError(f"cg_max_iterations must be an integer ≥ 1, got {cg_max_iterations}")
    if line_search != "backtracking":
        raise ValueError(f"line_search must be 'backtracking', got {line_search!r}")
    if int(max_line_search_steps) != max_line_search_steps or max_line_search_steps < 1:
        raise ValueError(
            f"max_line_search_steps must be an integer ≥ 1, got {max_line_search_steps}"
        )

    def init(z0: Params) -> NewtonCGState:
        value, grad = value_and_grad(z0)
        x0 = ravel_pytree(z0)[0]
        return _strongly_typed(NewtonCGState(z0, value, grad, jnp.zeros((), jnp.int32),
                                             jnp.ones((), jnp.int32), jnp.zeros((), jnp.int32),
                                             jnp.asarray(cg_tolerance, x0.dtype)))  # fmt: skip

    def step(state: NewtonCGState) -> tuple[NewtonCGState, StepInfo]:
        x, unravel = ravel_pytree(state.params)
        g = ravel_pytree(state.grad)[0]
        flat_value_and_grad = _flat_value_and_grad(value_and_grad, unravel)

        def hvp_flat(v):
            return ravel_pytree(hvp(state.params, unravel(v)))[0]

        p, hp, cg_iterations, negative_curvature = _truncated_cg(
            hvp_flat, g, state.forcing_term, cg_max_iterations
        )
        slope = g @ p
        alpha, value, new_g, n_trials, accepted = _backtracking_armijo(
            flat_value_and_grad, x, state.value, slope, p, max_line_search_steps
        )

        grad_norm = jnp.linalg.norm(g)
        new_grad_norm = jnp.linalg.norm(new_g)
        model_residual_norm = jnp.linalg.norm(g + alpha * hp)
        forcing_term = jnp.abs(new_grad_norm - model_residual_norm) / jnp.where(
            grad_norm > 0, grad_norm, 1.0
        )
        safeguard = state.forcing_term**_GOLDEN_RATIO
        forcing_term = jnp.where(safeguard > 0.1, jnp.maximum(forcing_term, safeguard),
                                 forcing_term)  # fmt: skip
        forcing_term = jnp.clip(forcing_term, _MIN_FORCING_TERM, cg_tolerance)

        moved = NewtonCGState(unravel(x + alpha * p), value, unravel(new_g), state.iteration + 1,
                              state.n_evaluations + n_trials, state.n_hvp + cg_iterations,
                              forcing_term)  # fmt: skip
        kept = state._replace(iteration=state.iteration + 1,
                              n_evaluations=state.n_evaluations + n_trials,
                              n_hvp=state.n_hvp + cg_iterations)  # fmt: skip
        new_state = jax.tree.map(lambda a, b: jnp.where(accepted, a, b), moved, kept)
        info = StepInfo(new_state.value, jnp.where(accepted, new_grad_norm, grad_norm),
                        jnp.where(accepted, alpha, 0.0), cg_iterations, negative_curvature,
                        ~accepted, value)  # fmt: skip
        return new_state, info

    return Solver(init, step)


def _value_with_given_gradient(value_and_grad: ValueAndGrad) -> Callable[[Params], jax.Array]:
    """The cost as a function whose reverse-mode derivative is the supplied gradient, so that
    ``jax.value_and_grad`` of it (as optax's line search does) costs one ``value_and_grad``."""

    @jax.custom_vjp
    def value_fn(z):
        return value_and_grad(z)[0]

    def backward(grad, cotangent):
        return (jax.tree.map(lambda leaf: cotangent * leaf, grad),)

    value_fn.defvjp(value_and_grad, backward)  # forward pass: (J, residual g)
    return value_fn


def lbfgs(value_and_grad: ValueAndGrad, *, memory_size: int = 10) -> Solver:
    """L-BFGS with a zoom line search (strong Wolfe conditions): `optax.lbfgs` behind the
    `Solver` interface.

    Each step costs the line-search evaluations of ``value_and_grad`` (usually one or two);
    the value and gradient found by the line search are reused. If the line search reports no
    sufficient decrease, or the cost would increase (optax's approximate Wolfe test allows a
    round-off increase), the step is rejected (state unchanged, ``line_search_failed`` set;
    ``StepInfo.trial_value`` is then inf if optax met a non-finite cost, else the cost optax
    returned).

    Args:
        value_and_grad: ``value_and_grad(z) -> (J, g)``; ``J`` a scalar, ``g`` a pytree like
            ``z``. Traceable by JAX; it is never differentiated.
        memory_size: number of stored correction pairs, ≥ 1.

    Returns:
        A `Solver` whose states are `LBFGSState` and infos `StepInfo` (``cg_iterations`` 0,
        ``negative_curvature`` False).

    Raises:
        ValueError: if ``memory_size`` is not an integer ≥ 1.
    """
    if int(memory_size) != memory_size or memory_size < 1:
        raise ValueError(f"memory_size must be an integer ≥ 1, got {memory_size}")
    optimizer = optax.lbfgs(memory_size=int(memory_size))
    value_fn = _value_with_given_gradient(value_and_grad)

    def init(z0: Params) -> LBFGSState:
        value, grad = value_and_grad(z0)
        zero = jnp.zeros((), jnp.int32)
        return _strongly_typed(LBFGSState(z0, value, grad, zero, jnp.ones((), jnp.int32), zero,
                                          optimizer.init(z0)))  # fmt: skip

    def step(state: LBFGSState) -> tuple[LBFGSState, StepInfo]:
        updates, optimizer_state = optimizer.update(
            state.grad, state.optimizer_state, state.params, value=state.value,
            grad=state.grad, value_fn=value_fn,
        )  # fmt: skip
        params = optax.apply_updates(state.params, updates)
        value = optax.tree.get(optimizer_state, "value")
        grad = optax.tree.get(optimizer_state, "grad")
        line_search_info = optax.tree.get(optimizer_state, "info")
        # optax reports a non-finite last trial cost as an infinite decrease error; its
        # approximate-Wolfe test can accept a round-off increase, which is rejected here
        accepted = (line_search_info.decrease_error <= 0) & (value <= state.value)
        trial_value = jnp.where(jnp.isinf(line_search_info.decrease_error), jnp.inf, value)
        n_trials = line_search_info.num_linesearch_steps.astype(state.n_evaluations.dtype)
        n_evaluations = state.n_evaluations + n_trials
        moved = LBFGSState(params, value, grad, state.iteration + 1, n_evaluations, state.n_hvp,
                           optimizer_state)  # fmt: skip
        kept = state._replace(iteration=state.iteration + 1, n_evaluations=n_evaluations)
        new_state = jax.tree.map(lambda a, b: jnp.where(accepted, a, b), moved, kept)
        step_size = optax.tree.get(optimizer_state, "learning_rate")
        info = StepInfo(new_state.value, optax.tree.norm(new_state.grad),
                        jnp.where(accepted, step_size, 0.0), jnp.zeros((), jnp.int32),
                        jnp.array(False), ~accepted, trial_value)  # fmt: skip
        return new_state, info

    return Solver(init, step)


def _check_initial_point(z0: Params) -> None:
    leaves = jax.tree.leaves(z0)
    if not leaves:
        raise ValueError("z0 has no array leaves")
    for leaf in leaves:
        leaf = np.asarray(leaf)
        if not np.issubdtype(leaf.dtype, np.floating):
            raise ValueError(f"z0 must hold floating-point arrays, got dtype {leaf.dtype}")
        if not np.all(np.isfinite(leaf)):
            raise ValueError("z0 contains non-finite (NaN or inf) entries")


def minimize(
    solver: Solver,
    z0: Params,
    *,
    max_iterations: int = 100,
    tolerance: float = 1e-8,
    value_tolerance: float = 1e-14,
    progress: bool = False,
) -> OptimizeResult:
    """Run ``solver`` from ``z0`` until a tolerance is met.

    A Python loop around the jitted ``solver.step`` (compiled once per solver), so each
    iteration is recorded and, with ``progress``, shown on a tqdm bar. It stops, converged,
    when

    * the gradient norm is at most ``tolerance × ‖g(z0)‖`` (relative gradient test), or
    * the cost decrease of a step is at most ``value_tolerance × |J_{k−1}|`` (relative
      decrease test; ``value_tolerance`` is a plain number, e.g. 1e-14 ≈ 50 float64 ulps,
      i.e. the cost has stalled at round-off; 0 stops only on a step that leaves the cost
      unchanged),

    and, not converged, when the line search fails (finite costs but no sufficient decrease,
    usually round-off) or after ``max_iterations`` steps.

    Args:
        solver: a `Solver`, e.g. from `newton_cg` or `lbfgs`.
        z0: starting point, a pytree of finite floating-point arrays.
        max_iterations: maximum outer iterations, ≥ 1.
        tolerance: relative gradient-norm tolerance, ≥ 0.
        value_tolerance: relative cost-decrease tolerance, ≥ 0.
        progress: show a tqdm progress bar.

    Returns:
        An `OptimizeResult`.

    Raises:
        ValueError: if ``z0`` is not finite floating point, an option is out of range, the
            initial cost or gradient is not finite, or the cost or gradient becomes non-finite
            at some iteration, including at every trial point of a failed line search (the
            message names the iteration).
    """
    if int(max_iterations) != max_iterations or max_iterations < 1:
        raise ValueError(f"max_iterations must be an integer ≥ 1, got {max_iterations}")
    if not tolerance >= 0.0:
        raise ValueError(f"tolerance must be ≥ 0, got {tolerance}")
    if not value_tolerance >= 0.0:
        raise ValueError(f"value_tolerance must be ≥ 0, got {value_tolerance}")
    _check_initial_point(z0)

    state = jax.jit(solver.init)(z0)
    value = float(state.value)
    grad_norm = float(optax.tree.norm(state.grad))
    if not np.isfinite(value):
        raise ValueError(f"initial cost is not finite (value={value}) at z0")
    if not np.isfinite(grad_norm):
        raise ValueError(f"initial gradient is not finite (norm={grad_norm}) at z0")
    initial_grad_norm = grad_norm
    records = [(value, grad_norm, 0.0, int(state.n_evaluations))]
    step = jax.jit(solver.step)

    converged = grad_norm == 0.0
    reason = "gradient is zero at z0" if converged else ""
    iteration = 0
    with tqdm.tqdm(total=max_iterations, disable=not progress, desc="minimize", unit="iteration") as bar:
        while not reason:
            if iteration == max_iterations:
                reason = f"max_iterations ({max_iterations}) reached"
                break
            iteration += 1
            state, info = step(state)
            previous_value = value
            value, grad_norm = float(info.value), float(info.grad_norm)
            if not (np.isfinite(value) and np.isfinite(grad_norm)):
                raise ValueError(f"cost or gradient became non-finite at iteration {iteration} "
                                 f"(value={value}, grad_norm={grad_norm})")  # fmt: skip
            records.append((value, grad_norm, float(info.step_size), int(state.n_evaluations)))
            bar.update()
            bar.set_postfix(value=f"{value:.6e}", grad=f"{grad_norm / initial_grad_norm:.2e}")
            if bool(info.line_search_failed):
                trial_value = float(info.trial_value)
                if not np.isfinite(trial_value):
                    raise ValueError(f"cost became non-finite (trial value={trial_value}) along "
                                     f"the search direction at iteration {iteration}")  # fmt: skip
                reason = (f"line search found no sufficient decrease at iteration {iteration}"
                          f" (gradient norm ratio {grad_norm / initial_grad_norm:.2e}; the cost "
                          "is at round-off level, or the gradient is inconsistent with it)")
            elif grad_norm <= tolerance * initial_grad_norm:
                converged = True
                reason = f"gradient norm ≤ tolerance × initial ({tolerance:g})"
            elif previous_value - value <= value_tolerance * abs(previous_value):
                converged = True
                reason = f"relative cost decrease ≤ value_tolerance ({value_tolerance:g})"

    trace = OptimizeTrace(*(np.array(column) for column in zip(*records)))
    return OptimizeResult(state.params, value, grad_norm, iteration, bool(converged), reason,
                          trace)  # fmt: skip
