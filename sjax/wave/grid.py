"""The computational grid of the 2-D propagators and the CFL-stable time step."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import is_concrete
from sjax.media import LayeredMedium

__all__ = ["Grid", "stable_time_step", "check_time_step", "fastest_velocity", "FD_COEFFICIENTS"]

# 4th-order staggered first-derivative coefficients: (f[i+1/2+k-1] - f[i+1/2-k]) weights.
FD_COEFFICIENTS = (9.0 / 8.0, -1.0 / 24.0)


class Grid(eqx.Module):
    """A regular 2-D grid of the physical domain, with an absorbing layer added outside it.

    Depth ``z`` points down; the free surface is at ``z = 0``. The physical domain spans
    ``x ∈ [0, (nx − 1)·spacing_x]`` and ``z ∈ [0, (nz − 1)·spacing_z]``. The absorbing (C-PML)
    layer of ``absorbing_width`` cells is added on the left, right and bottom, so the arrays the
    propagator steps are ``(nz + absorbing_width, nx + 2·absorbing_width)``.

    Attributes:
        nz, nx: number of nodes of the physical domain in depth and horizontally.
        spacing_z, spacing_x: node spacing in m.
        absorbing_width: C-PML thickness in cells (0 for reflecting edges).
    """

    nz: int = eqx.field(static=True)
    nx: int = eqx.field(static=True)
    spacing_z: float = eqx.field(static=True)
    spacing_x: float = eqx.field(static=True)
    absorbing_width: int = eqx.field(static=True, default=20)

    def __check_init__(self):
        for name in ("nz", "nx"):
            if int(getattr(self, name)) < 8:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 8 nodes")
        for name in ("spacing_z", "spacing_x"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value} m must be positive and finite")
        if self.absorbing_width < 0:
            raise ValueError(f"absorbing_width={self.absorbing_width} must be >= 0 cells")

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(nz_total, nx_total)`` of the stepped arrays, absorbing layer included."""
        return (self.nz + self.absorbing_width, self.nx + 2 * self.absorbing_width)

    @property
    def extent(self) -> tuple[float, float]:
        """Physical ``(depth, width)`` of the domain in m."""
        return ((self.nz - 1) * self.spacing_z, (self.nx - 1) * self.spacing_x)

    def depths(self, offset: float = 0.0) -> np.ndarray:
        """``(nz_total,)`` depths in m of rows ``i + offset`` of the stepped arrays."""
        return (np.arange(self.shape[0]) + offset) * self.spacing_z

    def xs(self, offset: float = 0.0) -> np.ndarray:
        """``(nx_total,)`` horizontal positions in m of columns ``j + offset``."""
        return (np.arange(self.shape[1]) - self.absorbing_width + offset) * self.spacing_x

    def physical(self, field: jax.Array) -> jax.Array:
        """Crop a ``(..., nz_total, nx_total)`` field to the physical domain ``(..., nz, nx)``."""
        w = self.absorbing_width
        return field[..., : self.nz, w : w + self.nx]


def _stability_bound(velocity_max: float, grid: Grid) -> float:
    c_sum = sum(abs(c) for c in FD_COEFFICIENTS)
    return 1.0 / (
        velocity_max * c_sum * math.sqrt(1.0 / grid.spacing_z**2 + 1.0 / grid.spacing_x**2)
    )


def fastest_velocity(medium: LayeredMedium, wave: str):
    """Fastest wave speed (m/s) that the ``wave`` scheme propagates: β_max for SH, α_max for
    P-SV. A Python float for a concrete medium (also inside ``jit`` when the medium is closed
    over), else a traced scalar."""
    velocity = medium.velocity_s if wave == "sh" else medium.velocity_p
    if not is_concrete(velocity):
        return jnp.max(velocity)
    return float(np.max(np.asarray(velocity)))


def stable_time_step(
    medium: LayeredMedium, grid: Grid, *, wave: str = "sh", courant: float = 0.5
) -> float:
    """Largest stable leapfrog time step (s) times a factor ``courant`` ≤ 1.

    The default ``courant=0.5`` is chosen for accuracy, not stability: at the stability limit
    leapfrog's temporal dispersion dominates the error of the 4th-order spatial stencil (an SH
    pulse with 20 nodes per peak wavelength misfits the analytic solution by 10 % after 8
    wavelengths at ``courant=0.9``, by 2.4 % at 0.5 and 0.5 % at 0.25).

    For the 4th-order staggered scheme, von Neumann analysis gives
    ``dt ≤ 1 / (v_max · (|c1| + |c2|) · sqrt(1/dz² + 1/dx²))`` with ``c = (9/8, −1/24)``.

    Args:
        medium: a concrete `LayeredMedium` (or batch; the fastest velocity is used).
        grid: the `Grid`.
        wave: ``"sh"`` (bound set by the S speed; the default, as in `simulate`) or ``"psv"``
            (by the P speed).
        courant: fraction of the bound to use, in (0, 1].
    """
    if not 0 < courant <= 1:
        raise ValueError(f"courant={courant} must lie in (0, 1]")
    if not is_concrete(medium.velocity_p, medium.velocity_s):
        raise ValueError(
            "dt cannot be derived from a traced medium (inside jit/vmap/grad): pass dt "
            "explicitly, e.g. stable_time_step(prior_fastest_medium, grid)"
        )
    return courant * _stability_bound(fastest_velocity(medium, wave), grid)


def check_time_step(dt: float, medium: LayeredMedium, grid: Grid, wave: str = "sh") -> None:
    """Raise ``ValueError`` if ``dt`` (s) violates the CFL bound for a concrete medium."""
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt={dt} s must be positive and finite")
    if not is_concrete(medium.velocity_p, medium.velocity_s):
        return
    velocity = fastest_velocity(medium, wave)
    bound = _stability_bound(velocity, grid)
    if dt > bound:
        name = "velocity_s" if wave == "sh" else "velocity_p"
        raise ValueError(
            f"dt={dt:.6g} s violates CFL: needs dt <= {bound:.6g} s for {name} max "
            f"{velocity:.6g} m/s on this grid"
        )
