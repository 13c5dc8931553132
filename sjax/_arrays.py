"""Small array helpers shared by the package."""

import jax
import jax.numpy as jnp


def as_float(x) -> jax.Array:
    """``x`` as a JAX array of floating dtype (ints become the default float dtype)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def is_concrete(*xs) -> bool:
    """True when no argument is a tracer (values can be inspected and validated)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)
