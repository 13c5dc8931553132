"""Figures of an inversion and imaging run: chain traces, swap diagnostics, posterior pairs,
reconstructed traces and wavefield images against kriging, and selected stations."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_chains", "plot_swap_rates", "plot_corner", "plot_reconstructed_trace",
           "plot_wavefield_images", "plot_station_line"]  # fmt: skip


def plot_chains(axes, samples, names, truth=None) -> None:
    """One panel per parameter: the cold chain ``samples`` ``(n_sample, n_parameter)`` against
    sample index, with the true value dashed."""
    samples = np.asarray(samples)
    for i, (ax, name) in enumerate(zip(np.ravel(axes), names)):
        ax.plot(samples[:, i], lw=0.6, color="C0")
        if truth is not None:
            ax.axhline(float(np.asarray(truth)[i]), color="k", ls="--", lw=1.0)
        ax.set_ylabel(name, fontsize=8)
    np.ravel(axes)[-1].set_xlabel("sample")


def plot_swap_rates(ax, swap_rate, ladder) -> None:
    """Exchange acceptance between neighbouring replicas (``(R−1,)``) against the pair's
    inverse temperatures (``ladder``, ``(R,)``)."""
    ladder, swap_rate = np.asarray(ladder), np.asarray(swap_rate)
    centres = np.sqrt(np.maximum(ladder[:-1], 1e-12) * ladder[1:])
    ax.semilogx(centres, swap_rate, "o-")
    ax.set_ylim(0, 1)
    ax.set_xlabel("inverse temperature η (pair's geometric mean)")
    ax.set_ylabel("swap acceptance")
    ax.set_title("replica exchange rates")


def plot_corner(fig, samples, names, truth=None, *, bins: int = 30) -> None:
    """A corner plot of ``samples`` ``(n_sample, n_parameter)`` on a new grid of axes in
    ``fig``: histograms on the diagonal, pairwise scatter below, truth as lines/stars."""
    samples = np.asarray(samples)
    d = samples.shape[1]
    axes = fig.subplots(d, d, squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(samples[:, i], bins=bins, color="C0", histtype="stepfilled", alpha=0.7)
                if truth is not None:
                    ax.axvline(float(truth[i]), color="k", ls="--")
                ax.set_yticks([])
            else:
                ax.plot(samples[:, j], samples[:, i], ".", ms=1.5, alpha=0.4, color="C0")
                if truth is not None:
                    ax.plot(truth[j], truth[i], "*", color="k", ms=9)
            if i == d - 1:
                ax.set_xlabel(names[j], fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=8)
            elif j > 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)


def plot_reconstructed_trace(ax, times, band, truth, kriged=None, *, point: int = 0,
                             title: str = "") -> None:  # fmt: skip
    """The true trace at a point without a station, the posterior mean with its credible band
    (a `sjax.imaging.WavefieldBand`), and optionally the kriged trace."""
    lower, upper = np.asarray(band.lower)[point, 0], np.asarray(band.upper)[point, 0]
    ax.fill_between(times, lower, upper, color="C0", alpha=0.3,
                    label=f"{band.level:.0%} band")  # fmt: skip
    ax.plot(times, np.asarray(band.mean)[point, 0], color="C0", label="REMC posterior mean")
    ax.plot(times, np.asarray(truth)[point, 0], "k--", lw=1.0, label="truth")
    if kriged is not None:
        ax.plot(times, np.asarray(kriged)[point, 0], color="C3", lw=0.9, label="kriging")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("displacement (m)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper right")


def plot_wavefield_images(axes, positions, times, fields: dict, *, stations=None) -> None:
    """x–t images of surface wavefields, one panel per entry of ``fields`` (name → ``(n_point,
    n_time)``), on a shared colour scale; station positions as triangles."""
    positions = np.asarray(positions)
    scale = max(float(np.max(np.abs(f))) for f in fields.values())
    extent = (positions[0], positions[-1], times[-1], times[0])
    for ax, (name, field) in zip(np.ravel(axes), fields.items()):
        image = ax.imshow(np.asarray(field).T, aspect="auto", extent=extent, cmap="seismic",
                          vmin=-scale, vmax=scale, interpolation="nearest")  # fmt: skip
        if stations is not None:
            ax.plot(stations, np.full(len(stations), times[0]), "v", color="k", ms=5,
                    clip_on=False)  # fmt: skip
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("x (m)")
    np.ravel(axes)[0].set_ylabel("time (s)")
    np.ravel(axes)[0].figure.colorbar(image, ax=list(np.ravel(axes)), label="displacement (m)",
                                      shrink=0.8)  # fmt: skip


def plot_station_line(ax, stations, selected, *, targets=None, source=None,
                      title: str = "") -> None:  # fmt: skip
    """Stations along the line (all grey, ``selected`` filled), held-out targets and the
    source epicentre."""
    stations = np.asarray(stations)
    ax.plot(stations, np.zeros_like(stations), "v", color="0.7", ms=9, label="stations")
    ax.plot(stations[np.asarray(selected)], np.zeros(len(selected)), "v", color="C3", ms=9,
            label="selected")  # fmt: skip
    if targets is not None:
        ax.plot(targets, np.zeros_like(np.asarray(targets)), "x", color="C0", ms=8,
                label="targets (no station)")  # fmt: skip
    if source is not None:
        ax.plot(source, 0.0, "*", color="k", ms=12, label="epicentre")
    ax.set_yticks([])
    ax.set_xlabel("x (m)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.35))
