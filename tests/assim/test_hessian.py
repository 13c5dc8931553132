"""Exact Hessian–vector products by the second-order adjoint (float64), and the inverse-Hessian
entries they give, against `jax.hessian` and a linear-Gaussian (Kalman) oracle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from sjax import LayeredMedium
from sjax import integrate as ig
from sjax.assim import (
    Background,
    FourDVar,
    Observations,
    hvp,
    value_grad_hvp,
    wave_displacement_rate,
    wave_ode,
    wave_vector_field,
    wave_velocity_rate,
)
from sjax.assim.posterior import posterior_covariance
from sjax.wave import Grid

GRID = Grid(10, 12, 10.0, 10.0, 4)
N_STEPS, DT = 20, 1e-3
PATCH = (slice(2, 7), slice(6, 12))  # 5 x 6 initial-displacement control


def wave_cost(scheme, adjoint):
    """Control: 30 initial displacements and the two S velocities (32 unknowns)."""

    def model(z):
        medium = LayeredMedium([43.0], [2000.0, 3000.0], z["velocity_s"], [2000.0, 2300.0])
        u0 = jnp.zeros(GRID.shape).at[PATCH].set(z["u0"])
        return (u0, jnp.zeros(GRID.shape)), wave_ode(medium, GRID, wave="sh"), None

    def observe(x, ode):
        return x[0][0, 4:14]

    steps = np.arange(0, N_STEPS + 1, 2)
    values = 0.1 * np.sin(np.arange(len(steps) * 10.0)).reshape(len(steps), 10)
    background = Background({"u0": np.zeros((5, 6)), "velocity_s": np.array([780.0, 1650.0])},
                            std={"u0": 1.0, "velocity_s": 50.0})  # fmt: skip
    return FourDVar(scheme, model, observe, Observations(steps, values, std=0.05), background,
                    n_steps=N_STEPS, dt=DT, adjoint=adjoint)  # fmt: skip


def control():
    key = jax.random.key(3)
    return {"u0": jax.random.normal(key, (5, 6)), "velocity_s": jnp.array([800.0, 1600.0])}


SCHEMES = {"rk4": ig.RungeKutta(wave_vector_field, ig.RK4),
           "yoshida4": ig.Splitting(wave_displacement_rate, wave_velocity_rate, ig.YOSHIDA4)}


@pytest.mark.parametrize("name", ["rk4", pytest.param("yoshida4", marks=pytest.mark.slow)])
def test_second_order_adjoint_equals_jax_hessian(name):
    z = control()
    flat, unravel = ravel_pytree(z)
    assert flat.size <= 50
    exact = wave_cost(SCHEMES[name], ig.DirectAdjoint())
    dense = jax.jit(jax.hessian(lambda f: exact(unravel(f))))(flat)
    cost = wave_cost(SCHEMES[name], ig.SymplecticAdjoint(checkpoint_every=6))

    @jax.jit
    def columns(basis):
        return jax.vmap(lambda e: ravel_pytree(hvp(cost, z, unravel(e)))[0])(basis)

    hessian = columns(jnp.eye(flat.size))  # row i = H e_i
    error = np.linalg.norm(hessian - dense) / np.linalg.norm(dense)
    assert error < 1e-10, error
    asymmetry = np.linalg.norm(hessian - hessian.T) / np.linalg.norm(hessian)
    assert asymmetry < 1e-10, asymmetry
    # one sweep also gives the cost and its gradient, equal to the direct adjoint's
    v = unravel(jax.random.normal(jax.random.key(5), flat.shape))
    value, gradient, hv = jax.jit(lambda z, v: value_grad_hvp(cost, z, v))(z, v)
    assert float(value) == pytest.approx(float(exact(z)), rel=1e-12)
    direct_gradient = ravel_pytree(jax.grad(lambda z: exact(z))(z))[0]
    assert np.allclose(ravel_pytree(gradient)[0], direct_gradient, rtol=1e-11, atol=0)
    assert np.allclose(ravel_pytree(hv)[0], dense @ ravel_pytree(v)[0],
                       rtol=1e-9, atol=1e-10 * np.abs(dense).max())  # fmt: skip


def test_jvp_of_grad_agrees_with_second_order_adjoint():
    z = control()
    v = jax.tree.map(jnp.ones_like, z)
    direct = wave_cost(SCHEMES["rk4"], ig.DirectAdjoint())
    symplectic = wave_cost(SCHEMES["rk4"], ig.SymplecticAdjoint())
    a = ravel_pytree(jax.jit(lambda z, v: hvp(direct, z, v, method="jvp_grad"))(z, v))[0]
    b = ravel_pytree(jax.jit(lambda z, v: hvp(symplectic, z, v))(z, v))[0]
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-12


def linear_gaussian(dim=6, n_steps=30, dt=0.05):
    rng = np.random.default_rng(0)
    skew = rng.normal(size=(dim, dim))
    a = (skew - skew.T) - 0.3 * np.eye(dim)  # a damped oscillatory linear system
    observed = np.array([0, 3])
    steps = np.arange(3, n_steps + 1, 3)
    prior = rng.normal(size=(dim, dim))
    b = prior @ prior.T / dim + 0.5 * np.eye(dim)
    r = np.array([[0.04, 0.01], [0.01, 0.09]])
    truth = rng.normal(size=dim)
    scheme = ig.RungeKutta(lambda t, x, a: a @ x, ig.RK4)
    cost = FourDVar(
        scheme, lambda z: (z, jnp.asarray(a), None), lambda x, a: x[observed],
        Observations(steps, rng.normal(size=(len(steps), 2)), covariance=r),
        Background(truth, covariance=b), n_steps=n_steps, dt=dt, adjoint=ig.SymplecticAdjoint(),
    )  # fmt: skip
    return cost, truth, (a, b, r, observed, steps, dt)


def test_inverse_hessian_entries_equal_the_kalman_information_form():
    """Linear model and observations: [H⁻¹] from CG on second-order-adjoint products equals the
    dense inverse of the Gauss–Markov information matrix B⁻¹ + Σ_k M_kᵀ Hᵀ R⁻¹ H M_k built from
    the RK4 amplification matrix (the fixed-interval Kalman smoother's covariance of x0)."""
    cost, z, (a, b, r, observed, steps, dt) = linear_gaussian()
    dim = z.size
    h = dt * a
    step = np.eye(dim) + h + h @ h / 2 + h @ h @ h / 6 + h @ h @ h @ h / 24  # RK4, linear case
    select = np.eye(dim)[observed]
    information = np.linalg.inv(b)
    for n in steps:
        m = np.linalg.matrix_power(step, n)
        information += m.T @ select.T @ np.linalg.inv(r) @ select @ m
    covariance = np.linalg.inv(information)
    entries = posterior_covariance(cost, jnp.asarray(z), indices=[0, 2, 5])
    block = covariance[np.ix_([0, 2, 5], [0, 2, 5])]
    assert np.max(np.abs(entries.covariance - block)) / np.max(np.abs(block)) < 1e-8
    assert np.allclose(entries.columns, covariance[[0, 2, 5]], rtol=0,
                       atol=1e-8 * np.abs(covariance).max())  # fmt: skip
    assert np.all(entries.cg_iterations <= 2 * dim)
