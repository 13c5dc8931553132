"""The symplectic adjoint is the exact discrete adjoint (float64): it equals reverse AD through
the scan to round-off for every scheme, conserves λ_nᵀδx_n, and a non-partner adjoint does not."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax import integrate as ig
from sjax.assim import wave_displacement_rate, wave_ode, wave_vector_field, wave_velocity_rate
from sjax.wave import Grid

GRID = Grid(10, 12, 10.0, 10.0, 4)  # 4 sponge cells on three sides
MEDIUM = LayeredMedium([43.0], [2000.0, 3000.0], [800.0, 1600.0], [2000.0, 2300.0])
N_STEPS, DT = 12, 1e-3
RK_TABLEAUX = {"euler": ig.EULER, "heun": ig.HEUN, "rk3": ig.RK3, "rk4": ig.RK4,
               "rk4_38": ig.RK4_38}  # fmt: skip
SPLITTINGS = {"verlet": ig.STORMER_VERLET, "yoshida4": ig.YOSHIDA4, "suzuki4": ig.SUZUKI4}


def scheme_named(name):
    if name in RK_TABLEAUX:
        return ig.RungeKutta(wave_vector_field, RK_TABLEAUX[name])
    return ig.Splitting(wave_displacement_rate, wave_velocity_rate, SPLITTINGS[name])


def initial_state(wave, key=jax.random.key(1)):
    shape = GRID.shape
    k1, k2, k3 = jax.random.split(key, 3)
    if wave == "sh":
        return jax.random.normal(k1, shape), 50.0 * jax.random.normal(k2, shape)
    return ((jax.random.normal(k1, shape), jax.random.normal(k2, shape)),
            (50.0 * jax.random.normal(k3, shape), jnp.zeros(shape)))  # fmt: skip


def observe(x, ode):
    u = x[0] if ode.wave == "sh" else x[0][1]
    return u[0, 3:9]


def cost(scheme, wave, x0, medium, sponge_scale, adjoint):
    """A nonlinear function of observations at every step; ``sponge_scale`` 0 gives reflecting
    edges (no absorption), 1 the sponge."""
    ode = wave_ode(medium, GRID, wave=wave)
    ode = ode.__class__(ode.material, sponge_scale * ode.damping, ode.grid, ode.wave,
                        ode.free_surface)  # fmt: skip
    y = ig.solve(scheme, x0, ode, n_steps=N_STEPS, dt=DT, observe=observe, adjoint=adjoint)
    weights = jnp.sin(jnp.arange(N_STEPS + 1.0))[:, None]
    return jnp.sum(weights * y) + 0.5 * jnp.sum(y**2)


def flat(tree):
    return np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(tree)])


def gradients(name, wave, adjoint):
    """Gradients w.r.t. the initial state and every medium field, with and without the sponge
    (one compilation, vmapped over the two boundary conditions)."""
    scheme = scheme_named(name)

    def grad_one(scale):
        return jax.grad(cost, argnums=(2, 3))(scheme, wave, initial_state(wave), MEDIUM, scale,
                                              adjoint)  # fmt: skip

    return jax.jit(jax.vmap(grad_one))(jnp.array([0.0, 1.0]))


# one Runge–Kutta tableau and one splitting per wave in the default run (each compiles the two
# adjoints, ~10 s); the slow variant sweeps every supported scheme (``pytest -m slow``, in CI)
FAST = {("rk4", "sh"), ("yoshida4", "sh"), ("euler", "sh"), ("verlet", "psv")}
ALL = [(name, "sh") for name in (*RK_TABLEAUX, *SPLITTINGS)] + [
    (name, "psv") for name in ("rk4", "verlet", "yoshida4", "rk3", "suzuki4")]  # fmt: skip
CASES = [pytest.param(*case, marks=() if case in FAST else pytest.mark.slow) for case in ALL]


@pytest.mark.parametrize("name, wave", CASES)
def test_symplectic_adjoint_equals_direct_adjoint(name, wave):
    direct = gradients(name, wave, ig.DirectAdjoint())
    # blocks of 5 steps (the last one padded); Euler checkpoints every state (nothing recomputed)
    every = 1 if name == "euler" else 5
    symplectic = gradients(name, wave, ig.SymplecticAdjoint(checkpoint_every=every))
    for boundary in (0, 1):  # reflecting, absorbing
        reference = flat(jax.tree.map(lambda a: a[boundary], direct))
        value = flat(jax.tree.map(lambda a: a[boundary], symplectic))
        assert np.linalg.norm(reference) > 0
        error = np.linalg.norm(value - reference) / np.linalg.norm(reference)
        assert error < 1e-12, (name, wave, boundary, error)
        # the medium gradient (thickness included) is not trivially zero
        medium_grad = jax.tree.map(lambda a: a[boundary], direct[1])
        assert abs(float(medium_grad.thickness[0])) > 0


@pytest.mark.parametrize("name", ["rk4", "yoshida4"])
def test_quadratic_invariant_is_conserved_across_steps(name):
    """λ_nᵀ δx_n = λ_{n+1}ᵀ δx_{n+1} for the adjoint (partner) and tangent sweeps, with the
    dissipative sponge on."""
    scheme, wave = scheme_named(name), "sh"
    ode = wave_ode(MEDIUM, GRID, wave=wave)
    x = initial_state(wave)
    dx = initial_state(wave, jax.random.key(7))
    step = jax.jit(lambda t, x, dx: jax.jvp(lambda x: scheme.step(t, DT, x, ode), (x,), (dx,)))
    states, tangents = [x], [dx]
    for n in range(N_STEPS):
        x, dx = step(n * DT, x, dx)
        states.append(x)
        tangents.append(dx)
    adjoint_step = jax.jit(lambda t, x, lam: scheme.adjoint_step(t, DT, x, ode, None, lam)[0])
    lam = initial_state(wave, jax.random.key(11))
    products = [float(sum(jnp.vdot(a, b) for a, b in zip(lam, tangents[-1])))]
    for n in reversed(range(N_STEPS)):
        lam = adjoint_step(n * DT, states[n], lam)
        products.append(float(sum(jnp.vdot(a, b) for a, b in zip(lam, tangents[n]))))
    products = np.array(products)
    assert np.max(np.abs(products - products[0])) / abs(products[0]) < 1e-12
    assert abs(products[0]) > 1.0


def pendulum(t, x, args):
    return jnp.stack([x[1], -args["k"] * jnp.sin(x[0]) - args["c"] * x[1]
                      + 0.3 * jnp.cos(2.0 * t)])  # fmt: skip


def pendulum_gradient(dt, adjoint):
    n_steps = int(round(2.0 / dt))

    def cost(x0, args):
        y = ig.solve(ig.RungeKutta(pendulum, ig.RK4), x0, args, n_steps=n_steps, dt=dt,
                     observe=lambda x, a: x[0], adjoint=adjoint)  # fmt: skip
        return 0.5 * y[-1] ** 2 + y[n_steps // 2]

    return flat(jax.jit(jax.grad(cost, argnums=(0, 1)))(jnp.array([1.0, 0.2]),
                                                        {"k": jnp.array(3.0), "c": jnp.array(0.2)}))  # fmt: skip


def test_non_partner_adjoint_error_decays_as_dt_to_the_fourth():
    """The continuous adjoint integrated by plain RK4 is only O(dt⁴) close to the gradient of
    the discrete cost; the partner (symplectic) adjoint is exact at every dt."""
    steps = [0.1, 0.05, 0.025, 0.0125]
    errors, partner_errors = [], []
    for dt in steps:
        exact = pendulum_gradient(dt, ig.DirectAdjoint())
        continuous = pendulum_gradient(dt, ig.ContinuousAdjoint())
        partner = pendulum_gradient(dt, ig.SymplecticAdjoint())
        errors.append(np.linalg.norm(continuous - exact) / np.linalg.norm(exact))
        partner_errors.append(np.linalg.norm(partner - exact) / np.linalg.norm(exact))
    order = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 3.5 < order < 4.6, (order, errors)
    assert errors[-1] > 1e-10  # far above round-off: the error is real
    assert max(partner_errors) < 1e-13
