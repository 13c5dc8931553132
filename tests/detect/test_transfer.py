"""Transfer learning: the shifted domain, NNX head/backbone filters, frozen fine-tuning, and
transfer beating training from scratch at 10 % of the target data (issue test 5).

To stay fast the source model here is trained on 50-Hz records (`event_class_records`: flat
velocity, 1/f noise), so the 10 % test crosses the noise and instrument shift; the sampling-rate
part of the shift is tested on its own (`test_same_weights_read_the_other_rate`: 50- and 100-Hz
images of the same band-limited record agree). `scripts/transfer_curve.py` trains the source at
100 Hz and crosses all three.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from flax import nnx

from sjax.detect.spectrogram import SpectrogramClassifier
from sjax.detect.train import fit
from sjax.detect.transfer import (
    HEAD_LAYERS,
    at_sampling_rate,
    backbone_filter,
    fine_tune,
    geophone_response,
    head_filter,
    shifted_domain_records,
    stratified_indices,
    transfer_curve,
)
from sjax.detect.tremor import event_class_records

DURATION = 30.0  # s
RATE = 50.0  # Hz, source and target records of the tests (1500 samples: one compilation)
N_SOURCE, N_TARGET_TRAIN, N_TARGET_TEST = 450, 150, 300
BATCH = 15  # = 10 % of N_TARGET_TRAIN: every training run shares one compiled step
TARGET_KEY = 23
# Transfer must beat scratch by >= 5 accuracy points at 10 % target data. With these sizes the
# margin (head-only minus scratch) was 16.0, 11.0, 7.7, 13.3, 12.7 and 28.0 points for six
# seed sets (source data / init / shuffle / target / curve keys 20+k, 21+k, 22+k, 23+k, 30+k
# for k = 0, 20, ..., 100); k = 0 is used.
MARGIN = 0.05


@pytest.fixture(scope="session")
def source_model():
    """A classifier trained briefly (4 epochs) on 450 source-domain records (30 s at 50 Hz)."""
    records = event_class_records(jax.random.key(20), N_SOURCE, duration=DURATION,
                                  sampling_rate=RATE)  # fmt: skip
    model, _ = fit(SpectrogramClassifier(RATE, rngs=nnx.Rngs(21)),
                   (np.asarray(records.waveforms), np.asarray(records.labels)),
                   key=jax.random.key(22), epochs=4, batch_size=BATCH,
                   learning_rate=3e-3)  # fmt: skip
    return model


@pytest.fixture(scope="session")
def untrained():
    """A randomly initialised 50-Hz classifier (for checks that do not need training)."""
    return SpectrogramClassifier(RATE, rngs=nnx.Rngs(0))


@pytest.fixture(scope="session")
def random_data():
    """45 white-noise records of 30 s at 50 Hz with labels 0, 1, 2, 0, ... (cheap stand-ins
    for checks that do not need meaningful data)."""
    x = jax.random.normal(jax.random.key(1), (3 * BATCH, int(DURATION * RATE), 3), jnp.float32)
    return np.asarray(x), np.tile(np.arange(3, dtype=np.int32), BATCH)


@pytest.fixture(scope="session")
def target_data():
    """Shifted-domain (50 Hz, 1/f² noise, 1-Hz seismometer) records: 150 train, 300 test."""
    records = shifted_domain_records(jax.random.key(TARGET_KEY), N_TARGET_TRAIN + N_TARGET_TEST,
                                     duration=DURATION, sampling_rate=RATE)  # fmt: skip
    x, y = np.asarray(records.waveforms), np.asarray(records.labels)
    return (x[:N_TARGET_TRAIN], y[:N_TARGET_TRAIN]), (x[N_TARGET_TRAIN:], y[N_TARGET_TRAIN:])


def test_geophone_response_matches_scipy():
    f = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 10.0, 25.0])
    f0, h = 1.0, 0.707
    omega0 = 2 * np.pi * f0
    _, ref = scipy.signal.freqs([1.0, 0.0, 0.0], [1.0, 2 * h * omega0, omega0**2],
                                worN=2 * np.pi * f)  # fmt: skip
    np.testing.assert_allclose(geophone_response(f, f0, h), ref, rtol=1e-12, atol=1e-15)
    assert abs(geophone_response(25.0, f0, h)) == pytest.approx(1.0, abs=2e-3)
    with pytest.raises(ValueError, match="natural_frequency"):
        geophone_response(f, 0.0)
    with pytest.raises(ValueError, match="damping"):
        geophone_response(f, 1.0, damping=-1.0)


def test_shifted_domain_is_the_filtered_event_records(target_data):
    (x_train, y_train), (x_test, y_test) = target_data
    shifted, labels = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    n, n_samples = len(labels), int(DURATION * RATE)
    assert shifted.shape == (n, n_samples, 3) and shifted.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(labels), [n // 3] * 3)
    key = jax.random.key(TARGET_KEY)
    kw = dict(duration=DURATION, sampling_rate=RATE)
    raw = shifted_domain_records(key, n, natural_frequency=None, **kw)
    plain = event_class_records(key, n, noise_exponent=2.0, noise_corner=1.0, **kw)
    np.testing.assert_array_equal(raw.waveforms, plain.waveforms)  # pure, key-driven
    np.testing.assert_array_equal(labels, plain.labels)
    # independent reference: float64 NumPy linear convolution with the scipy-checked response
    x = np.asarray(raw.waveforms, np.float64)
    response = geophone_response(np.fft.rfftfreq(2 * n_samples, 1 / RATE), 1.0, 0.707)
    ref = np.fft.irfft(np.fft.rfft(x, n=2 * n_samples, axis=1) * response[None, :, None],
                       n=2 * n_samples, axis=1)[:, :n_samples]  # fmt: skip
    np.testing.assert_allclose(shifted, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    with pytest.raises(ValueError, match="damping"):
        shifted_domain_records(key, 6, damping=0.0)


def test_same_weights_read_the_other_rate(untrained):
    """30-s images have the same (22, 50, 3) shape at 50 and 100 Hz, and a band-limited record
    gives (nearly) the same image at either rate."""
    model100 = at_sampling_rate(untrained, 100.0)
    assert untrained.stft["sampling_rate"] == RATE  # input untouched
    assert model100.stft["sampling_rate"] == 100.0
    jax.tree.map(np.testing.assert_array_equal, nnx.state(model100), nnx.state(untrained))
    white = np.asarray(jax.random.normal(jax.random.key(3), (3, int(100 * DURATION), 3)))
    sos = scipy.signal.butter(8, 15.0, fs=100.0, output="sos")
    x100 = scipy.signal.sosfiltfilt(sos, white, axis=1).astype(np.float32)
    image100 = np.asarray(model100.images(x100))
    image50 = np.asarray(untrained.images(x100[:, ::2]))
    assert image100.shape == image50.shape == (3, 22, 50, 3)
    # 0.5-15 Hz bins agree to 0.05 image standard deviations (the 15-20 Hz stop band is
    # dominated by round-off and differs)
    band = slice(0, 38)  # 0.5 ... 14.8 Hz
    np.testing.assert_allclose(image50[:, :, band], image100[:, :, band], atol=0.05)
    with pytest.raises(ValueError, match="sampling_rate=40 Hz"):
        at_sampling_rate(untrained, 40.0)  # 102.4-sample window: other bins
    with pytest.raises(ValueError, match="fmax"):
        at_sampling_rate(untrained, 30.0)  # Nyquist 15 Hz < fmax 20 Hz
    with pytest.raises(TypeError, match="SpectrogramClassifier"):
        at_sampling_rate(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), 50.0)


def test_filters_split_head_and_backbone(untrained):
    params = nnx.state(untrained, nnx.Param)
    head = nnx.state(untrained, head_filter(untrained))
    backbone = nnx.state(untrained, backbone_filter(untrained))
    paths = lambda s: {jax.tree_util.keystr(p) for p, _ in  # noqa: E731
                       jax.tree_util.tree_flatten_with_path(s)[0]}  # fmt: skip
    assert paths(head) == {f"['{layer}']['{v}'].value" for layer in HEAD_LAYERS
                           for v in ("kernel", "bias")}  # fmt: skip
    assert paths(head).isdisjoint(paths(backbone))
    assert paths(head) | paths(backbone) == paths(params)
    assert any("convs" in p for p in paths(backbone)) and any("norms" in p for p in
                                                             paths(backbone))  # fmt: skip
    with pytest.raises(TypeError, match="SpectrogramClassifier"):
        head_filter(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))


def test_head_fine_tuning_leaves_the_backbone_bit_identical(untrained, random_data):
    x, y = random_data
    start = untrained
    before = jax.tree.map(np.array, nnx.state(start))
    tuned, history = fine_tune(start, (x, y), key=jax.random.key(0), epochs=2,
                               batch_size=BATCH, learning_rate=3e-3)  # fmt: skip
    assert len(history.train_loss) == 2
    jax.tree.map(np.testing.assert_array_equal, before, nnx.state(start))  # input untouched
    jax.tree.map(np.testing.assert_array_equal, nnx.state(tuned, backbone_filter(tuned)),
                 nnx.state(start, backbone_filter(start)))  # fmt: skip
    assert not np.array_equal(tuned.output.kernel[...], start.output.kernel[...])
    assert not np.array_equal(tuned.hidden.kernel[...], start.hidden.kernel[...])
    # the frozen backbone's batch-norm statistics adapt to the new data
    assert not np.array_equal(tuned.norms[0].mean[...], start.norms[0].mean[...])
    every, _ = fine_tune(start, (x, y), key=jax.random.key(0), epochs=1,
                         batch_size=BATCH, freeze_backbone=False)  # fmt: skip
    assert not np.array_equal(every.convs[0].kernel[...], start.convs[0].kernel[...])
    with pytest.raises(TypeError, match="wrt"):
        fine_tune(start, (x, y), key=jax.random.key(0), wrt=nnx.Param)


def test_stratified_indices_are_nested_and_keep_every_class():
    labels = np.repeat(np.arange(3), [50, 70, 30])
    key = jax.random.key(7)
    subsets = [stratified_indices(key, labels, f) for f in (0.01, 0.1, 0.5, 1.0)]
    for small, large in zip(subsets[:-1], subsets[1:]):
        assert set(small) <= set(large)
    np.testing.assert_array_equal(np.bincount(labels[subsets[0]]), [1, 1, 1])
    np.testing.assert_array_equal(np.bincount(labels[subsets[1]]), [5, 7, 3])
    np.testing.assert_array_equal(subsets[-1], np.arange(150))
    assert np.all(np.diff(subsets[1]) > 0)
    assert not np.array_equal(subsets[1], stratified_indices(jax.random.key(8), labels, 0.1))
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="fraction"):
            stratified_indices(key, labels, bad)
    with pytest.raises(ValueError, match="labels"):
        stratified_indices(key, labels.astype(float), 0.5)


def test_transfer_beats_scratch_at_10_percent_target_data(source_model, target_data):
    """Issue test 5: head-only fine-tuning from the source weights beats the same network
    trained from scratch on the same 10 % (15 records) and 60 steps by >= MARGIN on 300
    held-out target records."""
    train, test = target_data
    curve = transfer_curve(jax.random.key(30), source_model, train, test,
                           sampling_rate=RATE, fractions=(0.1,), steps=60)  # fmt: skip
    assert curve.train_sizes.tolist() == [15] and curve.steps.tolist() == [60]
    head, every, scratch = curve.head[0, 0], curve.all_layers[0, 0], curve.scratch[0, 0]
    message = f"zero {curve.zero_shot:.3f} head {head:.3f} all {every:.3f} scratch {scratch:.3f}"
    assert head >= scratch + MARGIN, message
    assert head > curve.zero_shot, message


@pytest.mark.parametrize(
    "kw, error, match",
    [
        (dict(fractions=(0.0,)), ValueError, "fraction"),
        (dict(fractions=(0.1, 1.5)), ValueError, "fraction"),
        (dict(fractions=()), ValueError, "fractions"),
        (dict(repeats=0), ValueError, "repeats"),
        (dict(steps=0), ValueError, "steps"),
        (dict(batch_size=2.5), ValueError, "batch_size"),
        (dict(sampling_rate=40.0), ValueError, "sampling_rate"),
    ],
)
def test_transfer_curve_rejects_bad_settings(untrained, random_data, kw, error, match):
    train = test = random_data
    with pytest.raises(error, match=match):
        transfer_curve(jax.random.key(0), untrained, train, test,
                       **{"sampling_rate": RATE, **kw})  # fmt: skip


def test_transfer_curve_rejects_bad_data(untrained, random_data):
    (x, y), test = random_data, random_data
    run = lambda model, train, test=test: transfer_curve(  # noqa: E731
        jax.random.key(0), model, train, test, sampling_rate=RATE)
    with pytest.raises(ValueError, match="lacks classes"):
        run(untrained, (x[y != 1], y[y != 1]))
    with pytest.raises(ValueError, match="target_train waveforms"):
        run(untrained, (x[..., :2], y))
    with pytest.raises(ValueError, match="target_test labels"):
        run(untrained, (x, y), (test[0], test[1][:-1]))
    with pytest.raises(TypeError, match="SpectrogramClassifier"):
        run(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), (x, y))
