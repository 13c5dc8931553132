"""`sjax demo`: the main job — one short run of every part of sjax, writing figures and a JSON
summary into an output folder. Each part is one function returning its summary dict:

- `wave_demo`: SH and P-SV wavefields in a sedimentary basin (figures, MiniSEED);
- `aftershock_demo`: the Ridgecrest 2019 forecast of ``sjax aftershock`` (figures, table);
- `assim_demo`: a 4D-Var twin experiment — layer S velocities and a thickness from noisy
  seismograms, Newton–CG on second-order-adjoint Hessian products, posterior error bars;
- `remc_demo`: replica-exchange inversion of a layered SH twin, the wavefield imaged where
  there are no stations (with a 95 % band) against kriging, and D-optimal station selection;
- `detect_demo`: the published GPD and EQTransformer on real recordings shipped with ObsPy
  (QuakeML; P onsets counted), the synthetic-trained GPD on synthetic continuous data (scored),
  and the tremor ResNet with Grad-CAM on a synthetic drum-record page.
"""

from __future__ import annotations

import glob
import json
import sys
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import obspy

from sjax import __version__
from sjax.io import seismograms_to_stream
from sjax.media import LayeredMedium
from sjax.plotting import plot_record_section, plot_snapshot
from sjax.shard import describe_devices
from sjax.wave import Grid, PointForce, Receivers, Ricker, explosion, simulate, stable_time_step
from sjax.wave.rays import travel_time_branches

__all__ = ["aftershock_demo", "assim_demo", "basin_medium", "detect_demo", "format_summary",
           "remc_demo", "run_demo", "wave_demo"]


def basin_medium() -> LayeredMedium:
    """Soft sediments over bedrock: 150 m and 300 m layers over a half-space."""
    return LayeredMedium(
        thickness=[150.0, 300.0],
        velocity_p=[1600.0, 2200.0, 4000.0],
        velocity_s=[400.0, 900.0, 2000.0],
        density=[1800.0, 2100.0, 2500.0],
    )


#: Origin time of the demo's synthetic event (sample 0 of the MiniSEED synthetics).
DEMO_ORIGIN_TIME = "2026-01-01T00:00:00"


def _arrivals(medium, source, receivers, wave) -> dict:
    """Ray-theory direct and head-wave times (plus the Ricker's peak delay) for the record
    section: S for SH, P and direct S for P-SV."""
    offsets = np.abs(np.asarray(receivers.x) - float(source.x))
    geometry = (np.asarray(medium.thickness), float(source.z), offsets)
    s_waves = travel_time_branches(medium.velocity_s, *geometry)
    if wave == "sh":
        curves = {f"S {branch}": times for branch, times in s_waves.items()}
    else:
        p_waves = travel_time_branches(medium.velocity_p, *geometry)
        curves = {**{f"P {branch}": times for branch, times in p_waves.items()},
                  "S direct": s_waves["direct"]}  # fmt: skip
    lag = float(source.wavelet.lag)
    return {name: times + lag for name, times in curves.items()}


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
        name = "v_y" if wave == "sh" else "v_z (down)"
        label = "SH" if wave == "sh" else "P-SV"
        fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), gridspec_kw={"width_ratios": [1.5, 1]})
        k = min(11, snaps.shape[0] - 1)  # about 60 % of the duration
        when = float(result.snapshot_times[k])
        plot_snapshot(axes[0], snaps[k, component], grid, medium, source=source,
                      receivers=receivers, label=f"{name} (m/s)",
                      title=f"{label} particle velocity {name}, t = {when:.2f} s")  # fmt: skip
        plot_record_section(axes[1], result.traces[:, component], np.asarray(result.times),
                            np.asarray(receivers.x),
                            arrivals=_arrivals(medium, source, receivers, wave),
                            title=f"{label} record section, {name}")  # fmt: skip
        fig.tight_layout()
        fig.savefig(out / f"wave_{wave}.png", dpi=110)
        plt.close(fig)
        stream = seismograms_to_stream(result, receivers, wave, source=source,
                                       quantity="velocity", starttime=DEMO_ORIGIN_TIME)  # fmt: skip
        stream.write(str(out / f"wave_{wave}.mseed"), format="MSEED")
        cells = grid.shape[0] * grid.shape[1]
        summary[wave] = {
            "n_steps": steps, "dt_s": dt, "wall_time_s": round(seconds, 2),
            "cell_updates_per_s_incl_compile": cells * steps / seconds,
            "peak_velocity_m_s": float(np.max(np.abs(np.asarray(result.traces)))),
            "figure": f"wave_{wave}.png", "synthetics": f"wave_{wave}.mseed",
        }  # fmt: skip
    return summary


