"""`solve`: a fixed-step time loop (``lax.scan``) that records observations at every step, with
a choice of how its reverse-mode derivative is computed (diffrax-style ``adjoint=``).

| strategy | stored for reverse mode | extra forward work | exact for the discrete model | composes with `jvp` / `jacfwd` |
|---|---|---|---|---|
| `DirectAdjoint()` | every step's residuals (all stages) | none | yes (reverse AD through the scan) | yes |
| `CheckpointAdjoint(n)` | ``n`` block states + one block's residuals (O(√N) at ``n = √N``) | ≈ 1 solve | yes | yes |
| `SymplecticAdjoint(k)` | ``N/k`` checkpoints + ``k`` step endpoints, no graph (O(√N) at ``k = √N``) | ≈ 1 solve + stage recomputation | yes (partner scheme, to round-off) | reverse mode only; use `hessian_sweep` for H·v |
| `ContinuousAdjoint()` | every step endpoint | none | **no**: O(hᵠ) (labelled approximation, for comparison) | reverse mode only |
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp

from sjax.integrate.schemes import _add, _split, _zeros_like

__all__ = [
    "DirectAdjoint", "CheckpointAdjoint", "SymplecticAdjoint", "ContinuousAdjoint", "solve",
    "hessian_sweep", "tangent_solve",
]  # fmt: skip


class DirectAdjoint(eqx.Module):
    """Reverse-mode AD through the ``lax.scan``: the exact discrete adjoint, full memory."""


class CheckpointAdjoint(eqx.Module):
    """Nested ``lax.scan`` with ``jax.checkpoint`` on the inner blocks.

    Attributes:
        checkpoints: number of stored block states; default ``ceil(√N)`` (O(√N) memory).
    """

    checkpoints: int | None = eqx.field(static=True, default=None)


class SymplecticAdjoint(eqx.Module):
    """Hand-built ``custom_vjp``: the forward pass stores a state every ``checkpoint_every``
    steps and nothing else; the backward pass recomputes each block's step endpoints, then each
    step's stages, and integrates the adjoint with the scheme's symplectic partner.

    Attributes:
        checkpoint_every: steps between stored states; default ``ceil(√N)`` (O(√N) memory).
            ``1`` stores every step endpoint (Matsubara et al.'s variant, no recomputation of
            blocks).
    """

    checkpoint_every: int | None = eqx.field(static=True, default=None)


class ContinuousAdjoint(eqx.Module):
    """The continuous adjoint ``λ' = −f'(x)ᵀλ`` integrated backwards with the *same* (non-partner)
    Runge–Kutta tableau, from the stored step endpoints. Not exact for the discrete model: its
    error decays as O(hᵠ). Provided to show why the partner scheme matters; `RungeKutta` only.
    """


def _where(condition, new, old):
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), new, old)


def _scan_blocks(block_fn, carry, blocks, *, padded: bool, reverse: bool = False):
    """``lax.scan`` of ``block_fn(carry, block, masked) -> (carry, y)`` over the leading axis of
    ``blocks``. Only the last block can hold padding steps, so only it runs with
    ``masked=True`` (the per-step ``where`` of padded steps costs a pass over every state
    array); the others run unmasked."""
    if not padded:
        return jax.lax.scan(partial(block_fn, masked=False), carry, blocks, reverse=reverse)
    head = jax.tree.map(lambda a: a[:-1], blocks)
    last = jax.tree.map(lambda a: a[-1], blocks)
    if reverse:
        carry, y_last = block_fn(carry, last, masked=True)
        carry, ys = jax.lax.scan(partial(block_fn, masked=False), carry, head, reverse=True)
    else:
        carry, ys = jax.lax.scan(partial(block_fn, masked=False), carry, head)
        carry, y_last = block_fn(carry, last, masked=True)
    return carry, _stack_last(ys, y_last)


def _block_size(n_steps: int, requested: int | None) -> int:
    if requested is None:
        return max(1, math.ceil(math.sqrt(n_steps)))
    if int(requested) < 1:
        raise ValueError(f"checkpoint_every={requested} must be a positive number of steps")
    return min(int(requested), n_steps)


def _pad_steps(tree, n_total: int):
    """Pad the leading (time) axis of every leaf to ``n_total`` with its last entry."""

    def pad(a):
        extra = n_total - a.shape[0]
        return a if extra == 0 else jnp.concatenate([a, jnp.repeat(a[-1:], extra, 0)], 0)

    return jax.tree.map(pad, tree)


def _pad_zeros(tree, n_total: int):
    """Pad the leading (time) axis of every leaf to ``n_total`` with zeros (cotangents)."""
    return jax.tree.map(
        lambda a: jnp.pad(a, [(0, n_total - a.shape[0])] + [(0, 0)] * (a.ndim - 1)), tree)


def _blocked(tree, n_block: int, block: int):
    return jax.tree.map(lambda a: a.reshape(n_block, block, *a.shape[1:]), tree)


def _unblocked(tree, n_keep: int):
    return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:])[:n_keep], tree)


def _stack_last(observations, last):
    return jax.tree.map(lambda a, b: jnp.concatenate([a, b[None]], 0), observations, last)


def solve(
    scheme,
    x0,
    args,
    *,
    n_steps: int,
    dt: float,
    observe: Callable,
    t0: float = 0.0,
    inputs=None,
    adjoint=DirectAdjoint(),
):
    """Run ``n_steps`` steps of ``scheme`` from ``x0`` and observe every step endpoint.

    Args:
        scheme: a `RungeKutta`, `Splitting` or `DiscreteMap` (``sjax.integrate.schemes``).
        x0: initial state, a pytree of float arrays.
        args: parameters passed to the vector field / map (any pytree; gradients flow to its
            float arrays).
        n_steps: number of steps ``N`` (static).
        dt: step size ``h`` (static; in the time unit of the vector field).
        observe: ``observe(x, args) -> y`` (pytree of arrays), the observation operator H.
        t0: time of ``x0``.
        inputs: optional per-step inputs with leading axis ``N`` (``u_n`` drives step n → n+1,
            e.g. a source amplitude); gradients flow to them.
        adjoint: `DirectAdjoint`, `CheckpointAdjoint`, `SymplecticAdjoint` or
            `ContinuousAdjoint`.

    Returns:
        ``y`` stacked over the ``N + 1`` step endpoints (leading axis ``N + 1``): row ``n`` is
        ``observe(x_n, args)``, ``x_n`` the state after ``n`` steps. Select the observed steps by
        indexing.
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"n_steps={n_steps} must be at least 1")
    if inputs is not None:
        lengths = {a.shape[0] for a in jax.tree.leaves(inputs)}
        if lengths != {n_steps}:
            raise ValueError(f"inputs need a leading axis of n_steps={n_steps}, got {lengths}")
    config = (scheme, observe, n_steps, float(dt), float(t0))
    if isinstance(adjoint, DirectAdjoint):
        return _solve_direct(x0, args, inputs, config)
    if isinstance(adjoint, CheckpointAdjoint):
        n_block = _block_size(n_steps, adjoint.checkpoints)
        return _solve_blocked(x0, args, inputs, config, -(-n_steps // n_block), remat=True)
    if isinstance(adjoint, SymplecticAdjoint):
        block = _block_size(n_steps, adjoint.checkpoint_every)
        return _solve_symplectic((x0, args, inputs), config, block)
    if isinstance(adjoint, ContinuousAdjoint):
        if not hasattr(scheme, "tableau"):
            raise TypeError("ContinuousAdjoint needs a RungeKutta scheme")
        return _solve_continuous((x0, args, inputs), config)
    raise TypeError(f"adjoint must be an adjoint strategy, got {type(adjoint).__name__}")


def _step_body(scheme, args, dt, t0, n_steps, masked=True):
    """One step ``x → x_next``; with ``masked``, steps ``n ≥ n_steps`` (padding) leave ``x``."""
    def body(x, step_input):
        n, u = step_input
        x_next = scheme.step(t0 + n * dt, dt, x, args, u)
        return _where(n < n_steps, x_next, x) if masked else x_next

    return body


def _solve_direct(x0, args, inputs, config):
    scheme, observe, n_steps, dt, t0 = config
    body = _step_body(scheme, args, dt, t0, n_steps)

    def scan_body(x, step_input):
        return body(x, step_input), observe(x, args)

    x_final, ys = jax.lax.scan(scan_body, x0, (jnp.arange(n_steps), inputs))
    return _stack_last(ys, observe(x_final, args))


def _solve_blocked(x0, args, inputs, config, block, remat):
    """Forward run in blocks of ``block`` steps; returns observations and block start states."""
    scheme, observe, n_steps, dt, t0 = config
    n_block = -(-n_steps // block)
    steps = jnp.arange(n_block * block).reshape(n_block, block)
    padded = None if inputs is None else _blocked(_pad_steps(inputs, n_block * block), n_block,
                                                  block)  # fmt: skip

    def run_block(x, args, block_steps, block_inputs, masked):
        body = _step_body(scheme, args, dt, t0, n_steps, masked)

        def scan_body(x, step_input):
            return body(x, step_input), observe(x, args)

        return jax.lax.scan(scan_body, x, (block_steps, block_inputs))

    if remat:
        run_block = jax.checkpoint(run_block, static_argnums=(4,))

    def outer(x, block_input, masked):
        block_steps, block_inputs = block_input
        return run_block(x, args, block_steps, block_inputs, masked)

    x_final, ys = _scan_blocks(outer, x0, (steps, padded), padded=n_block * block > n_steps)
    return _stack_last(_unblocked(ys, n_steps), observe(x_final, args))


def _forward_checkpoints(x0, args, inputs, config, block):
    """Observations at every endpoint, the states at block starts, and the final state."""
    scheme, observe, n_steps, dt, t0 = config
    n_block = -(-n_steps // block)
    steps = jnp.arange(n_block * block).reshape(n_block, block)
    padded = None if inputs is None else _blocked(_pad_steps(inputs, n_block * block), n_block,
                                                  block)  # fmt: skip

    def outer(x, block_input, masked):
        block_steps, block_inputs = block_input
        body = _step_body(scheme, args, dt, t0, n_steps, masked)

        def scan_body(x, step_input):
            return body(x, step_input), observe(x, args)

        x_next, ys = jax.lax.scan(scan_body, x, (block_steps, block_inputs))
        return x_next, (x, ys)

    x_final, (starts, ys) = _scan_blocks(outer, x0, (steps, padded),
                                         padded=n_block * block > n_steps)  # fmt: skip
    return _stack_last(_unblocked(ys, n_steps), observe(x_final, args)), starts, x_final


@eqx.filter_custom_vjp
def _solve_symplectic(primal, config, block):
    x0, args, inputs = primal
    return _forward_checkpoints(x0, args, inputs, config, block)[0]


@_solve_symplectic.def_fwd
def _solve_symplectic_fwd(perturbed, primal, config, block):
    x0, args, inputs = primal
    ys, starts, x_final = _forward_checkpoints(x0, args, inputs, config, block)
    return ys, (starts, x_final)


def _observation_pullback(observe, x, args_diff, args_rest, y_bar):
    """``(x̄, ārgs)`` of ``observe`` at ``x`` for the cotangent ``y_bar``."""
    def f(x, diff):
        return observe(x, eqx.combine(diff, args_rest))

    return jax.vjp(f, x, args_diff)[1](y_bar)


def _cotangent_rows(y_bar, ys_template, n_total):
    """Observation cotangents as dense arrays (zeros where JAX passed a symbolic zero), padded
    along time to ``n_total + 1`` rows."""
    y_bar = jax.tree.map(lambda g, y: jnp.zeros_like(y) if g is None else g, y_bar, ys_template,
                         is_leaf=lambda g: g is None)  # fmt: skip
    return _pad_zeros(y_bar, n_total + 1)


@_solve_symplectic.def_bwd
def _solve_symplectic_bwd(residuals, y_bar, perturbed, primal, config, block):
    starts, x_final = residuals
    x0, args, inputs = primal
    scheme, observe, n_steps, dt, t0 = config
    n_block = -(-n_steps // block)
    _, args_mask, inputs_mask = perturbed
    diff, rest = _split(args, args_mask)
    ys_template = jax.eval_shape(lambda: _forward_checkpoints(x0, args, inputs, config, block)[0])
    y_bar = _cotangent_rows(y_bar, ys_template, n_block * block)
    y_bar_final = jax.tree.map(lambda a: a[n_steps], y_bar)
    y_bar_steps = _blocked(_pad_zeros(jax.tree.map(lambda a: a[:n_steps], y_bar),
                                      n_block * block), n_block, block)  # fmt: skip
    steps = jnp.arange(n_block * block).reshape(n_block, block)
    padded = None if inputs is None else _blocked(_pad_steps(inputs, n_block * block), n_block,
                                                  block)  # fmt: skip

    lam, diff_bar = _observation_pullback(observe, x_final, diff, rest, y_bar_final)
    # a hand-written adjoint step may read x_{n+1}: carried backwards (the state after step n),
    # never stored twice
    uses_next = getattr(scheme, "uses_next_state", False)

    def adjoint_block(carry, block_input, masked):
        lam, diff_bar, x_next = carry
        start, block_steps, block_inputs, block_y_bar = block_input
        states = _recompute_block(_step_body(scheme, args, dt, t0, n_steps, masked), start,
                                  block_steps, block_inputs)  # fmt: skip

        def adjoint_one(carry, step_data):
            lam, diff_bar, x_next = carry
            x, n, u, step_y_bar = step_data
            next_state = {"x_next": x_next} if uses_next else {}
            lam_prev, step_diff_bar, u_bar = scheme.adjoint_step(
                t0 + n * dt, dt, x, args, u, lam, mask=args_mask, input_mask=inputs_mask,
                **next_state)  # fmt: skip
            new = (lam_prev, _add(diff_bar, step_diff_bar))
            if u is not None:
                u_bar = _fill(u_bar, _split(u, inputs_mask)[0])
            if masked:
                active = n < n_steps
                new = _where(active, new, (lam, diff_bar))
                u_bar = None if u is None else _where(active, u_bar, _zeros_like(u_bar))
            lam, diff_bar = new
            obs_x_bar, obs_diff_bar = _observation_pullback(observe, x, diff, rest, step_y_bar)
            x_carry = x if uses_next else x_next
            return (_add(lam, obs_x_bar), _add(diff_bar, obs_diff_bar), x_carry), u_bar

        (lam, diff_bar, x_next), u_bars = jax.lax.scan(
            adjoint_one, (lam, diff_bar, x_next), (states, block_steps, block_inputs,
                                                   block_y_bar), reverse=True,
        )  # fmt: skip
        return (lam, diff_bar, x_next), u_bars

    x_next = x_final if uses_next else None
    (lam, diff_bar, _), u_bars = _scan_blocks(
        adjoint_block, (lam, diff_bar, x_next), (starts, steps, padded, y_bar_steps),
        padded=n_block * block > n_steps, reverse=True,
    )  # fmt: skip
    inputs_bar = None if inputs is None else _unblocked(u_bars, n_steps)
    return lam, diff_bar, inputs_bar


def _recompute_block(body, start, block_steps, block_inputs):
    """The states ``x_n`` at the ``block`` steps of a block, recomputed from its start state
    (stacked on a leading axis; the block's last step is recomputed too, which is cheaper
    than concatenating the start onto ``block − 1`` recomputed states)."""

    if block_steps.shape[0] == 1:  # every state is a checkpoint: nothing to recompute
        return jax.tree.map(lambda a: a[None], start)

    def recompute(x, step_input):
        return body(x, step_input), x

    return jax.lax.scan(recompute, start, (block_steps, block_inputs))[1]


def _fill(cotangent, template):
    """``cotangent`` with ``None`` leaves (no dependence) replaced by zeros of ``template``."""
    if cotangent is None:
        return _zeros_like(template)
    return jax.tree.map(lambda c, t: jnp.zeros_like(t) if c is None else c, cotangent, template,
                        is_leaf=lambda c: c is None)  # fmt: skip


@eqx.filter_custom_vjp
def _solve_continuous(primal, config):
    x0, args, inputs = primal
    return _solve_direct(x0, args, inputs, config)


@_solve_continuous.def_fwd
def _solve_continuous_fwd(perturbed, primal, config):
    x0, args, inputs = primal
    scheme, observe, n_steps, dt, t0 = config
    body = _step_body(scheme, args, dt, t0, n_steps)

    def scan_body(x, step_input):
        return body(x, step_input), (observe(x, args), x)

    x_final, (ys, states) = jax.lax.scan(scan_body, x0, (jnp.arange(n_steps), inputs))
    return _stack_last(ys, observe(x_final, args)), (states, x_final)


@_solve_continuous.def_bwd
def _solve_continuous_bwd(residuals, y_bar, perturbed, primal, config):
    states, x_final = residuals
    x0, args, inputs = primal
    scheme, observe, n_steps, dt, t0 = config
    diff, rest = _split(args)
    ys_template = jax.eval_shape(lambda: _solve_direct(x0, args, inputs, config))
    y_bar = _cotangent_rows(y_bar, ys_template, n_steps)
    tableau, f = scheme.tableau, scheme.vector_field

    def augmented(t, z):
        x, lam, _ = z
        rate, pullback = jax.vjp(lambda x, d: f(t, x, eqx.combine(d, rest)), x, diff)
        lam_rate, diff_rate = pullback(lam)
        neg = lambda tree: jax.tree.map(jnp.negative, tree)  # noqa: E731
        return rate, neg(lam_rate), neg(diff_rate)

    def backward_step(carry, step_data):
        lam, diff_bar = carry
        x_next, n, step_y_bar = step_data
        t_next = t0 + (n + 1) * dt
        z = (x_next, lam, _zeros_like(diff))
        slopes = []
        for i in range(tableau.stages):  # the same explicit tableau with step −h
            stage = z
            for j in range(i):
                if tableau.a[i][j] != 0.0:
                    stage = jax.tree.map(lambda s, k, c=tableau.a[i][j]: s - dt * c * k, stage,
                                         slopes[j])  # fmt: skip
            slopes.append(augmented(t_next - tableau.c[i] * dt, stage))
        for b_i, k_i in zip(tableau.b, slopes):
            z = jax.tree.map(lambda s, k, c=b_i: s - dt * c * k, z, k_i)
        _, lam, stage_diff_bar = z
        return (lam, _add(diff_bar, stage_diff_bar)), None

    lam, diff_bar = _observation_pullback(observe, x_final, diff, rest,
                                          jax.tree.map(lambda a: a[n_steps], y_bar))
    next_states = jax.tree.map(lambda s, last: jnp.concatenate([s[1:], last[None]], 0), states,
                               x_final)  # fmt: skip

    def step_back(carry, data):
        x_next, x, n, y_bar_n = data
        (lam, diff_bar), _ = backward_step(carry, (x_next, n, None))
        obs_x_bar, obs_diff_bar = _observation_pullback(observe, x, diff, rest, y_bar_n)
        return (_add(lam, obs_x_bar), _add(diff_bar, obs_diff_bar)), None

    y_bar_steps = jax.tree.map(lambda a: a[:n_steps], y_bar)
    (lam, diff_bar), _ = jax.lax.scan(
        step_back, (lam, diff_bar), (next_states, states, jnp.arange(n_steps), y_bar_steps),
        reverse=True,
    )  # fmt: skip
    return lam, diff_bar, None


def tangent_solve(scheme, x0, args, dx0, dargs, *, n_steps, dt, observe, t0=0.0, inputs=None,
                  dinputs=None):  # fmt: skip
    """Forward and tangent (linearised) solve: ``(y, δy)`` stacked over the ``N + 1`` endpoints,
    ``δy`` the directional derivative of `solve`'s output along ``(dx0, dargs, dinputs)``."""

    def run(x0, args, inputs):
        return _solve_direct(x0, args, inputs, (scheme, observe, int(n_steps), float(dt),
                                                float(t0)))  # fmt: skip

    return jax.jvp(run, (x0, args, inputs), (dx0, dargs, dinputs))


def hessian_sweep(
    scheme,
    x0,
    args,
    dx0,
    dargs,
    output_gradient: Callable,
    *,
    n_steps: int,
    dt: float,
    observe: Callable,
    t0: float = 0.0,
    inputs=None,
    dinputs=None,
    checkpoint_every: int | None = None,
):
    """Second-order adjoint: gradient and Hessian–vector product of ``C(solve(...))``.

    With ``Y(x0, args, inputs)`` the stacked observations of `solve` and a scalar cost
    ``C(Y)`` given through its gradient ``output_gradient(Y) = ∇_Y C``, this runs

    1. the forward and tangent sweeps ``(x_n, δx_n)`` from ``(x0, dx0)`` along
       ``(dargs, dinputs)``, storing a state pair every ``checkpoint_every`` steps;
    2. the first- and second-order adjoint sweeps ``(λ_n, μ_n)`` with the partner scheme,
       recomputing each block's endpoints and each step's stages, forced at every endpoint by
       ``H'ᵀ ∇_Y C`` and by its derivative along the tangent.

    Returns:
        ``((x̄0, ārgs, ūnputs), (δx̄0, δārgs, δūnputs), y)``: the gradient of ``C`` with respect
        to ``(x0, args, inputs)`` (float leaves; ``None`` elsewhere), its directional derivative
        along the tangent, i.e. the Hessian–vector product, and the observations ``y``. Exact to round-off for the discrete
        model; memory O(N/k + k) state pairs, cost about four solves.
    """
    n_steps, dt, t0 = int(n_steps), float(dt), float(t0)
    block = _block_size(n_steps, checkpoint_every)
    n_block = -(-n_steps // block)
    diff, rest = _split(args)
    ddiff = dargs = _tangent_of(args, dargs)
    dinputs = _tangent_of(inputs, dinputs)
    pair_scheme = _TangentPair(scheme)
    pair_args = (args, dargs)
    pair_inputs = None if inputs is None else (inputs, dinputs)
    pair_config = (pair_scheme, _pair_observe(observe), n_steps, dt, t0)
    (ys, dys), starts, (x_final, dx_final) = _forward_checkpoints(
        (x0, dx0), pair_args, pair_inputs, pair_config, block
    )
    y_bar, dy_bar = jax.jvp(output_gradient, (ys,), (dys,))
    y_bar = _pad_zeros(y_bar, n_block * block + 1)
    dy_bar = _pad_zeros(dy_bar, n_block * block + 1)

    def observation_forcing(x, dx, g, dg):
        def pull(x, d, g):
            return _observation_pullback(observe, x, d, rest, g)

        return jax.jvp(pull, (x, diff, g), (dx, ddiff, dg))

    last = lambda tree: jax.tree.map(lambda a: a[n_steps], tree)  # noqa: E731
    (lam, diff_bar), (mu, ddiff_bar) = observation_forcing(x_final, dx_final, last(y_bar),
                                                           last(dy_bar))  # fmt: skip
    steps = jnp.arange(n_block * block).reshape(n_block, block)
    cut = lambda tree: _blocked(_pad_zeros(jax.tree.map(lambda a: a[:n_steps], tree),
                                           n_block * block), n_block, block)  # noqa: E731
    padded = None if inputs is None else _blocked(
        _pad_steps(pair_inputs, n_block * block), n_block, block)  # fmt: skip

    def adjoint_block(carry, block_input, masked):
        start, block_steps, block_inputs, g_block, dg_block = block_input
        states = _recompute_block(_step_body(pair_scheme, pair_args, dt, t0, n_steps, masked),
                                  start, block_steps, block_inputs)  # fmt: skip

        def adjoint_one(carry, step_data):
            lam, mu, diff_bar, ddiff_bar = carry
            (x, dx), n, pair_u, g, dg = step_data
            u, du = (None, None) if pair_u is None else pair_u
            lam_prev, mu_prev, p_bar, dp_bar, u_bar, du_bar = scheme.second_order_adjoint_step(
                t0 + n * dt, dt, x, dx, args, dargs, u, du, lam, mu
            )
            new = (lam_prev, mu_prev, _add(diff_bar, p_bar), _add(ddiff_bar, dp_bar))
            if u is None:
                u_bars = None
            else:
                u_template = _split(u)[0]
                u_bars = (_fill(u_bar, u_template), _fill(du_bar, u_template))
            if masked:
                active = n < n_steps
                new = _where(active, new, (lam, mu, diff_bar, ddiff_bar))
                u_bars = None if u is None else _where(active, u_bars, _zeros_like(u_bars))
            lam, mu, diff_bar, ddiff_bar = new
            (ox, op), (dox, dop) = observation_forcing(x, dx, g, dg)
            carry = (_add(lam, ox), _add(mu, dox), _add(diff_bar, op), _add(ddiff_bar, dop))
            return carry, u_bars

        return jax.lax.scan(adjoint_one, carry, (states, block_steps, block_inputs, g_block,
                                                 dg_block), reverse=True)  # fmt: skip

    (lam, mu, diff_bar, ddiff_bar), u_bars = _scan_blocks(
        adjoint_block, (lam, mu, diff_bar, ddiff_bar),
        (starts, steps, padded, cut(y_bar), cut(dy_bar)), padded=n_block * block > n_steps,
        reverse=True,
    )  # fmt: skip
    if inputs is None:
        inputs_bar = dinputs_bar = None
    else:
        inputs_bar, dinputs_bar = (_unblocked(u, n_steps) for u in u_bars)
    return (lam, diff_bar, inputs_bar), (mu, ddiff_bar, dinputs_bar), ys


class _TangentPair(eqx.Module):
    """A scheme acting on ``(x, δx)`` pairs: the forward step and its tangent (JVP). The
    tangents of ``args`` and ``u`` hold arrays at their float leaves only (see `_tangent_of`)."""

    scheme: object

    def step(self, t, h, pair, pair_args, pair_u):
        (x, dx), (args, dargs) = pair, pair_args
        u, du = (None, None) if pair_u is None else pair_u
        (diff, rest), (diff_u, rest_u) = _split(args), _split(u)

        def one(x, d, d_u):
            return self.scheme.step(t, h, x, eqx.combine(d, rest), eqx.combine(d_u, rest_u))

        return jax.jvp(one, (x, diff, diff_u), (dx, dargs, du))


def _tangent_of(primal, tangent):
    """The leaves of ``tangent`` at the float leaves of ``primal`` (``None`` elsewhere)."""
    if primal is None:
        return None
    return eqx.partition(tangent, jax.tree.map(eqx.is_inexact_array, primal))[0]


def _pair_observe(observe):
    def pair_observe(pair, pair_args):
        (x, dx), (args, dargs) = pair, pair_args
        diff, rest = _split(args)
        return jax.jvp(lambda x, d: observe(x, eqx.combine(d, rest)), (x, diff), (dx, dargs))

    return pair_observe
