"""The ``sjax`` command line.

- ``sjax demo``: the main job, one short run of every part (`sjax.demo`).
- ``sjax aftershock CATALOG ...``: fit an aftershock model on a learning window of a catalogue
  and forecast the number of events in later windows (`aftershock_forecast`).
- ``sjax detect FILE [FILE ...] [--model gpd|eqt|gpd-synthetic]``: P and S picks by a shipped
  picker (the published GPD or EQTransformer weights) in waveform files
  (paths or glob patterns), written as QuakeML with probability traces and figures
  (`sjax.detect.pipeline.detect_stream`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

__all__ = ["AFTERSHOCK_MODELS", "aftershock_forecast", "magnitude_bin_of", "main", "parse_window"]

#: ``--model`` choices of ``sjax aftershock`` (``gp`` is slow: minutes).
AFTERSHOCK_MODELS = ("state_space", "log_linear", "constant", "gp")

_QUAKEML_SUFFIXES = (".xml", ".quakeml", ".qml")


def parse_window(text: str, name: str = "window") -> tuple[float, float]:
    """``"START,END"`` (days since the main shock) → ``(start, end)`` with ``0 <= start < end``.

    Raises:
        ValueError: ``"{name} must be START,END in days ..."`` for anything else.
    """
    parts = str(text).split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{name} must be START,END in days (e.g. 0,1), got {text!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or not end > start:
        raise ValueError(f"{name} must be START,END in days with 0 <= START < END, got {text!r}")
    return start, end


def _parse_thresholds(text: str) -> list[float]:
    try:
        values = [float(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"--thresholds must be magnitudes separated by commas, got {text!r}")
    return values


def _load_catalog(source, mainshock_time, mainshock_magnitude, catalog_end, csv_options=None):
    """``(catalogue, mainshock_magnitude, default magnitude cutoff)`` for ``source``;
    ``csv_options`` go to `catalog_from_csv` (delimiter, columns, strict)."""
    from sjax.aftershock import catalog as cat

    if isinstance(source, cat.Catalog):
        magnitude = mainshock_magnitude or source.mainshock_magnitude
        return source, magnitude, None
    if str(source) == "ridgecrest":
        catalog = cat.ridgecrest_catalog(end=catalog_end)
        if mainshock_time is not None and cat._iso(mainshock_time) != catalog.mainshock_time:
            raise ValueError(
                f"the shipped Ridgecrest catalogue is relative to {cat.RIDGECREST_MAINSHOCK_TIME}"
                f"; do not pass another --mainshock-time ({mainshock_time})"
            )
        magnitude = cat.RIDGECREST_MAINSHOCK_MAGNITUDE
        if mainshock_magnitude is not None:
            magnitude = mainshock_magnitude
        return catalog, magnitude, 2.5  # the file is cut at M 2.5
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"catalogue file not found: {str(source)!r} (a CSV or QuakeML file, "
                         "or 'ridgecrest' for the shipped 2019 Ridgecrest sequence)")  # fmt: skip
    if path.suffix.lower() in _QUAKEML_SUFFIXES:
        if mainshock_time is None:
            raise ValueError("a QuakeML catalogue needs --mainshock-time (ISO-8601 UTC)")
        import obspy

        events = obspy.read_events(str(path))
        origin = obspy.UTCDateTime(mainshock_time)

        def after(event):  # events without an origin are kept: catalog_from_obspy names them
            first = event.preferred_origin() or (event.origins[0] if event.origins else None)
            return first is None or first.time is None or first.time > origin

        events = obspy.Catalog([e for e in events if after(e)])  # drop the main shock and before
        if not len(events):
            raise ValueError(f"{path}: no events after the main shock ({origin})")
        catalog = cat.catalog_from_obspy(events, mainshock_time, end=catalog_end,
                                         mainshock_magnitude=mainshock_magnitude)  # fmt: skip
    else:
        try:
            catalog = cat.catalog_from_csv(path, mainshock_time=mainshock_time, end=catalog_end,
                                           mainshock_magnitude=mainshock_magnitude,
                                           **(csv_options or {}))  # fmt: skip
        except ValueError as error:
            message = str(error)
            for keyword, option in (("mainshock_time", "--mainshock-time"),
                                    ("time_column=", "--time-column"),
                                    ("magnitude_column=", "--magnitude-column"),
                                    ("delimiter=", "--delimiter"),
                                    ("remove strict", "drop --strict")):  # fmt: skip
                message = message.replace(keyword, option)
            raise ValueError(f"{path}: {message}") from None
    return catalog, mainshock_magnitude, None


def magnitude_bin_of(magnitudes) -> float:
    """The rounding step of catalogue magnitudes (0.1 for magnitudes given to one decimal),
    inferred as the largest of 0.1, 0.05, 0.01 of which every magnitude is a multiple (to
    1e-6); 0 if none is (continuous magnitudes)."""
    import numpy as np

    values = np.asarray(magnitudes, dtype=float)
    for step in (0.1, 0.05, 0.01):
        ratio = values / step
        if np.all(np.abs(ratio - np.round(ratio)) < 1e-6):
            return step
    return 0.0


#: Units of the printed aftershock parameters (Omori rate k (t + c)^(-p) in events per day
#: with M >= Mref; "mag": magnitude units; GP log time x = ln(1 + t/t0)).
PARAMETER_UNITS = {
    "k": "events/d at t + c = 1 d, M >= Mref (events d^(p-1))", "c": "d", "p": "-", "b": "-",
    "sigma": "mag", "mu": "mag", "mu0": "mag", "decay": "mag per e-fold of t", "tau": "d",
    "mu_shift": "mag", "mu_mean": "mag", "mu_slope": "mag per unit of ln(1 + t/t0)",
    "mu_amplitude": "mag", "mu_lengthscale": "units of ln(1 + t/t0)",
}


def _fit(learn, model, reference_magnitude, magnitude_cutoff):
    """Fit ``model``; returns ``(result, {name: (estimate, se)}, converged)``."""
    import numpy as np

    if model == "state_space":
        from sjax.aftershock.state_space import fit_state_space

        result = fit_state_space(learn, reference_magnitude=reference_magnitude,
                                 magnitude_cutoff=magnitude_cutoff)  # fmt: skip
        names = ("k", "c", "p", "b", "sigma")
        params = {n: (float(v), float(s)) for n, v, s in
                  zip(names, result.params, result.params_standard_errors)}  # fmt: skip
        params["mu_shift"] = (float(result.unconstrained[5]),
                              float(result.unconstrained_standard_errors[5]))  # fmt: skip
    elif model == "gp":
        from sjax.aftershock.gp import fit_gp

        result = fit_gp(learn, reference_magnitude=reference_magnitude,
                        magnitude_cutoff=magnitude_cutoff)  # fmt: skip
        params = result.summary()
    elif model in ("log_linear", "constant"):
        from sjax.aftershock.fit import fit

        result = fit(learn, reference_magnitude=reference_magnitude, mu_model=model,
                     magnitude_cutoff=magnitude_cutoff, prior=True)  # fmt: skip
        params = result.summary()
    else:
        raise ValueError(f"unknown model {model!r}; choose one of {list(AFTERSHOCK_MODELS)}")
    covariance = np.asarray(result.unconstrained_covariance)
    converged = bool(result.converged) and bool(np.all(np.isfinite(covariance)))
    return result, params, converged


def _mu_curve(result, model, learn, n_grid=200, n_draws=400, seed=0):
    """``(times, median, lower, upper)`` of μ(t) with a 95 % band on the learning window."""
    import jax
    import numpy as np

    if model == "state_space":
        return (np.asarray(result.event_times), np.asarray(result.mu_at_events),
                np.asarray(result.mu_lower), np.asarray(result.mu_upper))  # fmt: skip
    times = np.asarray(learn.times)
    first = max(float(learn.start), float(times.min()))
    grid = np.geomspace(first, float(learn.end), n_grid)
    if model == "gp":
        median, lower, upper = result.mu_band(grid)
        return grid, np.asarray(median), np.asarray(lower), np.asarray(upper)
    from sjax.aftershock.fit import from_unconstrained

    mu = np.asarray(result.mu(grid))
    # band from the Gaussian approximation of the fit on the unconstrained scale (none where
    # that is degenerate, e.g. an unidentified tau of the log-linear model)
    mean = np.asarray(result.unconstrained, float)
    cov = np.asarray(result.unconstrained_covariance, float)
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    factor = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = mean + np.random.default_rng(seed).standard_normal((n_draws, mean.size)) @ factor.T
    curves = np.asarray(jax.vmap(lambda zi: from_unconstrained(zi, model)[1](grid))(z))
    if not np.all(np.isfinite(curves)):
        return grid, mu, None, None
    lower, upper = np.quantile(curves, [0.025, 0.975], axis=0)
    return grid, mu, lower, upper


def _observed(catalog, windows, thresholds):
    """Observed counts per window where the catalogue covers it (``None`` rows elsewhere);
    a window running past the catalogue's end is counted up to that end (``partial``)."""
    import numpy as np

    from sjax.aftershock.forecast import observed_counts

    c_start, c_end = float(catalog.start), float(catalog.end)
    counts, through = [], []
    for start, end in windows:
        if start < c_start or start >= c_end:
            counts.append(None)
            through.append(None)
            continue
        stop = min(end, c_end)
        row = observed_counts(catalog, [(start, stop)], thresholds)[0]
        counts.append([int(x) for x in np.asarray(row)])
        through.append(stop)
    return counts, through


