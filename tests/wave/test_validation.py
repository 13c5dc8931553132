"""Bad input raises a clear ValueError/TypeError naming the field."""

import inspect
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.wave import (
    GaussianDerivative,
    Grid,
    MomentTensorSource,
    PointForce,
    Receivers,
    Ricker,
    SamplingWarning,
    explosion,
    simulate,
    stable_time_step,
)
from sjax.wave.stencils import forward

GOOD = dict(thickness=[100.0], velocity_p=[2000.0, 3000.0], velocity_s=[1000.0, 1700.0],
            density=[2000.0, 2300.0])  # fmt: skip


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("velocity_s", [-1000.0, 1700.0], "velocity_s must be positive"),
        ("velocity_p", [2000.0, 0.0], "velocity_p must be positive"),
        ("density", [2000.0, math.nan], "density contains NaN"),
        ("thickness", [math.inf], "thickness contains NaN or infinite"),
        ("thickness", [0.0], "thickness must be positive"),
        ("velocity_p", [1100.0, 3000.0], "4/3 \\* velocity_s"),
        ("density", [2000.0], "density has 1 layers but velocity_p has 2"),
        ("thickness", [100.0, 50.0], "thickness needs n_layer - 1 = 1"),
    ],
)
def test_medium_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        LayeredMedium(**{**GOOD, field: value})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(nz=4, nx=64, spacing_z=5.0, spacing_x=5.0), "nz=4"),
        (dict(nz=64, nx=64, spacing_z=-5.0, spacing_x=5.0), "spacing_z=-5.0"),
        (dict(nz=64, nx=64, spacing_z=5.0, spacing_x=5.0, absorbing_width=-1), "absorbing_width"),
    ],
)
def test_grid_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid(**kwargs)


MEDIUM = LayeredMedium(**GOOD)
GRID = Grid(32, 32, 10.0, 10.0, 10)
SOURCE = PointForce(150.0, 100.0, Ricker(10.0))
RECEIVERS = Receivers([50.0, 200.0])


def test_unstable_dt_is_refused_with_the_bound():
    bound = stable_time_step(MEDIUM, GRID, wave="psv", courant=1.0)
    with pytest.raises(ValueError, match=r"dt=.* violates CFL: needs dt <= .* velocity_p max 3000"):
        simulate(MEDIUM, GRID, SOURCE, RECEIVERS, duration=0.1, dt=1.01 * bound, wave="psv")
    sh_bound = stable_time_step(MEDIUM, GRID, wave="sh", courant=1.0)
    assert sh_bound == pytest.approx(bound * 3000.0 / 1700.0)  # SH is limited by velocity_s
    with pytest.raises(ValueError, match="velocity_s max 1700"):
        simulate(MEDIUM, GRID, SOURCE, RECEIVERS, duration=0.1, dt=1.01 * sh_bound)
    with pytest.raises(ValueError, match="dt=-0.001 s must be positive"):
        simulate(MEDIUM, GRID, SOURCE, RECEIVERS, duration=0.1, dt=-1e-3)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (dict(receivers=Receivers([50.0, 400.0])), ValueError, "receivers must lie inside"),
        (dict(source=PointForce(150.0, -5.0, Ricker(10.0))), ValueError, "source must lie inside"),
        (dict(wave="love"), ValueError, "wave='love' must be 'sh' or 'psv'"),
        (dict(output="strain"), ValueError, "output='strain'"),
        (dict(duration=0.0), ValueError, "duration=0.0 s must be positive"),
        (dict(source=explosion(150.0, 100.0, Ricker(10.0))), TypeError, "SH takes a PointForce"),
        (dict(receivers=[50.0, 200.0]), TypeError, "receivers must be Receivers"),
        (dict(snapshot_every=0), ValueError, "snapshot_every=0"),
    ],
)
def test_simulate_validation(change, error, match):
    kwargs = dict(source=SOURCE, receivers=RECEIVERS, duration=0.1, wave="sh")
    kwargs.update(change)
    with pytest.raises(error, match=match):
        simulate(MEDIUM, GRID, **kwargs)


