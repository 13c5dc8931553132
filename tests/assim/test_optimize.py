"""sjax.assim.optimize: Newton–CG and L-BFGS on Rosenbrock, quadratics and a logistic
regression checked against scipy; the driver's stopping rules and input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from sjax.assim.optimize import lbfgs, minimize, newton_cg


def rosenbrock(z):
    return jnp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)


def exact_hvp(cost):
    return lambda z, v: jax.jvp(jax.grad(cost), (z,), (v,))[1]


def solvers(cost):
    value_and_grad = jax.value_and_grad(cost)
    return {"newton_cg": newton_cg(value_and_grad, exact_hvp(cost)),
            "lbfgs": lbfgs(value_and_grad)}  # fmt: skip


ROSENBROCK_SOLVERS = solvers(rosenbrock)  # shared so that each solver compiles once per shape


# ------------------------------------------------------------------------------------------
# Minimisation accuracy


@pytest.mark.parametrize("name", ["newton_cg", "lbfgs"])
@pytest.mark.parametrize("z0", [np.array([-1.2, 1.0]), np.zeros(10)], ids=["2d", "10d"])
def test_rosenbrock_minimum(name, z0):
    result = minimize(ROSENBROCK_SOLVERS[name], jnp.asarray(z0), max_iterations=500,
                      tolerance=1e-10)  # fmt: skip
    assert result.converged, result.reason
    np.testing.assert_array_less(np.abs(np.asarray(result.params) - 1.0), 1e-6)
    assert result.value < 1e-12
    # Armijo / Wolfe line searches: the recorded cost never increases
    assert np.all(np.diff(result.trace.value) <= 0.0)
    assert len(result.trace.value) == result.n_iterations + 1
    assert result.trace.n_evaluations[0] == 1
    assert np.all(np.diff(result.trace.n_evaluations) >= 1)


@pytest.mark.parametrize("name", ["newton_cg", "lbfgs"])
def test_step_preserves_state_types(name):
    # same shapes, dtypes and weak types after a step as after init: the jitted step compiles once
    solver = ROSENBROCK_SOLVERS[name]
    initial = jax.eval_shape(solver.init, jnp.array([-1.2, 1.0]))
    stepped = jax.eval_shape(lambda state: solver.step(state)[0], initial)

    def signature(tree):
        return jax.tree.map(lambda leaf: (leaf.shape, leaf.dtype, leaf.weak_type), tree)

    assert signature(stepped) == signature(initial)


def test_newton_cg_quadratic_two_iterations():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    matrix = q @ np.diag(np.logspace(0, 2, 8)) @ q.T  # condition number 100
    rhs = rng.normal(size=8)

    def cost(z):
        return 0.5 * z @ (jnp.asarray(matrix) @ z) - jnp.asarray(rhs) @ z

    result = minimize(solvers(cost)["newton_cg"], jnp.zeros(8), tolerance=1e-10)
    assert result.converged, result.reason
    assert result.n_iterations <= 2
    np.testing.assert_allclose(result.params, np.linalg.solve(matrix, rhs), rtol=0, atol=1e-9)


def logistic_data():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 5))
    labels = np.where(features @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + rng.normal(size=200) > 0,
                      1.0, -1.0)  # fmt: skip
    return features, labels


def test_logistic_regression_matches_scipy():
    features, labels = logistic_data()
    ridge = 0.1

    def cost(w):  # sum of log(1 + exp(−y xᵀw)) + ridge/2 |w|²
        margins = labels * (jnp.asarray(features) @ w)
        return jnp.sum(jnp.logaddexp(0.0, -margins)) + 0.5 * ridge * w @ w

    def cost_np(w):
        return np.sum(np.logaddexp(0.0, -labels * (features @ w))) + 0.5 * ridge * w @ w

    def grad_np(w):
        sigma = 1.0 / (1.0 + np.exp(labels * (features @ w)))
        return -features.T @ (labels * sigma) + ridge * w

    def hess_np(w):
        p = 1.0 / (1.0 + np.exp(-features @ w))
        return features.T @ (features * (p * (1 - p))[:, None]) + ridge * np.eye(5)

    reference = scipy.optimize.minimize(cost_np, np.zeros(5), jac=grad_np, hess=hess_np,
                                        method="trust-exact", options={"gtol": 1e-12})  # fmt: skip
    assert reference.success
    for name, solver in solvers(cost).items():
        result = minimize(solver, jnp.zeros(5), tolerance=1e-10, value_tolerance=0.0)
        assert result.converged, (name, result.reason)
        np.testing.assert_allclose(result.params, reference.x, rtol=0, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(result.value, reference.fun, rtol=1e-12, err_msg=name)
        assert np.all(np.diff(result.trace.value) <= 0.0), name


def test_negative_curvature_takes_steepest_descent():
    def cost(z):  # double well; H = −1 + 3 z² < 0 at the start
        return jnp.sum(0.25 * z**4 - 0.5 * z**2)

    solver = solvers(cost)["newton_cg"]
    state = solver.init(jnp.array([0.1, -0.2]))
    state, info = jax.jit(solver.step)(state)
    assert bool(info.negative_curvature)
    assert int(info.cg_iterations) == 1
    assert float(info.value) < float(cost(jnp.array([0.1, -0.2])))
    result = minimize(solver, jnp.array([0.1, -0.2]), tolerance=1e-12)
    np.testing.assert_allclose(result.params, [1.0, -1.0], atol=1e-10)


def test_pytree_parameters():
    targets = {"velocity": jnp.array([3.0, 4.5, 6.0]), "depth": jnp.array([[1.0, -2.0]])}

    def cost(params):
        return (jnp.sum((params["velocity"] - targets["velocity"]) ** 2 * jnp.arange(1.0, 4.0))
                + jnp.sum(jnp.cosh(params["depth"] - targets["depth"])))  # fmt: skip

    z0 = {"velocity": jnp.zeros(3), "depth": jnp.zeros((1, 2))}
    for name, solver in solvers(cost).items():
        result = minimize(solver, z0, tolerance=1e-10, progress=True)
        assert result.converged, (name, result.reason)
        assert jax.tree.structure(result.params) == jax.tree.structure(z0)
        for key in targets:
            np.testing.assert_allclose(result.params[key], targets[key], atol=1e-8, err_msg=name)


# ------------------------------------------------------------------------------------------
# Stopping rules and validation


@pytest.mark.parametrize("name", ["newton_cg", "lbfgs"])
def test_max_iterations_not_converged(name):
    result = minimize(ROSENBROCK_SOLVERS[name], jnp.array([-1.2, 1.0]), max_iterations=3)
    assert not result.converged
    assert "max_iterations" in result.reason
    assert result.n_iterations == 3
    assert result.trace.value.shape == (4,)
    assert result.value > 1e-3  # far from the minimum after 3 steps


def test_value_tolerance_stops_converged():
    def offset_rosenbrock(z):  # J* = 1: the relative decrease becomes small near the minimum
        return rosenbrock(z) + 1.0

    result = minimize(solvers(offset_rosenbrock)["newton_cg"], jnp.array([-1.2, 1.0]),
                      tolerance=0.0, value_tolerance=1e-6)  # fmt: skip
    assert result.converged
    assert "value_tolerance" in result.reason
    relative_decrease = -np.diff(result.trace.value) / result.trace.value[:-1]
    assert relative_decrease[-1] <= 1e-6
    assert np.all(relative_decrease[:-1] > 1e-6)
    assert np.abs(np.asarray(result.params) - 1.0).max() < 1e-2


@pytest.mark.parametrize("name", ["newton_cg", "lbfgs"])
def test_nan_cost_raises(name):
    z0 = jnp.ones(3)

    def finite_only_at_start(z):
        return jnp.sum(z**2) + jnp.where(jnp.all(z == z0), 0.0, jnp.nan)

    with pytest.raises(ValueError, match="non-finite.*iteration 1"):
        minimize(solvers(finite_only_at_start)[name], z0)

    def nan_everywhere(z):
        return jnp.sum(z**2) * jnp.nan

    with pytest.raises(ValueError, match="initial cost"):
        minimize(solvers(nan_everywhere)[name], z0)


def test_nan_gradient_after_first_step_raises():
    def value_and_grad(z):  # finite cost, NaN gradient beyond z = 1
        return jnp.sum((z - 3.0) ** 2), jnp.where(z > 1.0, jnp.nan, 2.0 * (z - 3.0))

    solver = newton_cg(value_and_grad, lambda z, v: 2.0 * v)
    with pytest.raises(ValueError, match="iteration 1"):
        minimize(solver, jnp.zeros(2))


def test_wrong_gradient_line_search_fails_without_moving():
    def value_and_grad(z):  # gradient of the wrong sign: no step decreases the cost
        return jnp.sum(z**2), -2.0 * z

    z0 = jnp.array([1.0, -2.0])
    for solver in [newton_cg(value_and_grad, lambda z, v: 2.0 * v), lbfgs(value_and_grad)]:
        result = minimize(solver, z0)
        assert not result.converged
        assert "line search" in result.reason
        assert result.n_iterations == 1
        np.testing.assert_array_equal(result.params, z0)
        np.testing.assert_array_equal(result.trace.value, [5.0, 5.0])
        assert result.trace.step_size[-1] == 0.0


def test_invalid_inputs():
    solver = ROSENBROCK_SOLVERS["newton_cg"]
    with pytest.raises(ValueError, match="z0"):
        minimize(solver, jnp.array([jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="z0"):
        minimize(solver, jnp.array([1, 2]))
    with pytest.raises(ValueError, match="max_iterations"):
        minimize(solver, jnp.zeros(2), max_iterations=0)
    value_and_grad = jax.value_and_grad(rosenbrock)
    with pytest.raises(ValueError, match="cg_tolerance"):
        newton_cg(value_and_grad, exact_hvp(rosenbrock), cg_tolerance=1.5)
    with pytest.raises(ValueError, match="line_search"):
        newton_cg(value_and_grad, exact_hvp(rosenbrock), line_search="wolfe")
    with pytest.raises(ValueError, match="memory_size"):
        lbfgs(value_and_grad, memory_size=0)
