"""Differentiable spectrogram (vs scipy), tremor / teleseism synthetics, spectrogram classifier."""

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import scipy.signal
from flax import nnx

from sjax.detect.spectrogram import (
    EVENT_CLASSES,
    SpectrogramClassifier,
    plot_spectrogram,
    spectrogram,
    spectrogram_axes,
)
from sjax.detect.train import fit, predict_logits
from sjax.detect.tremor import (
    coloured_noise,
    event_class_records,
    teleseism_waveforms,
    tremor_waveforms,
)

matplotlib.use("Agg")

FS = 50.0  # Hz, training records
DURATION = 30.0  # s
N_TRAIN, N_TEST = 600, 150


def _scipy_amplitude(x, fs, axes):
    """``|Z|`` of scipy.signal.stft with the same window / hop / scaling, as (..., frames, f)."""
    length, hop = axes.window_samples, axes.hop_samples
    f, t, z = scipy.signal.stft(x, fs, window="hann", nperseg=length, noverlap=length - hop,
                                boundary=None, padded=False, detrend=False,
                                scaling="spectrum")  # fmt: skip
    keep = slice(axes.first_bin, axes.first_bin + len(axes.frequencies))
    return f[keep], t, np.swapaxes(np.abs(z[..., keep, :]), -1, -2)


@pytest.fixture(scope="session")
def class_data():
    """750 balanced records (30 s at 50 Hz), split 600 train / 150 held out."""
    records = event_class_records(jax.random.key(10), N_TRAIN + N_TEST, duration=DURATION,
                                  sampling_rate=FS)  # fmt: skip
    x, y = np.asarray(records.waveforms), np.asarray(records.labels)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:]), records


@pytest.fixture(scope="session")
def classifier():
    return SpectrogramClassifier(FS, rngs=nnx.Rngs(0))


# --- spectrogram ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fs, n, kw",
    [
        (100.0, 1000, dict()),  # 256-sample window, hop 128
        # odd 19-sample window, hop 13, band from 0 Hz up to the Nyquist frequency
        (40.0, 301, dict(window_seconds=0.475, overlap=0.3, fmin=0.0, fmax=20.0)),
    ],
)
def test_matches_scipy_stft(fs, n, kw):
    x = np.random.default_rng(0).normal(size=(2, 3, n))
    axes = spectrogram_axes(n, fs, **kw)
    f_ref, t_ref, ref = _scipy_amplitude(x, fs, axes)
    with jax.enable_x64(True):
        spec = spectrogram(jnp.asarray(x, jnp.float64), fs, log=False, **kw)
        assert spec.values.dtype == jnp.float64 and spec.values.shape == ref.shape
        # float64: 1e-10 relative to the largest amplitude
        np.testing.assert_allclose(spec.values, ref, rtol=0, atol=1e-10 * ref.max())
        logged = spectrogram(jnp.asarray(x), fs, log=True, eps=1e-3, **kw).values
        np.testing.assert_allclose(logged, np.log10(ref + 1e-3), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(spec.frequencies, f_ref, rtol=1e-12)
    np.testing.assert_allclose(spec.times, t_ref, rtol=1e-12)
    # float32 input stays float32 and agrees to 1e-5 relative to the largest amplitude
    spec32 = spectrogram(jnp.asarray(x, jnp.float32), fs, log=False, **kw).values
    assert spec32.dtype == jnp.float32
    np.testing.assert_allclose(spec32, ref, rtol=0, atol=1e-5 * ref.max())


def test_sinusoid_on_a_bin_shows_half_its_amplitude():
    fs, n = 100.0, 2048
    axes = spectrogram_axes(n, fs)
    f0 = axes.frequencies[20]  # 20th kept bin, an exact multiple of fs / 256
    t = np.arange(n) / fs
    spec = spectrogram(3.0 * np.cos(2 * np.pi * f0 * t + 0.4), fs, log=False)
    peak = np.asarray(spec.values)
    assert np.all(np.argmax(peak, axis=-1) == 20)
    np.testing.assert_allclose(peak[:, 20], 1.5, rtol=1e-6)  # 'spectrum' scaling: a / 2
    assert spec.values.shape == (len(axes.times), len(axes.frequencies)) == (15, 50)


def test_gradient_matches_central_differences():
    rng = np.random.default_rng(3)
    x, weights = rng.normal(size=(2, 400)), rng.normal(size=(2, 7, 20))  # 7 frames, 1-20 Hz
    axes = spectrogram_axes(400, 100.0, window_seconds=1.0)
    reference = np.sum(weights * np.log10(_scipy_amplitude(x, 100.0, axes)[2] + 1e-10))
    with jax.enable_x64(True):
        spec = lambda y: spectrogram(y, 100.0, window_seconds=1.0).values  # noqa: E731

        @jax.jit
        def loss(x):  # vmap over records inside jit: the transformations compose
            return jnp.sum(weights * jax.vmap(spec)(x))

        np.testing.assert_allclose(loss(x), reference, rtol=1e-10)
        grad_fn = jax.jit(jax.grad(loss))
        grad = np.asarray(grad_fn(x))
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
        h = 1e-5
        for v in rng.normal(size=(3,) + x.shape):
            fd = (loss(x + h * v) - loss(x - h * v)) / (2 * h)
            np.testing.assert_allclose(np.vdot(grad, v), fd, rtol=1e-7)
        # exactly zero input: the amplitude's gradient is 0, not NaN
        assert np.all(np.isfinite(grad_fn(np.zeros_like(x))))


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((np.zeros(1000), 30.0), dict(), "fmax=20 Hz exceeds the Nyquist"),
        ((np.zeros(100), 100.0), dict(), "longer than the record"),
        ((np.zeros(1000), 100.0), dict(overlap=1.0), "overlap"),
        ((np.zeros(1000), 100.0), dict(fmin=5.0, fmax=5.0), "fmax=5.0 Hz must exceed fmin"),
        ((np.zeros(1000), 100.0), dict(fmin=5.1, fmax=5.3), "no frequency bin"),
        ((np.zeros(1000), 0.0), dict(), "sampling_rate"),
        ((np.zeros(1000), 100.0), dict(window_seconds=0.01), "needs >= 2"),
        ((np.zeros(1000), 100.0), dict(eps=0.0), "eps"),
        ((np.float32(1.0), 100.0), dict(), "scalar"),
    ],
)
def test_bad_spectrogram_inputs(args, kw, match):
    with pytest.raises(ValueError, match=match):
        spectrogram(*args, **kw)


