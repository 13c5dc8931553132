"""Reverse-mode gradients of seismogram misfits against central finite differences (float64)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.wave import Grid, PointForce, Receivers, Ricker, explosion, simulate

GRID = Grid(48, 64, 10.0, 10.0, 10)
RECEIVERS = Receivers([150.0, 420.0], [0.0, 95.0])
DT = 1.2e-3
DURATION = 0.45


def medium(thickness=123.0, vs_top=800.0):
    # interface at 123 m lies inside a cell, where rasterisation depends on it smoothly
    return LayeredMedium([thickness], [2000.0, 3000.0], [vs_top, 1600.0], [2000.0, 2300.0])


@eqx.filter_jit
def misfit(medium, source, wave, observed):
    traces = simulate(medium, GRID, source, RECEIVERS, duration=DURATION, dt=DT, wave=wave).traces
    return 0.5 * jnp.sum((traces - observed) ** 2) * 1e20


def sources(x=310.3, z=142.6):
    return {"sh": PointForce(x, z, Ricker(15.0, origin_time=0.01)),
            "psv": explosion(x, z, Ricker(15.0, origin_time=0.01))}  # fmt: skip


@pytest.fixture(scope="module", params=["sh", "psv"])
def problem(request):
    wave = request.param
    observed = simulate(medium(130.0, 760.0), GRID, sources(300.0, 150.0)[wave], RECEIVERS,
                        duration=DURATION, dt=DT, wave=wave).traces  # fmt: skip
    return wave, observed


def central_difference(f, x0, h):
    """Fourth-order central difference (truncation error O(h⁴))."""
    return (8 * (f(x0 + h) - f(x0 - h)) - (f(x0 + 2 * h) - f(x0 - 2 * h))) / (12 * h)


def test_gradients_match_central_differences(problem):
    wave, observed = problem
    source = sources()[wave]
    grad_medium, grad_source = eqx.filter_jit(jax.grad(misfit, argnums=(0, 1)))(
        medium(), source, wave, observed
    )  # fmt: skip
    checks = {
        "velocity_s[0]": (grad_medium.velocity_s[0],
                          lambda v: misfit(medium(vs_top=v), source, wave, observed), 800.0, 0.5),
        "thickness[0]": (grad_medium.thickness[0],
                         lambda h: misfit(medium(thickness=h), source, wave, observed), 123.0, 0.05),
        "source x": (grad_source.x,
                     lambda x: misfit(medium(), sources(x=x)[wave], wave, observed), 310.3, 0.1),
        "source z": (grad_source.z,
                     lambda z: misfit(medium(), sources(z=z)[wave], wave, observed), 142.6, 0.1),
        "origin time": (grad_source.wavelet.origin_time,
                        # an array leaf: a Python float would be static and recompile
                        lambda t: misfit(medium(), eqx.tree_at(lambda s: s.wavelet.origin_time,
                                                               source, jnp.asarray(t)),
                                         wave, observed),
                        0.01, 1e-5),
    }  # fmt: skip
    for name, (analytic, f, x0, h) in checks.items():
        numeric = central_difference(f, x0, h)
        assert abs(float(numeric)) > 0, name  # the derivative must not vanish
        # issue target: relative error < 1e-6 in float64
        assert abs(float(analytic) - float(numeric)) / abs(float(numeric)) < 1e-6, name


def test_vmap_over_media_and_sources_matches_loop():
    media = [medium(vs_top=v) for v in (700.0, 800.0, 900.0)]
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *media)
    run = lambda m, s: simulate(m, GRID, s, RECEIVERS, duration=0.2, dt=DT).traces  # noqa: E731
    source = sources()["sh"]
    batched = jax.vmap(run, in_axes=(0, None))(batch, source)
    for k, m in enumerate(media):
        np.testing.assert_allclose(batched[k], run(m, source), rtol=1e-10, atol=1e-25)
    shots = [sources(x=x)["sh"] for x in (200.0, 300.0)]
    shot_batch = jax.tree.map(lambda *xs: jnp.stack(xs), *shots)
    by_shot = jax.vmap(run, in_axes=(None, 0))(media[0], shot_batch)
    for k, s in enumerate(shots):
        np.testing.assert_allclose(by_shot[k], run(media[0], s), rtol=1e-10, atol=1e-25)


def test_float32_path_matches_float64():
    m64 = medium()
    m32 = jax.tree.map(lambda x: x.astype(jnp.float32), m64)
    source = sources()["psv"]
    r64 = simulate(m64, GRID, source, RECEIVERS, duration=0.3, dt=DT, wave="psv").traces
    r32 = simulate(m32, GRID, source, RECEIVERS, duration=0.3, dt=DT, wave="psv").traces
    assert r32.dtype == jnp.float32
    # float32 tolerance: relative to the trace maximum, 1e-4
    assert float(jnp.max(jnp.abs(r32 - r64)) / jnp.max(jnp.abs(r64))) < 1e-4
