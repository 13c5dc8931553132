"""Array earthquake detection with graph-partitioned station groups (Yano et al. 2021 JGR 126).

Yano et al. (2021, JGR 126:e2020JB020269). The stations of a dense local array are split into
balanced groups of
neighbours by spectral partitioning of their distance graph; a small CNN shared by all groups
turns each group's waveforms into an earthquake log-odds, and the group evidence is averaged.
An earthquake moves out coherently across every group, while station-local noise (spikes,
bursts, a car passing one station) reaches one or two stations only, so it sways at most one
group and is outvoted.

* `partition_stations`: recursive spectral bisection of the graph with weights
  ``w_ij = exp(−d_ij²/ℓ²)`` (Fiedler vector of the graph Laplacian, proportional balanced split),
  giving `StationGroups` (indices padded with −1, each group ordered by distance to its centroid).
* `synthetic_array_windows`: labelled windows of an array: local earthquakes (straight-ray P and
  S moveout, 1/r amplitude decay, t* attenuation, per-station site scatter) or noise, both with
  coloured noise and station-local transients on one or two stations as hard negatives.
* `ArrayDetector`: the Flax NNX network, ``(waveforms, mask) -> logits (batch, 2)``; masked
  (missing) stations are zero-filled and flagged by a mask channel, so the output does not depend
  on their data.
* `station_dropout`: training augmentation removing a random share of the stations (by default
  up to half) per example.
* `detection_rates` and `threshold_at_false_positive_rate`: recall / false-positive rate and the
  threshold for a target false-positive rate (choose it on validation data).

Units: station coordinates and depths in km, velocities in km/s, times in s, frequencies in Hz;
waveforms are ground velocity in units of each station's noise RMS. Components N, E, Z last.
Class order `ARRAY_CLASSES` = (noise, earthquake).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy.sparse.csgraph import connected_components

from sjax.detect.synthetic import _brune_velocity, _check_range, _min_phase_attenuation

__all__ = [
    "ARRAY_CLASSES",
    "StationGroups",
    "partition_stations",
    "ArrayWindows",
    "synthetic_array_windows",
    "ArrayDetector",
    "station_dropout",
    "detection_rates",
    "threshold_at_false_positive_rate",
]

ARRAY_CLASSES: tuple[str, ...] = ("noise", "earthquake")
"""Output class order of `ArrayDetector`: index 0 = noise, 1 = earthquake."""

_N_COMPONENTS = 3
_F32 = jnp.float32  # the generator computes in float32 (also under jax_enable_x64)
_DUPLICATE_KM = 1e-6  # stations closer than 1 mm are duplicates
_EDGE_FLOOR = 1e-12  # relative weight below which an edge is treated as absent
_Q_S_OVER_Q_P = 4.0 / 9.0  # Q_P = 9/4 Q_S, as in sjax.detect.synthetic
_CODA_RATIO = 0.15  # coda peak relative to the direct pulse
_CODA_DECAY = (0.5, 2.0)  # s
_S_TO_P = (1.5, 4.0)  # peak S / P ratio of the direct pulses, per station
_TRANSIENT_TYPES = ("spike", "burst", "pulse")  # codes 1, 2, 3 of ArrayWindows.transient


# --------------------------------------------------------------------------------------------
# graph partitioning
# --------------------------------------------------------------------------------------------


class StationGroups(NamedTuple):
    """Balanced station groups from `partition_stations`.

    Attributes:
        indices: ``(n_groups, group_size)`` int32 numpy array of station indices (rows of the
            coordinate array), each row ordered by distance to its group's centroid (nearest
            first) and padded at the end with −1 when the groups are of unequal size (sizes differ
            by at most one).
        n_stations: number of stations partitioned.
        length_scale: the ℓ in km of the graph weights ``exp(−d²/ℓ²)`` that were used.
    """

    indices: np.ndarray
    n_stations: int
    length_scale: float

    @property
    def sizes(self) -> np.ndarray:
        """``(n_groups,)`` int number of stations in each group."""
        return np.sum(self.indices >= 0, axis=1)


def _check_coordinates(coordinates, name: str = "coordinates") -> np.ndarray:
    xy = np.asarray(coordinates, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n_stations >= 1, 2) (east, north in km), "
                         f"got {xy.shape}")  # fmt: skip
    bad = np.flatnonzero(~np.all(np.isfinite(xy), axis=1))
    if bad.size:
        raise ValueError(f"{name} must be finite: station {int(bad[0])} is {xy[bad[0]]}")
    d = _distances(xy)
    np.fill_diagonal(d, np.inf)
    i, j = np.unravel_index(np.argmin(d), d.shape)
    if xy.shape[0] > 1 and d[i, j] < _DUPLICATE_KM:
        raise ValueError(f"{name} has duplicate stations {min(i, j)} and {max(i, j)} "
                         f"(closer than {_DUPLICATE_KM * 1e6:g} mm)")  # fmt: skip
    return xy


def _distances(xy: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum((xy[:, None, :] - xy[None, :, :]) ** 2, axis=-1))


def _principal_coordinate(xy: np.ndarray) -> np.ndarray:
    """Projection of the points on their principal axis (sign fixed: east/north positive)."""
    centred = xy - xy.mean(axis=0)
    if xy.shape[0] < 2:
        return np.zeros(xy.shape[0])
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axis = vt[0] if (vt[0, 0] + vt[0, 1]) >= 0 else -vt[0]
    return centred @ axis


def _spectral_order(xy: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Order of the points along the Fiedler vector of the graph (components kept contiguous)."""
    n = xy.shape[0]
    if n <= 2:
        return np.argsort(_principal_coordinate(xy), kind="stable")
    adjacency = weights > _EDGE_FLOOR * weights.max() if weights.max() > 0 else weights > 0
    n_comp, label = connected_components(adjacency, directed=False)
    if n_comp > 1:  # disconnected: the Fiedler vector is not unique; order component by component
        position = _principal_coordinate(xy)
        centres = [position[label == c].mean() for c in range(n_comp)]
        order = []
        for c in np.argsort(centres, kind="stable"):
            members = np.flatnonzero(label == c)
            sub = weights[np.ix_(members, members)]
            order.extend(members[_spectral_order(xy[members], sub)])
        return np.asarray(order)
    laplacian = np.diag(weights.sum(axis=1)) - weights
    _, vectors = np.linalg.eigh(laplacian)
    fiedler = vectors[:, 1]
    position = _principal_coordinate(xy)
    if fiedler @ position < 0:  # the sign of an eigenvector is arbitrary: fix it
        fiedler = -fiedler
    return np.lexsort((position, np.round(fiedler, 12)))


