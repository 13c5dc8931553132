"""Matplotlib figures for aftershock fits and forecasts.

Every function draws on a given ``ax`` (or a new figure) and returns the `matplotlib.figure.Figure`;
none calls ``plt.show`` and none needs an interactive backend (works under Agg). Times are in
days since the main shock, magnitudes in magnitude units.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from sjax.aftershock.catalog import Catalog
from sjax.aftershock.forecast import Forecast, expected_count
from sjax.aftershock.likelihood import AftershockParams, log_time_quadrature
from sjax.aftershock.magnitudes import log_detected_magnitude_integral
from sjax.aftershock.omori import omori_log_rate

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
    partial=None,
    title: str | None = None,
    figsize=(9.0, 4.0),
):
    """Forecast counts with predictive intervals per (window, threshold), vs observed counts.

    One x position per (window, threshold) cell: the expected count (circle), the median
    (bar) and the ``forecast.level`` predictive interval (vertical line); observed counts as
    red crosses, hollow red squares where the catalogue covers the window only in part (the
    count is then a lower bound, and the tick label says "partial"). The count axis is
    logarithmic (symlog, so zero counts show) with head room above the largest value.

    Args:
        forecast: a `Forecast` with ``(W, H)`` arrays.
        observed: optional ``(W, H)`` counts (e.g. `observed_counts`; NaN: not observed).
        ax: optional Axes.
        partial: optional ``(W,)`` booleans, True where the catalogue ends inside the window.
        title: optional title; figsize: size of a new figure.

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
    partial = np.zeros(shape[0], bool) if partial is None else np.asarray(partial, bool)
    if partial.shape != shape[:1]:
        raise ValueError(f"partial must have shape {shape[:1]} (windows), got {partial.shape}")
    cell_partial = np.repeat(partial, shape[1])
    top = np.nanmax(upper)
    if observed is not None:
        observed = np.asarray(observed, float)
        if observed.shape != shape:
            raise ValueError(f"observed must have shape {shape} (windows, thresholds), got "
                             f"{observed.shape}")  # fmt: skip
        values = observed.ravel()
        full = ~cell_partial
        ax.scatter(x[full], values[full], marker="x", color="C3", s=50, zorder=4,
                   label="observed")  # fmt: skip
        if np.any(cell_partial):
            ax.scatter(x[cell_partial], values[cell_partial], marker="s", facecolor="none",
                       edgecolor="C3", s=45, zorder=4,
                       label="observed so far (catalogue ends inside the window)")  # fmt: skip
        if np.any(np.isfinite(values)):
            top = max(top, np.nanmax(values))
    windows = np.asarray(forecast.windows)
    thresholds = np.asarray(forecast.thresholds)
    labels = [f"[{s:g}, {e:g}] d\nM≥{m:g}" + ("\n(partial)" if part else "")
              for (s, e), part in zip(windows, partial) for m in thresholds]  # fmt: skip
    ax.set_xticks(x, labels, fontsize="small")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0, top=2.0 * top + 2.0)  # head room: no marker on the top edge
    ax.set_xlabel("window (days since main shock) and magnitude threshold")
    ax.set_ylabel("number of events")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the data
    return fig


