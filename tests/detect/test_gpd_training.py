"""The retrained GPD's training distribution: soft labels, S − P range, overlapping events, real
noise (sjax.detect.gpd_training, sjax.detect.real_noise, synthetic_records' log S − P)."""

import jax
import numpy as np
import pytest
from obspy.signal.trigger import classic_sta_lta

from sjax.detect import synthetic_records
from sjax.detect.gpd_training import (
    LABEL_WIDTH,
    RECORD_SAMPLES,
    gpd_training_set,
    soft_labels,
    training_records,
)
from sjax.detect.real_noise import QUIET_STA_LTA, real_noise_pieces, real_noise_records

FAR = -(10**6)


@pytest.fixture(scope="module")
def training():
    return training_records(jax.random.key(5), 400)


def test_soft_labels_are_gaussians_of_the_distance_to_the_nearest_onset():
    centres = np.array([1000, 1020, 1100, 2000, 3005, 3010])
    p = np.array([[1000, FAR]] * 6)
    s = np.array([[3000, 1100]] * 6)
    labels = soft_labels(centres, p, s, width=20.0)
    gauss = lambda d: np.exp(-0.5 * (d / 20.0) ** 2)  # noqa: E731
    g = gauss(100)  # P + S > 1 on an onset near another: both scaled to sum to 1
    np.testing.assert_allclose(labels[0], [1 / (1 + g), g / (1 + g), 0.0], atol=1e-7)
    np.testing.assert_allclose(labels[1, :2], [gauss(20), gauss(80)], rtol=1e-6)
    np.testing.assert_allclose(labels[2], [g / (1 + g), 1 / (1 + g), 0.0], atol=1e-7)
    np.testing.assert_allclose(labels[3], [0.0, 0.0, 1.0], atol=1e-12)  # far from all onsets
    np.testing.assert_allclose(labels[4, 1], gauss(5), rtol=1e-6)
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
    assert (labels >= 0).all()
    with pytest.raises(ValueError, match="width"):
        soft_labels(centres, p, s, width=0.0)


def test_log_uniform_s_minus_p():
    records = synthetic_records(jax.random.key(1), 4000, n_samples=5200, p_onset=(2.0, 4.0),
                                s_minus_p=(0.3, 30.0), s_minus_p_scale="log")  # fmt: skip
    s_minus_p = np.asarray(records.s_index - records.p_index) / 100.0
    assert s_minus_p.min() >= 0.29 and s_minus_p.max() <= 30.01
    # log-uniform on [0.3, 30]: median 3 s, a quarter below 0.95 s (sampling error ~0.02)
    assert np.median(s_minus_p) == pytest.approx(3.0, rel=0.08)
    assert np.mean(s_minus_p < 0.3 * 10**0.5) == pytest.approx(0.25, abs=0.025)
    with pytest.raises(ValueError, match="s_minus_p_scale"):
        synthetic_records(jax.random.key(1), 2, s_minus_p_scale="cubic")


def test_training_records_onsets_overlap_and_noise(training):
    n = len(training.snr)
    p, s = training.p_onsets, training.s_onsets
    assert training.waveforms.shape == (n, 3, RECORD_SAMPLES)
    assert np.all(s[:, 0] - p[:, 0] >= 29) and np.all(s[:, 0] - p[:, 0] <= 3001)
    second = p[:, 1] != FAR
    assert np.mean(second) == pytest.approx(0.3, abs=0.07)  # overlap probability 0.3
    assert np.all(p[second, 1] >= 99) and np.all(p[second, 1] <= 5501)
    assert np.all(s[~second, 1] == FAR)
    assert np.mean(training.real_noise) == pytest.approx(0.5, abs=0.08)
    # the band-passed noise has unit RMS per record; the rest is the scaled signal
    rms = np.sqrt(np.mean(training.noise.astype(np.float64) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(rms, 1.0, rtol=1e-4)
    assert training.snr.min() >= 2.0 and training.snr.max() <= 50.0
    # the first event starts at its P onset: the second before P is quiet (the causal band-pass
    # leaves only the linear detrend of the whole record there)
    signal = training.waveforms - training.noise
    alone = ~second & (p[:, 0] >= 100)
    rows = np.flatnonzero(alone)
    before = np.array([np.abs(signal[i, :, p[i, 0] - 100 : p[i, 0]]).max() for i in rows])
    after = np.array([np.abs(signal[i, :, p[i, 0] : p[i, 0] + 100]).max() for i in rows])
    assert np.all(before < 0.05 * after)


def test_training_set_labels_follow_the_onsets():
    windows, labels = gpd_training_set(jax.random.key(7), 60)
    assert windows.shape[1:] == (400, 3) and labels.shape == (len(windows), 3)
    assert 10 * 60 <= len(windows) <= 14 * 60
    np.testing.assert_allclose(np.abs(windows).max(axis=(1, 2)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    # each record contributes ≥ 1 window centred within ±10 samples of its P and of its S
    # (label ≥ exp(−0.5 (10/σ)²)) and four pure-noise windows
    near = np.exp(-0.5 * (10 / LABEL_WIDTH) ** 2) - 1e-6
    assert np.sum(labels[:, 0] >= near) >= 60 and np.sum(labels[:, 1] >= near) >= 60
    assert np.sum(labels[:, 2] == 1.0) >= 4 * 60


def test_real_noise_is_quiet_held_out_and_unit_rms():
    train, test = real_noise_pieces("train"), real_noise_pieces("test")
    assert len(train) > 100 and len(test) > 10
    assert train.shape[1] == test.shape[1] == 6000
    # the test part lies after the training part: no test piece equals a training piece
    assert not np.any(np.all(np.isclose(train[:, None, :100], test[None, :, :100]), axis=-1))
    records = real_noise_records(jax.random.key(0), 8, part="test")
    assert records.shape == (8, 3, 6000)
    np.testing.assert_allclose(np.sqrt(np.mean(records.astype(np.float64) ** 2, -1)), 1.0,
                               rtol=1e-4)  # fmt: skip
    # the three components of a record are different pieces
    assert not np.allclose(np.abs(records[:, 0]), np.abs(records[:, 1]))
    with pytest.raises(ValueError, match="part"):
        real_noise_pieces("validation")


def test_quiet_pieces_have_no_transient():
    from obspy.signal.filter import bandpass

    piece = real_noise_pieces("train")[::40]
    band = bandpass(piece.astype(np.float64), 3.0, 20.0, 100.0, corners=4)
    for trace in band:
        ratio = classic_sta_lta(trace, 50, 1000)[1000:]
        assert ratio.max() < QUIET_STA_LTA * 1.05  # the piece-edge LTA differs slightly


def test_bad_training_arguments_are_named():
    with pytest.raises(ValueError, match="overlap"):
        training_records(jax.random.key(0), 2, overlap=1.5)
    with pytest.raises(ValueError, match="snr"):
        training_records(jax.random.key(0), 2, snr=(0.0, 3.0))
    with pytest.raises(ValueError, match="n_records"):
        gpd_training_set(jax.random.key(0), 0)
