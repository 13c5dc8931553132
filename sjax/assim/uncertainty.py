"""Hessian-based (Laplace) uncertainty without forming the Hessian.

At the MAP point ``z*`` of a 4D-Var cost ``J`` (negative log-posterior), the Laplace
approximation of the posterior is ``N(z*, H⁻¹)`` with ``H`` the Hessian of ``J`` at ``z*``
(or its Gauss–Newton approximation). Everything here uses only Hessian-vector products
``hvp(v) = H v`` on flat ``(dim,)`` vectors (build one from a pytree cost with
``jax.flatten_util.ravel_pytree`` and ``jax.jvp(jax.grad(...))``):

* `conjugate_gradient`: preconditioned CG, jit-able, with a non-positive-curvature flag;
* `inverse_hessian_entries`: selected entries ``[H⁻¹]_{ij}`` (variances and covariances) by
  CG solves ``H u = e_i``;
* `low_rank_posterior`: the prior-preconditioned low-rank posterior covariance
  (Flath et al. 2011, SIAM J. Sci. Comput. 33:407; Bui-Thanh et al. 2013, SIAM J. Sci.
  Comput. 35:A2494) with a `LowRankGaussian` giving variances, products and exact samples;
* `laplace_samples`: samples of ``N(mean, H⁻¹)`` for small problems via the dense Hessian.

Functions that take an ``hvp`` evaluate it under ``jit``/``vmap``, so it must be traceable.
"""

from __future__ import annotations

import warnings
from typing import Callable, NamedTuple, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CGInfo",
    "InverseHessianEntries",
    "LowRankGaussian",
    "conjugate_gradient",
    "inverse_hessian_entries",
    "low_rank_posterior",
    "laplace_samples",
]

MatVec = Callable[[jax.Array], jax.Array]

_NOT_POSITIVE_DEFINITE = ("Hessian is not positive definite at this point; evaluate at the MAP "
                         "or use a Gauss–Newton Hessian")  # fmt: skip


class CGInfo(NamedTuple):
    """Diagnostics of `conjugate_gradient` (scalars, or ``(k,)`` arrays under ``vmap``).

    Attributes:
        iterations: CG iterations, one matrix-vector product each (plus one for the initial
            residual when ``x0`` is given).
        residual_norm: ``‖b − A x‖`` (the recursively updated residual), units of ``b``.
        converged: whether ``residual_norm ≤ tolerance ‖b‖``.
        negative_curvature: whether a search direction had ``dᵀAd ≤ 0``, i.e. ``A`` is not
            positive definite; the iteration then stopped with the ``x`` reached so far.
    """

    iterations: jax.Array
    residual_norm: jax.Array
    converged: jax.Array
    negative_curvature: jax.Array


class InverseHessianEntries(NamedTuple):
    """Selected entries of ``H⁻¹`` from `inverse_hessian_entries`.

    Attributes:
        indices: ``(k,)`` the requested parameter indices.
        covariance: ``(k, k)`` symmetric block ``[H⁻¹]_{ij}`` for ``i, j`` in ``indices``
            (variances on the diagonal), in units of ``1 / H``.
        columns: ``(k, dim)`` columns ``H⁻¹ e_i`` (covariances of parameter ``i`` with all).
        cg_iterations: ``(k,)`` CG iterations (Hessian-vector products) per column.
    """

    indices: np.ndarray
    covariance: jax.Array
    columns: jax.Array
    cg_iterations: jax.Array


