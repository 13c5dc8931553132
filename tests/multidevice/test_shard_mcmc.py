"""REMC with the replica axis sharded over 8 forced CPU devices equals the one-device run.

Run in its own process: XLA_FLAGS=--xla_force_host_platform_device_count=8 pytest tests/multidevice

The sweep itself is bit-identical. During warm-up adaptation, XLA may round a transcendental
function one ulp differently depending on how many replicas a device holds; random-walk
Metropolis keeps such differences at round-off, while HMC's map is expanding on this two-mode
target and amplifies them, so HMC is compared sweep by sweep without adaptation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax import mcmc
from sjax.shard import batch_mesh

pytestmark = pytest.mark.skipif(
    jax.device_count() < 8, reason="needs XLA_FLAGS=--xla_force_host_platform_device_count=8"
)


def logprior(x):
    return -0.5 * jnp.sum((x / 5.0) ** 2)


def loglikelihood(x):
    return jnp.logaddexp(-0.5 * jnp.sum((x - 3.0) ** 2), -0.5 * jnp.sum((x + 3.0) ** 2))


def test_sharded_run_chain_equals_single_device():
    algorithm = mcmc.replica_exchange(logprior, loglikelihood, mcmc.geometric_ladder(16, 1e-2),
                                      step_size=0.5)  # fmt: skip
    state = algorithm.init(jax.random.normal(jax.random.key(0), (16, 3)))
    sharded, single = (
        mcmc.run_chain(jax.random.key(1), algorithm, state, 100, n_warmup=100,
                       checkpoint_every=100, mesh=batch_mesh(n))
        for n in (8, 1)
    )  # fmt: skip
    assert len(sharded.state.position.sharding.device_set) == 8
    assert len(single.state.position.sharding.device_set) == 1
    for a, b in zip(jax.tree.leaves(sharded), jax.tree.leaves(single)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=0)
    assert int(sharded.round_trips) == int(single.round_trips)


def test_sharded_hmc_sweeps_are_bit_identical():
    algorithm = mcmc.replica_exchange(logprior, loglikelihood, mcmc.geometric_ladder(8, 1e-2),
                                      kernel="hmc", step_size=0.5, n_leapfrog=3)  # fmt: skip
    single = algorithm.init(jax.random.normal(jax.random.key(0), (8, 3)))
    sharded = mcmc.shard_state(single, batch_mesh())
    step = jax.jit(algorithm.step)
    for i in range(5):
        single, single_info = step(jax.random.key(i), single)
        sharded, sharded_info = step(jax.random.key(i), sharded)
        for a, b in zip(jax.tree.leaves((sharded, sharded_info)),
                        jax.tree.leaves((single, single_info))):  # fmt: skip
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(sharded.position.sharding.device_set) == 8
