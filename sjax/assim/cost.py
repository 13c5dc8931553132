"""The 4D-Var cost and its exact gradient and Hessian–vector products.

    J(z) = ½ (z − z_b)ᵀ B⁻¹ (z − z_b) + ½ Σ_k (y_k − H x_{n_k}(z))ᵀ R⁻¹ (y_k − H x_{n_k}(z))

``x_n(z)`` is the *numerical* solution after ``n`` steps of a `sjax.integrate` scheme, so the
gradient (any ``adjoint=`` strategy) and the Hessian–vector product (`hvp`, by the second-order
adjoint) are those of this discrete cost, exact to round-off. The control ``z`` is any pytree —
an initial wavefield, layer velocities and thicknesses, a per-cell velocity field — mapped to the
integrator's ``(x0, args, inputs)`` by a user function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from sjax._arrays import is_concrete
from sjax.integrate import DirectAdjoint, SymplecticAdjoint, hessian_sweep, solve

__all__ = ["Background", "Observations", "FourDVar", "hvp", "value_grad_hvp"]


def _cholesky(covariance, name: str) -> jax.Array:
    covariance = jnp.asarray(covariance)
    if covariance.ndim != 2 or covariance.shape[0] != covariance.shape[1]:
        raise ValueError(f"{name} must be a square (m, m) matrix, got shape {covariance.shape}")
    if is_concrete(covariance):
        c = np.asarray(covariance)
        if not np.allclose(c, c.T, rtol=1e-10, atol=1e-14 * np.abs(c).max()):
            raise ValueError(f"{name} is not symmetric")
        if not _spd(c):
            raise ValueError(f"{name} is not symmetric positive definite")
    return jnp.linalg.cholesky(covariance)


def _spd(c: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        return False
    return True


def _check_std(std, name: str):
    std = jnp.asarray(std)
    if is_concrete(std) and not np.all(np.isfinite(np.asarray(std)) & (np.asarray(std) > 0)):
        raise ValueError(f"{name} must be positive and finite everywhere")
    return std


class Background(eqx.Module):
    """Gaussian prior (background) ``N(z_b, B)`` on the control.

    Attributes:
        mean: ``z_b``, a pytree like the control.
        std: diagonal ``B^{1/2}``: a pytree like the control (or a scalar), or None.
        cholesky: lower Cholesky factor ``L`` of a dense ``B = L Lᵀ`` over the flattened
            control ``ravel_pytree(z)[0]``, or None.

    Build it with ``Background(mean, std=...)`` or ``Background(mean, covariance=...)``; a
    covariance that is not symmetric positive definite raises ``ValueError``.
    """

    mean: object
    std: object
    cholesky: jax.Array | None

    def __init__(self, mean, *, std=None, covariance=None):
        if (std is None) == (covariance is None):
            raise ValueError("give exactly one of std= (diagonal) or covariance= (dense) for B")
        self.mean = jax.tree.map(jnp.asarray, mean)
        n = ravel_pytree(self.mean)[0].shape[0]
        if std is not None:
            if jax.tree.structure(std) != jax.tree.structure(self.mean) and jnp.ndim(std) != 0:
                raise ValueError("background std must be a scalar or a pytree like the mean")
            self.std = jax.tree.map(lambda s: _check_std(s, "background std"), std)
            self.cholesky = None
        else:
            if np.shape(covariance) != (n, n):
                raise ValueError(f"background covariance must be ({n}, {n}) for a control of "
                                 f"{n} values, got {np.shape(covariance)}")  # fmt: skip
            self.std = None
            self.cholesky = _cholesky(covariance, "background covariance")

    def whiten(self, z) -> jax.Array:
        """``B^{-1/2}(z − z_b)`` as a flat vector, so the background term is ``½‖·‖²``."""
        if self.cholesky is not None:
            delta = ravel_pytree(z)[0] - ravel_pytree(self.mean)[0]
            return jax.scipy.linalg.solve_triangular(self.cholesky, delta, lower=True)
        std = self.std if jax.tree.structure(self.std) == jax.tree.structure(z) else (
            jax.tree.map(lambda _: self.std, z))  # fmt: skip
        return ravel_pytree(jax.tree.map(lambda a, m, s: (a - m) / s, z, self.mean, std))[0]


class Observations(eqx.Module):
    """Observed values at a subset of time steps, with Gaussian noise ``N(0, R)``.

    Attributes:
        steps: strictly increasing step indices ``n_k`` in ``[0, n_steps]`` (static).
        values: ``(K, ...)`` observations ``y_k`` (row k at step ``n_k``).
        std: noise standard deviation, broadcastable to ``values`` (diagonal R), or None.
        cholesky: Cholesky factor of a dense ``(m, m)`` R for one time's flattened observation
            (m = ``values[0].size``), or None.
    """

    steps: tuple[int, ...] = eqx.field(static=True)
    values: jax.Array
    std: jax.Array | None
    cholesky: jax.Array | None

    def __init__(self, steps, values, *, std=None, covariance=None):
        steps = np.asarray(steps)
        if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
            raise ValueError(f"observation steps must be a non-empty 1-D array of integers, "
                             f"got {steps!r}")  # fmt: skip
        if np.any(np.diff(steps) <= 0) or steps[0] < 0:
            raise ValueError(f"observation steps must be non-negative and strictly increasing, "
                             f"got {steps.tolist()}")  # fmt: skip
        self.steps = tuple(int(s) for s in steps)
        self.values = jnp.asarray(values)
        if self.values.shape[:1] != (len(self.steps),):
            raise ValueError(f"observation values need one row per step: {len(self.steps)} "
                             f"steps but values of shape {self.values.shape}")  # fmt: skip
        if (std is None) == (covariance is None):
            raise ValueError("give exactly one of std= (diagonal) or covariance= (dense) for R")
        if std is not None:
            self.std = _check_std(std, "observation std")
            try:
                np.broadcast_shapes(np.shape(self.std), self.values.shape)
            except ValueError:
                raise ValueError(f"observation std of shape {np.shape(self.std)} does not "
                                 f"broadcast to values {self.values.shape}") from None
            self.cholesky = None
        else:
            m = math.prod(self.values.shape[1:])
            if np.shape(covariance) != (m, m):
                raise ValueError(f"observation covariance must be ({m}, {m}) for observations "
                                 f"of {m} values per time, got {np.shape(covariance)}")
            self.std = None
            self.cholesky = _cholesky(covariance, "observation covariance")

    def whiten(self, predicted) -> jax.Array:
        """``R^{-1/2}(H x_{n_k} − y_k)`` for predictions ``(K, ...)``."""
        residual = predicted - self.values
        if self.cholesky is None:
            return residual / self.std
        flat = residual.reshape(len(self.steps), -1)
        return jax.scipy.linalg.solve_triangular(self.cholesky, flat.T, lower=True).T


class FourDVar(eqx.Module):
    """A 4D-Var cost ``J(z)``: call it, differentiate it, take `hvp` of it.

    Attributes:
        scheme: the `sjax.integrate` scheme (`RungeKutta`, `Splitting`, `DiscreteMap`).
        model: ``model(z) -> (x0, args, inputs)``, the control-to-integrator map (static).
        observe: ``observe(x, args) -> y`` for one state, the observation operator H (static).
        observations: `Observations` (their steps must lie in ``[0, n_steps]``).
        background: `Background` prior on ``z``, or None (no background term).
        n_steps, dt, t0: the time grid (static).
        adjoint: gradient strategy of `sjax.integrate.solve` for ``jax.grad(cost)`` (static).

    Example:
        >>> cost = FourDVar(scheme, model, observe, observations, background, n_steps=400,
        ...                 dt=1e-3, adjoint=SymplecticAdjoint())
        >>> value, gradient = jax.value_and_grad(cost)(z)
        >>> hessian_times_v = hvp(cost, z, v)
    """

    scheme: object
    model: Callable = eqx.field(static=True)
    observe: Callable = eqx.field(static=True)
    observations: Observations
    background: Background | None
    n_steps: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    t0: float = eqx.field(static=True, default=0.0)
    adjoint: object = eqx.field(static=True, default=DirectAdjoint())

    def __check_init__(self):
        if self.observations.steps[-1] > self.n_steps:
            raise ValueError(f"observation step {self.observations.steps[-1]} lies after the "
                             f"last step n_steps={self.n_steps}")  # fmt: skip

    def trajectory_observations(self, z):
        """``H x_n(z)`` at every step endpoint, ``(n_steps + 1, ...)``."""
        x0, args, inputs = self.model(z)
        return solve(self.scheme, x0, args, n_steps=self.n_steps, dt=self.dt, t0=self.t0,
                     observe=self.observe, inputs=inputs, adjoint=self.adjoint)  # fmt: skip

    def predict(self, z):
        """``H x_{n_k}(z)`` at the observation steps, ``(K, ...)`` like the observed values."""
        return self.trajectory_observations(z)[np.asarray(self.observations.steps)]

    def observation_term(self, all_predictions) -> jax.Array:
        """``½ Σ_k ‖R^{-1/2}(H x_{n_k} − y_k)‖²`` from predictions at every endpoint."""
        predicted = all_predictions[np.asarray(self.observations.steps)]
        if predicted.shape != self.observations.values.shape:
            raise ValueError(f"observe() gives predictions of shape {predicted.shape[1:]} per "
                             f"step but the observed values have rows of shape "
                             f"{self.observations.values.shape[1:]}")  # fmt: skip
        return 0.5 * jnp.sum(self.observations.whiten(predicted) ** 2)

    def background_term(self, z) -> jax.Array:
        """``½ ‖B^{-1/2}(z − z_b)‖²`` (zero without a background)."""
        if self.background is None:
            return jnp.zeros(())
        return 0.5 * jnp.sum(self.background.whiten(z) ** 2)

    def __call__(self, z) -> jax.Array:
        """``J(z)``, a scalar."""
        return self.background_term(z) + self.observation_term(self.trajectory_observations(z))


def hvp(cost, z, v, *, method: str = "second_order"):
    """Hessian–vector product ``∇²J(z)·v``.

    Args:
        cost: a `FourDVar` (for ``"second_order"``) or any scalar function of ``z``.
        z: the control (pytree).
        v: the direction, a pytree like ``z``.
        method: ``"second_order"`` — the second-order adjoint (tangent sweep, then the first-
            and second-order adjoint sweeps with the partner scheme, √N checkpoints or the
            ``checkpoint_every`` of a `SymplecticAdjoint` cost), about four solves, exact to
            round-off; or ``"jvp_grad"`` — ``jax.jvp(jax.grad(cost))`` (forward over reverse AD
            through the cost's own ``adjoint``; needs `DirectAdjoint` or `CheckpointAdjoint`).

    Returns:
        A pytree like ``z``.
    """
    if jax.tree.structure(z) != jax.tree.structure(v):
        raise ValueError("v must be a pytree with the structure of z")
    if method == "jvp_grad":
        return jax.jvp(jax.grad(cost), (z,), (v,))[1]
    if method != "second_order":
        raise ValueError(f"method={method!r} must be 'second_order' or 'jvp_grad'")
    if not isinstance(cost, FourDVar):
        raise TypeError("method='second_order' needs a FourDVar cost; use method='jvp_grad'")
    return _second_order_value_grad_hvp(cost, z, v)[2]


def value_grad_hvp(cost: FourDVar, z, v):
    """``(J(z), ∇J(z), ∇²J(z)·v)`` from one forward, tangent and second-order adjoint sweep."""
    return _second_order_value_grad_hvp(cost, z, v)


def _second_order_value_grad_hvp(cost: FourDVar, z, v):
    every = cost.adjoint.checkpoint_every if isinstance(cost.adjoint, SymplecticAdjoint) else None

    def diff_model(z):
        return eqx.partition(cost.model(z), eqx.is_inexact_array)[0]

    (x0, args, inputs), (dx0, dargs, dinputs) = jax.jvp(cost.model, (z,), (v,))
    gradient, tangent, ys = hessian_sweep(
        cost.scheme, x0, args, dx0, dargs, jax.grad(cost.observation_term), n_steps=cost.n_steps, dt=cost.dt,
        observe=cost.observe, t0=cost.t0, inputs=inputs, dinputs=dinputs, checkpoint_every=every,
    )  # fmt: skip

    def pullback(z, cotangent):
        return jax.vjp(diff_model, z)[1](cotangent)[0]

    z_bar, hz_bar = jax.jvp(pullback, (z, gradient), (v, tangent))
    background_grad = jax.grad(cost.background_term)
    b_grad, b_hvp = jax.jvp(background_grad, (z,), (v,))
    value = cost.background_term(z) + cost.observation_term(ys)
    add = lambda a, b: jax.tree.map(lambda x, y: x + y, a, b)  # noqa: E731
    return value, add(z_bar, b_grad), add(hz_bar, b_hvp)