def _table(forecast, observed, through) -> str:
    """`Forecast.table` with an ``observed`` column (``*``: catalogue ends inside the window)."""
    lines = forecast.table().split("\n")
    out = [lines[0] + f" {'observed':>9s}", lines[1] + "-" * 10]
    n_thresholds = len(forecast.thresholds)
    windows = [tuple(map(float, w)) for w in forecast.windows]
    for row, line in enumerate(lines[2:]):
        i, j = divmod(row, n_thresholds)
        if observed[i] is None:
            cell = "-"
        else:
            cell = str(observed[i][j]) + ("*" if through[i] < windows[i][1] else "")
        out.append(line + f" {cell:>9s}")
    partial = [(w, t) for w, t in zip(windows, through) if t is not None and t < w[1]]
    for (start, end), stop in partial:
        out.append(f"* observed on [{start:g}, {stop:.4g}] d only: the catalogue ends there")
    if any(o is None for o in observed):
        out.append("- the catalogue does not cover this window")
    return "\n".join(out)


def _plots(out, prefix, *, model, result, learn, catalog, draws, forecast, observed, through,
           reference_magnitude, magnitude_bin, learn_window, title):  # fmt: skip
    import functools

    import jax.numpy as jnp
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # nobody chose a backend: files only, no GUI
        matplotlib.use("Agg")  # (asking get_backend() first would cost a second)
    import matplotlib.pyplot as plt
    import numpy as np

    from sjax.aftershock.forecast import completeness_magnitude
    from sjax.aftershock.plots import plot_detection_magnitude, plot_forecast, plot_rate

    files = {}
    times, mu, lower, upper = _mu_curve(result, model, learn)
    note = ""
    if lower is None:  # said on the figure and on stderr, never dropped silently
        note = "\n(no 95 % band: the fit's Gaussian approximation is degenerate)"
        print("sjax aftershock: warning: mu.png has no 95 % band: parameter draws from the "
              f"{model} fit's covariance give non-finite μ(t) (an unidentified parameter?)",
              file=sys.stderr)  # fmt: skip
    sigma = float(result.params.sigma)
    fig = plot_detection_magnitude(
        times, mu, lower, upper, catalog=learn,
        completeness=np.asarray(completeness_magnitude(mu, sigma)),
        title=f"{title}: μ(t), {model} fit on [{learn_window[0]:g}, {learn_window[1]:g}] d"
        + note,
        band_label="95 % band",
    )  # fmt: skip
    files["mu"] = f"{prefix}mu.png"
    fig.savefig(out / files["mu"], dpi=110)
    plt.close(fig)

    observed_array = np.array([[np.nan] * len(forecast.thresholds) if row is None else row
                               for row in observed], dtype=float)  # fmt: skip
    partial = [row is not None and stop is not None and stop < end
               for row, stop, (_, end) in zip(observed, through, forecast.windows)]  # fmt: skip
    fig = plot_forecast(forecast, observed_array, partial=partial,
                        title=f"{title}: forecast ({model}, learn [{learn_window[0]:g}, "
                              f"{learn_window[1]:g}] d) vs observed")  # fmt: skip
    files["forecast"] = f"{prefix}forecast.png"
    fig.savefig(out / files["forecast"], dpi=110)
    plt.close(fig)

    threshold = float(np.min(np.asarray(forecast.thresholds)))
    if model in ("constant", "log_linear"):
        mu_fn = result.mu
    else:  # μ(t) on the learning window, held at its last value after it (as the forecast);
        # padded with that last value to a size bucket so a new window reuses the compiled curve
        from sjax.aftershock.fit import _padded_size

        pad = _padded_size(len(times)) - len(times)
        mu_fn = functools.partial(jnp.interp, xp=jnp.asarray(np.pad(times, (0, pad), "edge")),
                                  fp=jnp.asarray(np.pad(mu, (0, pad), "edge")))  # fmt: skip
    fig = plot_rate(catalog, draws, mu=mu_fn, magnitude_threshold=threshold,
                    reference_magnitude=reference_magnitude, magnitude_bin=magnitude_bin,
                    title=f"{title}: cumulative number of M ≥ {threshold + magnitude_bin / 2:g} "
                          "events")  # fmt: skip
    ax = fig.axes[0]
    ax.axvspan(max(learn_window[0], ax.get_xlim()[0]), learn_window[1], color="0.85", zorder=0,
               label="learning window")  # fmt: skip
    ax.legend(loc="upper left", fontsize="small")
    files["rate"] = f"{prefix}rate.png"
    fig.savefig(out / files["rate"], dpi=110)
    plt.close(fig)
    return files


