"""The hand-written adjoint of one SH / P-SV leapfrog step (transposed stencils with the
free-surface mirror rules, C-PML run backwards, material gradients) equals ``jax.vjp`` of the
step to round-off, and each transposed stencil equals ``jax.linear_transpose`` of its stencil."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.wave import (
    Grid, PointForce, Ricker, build_model, explosion, psv_adjoint_step, psv_init, psv_step,
    sh_adjoint_step, sh_init, sh_step, stencils,
)  # fmt: skip

GRID = Grid(14, 17, 10.0, 12.0, 5)
MEDIUM = LayeredMedium([53.0], [2000.0, 3000.0], [800.0, 1600.0], [2000.0, 2300.0])


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("top", ["zero", "even", "odd"])
def test_transposed_stencils_equal_linear_transpose(axis, top):
    rng = np.random.default_rng(axis)
    x, y = (jnp.asarray(rng.normal(size=(9, 7))) for _ in range(2))
    for op, op_t in ((stencils.forward, stencils.forward_transpose),
                     (stencils.backward, stencils.backward_transpose)):  # fmt: skip
        reference = jax.linear_transpose(lambda a: op(a, axis, 2.0, top), x)(y)[0]
        np.testing.assert_allclose(op_t(y, axis, 2.0, top), reference, rtol=0, atol=1e-14)


def _random_like(tree, seed):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return treedef.unflatten([jax.random.normal(k, leaf.shape, leaf.dtype)
                              for k, leaf in zip(keys, leaves)])  # fmt: skip


def _laterally_varying(model, seed):
    """The model with every material profile replaced by a random positive (nz, nx) field."""
    material = model.material
    keys = jax.random.split(jax.random.key(seed), len(material))
    fields = [leaf * (1.0 + 0.2 * jax.random.uniform(k, GRID.shape, leaf.dtype))
              for k, leaf in zip(keys, material)]  # fmt: skip
    return eqx.tree_at(lambda m: m.material, model, type(material)(*fields))


def _relative(a, b):
    a = np.concatenate([np.ravel(x) for x in jax.tree.leaves(a)])
    b = np.concatenate([np.ravel(x) for x in jax.tree.leaves(b)])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("wave", ["sh", "psv"])
@pytest.mark.parametrize("free_surface", [True, False])
@pytest.mark.parametrize("lateral", [False, True])
def test_adjoint_step_equals_vjp_of_the_step(wave, free_surface, lateral):
    with jax.enable_x64(True):
        medium = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), MEDIUM)
        source = (PointForce(61.0, 47.0, Ricker(15.0)) if wave == "sh"
                  else explosion(61.0, 47.0, Ricker(15.0)))  # fmt: skip
        model = build_model(medium, GRID, source, dt=1e-3, wave=wave, free_surface=free_surface)
        if lateral:
            model = _laterally_varying(model, 3)
        step, adjoint_step = (sh_step, sh_adjoint_step) if wave == "sh" else (
            psv_step, psv_adjoint_step)  # fmt: skip
        state = _random_like(sh_init(GRID, jnp.float64) if wave == "sh"
                             else psv_init(GRID, jnp.float64), 1)  # fmt: skip
        cotangent = _random_like(state, 2)
        amplitude = jnp.asarray(0.7)

        @eqx.filter_jit  # one compilation instead of op-by-op dispatch
        def both(model, state, amplitude, cotangent):
            next_state, pullback = jax.vjp(lambda m, x, a: step(m, x, a), model, state,
                                           amplitude)  # fmt: skip
            return pullback(cotangent), adjoint_step(model, state, next_state, amplitude,
                                                     cotangent)  # fmt: skip

        (model_ref, state_ref, amplitude_ref), (state_bar, model_bar, amplitude_bar) = both(
            model, state, amplitude, cotangent)  # fmt: skip
        assert _relative(state_bar, state_ref) < 1e-13
        assert _relative(model_bar.material, model_ref.material) < 1e-13
        assert _relative(model_bar.source_pattern, model_ref.source_pattern) < 1e-13
        np.testing.assert_allclose(amplitude_bar, amplitude_ref, rtol=1e-13)
        for bar, ref in zip(model_bar.material, model_ref.material):
            assert bar.shape == ref.shape
