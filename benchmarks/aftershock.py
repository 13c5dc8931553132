"""Benchmark of `sjax.aftershock`'s GP detection model: composite likelihood vs exact-GP NUTS.

What is measured (float64, on whatever device JAX picks; recorded in ``devices``):

* **Composite fit** — for each catalogue size n, ``fit_gp(method="composite",
  n_bootstrap=30)``; its wall time is ``GPFitResult.seconds``, a *point estimate with
  uncertainty*: compilation, the optax optimisation (Adam then L-BFGS), the finite-difference
  Hessian and the Godambe bootstrap of the score are all included. Estimates, standard errors
  and the convergence flag are stored with each record.
* **Exact-GP NUTS, capped** — a 1000 warm-up + 1000 draw NUTS chain of the exact model
  (`sample_gp_nuts`, n whitened latents + 9 parameters, one n×n Cholesky per gradient) is out
  of reach on a 2-core CPU, so the reference is *extrapolated*, never run in full:

  - at the smallest n only, one short chain (``W = S = 50`` warm-up/draws; 10 with
    ``--quick``) started at the composite estimate gives the leapfrog steps per iteration
    ``L = n_gradient_evaluations / (W + S)`` (numpyro reports tree sizes of the kept draws
    only; `sample_gp_nuts` scales them to W + S), its wall time and divergences;
  - at every n, the cost ``g(n)`` of one leapfrog step: best of 3 calls (after a compiling
    call) of the jitted ``jax.value_and_grad`` of the numpyro potential (negative log density
    of `gp_numpyro_model` w.r.t. all latents, from ``initialize_model``);
  - extrapolated NUTS seconds ``= 2000 · L · g(n)``. This assumes the tree size measured at the
    smallest n holds at every n and leaves out compilation and numpyro's own overhead, so it
    favours NUTS. Records carrying it have ``"extrapolated": true`` and the formula.

  The speed-up ``ratio = extrapolated NUTS seconds / composite seconds`` has target ≥ 1000 for
  n ≥ 2000 and is only reported below.
* **Agreement** — at the smallest n, ``|composite estimate − NUTS mean| / NUTS sd`` for each
  parameter on the unconstrained scale (`GP_NAMES`), target ≤ 1; the distance in composite
  (adjusted-posterior) standard errors is stored too. The capped chain is short, so its mean
  and sd are themselves noisy.
* **Scaling exponents** — best of 3 timed calls (after a compiling call, with
  ``block_until_ready``) of one jitted `composite_log_marginal` (value, and value+gradient)
  and of `pair_log_density_sum` alone on event arrays padded to a multiple of 256
  (``_padded_size``), and of `exact_log_marginal` (value+gradient, unpadded), at ``z =
  gp._initial``. The exponent is the least-squares slope of log seconds against log size
  (the padded array size for the composite) over the three largest sizes; targets ≈ 2
  (composite, pair sum) and ≈ 3 (exact), met within ±0.5. The slope of ``g(n)`` is reported
  as well.

Catalogues: ``simulate_catalog`` with ``AftershockParams(k, 0.01, 1.1, 1.0, 0.25)``,
``LogLinearMu(3.6, 0.35, 0.02)``, window [0, 2] days, Mref 6.5. The expected count is about
52 000 · k, so ``k = n / 52 000`` and the first seed whose catalogue is within 10 % of n is
used; for the scaling sizes a catalogue with ``k = 1.3 n / 52 000`` is cut to its first n
events (`Catalog.window`), so those sizes are exact.

LAPACK threads: JAX's CPU Cholesky and triangular solves call OpenBLAS, whose spinning worker
threads make them 10–100× slower and erratic when the CPU is shared (measured: a 256×256
`exact_log_marginal` evaluation took 0.02–1 s instead of 8 ms). The script therefore sets
``OPENBLAS_NUM_THREADS=1`` unless it is already set (the value is recorded in the JSON). On a
2-core machine this costs the large n×n Cholesky factorisations of the exact GP and NUTS at
most a factor 2 on an idle CPU; set the variable to compare.

Usage: ``python benchmarks/aftershock.py [--quick] [--out PATH]``. The full run (n = 500,
1000, 2000, 5000; composite scaling up to 16 000 events, exact up to 4000) writes
``benchmarks/results/aftershock.json``; ``--quick`` (n = 150, 200, both padded to 256 events so
that the fit compiles once; 5 bootstrap catalogues, W = S = 10, small scaling sizes; a few
minutes on a busy 2-core CPU, mostly compilation)
writes ``benchmarks/results/aftershock_quick.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

# Before numpy/jax load OpenBLAS (see the module docstring).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from numpyro.infer.util import initialize_model  # noqa: E402

from sjax.aftershock import AftershockParams, LogLinearMu, gp, simulate_catalog  # noqa: E402
from sjax.aftershock.nuts import gp_numpyro_model, sample_gp_nuts  # noqa: E402

MREF = 6.5
END = 2.0  # days
EVENTS_PER_K = 52_000  # expected events per unit k on [0, END] (measured: 536 at k = 0.01)
BLOCK = 256  # pair-sum block size (fit_gp's default)
REFERENCE_ITERATIONS = 2000  # the NUTS reference: 1000 warm-up + 1000 draws
SPEEDUP_FROM = 2000  # the ≥ 1000× target applies from this n
APPROX_TOLERANCE = 0.5  # "≈ x" targets are met within ± this
FULL = {
    "fit_sizes": (500, 1000, 2000, 5000), "n_bootstrap": 30, "nuts_budget": 50,
    "composite_sizes": (1000, 2000, 4000, 8000, 16000),
    "exact_sizes": (250, 500, 1000, 2000, 4000), "repeats": 3,
}  # fmt: skip
QUICK = {
    "fit_sizes": (150, 200), "n_bootstrap": 10, "nuts_budget": 10,
    "composite_sizes": (256, 512, 1024), "exact_sizes": (100, 200, 400), "repeats": 3,
}  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"
START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - START:4.0f} s] {message}", flush=True)


def best_time(fn, args, repeats: int) -> float:
    """Best wall time (s) of ``fn(*args)`` over ``repeats`` calls, after an untimed one."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def exponent(sizes, seconds) -> float:
    """Slope of log seconds against log size over the three largest sizes."""
    return float(np.polyfit(np.log(sizes[-3:]), np.log(seconds[-3:]), 1)[0])


# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------


def simulate(k: float, seed: int):
    params = AftershockParams(k, 0.01, 1.1, 1.0, 0.25)
    return simulate_catalog(jax.random.key(seed), params, LogLinearMu(3.6, 0.35, 0.02),
                            start=0.0, end=END, reference_magnitude=MREF,
                            max_events=20_000_000)  # fmt: skip


def catalogue(n: int):
    """A synthetic catalogue with n events ± 10 % (the first seed that gives one)."""
    for seed in range(20):
        cat = simulate(n / EVENTS_PER_K, seed)
        if abs(cat.n_events - n) <= 0.1 * n:
            return cat
    raise RuntimeError(f"no catalogue within 10 % of {n} events in 20 seeds")


def exact_catalogue(n: int):
    """The first ``n`` events of a synthetic catalogue (window ending at the n-th event)."""
    cat = simulate(1.3 * n / EVENTS_PER_K, seed=0)
    if cat.n_events < n:
        raise RuntimeError(f"simulated {cat.n_events} events, fewer than {n}")
    return cat.window(0.0, float(cat.times[n - 1]))


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def nuts_gradient_seconds(cat, repeats: int) -> float:
    """Best seconds of one jitted value-and-gradient of the NUTS potential (one leapfrog)."""
    info = initialize_model(jax.random.key(0), gp_numpyro_model,
                            model_args=(cat, gp.GPConfig(MREF)))  # fmt: skip
    value_and_grad = jax.jit(jax.value_and_grad(info.potential_fn))
    return best_time(value_and_grad, (info.param_info.z,), repeats)


def capped_nuts(cat, initial, budget: int):
    """A short NUTS chain (``budget`` warm-up and ``budget`` draws) started at ``initial``."""
    return sample_gp_nuts(jax.random.key(1), cat, reference_magnitude=MREF, num_warmup=budget,
                          num_samples=budget, initial=initial)  # fmt: skip


def composite_timings(sizes, repeats: int) -> dict:
    """Seconds of composite value, value+gradient and pair sum alone, per padded size."""
    config = gp.GPConfig(MREF)
    out = {"size": [], "value": [], "value_and_grad": [], "pair_sum": []}
    for n in sizes:
        cat = exact_catalogue(n)
        size = gp._padded_size(n, BLOCK)
        data = gp.event_data(cat, size)
        z = gp._initial(cat, config)
        value_and_grad = jax.jit(jax.value_and_grad(
            lambda z, data: gp.composite_log_marginal(z, data, config)
        ))  # fmt: skip
        _, r, _, v, x, kernel = gp.event_sites(z, data, config)
        out["size"].append(size)
        out["value"].append(best_time(gp.composite_log_marginal, (z, data, config), repeats))
        out["value_and_grad"].append(best_time(value_and_grad, (z, data), repeats))
        out["pair_sum"].append(best_time(
            gp.pair_log_density_sum, (x, r, v, data.weights, kernel), repeats
        ))  # fmt: skip
        progress(f"composite scaling n={n} (padded {size}): value {out['value'][-1]:.3g} s, "
                 f"value+grad {out['value_and_grad'][-1]:.3g} s, "
                 f"pair sum {out['pair_sum'][-1]:.3g} s")  # fmt: skip
    return out