def conjugate_gradient(
    matvec: MatVec,
    b: jax.Array,
    *,
    x0: jax.Array | None = None,
    preconditioner: MatVec | None = None,
    tolerance: float = 1e-10,
    max_iterations: int | None = None,
) -> tuple[jax.Array, CGInfo]:
    """Solve ``A x = b`` for symmetric positive definite ``A`` by preconditioned CG.

    Jit-able (``lax.while_loop``) and vmappable. Stops when ``‖r‖ ≤ tolerance ‖b‖``, after
    ``max_iterations`` products, or at a direction of non-positive curvature (flagged in
    `CGInfo`, since it cannot raise under ``jit``).

    Args:
        matvec: ``v ↦ A v`` on ``(n,)`` vectors, ``A`` symmetric.
        b: ``(n,)`` right-hand side.
        x0: ``(n,)`` starting guess; zeros if None.
        preconditioner: ``r ↦ M⁻¹ r``, an SPD approximation of ``A⁻¹``; identity if None.
        tolerance: relative residual tolerance, ≥ 0.
        max_iterations: maximum matrix-vector products; ``n`` if None.

    Returns:
        ``(x, info)``: the ``(n,)`` solution and a `CGInfo`.

    Raises:
        ValueError: if ``b`` (or ``x0``) is not a 1-D array of matching size.
    """
    b = jnp.asarray(b)
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D array, got shape {b.shape}")
    x = jnp.zeros_like(b) if x0 is None else jnp.asarray(x0, b.dtype)
    if x.shape != b.shape:
        raise ValueError(f"x0 must have shape {b.shape}, got {x.shape}")
    precondition = (lambda r: r) if preconditioner is None else preconditioner
    max_iterations = b.size if max_iterations is None else max_iterations
    target = tolerance * jnp.linalg.norm(b)

    residual = b - matvec(x) if x0 is not None else b
    preconditioned = precondition(residual)
    initial = (jnp.zeros((), jnp.int32), x, residual, preconditioned, residual @ preconditioned,
               jnp.array(False))  # fmt: skip

    def not_done(carry):
        iteration, _, residual, _, _, negative_curvature = carry
        return ((iteration < max_iterations) & (jnp.linalg.norm(residual) > target)
                & ~negative_curvature)  # fmt: skip

    def cg_iteration(carry):
        iteration, x, residual, direction, residual_dot, _ = carry
        a_direction = matvec(direction)
        curvature = direction @ a_direction
        negative_curvature = curvature <= 0
        alpha = jnp.where(negative_curvature, 0.0,
                          residual_dot / jnp.where(negative_curvature, 1.0, curvature))  # fmt: skip
        x = x + alpha * direction
        residual = residual - alpha * a_direction
        preconditioned = precondition(residual)
        new_residual_dot = residual @ preconditioned
        direction = preconditioned + (new_residual_dot / residual_dot) * direction
        return iteration + 1, x, residual, direction, new_residual_dot, negative_curvature

    iterations, x, residual, _, _, negative_curvature = jax.lax.while_loop(
        not_done, cg_iteration, initial
    )
    residual_norm = jnp.linalg.norm(residual)
    return x, CGInfo(iterations, residual_norm, residual_norm <= target, negative_curvature)


def _check_positive_int(name: str, value, upper: int | None = None) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer ≥ 1, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be ≤ {upper}, got {value}")
    return int(value)


def inverse_hessian_entries(
    hvp: MatVec,
    dim: int,
    indices: Sequence[int],
    *,
    preconditioner: MatVec | None = None,
    tolerance: float = 1e-12,
    max_iterations: int | None = None,
) -> InverseHessianEntries:
    """Entries ``[H⁻¹]_{ij}``, ``i, j`` in ``indices``, by CG solves ``H u_i = e_i``.

    The ``k`` solves run together (``vmap`` of `conjugate_gradient`). Cost: about
    ``cg_iterations`` Hessian-vector products per index (at most ``max_iterations``; few for a
    well-conditioned or well-preconditioned ``H``, since CG converges at a rate set by
    ``√cond(H)``); memory O(k · dim); the dense Hessian is never formed. The block is
    symmetrised, ``(C + Cᵀ)/2``.

    Args:
        hvp: ``v ↦ H v`` on ``(dim,)`` vectors, ``H`` symmetric positive definite; traceable.
        dim: number of parameters.
        indices: ``k ≥ 1`` parameter indices in ``[0, dim)``.
        preconditioner: ``r ↦ M⁻¹ r``, an SPD approximation of ``H⁻¹``; identity if None.
        tolerance: CG relative residual tolerance per column.
        max_iterations: maximum CG iterations per column; ``dim`` if None.

    Returns:
        An `InverseHessianEntries`.

    Raises:
        ValueError: if ``dim`` or ``indices`` are out of range, or if CG meets non-positive
            curvature (the Hessian is not positive definite).

    Warns:
        RuntimeWarning: if some CG solve did not reach ``tolerance``.
    """
    dim = _check_positive_int("dim", dim)
    index_array = np.asarray(indices)
    is_integer = np.issubdtype(index_array.dtype, np.integer)
    if index_array.ndim != 1 or index_array.size == 0 or not is_integer:
        raise ValueError(f"indices must be a non-empty 1-D sequence of integers, got {indices}")
    if index_array.min() < 0 or index_array.max() >= dim:
        raise ValueError(f"indices must lie in [0, dim) = [0, {dim}), got {index_array.tolist()}")

    @jax.jit
    def solve_columns(unit_vectors):
        return jax.vmap(lambda e: conjugate_gradient(
            hvp, e, preconditioner=preconditioner, tolerance=tolerance,
            max_iterations=max_iterations))(unit_vectors)  # fmt: skip

    unit_vectors = jnp.eye(dim)[index_array]
    columns, info = solve_columns(unit_vectors)
    if bool(jnp.any(info.negative_curvature)):
        raise ValueError(_NOT_POSITIVE_DEFINITE)
    if not bool(jnp.all(info.converged)):
        worst = float(jnp.max(info.residual_norm))
        warnings.warn(f"CG did not reach tolerance {tolerance:g} for every index (largest "
                      f"residual norm {worst:.3g}); raise max_iterations or precondition",
                      RuntimeWarning, stacklevel=2)  # fmt: skip
    block = columns[:, index_array]
    return InverseHessianEntries(index_array, 0.5 * (block + block.T), columns, info.iterations)


