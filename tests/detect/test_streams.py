"""Stream handling of the phase picker on real data (issue 17, item 4): gaps, orientations from
headers, low rates and the segment API, with ObsPy's bundled RJOB event (BW.RJOB..EH?, 100 Hz,
30 s, P onset about 4.7 s after the start)."""

import jax.numpy as jnp
import numpy as np
import obspy
import pytest
from flax import nnx
from obspy.core.inventory import Channel, Inventory, Network, Station

from sjax.detect import annotate, pick, stream_to_array, stream_to_segments


class OnsetModel(nnx.Module):
    """Stand-in picker: P probability from the energy jump at the window centre (the second after
    it over the second before it; tenfold gives 0.5), like an STA/LTA trigger; never S. A window
    reaching from zero-filled samples into data is an onset for it, as for a trained GPD."""

    def __call__(self, x, use_running_average=True):
        before = jnp.mean(x[:, 100:200] ** 2, axis=(1, 2))
        after = jnp.mean(x[:, 200:300] ** 2, axis=(1, 2))
        logit = 4.0 * (jnp.log10((after + 1e-12) / (before + 1e-12)) - 1.0)
        return jnp.stack([logit, jnp.full_like(logit, -30.0), jnp.zeros_like(logit)], axis=-1)


@pytest.fixture(scope="module")
def rjob():
    return obspy.read()


def _cut(stream, start, end, components="ZNE"):
    """``stream`` without the samples between ``start`` and ``end`` s after its start, on the
    given components."""
    out = obspy.Stream()
    for tr in stream:
        t0 = tr.stats.starttime
        if tr.stats.channel[-1] in components:
            out.extend([tr.slice(endtime=t0 + start), tr.slice(starttime=t0 + end)])
        else:
            out += tr.copy()
    return out


@pytest.fixture(scope="module")
def gapped(rjob):
    """RJOB with 15.00-18.00 s cut out of all components (2.99 s of samples missing)."""
    return _cut(rjob, 15.0, 18.0)


# --- gaps ---------------------------------------------------------------------------------------


def test_gap_splits_into_segments_each_preprocessed_alone(rjob, gapped):
    t0 = rjob[0].stats.starttime
    segments = stream_to_segments(gapped)
    assert [(start - t0, data.shape, data.dtype) for data, start in segments] == [
        (0.0, (3, 1501), np.float32), (18.0, (3, 1200), np.float32)
    ]  # fmt: skip
    # each segment is exactly what its stretch of data gives alone: nothing leaks over the gap
    alone = [stream_to_segments(rjob.slice(endtime=t0 + 15.0))[0],
             stream_to_segments(rjob.slice(starttime=t0 + 18.0))[0]]  # fmt: skip
    for (data, start), (ref, ref_start) in zip(segments, alone):
        assert start == ref_start
        np.testing.assert_array_equal(data, ref)
    # the same gap as masked samples (ObsPy's merge) gives the same segments
    masked = stream_to_segments(gapped.copy().merge())
    for (data, start), (ref, ref_start) in zip(masked, segments, strict=True):
        assert start == ref_start
        np.testing.assert_array_equal(data, ref)
    # stream_to_array keeps one grid: the segments, and zeros over the gap
    array, start = stream_to_array(gapped)
    assert start == t0 and array.shape == (3, 3000)
    np.testing.assert_array_equal(array[:, :1501], segments[0][0])
    np.testing.assert_array_equal(array[:, 1800:], segments[1][0])
    assert not array[:, 1501:1800].any()


def test_gap_on_one_component_splits_all_three(rjob, gapped):
    one = _cut(rjob, 15.0, 18.0, components="N")
    for (data, start), (ref, ref_start) in zip(stream_to_segments(one), stream_to_segments(gapped),
                                               strict=True):  # fmt: skip
        assert start == ref_start
        np.testing.assert_array_equal(data, ref)


def test_annotate_leaves_the_gap_in_the_probabilities(gpd_model, rjob, gapped):
    t0 = rjob[0].stats.starttime
    probs = annotate(gpd_model, gapped)
    assert [(tr.stats.channel, tr.stats.starttime - t0, tr.stats.npts) for tr in probs] == [
        (channel, start, npts) for channel in ("GPD_P", "GPD_S", "GPD_N")
        for start, npts in ((2.0, 111), (20.0, 81))
    ]  # fmt: skip
    gaps = probs.get_gaps()  # ObsPy sees the gap: 13.0 -> 20.0 s on each channel
    assert len(gaps) == 3 and all((g[4] - t0, g[5] - t0) == (13.0, 20.0) for g in gaps)
    after = annotate(gpd_model, rjob.slice(starttime=t0 + 18.0))
    for tr, ref in zip([tr for tr in probs if tr.stats.starttime > t0 + 19], after, strict=True):
        np.testing.assert_array_equal(tr.data, ref.data)


def test_gap_edge_does_not_trigger(rjob, gapped):
    """Issue 17 item 4.1: zero-filled gaps gave a confident (1.000) false pick where the data
    resume; now only RJOB's P onset is picked, with or without the gap."""
    model = OnsetModel()
    t0 = rjob[0].stats.starttime
    for stream in (gapped, _cut(rjob, 15.0, 18.0, components="N"), rjob):
        picks = pick(annotate(model, stream), threshold_on=0.9, threshold_off=0.5)
        assert [(p.phase_hint, round(p.time - t0, 2)) for p in picks] == [("P", 4.7)]
        assert picks[0].waveform_id.channel_code == "EHZ"


