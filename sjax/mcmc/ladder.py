"""Inverse-temperature ladders for replica exchange.

A ladder is a 1-D array ``η`` of shape ``(R,)``, strictly increasing in ``[0, 1]`` with
``η[-1] == 1``: slot 0 is the hottest replica, slot ``R - 1`` samples the posterior.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["geometric_ladder", "check_ladder"]


def geometric_ladder(
    n_replicas: int, min_inverse_temperature: float = 1e-3, *, include_zero: bool = False
) -> jnp.ndarray:
    """Geometrically spaced inverse temperatures from ``min_inverse_temperature`` to 1.

    Args:
        n_replicas: number of replicas R >= 1 (R = 1 gives ``[1.0]``, a plain Metropolis chain).
        min_inverse_temperature: smallest positive η, in (0, 1) (dimensionless).
        include_zero: if True, slot 0 is η = 0 (the prior) and the other R - 1 slots are
            geometric from ``min_inverse_temperature`` to 1 (the Nagata/Okada convention; useful
            for evidence estimates, see `sjax.mcmc.evidence`). Needs R >= 2.

    Returns:
        ``(R,)`` ascending ladder whose last entry is exactly 1.0.

    Raises:
        ValueError: if ``n_replicas`` or ``min_inverse_temperature`` is out of range.
    """
    if int(n_replicas) != n_replicas or n_replicas < 1 + int(include_zero):
        raise ValueError(
            f"n_replicas={n_replicas} must be an integer >= {1 + int(include_zero)}"
        )
    if not 0.0 < min_inverse_temperature < 1.0:
        raise ValueError(
            f"min_inverse_temperature={min_inverse_temperature} must lie in (0, 1)"
        )
    n = int(n_replicas) - int(include_zero)
    exponents = np.linspace(1.0, 0.0, n) if n > 1 else np.zeros(1)
    ladder = np.asarray(min_inverse_temperature, np.float64) ** exponents
    ladder[-1] = 1.0
    if include_zero:
        ladder = np.concatenate([[0.0], ladder])
    return jnp.asarray(ladder)


def check_ladder(ladder) -> jnp.ndarray:
    """Validate an inverse-temperature ladder (concrete values, not under ``jit``).

    Args:
        ladder: ``(R,)`` inverse temperatures η (dimensionless).

    Returns:
        The ladder as a JAX array.

    Raises:
        ValueError: unless ``ladder`` is 1-D, non-empty, finite, strictly increasing, inside
            [0, 1] and ends with exactly 1.
    """
    values = np.asarray(ladder, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"ladder must be a non-empty 1-D array, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"ladder must be finite, got {values}")
    if np.any(np.diff(values) <= 0):
        bad = np.flatnonzero(np.diff(values) <= 0)
        raise ValueError(f"ladder must be strictly increasing; fails at indices {bad.tolist()}")
    if values[0] < 0 or values[-1] > 1:
        raise ValueError(f"ladder must lie in [0, 1], got [{values[0]}, {values[-1]}]")
    if values[-1] != 1.0:
        raise ValueError(f"ladder[-1]={values[-1]} must be exactly 1 (the posterior)")
    return jnp.asarray(ladder)