def _apply_factor(factor: jax.Array, v: jax.Array) -> jax.Array:
    """``L v`` for ``v`` of shape ``(n,)`` or ``(n, m)``; ``factor`` is ``(n,)`` (diagonal
    ``L``) or ``(n, n)``."""
    if factor.ndim == 1:
        return factor.reshape((-1,) + (1,) * (v.ndim - 1)) * v
    return factor @ v


def _apply_factor_transpose(factor: jax.Array, v: jax.Array) -> jax.Array:
    """``Lᵀ v`` for ``v`` of shape ``(n,)``."""
    return factor * v if factor.ndim == 1 else factor.T @ v


class LowRankGaussian(eqx.Module):
    """Zero-mean Gaussian ``N(0, Γ)`` with ``Γ = L (I − V diag(λ/(1+λ)) Vᵀ) Lᵀ``.

    ``L`` is the prior covariance factor (``B = L Lᵀ``), ``(λ, V)`` the leading eigenpairs of
    the prior-preconditioned misfit Hessian ``Lᵀ H_mis L``. Add the MAP point for the
    posterior itself.

    Attributes:
        eigenvalues: ``(rank,)`` ``λ``, descending (dimensionless).
        eigenvectors: ``(n, rank)`` orthonormal ``V``.
        prior_factor: ``L``: ``(n,)`` prior standard deviations for a diagonal ``B``, or the
            ``(n, n)`` lower Cholesky factor of a dense ``B``.
    """

    eigenvalues: jax.Array
    eigenvectors: jax.Array
    prior_factor: jax.Array

    def variance(self) -> jax.Array:
        """``(n,)`` diagonal of ``Γ`` (units of the prior variance)."""
        prior_variance = (self.prior_factor**2 if self.prior_factor.ndim == 1
                          else jnp.sum(self.prior_factor**2, axis=1))  # fmt: skip
        factor_eigenvectors = _apply_factor(self.prior_factor, self.eigenvectors)  # (n, rank)
        reduction = self.eigenvalues / (1.0 + self.eigenvalues)
        return prior_variance - jnp.sum(factor_eigenvectors**2 * reduction, axis=1)

    def covariance_matvec(self, v: jax.Array) -> jax.Array:
        """``Γ v`` for ``v`` of shape ``(n,)``."""
        w = _apply_factor_transpose(self.prior_factor, v)
        reduction = self.eigenvalues / (1.0 + self.eigenvalues)
        w = w - self.eigenvectors @ (reduction * (self.eigenvectors.T @ w))
        return _apply_factor(self.prior_factor, w)

    def sample(self, key: jax.Array, n_samples: int) -> jax.Array:
        """``(n_samples, n)`` exact samples of ``N(0, Γ)``:
        ``L (I − V diag(1 − 1/√(1+λ)) Vᵀ) ξ`` with ``ξ ~ N(0, I)``."""
        n = self.eigenvectors.shape[0]
        noise = jax.random.normal(key, (n, n_samples), self.eigenvectors.dtype)
        shrink = 1.0 - 1.0 / jnp.sqrt(1.0 + self.eigenvalues)
        noise = noise - self.eigenvectors @ (shrink[:, None] * (self.eigenvectors.T @ noise))
        return _apply_factor(self.prior_factor, noise).T


