"""`simulate(..., adjoint=SymplecticAdjoint())`: the hand-built adjoint (checkpoints, per-step
recomputation, the leapfrog/C-PML step's exact adjoint) equals reverse AD through the scan."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.integrate import CheckpointAdjoint, DirectAdjoint, SymplecticAdjoint
from sjax.wave import Grid, PointForce, Receivers, Ricker, explosion, simulate

GRID = Grid(32, 40, 10.0, 10.0, 8)  # free surface on top, C-PML on three sides
RECEIVERS = Receivers([90.0, 250.0], [0.0, 75.0])
MEDIUM = LayeredMedium([123.0], [2000.0, 3000.0], [800.0, 1600.0], [2000.0, 2300.0])
SOURCES = {"sh": PointForce(190.3, 102.6, Ricker(15.0, origin_time=jnp.asarray(0.04))),
           "psv": explosion(190.3, 102.6, Ricker(15.0, origin_time=jnp.asarray(0.04)))}


def misfit(medium, source, receivers, wave, output, adjoint):
    traces = simulate(medium, GRID, source, receivers, duration=0.25, dt=1.2e-3, wave=wave,
                      output=output, adjoint=adjoint).traces  # fmt: skip
    return 0.5 * jnp.sum((traces - 1e-10) ** 2) * 1e20


@eqx.filter_jit
def gradients(wave, output, adjoint):
    return jax.grad(misfit, argnums=(0, 1, 2))(MEDIUM, SOURCES[wave], RECEIVERS, wave, output,
                                               adjoint)  # fmt: skip


# P-SV is the slow variant: its adjoint step is checked against jax.vjp in test_adjoint_step.py,
# and .ci/run runs this case too
@pytest.mark.parametrize("wave, output", [
    ("sh", "displacement"), pytest.param("psv", "velocity", marks=pytest.mark.slow)])
def test_symplectic_gradient_equals_direct_for_every_field(wave, output):
    direct = gradients(wave, output, DirectAdjoint())
    symplectic = gradients(wave, output, SymplecticAdjoint())
    fields = {"medium": (direct[0], symplectic[0]), "source x, z": (
        (direct[1].x, direct[1].z), (symplectic[1].x, symplectic[1].z)),
        "origin time": (direct[1].wavelet.origin_time, symplectic[1].wavelet.origin_time),
        "receivers": (direct[2], symplectic[2])}  # fmt: skip
    for name, (reference, value) in fields.items():
        a = np.concatenate([np.ravel(x) for x in jax.tree.leaves(reference)])
        b = np.concatenate([np.ravel(x) for x in jax.tree.leaves(value)])
        assert np.linalg.norm(a) > 0, name
        assert np.linalg.norm(b - a) / np.linalg.norm(a) < 1e-10, name
    for name in ("thickness", "velocity_p", "velocity_s", "density"):  # SH has no velocity_p
        a, b = getattr(direct[0], name), getattr(symplectic[0], name)
        assert np.linalg.norm(b - a) <= 1e-10 * np.linalg.norm(a), name


def test_symplectic_gradient_under_vmap_over_media():
    media = [eqx.tree_at(lambda m: m.velocity_s, MEDIUM, jnp.array([v, 1600.0]))
             for v in (700.0, 800.0)]  # fmt: skip
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *media)

    def grad_for(adjoint):
        return jax.jit(jax.vmap(jax.grad(
            lambda m: misfit(m, SOURCES["sh"], RECEIVERS, "sh", "displacement", adjoint))))

    direct = grad_for(DirectAdjoint())(batch).velocity_s
    symplectic = grad_for(SymplecticAdjoint())(batch).velocity_s
    assert np.linalg.norm(symplectic - direct) / np.linalg.norm(direct) < 1e-10


def test_forward_traces_do_not_depend_on_the_adjoint():
    runs = [simulate(MEDIUM, GRID, SOURCES["sh"], RECEIVERS, duration=0.1, dt=1.2e-3,
                     adjoint=adjoint).traces
            for adjoint in (CheckpointAdjoint(), SymplecticAdjoint())]  # fmt: skip
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12, atol=1e-30)


def test_symplectic_adjoint_refuses_snapshots_and_unknown_strategies():
    with pytest.raises(ValueError, match="snapshot_every"):
        simulate(MEDIUM, GRID, SOURCES["sh"], RECEIVERS, duration=0.1, dt=1.2e-3,
                 snapshot_every=10, adjoint=SymplecticAdjoint())  # fmt: skip
    with pytest.raises(TypeError, match="adjoint"):
        simulate(MEDIUM, GRID, SOURCES["sh"], RECEIVERS, duration=0.1, dt=1.2e-3,
                 adjoint="symplectic")  # fmt: skip