def _round(x, digits=4):
    return None if x is None else float(f"{x:.{digits}g}")


def aftershock_demo(out: Path, small: bool = False) -> dict:
    """``sjax aftershock ridgecrest``: state-space fit on the first day, forecasts for days
    1–2 and 2–7 (M ≥ 3, 4, 5) against the observed counts.

    Writes ``aftershock_{mu,forecast,rate}.png``, ``aftershock_forecast.json`` and
    ``aftershock_forecast.txt`` (the printed parameters and table). ``small`` changes nothing:
    the run (~30 s on 2 cores) is mostly compilation, so a shorter learning window saves
    little, and the state-space fit on the first 6 hours does not converge.
    """
    from sjax.cli import aftershock_forecast

    del small
    learn = (0.0, 1.0)
    lines = []
    start = time.perf_counter()
    result = aftershock_forecast(
        "ridgecrest", learn=learn, forecast_windows=[(1.0, 2.0), (2.0, 7.0)],
        thresholds=(3.0, 4.0, 5.0), model="state_space", n_draws=1000, seed=0, out=out,
        prefix="aftershock_", echo=lines.append,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    (out / "aftershock_forecast.txt").write_text("\n".join(lines) + "\n")
    fc = result["forecast"]
    return {
        "catalog": "Ridgecrest 2019 (ComCat, M >= 2.5)", "model": result["model"],
        "learn_days": result["learn_days"], "n_learn_events": result["n_learn_events"],
        "converged": result["converged"],
        "parameters": {n: [_round(v["estimate"]), _round(v["standard_error"])]
                       for n, v in result["parameters"].items()},
        "windows_days": fc["windows"], "thresholds": fc["thresholds"],
        "expected": [[_round(x) for x in row] for row in fc["expected"]],
        "interval_95": [list(map(list, zip(lo, hi))) for lo, hi in zip(fc["lower"], fc["upper"])],
        "prob_at_least_one": [[round(x, 4) for x in row] for row in fc["prob_at_least_one"]],
        "observed": result["observed"], "observed_through_days": result["observed_through_days"],
        "wall_time_s": round(seconds, 2), "fit_seconds": result["fit_seconds"],
        "figures": [result["figures"][k] for k in ("mu", "forecast", "rate")],
        "table": "aftershock_forecast.txt", "json": result["file"],
    }  # fmt: skip


def _tremor_page_figure(path: Path, key) -> dict:
    """One synthetic drum page with tremor: the page-level Grad-CAM map (`page_grad_cam`,
    stage 3, overlapping crops) next to the true tremor mask, with the crop probabilities."""
    from flax import nnx

    from sjax.detect import drum_pages, localisation_scores, page_grad_cam
    from sjax.detect.pretrained import pretrained_tremor_resnet

    model = pretrained_tremor_resnet()
    pages = drum_pages(key, 1, tremor_probability=1.0)
    explained = nnx.jit(page_grad_cam, static_argnames="layer")(model, pages.images,
                                                                 layer="stage3")  # fmt: skip
    page, heat = np.asarray(pages.images[0]), np.asarray(explained.heatmaps[0])
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), sharey=True)
    axes[0].imshow(page, cmap="gray_r", vmin=0, vmax=1)
    axes[0].contour(np.asarray(pages.tremor_mask[0]), levels=[0.5], colors="tab:red",
                    linewidths=0.6)  # fmt: skip
    axes[0].set_title("synthetic drum page, true tremor mask (red)")
    axes[1].imshow(page, cmap="gray_r", vmin=0, vmax=1)
    axes[1].imshow(heat, cmap="inferno", alpha=0.5, vmin=0, vmax=1)
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    axes[1].plot(peak[1], peak[0], "c+", markersize=14, markeredgewidth=2)
    probability = float(explained.probability[0])
    axes[1].set_title(f"ResNet P(tremor) = {probability:.2f}; page Grad-CAM (stage 3), peak +")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    hit = localisation_scores(explained.heatmaps, pages.tremor_mask).pointing_hit[0]
    return {"tremor_probability": round(probability, 4), "gradcam_peak_in_mask": bool(hit)}


