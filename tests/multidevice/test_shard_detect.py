"""A training step with the batch sharded over 8 forced CPU devices equals the one-device step.

Run in its own process: XLA_FLAGS=--xla_force_host_platform_device_count=8 pytest tests/multidevice
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec

from sjax.detect import GPD
from sjax.detect.train import fit, train_step
from sjax.shard import AXIS, batch_mesh

pytestmark = pytest.mark.skipif(
    jax.device_count() < 8, reason="needs XLA_FLAGS=--xla_force_host_platform_device_count=8"
)


def data():
    windows = np.asarray(jax.random.normal(jax.random.key(0), (64, 400, 3), np.float32))
    labels = np.asarray(jax.random.randint(jax.random.key(1), (64,), 0, 3), np.int32)
    return windows, labels


def test_sharded_train_step_equals_single_device():
    windows, labels = data()
    results = []
    for mesh in (None, batch_mesh(8)):
        model = GPD(rngs=nnx.Rngs(0))
        optimizer = nnx.Optimizer(model, optax.sgd(1e-2), wrt=nnx.Param)
        batch = ((jnp.asarray(windows),), jnp.asarray(labels), jnp.ones(64, jnp.float32))
        if mesh is not None:
            batch = jax.device_put(batch, NamedSharding(mesh, PartitionSpec(AXIS)))
            assert len(batch[0][0].sharding.device_set) == 8
        loss, accuracy = train_step(model, optimizer, *batch)
        results.append((float(loss), float(accuracy), nnx.state(model)))
    (loss1, acc1, state1), (loss8, acc8, state8) = results
    assert loss8 == pytest.approx(loss1, rel=1e-6) and acc8 == acc1
    # SGD: the update is linear in the gradient, so parameters and batch statistics agree to
    # float32 round-off (Adam's first step, g / |g|, would amplify it for near-zero gradients)
    for a, b in zip(jax.tree.leaves(state1), jax.tree.leaves(state8)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)


def test_sharded_fit_runs_and_matches_the_first_loss():
    windows, labels = data()
    kwargs = dict(key=jax.random.key(2), epochs=1, batch_size=64)
    _, single = fit(GPD(rngs=nnx.Rngs(0)), (windows, labels), **kwargs)
    model, sharded = fit(GPD(rngs=nnx.Rngs(0)), (windows, labels), mesh=batch_mesh(8), **kwargs)
    assert sharded.train_loss[0] == pytest.approx(single.train_loss[0], rel=1e-6)
    assert len(jax.tree.leaves(nnx.state(model))[0].sharding.device_set) == 1  # gathered back


def test_batch_must_divide_over_devices():
    windows = np.zeros((30, 400, 3), np.float32)
    labels = np.zeros(30, np.int32)
    with pytest.raises(ValueError, match="divisible by the 8 devices"):
        fit(GPD(rngs=nnx.Rngs(0)), (windows, labels), key=jax.random.key(0), batch_size=30,
            mesh=batch_mesh(8))  # fmt: skip
