"""Continuous GPD annotation: stream handling, probability traces, picks, QuakeML."""

import numpy as np
import obspy
import pytest
from obspy.core.event import Catalog, Pick

import sjax
from sjax.detect import (
    PICK_CONFIDENCE_LEVEL,
    PROBABILITY_CHANNELS,
    SJAX_NAMESPACE,
    annotate,
    pick,
    picks_to_catalog,
    stream_to_array,
    stream_to_segments,
)

START = obspy.UTCDateTime(2020, 1, 1, 0, 0, 0)


def _stream(n=1000, rate=100.0, codes=("N", "E", "Z"), band="HH", station="STA", start=START):
    """Traces with distinct constant-slope data per component (value = 1000*k + sample)."""
    st = obspy.Stream()
    for k, code in enumerate(codes):
        tr = obspy.Trace(np.arange(n, dtype=np.float64) + 1000.0 * k)
        tr.stats.network, tr.stats.station, tr.stats.channel = "XX", station, band + code
        tr.stats.sampling_rate, tr.stats.starttime = rate, start
        st.append(tr)
    return st


def _noise_stream(n=1500, rate=100.0, codes=("N", "E", "Z"), seed=0):
    rng = np.random.default_rng(seed)
    st = _stream(n, rate, codes)
    for tr in st:
        tr.data = rng.standard_normal(n)
    return st


# --- stream_to_array ----------------------------------------------------------------------------


def test_component_order_and_aliases():
    st = _stream(codes=("N", "E", "Z"))
    ref, t0 = stream_to_array(st, preprocess=False)
    assert ref.shape == (3, 1000) and ref.dtype == np.float32 and t0 == START
    # data are demeaned per trace: component k is arange(n) - mean for every k
    np.testing.assert_allclose(ref, np.tile(np.arange(1000) - 499.5, (3, 1)), atol=1e-3)
    # mark components by their sign/scale to check the order
    for order in (("Z", "E", "N"), ("Z", "2", "1"), ("1", "Z", "2")):
        st = _stream(codes=order)
        for tr in st:
            scale = {"N": 1.0, "1": 1.0, "E": 2.0, "2": 2.0, "Z": 3.0}[tr.stats.channel[-1]]
            tr.data = tr.data * scale
        arr, _ = stream_to_array(st, preprocess=False)
        np.testing.assert_allclose(arr / ref, np.array([[1.0], [2.0], [3.0]]) * np.ones((3, 1000)),
                                   rtol=1e-5)  # fmt: skip


def test_trim_to_common_span_and_gap_fill():
    st = _stream(n=1000)
    st[0].stats.starttime += 1.0  # N starts 100 samples later
    st[2].data = st[2].data[:900]  # Z ends 100 samples earlier (at START + 8.99)
    gap = st[1].copy()
    st[1].data = st[1].data[:400]
    gap.data = gap.data[500:]
    gap.stats.starttime += 5.0
    st.insert(2, gap)  # E has a gap of 100 samples
    arr, t0 = stream_to_array(st, preprocess=False)
    assert t0 == START + 1.0
    assert arr.shape == (3, 800)
    e = arr[1]
    assert np.all(e[300:400] == 0.0)  # gap samples 400..499 after the start shift of 100


def test_resampling_from_200_hz():
    rate, n, f = 200.0, 4000, 5.0
    st = _stream(n=n, rate=rate)
    t = np.arange(n) / rate
    for tr in st:
        tr.data = np.sin(2 * np.pi * f * t)
    arr, t0 = stream_to_array(st, preprocess=False)
    assert t0 == START
    assert arr.shape == (3, 2000)
    expect = np.sin(2 * np.pi * f * np.arange(2000) / 100.0)
    np.testing.assert_allclose(arr[:, 100:-100], np.tile(expect, (3, 1))[:, 100:-100], atol=1e-3)
    # 50 Hz (2x up-sampling) is still accepted
    arr50, _ = stream_to_array(_noise_stream(n=500, rate=50.0))
    assert arr50.shape == (3, 999)


def test_preprocessing_removes_out_of_band_energy():
    n = 3000
    t = np.arange(n) / 100.0
    st = _stream(n=n)
    for tr in st:
        tr.data = 100.0 + 5.0 * t + np.sin(2 * np.pi * 0.3 * t) + np.sin(2 * np.pi * 10.0 * t)
    arr, _ = stream_to_array(st)
    spec = np.abs(np.fft.rfft(arr[0, 1000:] * np.hanning(n - 1000)))
    freqs = np.fft.rfftfreq(n - 1000, 0.01)
    assert spec[np.argmin(np.abs(freqs - 10.0))] > 100 * spec[np.argmin(np.abs(freqs - 0.3))]