def detect_demo(out: Path, small: bool = False) -> dict:
    """The published pickers (GPD of Ross et al. 2018, EQTransformer of Mousavi et al. 2020) on
    real recordings that ship with ObsPy (``sjax detect rjob`` / ``uh3`` → QuakeML; the P picks
    counted against the onsets), the synthetic-trained GPD on 5 min of synthetic continuous data
    with known onsets (picks scored), and the tremor ResNet with Grad-CAM on one synthetic drum
    page. Writes ``detect_*`` files into ``out``."""
    from sjax.detect import GPD_TRIGGER_ON, annotate, pick, score_picks, synthetic_continuous
    from sjax.detect.pipeline import UH3_PATTERN, detect_stream, plot_annotation
    from sjax.detect.pretrained import pretrained_gpd

    del small  # already small: about 40 s, mostly compilation
    start = time.perf_counter()
    real = {}
    sources = ["rjob"] + (["uh3"] if glob.glob(UH3_PATTERN) else [])
    for name in ("gpd", "eqt"):
        summary = detect_stream(sources, model=name, out=out / f"detect_real_{name}",
                                echo=lambda line: None)  # fmt: skip
        p_times = [obspy.UTCDateTime(r["time"]) for r in summary["picks"] if r["phase"] == "P"]
        onsets = [obspy.UTCDateTime(t) for t in _REAL_P_ONSETS[: 1 + 3 * ("uh3" in sources)]]
        hits = sum(any(abs(t - onset) <= 0.2 for t in p_times) for onset in onsets)
        real[name] = {"p_onsets_picked": f"{hits}/{len(onsets)}", "picks": len(summary["picks"]),
                      "folder": f"detect_real_{name}"}  # fmt: skip
    model = pretrained_gpd("synthetic")
    key = jax.random.key(2024)
    record = synthetic_continuous(jax.random.fold_in(key, 0), 300.0, snr=(5.0, 20.0))
    probabilities = annotate(model, record.stream, model_name="gpd_synthetic")
    picks = pick(probabilities, threshold_on=GPD_TRIGGER_ON)
    scores = score_picks(picks, record.p_times, record.s_times)
    first_minute = record.stream.slice(endtime=record.stream[0].stats.starttime + 60)
    plot_annotation(first_minute, probabilities.slice(endtime=first_minute[0].stats.endtime),
                    [p for p in picks if p.time <= first_minute[0].stats.endtime],
                    out / "detect_synthetic.png")  # fmt: skip
    tremor = _tremor_page_figure(out / "detect_tremor_page.png", jax.random.fold_in(key, 1))
    return {
        "real": real,
        "synthetic": {"events": len(record.p_times), "p_within_0.1s": scores.p_within,
                      "s_within_0.2s": scores.s_within, "false_picks": scores.false_picks,
                      "figure": "detect_synthetic.png"},
        "tremor_page": {**tremor, "figure": "detect_tremor_page.png"},
        "wall_time_s": round(time.perf_counter() - start, 2),
    }  # fmt: skip


# P onsets of ObsPy's RJOB and BW.UH3 recordings (STA/LTA + AIC, ± 0.05 s; tests/detect)
_REAL_P_ONSETS = ("2009-08-24T00:20:07.72", "2010-05-27T16:24:33.15", "2010-05-27T16:25:26.61",
                  "2010-05-27T16:27:30.42")  # fmt: skip