def aftershock_forecast(
    catalog,
    *,
    learn: tuple[float, float],
    forecast_windows,
    thresholds=(3.0, 4.0, 5.0),
    model: str = "state_space",
    mainshock_time=None,
    mainshock_magnitude: float | None = None,
    magnitude_cutoff: float | None = None,
    catalog_end: float | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    out: str | Path = "aftershock_out",
    prefix: str = "",
    plots: bool = True,
    title: str | None = None,
    magnitude_bin: float | None = None,
    csv_options: dict | None = None,
    echo=print,
    log=None,
) -> dict:
    """Fit an aftershock model on the learning window and forecast later windows.

    The core of ``sjax aftershock`` (and of the demo's aftershock part). Runs in float64.

    Args:
        catalog: path of a CSV (time and magnitude columns, `catalog_from_csv`) or QuakeML
            file (``.xml``/``.quakeml``/``.qml``), the literal ``"ridgecrest"`` (the shipped
            2019 sequence; main-shock time and magnitude and a magnitude cutoff of 2.5 are then
            the defaults), or a `Catalog`.
        learn: ``(start, end)`` learning window, days since the main shock.
        forecast_windows: ``(start, end)`` pairs in days.
        thresholds: magnitude thresholds of the forecast.
        model: one of `AFTERSHOCK_MODELS` (``"gp"`` takes minutes).
        mainshock_time: ISO-8601 UTC origin time (needed for absolute catalogue times).
        mainshock_magnitude: main-shock magnitude, the reference magnitude of the fit.
        magnitude_cutoff: catalogue cut Mc; events below it are dropped before fitting.
        catalog_end: end of the catalogue's observation period in days (default: last event).
        n_draws: parameter draws from the fit's Gaussian approximation for the forecast.
        seed: seed of the parameter draws.
        out: output folder for ``{prefix}forecast.json`` and ``{prefix}{mu,forecast,rate}.png``.
        prefix: file-name prefix.
        plots: write the PNG figures.
        title: figure title (default: the catalogue's file name, or "Ridgecrest 2019").
        magnitude_bin: rounding step of the catalogue's magnitudes (default: inferred,
            `magnitude_bin_of`). A reported M ≥ x then means a true M ≥ x − bin/2, which is
            what the magnitude cutoff given to the fit and the forecast thresholds become, so
            that a forecast for M ≥ 2 is compared with the events reported as M ≥ 2.0.
        csv_options: `catalog_from_csv` keywords (``delimiter``, ``time_column``,
            ``magnitude_column``, ``strict``) for a CSV catalogue.
        echo: printer of the results (parameters and forecast table); None to stay quiet.
        log: printer of progress lines (default: stderr).

    Returns:
        The dict written to ``forecast.json``.

    Raises:
        ValueError: missing file, bad windows or thresholds, an empty learning window, too few
            events, a fit that did not converge.
    """
    import jax

    echo = echo or (lambda *a, **k: None)
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    learn = tuple(float(x) for x in learn)
    if not (len(learn) == 2 and 0 <= learn[0] < learn[1]):
        raise ValueError(f"learn must be (start, end) days with 0 <= start < end, got {learn}")
    windows = [tuple(float(x) for x in w) for w in forecast_windows]
    if not windows:
        raise ValueError("give at least one forecast window")
    for start, end in windows:
        if not 0 <= start < end:
            raise ValueError(f"forecast window ({start}, {end}) must have 0 <= start < end")
    thresholds = [float(m) for m in thresholds]
    if model not in AFTERSHOCK_MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {list(AFTERSHOCK_MODELS)}")
    out = Path(out)
    started = time.perf_counter()
    with jax.enable_x64(True):
        from sjax.aftershock.forecast import forecast, parameter_draws

        cat, reference_magnitude, default_cutoff = _load_catalog(
            catalog, mainshock_time, mainshock_magnitude, catalog_end, csv_options
        )
        if reference_magnitude is None:
            raise ValueError("the main-shock magnitude is needed (--mainshock-magnitude): it is "
                             "the reference magnitude of the fit")  # fmt: skip
        reference_magnitude = float(reference_magnitude)
        cutoff = default_cutoff if magnitude_cutoff is None else float(magnitude_cutoff)
        if cutoff is not None:
            cat = cat.above(cutoff)
        c_start, c_end = float(cat.start), float(cat.end)
        if learn[0] < c_start or learn[1] > c_end:
            raise ValueError(
                f"learning window [{learn[0]:g}, {learn[1]:g}] d is not inside the catalogue's "
                f"[{c_start:g}, {c_end:.4g}] d (pass --catalog-end if it was observed longer)"
            )
        try:
            learning = cat.window(*learn)
        except ValueError as error:
            raise ValueError(f"learning window is empty: {error}") from None
        title = title or _default_title(catalog)
        inferred = magnitude_bin is None
        bin_width = magnitude_bin_of(cat.magnitudes) if inferred else float(magnitude_bin)
        if not (math.isfinite(bin_width) and bin_width >= 0):
            raise ValueError(f"--magnitude-bin must be >= 0, got {magnitude_bin}")
        half = bin_width / 2
        fit_cutoff = None if cutoff is None else cutoff - half
        model_thresholds = [m - half for m in thresholds]
        echo(f"magnitude bin {bin_width:g} ({'inferred from the data' if inferred else 'given'})"
             + (f": reported M >= x means true M >= x - {half:g}; the fit's cutoff and the "
                "forecast thresholds are shifted by that" if half else ""))  # fmt: skip
        log(f"aftershock: fitting {model} on {learning.n_events} events in "
            f"[{learn[0]:g}, {learn[1]:g}] d (Mref = {reference_magnitude:g}"
            + (f", Mc = {cutoff:g})" if cutoff is not None else ")"))  # fmt: skip
        t0 = time.perf_counter()
        result, params, converged = _fit(learning, model, reference_magnitude, fit_cutoff)
        fit_seconds = time.perf_counter() - t0
        echo(f"{model} fit on {learning.n_events} events in [{learn[0]:g}, {learn[1]:g}] d, "
             f"reference magnitude {reference_magnitude:g}"
             + (f", magnitude cutoff {cutoff:g}" if cutoff is not None else "")
             + f" ({fit_seconds:.1f} s, converged: {converged})")  # fmt: skip
        width = max(len("parameter"), *(len(name) for name in params))
        echo(f"{'parameter':>{width}s} {'estimate':>12s} {'std. error':>12s}  unit")
        for name, (value, se) in params.items():
            unit = PARAMETER_UNITS.get(name, "").replace("Mref", f"{reference_magnitude:g}")
            echo(f"{name:>{width}s} {value:12.5g} {se:12.3g}  {unit}")
        if not converged:
            reason = getattr(result, "diagnosis", "") or (
                f"gradient max-norm {float(result.grad_norm):.3g}, or the Hessian is not "
                "positive definite")  # fmt: skip
            raise ValueError(
                f"the {model} fit did not converge ({reason}): no forecast; try another "
                "--model or learning window"
            )
        log(f"aftershock: forecasting from {int(n_draws)} parameter draws")
        draws = parameter_draws(jax.random.key(int(seed)), result, int(n_draws))
        fc = forecast(draws, windows, model_thresholds, reference_magnitude=reference_magnitude)
        observed, through = _observed(cat, windows, thresholds)
        echo("")
        echo(f"forecast of the number of true events (M >= threshold), {int(n_draws)} draws; "
             "observed = recorded events"
             + (f" reported at M >= threshold + {half:g} (the M >= column is the model's "
                f"true-magnitude threshold, reported − {half:g})" if half else ""))  # fmt: skip
        echo(_table(fc, observed, through))
        summary = {
            "catalog": str(catalog) if not hasattr(catalog, "times") else "Catalog",
            "mainshock_time": cat.mainshock_time,
            "reference_magnitude": reference_magnitude,
            "magnitude_cutoff": cutoff,
            "magnitude_bin": bin_width,
            "magnitude_bin_inferred": inferred,
            "reported_thresholds": thresholds,
            "title": title,
            "catalog_window_days": [c_start, c_end],
            "model": model,
            "learn_days": list(learn),
            "n_learn_events": int(learning.n_events),
            "converged": converged,
            "fit_seconds": round(fit_seconds, 2),
            "parameters": {n: {"estimate": v, "standard_error": s} for n, (v, s) in params.items()},
            "forecast": fc.to_dict(),
            "observed": observed,
            "observed_through_days": through,
        }
        out.mkdir(parents=True, exist_ok=True)
        if plots:
            log(f"aftershock: writing figures into {out}/")
            summary["figures"] = _plots(
                out, prefix, model=model, result=result, learn=learning, catalog=cat,
                draws=draws, forecast=fc, observed=observed, through=through,
                reference_magnitude=reference_magnitude, magnitude_bin=bin_width,
                learn_window=learn,
                title=title,
            )  # fmt: skip
        summary["wall_time_s"] = round(time.perf_counter() - started, 2)
        summary["file"] = f"{prefix}forecast.json"
        (out / summary["file"]).write_text(json.dumps(_clean(summary), indent=2))
    return _clean(summary)


