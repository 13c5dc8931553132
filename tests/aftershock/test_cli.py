"""``sjax aftershock``: end to end on a synthetic CSV (ISO times) and on the shipped Ridgecrest
catalogue (``--model constant``: the fast ML fit), and clear errors for bad arguments.

Both end-to-end runs use Mref = 7.1, Mc = 2.5, 257–512 learning events, 2 windows × 3
thresholds and 200 draws, so the second reuses the compiled fit and forecast of the first.
"""

import json

import numpy as np
import pytest
from obspy import UTCDateTime
from scipy.special import ndtr

from sjax.cli import main, parse_window

MAINSHOCK = "2020-01-01T00:00:00"


def synthetic_csv(path, n_true=1200, seed=1):
    """Omori–Utsu (c = 0.05 d, p = 1.1) times on [0, 3] d, GR magnitudes (b = 1) above 2.5,
    thinned by a constant detection Φ((M − 2.9)/0.25); ISO times. Returns (times, mags)."""
    rng = np.random.default_rng(seed)
    c, p, end = 0.05, 1.1, 3.0
    a, b = c ** (1 - p), (end + c) ** (1 - p)
    times = (a + rng.uniform(size=n_true) * (b - a)) ** (1 / (1 - p)) - c
    mags = np.round(2.5 + rng.exponential(1 / np.log(10), n_true), 2)
    keep = rng.uniform(size=n_true) < ndtr((mags - 2.9) / 0.25)
    order = np.argsort(times[keep])
    times, mags = times[keep][order], mags[keep][order]
    origin = UTCDateTime(MAINSHOCK)
    rows = [f"{(origin + t * 86400.0).isoformat()},{m:.2f}" for t, m in zip(times, mags)]
    path.write_text("time,magnitude\n" + "\n".join(rows) + "\n")
    return times, mags


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthetic_csv_end_to_end(tmp_path, capsys):
    csv = tmp_path / "sequence.csv"
    times, mags = synthetic_csv(csv)
    assert 257 <= np.sum(times <= 1.0) <= 512  # same padding bucket as Ridgecrest's day 1
    out = tmp_path / "out"
    code = main(["aftershock", str(csv), "--mainshock-time", MAINSHOCK,
                 "--mainshock-magnitude", "7.1", "--magnitude-cutoff", "2.5", "--learn", "0,1",
                 "--forecast", "1,2", "--forecast", "2,3", "--thresholds", "3,3.5,4",
                 "--model", "constant", "--draws", "200", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for word in ("parameter", "std. error", "sigma", "95% interval", "P(>=1)", "observed"):
        assert word in printed
    result = json.loads((out / "forecast.json").read_text())
    assert result["model"] == "constant" and result["converged"]
    assert result["n_learn_events"] == int(np.sum(times <= 1.0))
    assert result["mainshock_time"].startswith("2020-01-01T00:00:00")
    assert set(result["parameters"]) == {"k", "c", "p", "b", "sigma", "mu"}
    assert abs(result["parameters"]["mu"]["estimate"] - 2.9) < 0.3  # true μ = 2.9
    assert abs(result["parameters"]["b"]["estimate"] - 1.0) < 0.3
    forecast = result["forecast"]
    assert np.shape(forecast["expected"]) == (2, 3) and forecast["n_draws"] == 200
    lower, upper = np.array(forecast["lower"]), np.array(forecast["upper"])
    assert np.all(lower <= np.array(forecast["median"])) and np.all(forecast["median"] <= upper)
    assert np.all(np.diff(forecast["expected"], axis=1) < 0)  # fewer events above higher M
    # observed counts (recorded events) next to the forecast, from the CSV itself; the
    # catalogue ends at its last event (< 3 d), so the second window is counted to there
    day_2, after = (times >= 1) & (times < 2), times >= 2
    expected_observed = [[int(np.sum(inside & (mags >= m))) for m in (3.0, 3.5, 4.0)]
                         for inside in (day_2, after)]  # fmt: skip
    assert result["observed"] == expected_observed
    assert result["observed_through_days"][0] == 2.0
    assert result["observed_through_days"][1] == pytest.approx(times[-1])
    # the true model is in the fitted family: M >= 3 counts fall inside the 95 % interval
    observed = np.array(result["observed"])
    assert lower[0, 0] <= observed[0, 0] <= upper[0, 0]
    for name in ("mu", "forecast", "rate"):
        assert result["figures"][name] == f"{name}.png"
        assert is_png(out / f"{name}.png")


def test_ridgecrest_constant(tmp_path, capsys):
    out = tmp_path / "rc"
    assert main(["aftershock", "ridgecrest", "--model", "constant", "--draws", "200",
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "magnitude cutoff 2.5" in printed and "observed on [2, 6.978] d only" in printed
    result = json.loads((out / "forecast.json").read_text())
    assert result["reference_magnitude"] == 7.1 and result["magnitude_cutoff"] == 2.5
    assert result["mainshock_time"].startswith("2019-07-06T03:19:53")
    assert result["learn_days"] == [0.0, 1.0] and result["n_learn_events"] == 314
    assert result["forecast"]["windows"] == [[1.0, 2.0], [2.0, 7.0]]
    # ComCat magnitudes to 0.01 above the 2.5 cut: M >= 3 as reported is a true M >= 2.995
    assert result["magnitude_bin"] == 0.01 and result["magnitude_bin_inferred"]
    assert result["reported_thresholds"] == [3.0, 4.0, 5.0]
    assert result["forecast"]["thresholds"] == pytest.approx([2.995, 3.995, 4.995])
    assert result["observed"][0] == [51, 2, 0]  # recorded M >= 3, 4, 5 on day 1–2
    assert result["observed_through_days"][1] == pytest.approx(6.9777, abs=1e-3)
    assert all(is_png(out / f) for f in result["figures"].values())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--learn", "0"], "--learn must be START,END in days"),
        (["--learn", "1,0"], "--learn must be START,END in days with 0 <= START < END"),
        (["--forecast", "a,b"], "--forecast must be START,END in days"),
        (["--thresholds", "x"], "--thresholds must be magnitudes"),
        (["--model", "nope"], "invalid choice: 'nope'"),
        (["--learn", "0.3,0.4"], "learning window is empty"),
        (["--learn", "0,5"], "is not inside the catalogue's"),
    ],
)
def test_bad_arguments(tmp_path, capsys, args, message):
    csv = tmp_path / "few.csv"
    csv.write_text("days,mag\n0.1,3.1\n0.2,2.9\n0.5,4.0\n1.5,3.3\n2.0,3.0\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["aftershock", str(csv), "--mainshock-magnitude", "6.0", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_catalogue(tmp_path, capsys):
    def error(*args):
        with pytest.raises(SystemExit) as exit_info:
            main(["aftershock", *args])
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    assert "catalogue file not found" in error(str(tmp_path / "missing.csv"))
    iso = tmp_path / "iso.csv"
    iso.write_text("time,mag\n2020-01-01T01:00:00,3.0\n2020-01-01T02:00:00,3.5\n")
    assert "pass --mainshock-time" in error(str(iso), "--mainshock-magnitude", "6")
    assert "--mainshock-magnitude" in error(str(iso), "--mainshock-time", MAINSHOCK)
    quakeml = tmp_path / "events.xml"
    quakeml.write_text("<q/>")
    assert "needs --mainshock-time" in error(str(quakeml), "--mainshock-magnitude", "6")
    with pytest.raises(ValueError, match="--learn must be START,END in days"):
        parse_window("0;1", "--learn")
    assert parse_window(" 0.5, 2 ") == (0.5, 2.0)


def test_aftfore_style_tab_file_with_magnitude_bins(tmp_path, capsys):
    """Issue 20: AftFore's two-column tab-separated form (days, magnitude to 0.1) runs as it
    is; the inferred 0.1 bin makes 'M >= 3' mean a true M >= 2.95 for the model, the figures
    take --title, and the parameter table lines up."""
    times, mags = synthetic_csv(tmp_path / "iso.csv")
    path = tmp_path / "aftfore.txt"
    path.write_text("".join(f"{t:.6f}\t{m:.1f}\n" for t, m in zip(times, mags)))
    out = tmp_path / "out"
    assert main(["aftershock", str(path), "--mainshock-magnitude", "7.1", "--magnitude-cutoff",
                 "2.5", "--learn", "0,1", "--forecast", "1,2", "--thresholds", "3,3.5",
                 "--model", "constant", "--draws", "200", "--title", "my sequence",
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "magnitude bin 0.1 (inferred from the data)" in printed
    result = json.loads((out / "forecast.json").read_text())
    assert result["magnitude_bin"] == 0.1 and result["title"] == "my sequence"
    assert result["forecast"]["thresholds"] == pytest.approx([2.95, 3.45])
    rounded = np.array([float(f"{m:.1f}") for m in mags])  # as written in the file
    day_2 = (times >= 1) & (times < 2)
    assert result["observed"][0] == [int(np.sum(day_2 & (rounded >= m - 1e-9)))
                                     for m in (3.0, 3.5)]  # fmt: skip
    table = printed.split("std. error")[0].splitlines()[-1] + "std. error"
    rows = [line for line in printed.splitlines() if line.split()[:1] in (["k"], ["sigma"])]
    # values right-aligned under their headers, then two spaces and the unit
    assert all(line[len(table) - 1] != " " and line[len(table):len(table) + 2] == "  "
               for line in rows), (table, rows)  # fmt: skip
    assert "M >= 7.1" in rows[0] and rows[1].endswith("mag")


def test_data_errors_are_not_usage_errors(tmp_path, capsys):
    """Issue 18/20: a bad line of the catalogue is reported by its file line, without the
    argparse usage text (the command line was right)."""
    path = tmp_path / "bad.csv"
    path.write_text("days,mag\n0.1,3.1\n0.2,\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["aftershock", str(path), "--mainshock-magnitude", "6"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "line 3 has an empty magnitude" in err and "usage:" not in err
