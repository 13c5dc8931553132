"""`LayeredSpace`: a flat parameter vector θ ↔ a `LayeredMedium` (and a source position and a
noise level), with the uniform box prior (optionally velocity increasing with depth) that
replica-exchange inversions of layered structure use."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax.media import LayeredMedium
from sjax.wave.sources import PointForce

__all__ = ["LayeredSpace", "layered_space"]

_ORDER_DRAWS = 200_000  # Monte Carlo draws for the volume of the velocity-ordered region


class LayeredSpace(eqx.Module):
    """The parameters of a layered-structure inversion and their uniform prior.

    θ is a flat ``(n_parameter,)`` vector in SI units, in the order of ``names``:
    ``thickness_1 … thickness_{J-1}`` (m), ``velocity_s_1 … velocity_s_J`` (m/s), then optionally
    ``source_x``, ``source_z`` (m) and ``log_noise`` (natural log of the noise σ, in the units of
    the traces). P speed and density follow the S speed: ``velocity_p = vp_vs_ratio ·
    velocity_s`` and a fixed ``density`` per layer (SH data constrain density only through the
    impedance, so it is not sampled).

    The prior is uniform on the box ``[lower, upper]``, restricted (when
    ``increasing_velocity``) to velocity_s increasing with depth; it is normalised on that region,
    whose volume is estimated once by Monte Carlo at construction, so log-evidences from
    `sjax.mcmc` compare models with different numbers of layers.

    Build it with `layered_space`.
    """

    lower: jax.Array
    upper: jax.Array
    density: jax.Array
    names: tuple[str, ...] = eqx.field(static=True)
    n_layer: int = eqx.field(static=True)
    vp_vs_ratio: float = eqx.field(static=True)
    increasing_velocity: bool = eqx.field(static=True)
    log_volume: float = eqx.field(static=True)

    @property
    def n_parameter(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of parameter ``name`` in θ."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no parameter {name!r}; parameters are {self.names}") from None

    def _slice(self, theta, prefix):
        idx = [i for i, n in enumerate(self.names) if n.startswith(prefix)]
        return theta[..., idx[0] : idx[-1] + 1]

    def medium(self, theta: jax.Array) -> LayeredMedium:
        """The `LayeredMedium` of ``θ`` (``(n_parameter,)``; unvalidated under tracing)."""
        velocity_s = self._slice(theta, "velocity_s_")
        return LayeredMedium(
            thickness=self._slice(theta, "thickness_"), velocity_s=velocity_s,
            velocity_p=self.vp_vs_ratio * velocity_s,
            density=jnp.broadcast_to(self.density, velocity_s.shape),
        )  # fmt: skip

    def source(self, theta: jax.Array, base: PointForce) -> PointForce:
        """``base`` moved to θ's ``source_x``/``source_z`` where those are sampled."""
        x = theta[self.index("source_x")] if "source_x" in self.names else base.x
        z = theta[self.index("source_z")] if "source_z" in self.names else base.z
        return eqx.tree_at(lambda s: (s.x, s.z), base, (x, z))

    def noise_sigma(self, theta: jax.Array) -> jax.Array:
        """σ = exp(θ's ``log_noise``)."""
        return jnp.exp(theta[self.index("log_noise")])

    def inside(self, theta: jax.Array) -> jax.Array:
        """Whether ``θ`` (``(..., n_parameter)``) lies in the prior's support."""
        ok = jnp.all((theta >= self.lower) & (theta <= self.upper), axis=-1)
        if self.increasing_velocity and self.n_layer > 1:
            velocity = self._slice(theta, "velocity_s_")
            ok &= jnp.all(jnp.diff(velocity, axis=-1) > 0, axis=-1)
        return ok

    def log_prior(self, theta: jax.Array) -> jax.Array:
        """Log density of the uniform prior at ``θ``: ``-log volume`` inside, ``-inf`` outside."""
        return jnp.where(self.inside(theta), -self.log_volume, -jnp.inf)

    def sample_prior(self, key: jax.Array, n: int) -> jax.Array:
        """``(n, n_parameter)`` independent draws from the prior (rejection for the ordering)."""
        n_draw = int(n) * 8 + 64
        draws = jax.random.uniform(key, (n_draw, self.n_parameter), self.lower.dtype,
                                   self.lower, self.upper)  # fmt: skip
        valid = self.inside(draws)
        order = jnp.argsort(~valid, stable=True)
        if isinstance(valid, jax.core.Tracer) or int(valid.sum()) >= n:
            return draws[order[:n]]
        raise ValueError(f"could not draw {n} prior samples: the velocity-ordered region "
                         "holds too little of the box; widen the velocity bounds")  # fmt: skip

    def to_unit(self, theta: jax.Array) -> jax.Array:
        """θ mapped linearly to the unit cube."""
        return (theta - self.lower) / (self.upper - self.lower)

    def from_unit(self, unit: jax.Array) -> jax.Array:
        """Inverse of `to_unit`."""
        return self.lower + unit * (self.upper - self.lower)

    def widths(self) -> jax.Array:
        """``(n_parameter,)`` box widths ``upper − lower``, a natural proposal scale."""
        return self.upper - self.lower