def exact_timings(sizes, repeats: int) -> list[float]:
    """Seconds of one jitted value+gradient of `exact_log_marginal` per size."""
    config = gp.GPConfig(MREF)
    seconds = []
    for n in sizes:
        cat = exact_catalogue(n)
        data = gp.event_data(cat)
        z = gp._initial(cat, config)
        value_and_grad = jax.jit(jax.value_and_grad(
            lambda z, data: gp.exact_log_marginal(z, data, config)
        ))  # fmt: skip
        seconds.append(best_time(value_and_grad, (z, data), repeats))
        progress(f"exact scaling n={n}: value+grad {seconds[-1]:.3g} s")
    return seconds


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


def record(name, value, unit, target, baseline=None, baseline_value=None, ratio=None, **extra):
    return {
        "name": name, "value": value, "unit": unit, "baseline": baseline,
        "baseline_value": baseline_value, "ratio": ratio, "target": target, **extra,
    }  # fmt: skip


def meets(rec) -> bool | None:
    """Whether ``rec`` meets its target (on ``ratio`` if it has one); None if only reported."""
    if rec["target"] == "report":
        return None
    number = rec["value"] if rec["ratio"] is None else rec["ratio"]
    op, bound = rec["target"].split()
    if op == "≈":
        return abs(number - float(bound)) <= APPROX_TOLERANCE
    return number >= float(bound) if op == ">=" else number <= float(bound)


def fit_records(fits, gradient_seconds, leapfrogs, n0) -> list[dict]:
    """Composite wall time vs extrapolated NUTS, and the per-leapfrog cost, for each n."""
    records = []
    for n, fit in fits.items():
        nuts_seconds = REFERENCE_ITERATIONS * leapfrogs * gradient_seconds[n]
        formula = (f"{REFERENCE_ITERATIONS} iterations x {leapfrogs:.1f} leapfrogs/iteration "
                   f"(at n={n0}) x {gradient_seconds[n]:.3g} s/gradient (at n={n})")  # fmt: skip
        records.append(record(
            f"composite_fit_n{n}", fit.seconds, "s", ">= 1000" if n >= SPEEDUP_FROM else "report",
            "exact_gp_nuts_1000+1000_extrapolated", nuts_seconds, nuts_seconds / fit.seconds,
            ratio_definition="baseline_value / value (speed-up)", extrapolated=True,
            extrapolation=formula, n_events=fit.n_events, n_bootstrap=fit.n_bootstrap,
            converged=fit.converged, grad_norm=fit.grad_norm,
            estimates={name: [float(e), float(s)] for name, e, s in
                       zip(fit.names, fit.estimates, fit.standard_errors)},
        ))  # fmt: skip
        records.append(record(
            f"nuts_gradient_n{n}", gradient_seconds[n], "s/gradient", "report",
            n_events=fit.n_events,
            notes="best of 3 jitted value_and_grad of the NUTS potential (one leapfrog step)",
        ))  # fmt: skip
    return records


def nuts_records(fit, posterior, budget: int) -> list[dict]:
    """The capped chain itself and the per-parameter agreement with the composite fit."""
    n = fit.n_events
    leapfrogs = posterior.n_gradient_evaluations / (2 * budget)
    records = [record(
        f"nuts_capped_n{n}", posterior.seconds, "s", "report", num_warmup=budget,
        num_samples=budget, n_gradient_evaluations=posterior.n_gradient_evaluations,
        leapfrogs_per_iteration=leapfrogs,
        seconds_per_gradient=posterior.seconds / max(posterior.n_gradient_evaluations, 1),
        num_divergences=posterior.num_divergences,
        notes="wall time incl. compilation; started at the composite estimate",
    )]  # fmt: skip
    draws = np.asarray(posterior.unconstrained_samples)
    mean, sd = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    estimate = np.asarray(fit.unconstrained)
    se = np.asarray(fit.unconstrained_standard_errors)
    for i, name in enumerate(fit.unconstrained_names):
        distance = abs(estimate[i] - mean[i])
        records.append(record(
            f"agreement_n{n}_{name}", float(distance / sd[i]), "NUTS sd", "<= 1",
            composite=float(estimate[i]), composite_se=float(se[i]), nuts_mean=float(mean[i]),
            nuts_sd=float(sd[i]), composite_se_units=float(distance / se[i]),
            notes=f"unconstrained scale; capped NUTS chain ({budget}+{budget}), short",
        ))  # fmt: skip
    return records