@pytest.mark.parametrize(
    "modify, match",
    [
        (lambda st: st.pop(1), "component"),  # E missing
        (lambda st: [st.pop(0), st.pop(0)], "component"),  # N and E missing
        (lambda st: setattr(st[0].stats, "sampling_rate", 20.0), "sampling_rate"),
        (lambda st: setattr(st[0].stats, "sampling_rate", 0.0), "sampling_rate"),
        (lambda st: setattr(st[0].stats, "sampling_rate", -100.0), "sampling_rate"),
        (lambda st: setattr(st[2].stats, "station", "OTHER"), "station"),
        (lambda st: setattr(st[2].stats, "channel", "HHX"), "component"),
        (lambda st: st.extend(_stream(codes=("Z",), band="EH")), "component Z"),
    ],
)
def test_stream_errors(modify, match):
    st = _stream()
    modify(st)
    with pytest.raises(ValueError, match=match):
        stream_to_array(st)


def test_stream_errors_messages():
    st = _stream()
    st.pop(1)
    with pytest.raises(ValueError, match=r"component\(s\) E missing"):
        stream_to_array(st)
    with pytest.raises(ValueError, match="sampling_rate"):
        stream_to_array(_stream(), sampling_rate=0.0)
    with pytest.raises(ValueError, match="empty"):
        stream_to_array(obspy.Stream())


# --- annotate -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noise_stream():
    return _noise_stream(n=1234)


@pytest.fixture(scope="module")
def probs(gpd_model, noise_stream):
    return annotate(gpd_model, noise_stream, batch_size=32)


def test_annotate_layout(probs):
    n, stride = 1234, 10
    assert isinstance(probs, obspy.Stream) and len(probs) == 3
    assert [tr.stats.channel for tr in probs] == list(PROBABILITY_CHANNELS)
    for tr in probs:
        assert tr.stats.npts == (n - 400) // stride + 1
        assert tr.stats.sampling_rate == 10.0
        assert tr.stats.starttime == START + 2.0
        assert (tr.stats.network, tr.stats.station) == ("XX", "STA")
    data = np.stack([tr.data for tr in probs])
    assert data.min() >= 0.0 and data.max() <= 1.0
    np.testing.assert_allclose(data.sum(axis=0), 1.0, atol=1e-5)


def test_annotate_deterministic_and_batch_invariant(gpd_model, noise_stream, probs):
    again = annotate(gpd_model, noise_stream, batch_size=32)
    other = annotate(gpd_model, noise_stream, batch_size=7)
    for a, b, c in zip(probs, again, other):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_allclose(a.data, c.data, rtol=0, atol=1e-6)


def test_annotate_errors(gpd_model):
    with pytest.raises(ValueError, match="npts"):
        annotate(gpd_model, _noise_stream(n=399))
    with pytest.raises(ValueError, match="stride"):
        annotate(gpd_model, _noise_stream(n=500), stride=0)
    with pytest.raises(ValueError, match="batch_size"):
        annotate(gpd_model, _noise_stream(n=500), batch_size=0)
    with pytest.raises(ValueError, match="model_name"):
        annotate(gpd_model, _noise_stream(n=500), model_name="my model")
    named = annotate(gpd_model, _noise_stream(n=500), model_name="gpd_v2", batch_size=32)
    assert {tr.stats.model_name for tr in named} == {"gpd_v2"}


# --- pick ---------------------------------------------------------------------------------------


def _prob_stream(p, s, rms_n=1.0, rms_e=2.0):
    """Probability traces as `annotate` writes them (input channels HH?; horizontal RMS
    ``rms_n``/``rms_e``, scalars or arrays)."""
    st = obspy.Stream()
    noise = 1.0 - p - s
    for channel, data in zip(PROBABILITY_CHANNELS, (p, s, noise)):
        tr = obspy.Trace(np.asarray(data, dtype=np.float32))
        tr.stats.network, tr.stats.station, tr.stats.channel = "XX", "STA", channel
        tr.stats.sampling_rate, tr.stats.starttime = 10.0, START
        tr.stats.source_channels = {"Z": "HHZ", "N": "HHN", "E": "HHE"}
        st.append(tr)
    rms = obspy.Stream()
    for channel, value in (("HHN", rms_n), ("HHE", rms_e)):
        env = obspy.Trace(np.broadcast_to(np.float32(value), np.shape(p)).copy())
        env.stats.network, env.stats.station, env.stats.channel = "XX", "STA", channel
        env.stats.sampling_rate, env.stats.starttime = 10.0, START
        rms.append(env)
    st[1].stats.horizontal_rms = rms
    return st


