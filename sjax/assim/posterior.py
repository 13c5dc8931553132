"""Laplace posterior of a 4D-Var cost at its minimum, from Hessian–vector products only."""

from __future__ import annotations

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from sjax.assim.cost import hvp
from sjax.assim.uncertainty import InverseHessianEntries, inverse_hessian_entries

__all__ = ["posterior_covariance", "posterior_std"]


def _flat_hvp(cost, z, method):
    flat_z, unravel = ravel_pytree(z)

    @jax.jit
    def matvec(v):
        return ravel_pytree(hvp(cost, z, unravel(v), method=method))[0]

    return flat_z, unravel, matvec


def posterior_covariance(
    cost, z, indices=None, *, method: str = "second_order", tolerance: float = 1e-12,
    max_iterations: int | None = None,
) -> InverseHessianEntries:  # fmt: skip
    """Entries of ``H⁻¹`` (the Laplace posterior covariance) at the MAP ``z`` of ``cost``.

    Args:
        cost: a `FourDVar` (or any scalar function with ``method="jvp_grad"``).
        z: the minimiser (pytree); the Hessian must be positive definite there.
        indices: positions in the flattened control ``ravel_pytree(z)[0]`` (default all).
        method: Hessian–vector product of `hvp`.
        tolerance, max_iterations: of the conjugate-gradient solves (default ``2·dim``
            iterations).

    Returns:
        `InverseHessianEntries`: the ``(k, k)`` covariance block between the chosen entries,
        their ``(k, dim)`` columns of ``H⁻¹``, CG iterations. Cost: CG iterations × one
        Hessian–vector product (about four solves) per entry; never the dense Hessian.
    """
    flat_z, _, matvec = _flat_hvp(cost, z, method)
    dim = flat_z.shape[0]
    indices = range(dim) if indices is None else indices
    return inverse_hessian_entries(matvec, dim, list(indices), tolerance=tolerance,
                                   max_iterations=max_iterations or 2 * dim)  # fmt: skip


def posterior_std(cost, z, *, method: str = "second_order", tolerance: float = 1e-12):
    """Posterior standard deviations ``sqrt(diag H⁻¹)`` as a pytree like ``z`` (small controls:
    one CG solve per entry)."""
    entries = posterior_covariance(cost, z, method=method, tolerance=tolerance)
    unravel = ravel_pytree(z)[1]
    return unravel(np.sqrt(np.diag(np.asarray(entries.covariance))))
