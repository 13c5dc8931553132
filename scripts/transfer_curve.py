"""Transfer learning of the spectrogram classifier to a shifted domain, versus from scratch.

    python scripts/transfer_curve.py [--quick] [--out benchmarks/results/transfer_curve.json]

1. Trains a source `SpectrogramClassifier` on `event_class_records` (30-s records at 100 Hz,
   broadband velocity, ``1/f`` noise).
2. Draws the target domain with `shifted_domain_records` (50 Hz, ``1/f²`` noise above 1 Hz,
   1-Hz seismometer; see `sjax.detect.transfer`) — train and test sets from separate keys.
3. `transfer_curve` at 1 %, 10 % and 100 % of the target training data: zero shot, head-only
   fine-tuning, all-layer fine-tuning and training from scratch with the same data and steps.

Both domains share a hard version of the task (``TASK``: earthquake SNR 3–10, tremor SNR
0.5–1.5, half the noise records with a teleseism) so that accuracy is not saturated with little
data. Prints a table and writes the sizes, seeds, accuracies and wall times to JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from sjax.detect.spectrogram import SpectrogramClassifier
from sjax.detect.train import fit, predict_logits
from sjax.detect.transfer import shifted_domain_records, transfer_curve
from sjax.detect.tremor import event_class_records

TASK = dict(snr=(3.0, 10.0), tremor_snr=(0.5, 1.5), teleseism_fraction=0.5)
DURATION = 30.0  # s
SOURCE_RATE, TARGET_RATE = 100.0, 50.0  # Hz
SEEDS = dict(source_data=0, source_test=1, source_init=2, source_shuffle=3, target_train=4,
             target_test=5, curve=6)  # fmt: skip
FULL = dict(source=1500, source_test=300, source_epochs=8, target_train=2000, target_test=600,
            steps=300, repeats=2)  # fmt: skip
QUICK = dict(source=300, source_test=150, source_epochs=3, target_train=300, target_test=150,
             steps=30, repeats=1)  # fmt: skip


def _arrays(records):
    return np.asarray(records.waveforms), np.asarray(records.labels)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--out", default="benchmarks/results/transfer_curve.json")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    key = {name: jax.random.key(seed) for name, seed in SEEDS.items()}
    clock = time.perf_counter()

    source_train = _arrays(event_class_records(key["source_data"], sizes["source"],
                                               duration=DURATION, sampling_rate=SOURCE_RATE,
                                               **TASK))  # fmt: skip
    source_test = _arrays(event_class_records(key["source_test"], sizes["source_test"],
                                              duration=DURATION, sampling_rate=SOURCE_RATE,
                                              **TASK))  # fmt: skip
    source, _ = fit(SpectrogramClassifier(SOURCE_RATE, rngs=nnx.Rngs(SEEDS["source_init"])),
                    source_train, key=key["source_shuffle"], epochs=sizes["source_epochs"],
                    batch_size=32, learning_rate=3e-3)  # fmt: skip
    source_accuracy = float(np.mean(
        predict_logits(source, source_test[0]).argmax(-1) == source_test[1]))  # fmt: skip
    source_seconds = time.perf_counter() - clock

    target_train = _arrays(shifted_domain_records(key["target_train"], sizes["target_train"],
                                                  sampling_rate=TARGET_RATE, duration=DURATION,
                                                  **TASK))  # fmt: skip
    target_test = _arrays(shifted_domain_records(key["target_test"], sizes["target_test"],
                                                 sampling_rate=TARGET_RATE, duration=DURATION,
                                                 **TASK))  # fmt: skip
    image_shapes = {
        "source": list(source.images(source_train[0][:1]).shape[1:]),
        "target": list(SpectrogramClassifier(TARGET_RATE, rngs=nnx.Rngs(0))
                       .images(target_train[0][:1]).shape[1:]),
    }  # fmt: skip
    curve_clock = time.perf_counter()
    curve = transfer_curve(key["curve"], source, target_train, target_test,
                           sampling_rate=TARGET_RATE, steps=sizes["steps"],
                           repeats=sizes["repeats"])  # fmt: skip
    curve_seconds = time.perf_counter() - curve_clock

    print(f"source accuracy (source test, {sizes['source_test']}): {source_accuracy:.3f}; "
          f"zero-shot on target test: {curve.zero_shot:.3f}")  # fmt: skip
    print(f"{'fraction':>8} {'n':>5} {'steps':>5} {'head':>6} {'all':>6} {'scratch':>7} "
          f"{'gain':>6}")  # fmt: skip
    rows = []
    for i, fraction in enumerate(curve.fractions):
        head, every, scratch = (float(a[i].mean()) for a in
                                (curve.head, curve.all_layers, curve.scratch))  # fmt: skip
        best = max(head, every)
        print(f"{fraction:8.2f} {curve.train_sizes[i]:5d} {curve.steps[i]:5d} {head:6.3f} "
              f"{every:6.3f} {scratch:7.3f} {best - scratch:+6.3f}")  # fmt: skip
        rows.append({
            "fraction": float(fraction), "train_size": int(curve.train_sizes[i]),
            "steps": int(curve.steps[i]), "zero_shot": curve.zero_shot,
            "head": curve.head[i].tolist(), "all_layers": curve.all_layers[i].tolist(),
            "scratch": curve.scratch[i].tolist(), "head_mean": head, "all_layers_mean": every,
            "scratch_mean": scratch, "gain_best_transfer_vs_scratch": best - scratch,
        })  # fmt: skip
    result = {
        "task": {k: list(v) if isinstance(v, tuple) else v for k, v in TASK.items()},
        "duration_s": DURATION,
        "source_domain": {"sampling_rate_hz": SOURCE_RATE, "noise_exponent": 1.0,
                          "noise_corner_hz": 0.5, "instrument": "flat velocity"},
        "target_domain": {"sampling_rate_hz": TARGET_RATE, "noise_exponent": 2.0,
                          "noise_corner_hz": 1.0,
                          "instrument": "1 Hz seismometer, damping 0.707"},
        "image_shapes": image_shapes,
        "sizes": sizes,
        "seeds": SEEDS,
        "source_accuracy_on_source_test": source_accuracy,
        "curve": rows,
        "wall_seconds": {"source_data_and_training": source_seconds,
                         "transfer_curve": curve_seconds,
                         "total": time.perf_counter() - clock},
        "devices": [str(d) for d in jax.devices()],
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({result['wall_seconds']['total']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