def assim_demo(out: Path, small: bool = False) -> dict:
    """The layered SH twin of `sjax.assim.twin`: Newton–CG and L-BFGS from the background,
    posterior standard deviations by CG on Hessian products, and the symplectic-vs-direct
    gradient agreement; writes ``assim_twin.png``."""
    import equinox as eqx
    import jax.numpy as jnp

    from sjax.assim import DirectAdjoint, hvp
    from sjax.assim.optimize import lbfgs, minimize, newton_cg
    from sjax.assim.plots import plot_convergence, plot_estimates
    from sjax.assim.posterior import posterior_std
    from sjax.assim.twin import TWIN_PARAMETERS, layered_twin, twin_realisation

    start = time.perf_counter()
    with jax.enable_x64(True):  # Hessians and CG want float64
        twin = layered_twin(duration=0.5 if small else 0.7)
        key = jax.random.key(0)
        cost, background = twin_realisation(twin, key)
        solver = newton_cg(jax.value_and_grad(cost), lambda z, v: hvp(cost, z, v),
                           cg_max_iterations=4)  # fmt: skip
        newton = minimize(solver, background, max_iterations=30, tolerance=1e-8, progress=True)
        quasi = minimize(lbfgs(jax.value_and_grad(cost)), background, max_iterations=100,
                         tolerance=1e-6, progress=True)  # fmt: skip
        std = np.asarray(posterior_std(cost, newton.params))
        direct, _ = twin_realisation(twin, key, adjoint=DirectAdjoint())
        g_symplectic = eqx.filter_jit(jax.grad(cost))(newton.params)
        g_direct = eqx.filter_jit(jax.grad(direct))(newton.params)
        agreement = float(jnp.linalg.norm(g_symplectic - g_direct) / jnp.linalg.norm(g_direct))
    estimate = np.asarray(newton.params)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    plot_convergence(axes[0], {"Newton–CG (second-order adjoint)": newton.trace,
                               "L-BFGS": quasi.trace})  # fmt: skip
    plot_estimates(axes[1], TWIN_PARAMETERS, twin.truth, np.asarray(background), twin.prior_std,
                   estimate, std)  # fmt: skip
    fig.tight_layout()
    fig.savefig(out / "assim_twin.png", dpi=110)
    plt.close(fig)
    return {
        "parameters": list(TWIN_PARAMETERS),
        "truth": twin.truth.tolist(), "background": np.asarray(background).tolist(),
        "estimate": estimate.tolist(), "posterior_std": std.tolist(),
        "error_in_posterior_std": ((estimate - twin.truth) / std).tolist(),
        "newton_iterations": int(newton.n_iterations), "newton_converged": bool(newton.converged),
        "lbfgs_iterations": int(quasi.n_iterations), "lbfgs_converged": bool(quasi.converged),
        "symplectic_vs_direct_gradient_relative_difference": agreement,
        "figure": "assim_twin.png", "wall_time_s": round(time.perf_counter() - start, 2),
    }  # fmt: skip


def remc_demo(out: Path, small: bool = False) -> dict:
    """The layered SH twin of `sjax.imaging.imaging_twin` (two layers over bedrock, 12
    stations): replica exchange, the wavefield at points without stations against kriging, and
    D-optimal stations; writes ``remc_posterior.png`` and ``remc_wavefield.png``."""
    from sjax.imaging import imaging_twin, twin_experiment
    from sjax.imaging.plots import (
        plot_corner, plot_reconstructed_trace, plot_station_line, plot_swap_rates,
        plot_wavefield_images,
    )  # fmt: skip

    start = time.perf_counter()
    import jax.numpy as jnp

    with jax.enable_x64(True):  # float32 twin (the sampler's fast path), float64 kriging
        twin = imaging_twin(jax.random.key(0), dtype=jnp.float32)
        sweeps = 400 if small else 1500
        result = twin_experiment(jax.random.key(1), twin, n_warmup=sweeps, n_samples=sweeps,
                                 progress=True)  # fmt: skip
    names = [n.replace("velocity_s_", "β").replace("thickness_", "h") for n in twin.space.names]
    fig = plt.figure(figsize=(9, 9))
    plot_corner(fig, result.inversion.samples, names, np.asarray(twin.truth))
    fig.suptitle("REMC posterior of the layered structure (★ truth)")
    fig.savefig(out / "remc_posterior.png", dpi=100)
    plt.close(fig)

    times = np.arange(twin.observed.shape[-1]) * twin.dt
    fig = plt.figure(figsize=(13, 8.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.5, 1], hspace=0.4)
    images = [fig.add_subplot(grid[0, i]) for i in range(4)]
    plot_wavefield_images(images, result.image_x, times, {
        "truth": result.image_truth, "REMC posterior mean": result.image_mean,
        "ordinary kriging": result.image_kriged, "95 % band width": result.image_width,
    }, stations=np.asarray(twin.stations.x))  # fmt: skip
    plot_reconstructed_trace(fig.add_subplot(grid[1, :2]), times, result.targets,
                             twin.true_targets, result.kriged_targets, point=1,
                             title=f"no station at x = {float(twin.targets.x[1]):.0f} m")  # fmt: skip
    plot_swap_rates(fig.add_subplot(grid[1, 2]), result.inversion.chain.swap_rate,
                    result.inversion.ladder)  # fmt: skip
    plot_station_line(fig.add_subplot(grid[1, 3]), np.asarray(twin.stations.x),
                      result.selected, targets=np.asarray(twin.targets.x), source=0.0,
                      title=f"{len(result.selected)} D-optimal stations")  # fmt: skip
    fig.savefig(out / "remc_wavefield.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return {**result.summary, "figures": ["remc_posterior.png", "remc_wavefield.png"],
            "wall_time_s": round(time.perf_counter() - start, 2)}  # fmt: skip


PARTS = ("wave", "aftershock", "assim", "remc", "detect")
"""The demo's parts, in the order they run."""


