"""Transfer learning of `SpectrogramClassifier` to a shifted domain: frozen backbone by NNX
filters, fine-tuning, and the gain over training from scratch versus the amount of target data.

**The shift** (`shifted_domain_records`). The source domain is `event_class_records` as
recorded by a broadband velocity sensor at 100 Hz with ``1/f`` noise above 0.5 Hz. The target
domain changes three things at once, for all three classes:

* **sampling rate** 50 Hz instead of 100 Hz. The classifier's STFT is specified in seconds and
  Hz, so the same weights read 50-Hz records (`at_sampling_rate`): a 2.56-s window is 256
  samples at 100 Hz and 128 at 50 Hz, both with bins every 0.390625 Hz, and a 30-s record gives
  the same ``(22, 50, 3)`` image at either rate (22 frames with a 1.28-s hop, 50 bins in
  0.5–20 Hz). The rate change alone costs the source model almost nothing;
* **noise colour**: power ``∝ 1/max(f, 1 Hz)²`` (``noise_exponent=2``, ``noise_corner=1``)
  instead of ``1/max(f, 0.5 Hz)``: a noisier site at low frequency (stronger microseism and
  cultural noise below a few Hz) and relatively quieter above;
* **instrument**: a short-period moving-coil seismometer (natural frequency 1 Hz, damping
  0.707; `geophone_response`) in place of the flat velocity response: ground velocity is
  high-passed as ``(f/f0)²`` below ``f0``, with the sensor's phase shift.

The record amplitudes are the instrument's output (ground-velocity units above ``f0``); the
classifier normalises every record by its RMS, so absolute gain is irrelevant.

**Fine-tuning** (`fine_tune`): `sjax.detect.train.fit` with ``wrt=`` `head_filter` (only the
dense head, attributes `HEAD_LAYERS`, is trained; the convolutional backbone's parameters stay
bit-identical, while its batch-norm running statistics still adapt to the target domain in
training mode) or with all parameters.

**The curve** (`transfer_curve`): for stratified subsets of the target training data, the
target test accuracy of the source model as is, of head-only and all-layer fine-tuning, and of
the same architecture trained from scratch with the same data and the same number of optimiser
steps.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sjax.detect.spectrogram import EVENT_CLASSES, SpectrogramClassifier, spectrogram_axes
from sjax.detect.train import History, fit, predict_logits
from sjax.detect.tremor import ClassRecords, event_class_records

__all__ = [
    "HEAD_LAYERS",
    "TransferCurve",
    "geophone_response",
    "shifted_domain_records",
    "at_sampling_rate",
    "head_filter",
    "backbone_filter",
    "fine_tune",
    "stratified_indices",
    "transfer_curve",
]

HEAD_LAYERS: tuple[str, ...] = ("hidden", "output")
"""Attribute names of `SpectrogramClassifier`'s dense head; everything else is the backbone."""


def geophone_response(
    frequencies, natural_frequency: float, damping: float = 0.707
) -> np.ndarray:
    """Velocity-to-output response of a moving-coil seismometer (geophone), unit gain.

    ``H(f) = −(f/f0)² / (1 − (f/f0)² + 2i·h·f/f0)``, i.e. the analogue transfer function
    ``s² / (s² + 2h·ω0·s + ω0²)`` at ``s = 2πi f`` (time dependence ``e^{+2πi f t}``, the
    convention of ``numpy.fft.irfft``; causal). ``|H| → 1`` well above ``f0`` and
    ``≈ (f/f0)²`` well below; ``H(0) = 0``.

    Args:
        frequencies: ``(...)`` frequencies in Hz (>= 0).
        natural_frequency: ``f0`` in Hz (> 0).
        damping: ``h``, fraction of critical damping (> 0).

    Returns:
        ``(...)`` complex128 NumPy array.

    Raises:
        ValueError: for a non-positive ``natural_frequency`` or ``damping``.
    """
    f0, h = float(natural_frequency), float(damping)
    if not (math.isfinite(f0) and f0 > 0):
        raise ValueError(f"natural_frequency={natural_frequency} Hz must be positive and finite")
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"damping={damping} must be positive and finite")
    ratio = np.asarray(frequencies, np.float64) / f0
    return -(ratio**2) / (1.0 - ratio**2 + 2j * h * ratio)