def _default_title(catalog) -> str:
    if str(catalog) == "ridgecrest":
        return "Ridgecrest 2019"
    if isinstance(catalog, (str, Path)):
        return Path(catalog).stem
    return "aftershocks"


def _clean(value):
    """NaN/inf → None so the JSON is standard."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _add_aftershock_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "aftershock",
        help="fit an aftershock model on a learning window and forecast later windows",
        description="Fit an Omori–Utsu × Gutenberg–Richter × detection model on the learning "
        "window of a catalogue and forecast the number of events with M >= each threshold in "
        "each forecast window (times in days since the main shock).",
    )
    parser.add_argument("catalog", help="CSV (time, magnitude columns) or QuakeML file, or "
                        "'ridgecrest' for the shipped 2019 Ridgecrest sequence")  # fmt: skip
    parser.add_argument("--mainshock-time", help="main-shock origin time, ISO-8601 UTC (needed "
                        "for absolute catalogue times)")  # fmt: skip
    parser.add_argument(
        "--mainshock-magnitude",
        type=float,
        help="main-shock magnitude (the reference magnitude of the fit)",
    )
    parser.add_argument("--learn", default="0,1", metavar="START,END",
                        help="learning window in days (default 0,1)")  # fmt: skip
    parser.add_argument(
        "--forecast",
        action="append",
        metavar="START,END",
        help="forecast window in days; repeat for more (default 1,2 and 2,7)",
    )
    parser.add_argument(
        "--thresholds",
        default="3,4,5",
        help="magnitude thresholds, comma-separated (default 3,4,5)",
    )
    parser.add_argument("--model", choices=AFTERSHOCK_MODELS, default="state_space",
                        help="μ(t) model: state_space (Omi et al., default), log_linear, "
                        "constant, or gp (slow: minutes)")  # fmt: skip
    parser.add_argument("--magnitude-cutoff", type=float, help="catalogue cut Mc (events below "
                        "are dropped; default 2.5 for ridgecrest, else none)")  # fmt: skip
    parser.add_argument("--catalog-end", type=float, help="end of the catalogue's observation "
                        "period in days (default: the last event)")  # fmt: skip
    parser.add_argument("--magnitude-bin", type=float, help="rounding step of the catalogue's "
                        "magnitudes (default: inferred from the data, e.g. 0.1): a reported "
                        "M >= x then counts as a true M >= x - bin/2")  # fmt: skip
    parser.add_argument("--delimiter", help="CSV field separator: comma, tab, semicolon, "
                        "whitespace or one character (default: sniffed)")  # fmt: skip
    parser.add_argument("--time-column", help="CSV time column (name, or 1-based number)")
    parser.add_argument("--magnitude-column", help="CSV magnitude column (name, or 1-based "
                        "number)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="refuse CSV lines out of time "
                        "order (default: sort them, with a warning naming the lines)")  # fmt: skip
    parser.add_argument("--title", help="figure title (default: the catalogue's file name)")
    parser.add_argument("--draws", type=int, default=1000, help="parameter draws (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument("--out", default="aftershock_out",
                        help="output folder for forecast.json and the figures (default "
                        "%(default)s)")  # fmt: skip
    return parser


#: ``sjax detect --model`` choices: the keys of `sjax.detect.pipeline.DETECT_MODELS` (not
#: imported here, which would load JAX for ``--help``).
DETECT_MODEL_NAMES = ("gpd", "eqt", "gpd-synthetic")


def _add_detect_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "detect",
        help="pick P and S phases in waveform files with a shipped picker (GPD or "
        "EQTransformer, published weights)",
        description="Annotate every three-component station of the waveform files (read into "
        "one stream) with a picker (GPD: band-pass 3-20 Hz, 100 Hz, 4 s windows every 0.1 s; "
        "EQTransformer: 1-45 Hz, 60 s windows every 30 s; gaps split the data), pick by "
        "hysteresis trigger + arg-max and write probabilities (MiniSEED), picks (QuakeML, "
        "text) and figures. Stations that cannot be used are skipped with a warning.",
    )
    parser.add_argument("stream", nargs="+", metavar="FILE",
                        help="ObsPy-readable waveform files or glob patterns (quote them, e.g. "
                        "'data/*.mseed'), or 'rjob' / 'uh3' for ObsPy's example recordings "
                        "(one local event at 100 Hz / three at 50 Hz)")  # fmt: skip
    parser.add_argument("--model", choices=DETECT_MODEL_NAMES, default="gpd",
                        help="gpd: GPD, published weights of Ross et al. 2018 (default); eqt: "
                        "EQTransformer, published weights of Mousavi et al. 2020; "
                        "gpd-synthetic: GPD trained on sjax's synthetics")  # fmt: skip
    parser.add_argument("--threshold-on", type=float, default=None,
                        help="trigger-on probability (default: the model's, 0.95 for gpd, 0.1 "
                        "for eqt, 0.96 for gpd-synthetic)")  # fmt: skip
    parser.add_argument("--threshold-off", type=float, default=None,
                        help="trigger-off probability (default: the model's, 0.1 for gpd and "
                        "gpd-synthetic, 0.05 for eqt)")  # fmt: skip
    parser.add_argument("--out", default="detect_out", help="output folder for probabilities, "
                        "picks and figures (default %(default)s)")  # fmt: skip
    return parser


def _column_argument(text):
    """``--time-column``/``--magnitude-column``: a name, or a 1-based column number."""
    if text is None or not str(text).strip().isdigit():
        return text
    number = int(text)
    if number < 1:
        raise SystemExit(f"sjax: column numbers start at 1, got {text}")
    return number - 1


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sjax")
    except PackageNotFoundError:  # a source tree that is not installed
        from sjax import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sjax`` console script."""
    parser = argparse.ArgumentParser(
        prog="sjax", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sjax {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the main job: a short run of every part")
    demo.add_argument("--out", default="sjax-demo-output", help="output folder for the figures, "
                      "synthetics and summary.json (default %(default)s)")  # fmt: skip
    demo.add_argument("--small", action="store_true", help="coarser, faster version (CI)")
    demo.add_argument("--parts", default="wave,aftershock,assim,remc,detect",
                      help="comma-separated parts to run (default: all)")  # fmt: skip
    aftershock = _add_aftershock_parser(commands)
    detect = _add_detect_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from sjax.demo import run_demo

        try:
            summary = run_demo(args.out, small=args.small, parts=args.parts.split(","))
        except ValueError as error:
            demo.error(str(error))
        from sjax.demo import format_summary

        print(format_summary(summary))
        print(f"figures, synthetics and the full summary.json written to {args.out}/")
    elif args.command == "aftershock":
        try:
            learn = parse_window(args.learn, "--learn")
            windows = [parse_window(w, "--forecast") for w in (args.forecast or ["1,2", "2,7"])]
            thresholds = _parse_thresholds(args.thresholds)
        except ValueError as error:
            aftershock.error(str(error))
        if args.draws < 1:
            aftershock.error(f"--draws must be >= 1, got {args.draws}")
        csv_options = {"delimiter": args.delimiter, "strict": args.strict,
                       "time_column": _column_argument(args.time_column),
                       "magnitude_column": _column_argument(args.magnitude_column)}  # fmt: skip
        from sjax.cache import enable_compilation_cache

        enable_compilation_cache()
        try:
            aftershock_forecast(
                args.catalog, learn=learn, forecast_windows=windows, thresholds=thresholds,
                model=args.model, mainshock_time=args.mainshock_time,
                mainshock_magnitude=args.mainshock_magnitude,
                magnitude_cutoff=args.magnitude_cutoff, catalog_end=args.catalog_end,
                n_draws=args.draws, seed=args.seed, out=args.out, title=args.title,
                magnitude_bin=args.magnitude_bin, csv_options=csv_options,
            )  # fmt: skip
        except ValueError as error:  # the data or the fit, not the command line: no usage text
            print(f"sjax aftershock: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        print(f"\nforecast.json and figures written to {args.out}/", file=sys.stderr)
    elif args.command == "detect":
        from sjax.detect.pipeline import detect_stream

        try:
            detect_stream(args.stream, out=args.out, model=args.model,
                          threshold_on=args.threshold_on,
                          threshold_off=args.threshold_off)  # fmt: skip
        except ValueError as error:
            detect.error(str(error))
        print(f"\npicks.xml, probabilities.mseed and figures written to {args.out}/",
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