def run_demo(
    out_dir: str | Path = "sjax-demo-output", small: bool = False, parts=PARTS
) -> dict:
    """Run the demo ``parts`` (default: all of `PARTS`), write ``summary.json`` into
    ``out_dir`` and return it.

    Raises:
        ValueError: for a part not in `PARTS`.
    """
    parts = [part.strip() for part in parts if part.strip()]  # "wave, detect" works too
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown demo part(s) {unknown}: choose from {list(PARTS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"sjax": __version__, "jax": jax.__version__, "devices": describe_devices(),
               "small": small}  # fmt: skip
    if "wave" in parts:
        summary["wave"] = wave_demo(out, small)
    if "aftershock" in parts:
        print("aftershock: Ridgecrest 2019 forecast", file=sys.stderr, flush=True)
        summary["aftershock"] = aftershock_demo(out, small)
    if "assim" in parts:
        print("assim: 4D-Var twin (layer velocities and a thickness)", file=sys.stderr,
              flush=True)  # fmt: skip
        summary["assim"] = assim_demo(out, small)
    if "remc" in parts:
        print("remc: replica-exchange inversion and wavefield imaging of a layered twin",
              file=sys.stderr, flush=True)  # fmt: skip
        summary["remc"] = remc_demo(out, small)
    if "detect" in parts:
        print("detect: GPD and EQTransformer picks, the tremor ResNet", file=sys.stderr,
              flush=True)  # fmt: skip
        summary["detect"] = detect_demo(out, small)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def format_summary(summary: dict) -> str:
    """A few lines per demo part of ``summary`` (as returned by `run_demo`): what ran, the
    headline figures and the files written; ``summary.json`` holds everything."""
    lines = [f"sjax {summary['sjax']} (jax {summary['jax']}, {summary['devices']})"]
    if "wave" in summary:
        w = summary["wave"]
        grid = w["grid"]
        lines.append(f"wave: {grid['nz']} x {grid['nx']} grid, {grid['spacing_m']:g} m; "
                     + "; ".join(f"{name.upper().replace('PSV', 'P-SV')} {r['n_steps']} steps "
                                 f"in {r['wall_time_s']:.1f} s -> {r['figure']}, {r['synthetics']}"
                                 for name, r in w.items() if name in ("sh", "psv")))  # fmt: skip
    if "aftershock" in summary:
        a = summary["aftershock"]
        (start, end), threshold = a["windows_days"][0], a["thresholds"][0]
        low, high = a["interval_95"][0][0]
        lines.append(
            f"aftershock: {a['model']} fit on {a['n_learn_events']} events in "
            f"[{a['learn_days'][0]:g}, {a['learn_days'][1]:g}] d (converged: {a['converged']}); "
            f"[{start:g}, {end:g}] d, M >= {threshold:g}: expected {a['expected'][0][0]:.3g} "
            f"(95 % {low}-{high}), observed {a['observed'][0][0]} -> {a['table']}"
        )
    if "assim" in summary:
        s = summary["assim"]
        errors = ", ".join(f"{e:+.1f}" for e in s["error_in_posterior_std"])
        lines.append(f"assim: 4D-Var twin, Newton-CG {s['newton_iterations']} iterations "
                     f"(converged: {s['newton_converged']}); estimate - truth in posterior sd: "
                     f"{errors} -> {s['figure']}")  # fmt: skip
    if "remc" in summary:
        r = summary["remc"]
        lines.append(
            f"remc: {r['n_replicas']} replicas, truth inside the 95 % intervals: "
            f"{r['truth_inside_95']}; held-out wavefield misfit {r['misfit_ratio_remc_over_kriging']:.2f}"
            f" x kriging's, band coverage {min(r['band_coverage']):.0%}-"
            f"{max(r['band_coverage']):.0%}; D-optimal stations {r['selected_stations']} -> "
            + ", ".join(r["figures"])
        )
    if "detect" in summary:
        d = summary["detect"]
        syn, page = d["synthetic"], d["tremor_page"]
        real = "; ".join(f"{name} {r['p_onsets_picked']} real P onsets ({r['picks']} picks)"
                         for name, r in d["real"].items())  # fmt: skip
        lines.append(
            f"detect: {real}; synthetic GPD on {syn['events']} synthetic events, P within 0.1 s "
            f"{100 * syn['p_within_0.1s']:.0f} %, "
            f"S within 0.2 s {100 * syn['s_within_0.2s']:.0f} %, "
            f"{syn['false_picks']} false picks; tremor page p = "
            f"{page['tremor_probability']:.2f} -> {syn['figure']}, {page['figure']}"
        )
    return "\n".join(lines)