def _bump(n, centre, width, height):
    k = np.arange(n)
    return height * np.exp(-0.5 * ((k - centre) / width) ** 2)


def test_pick_bumps():
    n = 600
    p = _bump(n, 123, 5.0, 0.98)
    s = _bump(n, 400, 8.0, 0.97)
    picks = pick(_prob_stream(p, s))
    assert all(isinstance(x, Pick) for x in picks)
    assert [x.phase_hint for x in picks] == ["P", "S"]
    assert picks[0].time == START + 12.3
    assert picks[1].time == START + 40.0
    assert picks[0].waveform_id.get_seed_string() == "XX.STA..HHZ"  # P: the vertical
    assert picks[1].waveform_id.get_seed_string() == "XX.STA..HHE"  # S: the larger horizontal
    assert picks[0].evaluation_mode == "automatic" and picks[0].evaluation_status is None
    assert picks[0].comments[0].text == "probability=0.980000"


def test_pick_flat_below_threshold_and_two_bumps():
    n = 500
    assert pick(_prob_stream(np.full(n, 0.5), np.full(n, 0.3))) == []
    # two separated P bumps (the trace drops below threshold_off between them) give two picks
    p = _bump(n, 100, 4.0, 0.99) + _bump(n, 300, 4.0, 0.96)
    picks = pick(_prob_stream(p, np.zeros(n)))
    assert [x.time - START for x in picks] == [10.0, 30.0]
    # lower threshold picks a smaller bump
    assert len(pick(_prob_stream(0.6 * p, np.zeros(n)), threshold_on=0.5)) == 2
    with pytest.raises(ValueError, match="threshold_off"):
        pick(_prob_stream(p, np.zeros(n)), threshold_on=0.3, threshold_off=0.5)


def test_s_pick_takes_the_horizontal_with_the_larger_amplitude():
    n = 600
    s = _bump(n, 150, 5.0, 0.99) + _bump(n, 400, 5.0, 0.99)
    rms_n = np.where(np.arange(n) < 300, 5.0, 1.0)  # N larger at the first S, E at the second
    picks = pick(_prob_stream(np.zeros(n), s, rms_n=rms_n, rms_e=2.0))
    assert [p.waveform_id.channel_code for p in picks] == ["HHN", "HHE"]
    # without the annotation's stats the probability channel is named, as before
    bare = _prob_stream(np.zeros(n), s)
    for tr in bare:
        del tr.stats.source_channels
    del bare[1].stats.horizontal_rms
    assert {p.waveform_id.channel_code for p in pick(bare)} == {"GPD_S"}


def test_open_triggers_dropped_by_default_or_marked():
    """Issue 17 item 4.3: a trigger still on at the last sample (end of data or a gap) was a
    pick at the last sample; one already on at the first sample is an edge too."""
    n = 300
    p = _bump(n, 150, 4.0, 0.99) + _bump(n, 297, 5.0, 0.99)  # the second is open at the end
    s = _bump(n, 0, 5.0, 0.99)  # open at the start
    closed = pick(_prob_stream(p, s))
    assert [(x.phase_hint, x.time - START) for x in closed] == [("P", 15.0)]
    marked = pick(_prob_stream(p, s), open_triggers="mark")
    assert [(x.phase_hint, x.time - START) for x in marked] == [("S", 0.0), ("P", 15.0),
                                                                 ("P", 29.7)]  # fmt: skip
    assert [x.evaluation_status for x in marked] == ["preliminary", None, "preliminary"]
    assert "trigger open at the start" in marked[0].comments[1].text
    assert "trigger open at the end" in marked[2].comments[1].text
    assert len(marked[1].comments) == 1
    with pytest.raises(ValueError, match="open_triggers"):
        pick(_prob_stream(p, s), open_triggers="keep")


