"""``sjax detect``: ObsPy's RJOB event end to end (issue test 6), several files and patterns,
stations that cannot be used (issue 17, item 4), and clear errors."""

import json

import obspy
import pytest

from sjax.cli import main
from sjax.detect.pipeline import detect_stream, read_waveforms


def test_sjax_detect_rjob_writes_quakeml_and_probabilities(tmp_path, capsys):
    assert main(["detect", "rjob", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "detect.json").read_text())
    assert summary["stations"] == ["BW.RJOB..EH"] and summary["skipped"] == []
    catalog = obspy.read_events(str(tmp_path / "picks.xml"))
    picks = catalog[0].picks
    assert len(picks) == len(summary["picks"])
    assert all(p.phase_hint in ("P", "S") and p.waveform_id.station_code == "RJOB" for p in picks)
    for p, row in zip(picks, summary["picks"]):  # real channel codes, the probability as extra
        assert p.waveform_id.channel_code == row["channel"]
        assert row["channel"] == "EHZ" if p.phase_hint == "P" else row["channel"] in ("EHN", "EHE")
        assert float(p.extra.probability.value) == pytest.approx(row["probability"], abs=1e-6)
    probabilities = obspy.read(str(tmp_path / "probabilities.mseed"))
    assert sorted(tr.stats.channel for tr in probabilities) == ["GPN", "GPP", "GPS"]
    assert (tmp_path / "detect_BW_RJOB__EH.png").stat().st_size > 10_000
    # reported, not asserted (synthetic training, one real event): see the README
    print("RJOB picks:", [(p["phase"], p["time"], p["probability"]) for p in summary["picks"]])


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_waveforms(tmp_path / "missing.mseed")
    (tmp_path / "junk.mseed").write_bytes(b"not seismic data")
    with pytest.raises(ValueError, match="could not read"):
        read_waveforms(tmp_path / "junk.mseed")
    with pytest.raises(ValueError, match="no traces"):
        read_waveforms(obspy.Stream())
    with pytest.raises(SystemExit):
        main(["detect", "rjob", "--out", str(tmp_path), "--threshold-on", "1.5"])
    two = obspy.read().select(component="Z") + obspy.read().select(component="N")
    with pytest.warns(UserWarning), pytest.raises(
        ValueError, match=r"no station could be processed; station BW.RJOB..EH: component\(s\) E"
    ):
        detect_stream(two, out=tmp_path)


def test_single_component_station_is_skipped(tmp_path, gpd_model):
    """Issue 17 item 4.2: one single-component station stopped the whole file (here beside
    RJOB with a gap from 15 to 18 s: two segments in the probabilities and the figure)."""
    single = obspy.read().select(component="Z")
    single[0].stats.station = "ONE"
    t0 = single[0].stats.starttime
    gapped = obspy.read().slice(endtime=t0 + 15) + obspy.read().slice(starttime=t0 + 18)
    lines = []
    with pytest.warns(UserWarning, match=r"station BW\.ONE\.\.EH skipped: component\(s\) N, E "
                      "missing"):  # fmt: skip
        summary = detect_stream(gapped + single, out=tmp_path, model=gpd_model,
                                echo=lines.append)  # fmt: skip
    assert summary["stations"] == ["BW.RJOB..EH"]
    assert len(obspy.read(str(tmp_path / "probabilities.mseed"))) == 6  # 3 channels x 2 segments
    assert [s["station"] for s in summary["skipped"]] == ["BW.ONE..EH"]
    assert "component(s) N, E missing" in summary["skipped"][0]["reason"]
    assert lines[0].startswith("skipped station BW.ONE..EH: component(s) N, E missing")
    assert json.loads((tmp_path / "detect.json").read_text())["skipped"] == summary["skipped"]


def test_several_files_and_glob_patterns(tmp_path, capsys, gpd_model):
    """Issue 17 item 4.4: RJOB's components in three files, named by a path and a pattern."""
    rjob = obspy.read()
    for tr in rjob:
        tr.write(str(tmp_path / f"rjob_{tr.stats.channel}.mseed"), format="MSEED")
    sources = [str(tmp_path / "rjob_EHZ.mseed"), str(tmp_path / "rjob_EH[NE].mseed")]
    assert len(read_waveforms(sources)) == 3
    summary = detect_stream(sources, out=tmp_path / "list", model=gpd_model, echo=lambda _: None)
    assert summary["stations"] == ["BW.RJOB..EH"]
    assert main(["detect", *sources, "--out", str(tmp_path / "cli")]) == 0
    assert json.loads((tmp_path / "cli" / "detect.json").read_text())["stations"] == [
        "BW.RJOB..EH"
    ]  # fmt: skip
    missing = str(tmp_path / "nothing_*.mseed")
    with pytest.raises(ValueError, match="no waveform file matches the pattern .*nothing_"):
        read_waveforms([sources[0], missing])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["detect", sources[0], missing, "--out", str(tmp_path / "cli")])
    assert f"no waveform file matches the pattern {missing!r}" in capsys.readouterr().err
