"""Train the detector weights shipped in ``sjax/detect/weights/`` on sjax's own synthetic data.

    python scripts/train_detectors.py                    # all models, full size (GPU: minutes)
    python scripts/train_detectors.py --models gpd --out /tmp/weights

Each model's recipe lives in `sjax.detect.pretrained` (seeded: the same run gives the same
weights on the same platform). Besides ``<name>.msgpack`` the script writes
``<name>_training.json`` with the per-epoch history, the sizes and the wall time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

from sjax.detect import pretrained
from sjax.detect.train import save_weights

RECIPES = {
    "gpd": lambda key, quick: pretrained.train_gpd(
        key, n_records=200 if quick else 20000, epochs=1 if quick else 3
    ),
    "tremor_resnet": lambda key, quick: pretrained.train_tremor_resnet(
        key, n_pages=40 if quick else 1500, epochs=2 if quick else 8
    ),
    # the published weights fine-tuned on the same synthetics (not shipped: a comparison)
    "gpd_from_ross2018": lambda key, quick: pretrained.train_gpd(
        key, n_records=200 if quick else 12000, epochs=1,
        learning_rate=3e-4, init="ross2018",
    ),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(RECIPES), help="comma-separated subset")
    parser.add_argument("--out", default=str(pretrained.WEIGHTS_DIR), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {sorted(RECIPES)}")
    out = Path(args.out)
    print(f"devices: {jax.devices()}")
    for name in names:
        start = time.perf_counter()
        seed = args.seed * 1000 + list(RECIPES).index(name)  # the same whatever --models says
        model, history = RECIPES[name](jax.random.key(seed), args.quick)
        seconds = time.perf_counter() - start
        path = save_weights(out / f"{name}.msgpack", model)
        report = {"model": name, "seed": seed, "seconds": seconds, "device": str(jax.devices()[0]),
                  "jax": jax.__version__, "quick": args.quick, **history._asdict()}  # fmt: skip
        (out / f"{name}_training.json").write_text(json.dumps(report, indent=1))
        best = history.best_epoch
        val = history.val_accuracy[best] if history.val_accuracy else float("nan")
        print(f"{name}: {seconds:.0f} s, best epoch {best}, validation accuracy {val:.4f}: {path}")


if __name__ == "__main__":
    main()