@functools.partial(jax.jit, static_argnames="n_samples")
def _apply_response(waveforms, response, *, n_samples: int):
    """Linear (not circular) filtering of ``(n, s, 3)`` records by a one-sided response
    sampled on ``rfftfreq(2 s)``: zero-pad to twice the length, multiply, crop."""
    spectrum = jnp.fft.rfft(waveforms, n=2 * n_samples, axis=1)
    filtered = jnp.fft.irfft(spectrum * response[None, :, None], n=2 * n_samples, axis=1)
    return filtered[:, :n_samples]


def shifted_domain_records(
    key: jax.Array,
    n: int,
    *,
    sampling_rate: float = 50.0,
    duration: float = 30.0,
    noise_exponent: float = 2.0,
    noise_corner: float = 1.0,
    natural_frequency: float | None = 1.0,
    damping: float = 0.707,
    dtype=jnp.float32,
    **record_kwargs,
) -> ClassRecords:
    """Earthquake / tremor / noise records of the shifted target domain (see the module doc).

    `event_class_records` drawn with ``key`` at ``sampling_rate`` with the ``noise_exponent`` /
    ``noise_corner`` noise model, then every record (all classes, all components) passed
    through `geophone_response` (linear convolution by FFT on a zero-padded record). Pure: the
    same key gives the same records.

    Args:
        key: ``jax.random`` key.
        n: number of records (>= 3; balanced classes as in `event_class_records`).
        sampling_rate: Hz (> 32 Hz, the limit of `event_class_records`).
        duration: record length in s.
        noise_exponent, noise_corner: the ``1/max(f, corner)^exponent`` noise power spectrum
            (Hz for the corner).
        natural_frequency: seismometer natural frequency in Hz; ``None`` keeps the flat
            velocity response (no instrument shift).
        damping: seismometer damping (fraction of critical).
        dtype: output float dtype.
        **record_kwargs: further `event_class_records` arguments (``snr``, ``tremor_snr``,
            ``tremor_duration``, ``teleseism_fraction``, ``teleseism_snr``).

    Returns:
        `ClassRecords`: ``(n, round(duration · sampling_rate), 3)`` waveforms (instrument
        output, components N, E, Z last) and ``(n,)`` int32 labels in `EVENT_CLASSES` order.

    Raises:
        ValueError: naming the argument, for a bad ``natural_frequency`` / ``damping`` and the
            cases of `event_class_records`.
    """
    if natural_frequency is not None:
        geophone_response(1.0, natural_frequency, damping)  # validates both
    work = jnp.result_type(float)
    records = event_class_records(
        key, n, duration=duration, sampling_rate=sampling_rate, noise_exponent=noise_exponent,
        noise_corner=noise_corner, dtype=work, **record_kwargs,
    )  # fmt: skip
    waveforms = records.waveforms
    if natural_frequency is not None:
        n_samples = waveforms.shape[1]
        frequencies = np.fft.rfftfreq(2 * n_samples, 1.0 / float(sampling_rate))
        response = geophone_response(frequencies, natural_frequency, damping)
        waveforms = _apply_response(waveforms, jnp.asarray(response, jnp.result_type(1j)),
                                    n_samples=n_samples)  # fmt: skip
    return ClassRecords(waveforms=waveforms.astype(dtype), labels=records.labels)


def _check_classifier(model) -> None:
    if not isinstance(model, SpectrogramClassifier):
        raise TypeError(f"model must be a SpectrogramClassifier, got {type(model).__name__}")


