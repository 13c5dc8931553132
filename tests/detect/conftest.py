"""Shared, session-scoped detector fixtures (built once: compilation dominates the run time)."""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from sjax.detect import GPD, synthetic_records

RECORDS = dict(n=32, snr=8.0, dtype=jnp.float32)


@pytest.fixture(scope="session")
def records_kwargs():
    """Arguments of the shared `records` (besides the key, ``jax.random.key(0)``)."""
    return dict(RECORDS)


@pytest.fixture(scope="session")
def records():
    """32 records of 3000 samples at 100 Hz, SNR 8, float32."""
    return synthetic_records(jax.random.key(0), **RECORDS)


@pytest.fixture(scope="session")
def gpd_model():
    return GPD(rngs=nnx.Rngs(0))
