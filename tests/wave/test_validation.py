"""Bad input raises a clear ValueError/TypeError naming the field."""

import math

import jax.numpy as jnp
import pytest

from sjax import LayeredMedium
from sjax.wave import (
    Grid,
    MomentTensorSource,
    PointForce,
    Receivers,
    Ricker,
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