def scaling_records(composite, exact_sizes, exact_seconds, fit_sizes, gradients) -> list[dict]:
    rows = (
        ("composite_value", composite["size"], composite["value"], "≈ 2"),
        ("composite_value_and_grad", composite["size"], composite["value_and_grad"], "≈ 2"),
        ("pair_sum", composite["size"], composite["pair_sum"], "≈ 2"),
        ("exact_value_and_grad", list(exact_sizes), exact_seconds, "≈ 3"),
        ("nuts_gradient", list(fit_sizes), gradients, "report"),
    )
    return [
        record(f"{name}_exponent", exponent(sizes, seconds), "exponent", target,
               sizes=sizes, seconds=seconds, fitted_over=sizes[-3:])
        for name, sizes, seconds, target in rows
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def run(quick: bool) -> dict:
    config = QUICK if quick else FULL
    repeats, budget = config["repeats"], config["nuts_budget"]
    load_before = os.getloadavg()[0]
    cats, fits, gradient_seconds = {}, {}, {}
    for n in config["fit_sizes"]:
        cats[n] = cat = catalogue(n)
        progress(f"simulated n={n}: {cat.n_events} events")
        fits[n] = gp.fit_gp(cat, reference_magnitude=MREF, method="composite",
                            n_bootstrap=config["n_bootstrap"])  # fmt: skip
        gradient_seconds[n] = nuts_gradient_seconds(cat, repeats)
        progress(f"n={n} ({cat.n_events} events): composite fit {fits[n].seconds:.1f} s "
                 f"(converged {fits[n].converged}), NUTS gradient "
                 f"{gradient_seconds[n]:.3g} s")  # fmt: skip
    n0 = config["fit_sizes"][0]
    progress(f"capped NUTS n={n0} ({budget}+{budget}) ...")
    posterior = capped_nuts(cats[n0], fits[n0].unconstrained, budget)
    leapfrogs = posterior.n_gradient_evaluations / (2 * budget)
    progress(f"capped NUTS: {posterior.seconds:.1f} s, "
             f"{leapfrogs:.1f} leapfrogs/iteration, "
             f"{posterior.num_divergences} divergences")  # fmt: skip
    composite = composite_timings(config["composite_sizes"], repeats)
    exact_seconds = exact_timings(config["exact_sizes"], repeats)
    records = (
        fit_records(fits, gradient_seconds, leapfrogs, n0)
        + nuts_records(fits[n0], posterior, budget)
        + scaling_records(composite, config["exact_sizes"], exact_seconds,
                          [fit.n_events for fit in fits.values()],
                          list(gradient_seconds.values()))
    )  # fmt: skip
    devices = jax.devices()
    return {
        "part": "aftershock",
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} "
        f"{os.cpu_count()} cpus",
        "jax": jax.__version__,
        "devices": f"{devices[0].platform} x{len(devices)}"
        + ("" if devices[0].platform == "cpu" else f" ({devices[0].device_kind})"),
        "quick": quick,
        "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "notes": "composite_fit_n*: value = fit_gp(method='composite', "
        f"n_bootstrap={config['n_bootstrap']}).seconds (compile + optax + Hessian + Godambe "
        "bootstrap); baseline_value = EXTRAPOLATED exact-GP NUTS time for 1000 warm-up + 1000 "
        f"draws = {REFERENCE_ITERATIONS} x L x g(n), L = leapfrogs/iteration of a capped "
        f"{budget}+{budget} chain at n={n0} (sampling-phase tree sizes), g(n) = best jitted "
        "value_and_grad of the NUTS potential at n; excludes compilation and numpyro overhead "
        "and assumes L does not grow with n (favours NUTS); no full chain was run. "
        f"ratio = speed-up, target >= 1000 for n >= {SPEEDUP_FROM}. agreement_*: "
        "|composite - NUTS mean| / NUTS sd on the unconstrained scale from the capped (short, "
        "hence noisy) chain. *_exponent: log-log slope of best-of-3 jitted evaluation times "
        f"over the 3 largest sizes ('≈ x' met within ±{APPROX_TOLERANCE}). load_average_1min "
        "(start, end) shows how busy the shared CPU was",
        "records": records,
    }


def print_table(result: dict) -> None:
    print(f"\naftershock benchmark  jax {result['jax']}  devices: {result['devices']}  "
          f"quick={result['quick']}")  # fmt: skip
    header = (f"{'name':34s} {'value':>9s} {'unit':10s} {'base val':>9s} {'ratio':>8s}  "
              "target")  # fmt: skip
    print(header)
    print("-" * (len(header) + 10))
    for rec in result["records"]:
        base = "" if rec["baseline_value"] is None else f"{rec['baseline_value']:.3g}"
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.3g}"
        status = {None: "", True: "ok", False: "MISSED"}[meets(rec)]
        print(f"{rec['name']:34s} {rec['value']:9.3g} {rec['unit']:10s} {base:>9s} "
              f"{ratio:>8s}  {rec['target']} {status}")  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and budgets, for CI")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("aftershock_quick.json" if args.quick else "aftershock.json")
    start = time.perf_counter()
    result = run(args.quick)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
