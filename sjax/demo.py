"""`sjax demo`: the main job — one short run of every part of sjax, writing figures and a JSON
summary into an output folder. Each part is one function returning its summary dict."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sjax import __version__  # noqa: E402
from sjax.io import seismograms_to_stream  # noqa: E402
from sjax.media import LayeredMedium  # noqa: E402
from sjax.plotting import plot_record_section, plot_snapshot  # noqa: E402
from sjax.shard import describe_devices  # noqa: E402
from sjax.wave import (  # noqa: E402
    Grid, PointForce, Receivers, Ricker, explosion, simulate, stable_time_step,
)  # fmt: skip

__all__ = ["basin_medium", "wave_demo", "run_demo"]


def basin_medium() -> LayeredMedium:
    """Soft sediments over bedrock: 150 m and 300 m layers over a half-space."""
    return LayeredMedium(
        thickness=[150.0, 300.0],
        velocity_p=[1600.0, 2200.0, 4000.0],
        velocity_s=[400.0, 900.0, 2000.0],
        density=[1800.0, 2100.0, 2500.0],
    )


def wave_demo(out: Path, small: bool = False) -> dict:
    """SH and P-SV in `basin_medium`: snapshot + record-section PNGs, MiniSEED synthetics."""
    medium = basin_medium()
    spacing = 10.0 if small else 5.0
    width, depth, duration = (2000.0, 800.0, 2.0) if small else (3000.0, 1000.0, 3.0)
    grid = Grid(int(depth / spacing) + 1, int(width / spacing) + 1, spacing, spacing, 20)
    receivers = Receivers(np.linspace(100.0, width - 100.0, 30))
    wavelet = Ricker(2.5 if small else 4.0, origin_time=0.0)
    runs = {
        "sh": PointForce(500.0, 100.0, wavelet),
        "psv": explosion(500.0, 100.0, wavelet),
    }
    summary = {"grid": {"nz": grid.nz, "nx": grid.nx, "spacing_m": spacing,
                        "absorbing_width": grid.absorbing_width}}  # fmt: skip
    for wave, source in runs.items():
        start = time.perf_counter()
        dt = stable_time_step(medium, grid, wave=wave)
        every = max(1, round(duration / dt) // 20)  # 20 snapshots, also the progress steps
        result = simulate(medium, grid, source, receivers, duration=duration, dt=dt, wave=wave,
                          output="velocity", snapshot_every=every, progress=True)  # fmt: skip
        snaps = result.snapshots
        steps = len(result.times)
        seconds = time.perf_counter() - start
        component = -1  # y for SH, z for P-SV
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1.4, 1]})
        k = min(11, snaps.shape[0] - 1)  # about 60 % of the duration
        plot_snapshot(axes[0], snaps[k, component], grid, medium, source=source,
                      receivers=receivers,
                      title=f"{wave.upper()} velocity at t = {float(result.snapshot_times[k]):.2f} s")
        plot_record_section(axes[1], result.traces[:, component], np.asarray(result.times),
                            np.asarray(receivers.x),
                            title=f"{wave.upper()} record section ({'vy' if wave == 'sh' else 'vz'})")
        fig.tight_layout()
        fig.savefig(out / f"wave_{wave}.png", dpi=110)
        plt.close(fig)
        stream = seismograms_to_stream(result, receivers, wave)
        stream.write(str(out / f"wave_{wave}.mseed"), format="MSEED")
        cells = grid.shape[0] * grid.shape[1]
        summary[wave] = {
            "n_steps": steps, "dt_s": dt, "wall_time_s": round(seconds, 2),
            "cell_updates_per_s_incl_compile": cells * steps / seconds,
            "peak_velocity_m_s": float(np.max(np.abs(np.asarray(result.traces)))),
            "figure": f"wave_{wave}.png", "synthetics": f"wave_{wave}.mseed",
        }  # fmt: skip
    return summary


def run_demo(out_dir: str | Path = "sjax-demo-output", small: bool = False) -> dict:
    """Run every part's demo, write ``summary.json`` into ``out_dir`` and return it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"sjax": __version__, "jax": jax.__version__, "devices": describe_devices(),
               "small": small}  # fmt: skip
    summary["wave"] = wave_demo(out, small)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