def test_other_validation():
    with pytest.raises(ValueError, match="frequency=.* must be positive"):
        Ricker(-1.0)
    with pytest.raises(ValueError, match="receiver x .* and z .* shapes differ"):
        Receivers([1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="courant=1.5"):
        stable_time_step(MEDIUM, GRID, courant=1.5)
    with pytest.raises(ValueError, match="top='mirror'"):
        forward(jnp.ones((8, 8)), 0, 1.0, top="mirror")
    with pytest.raises(ValueError, match="one medium"):
        batch = LayeredMedium([[100.0]] * 2, [[2000.0, 3000.0]] * 2, [[1000.0, 1700.0]] * 2,
                              [[2000.0, 2300.0]] * 2)  # fmt: skip
        simulate(batch, GRID, SOURCE, RECEIVERS, duration=0.1, dt=1e-3)
    assert isinstance(MomentTensorSource(1.0, 1.0, Ricker(1.0)).moment, jnp.ndarray)


# equinox.error_if raises EquinoxRuntimeError under equinox.filter_jit; under jax.jit the same
# message arrives in a JaxRuntimeError or (from a cached executable) a ValueError
RUNTIME_ERRORS = (eqx.EquinoxRuntimeError, RuntimeError, ValueError)


def test_unstable_dt_under_jit_raises_instead_of_returning_non_finite_traces():
    """Issue 18 item 1: a traced medium hides the CFL bound from the Python check; the run-time
    check (equinox.error_if) raises, and a stable dt still runs under jit."""
    dt = 2.2 * stable_time_step(MEDIUM, GRID, wave="sh")
    run = jax.jit(lambda m, dt=dt: simulate(m, GRID, SOURCE, RECEIVERS, duration=0.1, dt=dt).traces)
    with pytest.raises(RUNTIME_ERRORS, match="violates CFL for the traced medium"):
        jax.block_until_ready(run(MEDIUM))
    traces = jax.jit(lambda m: simulate(m, GRID, SOURCE, RECEIVERS, duration=0.1,
                                        dt=dt / 2.2).traces)(MEDIUM)  # fmt: skip
    assert np.all(np.isfinite(np.asarray(traces))) and np.max(np.abs(np.asarray(traces))) > 0


def test_traced_bad_positions_and_materials_raise_at_run_time():
    def run(x_receiver, velocity_s):
        medium = eqx.tree_at(lambda m: m.velocity_s, MEDIUM, velocity_s)
        return simulate(medium, GRID, SOURCE, Receivers(x_receiver), duration=0.05,
                        dt=1e-3).traces  # fmt: skip

    run = jax.jit(run)
    good_vs = MEDIUM.velocity_s
    assert np.all(np.isfinite(np.asarray(run(jnp.array([50.0]), good_vs))))
    with pytest.raises(RUNTIME_ERRORS, match="traced receivers positions"):
        jax.block_until_ready(run(jnp.array([jnp.nan]), good_vs))
    with pytest.raises(RUNTIME_ERRORS, match="traced receivers positions"):
        jax.block_until_ready(run(jnp.array([1e4]), good_vs))
    with pytest.raises(RUNTIME_ERRORS, match="must be positive and finite"):
        jax.block_until_ready(run(jnp.array([50.0]), good_vs.at[0].set(jnp.nan)))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Receivers([math.nan]), "Receivers x=.*nan.* must be finite"),
        (lambda: Receivers([10.0], [math.inf]), "Receivers z=.*inf.* must be finite"),
        (lambda: PointForce(math.nan, 50.0, Ricker(10.0)), "PointForce x=.*nan.* must be finite"),
        (lambda: PointForce(50.0, 50.0, Ricker(10.0), direction=(math.nan, 1.0)),
         "PointForce direction"),
        (lambda: explosion(50.0, math.nan, Ricker(10.0)), "MomentTensorSource z"),
        (lambda: Ricker(math.nan), "Ricker frequency=nan Hz must be positive"),
        (lambda: Ricker(10.0, amplitude=math.inf), "Ricker amplitude=inf"),
        (lambda: GaussianDerivative(0.0), "GaussianDerivative frequency=0.0 Hz"),
    ],
)  # fmt: skip
def test_non_finite_sources_and_receivers_are_refused(build, match):
    """Issue 18 item 2: NaN positions used to give NaN traces."""
    with pytest.raises(ValueError, match=match):
        build()


def test_implausible_units_and_resolution_warn():
    """Issue 18 item 3: km/s typed as m/s, and a 200 Hz Ricker on a 5 m grid."""
    fine = Grid(32, 32, 5.0, 5.0, 10)
    source = PointForce(80.0, 50.0, Ricker(200.0))
    with pytest.warns(SamplingWarning, match=r"0.4 grid points per shortest wavelength"):
        simulate(MEDIUM, fine, source, Receivers([50.0]), duration=0.01, dt=1e-4)
    slow = LayeredMedium([100.0], [2.0, 3.0], [1.0, 1.7], [2000.0, 2300.0])  # km/s typed
    with pytest.warns(SamplingWarning, match="1 m/s is below 10 m/s"):
        simulate(slow, fine, PointForce(80.0, 50.0, Ricker(0.001)), Receivers([50.0]),
                 duration=0.5, dt=0.1)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # 20 points per wavelength: silent
        simulate(MEDIUM, fine, PointForce(80.0, 50.0, Ricker(4.0)), Receivers([50.0]),
                 duration=0.01, dt=1e-4)  # fmt: skip


def test_stable_time_step_and_simulate_share_the_default_wave():
    default = inspect.signature(simulate).parameters["wave"].default
    assert inspect.signature(stable_time_step).parameters["wave"].default == default
    assert stable_time_step(MEDIUM, GRID) == stable_time_step(MEDIUM, GRID, wave=default)
