"""Horizontally layered elastic media: the `LayeredMedium` pytree, its validation, its
differentiable rasterisation onto depth samples, and export to an ObsPy TauP ``.nd`` model."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import as_float, is_concrete

__all__ = ["LayeredMedium", "layer_fractions", "averaged_profile", "to_taup_nd"]


class LayeredMedium(eqx.Module):
    """A stack of horizontal elastic layers over a half-space (all SI units).

    Attributes:
        thickness: ``(..., n_layer - 1)`` thickness of every layer but the last, in m. The last
            layer is a half-space and has no thickness.
        velocity_p: ``(..., n_layer)`` P-wave speed in m/s.
        velocity_s: ``(..., n_layer)`` S-wave speed in m/s.
        density: ``(..., n_layer)`` density in kg/m³.

    Leading batch axes are allowed (a batch of media for ``jax.vmap``). Values are validated
    when they are concrete; inside ``jit``/``vmap``/``grad`` they are tracers and are not checked.

    Example:
        >>> medium = LayeredMedium(thickness=[200.0], velocity_p=[1800.0, 3500.0],
        ...                        velocity_s=[600.0, 2000.0], density=[1900.0, 2500.0])
    """

    thickness: jax.Array
    velocity_p: jax.Array
    velocity_s: jax.Array
    density: jax.Array

    def __init__(self, thickness, velocity_p, velocity_s, density):
        self.thickness = as_float(thickness)
        self.velocity_p = as_float(velocity_p)
        self.velocity_s = as_float(velocity_s)
        self.density = as_float(density)

    def __check_init__(self):
        n_layer = self.velocity_p.shape[-1] if self.velocity_p.ndim else None
        for name in ("velocity_p", "velocity_s", "density"):
            value = getattr(self, name)
            if value.ndim == 0:
                raise ValueError(f"{name} must have one entry per layer, got a scalar")
            if value.shape[-1] != n_layer:
                raise ValueError(
                    f"{name} has {value.shape[-1]} layers but velocity_p has {n_layer}"
                )
        if self.thickness.ndim == 0 or self.thickness.shape[-1] != n_layer - 1:
            got = "a scalar" if self.thickness.ndim == 0 else f"{self.thickness.shape[-1]}"
            raise ValueError(
                f"thickness needs n_layer - 1 = {n_layer - 1} entries (the last layer is a "
                f"half-space), got {got}"
            )
        fields = ("thickness", "velocity_p", "velocity_s", "density")
        if not is_concrete(*(getattr(self, f) for f in fields)):
            return
        for name in fields:
            value = np.asarray(getattr(self, name))
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} contains NaN or infinite values: {value}")
            if np.any(value <= 0):
                raise ValueError(f"{name} must be positive everywhere, got {value}")
        vp, vs = np.asarray(self.velocity_p), np.asarray(self.velocity_s)
        bad = vp**2 <= 4.0 / 3.0 * vs**2
        if np.any(bad):
            raise ValueError(
                "velocity_p**2 must exceed 4/3 * velocity_s**2 (positive bulk modulus); "
                f"violated where velocity_p={vp[bad]} and velocity_s={vs[bad]}"
            )

    @property
    def n_layer(self) -> int:
        return self.velocity_p.shape[-1]

    @property
    def interface_depths(self) -> jax.Array:
        """``(..., n_layer - 1)`` depth of the bottom of each finite layer, in m."""
        return jnp.cumsum(self.thickness, axis=-1)

    @property
    def shear_modulus(self) -> jax.Array:
        """μ = ρ β², in Pa."""
        return self.density * self.velocity_s**2

    @property
    def p_modulus(self) -> jax.Array:
        """M = λ + 2μ = ρ α², in Pa."""
        return self.density * self.velocity_p**2


def layer_fractions(medium: LayeredMedium, top: jax.Array, bottom: jax.Array) -> jax.Array:
    """Fraction of each depth interval ``[top, bottom]`` occupied by each layer.

    The fractions are piecewise linear in the layer thicknesses, so their derivative with
    respect to a thickness is non-zero whenever that interface cuts the interval: this is what
    makes rasterised media differentiable with respect to layer thickness.

    Args:
        medium: an unbatched `LayeredMedium` with ``n_layer`` layers.
        top: ``(n,)`` upper bounds of the intervals in m (clipped to the free surface at 0).
        bottom: ``(n,)`` lower bounds, ``bottom > top``.

    Returns:
        ``(n, n_layer)`` fractions; each row sums to 1.
    """
    top = jnp.maximum(top, 0.0)
    interfaces = medium.interface_depths
    layer_top = jnp.concatenate([jnp.zeros((1,), interfaces.dtype), interfaces])
    layer_bottom = jnp.concatenate([interfaces, jnp.full((1,), jnp.inf, interfaces.dtype)])
    overlap = jnp.minimum(bottom[:, None], layer_bottom) - jnp.maximum(top[:, None], layer_top)
    return jnp.maximum(overlap, 0.0) / (bottom - top)[:, None]


def averaged_profile(medium: LayeredMedium, top: jax.Array, bottom: jax.Array) -> dict:
    """Volume-averaged elastic properties of the depth intervals ``[top, bottom]``.

    Density is averaged arithmetically; the shear modulus μ and the P modulus M = λ + 2μ
    harmonically (the Backus/effective-medium rule for interfaces inside a cell), and
    λ = M − 2μ.

    Args:
        medium: an unbatched `LayeredMedium`.
        top, bottom: ``(n,)`` interval bounds in m.

    Returns:
        dict with ``density`` (kg/m³), ``mu``, ``lam``, ``p_modulus`` (Pa), each ``(n,)``.
    """
    fractions = layer_fractions(medium, top, bottom)
    density = fractions @ medium.density
    mu = 1.0 / (fractions @ (1.0 / medium.shear_modulus))
    p_modulus = 1.0 / (fractions @ (1.0 / medium.p_modulus))
    return {"density": density, "mu": mu, "lam": p_modulus - 2.0 * mu, "p_modulus": p_modulus}


def to_taup_nd(medium: LayeredMedium, *, total_depth_km: float = 6371.0) -> str:
    """Export the medium as the text of an ObsPy TauP ``.nd`` ("named discontinuities") model.

    Depths are written in km, velocities in km/s and density in g/cm³, as TauP expects. Each
    interface is written twice (top and bottom values) so TauP sees a first-order discontinuity.
    The half-space is extended to ``total_depth_km`` (TauP builds spherical models; for
    offsets of a few km the flattening is negligible). The required "mantle", "outer-core" and
    "inner-core" labels are placed below so that `obspy.taup.taup_create.build_taup_model`
    accepts the file. That deep structure is invented (the "mantle" boundary sits at
    max(deepest interface + 1 km, 100 km) and velocities then rise towards core values), so
    TauP arrivals are only meaningful at offsets of a few tens of km at most, where only the
    exported layers are sampled.

    Args:
        medium: an unbatched, concrete `LayeredMedium`.

    Returns:
        The ``.nd`` file contents as a string.
    """
    thickness = np.asarray(medium.thickness, dtype=float) / 1000.0
    vp = np.asarray(medium.velocity_p, dtype=float) / 1000.0
    vs = np.asarray(medium.velocity_s, dtype=float) / 1000.0
    rho = np.asarray(medium.density, dtype=float) / 1000.0
    if thickness.ndim != 1:
        raise ValueError("to_taup_nd takes one medium, not a batch")
    lines = []
    depth = 0.0
    for j in range(len(vp)):
        lines.append(f"{depth:.6f} {vp[j]:.6f} {vs[j]:.6f} {rho[j]:.6f}")
        if j < len(thickness):
            depth += thickness[j]
            lines.append(f"{depth:.6f} {vp[j]:.6f} {vs[j]:.6f} {rho[j]:.6f}")
    # TauP needs labelled mantle/core boundaries; put them deep, with the half-space above.
    mantle = max(depth + 1.0, 100.0)
    lines.append(f"{mantle:.6f} {vp[-1]:.6f} {vs[-1]:.6f} {rho[-1]:.6f}")
    lines.append("mantle")
    lines.append(f"{mantle:.6f} {vp[-1]:.6f} {vs[-1]:.6f} {rho[-1]:.6f}")
    core = total_depth_km - 3480.0
    lines.append(f"{core:.6f} {max(vp[-1], 13.7):.6f} {max(vs[-1], 7.2):.6f} {max(rho[-1], 5.5):.6f}")
    lines.append("outer-core")
    lines.append(f"{core:.6f} 8.06 0.0 9.90")
    inner = total_depth_km - 1221.5
    lines.append(f"{inner:.6f} 10.35 0.0 12.16")
    lines.append("inner-core")
    lines.append(f"{inner:.6f} 11.02 3.50 12.76")
    lines.append(f"{total_depth_km:.6f} 11.26 3.67 13.09")
    return "\n".join(lines) + "\n"
