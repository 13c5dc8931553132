"""Explicit one-step schemes and their exact (symplectic-partner) adjoint steps.

Three families, one interface. Each scheme advances ``x_n → x_{n+1}`` and knows three more
sweeps of the same step, all evaluated at the stage points of the forward step:

* ``step(t, h, x, args, u)`` — the forward step;
* ``adjoint_step(t, h, x, args, u, lam)`` — ``λ_n = (∂x_{n+1}/∂x_n)ᵀ λ_{n+1}`` plus the cotangents
  of ``args`` and ``u``, by recomputing the stages from ``x_n`` and running the *symplectic
  partner* of the scheme stage by stage (one vector–Jacobian product of the vector field per
  stage, so the graph held at any time is that of a single evaluation);
* ``second_order_adjoint_step(...)`` — the same sweep together with its directional derivative
  along a tangent ``(δx_n, δargs, δu)``: the second-order adjoint of Ito, Matsuda & Miyatake
  (2021), whose stage recursion is the partner scheme applied to ``(λ, δλ)``.

For a Runge–Kutta tableau ``(a, b, c)`` the stage adjoints are

    K̄_i = h b_i λ_{n+1} + h Σ_{j>i} a_ji X̄_j,    X̄_i = f'(X_i)ᵀ K̄_i,    λ_n = λ_{n+1} + Σ_i X̄_i,

which is Sanz-Serna's partner partitioned RK (``B_i = b_i``, ``A_ij = b_j − b_j a_ji / b_i``)
written with ``Λ_i = K̄_i / (h b_i)``; this form needs no ``b_i ≠ 0``. The pair conserves the
quadratic invariant ``λ_nᵀ δx_n``, which is why the gradient is exact for the discrete model.

Splitting (kick–drift) schemes for partitioned systems ``q' = g(t, q, p)``, ``p' = k(t, q, p)``
are explicit partitioned RK methods (Störmer–Verlet, Yoshida's and Suzuki's compositions); each
sub-update ``x ← x + h c F(x)`` is reversed by ``x̄ ← x̄ + F'(x)ᵀ (h c x̄_component)`` at its stored
sub-state. A `DiscreteMap` wraps any hand-written step (the wave propagators' leapfrog with its
C-PML memory recursion, which is dissipative and cannot be run backwards): its adjoint step is the
vector–Jacobian product of that step at the recomputed ``x_n``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = [
    "ButcherTableau", "SplittingCoefficients", "RungeKutta", "Splitting", "DiscreteMap",
    "EULER", "HEUN", "RK3", "RK4", "RK4_38", "STORMER_VERLET", "YOSHIDA4", "SUZUKI4",
]  # fmt: skip


def _add(a, b):
    return jax.tree.map(lambda x, y: x + y, a, b)


def _axpy(alpha, x, y):
    """``alpha·x + y`` over pytrees (``alpha`` a Python float)."""
    return jax.tree.map(lambda xi, yi: alpha * xi + yi, x, y)


def _zeros_like(tree):
    return jax.tree.map(jnp.zeros_like, tree)


def _restrict(cotangent, diff):
    """``cotangent`` (structured like the full tree) cut to the leaves present in ``diff`` (the
    first part of `_split`), None elsewhere."""
    if diff is None:
        return None
    return jax.tree.map(lambda d, c: None if d is None else c, diff, cotangent,
                        is_leaf=lambda d: d is None)  # fmt: skip


def _split(args, mask=None):
    """``(inexact arrays, the rest)`` of a pytree, so cotangents exist only for the former.

    ``mask`` (a tree of bools of the same structure, e.g. the ``perturbed`` flags of a custom
    VJP) further restricts the first part to the leaves being differentiated.
    """
    if mask is None:
        return eqx.partition(args, eqx.is_inexact_array)
    keep = jax.tree.map(lambda m, a: bool(m) and eqx.is_inexact_array(a), mask, args)
    return eqx.partition(args, keep)


@dataclasses.dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta tableau (hashable; strictly lower-triangular ``a``).

    Attributes:
        a: ``s × s`` stage coefficients as nested tuples.
        b: ``(s,)`` weights.
        c: ``(s,)`` nodes (``c_i = Σ_j a_ij``).
        order: classical order of accuracy.
        name: for messages and tables.
    """

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    order: int
    name: str

    def __post_init__(self):
        s = len(self.b)
        if len(self.a) != s or any(len(row) != s for row in self.a) or len(self.c) != s:
            raise ValueError(f"tableau {self.name}: a must be {s}x{s} and c of length {s}")
        if any(self.a[i][j] != 0 for i in range(s) for j in range(i, s)):
            raise ValueError(f"tableau {self.name}: a must be strictly lower triangular")
        if not math.isclose(sum(self.b), 1.0, abs_tol=1e-14):
            raise ValueError(f"tableau {self.name}: weights b sum to {sum(self.b)}, not 1")
        for i in range(s):
            if not math.isclose(sum(self.a[i]), self.c[i], abs_tol=1e-14):
                raise ValueError(f"tableau {self.name}: row {i} of a does not sum to c[{i}]")

    @property
    def stages(self) -> int:
        return len(self.b)


