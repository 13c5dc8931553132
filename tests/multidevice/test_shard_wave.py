"""Sharded simulation over 8 forced CPU devices equals the single-device result.

Run in its own process: XLA_FLAGS=--xla_force_host_platform_device_count=8 pytest tests/multidevice
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.shard import batch_mesh, describe_devices, shard_batch, sharded_vmap
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate

pytestmark = pytest.mark.skipif(
    jax.device_count() < 8, reason="needs XLA_FLAGS=--xla_force_host_platform_device_count=8"
)

GRID = Grid(32, 48, 10.0, 10.0, 10)
SOURCE = PointForce(200.0, 80.0, Ricker(15.0))
RECEIVERS = Receivers([100.0, 300.0])


def traces(medium):
    return simulate(medium, GRID, SOURCE, RECEIVERS, duration=0.25, dt=1e-3).traces


def test_sharded_batch_of_media_equals_unsharded():
    vs_top = jnp.linspace(600.0, 950.0, 8)
    media = jax.vmap(lambda v: LayeredMedium(jnp.array([90.0]), jnp.array([2000.0, 3000.0]),
                                             jnp.stack([v, 1500.0]),
                                             jnp.array([2000.0, 2300.0])))(vs_top)  # fmt: skip
    sharded = sharded_vmap(traces)(media)
    assert len(sharded.sharding.device_set) == 8
    single = jax.jit(jax.vmap(traces))(media)
    np.testing.assert_allclose(np.asarray(sharded), np.asarray(single), rtol=1e-12, atol=0)
    assert describe_devices() == "cpu x8"


def test_shard_batch_rejects_indivisible_axis():
    with pytest.raises(ValueError, match="divisible by 8 devices"):
        shard_batch(jnp.ones((6, 3)), batch_mesh())
