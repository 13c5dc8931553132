"""GPD — Generalized Seismic Phase Detection (Ross, Meier, Hauksson & Heaton 2018, BSSA 108(5A)).

A Flax NNX re-implementation of the published Keras model (``model_pol.json`` of
github interseismic/generalized-phase-detection; Ross et al. 2018, BSSA 108:2894):

=========  ==========================================================  ===============
stage      layers                                                      output shape
=========  ==========================================================  ===============
input      4 s × 3 components at 100 Hz, channels last (N, E, Z)       (batch, 400, 3)
block 1    Conv1D 32, kernel 21, 'same' → BN → ReLU → MaxPool 2        (batch, 200, 32)
block 2    Conv1D 64, kernel 15, 'same' → BN → ReLU → MaxPool 2        (batch, 100, 64)
block 3    Conv1D 128, kernel 11, 'same' → BN → ReLU → MaxPool 2       (batch, 50, 128)
block 4    Conv1D 256, kernel 9, 'same' → BN → ReLU → MaxPool 2        (batch, 25, 256)
flatten    time-major (Keras channels-last order)                      (batch, 6400)
dense      200 → BN → ReLU; 200 → BN → ReLU; 3 (logits)                (batch, 3)
=========  ==========================================================  ===============

Batch-norm uses Keras' ε = 1e-3 and momentum 0.99; kernels are Glorot-uniform, biases zero.

Trainable parameters (weights + biases, BN scale + shift):

====================  ==================================  ==========
layer                 arithmetic                          count
====================  ==================================  ==========
conv1                 21·3·32 + 32                             2 048
conv2                 15·32·64 + 64                           30 784
conv3                 11·64·128 + 128                         90 240
conv4                 9·128·256 + 256                        295 168
BN after convs        2·(32 + 64 + 128 + 256)                    960
dense1                6400·200 + 200                       1 280 200
dense2                200·200 + 200                           40 200
BN after dense1/2     2·(200 + 200)                              800
output                200·3 + 3                                  603
**total**                                                  **1 741 003**
====================  ==================================  ==========

BN running means/variances add 2·(480 + 400) = 1 760 non-trainable values (1 742 763 in all).
'same' padding keeps every conv length, so the four poolings give 400 / 2⁴ = 25 samples; with
'valid' padding the flatten size (and the count) would differ.

The model returns *logits*; `predict_proba` normalises raw windows and applies the softmax in
inference mode (running BN statistics). The class order is `CLASSES` = ``("P", "S", "noise")``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = [
    "CLASSES",
    "COMPONENTS",
    "WINDOW_SAMPLES",
    "SAMPLING_RATE",
    "GPD",
    "normalize_windows",
    "predict_proba",
    "count_parameters",
]

CLASSES: tuple[str, ...] = ("P", "S", "noise")
"""Output class order: index 0 = P, 1 = S, 2 = noise (as in the original GPD)."""

COMPONENTS: tuple[str, ...] = ("N", "E", "Z")
"""Channel order of the last input axis (the original GPD's N, E, Z)."""

WINDOW_SAMPLES: int = 400
"""Samples per window (4 s at 100 Hz)."""

SAMPLING_RATE: float = 100.0
"""Sampling rate in Hz the network is defined for."""

_FILTERS = (32, 64, 128, 256)
_KERNELS = (21, 15, 11, 9)
_DENSE = (200, 200)
_BN = dict(momentum=0.99, epsilon=1e-3)  # Keras BatchNormalization defaults used by GPD


def _check_windows(windows, name: str = "windows") -> None:
    shape = tuple(jnp.shape(windows))
    expected = (WINDOW_SAMPLES, len(COMPONENTS))
    if len(shape) != 3 or shape[1:] != expected:
        raise ValueError(
            f"{name} must have shape (batch, {WINDOW_SAMPLES}, {len(COMPONENTS)}) "
            f"(samples at {SAMPLING_RATE:g} Hz, components {'/'.join(COMPONENTS)} last), "
            f"got {shape}"
        )


def normalize_windows(windows: jax.Array, *, demean: bool = False) -> jax.Array:
    """Scale each window by its maximum absolute value over all three components.

    This is the original GPD normalisation (``x / max|x|`` per window, one scale shared by the
    components, so relative component amplitudes are kept). An all-zero window is returned
    unchanged instead of producing NaNs. Pure and jit/vmap/grad-friendly.

    Args:
        windows: ``(batch, 400, 3)`` raw windows (any unit; channels last, N/E/Z).
        demean: subtract each trace's mean first (SeisBench's variant; the original does not).

    Returns:
        ``(batch, 400, 3)`` windows, same dtype, with ``max |x| = 1`` for every non-zero window.

    Raises:
        ValueError: if ``windows`` does not have shape ``(batch, 400, 3)``.
    """
    _check_windows(windows)
    windows = jnp.asarray(windows)
    if demean:
        windows = windows - jnp.mean(windows, axis=1, keepdims=True)
    peak = jnp.max(jnp.abs(windows), axis=(1, 2), keepdims=True)
    return windows / jnp.where(peak > 0, peak, jnp.ones_like(peak))


class GPD(nnx.Module):
    """The GPD convolutional phase classifier (published layout, 1 741 003 trainable parameters).

    Example:
        >>> model = GPD(rngs=nnx.Rngs(0))
        >>> probs = predict_proba(model, raw_windows)  # (batch, 3), rows sum to 1

    Args:
        rngs: random streams for initialisation (``nnx.Rngs(seed)``).
        dtype: computation dtype (``None``: promote inputs and float32 parameters).
        param_dtype: parameter dtype (float32).

    Calling ``model(x)`` on *normalised* windows ``x`` of shape ``(batch, 400, 3)`` returns logits
    ``(batch, 3)`` in `CLASSES` order. Batch-norm follows the module mode (``model.train()`` /
    ``model.eval()``; training mode by default) unless ``use_running_average`` is given.
    """

    def __init__(self, *, rngs: nnx.Rngs, dtype=None, param_dtype=jnp.float32):
        glorot = nnx.initializers.glorot_uniform()
        common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        channels = (len(COMPONENTS),) + _FILTERS
        self.convs = nnx.List(
            [
                nnx.Conv(c_in, c_out, (k,), padding="SAME", kernel_init=glorot, **common)
                for c_in, c_out, k in zip(channels[:-1], channels[1:], _KERNELS)
            ]
        )
        self.conv_norms = nnx.List([nnx.BatchNorm(c, **_BN, **common) for c in _FILTERS])
        flat = (WINDOW_SAMPLES // 2 ** len(_FILTERS)) * _FILTERS[-1]  # 25 * 256 = 6400
        sizes = (flat,) + _DENSE
        self.dense = nnx.List(
            [
                nnx.Linear(d_in, d_out, kernel_init=glorot, **common)
                for d_in, d_out in zip(sizes[:-1], sizes[1:])
            ]
        )
        self.dense_norms = nnx.List([nnx.BatchNorm(d, **_BN, **common) for d in _DENSE])
        self.output = nnx.Linear(_DENSE[-1], len(CLASSES), kernel_init=glorot, **common)

    def __call__(self, x: jax.Array, *, use_running_average: bool | None = None) -> jax.Array:
        """Logits ``(batch, 3)`` for normalised windows ``x`` of shape ``(batch, 400, 3)``."""
        _check_windows(x, "x")
        for conv, norm in zip(self.convs, self.conv_norms):
            x = jax.nn.relu(norm(conv(x), use_running_average=use_running_average))
            x = nnx.max_pool(x, window_shape=(2,), strides=(2,), padding="VALID")
        x = x.reshape(x.shape[0], -1)  # time-major flatten, as Keras' channels-last Flatten
        for dense, norm in zip(self.dense, self.dense_norms):
            x = jax.nn.relu(norm(dense(x), use_running_average=use_running_average))
        return self.output(x)


def predict_proba(model: GPD, windows: jax.Array, *, demean: bool = False) -> jax.Array:
    """Class probabilities for raw windows, in inference mode.

    Normalises with `normalize_windows`, runs the network with batch-norm running statistics
    (the model's mode is not changed) and applies a softmax. Works eagerly and under
    ``nnx.jit``; batches are processed in one call (no vmap needed).

    Args:
        model: a `GPD`.
        windows: ``(batch, 400, 3)`` raw windows at 100 Hz, channels last (N, E, Z).
        demean: passed to `normalize_windows`.

    Returns:
        ``(batch, 3)`` probabilities in `CLASSES` order (P, S, noise); rows sum to 1.
    """
    x = normalize_windows(windows, demean=demean)
    return jax.nn.softmax(model(x, use_running_average=True), axis=-1)


def count_parameters(model: nnx.Module, kind=nnx.Param) -> int:
    """Number of scalar values in the model's ``kind`` variables (default: trainable
    `nnx.Param`)."""
    return sum(int(v.size) for v in jax.tree.leaves(nnx.state(model, kind)))
