"""Composite-likelihood GP fit against the exact-GP NUTS posterior on n ≈ 300 (issue 3, test 3).

    python benchmarks/aftershock_nuts.py [--quick]

A catalogue is simulated from the GP model itself (μ(t) drawn from the GP prior, n ≈ 300,
the setting of the exact-fit recovery test). Three estimates of the nine unconstrained
parameters (`sjax.aftershock.gp.GP_NAMES`) are compared:

* **NUTS** — the exact GP model (`sample_gp_nuts`: all n latents sampled, exact likelihood),
  started at the composite estimate; the reference posterior;
* **composite** — `fit_gp(method="composite")`: the curvature-adjusted composite posterior
  (Godambe information + prior, `adjusted_composite_posterior`);
* **exact Laplace** — `fit_gp(method="exact")` with ``H⁻¹`` standard errors (for context).

For each parameter the script records ``|estimate − NUTS mean| / NUTS sd`` (target ≤ 1) and
``standard error / NUTS sd`` (target ≥ 0.7: intervals not narrower than the exact ones by
more than 30 %), with the chain's effective sample sizes (numpyro's estimator) and
divergences. Prints a table and writes ``benchmarks/results/aftershock_nuts.json``.
Full size: 500 warm-up + 1000 draws (41 minutes on 2 cores); ``--quick``: 10 + 10 (CI smoke).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # spinning BLAS threads slow the Cholesky

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from numpyro.diagnostics import effective_sample_size  # noqa: E402

from sjax.aftershock import gp, simulate_catalog  # noqa: E402
from sjax.aftershock.nuts import sample_gp_nuts  # noqa: E402

MREF = 6.5
END = 2.0  # days
Z_TRUE = (math.log(0.005), math.log(0.01), 1.1, 0.0, math.log(0.25), 4.3, -0.3,
          math.log(0.2), math.log(1.5))  # fmt: skip
FULL = {"num_warmup": 500, "num_samples": 1000, "n_bootstrap": 50}
QUICK = {"num_warmup": 10, "num_samples": 10, "n_bootstrap": 10}
AGREEMENT = 1.0  # |composite - NUTS mean| <= this many NUTS sd
WIDTH = 0.7  # composite SE >= this fraction of the NUTS sd
RESULTS = Path(__file__).resolve().parent / "results"


def gp_catalogue():
    """The n ≈ 300 catalogue simulated from the GP model (μ drawn from its prior)."""
    z_true = jnp.asarray(Z_TRUE)
    mu = gp.draw_gp_mu(jax.random.key(101), z_true, gp.GPConfig(MREF), END)
    return simulate_catalog(jax.random.key(1), gp.unpack(z_true)[0], mu, start=0.0, end=END,
                            reference_magnitude=MREF)  # fmt: skip


def compare(name, estimate, se, nuts_mean, nuts_sd) -> list[dict]:
    """Per parameter, an agreement record (``|estimate − NUTS mean| / NUTS sd``, target ≤ 1)
    and a width record (``standard error / NUTS sd``, target ≥ 0.7) of one estimator."""
    records = []
    for i, parameter in enumerate(gp.GP_NAMES):
        common = {"baseline": "exact_gp_nuts", "baseline_value": float(nuts_sd[i]),
                  "estimate": float(estimate[i]), "standard_error": float(se[i]),
                  "nuts_mean": float(nuts_mean[i]), "nuts_sd": float(nuts_sd[i])}  # fmt: skip
        distance = abs(float(estimate[i]) - float(nuts_mean[i])) / float(nuts_sd[i])
        width = float(se[i]) / float(nuts_sd[i])
        records.append({"name": f"{name}_{parameter}_distance", "value": distance,
                        "unit": "NUTS sd", "ratio": None, "target": f"<= {AGREEMENT}",
                        **common})  # fmt: skip
        records.append({"name": f"{name}_{parameter}_width", "value": width,
                        "unit": "standard error / NUTS sd", "ratio": width,
                        "target": f">= {WIDTH}", **common})  # fmt: skip
    return records


def meets(record) -> bool:
    op, bound = record["target"].split()
    return record["value"] <= float(bound) if op == "<=" else record["value"] >= float(bound)


def print_table(records) -> None:
    print(f"{'record':<40} {'estimate':>9} {'se':>7} {'NUTS mean':>9} {'NUTS sd':>7} "
          f"{'value':>6} {'target':>7}")  # fmt: skip
    for r in records:
        print(f"{r['name']:<40} {r['estimate']:>9.4f} {r['standard_error']:>7.4f} "
              f"{r['nuts_mean']:>9.4f} {r['nuts_sd']:>7.4f} {r['value']:>6.2f} "
              f"{r['target']:>7}{'' if meets(r) else '  <- not met'}")  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short chain (smoke test)")
    parser.add_argument("--out", default=None, help="JSON path (default: results/)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    catalog = gp_catalogue()
    print(f"catalogue: {catalog.n_events} events on [0, {END}] days", flush=True)

    composite = gp.fit_gp(catalog, reference_magnitude=MREF, method="composite",
                          n_bootstrap=size["n_bootstrap"], key=jax.random.key(2))  # fmt: skip
    print(f"composite fit: {composite.seconds:.1f} s, converged {composite.converged}", flush=True)
    exact = gp.fit_gp(catalog, reference_magnitude=MREF, method="exact")
    print(f"exact Laplace fit: {exact.seconds:.1f} s, converged {exact.converged}", flush=True)

    posterior = sample_gp_nuts(jax.random.key(3), catalog, reference_magnitude=MREF,
                               num_warmup=size["num_warmup"], num_samples=size["num_samples"],
                               initial=composite.unconstrained, progress=True)  # fmt: skip
    draws = posterior.unconstrained_samples
    nuts_mean, nuts_sd = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    ess = effective_sample_size(draws[None])
    print(f"NUTS: {posterior.seconds:.0f} s, {posterior.n_gradient_evaluations} gradients, "
          f"{posterior.num_divergences} divergences, ESS {ess.min():.0f}-{ess.max():.0f}",
          flush=True)  # fmt: skip

    composite_records = compare("composite", composite.unconstrained,
                                composite.unconstrained_standard_errors, nuts_mean, nuts_sd)
    exact_records = compare("exact_laplace", exact.unconstrained,
                            exact.unconstrained_standard_errors, nuts_mean, nuts_sd)
    print_table(composite_records + exact_records)
    result = {
        "part": "aftershock_nuts",
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "jax": jax.__version__,
        "devices": f"{jax.devices()[0].platform} x{jax.device_count()}",
        "quick": bool(args.quick),
        "n_events": int(catalog.n_events),
        "true_unconstrained": dict(zip(gp.GP_NAMES, Z_TRUE)),
        "nuts": {
            "num_warmup": size["num_warmup"], "num_samples": size["num_samples"],
            "seconds": posterior.seconds, "gradients": posterior.n_gradient_evaluations,
            "divergences": posterior.num_divergences,
            "effective_sample_size": dict(zip(gp.GP_NAMES, map(float, ess))),
        },  # fmt: skip
        "composite_seconds": composite.seconds,
        "composite_n_bootstrap": size["n_bootstrap"],
        "exact_laplace_seconds": exact.seconds,
        "composite_targets_met": sum(map(meets, composite_records)),
        "composite_records": len(composite_records),
        "records": composite_records + exact_records,
        "notes": "unconstrained scale (log k, log c, p, log b, log sigma, mu mean, mu slope, "
                 "log amplitude, log length scale); NUTS started at the composite estimate, "
                 "one chain, max tree depth 8",
    }  # fmt: skip
    output = Path(args.out) if args.out else RESULTS / (
        "aftershock_nuts_quick.json" if args.quick else "aftershock_nuts.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1))
    print(f"wrote {output}")
    return result


if __name__ == "__main__":
    main()
