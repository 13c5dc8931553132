"""Ray-theory travel times in a flat layered medium (for overlays on record sections)."""

from __future__ import annotations

import numpy as np

__all__ = ["travel_time_branches"]


def travel_time_branches(velocities, thickness, source_depth: float, offsets) -> dict:
    """Direct-wave and head-wave travel times (s) from a source in the top layer to receivers
    at the surface of a flat layered medium.

    The direct wave travels ``sqrt(x² + z_s²) / v_1``; the head wave along the top of layer
    k ``x / v_k + Σ_{j<k} l_j cos θ_j / v_j`` with ``sin θ_j = v_j / v_k`` and legs
    ``l_j = 2 h_j`` (``2 h_1 − z_s`` in the source layer); it exists beyond the critical
    offset and only below a layer faster than every layer above (NaN elsewhere).

    Args:
        velocities: ``(n_layer,)`` wave speeds in m/s (P or S), top to half-space.
        thickness: ``(n_layer − 1,)`` layer thicknesses in m.
        source_depth: source depth in m, inside the top layer.
        offsets: ``(n,)`` horizontal source–receiver offsets in m.

    Returns:
        ``{"direct": (n,), "head 1": (n,), ...}`` times in s (NaN where a branch does not
        exist); ``np.nanmin`` over the values is the first arrival.

    Raises:
        ValueError: the source is not inside the top layer, or shapes do not match.
    """
    v = np.asarray(velocities, float)
    h = np.asarray(thickness, float)
    x = np.abs(np.asarray(offsets, float))
    if v.ndim != 1 or h.shape != (v.size - 1,):
        raise ValueError(f"thickness {h.shape} must have one entry fewer than velocities {v.shape}")
    if v.size > 1 and not 0 <= source_depth < h[0] or source_depth < 0:
        raise ValueError(f"source_depth={source_depth} m must lie inside the top layer")
    branches = {"direct": np.hypot(x, source_depth) / v[0]}
    for k in range(1, v.size):
        if np.any(v[:k] >= v[k]):
            continue  # no head wave below a layer at least as fast
        cos = np.sqrt(1.0 - (v[:k] / v[k]) ** 2)
        legs = 2.0 * h[:k]
        legs[0] -= source_depth
        critical = np.sum(legs * (v[:k] / v[k]) / cos)
        times = x / v[k] + np.sum(legs * cos / v[:k])
        branches[f"head {k}"] = np.where(x >= critical, times, np.nan)
    return branches
