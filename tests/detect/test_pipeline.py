"""``sjax detect``: ObsPy's RJOB event end to end (issue test 6), and clear errors."""

import json

import obspy
import pytest

from sjax.cli import main
from sjax.detect.pipeline import read_waveforms


def test_sjax_detect_rjob_writes_quakeml_and_probabilities(tmp_path, capsys):
    assert main(["detect", "rjob", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "detect.json").read_text())
    assert summary["stations"] == ["BW.RJOB..EH"]
    catalog = obspy.read_events(str(tmp_path / "picks.xml"))
    picks = catalog[0].picks
    assert len(picks) == len(summary["picks"])
    assert all(p.phase_hint in ("P", "S") and p.waveform_id.station_code == "RJOB" for p in picks)
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
    from sjax.detect.pipeline import detect_stream

    with pytest.raises(ValueError, match="station BW.RJOB..EH"):
        detect_stream(two, out=tmp_path)