def _bounds(name: str, values, count: int | None) -> list[tuple[float, float]]:
    values = [tuple(map(float, v)) for v in values]
    if count is not None and len(values) != count:
        raise ValueError(f"{name} needs {count} (lower, upper) pairs, got {len(values)}")
    for i, (lo, hi) in enumerate(values):
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"{name}[{i}] bounds must be finite with lower < upper, "
                             f"got ({lo}, {hi})")  # fmt: skip
    return values


def layered_space(
    thickness, velocity_s, *, density, vp_vs_ratio: float = math.sqrt(3.0),
    source_x=None, source_z=None, log_noise=None, increasing_velocity: bool = True,
) -> LayeredSpace:  # fmt: skip
    """Build a `LayeredSpace` from (lower, upper) bounds.

    Args:
        thickness: ``n_layer − 1`` pairs of bounds in m (positive).
        velocity_s: ``n_layer`` pairs of bounds in m/s (positive).
        density: ``(n_layer,)`` fixed densities in kg/m³.
        vp_vs_ratio: velocity_p / velocity_s (> sqrt(4/3)), default √3 (Poisson solid).
        source_x, source_z: optional bounds (m) to sample the source position.
        log_noise: optional bounds of ln σ to sample the noise level.
        increasing_velocity: restrict the prior to velocity_s increasing with depth.

    Example:
        >>> space = layered_space([(50, 400)], [(200, 800), (800, 2500)],
        ...                       density=[1800, 2300])
    """
    velocity_bounds = _bounds("velocity_s", velocity_s, None)
    n_layer = len(velocity_bounds)
    if n_layer < 1:
        raise ValueError("velocity_s needs at least one (lower, upper) pair")
    thickness_bounds = _bounds("thickness", thickness, n_layer - 1)
    for name, bounds in (("thickness", thickness_bounds), ("velocity_s", velocity_bounds)):
        if any(lo <= 0 for lo, _ in bounds):
            raise ValueError(f"{name} bounds must be positive, got {bounds}")
    density = np.asarray(density, dtype=float)
    if density.shape != (n_layer,) or not np.all(np.isfinite(density) & (density > 0)):
        raise ValueError(f"density must be {n_layer} positive values, got {density.tolist()}")
    if not vp_vs_ratio > math.sqrt(4.0 / 3.0):
        raise ValueError(f"vp_vs_ratio must exceed sqrt(4/3)=1.1547, got {vp_vs_ratio}")
    names = [f"thickness_{i + 1}" for i in range(n_layer - 1)]
    names += [f"velocity_s_{i + 1}" for i in range(n_layer)]
    bounds = thickness_bounds + velocity_bounds
    for name, value in (("source_x", source_x), ("source_z", source_z), ("log_noise", log_noise)):
        if value is not None:
            names.append(name)
            bounds += _bounds(name, [value], 1)
    lower, upper = (np.array(b, dtype=float) for b in zip(*bounds))
    log_volume = float(np.sum(np.log(upper - lower)))
    if increasing_velocity and n_layer > 1:
        v_lo, v_hi = (np.array(b) for b in zip(*velocity_bounds))
        draws = np.random.default_rng(0).uniform(v_lo, v_hi, (_ORDER_DRAWS, n_layer))
        fraction = np.mean(np.all(np.diff(draws, axis=1) > 0, axis=1))
        if fraction == 0:
            raise ValueError(f"velocity_s bounds {velocity_bounds} admit no increasing profile")
        log_volume += float(np.log(fraction))
    return LayeredSpace(
        lower=jnp.asarray(lower), upper=jnp.asarray(upper), density=jnp.asarray(density),
        names=tuple(names), n_layer=n_layer, vp_vs_ratio=float(vp_vs_ratio),
        increasing_velocity=bool(increasing_velocity), log_volume=log_volume,
    )  # fmt: skip