EULER = ButcherTableau(((0.0,),), (1.0,), (0.0,), 1, "Euler")
HEUN = ButcherTableau(((0.0, 0.0), (1.0, 0.0)), (0.5, 0.5), (0.0, 1.0), 2, "Heun")
RK3 = ButcherTableau(
    ((0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (-1.0, 2.0, 0.0)), (1 / 6, 2 / 3, 1 / 6), (0.0, 0.5, 1.0),
    3, "Kutta RK3",
)  # fmt: skip
RK4 = ButcherTableau(
    ((0.0, 0.0, 0.0, 0.0), (0.5, 0.0, 0.0, 0.0), (0.0, 0.5, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)),
    (1 / 6, 1 / 3, 1 / 3, 1 / 6), (0.0, 0.5, 0.5, 1.0), 4, "RK4",
)  # fmt: skip
RK4_38 = ButcherTableau(
    ((0.0, 0.0, 0.0, 0.0), (1 / 3, 0.0, 0.0, 0.0), (-1 / 3, 1.0, 0.0, 0.0), (1.0, -1.0, 1.0, 0.0)),
    (1 / 8, 3 / 8, 3 / 8, 1 / 8), (0.0, 1 / 3, 2 / 3, 1.0), 4, "RK4 (3/8 rule)",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SplittingCoefficients:
    """A kick–drift splitting scheme ``Π_k [drift(a_k h) ∘ kick(b_k h)]`` (hashable).

    Sub-step ``k`` first kicks ``p ← p + b_k h k(t, q, p)`` and then drifts
    ``q ← q + a_k h g(t, q, p)``; zero coefficients are skipped.

    Attributes:
        kick: ``(m,)`` coefficients ``b_k`` (sum 1).
        drift: ``(m,)`` coefficients ``a_k`` (sum 1).
        order: order of accuracy for separable systems.
        name: for messages and tables.
    """

    kick: tuple[float, ...]
    drift: tuple[float, ...]
    order: int
    name: str

    def __post_init__(self):
        if len(self.kick) != len(self.drift):
            raise ValueError(f"splitting {self.name}: kick and drift need the same length")
        for label, coefficients in (("kick", self.kick), ("drift", self.drift)):
            if not math.isclose(sum(coefficients), 1.0, abs_tol=1e-13):
                raise ValueError(f"splitting {self.name}: {label} coefficients sum to "
                                 f"{sum(coefficients)}, not 1")  # fmt: skip


def _triple_jump(order: int = 4):
    """Yoshida's symmetric triple-jump composition of Störmer–Verlet (order 4)."""
    w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
    w0 = 1.0 - 2.0 * w1
    return _compose_verlet((w1, w0, w1), order, "Yoshida 4 (triple jump)")


def _suzuki_fractal():
    """Suzuki's five-stage fractal composition of Störmer–Verlet (order 4, smaller error
    constant than the triple jump)."""
    w = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
    return _compose_verlet((w, w, 1.0 - 4.0 * w, w, w), 4, "Suzuki 4 (fractal)")


def _compose_verlet(weights, order, name):
    """Kick–drift–kick Verlet steps of sizes ``w_i h`` composed, adjacent half kicks merged."""
    kick, drift = [], []
    for i, w in enumerate(weights):
        previous = weights[i - 1] if i else 0.0
        kick.append(0.5 * (previous + w))
        drift.append(w)
    kick.append(0.5 * weights[-1])
    drift.append(0.0)
    return SplittingCoefficients(tuple(kick), tuple(drift), order, name)


STORMER_VERLET = SplittingCoefficients((0.5, 0.5), (1.0, 0.0), 2, "Störmer–Verlet")
YOSHIDA4 = _triple_jump()
SUZUKI4 = _suzuki_fractal()


class RungeKutta(eqx.Module):
    """Explicit Runge–Kutta scheme for ``dx/dt = f(t, x, args)``.

    Attributes:
        vector_field: ``f(t, x, args) -> dx/dt`` with ``x`` any pytree of float arrays.
        tableau: a `ButcherTableau` (default `RK4`).

    Per-step inputs ``u`` are not used (pass ``inputs=None`` to `sjax.integrate.solve`).
    """

    vector_field: Callable = eqx.field(static=True)
    tableau: ButcherTableau = eqx.field(static=True, default=RK4)

    @property
    def name(self) -> str:
        return self.tableau.name

    def _field(self, t, rest):
        def f(x, diff):
            return self.vector_field(t, x, eqx.combine(diff, rest))

        return f

    def _stage_states(self, t, h, x, diff, rest, dx=None, ddiff=None):
        """Stage times, states ``X_i`` (and tangents ``V_i`` when ``dx`` is given)."""
        a, c = self.tableau.a, self.tableau.c
        times, states, tangents, slopes, slope_tangents = [], [], [], [], []
        for i in range(self.tableau.stages):
            state, tangent = x, dx
            for j in range(i):
                if a[i][j] != 0.0:
                    state = _axpy(h * a[i][j], slopes[j], state)
                    if dx is not None:
                        tangent = _axpy(h * a[i][j], slope_tangents[j], tangent)
            t_i = t + c[i] * h
            f = self._field(t_i, rest)
            if dx is None:
                slopes.append(f(state, diff))
            else:
                slope, slope_tangent = jax.jvp(f, (state, diff), (tangent, ddiff))
                slopes.append(slope)
                slope_tangents.append(slope_tangent)
            times.append(t_i)
            states.append(state)
            tangents.append(tangent)
        return times, states, tangents, slopes, slope_tangents

    def step(self, t, h, x, args, u=None):
        """``x_{n+1}`` from ``x_n`` at time ``t`` with step ``h``."""
        diff, rest = _split(args)
        _, _, _, slopes, _ = self._stage_states(t, h, x, diff, rest)
        for b_i, k_i in zip(self.tableau.b, slopes):
            if b_i != 0.0:
                x = _axpy(h * b_i, k_i, x)
        return x

    def adjoint_step(self, t, h, x, args, u, lam, mask=None, input_mask=None):
        """``(λ_n, args cotangent, None)`` from ``λ_{n+1}`` by the partner scheme (cotangents only
        for the float leaves of ``args`` that ``mask`` marks, all when it is None)."""
        a, b = self.tableau.a, self.tableau.b
        diff, rest = _split(args, mask)
        times, states, _, _, _ = self._stage_states(t, h, x, diff, rest)
        s = self.tableau.stages
        state_bars = [None] * s
        lam_out, diff_bar = lam, _zeros_like(diff)
        for i in reversed(range(s)):
            k_bar = jax.tree.map(lambda v: h * b[i] * v, lam)
            for j in range(i + 1, s):
                if a[j][i] != 0.0:
                    k_bar = _axpy(h * a[j][i], state_bars[j], k_bar)
            _, pullback = jax.vjp(self._field(times[i], rest), states[i], diff)
            state_bars[i], stage_diff_bar = pullback(k_bar)
            lam_out = _add(lam_out, state_bars[i])
            diff_bar = _add(diff_bar, stage_diff_bar)
        return lam_out, diff_bar, None

    def second_order_adjoint_step(self, t, h, x, dx, args, dargs, u, du, lam, mu):
        """``(λ_n, μ_n, args cotangent, its tangent, None, None)``: the first- and second-order
        adjoint stage recursions of the partner scheme, evaluated at the forward stages and
        their tangents."""
        a, b = self.tableau.a, self.tableau.b
        diff, rest = _split(args)
        ddiff, _ = _split(dargs)
        times, states, tangents, _, _ = self._stage_states(t, h, x, diff, rest, dx, ddiff)
        s = self.tableau.stages
        bars, dbars = [None] * s, [None] * s
        lam_out, mu_out = lam, mu
        diff_bar, ddiff_bar = _zeros_like(diff), _zeros_like(diff)
        for i in reversed(range(s)):
            k_bar = jax.tree.map(lambda v: h * b[i] * v, lam)
            dk_bar = jax.tree.map(lambda v: h * b[i] * v, mu)
            for j in range(i + 1, s):
                if a[j][i] != 0.0:
                    k_bar = _axpy(h * a[j][i], bars[j], k_bar)
                    dk_bar = _axpy(h * a[j][i], dbars[j], dk_bar)
            field = self._field(times[i], rest)

            def pull(state, d, cotangent, field=field):
                return jax.vjp(field, state, d)[1](cotangent)

            (bars[i], p_bar), (dbars[i], dp_bar) = jax.jvp(
                pull, (states[i], diff, k_bar), (tangents[i], ddiff, dk_bar)
            )
            lam_out, mu_out = _add(lam_out, bars[i]), _add(mu_out, dbars[i])
            diff_bar, ddiff_bar = _add(diff_bar, p_bar), _add(ddiff_bar, dp_bar)
        return lam_out, mu_out, diff_bar, ddiff_bar, None, None


class Splitting(eqx.Module):
    """Explicit splitting (partitioned RK) scheme for ``x = (q, p)``.

    Attributes:
        position_rate: ``g(t, (q, p), args) -> dq/dt`` (e.g. ``p/m``; for a symplectic scheme a
            function of ``p`` only).
        velocity_rate: ``k(t, (q, p), args) -> dp/dt`` (e.g. a force; may include a damping
            term in ``p`` for absorbing layers, which makes the scheme dissipative but leaves
            its adjoint exact).
        coefficients: `SplittingCoefficients` (default `STORMER_VERLET`).
    """

    position_rate: Callable = eqx.field(static=True)
    velocity_rate: Callable = eqx.field(static=True)
    coefficients: SplittingCoefficients = eqx.field(static=True, default=STORMER_VERLET)

    @property
    def name(self) -> str:
        return self.coefficients.name

    def _substeps(self, t, h):
        """``(component, coefficient·h, time)`` of every non-zero sub-update, in order."""
        out, time_q, time_p = [], t, t
        for kick, drift in zip(self.coefficients.kick, self.coefficients.drift):
            if kick != 0.0:
                out.append((1, kick * h, time_q))
                time_p = time_p + kick * h
            if drift != 0.0:
                out.append((0, drift * h, time_p))
                time_q = time_q + drift * h
        return out

    def _rate(self, component, time, rest):
        rate = self.velocity_rate if component else self.position_rate

        def f(x, diff):
            return rate(time, x, eqx.combine(diff, rest))

        return f

    @staticmethod
    def _update(x, component, value):
        return (value, x[1]) if component == 0 else (x[0], value)

    def _forward(self, t, h, x, diff, rest, dx=None, ddiff=None):
        """Sub-states before each sub-update (and their tangents), and the final state."""
        states, tangents = [], []
        for component, scale, time in self._substeps(t, h):
            states.append(x)
            tangents.append(dx)
            f = self._rate(component, time, rest)
            if dx is None:
                rate = f(x, diff)
            else:
                rate, drate = jax.jvp(f, (x, diff), (dx, ddiff))
                dx = self._update(dx, component, _axpy(scale, drate, dx[component]))
            x = self._update(x, component, _axpy(scale, rate, x[component]))
        return states, tangents, x

    def step(self, t, h, x, args, u=None):
        """``x_{n+1} = (q_{n+1}, p_{n+1})`` from ``x_n``."""
        diff, rest = _split(args)
        return self._forward(t, h, tuple(x), diff, rest)[2]

    def adjoint_step(self, t, h, x, args, u, lam, mask=None, input_mask=None):
        """``(λ_n, args cotangent, None)`` from ``λ_{n+1}``, sub-update by sub-update."""
        diff, rest = _split(args, mask)
        states, _, _ = self._forward(t, h, tuple(x), diff, rest)
        lam, diff_bar = tuple(lam), _zeros_like(diff)
        for (component, scale, time), state in zip(
            reversed(self._substeps(t, h)), reversed(states)
        ):
            cotangent = jax.tree.map(lambda v: scale * v, lam[component])
            _, pullback = jax.vjp(self._rate(component, time, rest), state, diff)
            state_bar, stage_diff_bar = pullback(cotangent)
            lam = _add(lam, state_bar)
            diff_bar = _add(diff_bar, stage_diff_bar)
        return lam, diff_bar, None

    def second_order_adjoint_step(self, t, h, x, dx, args, dargs, u, du, lam, mu):
        """First- and second-order adjoint sweeps of one step (see `RungeKutta`)."""
        diff, rest = _split(args)
        ddiff, _ = _split(dargs)
        states, tangents, _ = self._forward(t, h, tuple(x), diff, rest, tuple(dx), ddiff)
        lam, mu = tuple(lam), tuple(mu)
        diff_bar, ddiff_bar = _zeros_like(diff), _zeros_like(diff)
        for (component, scale, time), state, tangent in zip(
            reversed(self._substeps(t, h)), reversed(states), reversed(tangents)
        ):
            field = self._rate(component, time, rest)

            def pull(s, d, cotangent, field=field):
                return jax.vjp(field, s, d)[1](cotangent)

            cotangent = jax.tree.map(lambda v: scale * v, lam[component])
            dcotangent = jax.tree.map(lambda v: scale * v, mu[component])
            (s_bar, p_bar), (ds_bar, dp_bar) = jax.jvp(
                pull, (state, diff, cotangent), (tangent, ddiff, dcotangent)
            )
            lam, mu = _add(lam, s_bar), _add(mu, ds_bar)
            diff_bar, ddiff_bar = _add(diff_bar, p_bar), _add(ddiff_bar, dp_bar)
        return lam, mu, diff_bar, ddiff_bar, None, None


class DiscreteMap(eqx.Module):
    """A hand-written one-step map ``x_{n+1} = step(x_n, args, u_n)``.

    Use it for time steppers that are not (P)RK methods of an ODE, e.g. the wave propagators'
    leapfrog with its C-PML memory recursion (`sjax.wave.sh_step` / `psv_step`). Its adjoint step
    is ``adjoint_function`` when given (a hand-written exact adjoint), else the vector–Jacobian
    product of ``step`` at the recomputed ``x_n``; both are the exact discrete adjoint. The
    second-order step is the JVP of the VJP.

    Attributes:
        step_function: ``(x, args, u) -> x_next``; ``u`` is the per-step input (or None).
        name: for tables and messages.
        adjoint_function: optional ``(x, x_next, args, u, λ_next) -> (λ, args cotangent, input
            cotangent)``; the args cotangent has the structure of ``args`` (its non-float
            leaves are ignored).
    """

    step_function: Callable = eqx.field(static=True)
    name: str = eqx.field(static=True, default="discrete map")
    adjoint_function: Callable | None = eqx.field(static=True, default=None)

    @property
    def uses_next_state(self) -> bool:
        """Whether `adjoint_step` reads ``x_{n+1}`` (then `solve` passes ``x_next``)."""
        return self.adjoint_function is not None

    def _map(self, rest, rest_u):
        def f(x, diff, diff_u):
            return self.step_function(x, eqx.combine(diff, rest), eqx.combine(diff_u, rest_u))

        return f

    def step(self, t, h, x, args, u=None):
        """``x_{n+1}`` (``t`` and ``h`` are unused: the map carries its own time step)."""
        return self.step_function(x, args, u)

    def adjoint_step(self, t, h, x, args, u, lam, mask=None, input_mask=None, x_next=None):
        """``(λ_n, args cotangent, input cotangent)``: ``adjoint_function`` at
        ``(x_n, x_{n+1})`` when given (``x_next`` required), else one VJP of the map."""
        (diff, rest), (diff_u, rest_u) = _split(args, mask), _split(u, input_mask)
        if self.adjoint_function is not None:
            if x_next is None:
                raise ValueError(f"{self.name}: its adjoint_function needs x_next")
            lam_prev, args_bar, u_bar = self.adjoint_function(x, x_next, args, u, lam)
            return lam_prev, _restrict(args_bar, diff), _restrict(u_bar, diff_u)
        _, pullback = jax.vjp(self._map(rest, rest_u), x, diff, diff_u)
        return pullback(lam)

    def second_order_adjoint_step(self, t, h, x, dx, args, dargs, u, du, lam, mu):
        """``(λ_n, μ_n, args cotangent, its tangent, input cotangent, its tangent)``."""
        (diff, rest), (diff_u, rest_u) = _split(args), _split(u)
        ddiff, ddiff_u = _split(dargs)[0], _split(du)[0]
        f = self._map(rest, rest_u)

        def pull(x, d, d_u, cotangent):
            return jax.vjp(f, x, d, d_u)[1](cotangent)

        (x_bar, p_bar, u_bar), (dx_bar, dp_bar, du_bar) = jax.jvp(
            pull, (x, diff, diff_u, lam), (dx, ddiff, ddiff_u, mu)
        )
        return x_bar, dx_bar, p_bar, dp_bar, u_bar, du_bar
