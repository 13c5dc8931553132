"""Figures of a 4D-Var run: convergence traces and estimates with posterior error bars."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_convergence", "plot_estimates"]


def plot_convergence(ax, traces: dict) -> None:
    """Cost against iteration for each named `sjax.assim.optimize.OptimizeTrace` in ``traces``
    (log scale, offset by the smallest cost reached so convergence shows as a straight drop)."""
    floor = min(float(np.min(t.value)) for t in traces.values())
    for name, trace in traces.items():
        excess = np.asarray(trace.value) - floor
        ax.semilogy(np.arange(len(excess)), np.maximum(excess, 1e-12 * max(abs(floor), 1.0)),
                    marker="o", ms=3, label=name)  # fmt: skip
    ax.set_xlabel("iteration")
    ax.set_ylabel("J − min J")
    ax.set_title("convergence")
    ax.legend()


def plot_estimates(ax, names, truth, background, prior_std, estimate, posterior_std) -> None:
    """Each parameter's error ``(value − truth)/prior std`` for the background (± prior std)
    and the MAP estimate (± posterior std): one row per parameter."""
    truth, prior_std = np.asarray(truth), np.asarray(prior_std)
    rows = np.arange(len(names))
    ax.errorbar((np.asarray(background) - truth) / prior_std, rows + 0.12,
                xerr=np.ones_like(truth), fmt="s", color="0.55", capsize=3,
                label="background ± prior σ")  # fmt: skip
    ax.errorbar((np.asarray(estimate) - truth) / prior_std, rows - 0.12,
                xerr=np.asarray(posterior_std) / prior_std, fmt="o", color="C3", capsize=3,
                label="MAP ± posterior σ")  # fmt: skip
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(rows, [f"{n}\ntruth {t:g}" for n, t in zip(names, truth)])
    ax.invert_yaxis()
    ax.set_xlabel("(value − truth) / prior σ")
    ax.set_title("structure: background and 4D-Var estimate")
    ax.legend(loc="best", fontsize=8)
