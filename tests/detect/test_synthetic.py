"""Synthetic P/S records and labelled GPD windows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sjax.detect import gpd_training_windows, measure_snr, synthetic_records


def test_deterministic_for_a_fixed_key(records, records_kwargs):
    again = synthetic_records(jax.random.key(0), **records_kwargs)
    for a, b in zip(records[:-1], again[:-1]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = synthetic_records(jax.random.key(1), **records_kwargs)
    assert not np.array_equal(np.asarray(other.waveforms), np.asarray(records.waveforms))


def test_shapes_and_decomposition(records, records_kwargs):
    n, n_samples = records_kwargs["n"], 3000
    assert records.waveforms.shape == records.signal.shape == (n, 3, n_samples)
    assert records.waveforms.dtype == jnp.float32
    assert records.p_index.shape == records.s_index.shape == (n,)
    assert records.sampling_rate == 100.0
    np.testing.assert_allclose(records.waveforms, records.signal + records.noise, atol=1e-6)


def test_snr_as_defined(records, records_kwargs):
    # definition (measure_snr): peak |signal| over components and samples / RMS of the noise
    signal, noise = np.asarray(records.signal, float), np.asarray(records.noise, float)
    snr = np.abs(signal).max(axis=(1, 2)) / np.sqrt((noise**2).mean(axis=(1, 2)))
    np.testing.assert_allclose(snr, records_kwargs["snr"], rtol=1e-5)
    np.testing.assert_allclose(measure_snr(records.signal, records.noise), snr, rtol=1e-5)
    # the same ratio measured on the observed waveform alone (peak after P / RMS before P)
    x, p = np.asarray(records.waveforms, float), np.asarray(records.p_index)
    observed = [np.abs(x[i, :, p[i]:]).max() / np.sqrt((x[i, :, : p[i]] ** 2).mean())
                for i in range(len(p))]  # fmt: skip
    assert abs(np.median(observed) / records_kwargs["snr"] - 1) < 0.1


def test_arrivals_and_polarisation(records):
    signal = np.asarray(records.signal)
    p, s = np.asarray(records.p_index), np.asarray(records.s_index)
    assert np.all(p < s)
    assert np.all((s - p >= 250) & (s - p <= 1000)) and np.all((p >= 600) & (p <= 1200))
    for i in range(len(p)):
        assert np.all(signal[i, :, : p[i]] == 0)  # causal: nothing before the P onset
        assert np.abs(signal[i, :, p[i] : p[i] + 5]).max() > 0.1 * np.abs(signal[i]).max()
        first_p = signal[i, :, p[i] : p[i] + 100]
        first_s = signal[i, :, s[i] : s[i] + 100]
        # components N, E, Z: P strongest on Z, S strongest on the horizontals
        assert np.abs(first_p[2]).max() > np.hypot(first_p[0], first_p[1]).max()
        assert np.hypot(first_s[0], first_s[1]).max() > np.abs(first_s[2]).max()
        assert np.abs(first_s).max() > np.abs(first_p).max()


def test_window_labels(records, records_kwargs):
    data = gpd_training_windows(jax.random.key(3), records)
    n = records_kwargs["n"]
    assert data.windows.shape == (3 * n, 400, 3)
    np.testing.assert_array_equal(data.labels, np.repeat([0, 1, 2], n))
    x, signal = np.asarray(records.waveforms), np.asarray(records.signal)
    p, s = np.asarray(records.p_index), np.asarray(records.s_index)
    np.testing.assert_array_equal(data.centre[:n], p)
    np.testing.assert_array_equal(data.centre[n : 2 * n], s)
    for w, label, centre, r in zip(*(np.asarray(a) for a in data)):
        np.testing.assert_array_equal(w, x[r, :, centre - 200 : centre + 200].T)
        window_signal = signal[r, :, centre - 200 : centre + 200]
        if label == 2:  # noise: ends at least noise_margin = 50 samples before P
            assert centre + 200 <= p[r] - 50 and np.all(window_signal == 0)
        else:  # the arrival is at sample 200; P windows hold no S
            onset = p[r] if label == 0 else s[r]
            assert centre == onset
            assert np.abs(window_signal[:, 200:205]).max() > 0
            if label == 0:
                assert np.all(window_signal[:, :200] == 0) and s[r] >= centre + 200


def test_window_jitter_bounds(records, records_kwargs):
    data = gpd_training_windows(jax.random.key(4), records, jitter=30)
    n = records_kwargs["n"]
    offset = np.asarray(data.centre[: 2 * n]) - np.concatenate(
        [np.asarray(records.p_index), np.asarray(records.s_index)]
    )
    assert np.abs(offset).max() <= 30 and np.abs(offset).max() > 0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(sampling_rate=0.0), "sampling_rate"),
        (dict(sampling_rate=20.0), "sampling_rate=20 Hz is too low"),
        (dict(n_samples=1500), "n_samples=1500"),
        (dict(n_samples=1), "n_samples=1"),
        (dict(snr=0.0), "snr"),
        (dict(snr=jnp.array([5.0, -1.0])), "snr"),
        (dict(p_onset=(12.0, 6.0)), "p_onset"),
        (dict(incidence=(10.0, 100.0)), "incidence"),
    ],
)
def test_generator_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        synthetic_records(jax.random.key(0), 2, **kwargs)


def test_window_validation(records):
    with pytest.raises(ValueError, match="sampling_rate=50 Hz"):
        gpd_training_windows(jax.random.key(0), records._replace(sampling_rate=50.0))
    with pytest.raises(ValueError, match="jitter=200"):
        gpd_training_windows(jax.random.key(0), records, jitter=200)
    with pytest.raises(ValueError, match="p_index"):
        gpd_training_windows(jax.random.key(0), records, noise_margin=1000)