def test_complex_input_is_a_type_error():
    with pytest.raises(TypeError, match="waveforms must be real"):
        spectrogram(np.zeros(1000, complex), 100.0)


def test_plot_spectrogram():
    import matplotlib.pyplot as plt

    spec = spectrogram(np.random.default_rng(1).normal(size=(3, 1500)), 50.0)
    fig, ax = plt.subplots()
    mesh = plot_spectrogram(ax, spec._replace(values=spec.values[2]), title="Z",
                            log_frequency=True)  # fmt: skip
    assert mesh.get_array().shape == (len(spec.frequencies), len(spec.times))
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time (s)"
    with pytest.raises(ValueError, match="spec.values must have shape"):
        plot_spectrogram(ax, spec)
    plt.close(fig)


# --- synthetics -------------------------------------------------------------------------------


def _band_fraction(x, fs, lo, hi):
    """Fraction of the energy of ``x`` (..., samples, 3) between lo and hi Hz (np.fft)."""
    power = np.abs(np.fft.rfft(np.asarray(x, float), axis=-2)) ** 2
    f = np.fft.rfftfreq(x.shape[-2], 1 / fs)
    band = (f >= lo) & (f <= hi)
    return power[..., band, :].sum(axis=(-2, -1)) / power.sum(axis=(-2, -1))


# the generator tests use the shapes of `class_data` (N_CLASS records of 30 s at 50 Hz), so the
# jitted generators compile once for the whole file
N_CLASS = (N_TRAIN + N_TEST) // 3
SHAPE = dict(n_samples=int(DURATION * FS), sampling_rate=FS)
TREMOR = dict(duration=(5.0, 15.0), centre=(10.0, 20.0), amplitude=2.0, **SHAPE)  # inside
TELESEISM = dict(duration=(10.0, 20.0), onset=(2.0, 8.0), **SHAPE)