def at_sampling_rate(model: SpectrogramClassifier, sampling_rate: float) -> SpectrogramClassifier:
    """A copy of ``model`` with the same weights that reads records sampled at ``sampling_rate``.

    Valid because the STFT front-end is specified in seconds and Hz: the copy's frequency bins
    must equal the original's (same count, frequencies within 1 % of a bin spacing), so every
    weight sees the same physical frequency. The time axis scales with the record duration only.

    Args:
        model: a `SpectrogramClassifier` (not modified).
        sampling_rate: Hz of the records the copy will read.

    Returns:
        The copy (same variables, ``stft["sampling_rate"]`` replaced).

    Raises:
        TypeError: if ``model`` is not a `SpectrogramClassifier`.
        ValueError: if ``fmax`` exceeds the new Nyquist frequency or the frequency bins differ
            (e.g. a window that is not a whole number of samples at the new rate).
    """
    _check_classifier(model)
    settings = {k: v for k, v in model.stft.items() if k not in ("sampling_rate", "eps")}
    old_rate = model.stft["sampling_rate"]
    window = settings["window_seconds"]

    def axis(rate):
        n_samples = max(2, int(round(window * rate)))
        return spectrogram_axes(n_samples, rate, **settings).frequencies

    old, new = axis(old_rate), axis(float(sampling_rate))
    spacing = 1.0 / window
    if old.shape != new.shape or np.max(np.abs(old - new)) > 0.01 * spacing:
        raise ValueError(
            f"sampling_rate={sampling_rate:g} Hz gives {len(new)} frequency bins from "
            f"{new[0]:g} Hz, but the model was trained on {len(old)} bins from {old[0]:g} Hz "
            f"at {old_rate:g} Hz: window_seconds={window:g} s must be a whole number of "
            "samples at both rates"
        )
    copy = nnx.clone(model)
    copy.stft = {**model.stft, "sampling_rate": float(sampling_rate)}
    return copy


def head_filter(model: SpectrogramClassifier):
    """NNX filter of the trainable head of a `SpectrogramClassifier`: the `nnx.Param` variables
    of the dense layers `HEAD_LAYERS` (hidden and output), selected by path.

    Raises:
        TypeError: if ``model`` is not a `SpectrogramClassifier`.
    """
    _check_classifier(model)
    return nnx.All(nnx.Param, nnx.Any(*(nnx.PathContains(name) for name in HEAD_LAYERS)))


def backbone_filter(model: SpectrogramClassifier):
    """NNX filter of the backbone parameters of a `SpectrogramClassifier`: every `nnx.Param`
    outside `HEAD_LAYERS` (convolution kernels and biases, batch-norm scales and offsets).

    Raises:
        TypeError: if ``model`` is not a `SpectrogramClassifier`.
    """
    _check_classifier(model)
    return nnx.All(nnx.Param, nnx.Not(nnx.Any(*(nnx.PathContains(n) for n in HEAD_LAYERS))))


def fine_tune(
    model: SpectrogramClassifier,
    train,
    validation=None,
    *,
    key: jax.Array,
    freeze_backbone: bool = True,
    **fit_kwargs,
) -> tuple[SpectrogramClassifier, History]:
    """Fine-tune a copy of a (pre-trained) `SpectrogramClassifier` on target-domain data.

    `sjax.detect.train.fit` with ``wrt=head_filter(model)`` (frozen backbone: its parameters are
    returned bit-identical; its batch-norm running statistics adapt, as in training mode) or
    ``wrt=nnx.Param`` (all layers). ``model`` must already read the target sampling rate (see
    `at_sampling_rate`).

    Args:
        model: the starting classifier (not modified).
        train: ``(waveforms (n, n_samples, 3), labels (n,) int)``.
        validation: optional data of the same form (early stopping / best epoch in `fit`).
        key: ``jax.random`` key of the shuffling.
        freeze_backbone: train only the head (``True``) or every parameter.
        **fit_kwargs: other `fit` arguments (``epochs``, ``batch_size``, ``learning_rate`` ...).

    Returns:
        ``(fine_tuned_copy, History)``.

    Raises:
        TypeError: if ``model`` is not a `SpectrogramClassifier` or ``wrt`` is passed.
    """
    if "wrt" in fit_kwargs:
        raise TypeError("fine_tune sets wrt itself; choose freeze_backbone=True/False instead")
    _check_classifier(model)
    wrt = head_filter(model) if freeze_backbone else nnx.Param
    return fit(model, train, validation, key=key, wrt=wrt, **fit_kwargs)


def _check_fraction(fraction) -> float:
    value = float(fraction)
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"fraction={fraction} must lie in (0, 1]")
    return value


