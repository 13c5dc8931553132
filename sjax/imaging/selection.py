"""Station selection: which k of S stations constrain the parameters best.

Two methods:

- `greedy_d_optimal`: greedy maximisation of the D-optimality criterion
  ``log det(Λ₀ + Σ_{s∈A} J_sᵀ J_s / σ²)`` with the Jacobian ``J = ∂g/∂θ`` of the station
  records from ``jax.jacfwd`` (Nakai et al. 2023 use finite differences), Λ₀ the prior
  precision. The log-determinant is monotone submodular, so greedy is within (1 − 1/e) of the
  best subset.
- `group_lasso_selection`: a sparse alternative that needs no linearisation point — a linear
  map from station records to parameters, fitted on an ensemble of simulated draws with a group
  penalty ``λ Σ_s ‖B_s‖_F`` (one group per station); λ is tuned so that k groups survive.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["StationSelection", "greedy_d_optimal", "linearised_covariance",
           "group_lasso_selection", "random_subsets"]  # fmt: skip


class StationSelection(NamedTuple):
    """Result of a selection.

    Attributes:
        stations: ``(k,)`` selected station indices, in the order chosen (greedy) or by
            decreasing group norm (lasso).
        score: ``(k,)`` greedy: log det of the information after each addition; lasso: the
            Frobenius norm of each selected station's block.
    """

    stations: np.ndarray
    score: np.ndarray


def _check_stations(array, name: str, layout: str, station_axis: int, k) -> jax.Array:
    """``array`` as a 3-D JAX array with ``1 <= k <= n_station``, else a ValueError."""
    array = jnp.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"{name} must be {layout}, got shape {array.shape}")
    if not 1 <= int(k) <= array.shape[station_axis]:
        raise ValueError(f"k={k} must lie in [1, n_station={array.shape[station_axis]}]")
    return array


def _precision(prior_precision, n_parameter, dtype):
    prior = jnp.asarray(prior_precision, dtype)
    return prior * jnp.eye(n_parameter, dtype=dtype) if prior.ndim < 2 else prior


def greedy_d_optimal(jacobian, k: int, *, noise_sigma: float,
                     prior_precision=1.0) -> StationSelection:  # fmt: skip
    """Greedy D-optimal choice of ``k`` stations.

    Args:
        jacobian: ``(n_station, n_data_per_station, n_parameter)`` derivatives of each
            station's (filtered) record with respect to θ, e.g.
            ``jax.jacfwd(posterior.predict)(theta).reshape(S, -1, d)``.
        k: number of stations to choose.
        noise_sigma: data noise σ (trace units).
        prior_precision: scalar or ``(n_parameter, n_parameter)`` prior precision Λ₀, in the
            units of θ (for a uniform box, ``12 / width²`` matches its variance).

    Returns:
        `StationSelection` with the log det after each addition.
    """
    jacobian = _check_stations(jacobian, "jacobian",
                               "(n_station, n_data_per_station, n_parameter)", 0, k)
    blocks = jnp.einsum("smi,smj->sij", jacobian, jacobian) / noise_sigma**2
    information = _precision(prior_precision, jacobian.shape[-1], jacobian.dtype)
    chosen, scores = [], []
    for _ in range(int(k)):
        _, logdet = jnp.linalg.slogdet(information[None] + blocks)
        logdet = np.asarray(logdet).copy()
        logdet[chosen] = -np.inf
        best = int(np.argmax(logdet))
        chosen.append(best)
        scores.append(float(logdet[best]))
        information = information + blocks[best]
    return StationSelection(np.array(chosen), np.array(scores))


def linearised_covariance(jacobian, stations, *, noise_sigma: float,
                          prior_precision=1.0) -> jax.Array:  # fmt: skip
    """Linearised (Laplace) posterior covariance ``(Λ₀ + Σ_{s∈stations} J_sᵀJ_s/σ²)⁻¹``.

    Returns:
        ``(n_parameter, n_parameter)`` covariance in the units of θ.
    """
    jacobian = jnp.asarray(jacobian)[jnp.asarray(stations)]
    information = _precision(prior_precision, jacobian.shape[-1], jacobian.dtype)
    information = information + jnp.einsum("smi,smj->ij", jacobian, jacobian) / noise_sigma**2
    return jnp.linalg.inv(information)


def random_subsets(key: jax.Array, n_station: int, k: int, n_subset: int) -> np.ndarray:
    """``(n_subset, k)`` uniformly random k-subsets of ``range(n_station)`` (the baseline)."""
    keys = jax.random.split(key, n_subset)
    return np.stack([np.asarray(jax.random.permutation(kk, n_station)[:k]) for kk in keys])


def _group_lasso_fit(features, targets, penalty, n_iter, step):
    """FISTA for ``min_B ½/M ‖targets − Σ_s features_s B_s‖² + penalty Σ_s ‖B_s‖_F``."""
    n, n_station, m = features.shape
    flat = features.reshape(n, n_station * m)

    def prox(b):
        groups = b.reshape(n_station, m, -1)
        norms = jnp.sqrt(jnp.sum(groups**2, axis=(1, 2), keepdims=True))
        shrink = jnp.maximum(0.0, 1.0 - step * penalty / jnp.maximum(norms, 1e-30))
        return (groups * shrink).reshape(b.shape)

    def body(carry, _):
        b, b_previous, t = carry
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t**2))
        y = b + (t - 1.0) / t_next * (b - b_previous)
        gradient = flat.T @ (flat @ y - targets) / n
        return (prox(y - step * gradient), b, t_next), None

    zero = jnp.zeros((n_station * m, targets.shape[1]), features.dtype)
    (b, _, _), _ = jax.lax.scan(body, (zero, zero, jnp.ones((), features.dtype)), None,
                                length=n_iter)  # fmt: skip
    return jnp.sqrt(jnp.sum(b.reshape(n_station, m, -1) ** 2, axis=(1, 2)))


def group_lasso_selection(station_records, parameters, k: int, *, n_iter: int = 300,
                          n_bisection: int = 30) -> StationSelection:  # fmt: skip
    """Choose ``k`` stations by a group-lasso linear regression of θ on the station records.

    Records and parameters are standardised across the ensemble; λ is bisected on a log scale
    until exactly ``k`` station groups are non-zero (or the closest count reached).

    Args:
        station_records: ``(n_draw, n_station, n_data_per_station)`` simulated (filtered)
            records for an ensemble of draws of θ (prior or posterior).
        parameters: ``(n_draw, n_parameter)`` the draws.
        k: number of stations to keep.
        n_iter: FISTA iterations per λ.
        n_bisection: bisection steps on log λ.

    Returns:
        `StationSelection` ranked by group norm.
    """
    records = _check_stations(station_records, "station_records",
                              "(n_draw, n_station, n_data)", 1, k)
    params = jnp.asarray(parameters)
    if params.shape[0] != records.shape[0]:
        raise ValueError(f"parameters has {params.shape[0]} draws, station_records "
                         f"{records.shape[0]}")  # fmt: skip
    features = records - records.mean(axis=0)
    features = features / jnp.maximum(features.std(), 1e-30)
    targets = params - params.mean(axis=0)
    targets = targets / jnp.maximum(targets.std(axis=0), 1e-30)
    flat = features.reshape(features.shape[0], -1)
    step = 1.0 / float(jnp.linalg.norm(flat, ord=2) ** 2 / flat.shape[0])
    fit = jax.jit(lambda lam: _group_lasso_fit(features, targets, lam, n_iter, step))
    low, high = -8.0, 2.0  # log10 λ bracket: all groups in / none in
    norms = fit(10.0**low)
    for _ in range(n_bisection):
        middle = 0.5 * (low + high)
        trial = fit(10.0**middle)
        count = int(jnp.sum(trial > 0))
        if count >= k:
            low, norms = middle, trial
        else:
            high = middle
        if count == k:
            break
    norms = np.asarray(norms)
    ranked = np.argsort(-norms)[: int(k)]
    return StationSelection(ranked, norms[ranked])