def _prior_factor(prior_covariance) -> jax.Array:
    """``L`` with ``B = L Lᵀ``: standard deviations for a vector ``B``, else lower Cholesky."""
    prior = np.asarray(prior_covariance, dtype=float)
    if prior.ndim == 1:
        if prior.size == 0 or not np.all(np.isfinite(prior)) or not np.all(prior > 0):
            raise ValueError("prior_covariance as a vector (diagonal) must be non-empty, finite "
                             "and > 0")  # fmt: skip
        return jnp.sqrt(jnp.asarray(prior_covariance))
    if prior.ndim != 2 or prior.shape[0] != prior.shape[1] or prior.size == 0:
        raise ValueError("prior_covariance must be an (n,) vector of variances or an (n, n) "
                         f"matrix, got shape {prior.shape}")  # fmt: skip
    if not np.all(np.isfinite(prior)):
        raise ValueError("prior_covariance must be finite")
    asymmetry = np.linalg.norm(prior - prior.T) / np.linalg.norm(prior)
    if not asymmetry <= 1e-8:
        raise ValueError(f"prior_covariance must be symmetric (relative asymmetry {asymmetry:.2e}"
                         " > 1e-8)")  # fmt: skip
    factor = jnp.linalg.cholesky(jnp.asarray(prior_covariance))
    if not bool(jnp.all(jnp.isfinite(factor))):
        raise ValueError("prior_covariance must be positive definite (Cholesky failed)")
    return factor


def _lanczos_eigenpairs(matvec: MatVec, n: int, steps: int, key: jax.Array, dtype):
    """Ritz pairs (descending) of symmetric ``A`` from ``steps`` Lanczos vectors.

    Full reorthogonalisation (classical Gram–Schmidt, twice) against all previous vectors; at
    a breakdown (the Krylov space is invariant, common for low-rank ``A``) the basis continues
    with a fresh random vector. Rayleigh–Ritz uses ``Qᵀ A Q`` from the stored products, so it
    does not rely on the tridiagonal recurrence being exact.
    """
    start_key, restart_key = jax.random.split(key)
    start = jax.random.normal(start_key, (n,), dtype)
    basis = jnp.zeros((steps, n), dtype)
    products = jnp.zeros((steps, n), dtype)

    def orthogonalise(w, basis):
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        return w

    def lanczos_step(j, carry):
        basis, products, q, scale = carry
        basis = basis.at[j].set(q)
        aq = matvec(q)
        products = products.at[j].set(aq)
        scale = jnp.maximum(scale, jnp.linalg.norm(aq))
        w = orthogonalise(aq, basis)
        fresh = orthogonalise(jax.random.normal(jax.random.fold_in(restart_key, j), (n,), dtype),
                              basis)  # fmt: skip
        breakdown = jnp.linalg.norm(w) <= jnp.sqrt(jnp.finfo(dtype).eps) * scale
        w = jnp.where(breakdown, fresh, w)
        return basis, products, w / jnp.linalg.norm(w), scale

    carry = (basis, products, start / jnp.linalg.norm(start), jnp.zeros((), dtype))
    basis, products, _, _ = jax.lax.fori_loop(0, steps, lanczos_step, carry)
    projected = basis @ products.T
    ritz_values, ritz_vectors = jnp.linalg.eigh(0.5 * (projected + projected.T))
    order = jnp.argsort(ritz_values)[::-1]
    return ritz_values[order], basis.T @ ritz_vectors[:, order]


