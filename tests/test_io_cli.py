"""ObsPy bridge and the `sjax demo` command."""

import json

import numpy as np
import obspy
import pytest

from sjax.cli import main
from sjax.io import band_code, round_sampling_rate, seismograms_to_stream
from sjax.wave import PointForce, Receivers, Ricker, SimulationResult


def test_seismograms_to_stream_flips_z_up_and_keeps_sampling():
    traces = np.random.default_rng(0).normal(size=(3, 2, 50))
    result = SimulationResult(traces, np.arange(50) * 0.004, None, None)
    receivers = Receivers([10.0, 20.0, 30.0])
    stream = seismograms_to_stream(result, receivers, "psv")
    assert len(stream) == 6
    z = stream.select(station="S001", channel="CXZ")[0]  # 250 Hz: band C, already round
    np.testing.assert_allclose(z.data, -traces[1, 1])
    assert z.stats.sampling_rate == pytest.approx(250.0)
    assert stream.select(station="S002", channel="CXR")[0].stats.coordinates.x == 30.0
    with pytest.raises(ValueError, match="do not match 3 receivers"):
        seismograms_to_stream(result, receivers, "sh")
    with pytest.raises(ValueError, match="at most the simulation's 250 Hz"):
        seismograms_to_stream(result, receivers, "psv", sampling_rate=500.0)


@pytest.mark.parametrize("rate, code", [(1320.07, "F"), (500.0, "C"), (100.0, "H"), (40.0, "B"),
                                        (5.0, "M"), (1.0, "L"), (0.1, "V")])  # fmt: skip
def test_band_codes_follow_the_seed_convention(rate, code):
    assert band_code(rate) == code


def test_round_rate_resampling_matches_the_analytic_wavelet(tmp_path):
    """Issue 18 outputs: a 1320.07 Hz simulation rate becomes 1000 Hz (band F); resampled
    samples of a 10 Hz Ricker agree with the wavelet evaluated at the new times to 3e-4 of
    its peak; real start time, offsets and SAC distances travel with the traces."""
    dt = 1.0 / 1320.07
    times = np.arange(int(1.0 / dt)) * dt
    wavelet = Ricker(10.0, origin_time=0.1)
    result = SimulationResult(np.asarray(wavelet(times))[None, None, :], times, None, None)
    receivers = Receivers([1500.0], [20.0])
    source = PointForce(500.0, 100.0, wavelet)
    origin = "2024-01-02T03:04:05.5"
    stream = seismograms_to_stream(result, receivers, "sh", source=source, quantity="velocity",
                                   starttime=origin)  # fmt: skip
    trace = stream[0]
    assert round_sampling_rate(1320.07) == 1000.0 and round_sampling_rate(659.9) == 500.0
    assert trace.stats.sampling_rate == 1000.0 and trace.stats.channel == "FXT"
    assert trace.stats.starttime == obspy.UTCDateTime(origin)
    new_times = np.arange(trace.stats.npts) / 1000.0
    np.testing.assert_allclose(trace.data, np.asarray(wavelet(new_times)), atol=3e-4)
    assert trace.stats.distance == 1000.0 and trace.stats.sjax.unit == "m/s"
    stream.write(str(tmp_path / "s.sac"), format="SAC")
    back = obspy.read(str(tmp_path / "s.sac"))[0]
    assert back.stats.sac.dist == pytest.approx(1.0) and back.stats.sac.evdp == pytest.approx(0.1)


def test_demo_writes_figures_summary_and_readable_synthetics(tmp_path, capsys):
    # the wave part here; CI runs the whole demo, and the aftershock and detect parts wrap
    # commands tested in tests/aftershock/test_cli.py and tests/detect/test_pipeline.py
    assert main(["demo", "--small", "--parts", "wave", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out  # a short summary, not the whole summary.json
    assert printed.splitlines()[1].startswith("wave: 81 x 201 grid") and "{" not in printed
    assert len(printed.splitlines()) <= 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "aftershock" not in summary and "detect" not in summary
    for wave in ("sh", "psv"):
        part = summary["wave"][wave]
        assert (tmp_path / part["figure"]).stat().st_size > 10_000
        stream = obspy.read(str(tmp_path / part["synthetics"]))
        assert len(stream) == 30 * (1 if wave == "sh" else 2)
        # round rate, SEED band code for it, the demo's origin time
        assert stream[0].stats.sampling_rate in (500.0, 1000.0)
        assert stream[0].stats.channel[:2] == ("FX" if stream[0].stats.sampling_rate >= 1000
                                              else "CX")  # fmt: skip
        assert stream[0].stats.starttime == obspy.UTCDateTime("2026-01-01T00:00:00")
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


def test_version_and_help_show_defaults_and_output_folders(capsys):
    from sjax import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"sjax {__version__}"
    for command, folder in (("demo", "sjax-demo-output"), ("aftershock", "aftershock_out"),
                            ("detect", "detect_out")):  # fmt: skip
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "output folder" in text and f"(default {folder})" in text, text


def test_compilation_cache_folder_and_switch(monkeypatch, tmp_path):
    from sjax.cache import default_cache_dir, enable_compilation_cache

    monkeypatch.setenv("SJAX_CACHE_DIR", str(tmp_path / "jax"))
    assert default_cache_dir() == str(tmp_path / "jax")
    monkeypatch.setenv("SJAX_CACHE_DIR", "off")
    assert default_cache_dir() is None and enable_compilation_cache() is False
    monkeypatch.delenv("SJAX_CACHE_DIR")
    assert default_cache_dir().endswith(".cache/sjax/jax")