def test_time_tears_overlaps_and_short_segments(rjob):
    t0 = rjob[0].stats.starttime
    whole = stream_to_segments(rjob)
    assert len(whole) == 1
    # a one-sample tear (one sample missing) is bridged; two missing samples split the data
    for missing, count in ((1, 1), (2, 2)):
        torn = rjob.copy()
        n = torn[0]
        torn[0] = n.slice(endtime=t0 + 10.0)
        torn.append(n.slice(starttime=t0 + 10.0 + 0.01 * (missing + 1)))
        assert len(stream_to_segments(torn)) == count
    # overlapping and duplicated pieces are merged
    overlap = rjob.copy() + rjob.slice(t0 + 5.0, t0 + 12.0)
    np.testing.assert_array_equal(stream_to_segments(overlap)[0][0], whole[0][0])
    # segments shorter than min_samples are dropped
    assert [d.shape[1] for d, _ in stream_to_segments(_cut(rjob, 3.0, 5.0))] == [2500]
    assert stream_to_segments(rjob, min_samples=3001) == []


def test_segment_keywords_for_other_models(rjob):
    """EQTransformer-style: E, N, Z rows, 1-45 Hz."""
    nez = stream_to_segments(rjob, bandpass=(1.0, 45.0))
    enz = stream_to_segments(rjob, components=("E", "N", "Z"), bandpass=(1.0, 45.0))
    np.testing.assert_array_equal(enz[0][0], nez[0][0][[1, 0, 2]])
    array, _ = stream_to_array(rjob, components=("E", "N", "Z"), bandpass=(1.0, 45.0))
    np.testing.assert_array_equal(array, enz[0][0])
    for kwargs, match in (({"components": ("N", "E")}, "components"),
                          ({"bandpass": (20.0, 3.0)}, "bandpass"),
                          ({"min_samples": 0}, "min_samples")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            stream_to_segments(rjob, **kwargs)


# --- orientation from headers, low rates --------------------------------------------------------


@pytest.fixture(scope="module")
def sac_qrt(rjob, tmp_path_factory):
    """RJOB as SAC files BHQ (vertical), BHR (north), BHT (east) with cmpinc/cmpaz."""
    folder = tmp_path_factory.mktemp("sac")
    for tr, (channel, inc, az) in zip(
        rjob.copy(), (("BHQ", 0.0, 0.0), ("BHR", 90.0, 0.0), ("BHT", 90.0, 90.0))
    ):  # obspy.read() order: Z, N, E
        tr.stats.channel = channel
        tr.stats.sac = {"cmpinc": inc, "cmpaz": az}
        tr.write(str(folder / f"RJOB.{channel}.sac"), format="SAC")
    return folder


def test_orientation_from_sac_headers(gpd_model, rjob, sac_qrt):
    stream = obspy.read(str(sac_qrt / "*.sac"))
    assert sorted(tr.stats.channel for tr in stream) == ["BHQ", "BHR", "BHT"]
    probs = annotate(gpd_model, stream)
    assert probs[0].stats.source_channels == {"Z": "BHQ", "N": "BHR", "E": "BHT"}
    data, _ = stream_to_array(stream)
    np.testing.assert_allclose(data, stream_to_array(rjob)[0], rtol=1e-6, atol=1e-3)
    # SEED orientation (dip from the horizontal, -90 = up) in stats works as well
    seed = rjob.copy()
    seed[0].stats.channel = "EHU"
    seed[0].stats.orientation = {"dip": -90.0, "azimuth": 0.0}
    np.testing.assert_array_equal(stream_to_array(seed)[0], stream_to_array(rjob)[0])
    # ... and an inventory in stats (here: EHT at azimuth 90 = east)
    channel = Channel("EHT", "", 48.0, 12.0, 860.0, 0.0, azimuth=90.0, dip=0.0)
    inventory = Inventory([Network("BW", stations=[Station("RJOB", 48.0, 12.0, 860.0,
                                                           channels=[channel])])])  # fmt: skip
    seed = rjob.copy()
    seed[2].stats.channel, seed[2].stats.inventory = "EHT", inventory
    assert stream_to_array(seed)[0].tobytes() == stream_to_array(rjob)[0].tobytes()


def test_orientation_errors_name_the_channel_and_header(sac_qrt):
    stream = obspy.read(str(sac_qrt / "*.sac"))
    oblique = stream.select(channel="BHT")[0]
    oblique.stats.sac.cmpaz = 45.0
    with pytest.raises(ValueError, match=r"BW\.RJOB\.\.BHT .*\(SAC cmpinc=90, cmpaz=45\.0\)"):
        stream_to_array(stream)
    del oblique.stats.sac["cmpinc"]
    with pytest.raises(ValueError, match=r"component 'T' of channel BW\.RJOB\.\.BHT .*no orient"):
        stream_to_array(stream)


def test_low_rate_names_what_is_needed(rjob):
    slow = rjob.copy().decimate(5)  # 20 Hz teleseismic-style
    with pytest.raises(ValueError, match=r"sampling_rate=20 Hz of BW\.RJOB\.\.EH. is below 50 Hz"
                       r".*None of sjax's shipped pickers is trained for 20 Hz data.*at least "
                       "50 Hz"):  # fmt: skip
        stream_to_array(slow)