def stratified_indices(key: jax.Array, labels, fraction: float) -> np.ndarray:
    """Indices of a stratified random subset: ``max(1, round(fraction · n_c))`` of each class.

    The members of class ``c`` are taken in the order of one ``jax.random.permutation`` per
    class drawn from ``key``, so with one key the subsets of growing fractions are nested
    (1 % ⊂ 10 % ⊂ 100 %).

    Args:
        key: ``jax.random`` key.
        labels: ``(n,)`` integer classes (every class present counts; absent ones are skipped).
        fraction: share of each class to keep, in (0, 1].

    Returns:
        ``(m,)`` sorted int64 indices into ``labels``.

    Raises:
        ValueError: for a ``fraction`` outside (0, 1] or labels that are not a non-empty 1-D
            integer array.
    """
    fraction = _check_fraction(fraction)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a non-empty 1-D integer array, got {labels.dtype} "
                         f"{labels.shape}")  # fmt: skip
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, int(c)), len(members)))
        chosen.append(members[order[: max(1, int(round(fraction * len(members))))]])
    return np.sort(np.concatenate(chosen))


class TransferCurve(NamedTuple):
    """Output of `transfer_curve` (``f`` fractions, ``r`` repeats); accuracies in [0, 1] on the
    target test set.

    Attributes:
        fractions: ``(f,)`` float64 shares of the target training data.
        train_sizes: ``(f,)`` int64 numbers of training records used.
        steps: ``(f,)`` int64 optimiser steps of every run at that fraction.
        zero_shot: accuracy of the source model as is (read at the target rate).
        head: ``(f, r)`` head-only fine-tuning (frozen backbone) from the source weights.
        all_layers: ``(f, r)`` fine-tuning of every parameter from the source weights.
        scratch: ``(f, r)`` the same architecture from a random initialisation.
    """

    fractions: np.ndarray
    train_sizes: np.ndarray
    steps: np.ndarray
    zero_shot: float
    head: np.ndarray
    all_layers: np.ndarray
    scratch: np.ndarray


def _accuracy(model, data) -> float:
    inputs, labels = data
    return float(np.mean(np.argmax(predict_logits(model, inputs), axis=-1) == labels))


def _fresh_like(model: SpectrogramClassifier, seed: int) -> SpectrogramClassifier:
    """A randomly initialised `SpectrogramClassifier` with ``model``'s architecture and STFT."""
    per_block = model.convs_per_block
    channels = tuple(conv.out_features for conv in model.convs)[per_block - 1 :: per_block]
    settings = dict(model.stft)
    return SpectrogramClassifier(
        settings.pop("sampling_rate"), **settings, channels=channels,
        convs_per_block=per_block, hidden=model.hidden.out_features,
        dtype=model.hidden.dtype, param_dtype=model.hidden.param_dtype, rngs=nnx.Rngs(seed),
    )  # fmt: skip


def _check_records(data, name: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a (waveforms, labels) pair")
    waveforms, labels = np.asarray(data[0]), np.asarray(data[1])
    if waveforms.ndim != 3 or waveforms.shape[-1] != 3:
        raise ValueError(f"{name} waveforms must have shape (n, n_samples, 3), got "
                         f"{waveforms.shape}")  # fmt: skip
    if labels.shape != waveforms.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} labels must be {waveforms.shape[:1]} integers, got "
                         f"{labels.dtype} {labels.shape}")  # fmt: skip
    if labels.size and (labels.min() < 0 or labels.max() >= len(EVENT_CLASSES)):
        raise ValueError(f"{name} labels must lie in [0, {len(EVENT_CLASSES)})")
    return waveforms, labels


