"""sjax.assim.uncertainty: CG, inverse-Hessian entries, the low-rank prior-preconditioned
posterior and Laplace samples, against dense numpy linear algebra."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax.assim.uncertainty import (
    conjugate_gradient,
    inverse_hessian_entries,
    laplace_samples,
    low_rank_posterior,
)


def spd_matrix(n, condition, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q @ np.diag(np.logspace(0, np.log10(condition), n)) @ q.T


def matvec_of(matrix):
    matrix = jnp.asarray(matrix)
    return lambda v: matrix @ v


def relative_frobenius(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


# ------------------------------------------------------------------------------------------
# Conjugate gradients


def test_cg_solves_spd_system():
    matrix = spd_matrix(40, 1e3, seed=0)
    b = np.random.default_rng(1).normal(size=40)
    x, info = jax.jit(lambda b: conjugate_gradient(matvec_of(matrix), b, tolerance=1e-13,
                                                   max_iterations=200))(jnp.asarray(b))  # fmt: skip
    exact = np.linalg.solve(matrix, b)
    assert bool(info.converged) and not bool(info.negative_curvature)
    assert float(info.residual_norm) <= 1e-13 * np.linalg.norm(b)
    np.testing.assert_allclose(x, exact, rtol=0, atol=1e-10 * np.abs(exact).max())


def test_cg_preconditioner_and_x0():
    diagonal = np.linspace(1.0, 1e4, 30)
    matrix = np.diag(diagonal) + 0.1 * spd_matrix(30, 10.0, seed=2)
    b = np.random.default_rng(3).normal(size=30)
    exact = np.linalg.solve(matrix, b)
    x, info = conjugate_gradient(matvec_of(matrix), jnp.asarray(b), x0=jnp.asarray(exact + 0.1),
                                 preconditioner=lambda r: r / jnp.diag(jnp.asarray(matrix)),
                                 tolerance=1e-12)  # fmt: skip
    _, plain = conjugate_gradient(matvec_of(matrix), jnp.asarray(b), tolerance=1e-12)
    assert bool(info.converged)
    assert int(info.iterations) < int(plain.iterations)  # Jacobi preconditioning helps here
    np.testing.assert_allclose(x, exact, rtol=0, atol=1e-10 * np.abs(exact).max())


def test_cg_flags_indefinite_matrix():
    matrix = np.diag([3.0, 2.0, -1.0, 1.0])
    _, info = conjugate_gradient(matvec_of(matrix), jnp.ones(4))
    assert bool(info.negative_curvature)
    assert not bool(info.converged)


# ------------------------------------------------------------------------------------------
# Inverse-Hessian entries


@pytest.mark.filterwarnings("error::RuntimeWarning")  # every CG solve must converge
def test_inverse_hessian_entries_match_dense_inverse():
    matrix = spd_matrix(30, 5.0, seed=4)
    indices = [0, 7, 29, 12]
    entries = inverse_hessian_entries(matvec_of(matrix), 30, indices)
    inverse = np.linalg.inv(matrix)
    block = inverse[np.ix_(indices, indices)]
    assert relative_frobenius(entries.covariance, block) < 1e-8
    np.testing.assert_allclose(entries.covariance, block, rtol=0, atol=1e-8 * np.abs(block).max())
    assert relative_frobenius(entries.columns, inverse[indices]) < 1e-8
    np.testing.assert_array_equal(entries.covariance, np.asarray(entries.covariance).T)
    assert np.all(np.asarray(entries.cg_iterations) <= 30)


def test_inverse_hessian_entries_warn_when_cg_stops_early():
    with pytest.warns(RuntimeWarning, match="did not reach tolerance"):
        entries = inverse_hessian_entries(matvec_of(spd_matrix(30, 5.0, seed=4)), 30, [3],
                                          max_iterations=5)  # fmt: skip
    assert int(entries.cg_iterations[0]) == 5


def test_inverse_hessian_entries_validation():
    hvp = matvec_of(np.eye(5))
    with pytest.raises(ValueError, match=r"indices.*\[0, 5\)"):
        inverse_hessian_entries(hvp, 5, [1, 5])
    with pytest.raises(ValueError, match="indices"):
        inverse_hessian_entries(hvp, 5, [])
    with pytest.raises(ValueError, match="dim"):
        inverse_hessian_entries(hvp, 0, [0])
    with pytest.raises(ValueError, match="not positive definite"):
        inverse_hessian_entries(matvec_of(np.diag([1.0, -2.0, 1.0])), 3, [1])


# ------------------------------------------------------------------------------------------
# Low-rank posterior


def low_rank_misfit(n, rank, seed):
    """Gauss–Newton misfit Hessian ``Gᵀ G`` of exact rank ``rank``, scaled to be informative."""
    forward = np.random.default_rng(seed).normal(size=(rank, n)) * 3.0
    return forward.T @ forward


@pytest.mark.parametrize("prior_kind", ["diagonal", "dense"])
def test_low_rank_posterior_exact_for_low_rank_misfit(prior_kind):
    n, misfit_rank = 25, 4
    misfit = low_rank_misfit(n, misfit_rank, seed=5)
    if prior_kind == "diagonal":
        prior = np.linspace(0.5, 2.0, n)
        prior_matrix = np.diag(prior)
    else:
        prior = prior_matrix = spd_matrix(n, 20.0, seed=6)
    dense = np.linalg.inv(np.linalg.inv(prior_matrix) + misfit)
    posterior = low_rank_posterior(matvec_of(misfit), jnp.asarray(prior), rank=6,
                                   key=jax.random.key(0))  # fmt: skip
    covariance = np.asarray(jax.vmap(posterior.covariance_matvec)(jnp.eye(n))).T
    assert relative_frobenius(covariance, dense) < 1e-8
    np.testing.assert_allclose(posterior.variance(), np.diag(dense), rtol=1e-8)
    eigenvalues = np.asarray(posterior.eigenvalues)
    assert eigenvalues.shape == (6,) and posterior.eigenvectors.shape == (n, 6)
    assert np.all(eigenvalues[:misfit_rank] > 1.0)  # informed directions
    np.testing.assert_allclose(eigenvalues[misfit_rank:], 0.0, atol=1e-8 * eigenvalues[0])


def test_low_rank_posterior_truncation_is_between_prior_and_posterior():
    n = 20
    misfit = low_rank_misfit(n, 10, seed=7)
    prior = np.full(n, 1.5)
    dense = np.linalg.inv(np.diag(1.0 / prior) + misfit)
    posterior = low_rank_posterior(matvec_of(misfit), jnp.asarray(prior), rank=3,
                                   key=jax.random.key(1))  # fmt: skip
    variance = np.asarray(posterior.variance())
    # dropping eigenpairs leaves variance between the full posterior's and the prior's
    assert np.all(variance >= np.diag(dense) * (1 - 1e-10)) and np.all(variance <= prior)
    # leading eigenvalues equal those of the dense prior-preconditioned Hessian
    exact = np.sort(np.linalg.eigvalsh(np.sqrt(prior)[:, None] * misfit * np.sqrt(prior)))[::-1]
    np.testing.assert_allclose(posterior.eigenvalues, exact[:3], rtol=1e-8)


@pytest.mark.parametrize("misfit_scale", [0.0, 2.0], ids=["no-data", "isotropic"])
def test_low_rank_posterior_invariant_krylov_space(misfit_scale):
    # Lᵀ H_mis L = misfit_scale · I: Lanczos breaks down after one step and must restart
    prior = spd_matrix(12, 10.0, seed=11)
    misfit = misfit_scale * np.linalg.inv(prior)
    posterior = low_rank_posterior(matvec_of(misfit), jnp.asarray(prior), rank=4,
                                   key=jax.random.key(5))  # fmt: skip
    np.testing.assert_allclose(posterior.eigenvalues, misfit_scale, atol=1e-12)
    eigenvectors = np.asarray(posterior.eigenvectors)
    np.testing.assert_allclose(eigenvectors.T @ eigenvectors, np.eye(4), atol=1e-12)
    expected = np.diag(prior) * (1.0 if misfit_scale == 0.0 else 1.0 / (1.0 + misfit_scale))
    # with misfit_scale > 0 only 4 of 12 directions are kept: variance between prior and exact
    variance = np.asarray(posterior.variance())
    assert np.all(np.isfinite(variance))
    assert np.all(variance <= np.diag(prior) * (1 + 1e-12))
    assert np.all(variance >= expected * (1 - 1e-12))


def test_low_rank_samples_covariance():
    n = 10
    forward = np.random.default_rng(8).normal(size=(3, n)) * 0.4  # λ of order 1: shrinkage matters
    prior = spd_matrix(n, 5.0, seed=9)
    posterior = low_rank_posterior(matvec_of(forward.T @ forward), jnp.asarray(prior), rank=3,
                                   key=jax.random.key(2))  # fmt: skip
    eigenvalues = np.asarray(posterior.eigenvalues)
    assert 0.3 < eigenvalues.min() and eigenvalues.max() < 30
    covariance = np.asarray(jax.vmap(posterior.covariance_matvec)(jnp.eye(n))).T
    samples = np.asarray(posterior.sample(jax.random.key(3), 20_000))
    assert samples.shape == (20_000, n)
    assert relative_frobenius(np.cov(samples.T), covariance) < 0.05
    np.testing.assert_allclose(samples.mean(axis=0), 0.0, atol=0.05)
    # whitened by the prior factor, the variance along each eigenvector is 1/(1+λ)
    whitened = np.linalg.solve(np.asarray(posterior.prior_factor), samples.T)
    along = np.var(np.asarray(posterior.eigenvectors).T @ whitened, axis=1)
    np.testing.assert_allclose(along, 1.0 / (1.0 + eigenvalues), rtol=0.05)


def test_low_rank_posterior_validation():
    hvp = matvec_of(np.eye(4))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"rank must be ≤ 4"):
        low_rank_posterior(hvp, jnp.ones(4), rank=5, key=key)
    with pytest.raises(ValueError, match="rank"):
        low_rank_posterior(hvp, jnp.ones(4), rank=0, key=key)
    with pytest.raises(ValueError, match="prior_covariance.*> 0"):
        low_rank_posterior(hvp, jnp.array([1.0, 0.0, 1.0, 1.0]), rank=2, key=key)
    with pytest.raises(ValueError, match="prior_covariance.*shape"):
        low_rank_posterior(hvp, jnp.ones((4, 3)), rank=2, key=key)
    with pytest.raises(ValueError, match="prior_covariance.*symmetric"):
        low_rank_posterior(hvp, jnp.eye(4).at[0, 1].set(0.5), rank=2, key=key)
    with pytest.raises(ValueError, match="prior_covariance.*positive definite"):
        low_rank_posterior(hvp, jnp.diag(jnp.array([1.0, -1.0, 1.0, 1.0])), rank=2, key=key)
    with pytest.raises(ValueError, match="not positive definite"):  # λ = −3 is not a kept pair
        low_rank_posterior(matvec_of(np.diag([2.0, 1.0, 0.5, -3.0])), jnp.ones(4), rank=2,
                           key=key)  # fmt: skip


# ------------------------------------------------------------------------------------------
# Dense Laplace samples


def test_laplace_samples_covariance():
    n = 8
    hessian = spd_matrix(n, 30.0, seed=10)
    mean = np.arange(n, dtype=float)
    samples = np.asarray(laplace_samples(jax.random.key(4), jnp.asarray(mean), matvec_of(hessian),
                                         n, 20_000))  # fmt: skip
    assert samples.shape == (20_000, n)
    covariance = np.linalg.inv(hessian)
    assert relative_frobenius(np.cov(samples.T), covariance) < 0.05
    standard_error = np.sqrt(np.diag(covariance) / 20_000)
    assert np.all(np.abs(samples.mean(axis=0) - mean) < 5 * standard_error)


def test_laplace_samples_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="not positive definite"):
        laplace_samples(key, jnp.zeros(3), matvec_of(np.diag([1.0, -1.0, 2.0])), 3, 10)
    with pytest.raises(ValueError, match="not symmetric"):
        laplace_samples(key, jnp.zeros(2), matvec_of(np.array([[2.0, 1.0], [0.0, 2.0]])), 2, 10)
    with pytest.raises(ValueError, match=r"mean.*\(3,\)"):
        laplace_samples(key, jnp.zeros((3, 1)), matvec_of(np.eye(3)), 3, 10)
    with pytest.raises(ValueError, match="n_samples"):
        laplace_samples(key, jnp.zeros(3), matvec_of(np.eye(3)), 3, 0)