def _bisect(members: np.ndarray, n_groups: int, xy: np.ndarray, weights: np.ndarray) -> list:
    if n_groups == 1:
        return [members]
    order = members[_spectral_order(xy[members], weights[np.ix_(members, members)])]
    first = n_groups // 2
    q, r = divmod(members.size, n_groups)
    n_first = first * q + min(first, r)  # every final group gets q or q + 1 stations
    return _bisect(order[:n_first], first, xy, weights) + _bisect(
        order[n_first:], n_groups - first, xy, weights
    )


def partition_stations(coordinates, n_groups: int, *, length_scale: float | None = None
                       ) -> StationGroups:  # fmt: skip
    """Balanced spectral partition of an array's stations into groups of neighbours.

    The stations are the nodes of a complete graph with weights ``w_ij = exp(−d_ij²/ℓ²)``
    (``d_ij`` the horizontal distance). The set is bisected recursively: stations are sorted by
    the Fiedler vector (second eigenvector of the Laplacian ``L = D − W``) and cut at the
    position that gives the two halves a share of stations proportional to the number of groups
    each will hold, so any ``n_groups`` (not only powers of two) yields groups whose sizes
    differ by at most one. Numerically disconnected parts of the graph (relative weight
    < 1e-12) are kept contiguous in the order, so separated clusters are not split when the
    sizes allow. Runs in numpy (float64) once per array layout; not traceable.

    Args:
        coordinates: ``(n_stations, 2)`` station positions (east, north) in km.
        n_groups: number of groups, in ``[1, n_stations]``.
        length_scale: ℓ in km; default: the median over stations of the distance to the
            ``(⌈n_stations / n_groups⌉ − 1)``-th nearest neighbour (the typical group radius).

    Returns:
        `StationGroups` with ``indices`` of shape ``(n_groups, ⌈n_stations / n_groups⌉)``.

    Raises:
        ValueError: for a bad shape, non-finite or duplicate coordinates, ``n_groups`` outside
            ``[1, n_stations]`` or a non-positive ``length_scale``.
        TypeError: for a non-integer ``n_groups``.
    """
    xy = _check_coordinates(coordinates)
    n = xy.shape[0]
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)):
        raise TypeError(f"n_groups={n_groups!r} must be an integer")
    if not 1 <= n_groups <= n:
        raise ValueError(f"n_groups={n_groups} must lie in [1, n_stations={n}]")
    group_size = -(-n // n_groups)
    distances = _distances(xy)
    if length_scale is None:
        k = min(max(group_size - 1, 1), n - 1)
        length_scale = float(np.median(np.sort(distances, axis=1)[:, k])) if n > 1 else 1.0
    length_scale = float(length_scale)
    if not (math.isfinite(length_scale) and length_scale > 0):
        raise ValueError(f"length_scale={length_scale} km must be positive and finite")
    weights = np.exp(-((distances / length_scale) ** 2))
    np.fill_diagonal(weights, 0.0)
    groups = _bisect(np.arange(n), int(n_groups), xy, weights)
    indices = np.full((int(n_groups), group_size), -1, dtype=np.int32)
    for row, members in enumerate(groups):
        radius = np.linalg.norm(xy[members] - xy[members].mean(axis=0), axis=1)
        indices[row, : members.size] = members[np.lexsort((members, radius))]
    return StationGroups(indices=indices, n_stations=n, length_scale=length_scale)


# --------------------------------------------------------------------------------------------
# synthetic array data
# --------------------------------------------------------------------------------------------


class ArrayWindows(NamedTuple):
    """Labelled array windows from `synthetic_array_windows` (``n`` windows, ``s`` stations,
    ``T`` samples).

    Attributes:
        waveforms: ``(n, s, T, 3)`` float ground velocity in units of each station's noise RMS,
            components N, E, Z last.
        labels: ``(n,)`` int32, 1 = earthquake, 0 = noise (`ARRAY_CLASSES`).
        mask: ``(n, s)`` bool, True where a station has data (all True here).
        hypocentre: ``(n, 3)`` float (east, north, depth) in km; NaN for noise windows.
        origin_time: ``(n,)`` float origin time in s after the first sample (negative when the
            event occurred before the window); NaN for noise windows.
        station_snr: ``(n, s)`` float peak-signal / noise-RMS of the earthquake at each station
            (within the window); 0 for noise windows.
        transient: ``(n, s)`` int32 station-local transient code: 0 none, 1 spike, 2 burst,
            3 earthquake-like pulse (P and S at that station only).
        sampling_rate: Hz, a Python float.
    """

    waveforms: jax.Array
    labels: jax.Array
    mask: jax.Array
    hypocentre: jax.Array
    origin_time: jax.Array
    station_snr: jax.Array
    transient: jax.Array
    sampling_rate: float


def _log_uniform(u, lo, hi):
    """Map uniforms ``u`` in [0, 1) to a log-uniform distribution on [lo, hi)."""
    return jnp.exp(jnp.log(lo) + u * (jnp.log(hi) - jnp.log(lo)))


def _unit_vectors(u_z, u_phi):
    """``(m, 3)`` unit vectors uniform on the sphere from two ``(m,)`` uniform draws."""
    z = 2.0 * u_z - 1.0
    rho, phi = jnp.sqrt(jnp.maximum(1.0 - z**2, 0.0)), 2.0 * jnp.pi * u_phi
    return jnp.stack([rho * jnp.cos(phi), rho * jnp.sin(phi), z], axis=-1)


def _arrivals(white, u_ratio, u_decay, p_time, s_time, corner, t_star_p, t_star_s, pol_p, pol_s,
              *, n_samples, dt):  # fmt: skip
    """P + S pulses with codas for ``m`` traces, each scaled to a peak of 1 in the window.

    Args: ``white (m, 3, T)`` standard normals (coda noise, filtered once with the P and once
    with the S spectrum); ``(m,)`` uniforms for the
    S/P ratio and the coda decay; ``(m,)`` onset times in s, corner frequencies in Hz and t* in
    s; ``(m, 3)`` unit polarisations (N, E, Z). Returns ``(m, 3, T)``.
    """
    s_ratio = _S_TO_P[0] + u_ratio * (_S_TO_P[1] - _S_TO_P[0])
    decay = _CODA_DECAY[0] + u_decay * (_CODA_DECAY[1] - _CODA_DECAY[0])
    n_fft = 2 * n_samples  # doubled grid: no wrap-around of pulses starting inside the window
    freqs = jnp.fft.rfftfreq(n_fft, dt, dtype=_F32)
    times = jnp.arange(n_samples, dtype=_F32) * dt
    attenuation = jax.vmap(
        lambda ts: _min_phase_attenuation(freqs, ts, n_fft).astype(jnp.complex64)
    )

    def direct(corner, t_star, onset):
        spec = _brune_velocity(freqs, corner[:, None]) * attenuation(t_star)
        peak = jnp.max(jnp.abs(jnp.fft.irfft(spec, n=n_fft)), axis=-1, keepdims=True)
        pulse = jnp.fft.irfft(spec * jnp.exp(-2j * jnp.pi * freqs * onset[:, None]), n=n_fft)
        # causal: zero the band-limitation ringing before the onset (and anything wrapped round);
        # scaled by the whole pulse's peak, so the S/P ratio holds when a pulse is cut off
        return jnp.where(times[None, :] >= onset[:, None], pulse[:, :n_samples], 0.0) / peak

    def coda(white, corner, t_star, onset, amplitude):
        # stationary noise with the arrival's amplitude spectrum (circular filtering: the phase
        # of a noise filter is immaterial), under an exponential envelope starting at the onset
        f = jnp.fft.rfftfreq(n_samples, dt, dtype=_F32)
        gain = jnp.abs(_brune_velocity(f, corner[:, None])) * jnp.exp(-jnp.pi * f * t_star[:, None])
        shaped = jnp.fft.irfft(jnp.fft.rfft(white, axis=-1) * gain[:, None, :], n=n_samples)
        shaped = shaped / jnp.sqrt(jnp.mean(shaped**2, axis=(-2, -1), keepdims=True))
        lag = times[None, :] - onset[:, None]
        envelope = jnp.where(lag >= 0, jnp.exp(-jnp.maximum(lag, 0.0) / decay[:, None]), 0.0)
        # unit-RMS noise peaks near 3, so /3 makes the coda peak ≈ _CODA_RATIO × amplitude
        return _CODA_RATIO * amplitude[:, None, None] * envelope[:, None, :] * shaped / 3.0

    corner_s = corner / 1.5  # f_c,S = f_c,P / 1.5 as in sjax.detect.synthetic
    signal = (
        pol_p[:, :, None] * direct(corner, t_star_p, p_time)[:, None, :]
        + pol_s[:, :, None] * (s_ratio[:, None] * direct(corner_s, t_star_s, s_time))[:, None, :]
        + coda(white, corner, t_star_p, p_time, jnp.ones_like(s_ratio))
        + coda(white, corner_s, t_star_s, s_time, s_ratio)
    )
    peak = jnp.max(jnp.abs(signal), axis=(1, 2), keepdims=True)
    return signal / jnp.where(peak > 0, peak, 1.0)


def _coloured_noise(white, dt, exponent, corner):
    """Unit-RMS noise (per trace, over components and samples) with power ``∝ 1/max(f, f_c)^α``
    from ``white (m, 3, T)`` standard normals."""
    n_samples = white.shape[-1]
    f = jnp.fft.rfftfreq(n_samples, dt, dtype=_F32)
    shaping = jnp.maximum(f, corner) ** (-exponent / 2.0)
    noise = jnp.fft.irfft(jnp.fft.rfft(white, axis=-1) * shaping, n=n_samples)
    noise = noise - jnp.mean(noise, axis=-1, keepdims=True)
    return noise / jnp.sqrt(jnp.mean(noise**2, axis=(1, 2), keepdims=True))


def _window(key, label, coordinates, params, *, n_samples, max_transient_stations):
    """One window ``(s, T, 3)`` plus its metadata (arguments already validated).

    All random numbers come from four draws (window uniforms, per-station uniforms, per-slot
    uniforms, normals): few large draws compile and run much faster than many small ones.
    Transients are computed only for ``max_transient_stations`` slots, then scattered.
    """
    (sampling_rate, snr_lo, snr_hi, depth_lo, depth_hi, margin, first_lo, first_hi, vp, vs,
     fc_lo, fc_hi, quality_p, site_scatter, transient_fraction, tsnr_lo, tsnr_hi,
     noise_exponent, noise_corner) = params  # fmt: skip
    s, k = coordinates.shape[0], max_transient_stations
    dt = 1.0 / sampling_rate
    duration = n_samples * dt
    k_window, k_station, k_slot, k_white = jax.random.split(key, 4)
    v = jax.random.uniform(k_window, (8,), _F32)
    u = jax.random.uniform(k_station, (5, s), _F32)
    w = jax.random.uniform(k_slot, (15, k), _F32)
    white = jax.random.normal(k_white, (2 * (s + k), _N_COMPONENTS, n_samples), _F32)
    between = lambda x, lo, hi: lo + x * (hi - lo)  # noqa: E731

    # --- earthquake: straight rays from a hypocentre under / near the array
    low = jnp.min(coordinates, axis=0) - margin
    high = jnp.max(coordinates, axis=0) + margin
    epicentre = between(v[:2], low, high)
    depth = between(v[2], depth_lo, depth_hi)
    offset = coordinates - epicentre  # (s, 2) east, north: source -> station
    horizontal = jnp.linalg.norm(offset, axis=-1)
    distance = jnp.sqrt(horizontal**2 + depth**2)
    t_p, t_s = distance / vp, distance / vs
    origin = between(v[3], first_lo, first_hi) - jnp.min(t_p)
    safe = jnp.where(horizontal > 0, horizontal, 1.0)
    radial = jnp.where(
        (horizontal > 0)[:, None],
        jnp.stack([offset[:, 1], offset[:, 0], jnp.zeros(s, _F32)], -1) / safe[:, None],  # N, E, Z
        jnp.array([1.0, 0.0, 0.0], _F32),
    )
    transverse = jnp.stack([-radial[:, 1], radial[:, 0], jnp.zeros(s, _F32)], -1)
    up = jnp.array([0.0, 0.0, 1.0], _F32)
    sin_i, cos_i = (horizontal / distance)[:, None], (depth / distance)[:, None]
    pol_p = sin_i * radial + cos_i * up  # P along the ray (away from the source)
    psi = 2.0 * jnp.pi * u[0][:, None]
    pol_s = jnp.cos(psi) * (cos_i * radial - sin_i * up) + jnp.sin(psi) * transverse
    event_snr = _log_uniform(v[5], snr_lo, snr_hi)
    site = jnp.exp(site_scatter * jax.scipy.special.ndtri(jnp.clip(u[3], 1e-6, 1.0 - 1e-6)))
    station_snr = event_snr * (jnp.median(distance) / distance) * site * label
    # a P arriving after the window leaves nothing visible: report no signal there
    station_snr = jnp.where(origin + t_p < duration, station_snr, 0.0)

    # --- station-local transients in k slots, the first `count` of them active
    count = jnp.where(v[6] < transient_fraction, jnp.minimum(1 + jnp.floor(v[7] * k), k), 0)
    slot_station = jnp.argsort(u[4])[:k]  # distinct stations chosen uniformly
    active = jnp.arange(k) < count
    kind = jnp.minimum(1 + jnp.floor(w[0] * len(_TRANSIENT_TYPES)), len(_TRANSIENT_TYPES))
    amplitude = _log_uniform(w[1], tsnr_lo, tsnr_hi)
    at = w[2] * duration  # s, time of the transient
    sample = jnp.arange(n_samples, dtype=_F32)
    direction = _unit_vectors(w[3], w[4])
    direction = direction / jnp.max(jnp.abs(direction), axis=-1, keepdims=True)  # peak 1
    spike = direction[:, :, None] * (
        sample[None, None, :] == jnp.floor(at / dt)[:, None, None]
    )
    width = _log_uniform(w[5], 0.05, 0.5)  # s, Gaussian envelope of a burst
    envelope = jnp.exp(-0.5 * ((sample * dt - at[:, None]) / width[:, None]) ** 2)
    burst = white[s + k : s + 2 * k] * envelope[:, None, :]
    burst = burst / jnp.max(jnp.abs(burst), axis=(1, 2), keepdims=True)
    pulse_t_star = between(w[6], 0.005, 0.03)

    # event arrivals (first s traces) and the transient P + S pairs (last k) in one call
    quality_s = _Q_S_OVER_Q_P * quality_p
    both = _arrivals(
        white[: s + k],
        jnp.concatenate([u[1], w[7]]),
        jnp.concatenate([u[2], w[8]]),
        jnp.concatenate([origin + t_p, at]),
        jnp.concatenate([origin + t_s, at + between(w[9], 0.3, 3.0)]),
        jnp.concatenate([jnp.full(s, between(v[4], fc_lo, fc_hi)), between(w[10], fc_lo, fc_hi)]),
        jnp.concatenate([t_p / quality_p, pulse_t_star]),
        jnp.concatenate([t_s / quality_s, pulse_t_star / _Q_S_OVER_Q_P]),
        jnp.concatenate([pol_p, _unit_vectors(w[11], w[12])]),
        jnp.concatenate([pol_s, _unit_vectors(w[13], w[14])]),
        n_samples=n_samples,
        dt=dt,
    )
    event, pulse = both[:s], both[s:]
    chosen = jnp.where(kind[:, None, None] == 1, spike,
                       jnp.where(kind[:, None, None] == 2, burst, pulse))  # fmt: skip
    slot_trace = jnp.where(active[:, None, None], amplitude[:, None, None] * chosen, 0.0)
    transient = jnp.zeros((s, _N_COMPONENTS, n_samples), _F32).at[slot_station].add(slot_trace)
    code = jnp.where(active, kind, 0).astype(jnp.int32)
    code = jnp.zeros(s, jnp.int32).at[slot_station].add(code)

    noise = _coloured_noise(white[s + 2 * k :], dt, noise_exponent, noise_corner)
    trace = noise + station_snr[:, None, None] * event + transient
    hypocentre = jnp.where(label > 0, jnp.concatenate([epicentre, depth[None]]), jnp.nan)
    return (
        jnp.swapaxes(trace, 1, 2),
        hypocentre,
        jnp.where(label > 0, origin, jnp.nan),
        station_snr,
        code,
    )


@functools.partial(jax.jit, static_argnames=("n_samples", "max_transient_stations", "dtype"))
def _window_batch(keys, labels, coordinates, params, *, n_samples, max_transient_stations, dtype):
    """`_window` vectorised over a batch of keys and labels (one compilation per layout)."""
    one = functools.partial(_window, coordinates=coordinates, params=params, n_samples=n_samples,
                            max_transient_stations=max_transient_stations)  # fmt: skip
    waveforms, *rest = jax.vmap(one)(keys, labels)
    return (waveforms.astype(dtype), *rest)


def synthetic_array_windows(
    key: jax.Array,
    coordinates,
    n: int,
    *,
    sampling_rate: float = 50.0,
    window_seconds: float = 8.0,
    event_fraction: float = 0.5,
    snr: tuple[float, float] = (3.0, 30.0),
    depth: tuple[float, float] = (3.0, 20.0),
    epicentre_margin: float = 5.0,
    first_arrival: tuple[float, float] = (1.0, 4.0),
    velocity_p: float = 6.0,
    velocity_s: float = 3.5,
    corner_frequency: tuple[float, float] = (2.0, 8.0),
    quality_p: float = 200.0,
    site_scatter: float = 0.3,
    transient_fraction: float = 0.5,
    transient_snr: tuple[float, float] = (3.0, 30.0),
    max_transient_stations: int = 2,
    noise_exponent: float = 1.0,
    noise_corner: float = 0.5,
    batch_size: int = 64,
    dtype=jnp.float32,
) -> ArrayWindows:
    """Labelled synthetic windows of a seismic array: local earthquakes versus noise.

    ``round(n · event_fraction)`` windows (at random positions) hold an earthquake, the others
    only noise. Every station of every window has independent coloured noise of unit RMS (power
    ``∝ 1/max(f, noise_corner)^noise_exponent``). An earthquake has a hypocentre drawn uniformly
    in the stations' bounding box widened by ``epicentre_margin`` and in ``depth``, and straight
    rays in a homogeneous medium: P and S onsets ``origin + r/velocity`` (moveout across the
    array), Brune pulses with a common corner frequency (S: corner / 1.5) and t* = travel time /
    Q (``Q_S = 4/9 Q_P``), P polarised along the ray, S perpendicular to it, exponential codas.
    The origin time puts the first P at ``first_arrival`` after the window start. The event's
    SNR (log-uniform in ``snr``) is the peak SNR at a station at the median hypocentral
    distance; station ``i`` gets ``snr · r_median / r_i · exp(site_scatter · N(0, 1))``.
    The numbers are computed in float32 (also under ``jax_enable_x64``), then cast to ``dtype``.

    Independently of the label, a ``transient_fraction`` of the windows carry station-local
    transients on 1 to ``max_transient_stations`` random stations: a one-sample spike, a
    Gaussian-enveloped burst (0.05–0.5 s) or an earthquake-like P + S pulse pair (S − P in
    0.3–3 s) seen at that station only, with peak SNR log-uniform in ``transient_snr``. These are
    the hard negatives that fool a single-station detector.

    Args:
        key: ``jax.random`` key (fixes the output).
        coordinates: ``(s, 2)`` station positions (east, north) in km.
        n: number of windows.
        sampling_rate: Hz; its Nyquist frequency must exceed twice ``corner_frequency[1]``.
        window_seconds: window length in s (``T = round(window_seconds · sampling_rate)``).
        event_fraction: share of earthquake windows, in [0, 1].
        snr: (low, high) range of the event SNR at the median distance (amplitude ratio > 0).
        depth: (low, high) hypocentre depth range in km (> 0).
        epicentre_margin: km added around the stations' bounding box for epicentres (>= 0).
        first_arrival: (low, high) time in s of the first P after the window start.
        velocity_p, velocity_s: km/s, with ``velocity_p > velocity_s > 0``.
        corner_frequency: (low, high) Brune corner frequency of P in Hz.
        quality_p: Q of P waves (> 0).
        site_scatter: standard deviation of the natural log of the station amplification (>= 0).
        transient_fraction: share of windows with station-local transients, in [0, 1].
        transient_snr: (low, high) peak SNR range of the transients (> 0).
        max_transient_stations: most stations hit by transients in one window, in [1, s].
        noise_exponent: α of the noise power spectrum (0 = white).
        noise_corner: Hz below which the noise spectrum is flat (> 0).
        batch_size: windows generated per vectorised call (memory vs speed); one compilation
            serves every ``n`` (the last call is padded to a full batch).
        dtype: float dtype of ``waveforms``.

    Returns:
        `ArrayWindows` with ``waveforms (n, s, T, 3)``, ``labels (n,)`` and ``mask (n, s)``
        (all True), plus the hypocentres, origin times, station SNRs and transient codes.

    Raises:
        ValueError: naming the argument, for bad coordinates, counts, ranges, velocities,
            fractions or a too low sampling rate.
    """
    xy = _check_coordinates(coordinates)
    s = xy.shape[0]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer")
    sampling_rate = float(sampling_rate)
    if not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise ValueError(f"sampling_rate={sampling_rate} Hz must be positive and finite")
    n_samples = int(round(float(window_seconds) * sampling_rate))
    if not n_samples >= 16:
        raise ValueError(f"window_seconds={window_seconds} s gives {n_samples} samples at "
                         f"{sampling_rate:g} Hz; at least 16 are needed")  # fmt: skip
    if not 0.0 <= event_fraction <= 1.0:
        raise ValueError(f"event_fraction={event_fraction} must lie in [0, 1]")
    if not 0.0 <= transient_fraction <= 1.0:
        raise ValueError(f"transient_fraction={transient_fraction} must lie in [0, 1]")
    snr_lo, snr_hi = _check_range("snr", snr)
    depth_lo, depth_hi = _check_range("depth", depth)
    first_lo, first_hi = _check_range("first_arrival", first_arrival, strict=False)
    if first_hi >= window_seconds:
        raise ValueError(f"first_arrival={first_arrival} s must end before window_seconds="
                         f"{window_seconds} s")  # fmt: skip
    fc_lo, fc_hi = _check_range("corner_frequency", corner_frequency)
    tsnr_lo, tsnr_hi = _check_range("transient_snr", transient_snr)
    if sampling_rate / 2.0 <= 2.0 * fc_hi:
        raise ValueError(f"sampling_rate={sampling_rate:g} Hz is too low: its Nyquist must exceed "
                         f"2 × corner_frequency[1] = {2 * fc_hi:g} Hz")  # fmt: skip
    if not (math.isfinite(velocity_p) and velocity_p > velocity_s > 0):
        raise ValueError(f"velocities must satisfy velocity_p > velocity_s > 0 km/s, got "
                         f"velocity_p={velocity_p}, velocity_s={velocity_s}")  # fmt: skip
    for name, value in (("epicentre_margin", epicentre_margin), ("site_scatter", site_scatter)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value} must be finite and >= 0")
    for name, value in (("quality_p", quality_p), ("noise_corner", noise_corner)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value} must be positive and finite")
    if not math.isfinite(noise_exponent):
        raise ValueError(f"noise_exponent={noise_exponent} must be finite")
    if not isinstance(max_transient_stations, (int, np.integer)) or not (
        1 <= max_transient_stations <= s
    ):
        raise ValueError(f"max_transient_stations={max_transient_stations!r} must be an integer "
                         f"in [1, {s}] (the number of stations)")  # fmt: skip
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer")

    params = (sampling_rate, snr_lo, snr_hi, depth_lo, depth_hi, epicentre_margin, first_lo,
              first_hi, velocity_p, velocity_s, fc_lo, fc_hi, quality_p, site_scatter,
              transient_fraction, tsnr_lo, tsnr_hi, noise_exponent, noise_corner)  # fmt: skip
    k_labels, k_windows = jax.random.split(key)
    n_events = int(round(n * event_fraction))
    labels = (jax.random.permutation(k_labels, int(n)) < n_events).astype(jnp.int32)
    keys = jax.random.split(k_windows, int(n))  # window i depends on key and i only
    batch_size = int(batch_size)
    pad = -int(n) % batch_size  # the last batch is completed with copies, then cut off
    padded_keys = jnp.concatenate([keys, jnp.resize(keys, (pad,))])
    padded_labels = jnp.concatenate([labels, jnp.resize(labels, (pad,))])
    coords = jnp.asarray(xy, jnp.float32)
    params = tuple(float(v) for v in params)
    chunks = [
        _window_batch(padded_keys[i : i + batch_size], padded_labels[i : i + batch_size], coords,
                      params, n_samples=n_samples,
                      max_transient_stations=int(max_transient_stations), dtype=jnp.dtype(dtype))
        for i in range(0, int(n) + pad, batch_size)
    ]  # fmt: skip
    waveforms, hypocentre, origin, station_snr, transient = (
        jnp.concatenate(parts)[: int(n)] for parts in zip(*chunks)
    )
    return ArrayWindows(
        waveforms=waveforms,
        labels=labels,
        mask=jnp.ones((int(n), s), dtype=bool),
        hypocentre=hypocentre,
        origin_time=origin,
        station_snr=station_snr,
        transient=transient,
        sampling_rate=sampling_rate,
    )


# --------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------


class ArrayDetector(nnx.Module):
    """Group-wise CNN earthquake detector for a station array (Yano et al. 2021 design).

    For each group of `StationGroups` the waveforms ``(g, T, 3)`` of its stations are gathered
    (padding slots and masked stations are zero-filled), each trace is divided by its maximum
    absolute value over components and samples, and the mask is appended as a fourth channel.
    One CNN shared by all groups then applies, per trace, ``len(channels) − 1`` time
    convolutions ('same', ReLU; the first with stride ``stride``; max-pool ``pool`` after all
    but the last), followed by one convolution spanning all ``g`` station slots of the group
    (the slots are in the fixed nearest-to-centroid order) and 3 samples in time, ReLU, the
    maximum and the mean over time (peak and background), and a linear layer: the group's
    earthquake log-odds ``l_g``.

    Fusion (``fusion``):

    * ``"probability"`` (default): ``p = Σ_g n_g σ(l_g) / Σ_g n_g`` with ``n_g`` the number of
      live stations of group ``g`` — a station-weighted mean of group probabilities. One group
      can move ``p`` by at most its share of live stations, so a confident group fooled by a
      station-local transient cannot outvote the rest. Logits are ``(log(1 − p), log p)``.
    * ``"log_odds"``: the mean of ``l_g`` over groups with a live station; logits
      ``(0, mean)``.

    Without any live station the logits are ``(0, 0)`` (p = 0.5). The output never depends on
    the data of masked stations (they are replaced by zeros before any computation). No
    batch-norm: ``train()`` / ``eval()`` do not change the output.

    Example:
        >>> groups = partition_stations(coordinates, 4)
        >>> model = ArrayDetector(groups, n_samples=400, rngs=nnx.Rngs(0))
        >>> logits = model(waveforms, mask)  # (batch, 2), ARRAY_CLASSES order

    Args:
        groups: `StationGroups` of the array (its ``n_stations`` fixes the input size).
        n_samples: samples per window ``T``.
        rngs: random streams for initialisation.
        channels: feature channels of the time convolutions followed by the channels of the
            across-station convolution (at least two entries).
        kernel_size: time kernel length (samples) of the time convolutions.
        stride: stride of the first time convolution (cheap down-sampling).
        pool: max-pool factor after each time convolution but the last.
        fusion: ``"probability"`` or ``"log_odds"`` (see above).
        dtype, param_dtype: computation and parameter dtypes.

    Raises:
        ValueError: for inconsistent groups, sizes or an unknown ``fusion``.
    """

    def __init__(self, groups: StationGroups, *, n_samples: int, rngs: nnx.Rngs,
                 channels: tuple[int, ...] = (8, 16, 16, 16), kernel_size: int = 7,
                 stride: int = 2, pool: int = 4, fusion: str = "probability", dtype=None,
                 param_dtype=jnp.float32):  # fmt: skip
        indices = np.asarray(groups.indices)
        if indices.ndim != 2 or indices.size == 0 or np.any(indices >= groups.n_stations):
            raise ValueError(f"groups.indices must be (n_groups, group_size) station indices "
                             f"< n_stations={groups.n_stations}, got {indices.shape}")  # fmt: skip
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples={n_samples!r} must be a positive integer")
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels={channels} needs >= 2 positive entries")
        if kernel_size < 1 or stride < 1 or pool < 1:
            raise ValueError(f"kernel_size={kernel_size}, stride={stride} and pool={pool} must "
                             "be >= 1")  # fmt: skip
        if fusion not in ("probability", "log_odds"):
            raise ValueError(f"fusion={fusion!r} must be 'probability' or 'log_odds'")
        n_time = len(channels) - 1
        remaining = -(-n_samples // stride) // pool ** (n_time - 1)
        if remaining < 1:
            raise ValueError(f"n_samples={n_samples} is too short for stride {stride} and "
                             f"{n_time - 1} poolings by {pool}")  # fmt: skip
        self.group_indices = tuple(tuple(int(i) for i in row) for row in indices)  # static
        self.n_stations = int(groups.n_stations)
        self.n_samples = int(n_samples)
        self.pool = int(pool)
        self.fusion = fusion
        common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        c_in = (_N_COMPONENTS + 1,) + channels[: n_time - 1]
        self.time_convs = nnx.List([
            nnx.Conv(a, b, (kernel_size,), strides=(stride if i == 0 else 1,), padding="SAME",
                     **common)
            for i, (a, b) in enumerate(zip(c_in, channels[:n_time]))
        ])  # fmt: skip
        self.station_conv = nnx.Conv(channels[n_time - 1], channels[-1], (indices.shape[1], 3),
                                     padding=((0, 0), (1, 1)), **common)  # fmt: skip
        self.head = nnx.Linear(2 * channels[-1], 1, **common)

    def group_log_odds(self, waveforms: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Per-group earthquake log-odds and live-station counts.

        Args:
            waveforms: ``(batch, n_stations, T, 3)`` float, components N, E, Z last (any scale).
            mask: ``(batch, n_stations)`` bool, True where a station has data.

        Returns:
            ``(log_odds, n_live)``: ``(batch, n_groups)`` float group log-odds and
            ``(batch, n_groups)`` int32 number of live stations in each group.

        Raises:
            ValueError: if the shapes do not match the detector's stations and samples.
        """
        expected = (self.n_stations, self.n_samples, _N_COMPONENTS)
        if jnp.ndim(waveforms) != 4 or tuple(jnp.shape(waveforms)[1:]) != expected:
            raise ValueError(f"waveforms must have shape (batch, {expected[0]}, {expected[1]}, "
                             f"{expected[2]}), got {tuple(jnp.shape(waveforms))}")  # fmt: skip
        if tuple(jnp.shape(mask)) != tuple(jnp.shape(waveforms)[:2]):
            raise ValueError(f"mask must have shape {tuple(jnp.shape(waveforms)[:2])} (batch, "
                             f"n_stations), got {tuple(jnp.shape(mask))}")  # fmt: skip
        index = np.asarray(self.group_indices)  # (G, g)
        n_groups, size = index.shape
        batch = waveforms.shape[0]
        live = jnp.asarray(mask, bool)[:, np.maximum(index, 0)] & (index >= 0)  # (b, G, g)
        x = jnp.asarray(waveforms)[:, np.maximum(index, 0)]  # (b, G, g, T, 3)
        x = jnp.where(live[..., None, None], x, 0.0)
        peak = jnp.max(jnp.abs(x), axis=(-2, -1), keepdims=True)
        x = x / jnp.where(peak > 0, peak, 1.0)
        flag = jnp.broadcast_to(live[..., None, None], x.shape[:-1] + (1,)).astype(x.dtype)
        x = jnp.concatenate([x, flag], axis=-1).reshape(batch * n_groups * size, self.n_samples,
                                                        _N_COMPONENTS + 1)  # fmt: skip
        for i, conv in enumerate(self.time_convs):
            x = jax.nn.relu(conv(x))
            if i < len(self.time_convs) - 1:
                x = nnx.max_pool(x, window_shape=(self.pool,), strides=(self.pool,))
        x = x.reshape(batch * n_groups, size, x.shape[-2], x.shape[-1])  # (bG, g, T', C)
        x = jax.nn.relu(self.station_conv(x))[:, 0]  # (bG, T', C)
        pooled = jnp.concatenate([jnp.max(x, axis=1), jnp.mean(x, axis=1)], axis=-1)
        log_odds = self.head(pooled)[:, 0].reshape(batch, n_groups)
        return log_odds, jnp.sum(live, axis=-1, dtype=jnp.int32)

    def __call__(self, waveforms: jax.Array, mask: jax.Array) -> jax.Array:
        """Logits ``(batch, 2)`` (`ARRAY_CLASSES` order) for ``waveforms (batch, n_stations, T,
        3)`` and ``mask (batch, n_stations)`` bool; see `group_log_odds` for the inputs."""
        log_odds, n_live = self.group_log_odds(waveforms, mask)
        total = jnp.sum(n_live, axis=-1)
        if self.fusion == "log_odds":
            live = n_live > 0
            fused = jnp.sum(jnp.where(live, log_odds, 0.0), axis=-1) / jnp.maximum(
                jnp.sum(live, axis=-1), 1
            )
            return jnp.stack([jnp.zeros_like(fused), fused], axis=-1)
        weight = n_live.astype(log_odds.dtype)
        log_norm = jnp.log(jnp.maximum(total, 1).astype(log_odds.dtype))
        log_p = jax.nn.logsumexp(jax.nn.log_sigmoid(log_odds), axis=-1, b=weight) - log_norm
        log_q = jax.nn.logsumexp(jax.nn.log_sigmoid(-log_odds), axis=-1, b=weight) - log_norm
        logits = jnp.stack([log_q, log_p], axis=-1)
        return jnp.where((total > 0)[:, None], logits, 0.0)


# --------------------------------------------------------------------------------------------
# augmentation and evaluation
# --------------------------------------------------------------------------------------------


def station_dropout(key: jax.Array, inputs: tuple, *, max_fraction: float = 0.5) -> tuple:
    """Randomly remove stations from each example (training augmentation; jittable).

    For each example an integer ``k`` is drawn uniformly from ``{0, 1, …, ⌊max_fraction · s⌋}``
    and ``k`` of its ``s`` stations, chosen uniformly without replacement, are set to False in
    the mask (already-missing stations may be among them). The waveforms are returned as they
    are: `ArrayDetector` ignores the data of masked stations.

    Args:
        key: ``jax.random`` key.
        inputs: ``(waveforms, mask)`` with ``waveforms (b, s, T, 3)`` and ``mask (b, s)`` bool.
        max_fraction: largest fraction of the stations removed, in [0, 1).

    Returns:
        ``(waveforms, mask)`` with the new ``(b, s)`` bool mask.

    Raises:
        ValueError: for ``max_fraction`` outside [0, 1) or a mask not shaped ``(b, s)``.
        TypeError: if ``inputs`` is not a ``(waveforms, mask)`` pair.
    """
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
        raise TypeError("inputs must be a (waveforms, mask) pair")
    if not 0.0 <= max_fraction < 1.0:
        raise ValueError(f"max_fraction={max_fraction} must lie in [0, 1)")
    waveforms, mask = inputs
    if jnp.ndim(mask) != 2 or jnp.shape(mask)[0] != jnp.shape(waveforms)[0]:
        raise ValueError(f"mask must have shape (batch, n_stations) matching waveforms "
                         f"{jnp.shape(waveforms)}, got {jnp.shape(mask)}")  # fmt: skip
    batch, s = jnp.shape(mask)
    k_count, k_order = jax.random.split(key)
    count = jax.random.randint(k_count, (batch, 1), 0, int(math.floor(max_fraction * s)) + 1)
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(k_order, (batch, s)), axis=-1), axis=-1)
    return waveforms, jnp.asarray(mask, bool) & (rank >= count)


def _check_scores(probabilities, labels) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities)
    y = np.asarray(labels)
    if p.ndim != 1 or y.shape != p.shape:
        raise ValueError(f"probabilities {p.shape} and labels {y.shape} must both be (n,)")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0 (noise) or 1 (earthquake)")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise ValueError("labels must contain both earthquakes (1) and noise (0)")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities must be finite")
    return p, y


def detection_rates(probabilities, labels, threshold: float) -> tuple[float, float]:
    """Recall and false-positive rate of the rule "earthquake if probability >= threshold".

    Args:
        probabilities: ``(n,)`` earthquake probabilities (any monotone score works).
        labels: ``(n,)`` int, 1 = earthquake, 0 = noise; both must occur.
        threshold: decision threshold.

    Returns:
        ``(recall, false_positive_rate)``: detected earthquakes / earthquakes and detected noise
        windows / noise windows, Python floats in [0, 1].

    Raises:
        ValueError: for mismatched shapes, labels other than 0/1, a missing class or non-finite
            values.
    """
    p, y = _check_scores(probabilities, labels)
    detected = p >= threshold
    return float(np.mean(detected[y == 1])), float(np.mean(detected[y == 0]))


def threshold_at_false_positive_rate(probabilities, labels, rate: float) -> float:
    """The lowest threshold whose false-positive rate is at most ``rate`` (highest recall).

    With ``m = ⌊rate · n_noise⌋`` false alarms allowed, the threshold is the next representable
    value above the ``(m+1)``-th largest noise probability (in the probabilities' float dtype),
    so `detection_rates` at this threshold gives a false-positive rate <= ``rate``. Choose it
    on validation data, then report rates on held-out data.

    Args:
        probabilities: ``(n,)`` earthquake probabilities.
        labels: ``(n,)`` int, 1 = earthquake, 0 = noise; both must occur.
        rate: target false-positive rate in [0, 1].

    Returns:
        The threshold, a Python float (the smallest probability when every noise window may be a
        false alarm).

    Raises:
        ValueError: for ``rate`` outside [0, 1] or bad inputs (see `detection_rates`).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate={rate} must lie in [0, 1]")
    p, y = _check_scores(probabilities, labels)
    noise = np.sort(p[y == 0])[::-1]
    allowed = int(math.floor(rate * noise.size))
    if allowed >= noise.size:
        return float(p.min())
    dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64
    return float(np.nextafter(noise[allowed].astype(dtype), dtype.type(np.inf)))