def _support(x):
    """First and last sample index where any component of each record is non-zero."""
    active = np.abs(np.asarray(x)).max(axis=-1) > 0
    return active.argmax(axis=1), active.shape[1] - 1 - active[:, ::-1].argmax(axis=1)


def test_tremor_band_duration_and_amplitude(class_data):
    bursts = tremor_waveforms(jax.random.key(5), N_CLASS, **TREMOR)
    x = np.asarray(bursts.waveforms, float)
    assert x.shape == (N_CLASS, int(DURATION * FS), 3) and bursts.waveforms.dtype == jnp.float32
    # >= 80 % of the energy between 2 and 8 Hz (np.fft), every record
    assert _band_fraction(x, FS, 2.0, 8.0).min() >= 0.8
    # durations inside the requested range; the burst is exactly the envelope's support
    duration, onset = np.asarray(bursts.duration), np.asarray(bursts.onset)
    assert np.all((duration >= 5.0) & (duration <= 15.0))
    first, last = _support(x)
    np.testing.assert_allclose(first / FS, onset, atol=1 / FS)
    np.testing.assert_allclose(last / FS, onset + duration, atol=1 / FS)
    envelope = np.asarray(bursts.envelope)
    assert envelope.min() >= 0 and envelope.max() <= 1
    # amplitude = RMS over components at envelope 1: E[x²] = amplitude² envelope²
    ratio = (x**2).sum(axis=(1, 2)) / (3 * (envelope**2).sum(axis=1))
    np.testing.assert_allclose(np.median(np.sqrt(ratio)), 2.0, rtol=0.05)
    # horizontals (N, E) carry more energy than Z on average (h_to_v in [1, 2])
    energy = (x**2).sum(axis=(0, 1))
    assert energy[0] > 1.2 * energy[2] and energy[1] > 1.2 * energy[2]


def test_tremor_excess_energy_in_band_with_spectrogram(class_data):
    key_noise, key_tremor = jax.random.split(jax.random.key(6))
    noise = coloured_noise(key_noise, N_CLASS, **SHAPE)
    np.testing.assert_allclose(np.sqrt(np.mean(np.asarray(noise, float) ** 2, axis=(1, 2))), 1,
                               rtol=1e-5)  # fmt: skip
    tremor = tremor_waveforms(key_tremor, N_CLASS, amplitude=1.0, **SHAPE).waveforms
    power = lambda w: np.asarray(spectrogram(jnp.swapaxes(w, 1, 2), FS, log=False,  # noqa: E731
                                             fmin=0.0, fmax=FS / 2).values, float) ** 2  # fmt: skip
    excess = (power(noise + tremor) - power(noise)).sum(axis=(0, 1, 2))  # per frequency
    freqs = spectrogram_axes(SHAPE["n_samples"], FS, fmin=0.0, fmax=FS / 2).frequencies
    assert excess[(freqs >= 2.0) & (freqs <= 8.0)].sum() / excess.sum() >= 0.8


def test_teleseism_is_long_period(class_data):
    trains = teleseism_waveforms(jax.random.key(7), N_CLASS, **TELESEISM)
    x = np.asarray(trains.waveforms, float)
    assert _band_fraction(x, FS, 0.0, 1.0).min() >= 0.8
    assert _band_fraction(x, FS, 2.0, 8.0).max() < 0.01
    duration, onset = np.asarray(trains.duration), np.asarray(trains.onset)
    assert np.all((duration >= 10.0) & (duration <= 20.0))
    first, last = _support(x)
    np.testing.assert_allclose(first / FS, onset, atol=1 / FS)
    np.testing.assert_allclose(last / FS, onset + duration, atol=1 / FS)
    np.testing.assert_allclose(np.asarray(trains.envelope).max(axis=1), 1.0, atol=1e-3)


