"""ObsPy bridge and the `sjax demo` command."""

import json

import numpy as np
import obspy
import pytest

from sjax.cli import main
from sjax.io import seismograms_to_stream
from sjax.wave import Receivers, SimulationResult


def test_seismograms_to_stream_flips_z_up_and_keeps_sampling():
    traces = np.random.default_rng(0).normal(size=(3, 2, 50))
    result = SimulationResult(traces, np.arange(50) * 0.004, None, None)
    receivers = Receivers([10.0, 20.0, 30.0])
    stream = seismograms_to_stream(result, receivers, "psv")
    assert len(stream) == 6
    z = stream.select(station="S001", channel="BXZ")[0]
    np.testing.assert_allclose(z.data, -traces[1, 1])
    assert z.stats.sampling_rate == pytest.approx(250.0)
    assert stream.select(station="S002", channel="BXR")[0].stats.coordinates.x == 30.0
    with pytest.raises(ValueError, match="do not match 3 receivers"):
        seismograms_to_stream(result, receivers, "sh")


def test_demo_writes_figures_summary_and_readable_synthetics(tmp_path):
    # the wave part here; CI runs the whole demo, and the aftershock and detect parts wrap
    # commands tested in tests/aftershock/test_cli.py and tests/detect/test_pipeline.py
    assert main(["demo", "--small", "--parts", "wave", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "aftershock" not in summary and "detect" not in summary
    for wave in ("sh", "psv"):
        part = summary["wave"][wave]
        assert (tmp_path / part["figure"]).stat().st_size > 10_000
        stream = obspy.read(str(tmp_path / part["synthetics"]))
        assert len(stream) == 30 * (1 if wave == "sh" else 2)
        assert np.isfinite(part["peak_velocity_m_s"]) and part["peak_velocity_m_s"] > 0


def test_demo_rejects_unknown_parts(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--parts", "wave,tremor", "--out", str(tmp_path)])
    assert "unknown demo part(s) ['tremor']" in capsys.readouterr().err


def test_demo_parts_tolerate_spaces_after_commas(tmp_path, capsys):
    """Issue 18, item 7: ``--parts "wave, tremor"`` names the unknown part 'tremor', not
    ' tremor' (the spaces are stripped before the check)."""
    with pytest.raises(SystemExit):
        main(["demo", "--parts", "wave, tremor", "--out", str(tmp_path)])
    assert "unknown demo part(s) ['tremor']" in capsys.readouterr().err