def test_picks_to_catalog_quakeml_roundtrip(tmp_path):
    """Issue 17 item 4.7: channel codes, the probability as an sjax extra, an uncertainty,
    method and creation info survive QuakeML."""
    n = 600
    probs = _prob_stream(_bump(n, 123, 5.0, 0.98), _bump(n, 400, 8.0, 0.97))
    for tr in probs:
        tr.stats.model_name = "gpd_v2"
    picks = pick(probs)
    p, s = picks
    assert p.extra.probability == {"value": pytest.approx(0.98), "namespace": SJAX_NAMESPACE}
    # half-width at half maximum of a Gaussian bump: 1.1774 sigma (5 and 8 samples at 10 Hz)
    assert p.time_errors.uncertainty == pytest.approx(1.1774 * 0.5, abs=0.06)
    assert s.time_errors.uncertainty == pytest.approx(1.1774 * 0.8, abs=0.06)
    assert p.time_errors.confidence_level == pytest.approx(76.1, abs=0.05) == PICK_CONFIDENCE_LEVEL
    assert p.method_id.id == "smi:local/sjax/detect/gpd_v2"
    assert (p.creation_info.author, p.creation_info.version) == ("sjax", sjax.__version__)
    catalog = picks_to_catalog(picks)
    assert isinstance(catalog, Catalog) and len(catalog) == 1
    path = tmp_path / "picks.xml"
    catalog.write(str(path), format="QUAKEML", nsmap={"sjax": SJAX_NAMESPACE})
    assert "<sjax:probability>0.98" in path.read_text()
    back = obspy.read_events(str(path))
    got = back[0].picks
    assert len(got) == len(picks) == 2
    for a, b in zip(picks, got):
        assert (a.time, a.phase_hint, a.waveform_id, a.evaluation_mode) == (
            b.time, b.phase_hint, b.waveform_id, b.evaluation_mode
        )  # fmt: skip
        assert a.comments[0].text == b.comments[0].text
        assert float(b.extra.probability.value) == pytest.approx(a.extra.probability.value)
        assert b.extra.probability.namespace == SJAX_NAMESPACE
        assert b.time_errors.uncertainty == pytest.approx(a.time_errors.uncertainty)
        assert b.time_errors.confidence_level == pytest.approx(PICK_CONFIDENCE_LEVEL)
        assert (b.method_id, b.creation_info) == (a.method_id, a.creation_info)
    assert [b.waveform_id.channel_code for b in got] == ["HHZ", "HHE"]


# --- real-data smoke test: ObsPy's bundled RJOB event ---------------------------------------------


def test_rjob_end_to_end(gpd_model, tmp_path):
    st = obspy.read()  # BW.RJOB..EH{Z,N,E}, 100 Hz, 3000 samples
    probs = annotate(gpd_model, st)
    assert len(probs) == 3 and probs[0].stats.station == "RJOB"
    start, end = st[0].stats.starttime, st[0].stats.endtime
    for tr in probs:
        assert tr.stats.starttime == start + 2.0
        assert tr.stats.npts == (3000 - 400) // 10 + 1
        assert abs(tr.stats.endtime - (end - 2.0)) <= 0.1  # covers the data span minus 2 s ends
    data = np.stack([tr.data for tr in probs])
    np.testing.assert_allclose(data.sum(axis=0), 1.0, atol=1e-5)
    for tr in probs:  # what pick needs to name the channels and the method
        assert tr.stats.source_channels == {"Z": "EHZ", "N": "EHN", "E": "EHE"}
        assert tr.stats.model_name == "gpd"
    rms = probs.select(channel="GPD_S")[0].stats.horizontal_rms
    assert [env.stats.channel for env in rms] == ["EHN", "EHE"]
    assert all(env.stats.npts == probs[0].stats.npts for env in rms)
    assert rms[0].stats.starttime == probs[0].stats.starttime
    [(filtered, _)] = stream_to_segments(st)  # RMS over +-1 s around window centre 50 (7 s)
    centre = 50 * 10 + 200
    for row, env in zip(filtered[:2].astype(np.float64), rms):  # rows N, E
        expect = np.sqrt(np.mean(row[centre - 100 : centre + 100] ** 2))
        assert env.data[50] == pytest.approx(expect, rel=1e-4)
    picks = pick(probs, threshold_on=0.5, threshold_off=0.3)  # random weights: anything goes
    assert all(isinstance(x, Pick) and x.phase_hint in ("P", "S") for x in picks)
    assert all(x.waveform_id.channel_code == "EHZ" for x in picks if x.phase_hint == "P")
    assert all(x.waveform_id.channel_code in ("EHN", "EHE") for x in picks if x.phase_hint == "S")
    path = tmp_path / "rjob.xml"
    picks_to_catalog(picks).write(str(path), format="QUAKEML")
    assert len(obspy.read_events(str(path))[0].picks) == len(picks)
