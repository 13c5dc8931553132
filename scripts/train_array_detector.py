"""Train the graph-partitioned array earthquake detector on synthetic array data.

Builds a jittered-grid array, partitions it into station groups (`partition_stations`), generates
training / validation / test windows (`synthetic_array_windows`), trains `ArrayDetector` with
`sjax.detect.train.fit` and random station dropout, chooses the decision threshold on the
validation windows at a target false-positive rate, and reports recall and false-positive rate
on the held-out test windows with all stations and with half of them removed (a random half per
window). The weights are saved with `save_weights` (msgpack, no pickle).

Usage:
    python scripts/train_array_detector.py [--train 8192] [--epochs 12] [--out PATH]

Load the result with ``load_weights(path, ArrayDetector(groups, n_samples=..., rngs=...,
channels=...))`` built with the same arguments (the printed configuration).
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sjax.detect.array import (
    ArrayDetector,
    detection_rates,
    partition_stations,
    station_dropout,
    synthetic_array_windows,
    threshold_at_false_positive_rate,
)
from sjax.detect.train import fit, predict_logits, save_weights

DEFAULT_OUT = "sjax/detect/weights/array_detector.msgpack"


def grid_array(key: jax.Array, n_side: int, spacing: float, jitter: float) -> np.ndarray:
    """``(n_side², 2)`` station coordinates (east, north) in km: a square grid with spacing
    ``spacing`` km, each station displaced uniformly by up to ``±jitter`` km per axis."""
    axis = np.arange(n_side) * spacing
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    shift = jax.random.uniform(key, grid.shape, minval=-jitter, maxval=jitter)
    return grid + np.asarray(shift, np.float64)


def half_mask(key: jax.Array, mask) -> np.ndarray:
    """A copy of ``mask (n, s)`` keeping a random ``⌈s/2⌉`` stations per window (half removed)."""
    n, s = np.shape(mask)
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(key, (n, s)), axis=-1), axis=-1)
    return np.asarray(mask) & np.asarray(rank >= s // 2)


def earthquake_probability(model, waveforms, mask) -> np.ndarray:
    """``(n,)`` earthquake probabilities of ``model`` (inference mode)."""
    logits = predict_logits(model, (waveforms, mask))
    return np.asarray(jax.nn.softmax(jnp.asarray(logits), axis=-1)[:, 1])


def as_numpy(windows):
    """The arrays of `ArrayWindows` as host numpy arrays (batches are cut on the host)."""
    return windows._replace(waveforms=np.asarray(windows.waveforms), mask=np.asarray(windows.mask),
                            labels=np.asarray(windows.labels))  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=4, help="stations per grid side (4 -> 16)")
    parser.add_argument("--spacing", type=float, default=5.0, help="grid spacing in km")
    parser.add_argument("--groups", type=int, default=4, help="number of station groups")
    parser.add_argument("--sampling-rate", type=float, default=50.0, help="Hz")
    parser.add_argument("--window", type=float, default=8.0, help="window length in s")
    parser.add_argument("--train", type=int, default=8192, help="training windows")
    parser.add_argument("--val", type=int, default=2048, help="validation windows")
    parser.add_argument("--test", type=int, default=4096, help="test windows")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--channels", default="8,16,16,16", help="comma-separated channels")
    parser.add_argument("--fusion", default="probability", choices=("probability", "log_odds"))
    parser.add_argument("--max-dropout", type=float, default=0.5,
                        help="largest fraction of stations removed per training window")
    parser.add_argument("--target-fpr", type=float, default=0.03,
                        help="false-positive rate at which the threshold is chosen (validation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="weights file (msgpack)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    key = jax.random.key(args.seed)
    k_layout, k_train, k_val, k_test, k_init, k_fit, k_half = jax.random.split(key, 7)
    coordinates = grid_array(k_layout, args.side, args.spacing, jitter=0.3 * args.spacing)
    groups = partition_stations(coordinates, args.groups)
    data = functools.partial(synthetic_array_windows, coordinates=coordinates,
                             sampling_rate=args.sampling_rate, window_seconds=args.window)
    train = as_numpy(data(k_train, n=args.train))
    val = as_numpy(data(k_val, n=args.val))
    test = as_numpy(data(k_test, n=args.test))
    n_samples = train.waveforms.shape[2]
    generated = time.perf_counter()

    channels = tuple(int(c) for c in args.channels.split(","))
    model = ArrayDetector(groups, n_samples=n_samples, channels=channels, fusion=args.fusion,
                          rngs=nnx.Rngs(int(jax.random.randint(k_init, (), 0, 2**31 - 1))))
    model, history = fit(
        model, ((train.waveforms, train.mask), train.labels),
        ((val.waveforms, val.mask), val.labels), key=k_fit, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
        augment=functools.partial(station_dropout, max_fraction=args.max_dropout),
    )  # fmt: skip
    trained = time.perf_counter()

    threshold = threshold_at_false_positive_rate(
        earthquake_probability(model, val.waveforms, val.mask), val.labels, args.target_fpr
    )
    half = half_mask(k_half, test.mask)
    p_all = earthquake_probability(model, test.waveforms, test.mask)
    p_half = earthquake_probability(model, test.waveforms, half)
    recall_all, fpr_all = detection_rates(p_all, test.labels, threshold)
    recall_half, fpr_half = detection_rates(p_half, test.labels, threshold)
    noise = test.labels == 0
    hard = noise & np.asarray(np.any(test.transient > 0, axis=1))
    result = {
        "config": {k: v for k, v in vars(args).items()},
        "stations": int(coordinates.shape[0]),
        "groups": groups.indices.tolist(),
        "n_samples": int(n_samples),
        "threshold": threshold,
        "all_stations": {"recall": recall_all, "false_positive_rate": fpr_all},
        "half_removed": {"recall": recall_half, "false_positive_rate": fpr_half},
        "false_positive_rate_with_transients": {
            "all_stations": float(np.mean(p_all[hard] >= threshold)),
            "half_removed": float(np.mean(p_half[hard] >= threshold)),
        },
        "best_epoch": history.best_epoch,
        "val_loss": [round(v, 4) for v in history.val_loss],
        "seconds": {"data": round(generated - start, 1), "fit": round(trained - generated, 1)},
    }
    print(json.dumps(result))
    hard_fpr = result["false_positive_rate_with_transients"]
    print(f"threshold {threshold:.3f} (validation FPR <= {args.target_fpr:g}); test: all stations "
          f"recall {recall_all:.3f} FPR {fpr_all:.3f} (with transients "
          f"{hard_fpr['all_stations']:.3f}); half removed recall {recall_half:.3f} FPR "
          f"{fpr_half:.3f} (with transients "
          f"{hard_fpr['half_removed']:.3f}); fit {result['seconds']['fit']} s")  # fmt: skip
    if args.out:
        print("weights:", save_weights(args.out, model))
    return result


if __name__ == "__main__":
    main()
