"""Scoring picks against known arrival times (synthetic data, or a reviewed catalogue)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["PickScores", "score_picks"]


class PickScores(NamedTuple):
    """Result of `score_picks` (times in s).

    Attributes:
        p_within, s_within: fraction of true P / S arrivals with a same-phase pick within the
            tolerance.
        p_residuals, s_residuals: ``pick − true`` of the nearest same-phase pick for each true
            arrival that has one within ``match_window`` (NaN where none).
        false_picks: picks farther than ``match_window`` from every true arrival of their phase.
        n_picks: number of P and S picks scored.
    """

    p_within: float
    s_within: float
    p_residuals: np.ndarray
    s_residuals: np.ndarray
    false_picks: int
    n_picks: int


def _nearest(pick_times: np.ndarray, true_times: np.ndarray, window: float) -> np.ndarray:
    if pick_times.size == 0:
        return np.full(true_times.shape, np.nan)
    diff = pick_times[None, :] - true_times[:, None]
    best = diff[np.arange(len(true_times)), np.argmin(np.abs(diff), axis=1)]
    return np.where(np.abs(best) <= window, best, np.nan)


def _unmatched(pick_times: np.ndarray, true_times: np.ndarray, window: float) -> int:
    if true_times.size == 0:
        return int(pick_times.size)
    distance = np.min(np.abs(pick_times[:, None] - true_times[None, :]), axis=1)
    return int(np.sum(distance > window))


def score_picks(
    picks,
    p_times,
    s_times,
    *,
    p_tolerance: float = 0.1,
    s_tolerance: float = 0.2,
    match_window: float = 1.0,
) -> PickScores:
    """Compare ObsPy picks (``phase_hint`` "P"/"S") with true onset times.

    Args:
        picks: list of `obspy.core.event.Pick` (e.g. from `sjax.detect.pick`).
        p_times, s_times: true onsets as `obspy.UTCDateTime` (lists may be empty).
        p_tolerance, s_tolerance: |pick − true| counted as correct, in s (issue targets: P
            within 0.1 s, S within 0.2 s).
        match_window: a pick farther than this from every true arrival of its phase is false.

    Returns:
        `PickScores`. Fractions are NaN when there are no true arrivals of that phase.
    """
    if not 0 < p_tolerance <= match_window:
        raise ValueError(f"p_tolerance={p_tolerance} must lie in (0, match_window]")
    if not 0 < s_tolerance <= match_window:
        raise ValueError(f"s_tolerance={s_tolerance} must lie in (0, match_window]")
    reference = min([*p_times, *s_times, *(p.time for p in picks)], default=None)

    def seconds(times):
        return np.array([float(t - reference) for t in times], dtype=np.float64)

    scores = {}
    false_picks = n_picks = 0
    for phase, true, tolerance in (("P", p_times, p_tolerance), ("S", s_times, s_tolerance)):
        mine = seconds([p.time for p in picks if p.phase_hint == phase])
        truth = seconds(true)
        residuals = _nearest(mine, truth, match_window)
        within = np.abs(residuals) <= tolerance  # NaN compares False
        scores[phase] = (float(np.mean(within)) if truth.size else float("nan"), residuals)
        false_picks += _unmatched(mine, truth, match_window)
        n_picks += mine.size
    return PickScores(scores["P"][0], scores["S"][0], scores["P"][1], scores["S"][1],
                      false_picks, n_picks)  # fmt: skip
