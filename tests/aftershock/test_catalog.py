"""Catalog: loaders (arrays, CSV, ObsPy, QuakeML, shipped Ridgecrest file) and validation."""

import csv
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from obspy import UTCDateTime
from obspy.core.event import Catalog as ObspyCatalog
from obspy.core.event import Event, Magnitude, Origin

from sjax.aftershock import (
    Catalog,
    catalog_from_arrays,
    catalog_from_csv,
    catalog_from_obspy,
    catalog_from_quakeml,
    catalog_to_obspy,
    days_since_mainshock,
    ridgecrest_catalog,
)

MAIN = UTCDateTime("2020-01-01T00:00:00")


def obspy_event(seconds, mag, extra_mag=None):
    origin = Origin(time=MAIN + seconds, latitude=35.0, longitude=-117.0, depth=8000.0)
    magnitudes = [Magnitude(mag=mag, magnitude_type="ML")]
    if extra_mag is not None:  # a second, non-preferred magnitude listed first
        magnitudes.insert(0, Magnitude(mag=extra_mag, magnitude_type="Md"))
    event = Event(origins=[origin], magnitudes=magnitudes)
    event.preferred_origin_id = origin.resource_id
    event.preferred_magnitude_id = magnitudes[-1].resource_id
    return event


def small_obspy_catalog():
    # newest first, as FDSN services return them
    return ObspyCatalog(events=[obspy_event(86400 * 1.5, 3.3), obspy_event(3600.25, 2.8, 9.9),
                                obspy_event(120.0, 4.1)])  # fmt: skip


EXPECTED_DAYS = np.array([120.0, 3600.25, 86400 * 1.5]) / 86400.0


# ------------------------------------------------------------------------------------------
# Loaders


def test_ridgecrest_file_matches_raw_csv():
    path = resources.files("sjax.aftershock") / "data" / "ridgecrest2019_comcat.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    main = np.datetime64("2019-07-06T03:19:53")
    raw_days = np.array([(np.datetime64(r["time_string"]) - main) / np.timedelta64(1, "us")
                         for r in rows]) / 86400e6  # fmt: skip
    raw_mags = np.array([float(r["M"]) for r in rows])

    catalog = ridgecrest_catalog()
    assert catalog.n_events == len(rows) == 829
    assert catalog.times.dtype == jnp.float64
    np.testing.assert_allclose(catalog.times, raw_days, rtol=0, atol=1e-11)
    np.testing.assert_array_equal(catalog.magnitudes, raw_mags)
    np.testing.assert_allclose(catalog.times[0], 162.63 / 86400, rtol=1e-9)  # 03:22:35.63
    np.testing.assert_allclose(catalog.end, raw_days.max(), rtol=1e-14)
    assert 6.97 < float(catalog.end) < 6.98 and float(catalog.start) == 0.0
    assert float(catalog.magnitudes.min()) == 2.5 and float(catalog.magnitudes.max()) == 5.5
    assert catalog.mainshock_utc == UTCDateTime("2019-07-06T03:19:53")
    assert catalog.mainshock_magnitude == 7.1
    first_day = catalog.window(0.0, 1.0)
    assert first_day.n_events == int(np.sum(raw_days <= 1.0)) and float(first_day.end) == 1.0
    assert (resources.files("sjax.aftershock") / "data" / "README.md").is_file()