def transfer_curve(
    key: jax.Array,
    source_model: SpectrogramClassifier,
    target_train,
    target_test,
    *,
    sampling_rate: float | None = None,
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0),
    steps: int = 300,
    repeats: int = 1,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    all_layers_learning_rate: float = 1e-3,
) -> TransferCurve:
    """Target-domain accuracy versus the amount of target data: transfer versus from scratch.

    For each fraction and repeat ``r`` the key ``k = fold_in(key, r)`` is split into
    ``(subset, shuffle, init)``: the training records are `stratified_indices` ``(subset, ·)``
    (nested across fractions, >= 1 record per class), and three models are trained with
    `fit` (shuffling key ``shuffle``, no validation, fixed schedule):

    * **head**: `fine_tune` of the source model with a frozen backbone at ``learning_rate``;
    * **all layers**: `fine_tune` of every parameter at ``all_layers_learning_rate``;
    * **scratch**: the source architecture initialised with ``nnx.Rngs(seed)``, ``seed`` an
      integer drawn from ``init``, trained at ``learning_rate``.

    Every run at a fraction takes the same number of optimiser steps, at least ``steps``:
    batches of ``b = min(batch_size, m)`` records, ``ceil(steps / (m // b))`` epochs. The source
    model as is (**zero shot**) is scored once. Accuracies are on the whole ``target_test``.

    Args:
        key: ``jax.random`` key.
        source_model: a `SpectrogramClassifier` trained on the source domain (not modified).
        target_train: ``(waveforms (n, n_samples, 3), labels (n,) int)``, every class present.
        target_test: held-out target data of the same form.
        sampling_rate: Hz of the target records (``None``: the source model's); the source
            weights are read there with `at_sampling_rate`.
        fractions: shares of ``target_train`` to use, each in (0, 1].
        steps: minimum optimiser steps per run (>= 1).
        repeats: independent subsets / shuffles / initialisations per fraction (>= 1).
        batch_size: maximum records per step (>= 1).
        learning_rate: peak rate of head-only fine-tuning and of training from scratch.
        all_layers_learning_rate: peak rate of all-layer fine-tuning.

    Returns:
        `TransferCurve`.

    Raises:
        TypeError: for a source model that is not a `SpectrogramClassifier` or malformed data.
        ValueError: naming the argument, for fractions outside (0, 1] or none, non-positive
            ``steps`` / ``repeats`` / ``batch_size``, a class missing from ``target_train``,
            and the cases of `at_sampling_rate` and `fit`.
    """
    _check_classifier(source_model)
    train = _check_records(target_train, "target_train")
    test = _check_records(target_test, "target_test")
    if len(fractions) == 0:
        raise ValueError("fractions must hold at least one value in (0, 1]")
    fractions = np.array([_check_fraction(f) for f in fractions])
    for name, value in (("steps", steps), ("repeats", repeats), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name}={value} must be a positive integer")
    missing = sorted(set(range(len(EVENT_CLASSES))) - set(np.unique(train[1]).tolist()))
    if missing:
        raise ValueError(f"target_train lacks classes {[EVENT_CLASSES[c] for c in missing]}")
    if test[1].size == 0:
        raise ValueError("target_test is empty")
    rate = source_model.stft["sampling_rate"] if sampling_rate is None else sampling_rate
    start = at_sampling_rate(source_model, rate)
    zero_shot = _accuracy(start, test)
    shape = (len(fractions), int(repeats))
    head, all_layers, scratch = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    sizes, run_steps = np.zeros(len(fractions), np.int64), np.zeros(len(fractions), np.int64)
    for r in range(int(repeats)):
        k_subset, k_shuffle, k_init = jax.random.split(jax.random.fold_in(key, r), 3)
        seed = int(jax.random.randint(k_init, (), 0, 2**31 - 1))
        for i, fraction in enumerate(fractions):
            index = stratified_indices(k_subset, train[1], fraction)
            subset = (train[0][index], train[1][index])
            batch = min(int(batch_size), len(index))
            epochs = math.ceil(int(steps) / (len(index) // batch))
            sizes[i], run_steps[i] = len(index), epochs * (len(index) // batch)
            common = dict(key=k_shuffle, epochs=epochs, batch_size=batch)
            model, _ = fine_tune(start, subset, learning_rate=learning_rate, **common)
            head[i, r] = _accuracy(model, test)
            model, _ = fine_tune(start, subset, freeze_backbone=False,
                                 learning_rate=all_layers_learning_rate, **common)  # fmt: skip
            all_layers[i, r] = _accuracy(model, test)
            model, _ = fit(_fresh_like(start, seed), subset, learning_rate=learning_rate,
                           **common)  # fmt: skip
            scratch[i, r] = _accuracy(model, test)
    return TransferCurve(fractions, sizes, run_steps, zero_shot, head, all_layers, scratch)