def plot_rate(
    catalog: Catalog,
    params_draws: AftershockParams | None = None,
    ax=None,
    *,
    mu=None,
    magnitude_threshold: float | None = None,
    reference_magnitude: float | None = None,
    magnitude_bin: float = 0.0,
    n_grid: int = 200,
    level: float = 0.95,
    title: str | None = None,
    figsize=(7.0, 4.0),
):
    """Cumulative number of recorded events vs time, against the model's expected count.

    With ``params_draws``, ``magnitude_threshold`` and ``reference_magnitude`` the model's
    cumulative count from ``catalog.start`` is drawn (median over draws and a ``level`` band of
    the expectation) and the data curve counts only events with M ≥ ``magnitude_threshold``.
    With ``mu`` (the fitted μ(t)) the model curve is the expected number of *recorded* events,
    ``∫ k (t+c)^(−p) G(μ(t)) dt``, which is what the data curve measures; the expected number
    of *true* events (every event detected) is drawn as a second, dashed line. Without ``mu``
    only the true-event curve can be drawn, and it lies above the data wherever detection is
    incomplete (the first hours).

    Args:
        catalog: `Catalog` of recorded events.
        params_draws: optional `AftershockParams`, scalar or ``(S,)`` fields.
        ax: optional Axes.
        mu: optional vectorised callable ``(m,)`` times in days → μ(t) (magnitude units), e.g.
            ``FitResult.mu`` or an interpolant of a state-space/GP μ(t).
        magnitude_threshold: M_th (true magnitude) for data and model (default: all recorded
            events, no model).
        reference_magnitude: Mref of the fit (needed with ``params_draws``).
        magnitude_bin: rounding of the catalogue's magnitudes: the data curve counts reported
            magnitudes ≥ M_th + bin/2 (the model's true M_th; see ``sjax aftershock``).
        n_grid: number of log-spaced time points of the model curve.
        level: probability of the band over draws.
        title, figsize: as above.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    times, mags = np.asarray(catalog.times), np.asarray(catalog.magnitudes)
    if magnitude_threshold is not None:
        reported = magnitude_threshold + 0.5 * magnitude_bin
        times = times[mags >= reported - 1e-9]
    fig, ax = _axes(ax, figsize)
    what = "recorded" if magnitude_threshold is None else (
        f"recorded, M ≥ {magnitude_threshold + 0.5 * magnitude_bin:g}")  # fmt: skip
    ax.step(times, np.arange(1, times.size + 1), where="post", color="0.2", label=what)
    if params_draws is not None:
        if magnitude_threshold is None or reference_magnitude is None:
            raise ValueError("params_draws needs magnitude_threshold and reference_magnitude")
        start, end = float(catalog.start), float(catalog.end)
        first = times[0] if times.size and times[0] > start else start + 1e-3 * (end - start)
        grid = np.geomspace(max(first, 1e-6), end, n_grid)
        params = AftershockParams(*(jnp.atleast_1d(jnp.asarray(x)) for x in params_draws))
        alpha = 0.5 * (1.0 - level)
        true_counts = np.asarray(expected_count(
            params, start, jnp.asarray(grid)[:, None], magnitude_threshold,
            reference_magnitude=reference_magnitude,
        ))  # fmt: skip
        if mu is None:
            counts, kind = true_counts, "true events (detection not modelled)"
        else:
            counts = np.asarray(_expected_recorded(params, mu, start, grid, magnitude_threshold,
                                                   reference_magnitude))  # fmt: skip
            kind = "recorded events (with detection)"
        ax.fill_between(grid, np.quantile(counts, alpha, axis=1),
                        np.quantile(counts, 1.0 - alpha, axis=1), color="C0", alpha=0.25, lw=0,
                        label=f"model, {100 * level:g} % band")  # fmt: skip
        ax.plot(grid, np.median(counts, axis=1), color="C0", lw=2, label=f"model, {kind}")
        if mu is not None:
            ax.plot(grid, np.median(true_counts, axis=1), color="C1", lw=1.5, ls="--",
                    label="model, true events (all detected)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("time since main shock (days)")
    ax.set_ylabel("cumulative number of events")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return fig


def _expected_recorded(params, mu, start, grid, threshold, reference_magnitude, order=8):
    """``(n_grid, S)`` expected recorded counts with M ≥ ``threshold`` on ``[start, grid_j]``
    for each of the ``S`` parameter draws.

    Every draw shares the quadrature nodes, so μ(t) is evaluated once per node (not once per
    node, interval and draw) and the compiled sum depends only on array sizes, not on the data:
    ``[start, grid_0]`` by `log_time_quadrature` in ``ln(t + c_min)`` (``c_min`` the smallest
    Omori c of the draws; 4 panels of 16 points), each later ``[grid_{j−1}, grid_j]`` by an
    ``order``-point Gauss–Legendre rule in ln t; the cumulative sum gives the curve."""
    grid = jnp.asarray(grid)
    c_min = jnp.min(jnp.atleast_1d(params.c))
    first_nodes, first_weights = log_time_quadrature(start, grid[0], c_min, 4, 16)
    x, w = np.polynomial.legendre.leggauss(order)
    lo, hi = jnp.log(grid[:-1])[:, None], jnp.log(grid[1:])[:, None]
    nodes = jnp.exp(0.5 * (hi + lo) + 0.5 * (hi - lo) * x)  # (n_grid − 1, order)
    weights = 0.5 * (hi - lo) * w * nodes  # dt = t d(ln t)
    first = (first_nodes, first_weights, mu(first_nodes))
    rest = (nodes, weights, mu(nodes.ravel()).reshape(nodes.shape))
    return _cumulative_recorded(params, first, rest, reference_magnitude, threshold)


@functools.partial(jax.jit, static_argnames="threshold")
def _cumulative_recorded(params, first, rest, reference_magnitude, threshold):
    """``(n_grid, S)``: per draw, the first interval's sum, then the cumulative sums over the
    later intervals, of ``weights · k (t+c)^(−p) G(μ)`` (``first``/``rest``: nodes, weights
    and μ at the nodes; ``(m,)`` and ``(n_grid − 1, order)``)."""

    def integrand(draw, nodes, mu_nodes):
        log_g = log_detected_magnitude_integral(mu_nodes, draw.b, draw.sigma,
                                                reference_magnitude, threshold)  # fmt: skip
        return jnp.exp(omori_log_rate(nodes, draw.k, draw.c, draw.p) + log_g)

    def one(draw):
        head = jnp.sum(first[1] * integrand(draw, first[0], first[2]))
        pieces = jnp.sum(rest[1] * integrand(draw, rest[0], rest[2]), axis=1)
        return jnp.cumsum(jnp.concatenate([head[None], pieces]))

    return jax.vmap(one, out_axes=1)(params)
