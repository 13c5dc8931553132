"""Ordinary kriging of station records onto other points: the pure spatial-interpolation
baseline that process-driven wavefield reconstruction is compared against (Kano et al. 2017)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares

__all__ = ["Variogram", "fit_variogram", "kriging_weights", "krige"]

_MODELS = ("gaussian", "exponential")


class Variogram(NamedTuple):
    """A stationary variogram normalised to unit sill: ``γ(d) = nugget + (1 − nugget)·g(d/range)``
    with ``g(r) = 1 − exp(−r²)`` (``"gaussian"``) or ``1 − exp(−r)`` (``"exponential"``).

    The kriging weights do not depend on the sill, so one normalised variogram serves every time
    sample of a wavefield.

    Attributes:
        range: correlation length in m.
        nugget: nugget / sill, in [0, 1).
        model: ``"gaussian"`` or ``"exponential"``.
    """

    range: float
    nugget: float = 0.0
    model: str = "exponential"

    def __call__(self, distance):
        r = distance / self.range
        shape = 1.0 - jnp.exp(-(r**2)) if self.model == "gaussian" else 1.0 - jnp.exp(-r)
        return jnp.where(distance > 0, self.nugget + (1.0 - self.nugget) * shape, 0.0)


def _positions(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (n,) or (n, n_dim) positions, got shape "
                         f"{np.shape(x)}")  # fmt: skip
    return x


def _distances(a, b):
    return jnp.sqrt(jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))


def fit_variogram(positions, values, *, model: str = "exponential", n_bins: int = 20) -> Variogram:
    """Fit a `Variogram` to the empirical semivariogram of station values, pooled over every
    sample after normalising each by its variance across stations (range, nugget/sill and a
    sill are fitted by least squares; the sill is dropped, as the weights do not use it).

    Args:
        positions: ``(n_station,)`` or ``(n_station, n_dim)`` in m.
        values: ``(n_station, ...)``: e.g. traces ``(n_station, n_component, n_time)``.
        model: ``"gaussian"`` or ``"exponential"``.
        n_bins: distance bins of the empirical semivariogram.

    Returns:
        the least-squares `Variogram` (range in m, nugget in [0, 0.99]).
    """
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}, got {model!r}")
    x = _positions(positions, "positions")
    v = np.asarray(values, dtype=float).reshape(len(x), -1)
    if v.shape[0] < 3:
        raise ValueError(f"fit_variogram needs at least 3 stations, got {v.shape[0]}")
    scale = v.std(axis=0)
    v = v[:, scale > 0] / scale[scale > 0]
    d = np.asarray(_distances(x, x))
    i, j = np.triu_indices(len(x), 1)
    gamma = 0.5 * np.mean((v[i] - v[j]) ** 2, axis=1)
    edges = np.linspace(0.0, d[i, j].max() * (1 + 1e-9), n_bins + 1)
    which = np.digitize(d[i, j], edges) - 1
    centres, means = [], []
    for b in range(n_bins):
        sel = which == b
        if sel.any():
            centres.append(d[i, j][sel].mean())
            means.append(gamma[sel].mean())
    centres, means = np.array(centres), np.array(means)

    def residual(p):  # p = (log range, nugget, log sill); the sill does not enter the weights
        return np.exp(p[2]) * np.asarray(Variogram(np.exp(p[0]), p[1], model)(centres)) - means

    start = [np.log(np.median(d[i, j])), 0.05, 0.0]
    fit = least_squares(residual, start, bounds=([-np.inf, 0.0, -5.0], [np.inf, 0.99, 5.0]))
    return Variogram(float(np.exp(fit.x[0])), float(fit.x[1]), model)


def kriging_weights(station_positions, target_positions, variogram: Variogram) -> jax.Array:
    """Ordinary-kriging weights from the system ``[Γ 1; 1ᵀ 0][w; μ] = [γ₀; 1]``.

    Args:
        station_positions: ``(n_station,)`` or ``(n_station, n_dim)`` in m.
        target_positions: ``(n_target,)`` or ``(n_target, n_dim)`` in m.
        variogram: the `Variogram`.

    Returns:
        ``(n_target, n_station)`` weights; each row sums to 1.
    """
    xs = jnp.asarray(_positions(station_positions, "station_positions"))
    xt = jnp.asarray(_positions(target_positions, "target_positions"))
    n = xs.shape[0]
    system = jnp.ones((n + 1, n + 1)).at[:n, :n].set(variogram(_distances(xs, xs)))
    system = system.at[n, n].set(0.0)
    rhs = jnp.concatenate([variogram(_distances(xs, xt)), jnp.ones((1, xt.shape[0]))])
    return jnp.linalg.solve(system, rhs)[:n].T


def krige(station_positions, station_values, target_positions,
          variogram: Variogram | None = None) -> jax.Array:  # fmt: skip
    """Ordinary kriging of station values (per sample) onto target positions.

    Args:
        station_positions: ``(n_station,)`` or ``(n_station, n_dim)`` in m.
        station_values: ``(n_station, ...)``, e.g. traces ``(n_station, n_component, n_time)``.
        target_positions: ``(n_target,)`` or ``(n_target, n_dim)`` in m.
        variogram: default `fit_variogram` of the station values.

    Returns:
        ``(n_target, ...)`` kriged values.
    """
    values = jnp.asarray(station_values)
    if values.shape[0] != len(np.atleast_1d(np.asarray(station_positions, float))):
        raise ValueError(f"station_values has {values.shape[0]} stations, station_positions "
                         f"{len(station_positions)}")  # fmt: skip
    if variogram is None:
        variogram = fit_variogram(station_positions, values)
    weights = kriging_weights(station_positions, target_positions, variogram)
    return jnp.tensordot(weights, values, axes=1)