def low_rank_posterior(
    misfit_hvp: MatVec,
    prior_covariance: jax.Array,
    *,
    rank: int,
    key: jax.Array,
    oversampling: int = 10,
) -> LowRankGaussian:
    """Low-rank Laplace posterior covariance, prior-preconditioned.

    With prior covariance ``B = L Lᵀ`` and misfit (data-term) Hessian ``H_mis``, the Laplace
    posterior covariance is ``Γ = (B⁻¹ + H_mis)⁻¹ = L (I + Lᵀ H_mis L)⁻¹ Lᵀ``. Keeping the
    ``rank`` largest eigenpairs ``(λ, V)`` of ``Lᵀ H_mis L`` gives
    ``Γ ≈ L (I − V diag(λ/(1+λ)) Vᵀ) Lᵀ`` (Sherman–Morrison–Woodbury), exact when
    ``H_mis`` has rank ≤ ``rank``; dropped eigenvalues ``λ ≪ 1`` are directions the data do
    not inform, where the posterior equals the prior.

    Eigensolver: Lanczos with full reorthogonalisation (own implementation) for
    ``min(n, rank + oversampling)`` steps from a random start drawn from ``key``, then
    Rayleigh–Ritz; breakdowns restart with a fresh random vector. Cost: that many misfit
    Hessian-vector products (sequential) and O(n · (rank + oversampling)) memory. The misfit
    Hessian should be positive semidefinite (Gauss–Newton, or the exact one at the MAP).

    Args:
        misfit_hvp: ``v ↦ H_mis v`` on ``(n,)`` vectors (units 1 / parameter²); traceable.
        prior_covariance: ``(n,)`` prior variances (diagonal ``B``) or ``(n, n)`` SPD ``B``.
        rank: number of eigenpairs kept, ``1 ≤ rank ≤ n``.
        key: JAX PRNG key for the Lanczos start vector.
        oversampling: extra Lanczos steps beyond ``rank`` (≥ 0) for accurate leading pairs.

    Returns:
        A `LowRankGaussian` (zero mean).

    Raises:
        ValueError: if ``prior_covariance`` has a wrong shape or is not SPD, ``rank`` or
            ``oversampling`` is out of range, or a Ritz value of ``Lᵀ H_mis L`` is ≤ −1
            (``I + Lᵀ H_mis L`` not positive definite).
    """
    factor = _prior_factor(prior_covariance)
    n = factor.shape[0]
    rank = _check_positive_int("rank", rank, upper=n)
    if isinstance(oversampling, bool) or int(oversampling) != oversampling or oversampling < 0:
        raise ValueError(f"oversampling must be an integer ≥ 0, got {oversampling}")
    steps = min(n, rank + int(oversampling))

    def preconditioned_hvp(v):  # Lᵀ H_mis L v
        return _apply_factor_transpose(factor, misfit_hvp(_apply_factor(factor, v)))

    eigenvalues, eigenvectors = jax.jit(
        lambda key: _lanczos_eigenpairs(preconditioned_hvp, n, steps, key, factor.dtype)
    )(key)
    if not bool(jnp.all(jnp.isfinite(eigenvalues))):
        raise ValueError("misfit_hvp returned non-finite values")
    if bool(jnp.any(eigenvalues <= -1.0)):  # all Ritz values, kept or not
        raise ValueError(_NOT_POSITIVE_DEFINITE)
    return LowRankGaussian(eigenvalues[:rank], eigenvectors[:, :rank], factor)


def laplace_samples(
    key: jax.Array,
    mean: jax.Array,
    hvp: MatVec,
    dim: int,
    n_samples: int,
    *,
    symmetry_tolerance: float = 1e-8,
) -> jax.Array:
    """Samples of the Laplace approximation ``N(mean, H⁻¹)`` via the dense Hessian.

    ``H`` is assembled column by column from ``dim`` Hessian-vector products (``vmap``), so
    this is for small problems (``dim`` up to a few hundred); then ``H = C Cᵀ`` (Cholesky) and
    ``z = mean + C⁻ᵀ ξ``, ``ξ ~ N(0, I)``.

    Args:
        key: JAX PRNG key.
        mean: ``(dim,)`` flat MAP point.
        hvp: ``v ↦ H v`` on ``(dim,)`` vectors; traceable.
        dim: number of parameters.
        n_samples: number of samples, ≥ 1.
        symmetry_tolerance: largest accepted ``‖H − Hᵀ‖_F / ‖H‖_F`` (an inconsistent adjoint
            shows up here); the assembled ``H`` is then symmetrised.

    Returns:
        ``(n_samples, dim)`` samples, units of ``mean``.

    Raises:
        ValueError: if shapes or counts are wrong, ``H`` is not finite, not symmetric within
            ``symmetry_tolerance``, or not positive definite.
    """
    dim = _check_positive_int("dim", dim)
    n_samples = _check_positive_int("n_samples", n_samples)
    mean = jnp.asarray(mean)
    if mean.shape != (dim,):
        raise ValueError(f"mean must be a flat array of shape ({dim},), got {mean.shape}")
    if not bool(jnp.all(jnp.isfinite(mean))):
        raise ValueError("mean must be finite")
    hessian = jax.jit(jax.vmap(hvp))(jnp.eye(dim, dtype=mean.dtype)).T  # column i = H e_i
    if not bool(jnp.all(jnp.isfinite(hessian))):
        raise ValueError("hvp returned non-finite values")
    scale = float(jnp.linalg.norm(hessian))
    asymmetry = float(jnp.linalg.norm(hessian - hessian.T)) / scale if scale > 0 else 0.0
    if not asymmetry <= symmetry_tolerance:
        raise ValueError(f"Hessian is not symmetric: relative asymmetry {asymmetry:.2e} > "
                         f"symmetry_tolerance {symmetry_tolerance:g}")  # fmt: skip
    cholesky = jnp.linalg.cholesky(0.5 * (hessian + hessian.T))
    if not bool(jnp.all(jnp.isfinite(cholesky))):
        raise ValueError(_NOT_POSITIVE_DEFINITE)
    noise = jax.random.normal(key, (dim, n_samples), mean.dtype)
    deviations = jax.scipy.linalg.solve_triangular(cholesky, noise, lower=True, trans="T")
    return mean + deviations.T
