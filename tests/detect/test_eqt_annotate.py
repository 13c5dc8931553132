"""Continuous EQTransformer annotation (`annotate` on an `EQTransformer`) and picking with it:
windows and max-stacking against direct `predict_eqt` calls, the published pre-filter, real
onsets of ObsPy's RJOB and BW.UH3 recordings, and ``sjax detect --model``."""

import glob
from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy.signal.filter import bandpass, highpass

from sjax.cli import DETECT_MODEL_NAMES
from sjax.detect import annotate, pick, stream_to_segments
from sjax.detect.annotate import Prefilter, _preprocess
from sjax.detect.eqt import EQT_COMPONENTS, EQT_WINDOW_SAMPLES, predict_eqt, pretrained_eqt
from sjax.detect.eqt_annotate import (
    EQT_CHANNELS,
    EQT_PREFILTER,
    EQT_TRIGGER_OFF,
    EQT_TRIGGER_ON,
    _window_starts,
)
from sjax.detect.pipeline import DETECT_MODELS, detect_stream

UH3 = sorted(glob.glob(str(Path(obspy.__file__).parent / "signal" / "tests" / "data"
                           / "BW.UH3._.SH?.D.2010.147.cut.slist.gz")))  # fmt: skip
# Onsets found independently of the pickers (STA/LTA trigger, AIC minimum; ± 0.05 s), as in
# test_gpd_ross2018.py.
RJOB_P = obspy.UTCDateTime("2009-08-24T00:20:07.72")
RJOB_S = obspy.UTCDateTime("2009-08-24T00:20:08.68")
UH3_P = [obspy.UTCDateTime(f"2010-05-27T16:{t}") for t in ("24:33.15", "25:26.61", "27:30.42")]
UH3_S = [obspy.UTCDateTime(f"2010-05-27T16:{t}") for t in ("24:34.35", "25:27.75", "27:31.60")]


@pytest.fixture(scope="module")
def eqt():
    return pretrained_eqt()


@pytest.fixture(scope="module")
def uh3():
    stream = obspy.Stream()
    for path in UH3:
        stream += obspy.read(path)
    return stream


@pytest.fixture(scope="module")
def uh3_probabilities(eqt, uh3):
    return annotate(eqt, uh3)


def test_window_starts_cover_the_segment():
    np.testing.assert_array_equal(_window_starts(2500, 3000), [0])
    np.testing.assert_array_equal(_window_starts(6000, 3000), [0])
    np.testing.assert_array_equal(_window_starts(13000, 3000), [0, 3000, 6000, 7000])


def test_annotation_is_the_maximum_over_windows_of_predict_eqt(eqt, uh3, uh3_probabilities):
    (data, start), = stream_to_segments(uh3, components=EQT_COMPONENTS, bandpass=EQT_PREFILTER,
                                        min_samples=1)  # fmt: skip
    n = data.shape[1]
    assert n == 23032  # 230.3 s at 100 Hz
    starts = _window_starts(n, 3000)
    windows = np.stack([data[:, s : s + EQT_WINDOW_SAMPLES].T for s in starts])
    direct = np.asarray(predict_eqt(eqt, windows))  # (8, 6000, 3)
    expected = np.zeros((3, n))
    for s, out in zip(starts, direct):
        covered = expected[:, s : s + EQT_WINDOW_SAMPLES]
        np.maximum(covered, out.T, out=covered)
    assert [tr.stats.channel for tr in uh3_probabilities] == list(EQT_CHANNELS)
    for row, tr in zip(expected, uh3_probabilities):
        assert tr.stats.sampling_rate == 100.0 and tr.stats.starttime == start
        assert tr.stats.model_name == "eqt"
        np.testing.assert_allclose(tr.data, row, rtol=0, atol=1e-5)


def test_published_prefilter_and_the_high_pass_above_nyquist():
    x = np.random.default_rng(0).normal(size=3000)
    taper = Prefilter(1.0, 45.0, corners=2, zerophase=True)
    for rate, reference in ((100.0, lambda y: bandpass(y, 1.0, 45.0, 100.0, 2, True)),
                            (50.0, lambda y: highpass(y, 1.0, 50.0, 2, True))):  # fmt: skip
        out = _preprocess(x, rate, taper)
        y = x - np.polyval(np.polyfit(np.arange(x.size), x, 1), np.arange(x.size))
        k = int(round(rate))
        ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(k) / k))
        y[:k] *= ramp
        y[-k:] *= ramp[::-1]
        np.testing.assert_allclose(out, reference(y), rtol=0, atol=1e-9)


def test_eqt_picks_the_real_onsets(eqt, uh3_probabilities):
    kw = {"threshold_on": EQT_TRIGGER_ON, "threshold_off": EQT_TRIGGER_OFF}
    picks = pick(annotate(eqt, obspy.read()), **kw) + pick(uh3_probabilities, **kw)
    p_times = [p.time for p in picks if p.phase_hint == "P"]
    s_times = [p.time for p in picks if p.phase_hint == "S"]
    assert len(p_times) == 4 and len(s_times) == 4  # no false pick in ~4 min of real data
    for onset, got in zip([RJOB_P, *UH3_P], sorted(p_times)):
        assert abs(got - onset) <= 0.1, (onset, got)
    for onset, got in zip([RJOB_S, *UH3_S], sorted(s_times)):
        assert abs(got - onset) <= 0.15, (onset, got)
    first = min(picks, key=lambda p: p.time)
    assert first.waveform_id.channel_code == "EHZ"
    assert str(first.method_id).endswith("/eqt")


def test_detect_stream_by_model_name(tmp_path):
    assert DETECT_MODEL_NAMES == tuple(DETECT_MODELS)
    summary = detect_stream("rjob", model="eqt", out=tmp_path, echo=lambda line: None)
    assert summary["model"] == "eqt_mousavi2020"
    assert (summary["threshold_on"], summary["threshold_off"]) == (EQT_TRIGGER_ON,
                                                                   EQT_TRIGGER_OFF)  # fmt: skip
    assert [r["phase"] for r in summary["picks"]] == ["P", "S"]
    channels = {tr.stats.channel for tr in obspy.read(str(tmp_path / "probabilities.mseed"))}
    assert channels == {"EQD", "EQP", "EQS"}
    with pytest.raises(ValueError, match="model='phasenet' is not a shipped picker"):
        detect_stream("rjob", model="phasenet", out=tmp_path)


def test_bad_stride_is_refused(eqt):
    with pytest.raises(ValueError, match="stride=7000"):
        annotate(eqt, obspy.read(), stride=7000)