def test_obspy_catalog_round_trip():
    catalog = catalog_from_obspy(small_obspy_catalog(), MAIN, end=2.0)
    np.testing.assert_allclose(catalog.times, EXPECTED_DAYS, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(catalog.magnitudes, [4.1, 2.8, 3.3])  # preferred magnitude
    assert float(catalog.end) == 2.0 and catalog.mainshock_utc == MAIN

    back = catalog_to_obspy(catalog)
    assert len(back) == 3
    assert back[0].preferred_origin().time == MAIN + 120.0
    again = catalog_from_obspy(back, MAIN, end=2.0)
    np.testing.assert_allclose(again.times, catalog.times, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(again.magnitudes, catalog.magnitudes)


def test_quakeml_file_round_trip(tmp_path):
    path = tmp_path / "events.xml"
    small_obspy_catalog().write(str(path), format="QUAKEML")
    catalog = catalog_from_quakeml(str(path), MAIN, end=MAIN + 2 * 86400)
    np.testing.assert_allclose(catalog.times, EXPECTED_DAYS, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(catalog.magnitudes, [4.1, 2.8, 3.3])
    np.testing.assert_allclose(catalog.end, 2.0, rtol=1e-14)

    path2 = tmp_path / "back.xml"
    catalog_to_obspy(catalog).write(str(path2), format="QUAKEML")
    again = catalog_from_quakeml(str(path2), MAIN, end=2.0)
    np.testing.assert_allclose(again.times, catalog.times, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(again.magnitudes, catalog.magnitudes)


def test_csv_text_file_and_headerless_inputs(tmp_path):
    text = ("# a comment line\ntime,mag,depth\n2020-01-01T00:02:00,4.1,5\n"
            "2020-01-01T01:00:00.25,2.8,6\n2020-01-02T12:00:00Z,3.3,7\n")  # fmt: skip
    from_text = catalog_from_csv(text, mainshock_time=MAIN)
    np.testing.assert_allclose(from_text.times, EXPECTED_DAYS, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(from_text.magnitudes, [4.1, 2.8, 3.3])

    path = tmp_path / "cat.csv"
    path.write_text(text)
    from_file = catalog_from_csv(path, mainshock_time=MAIN)
    np.testing.assert_array_equal(from_file.times, from_text.times)

    numeric = catalog_from_csv("0.5;3.0\n0.1;2.0\n", delimiter=";")  # headerless days, sorted
    np.testing.assert_array_equal(numeric.times, [0.1, 0.5])
    np.testing.assert_array_equal(numeric.magnitudes, [2.0, 3.0])


def test_arrays_with_absolute_times_and_sorting():
    times = [MAIN + 3600.25, MAIN + 120.0, "2020-01-02T12:00:00"]
    catalog = catalog_from_arrays(times, [2.8, 4.1, 3.3], mainshock_time=MAIN, sort=True)
    np.testing.assert_allclose(catalog.times, EXPECTED_DAYS, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(catalog.magnitudes, [4.1, 2.8, 3.3])
    days = days_since_mainshock([np.datetime64("2020-01-01T06:00"), "2019-12-31T12:00:00"], MAIN)
    np.testing.assert_allclose(days, [0.25, -0.5])
    utc = catalog.utc_times()
    assert abs(utc[1] - (MAIN + 3600.25)) < 1e-6


def test_catalog_is_an_immutable_pytree():
    catalog = Catalog([0.1, 0.2, 0.4], [3.0, 2.5, 2.7], end=1.0, mainshock_time=MAIN)
    leaves = jax.tree.leaves(catalog)
    assert len(leaves) == 4  # times, magnitudes, start, end; metadata is static
    shifted = jax.tree.map(lambda x: x, catalog)
    assert shifted.mainshock_time == catalog.mainshock_time
    total = jax.jit(lambda c: jnp.sum(c.magnitudes) + c.end)(catalog)
    np.testing.assert_allclose(total, 9.2)
    with pytest.raises(AttributeError):
        catalog.times = catalog.times
    above = catalog.above(2.7)
    np.testing.assert_array_equal(above.magnitudes, [3.0, 2.7])
    assert float(above.end) == 1.0


# ------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "times, mags, kwargs, message",
    [
        ([0.1, 0.3, 0.2, 0.4], [2, 3, 4, 5], {}, r"sorted: times\[1\]=0.3 > times\[2\]=0.2"),
        ([0.1, 0.2, 0.2, 0.4], [2, 3, 3, 5], {}, r"exact duplicate events 1, 2"),
        ([0.1, 0.2, 0.2, 0.2], [2, 3, 4, 3], {}, r"exact duplicate events 1, 3"),
        ([0.1, 0.2, 0.3], [2.0, np.nan, 3.0], {}, r"magnitudes are NaN at events 1"),
        ([0.1, 0.2, 0.3], [2.0, np.inf, 3.0], {}, r"magnitudes are infinite at events 1"),
        ([0.1, np.nan, 0.3], [2.0, 2.5, 3.0], {}, r"times are NaN or infinite at events 1"),
        ([-0.01, 0.2, 0.3], [2, 3, 4], {}, r"before the main shock"),
        ([0.0, 0.2, 0.3], [7.1, 3, 4], {}, r"main-shock time itself"),
        ([], [], {}, r"empty catalogue"),
        ([0.1, 0.2], [2.0, 3.0, 4.0], {}, r"times has 2 events but magnitudes has 3"),
        ([[0.1, 0.2]], [[2.0, 3.0]], {}, r"times must be 1-D"),
        ([0.1, 0.2], [2.0, 3.0], {"start": 0.5, "end": 0.5}, r"empty window"),
        ([0.1, 0.2], [2.0, 3.0], {"start": 0.15, "end": 1.0}, r"outside the window"),
        ([0.1, 0.2], [2.0, 3.0], {"end": 0.15}, r"events 1 lie outside the window"),
        ([0.1, 0.2], [2.0, 3.0], {"start": -1.0}, r"before the main shock \(must be >= 0\)"),
        ([0.1, 0.2], [2.0, 3.0], {"end": [1.0, 2.0]}, r"end must be a scalar"),
    ],
)  # fmt: skip
def test_invalid_catalogues_raise_clear_errors(times, mags, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Catalog(np.asarray(times, dtype=float), np.asarray(mags, dtype=float), **kwargs)


def test_loader_errors():
    with pytest.raises(ValueError, match="mainshock_time is needed"):
        catalog_from_arrays(["2020-01-01T01:00:00"], [3.0])
    with pytest.raises(ValueError, match="pass mainshock_time"):
        catalog_from_csv("time,mag\n2020-01-01T01:00:00,3.0\n")
    with pytest.raises(ValueError, match="line 3: magnitude 'x' is not a number"):
        catalog_from_csv("time,mag\n0.1,3.0\n0.2,x\n")
    with pytest.raises(ValueError, match="line 3 has an empty magnitude"):
        catalog_from_csv("time,mag\n0.1,3.0\n0.2,\n")
    with pytest.raises(ValueError, match="line 3: time 'not-a-time' is not"):
        catalog_from_csv("time,mag\n2020-01-01T01:00:00,3.0\nnot-a-time,2.0\n", mainshock_time=MAIN)
    with pytest.raises(ValueError, match="empty catalogue"):
        catalog_from_csv("time,mag\n")
    with pytest.raises(ValueError, match="empty catalogue"):
        catalog_from_obspy(ObspyCatalog(), MAIN)
    with pytest.raises(ValueError, match="event 0 .* has no magnitude"):
        catalog_from_obspy(ObspyCatalog(events=[Event(origins=[Origin(time=MAIN + 5)])]), MAIN)
    with pytest.raises(ValueError, match="before the main shock"):
        catalog_from_obspy(small_obspy_catalog(), MAIN + 1000.0)
    with pytest.raises(ValueError, match="sorted"):
        catalog_from_obspy(small_obspy_catalog(), MAIN, sort=False)
    catalog = ridgecrest_catalog()
    with pytest.raises(ValueError, match="empty window: no events"):
        catalog.window(0.0, 0.001)
    with pytest.raises(ValueError, match="empty window: end=1.0 days must exceed start=2.0"):
        catalog.window(2.0, 1.0)
    with pytest.raises(ValueError, match="no events with magnitude >= 9"):
        catalog.above(9.0)


# --- issue 20: real catalogue files (AftFore's two-column form, honest rows and order) ---


def test_tab_semicolon_and_whitespace_files_are_sniffed():
    aftfore = "0.0104\t3.1\n0.0219\t2.0\n0.5\t2.4\n"  # days, magnitude: AftFore's own form
    for text in (aftfore, aftfore.replace("\t", ";"), aftfore.replace("\t", "   ")):
        catalog = catalog_from_csv(text)
        np.testing.assert_array_equal(catalog.times, [0.0104, 0.0219, 0.5])
        np.testing.assert_array_equal(catalog.magnitudes, [3.1, 2.0, 2.4])
    explicit = catalog_from_csv("0.1|2.0\n0.2|3.0\n", delimiter="|")
    np.testing.assert_array_equal(explicit.magnitudes, [2.0, 3.0])
    assert catalog_from_csv(aftfore, delimiter="tab").n_events == 3


def test_errors_name_the_file_line_and_the_delimiter():
    text = "# comment\n\n0.1\t2.0\n0.2\t2.1\n0.3\t2.2\n0.4\t2.3\n0.5\n"
    with pytest.raises(ValueError, match="line 7 has 1 field\\(s\\) separated by tab"):
        catalog_from_csv(text)
    with pytest.raises(ValueError, match="line 4: magnitude 'big' is not a number"):
        catalog_from_csv("# made up\ndays,mag\n0.1,2.0\n0.2,big\n")
    with pytest.raises(ValueError, match="line 3 repeats the event of line 2"):
        catalog_from_csv("days,mag\n0.1,2.0\n0.1,2.0\n")
    with pytest.raises(ValueError, match="line\\(s\\) 3 is before the main shock"):
        catalog_from_csv("days,mag\n0.1,2.0\n-0.1,2.0\n")


def test_other_column_names_say_which_column_is_missing():
    text = "lon,lat,magn,origin\n-117.5,35.7,3.1,0.2\n-117.6,35.8,2.7,0.3\n"
    with pytest.raises(ValueError, match="no time column found in header .*'magn', 'origin'"):
        catalog_from_csv(text)
    catalog = catalog_from_csv(text, time_column="origin", magnitude_column="magn")
    np.testing.assert_array_equal(catalog.magnitudes, [3.1, 2.7])


def test_lines_out_of_time_order_warn_with_their_line_numbers_or_are_refused():
    text = "days,mag\n0.1,2.0\n0.3,2.5\n0.2,3.1\n0.4,2.2\n"
    with pytest.warns(UserWarning, match="line\\(s\\) 4 are earlier than the line before"):
        catalog = catalog_from_csv(text)
    np.testing.assert_array_equal(catalog.times, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="1 line\\(s\\) out of time order"):
        catalog_from_csv(text, strict=True)
