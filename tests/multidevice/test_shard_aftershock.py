"""The pairwise composite likelihood sharded over 8 forced CPU devices equals one device.

Run in its own process: XLA_FLAGS=--xla_force_host_platform_device_count=8 pytest tests/multidevice
"""

import jax
import jax.numpy as jnp
import pytest

from sjax.aftershock import AftershockParams, LogLinearMu, simulate_catalog
from sjax.aftershock import gp
from sjax.shard import batch_mesh

pytestmark = pytest.mark.skipif(
    jax.device_count() < 8, reason="needs XLA_FLAGS=--xla_force_host_platform_device_count=8"
)

MREF = 6.5


def test_sharded_composite_likelihood_equals_single_device():
    params = AftershockParams(*(jnp.float64(v) for v in (0.004, 0.01, 1.1, 1.0, 0.25)))
    catalog = simulate_catalog(jax.random.key(5), params, LogLinearMu(3.8, 0.4, 0.02),
                               start=0.0, end=1.0, reference_magnitude=MREF)  # fmt: skip
    config = gp.GPConfig(MREF)
    data = gp.event_data(catalog, -(-catalog.n_events // 32) * 32)
    z = gp._initial(catalog, config)
    mesh = batch_mesh(8)

    single = gp.composite_log_marginal(z, data, config, block_size=32)
    sharded = gp.composite_log_marginal(z, data, config, block_size=32, mesh=mesh)
    assert float(sharded) == pytest.approx(float(single), rel=1e-12)
