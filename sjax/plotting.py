"""Matplotlib figures for wavefields and seismograms."""

from __future__ import annotations

import numpy as np

from sjax.media import LayeredMedium
from sjax.wave.grid import Grid

__all__ = ["plot_snapshot", "plot_record_section"]


def plot_snapshot(ax, field, grid: Grid, medium: LayeredMedium | None = None, *, title="",
                  clip: float = 0.5, source=None, receivers=None,
                  label: str | None = None):  # fmt: skip
    """Image of a ``(nz, nx)`` wavefield on the physical grid (km axes, symmetric colours
    clipped at ``clip`` × max), with layer interfaces, source (star) and receivers
    (triangles), and a colour bar labelled ``label`` (the component and its unit, e.g.
    ``"v_y (m/s)"``) unless ``label`` is None. Returns the image."""
    field = np.asarray(field)
    depth, width = grid.extent
    vmax = clip * float(np.max(np.abs(field))) or 1.0
    image = ax.imshow(field, cmap="seismic", vmin=-vmax, vmax=vmax, aspect="auto",
                      extent=(0, width / 1e3, depth / 1e3, 0))  # fmt: skip
    if medium is not None:
        for z in np.asarray(medium.interface_depths):
            ax.axhline(z / 1e3, color="k", lw=0.8, ls="--")
    if source is not None:
        ax.plot(float(source.x) / 1e3, float(source.z) / 1e3, "*", color="gold", ms=12, mec="k")
    if receivers is not None:
        ax.plot(np.asarray(receivers.x) / 1e3, np.asarray(receivers.z) / 1e3, "v", color="k",
                ms=4)  # fmt: skip
    ax.set(xlabel="x (km)", ylabel="depth (km)", title=title)
    if label is not None:
        ax.figure.colorbar(image, ax=ax, label=label, extend="both", shrink=0.9)
    return image


def plot_record_section(ax, traces, times, offsets, *, title="", scale: float = 0.8,
                        normalize: str = "trace", arrivals: dict | None = None):  # fmt: skip
    """Wiggle record section: ``traces`` ``(n_receiver, n_time)`` against offset (km), with
    peaks scaled to ``scale`` × the receiver spacing, per trace (``normalize="trace"``) or for
    the whole section (``"section"``, which shows the amplitude decay).

    ``arrivals`` overlays travel-time curves: ``{label: (n_receiver,) times in s}`` (NaN
    where a branch does not exist), e.g. from `sjax.wave.rays.travel_time_branches` plus the
    wavelet's peak delay."""
    if normalize not in ("trace", "section"):
        raise ValueError(f"normalize={normalize!r} must be 'trace' or 'section'")
    traces, offsets = np.asarray(traces), np.asarray(offsets) / 1e3
    spacing = np.min(np.diff(np.sort(offsets))) if len(offsets) > 1 else 1.0
    axis = -1 if normalize == "trace" else None
    norms = np.max(np.abs(traces), axis=axis, keepdims=True)
    norms = np.broadcast_to(np.where(norms > 0, norms, 1.0), (len(traces), 1))
    for trace, offset, norm in zip(traces, offsets, norms[:, 0]):
        wiggle = offset + scale * spacing * trace / norm
        ax.plot(wiggle, times, "k", lw=0.6)
        ax.fill_betweenx(times, offset, wiggle, where=wiggle > offset, color="k", lw=0)
    styles = ("--", "-.", ":", (0, (5, 1, 1, 1)))
    colours = ("C3", "C1", "C4", "C2", "C0", "C5")
    for k, (name, arrival) in enumerate((arrivals or {}).items()):
        ax.plot(offsets, np.asarray(arrival, float), ls=styles[k % len(styles)],
                color=colours[k % len(colours)], lw=1.4, label=name)  # fmt: skip
    if arrivals:
        ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    label = "trace-normalised" if normalize == "trace" else "true relative amplitude"
    ax.set(xlabel="x (km)", ylabel="time (s)", title=f"{title} ({label})",
           ylim=(times[-1], times[0]))  # fmt: skip
