"""GPD network: published layout, probabilities, normalisation, jit, a smoke training."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from sjax.detect import (
    CLASSES,
    GPD,
    count_parameters,
    gpd_training_windows,
    normalize_windows,
    predict_proba,
)


@pytest.fixture(scope="module")
def model(gpd_model):
    return gpd_model


def test_parameter_count_matches_published_model(model):
    # conv 2048 + 30784 + 90240 + 295168, BN 960, dense 1280200 + 40200 + 603, BN 800
    assert count_parameters(model) == 1_741_003
    assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == 1_741_003
    assert count_parameters(model, nnx.BatchStat) == 1_760  # 1 742 763 in all
    assert model.dense[0].kernel.shape == (6400, 200)  # 25 samples x 256 filters after pooling
    assert CLASSES == ("P", "S", "noise")


def test_probabilities_shape_and_sum(model):
    windows = jax.random.normal(jax.random.key(1), (5, 400, 3), dtype=jnp.float32)
    probs = predict_proba(model, windows)
    assert probs.shape == (5, 3)
    assert probs.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(probs).sum(axis=1), 1.0, atol=1e-6)
    assert np.all(np.asarray(probs) >= 0)


def test_jit_batch_equals_eager_and_does_not_change_mode(model):
    windows = 3.0 * jax.random.normal(jax.random.key(2), (7, 400, 3), dtype=jnp.float32)
    before = jax.tree.map(np.asarray, nnx.state(model, nnx.BatchStat))
    eager = predict_proba(model, windows)
    jitted = nnx.jit(predict_proba)(model, windows)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), atol=1e-5)
    # a batch is one call: each row equals the single-window result
    single = predict_proba(model, windows[3:4])
    np.testing.assert_allclose(np.asarray(single[0]), np.asarray(eager[3]), atol=1e-5)
    after = jax.tree.map(np.asarray, nnx.state(model, nnx.BatchStat))
    jax.tree.map(np.testing.assert_array_equal, before, after)  # inference: stats untouched


def test_normalize_windows():
    x = jax.random.normal(jax.random.key(3), (4, 400, 3)) * jnp.array([1e-6, 1.0, 1e3, 0.0])[
        :, None, None
    ]
    y = np.asarray(normalize_windows(x))
    np.testing.assert_allclose(np.abs(y[:3]).max(axis=(1, 2)), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(y[3], 0.0)  # an all-zero window stays zero, no NaN
    # one scale per window: component ratios are kept
    np.testing.assert_allclose(y[1] * np.abs(np.asarray(x[1])).max(), np.asarray(x[1]))
    demeaned = np.asarray(normalize_windows(x[:3] + 5.0, demean=True))
    np.testing.assert_allclose(demeaned.mean(axis=1), 0.0, atol=1e-8)  # 5 + 1e-6 x cancels


@pytest.mark.parametrize("shape", [(400, 3), (2, 3, 400), (2, 401, 3), (2, 400, 2)])
def test_wrong_shapes_are_rejected(model, shape):
    with pytest.raises(ValueError, match=r"windows must have shape \(batch, 400, 3\)"):
        normalize_windows(jnp.zeros(shape))
    with pytest.raises(ValueError, match="windows"):
        predict_proba(model, jnp.zeros(shape))


def test_smoke_training_decreases_loss(records):
    data = gpd_training_windows(jax.random.key(5), records, jitter=10)
    x = normalize_windows(data.windows[::4])  # 24 windows, 8 per class
    y = data.labels[::4]
    assert np.bincount(np.asarray(y)).tolist() == [8, 8, 8]
    model = GPD(rngs=nnx.Rngs(1))
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    def loss_fn(m):
        logits = m(x)  # training mode: batch statistics
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @nnx.jit
    def step(m, opt):
        loss, grads = nnx.value_and_grad(loss_fn)(m)
        opt.update(m, grads)
        return loss

    losses = [float(step(model, optimizer)) for _ in range(8)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses
    # the running statistics were updated by training
    assert not np.allclose(np.asarray(model.conv_norms[0].mean[...]), 0.0)