def test_generators_are_deterministic_by_key(class_data):
    for make, kw in ((tremor_waveforms, TREMOR), (teleseism_waveforms, TELESEISM),
                     (coloured_noise, SHAPE)):  # fmt: skip
        a, b, c = (np.asarray(jax.tree.leaves(make(jax.random.key(k), N_CLASS, **kw))[0])
                   for k in (1, 1, 2))  # fmt: skip
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_event_class_records(class_data):
    records = class_data[2]
    again = event_class_records(jax.random.key(10), N_TRAIN + N_TEST, duration=DURATION,
                                sampling_rate=FS)  # fmt: skip
    np.testing.assert_array_equal(records.waveforms, again.waveforms)
    np.testing.assert_array_equal(records.labels, again.labels)
    assert records.waveforms.shape == (N_TRAIN + N_TEST, int(DURATION * FS), 3)
    assert records.waveforms.dtype == jnp.float32 and records.labels.dtype == jnp.int32
    assert np.bincount(np.asarray(records.labels)).tolist() == [N_CLASS] * 3
    assert EVENT_CLASSES == ("earthquake", "tremor", "noise")


@pytest.mark.parametrize(
    "make, kw, match",
    [
        (tremor_waveforms, dict(band=(2.0, 30.0)), "band"),
        (tremor_waveforms, dict(duration=(10.0, 5.0)), "duration"),
        (tremor_waveforms, dict(rise=(0.2, 0.7)), "rise"),
        (tremor_waveforms, dict(modulation=1.0), "modulation"),
        (tremor_waveforms, dict(amplitude=-1.0), "amplitude"),
        (teleseism_waveforms, dict(corners=0), "corners"),
        (teleseism_waveforms, dict(rise_time=(0.0, 1.0)), "rise_time"),
        (coloured_noise, dict(exponent=-1.0), "exponent"),
    ],
)
def test_bad_generator_inputs(make, kw, match):
    with pytest.raises(ValueError, match=match):
        make(jax.random.key(0), 2, n_samples=500, sampling_rate=50.0, **kw)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n=2), "n=2"),
        (dict(duration=-1.0), "duration"),
        (dict(teleseism_fraction=1.5), "teleseism_fraction"),
        (dict(tremor_snr=(0.0, 1.0)), "tremor_snr"),
        (dict(sampling_rate=30.0), "sampling_rate"),
    ],
)
def test_bad_class_record_inputs(kw, match):
    with pytest.raises(ValueError, match=match):
        event_class_records(jax.random.key(0), **{"n": 6, **kw})


# --- classifier -------------------------------------------------------------------------------


def test_classifier_shapes_and_input_gradient(classifier):
    x = jnp.asarray(np.random.default_rng(2).normal(size=(4, 1500, 3)), jnp.float32)

    @jax.jit
    def outputs(x):
        def loss(x):  # mean tremor cross-entropy of x and of 1e-8 x (one batch)
            out = classifier(jnp.concatenate([x, 1e-8 * x]), use_running_average=True)
            return -jnp.mean(jax.nn.log_softmax(out)[:, 1]), out

        (_, out), grad = jax.value_and_grad(loss, has_aux=True)(x)
        return out[: len(x)], out[len(x) :], classifier.images(x), grad

    logits, scaled, images, grad = outputs(x)
    assert logits.shape == (4, len(EVENT_CLASSES)) and logits.dtype == jnp.float32
    assert images.shape == (4, 22, 50, 3)  # 30 s at 50 Hz: 128-sample window, hop 64
    np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(images.std(axis=(1, 2, 3)), 1, rtol=1e-4)
    # the unit of the input does not matter (per-record scaling before the log)
    np.testing.assert_allclose(scaled, logits, rtol=1e-4, atol=1e-4)
    # the gradient flows through the STFT back to the samples
    assert grad.shape == x.shape and np.all(np.isfinite(grad))
    assert np.abs(np.asarray(grad)).max() > 0
    with pytest.raises(ValueError, match="x must have shape"):
        classifier(x[..., :2])
    with pytest.raises(ValueError, match="fmax"):
        SpectrogramClassifier(30.0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="channels"):
        SpectrogramClassifier(FS, channels=(), rngs=nnx.Rngs(0))


def test_training_reaches_90_percent_held_out(class_data, classifier):
    (x_train, y_train), (x_test, y_test), _ = class_data
    trained, history = fit(classifier, (x_train, y_train), key=jax.random.key(11), epochs=5,
                           batch_size=32, learning_rate=3e-3)  # fmt: skip
    assert history.train_loss[-1] < history.train_loss[0]
    accuracy = np.mean(np.argmax(predict_logits(trained, x_test), axis=-1) == y_test)
    assert accuracy >= 0.9, f"held-out accuracy {accuracy:.3f}"
