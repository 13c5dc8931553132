"""Matplotlib figures for aftershock fits and forecasts.

Every function draws on a given ``ax`` (or a new figure) and returns the `matplotlib.figure.Figure`;
none calls ``plt.show`` and none needs an interactive backend (works under Agg). Times are in
days since the main shock, magnitudes in magnitude units.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sjax.aftershock.catalog import Catalog
from sjax.aftershock.forecast import Forecast, expected_count
from sjax.aftershock.likelihood import AftershockParams

__all__ = ["plot_detection_magnitude", "plot_forecast", "plot_rate"]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def plot_detection_magnitude(
    times,
    mu,
    lower=None,
    upper=None,
    catalog: Catalog | None = None,
    ax=None,
    *,
    completeness=None,
    label: str = "μ(t): 50 % detection",
    band_label: str = "credible band",
    title: str | None = None,
    figsize=(7.0, 4.0),
):
    """The "magnitude needed for 50 % detection" figure.

    Event magnitudes vs log time (scatter), μ(t) as a line with an optional credible band and
    an optional completeness curve M_c(t) (e.g. `completeness_magnitude`).

    Args:
        times: ``(m,)`` grid in days since the main shock (> 0; log axis).
        mu: ``(m,)`` μ(t) on the grid (magnitude units), e.g. a posterior median.
        lower, upper: optional ``(m,)`` band limits of μ(t) (e.g. 2.5 % / 97.5 % quantiles).
        catalog: optional `Catalog` whose events (t_i, M_i) are scattered (t_i > 0).
        ax: optional matplotlib Axes to draw on.
        completeness: optional ``(m,)`` M_c(t) on the grid, drawn dashed.
        label, band_label, title: legend texts and axes title.
        figsize: size of a new figure (inches).

    Returns:
        The `matplotlib.figure.Figure`.
    """
    times = np.asarray(times, dtype=float)
    mu = np.asarray(mu, dtype=float)
    if times.ndim != 1 or mu.shape != times.shape:
        raise ValueError(f"times and mu must be 1-D of equal length, got {times.shape}, {mu.shape}")
    if np.any(times <= 0):
        raise ValueError("times must be > 0 days for the logarithmic time axis")
    fig, ax = _axes(ax, figsize)
    if catalog is not None:
        t, m = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
        keep = t > 0
        ax.scatter(t[keep], m[keep], s=6, color="0.45", alpha=0.6, lw=0, label="recorded events")
    if lower is not None and upper is not None:
        ax.fill_between(times, np.asarray(lower, float), np.asarray(upper, float),
                        color="C0", alpha=0.25, lw=0, label=band_label)  # fmt: skip
    ax.plot(times, mu, color="C0", lw=2, label=label)
    if completeness is not None:
        ax.plot(times, np.asarray(completeness, float), color="C3", lw=1.5, ls="--",
                label="M_c(t) (98 % detection)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("time since main shock (days)")
    ax.set_ylabel("magnitude")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_forecast(
    forecast: Forecast,
    observed=None,
    ax=None,
    *,
    title: str | None = None,
    figsize=(7.0, 4.0),
):
    """Forecast counts with predictive intervals per (window, threshold), vs observed counts.

    One x position per (window, threshold) cell: the expected count (circle), the median
    (bar) and the ``forecast.level`` predictive interval (vertical line); observed counts as
    red crosses. The count axis is logarithmic (symlog, so zero counts show).

    Args:
        forecast: a `Forecast` with ``(W, H)`` arrays.
        observed: optional ``(W, H)`` counts (e.g. `observed_counts`).
        ax: optional Axes; title: optional title; figsize: size of a new figure.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    expected = np.asarray(forecast.expected, float)
    shape = expected.shape
    fig, ax = _axes(ax, figsize)
    x = np.arange(expected.size)
    lower = np.asarray(forecast.lower, float).ravel()
    upper = np.asarray(forecast.upper, float).ravel()
    ax.vlines(x, lower, upper, color="C0", lw=3, alpha=0.5,
              label=f"{100 * forecast.level:g} % predictive interval")  # fmt: skip
    ax.scatter(x, np.asarray(forecast.median, float).ravel(), marker="_", s=150, color="C0",
               label="median")  # fmt: skip
    ax.scatter(x, expected.ravel(), marker="o", color="C0", facecolor="white", zorder=3,
               label="expected")  # fmt: skip
    if observed is not None:
        observed = np.asarray(observed, float)
        if observed.shape != shape:
            raise ValueError(f"observed must have shape {shape} (windows, thresholds), got "
                             f"{observed.shape}")  # fmt: skip
        ax.scatter(x, observed.ravel(), marker="x", color="C3", s=50, zorder=4, label="observed")
    windows = np.asarray(forecast.windows)
    thresholds = np.asarray(forecast.thresholds)
    labels = [f"[{s:g}, {e:g}] d\nM≥{m:g}" for s, e in windows for m in thresholds]
    ax.set_xticks(x, labels, fontsize="small")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("window (days since main shock) and magnitude threshold")
    ax.set_ylabel("number of events")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def plot_rate(
    catalog: Catalog,
    params_draws: AftershockParams | None = None,
    ax=None,
    *,
    magnitude_threshold: float | None = None,
    reference_magnitude: float | None = None,
    n_grid: int = 200,
    level: float = 0.95,
    title: str | None = None,
    figsize=(7.0, 4.0),
):
    """Cumulative number of recorded events vs time, optionally with the model's true count.

    With ``params_draws`` (and ``magnitude_threshold`` and ``reference_magnitude``), the
    model's expected cumulative number of *true* events with M ≥ ``magnitude_threshold`` from
    ``catalog.start`` is drawn (median over draws and a ``level`` band of the expectation);
    the data curve then counts only events with M ≥ ``magnitude_threshold``. Choose it above
    the completeness magnitude for a like-for-like comparison.

    Args:
        catalog: `Catalog` of recorded events.
        params_draws: optional `AftershockParams`, scalar or ``(S,)`` fields.
        ax: optional Axes.
        magnitude_threshold: M_th for data and model (default: all recorded events, no model).
        reference_magnitude: Mref of the fit (needed with ``params_draws``).
        n_grid: number of log-spaced time points of the model curve.
        level: probability of the band over draws.
        title, figsize: as above.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    if magnitude_threshold is not None:
        keep = mags >= magnitude_threshold
        times = times[keep]
    fig, ax = _axes(ax, figsize)
    what = "recorded" if magnitude_threshold is None else f"recorded, M ≥ {magnitude_threshold:g}"
    ax.step(times, np.arange(1, times.size + 1), where="post", color="0.2", label=what)
    if params_draws is not None:
        if magnitude_threshold is None or reference_magnitude is None:
            raise ValueError("params_draws needs magnitude_threshold and reference_magnitude")
        start, end = float(catalog.start), float(catalog.end)
        first = max(start, 1e-3 * (end - start)) if start == 0 else start
        grid = np.geomspace(first, end, n_grid) if first > 0 else np.linspace(start, end, n_grid)
        params = AftershockParams(*(jnp.atleast_1d(jnp.asarray(x)) for x in params_draws))
        counts = np.asarray(expected_count(
            params, start, jnp.asarray(grid)[:, None], magnitude_threshold,
            reference_magnitude=reference_magnitude,
        ))  # fmt: skip
        alpha = 0.5 * (1.0 - level)
        ax.fill_between(grid, np.quantile(counts, alpha, axis=1),
                        np.quantile(counts, 1.0 - alpha, axis=1), color="C0", alpha=0.25, lw=0,
                        label=f"model, {100 * level:g} % band")  # fmt: skip
        ax.plot(grid, np.median(counts, axis=1), color="C0", lw=2, label="model (true events)")
    ax.set_xscale("log")
    ax.set_xlabel("time since main shock (days)")
    ax.set_ylabel("cumulative number of events")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return fig
