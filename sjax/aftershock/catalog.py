"""Aftershock catalogues: the immutable `Catalog` pytree, loaders (arrays, CSV, ObsPy,
QuakeML), conversion to days since the main shock, and the shipped Ridgecrest 2019 sequence.

Times are in **days since the main shock** (float), magnitudes in magnitude units. Validation
happens when a `Catalog` is built from concrete values and raises ``ValueError`` naming the
problem; inside ``jit``/``vmap`` the fields are tracers and are not checked.
"""

from __future__ import annotations

import csv
import math
import warnings
from importlib import resources
from typing import Iterable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import obspy
from obspy import UTCDateTime

from sjax._arrays import as_float, is_concrete

__all__ = [
    "Catalog",
    "days_since_mainshock",
    "catalog_from_arrays",
    "catalog_from_csv",
    "catalog_from_obspy",
    "catalog_from_quakeml",
    "catalog_to_obspy",
    "DELIMITERS",
    "ridgecrest_catalog",
    "RIDGECREST_MAINSHOCK_TIME",
    "RIDGECREST_MAINSHOCK_MAGNITUDE",
]

SECONDS_PER_DAY = 86400.0

#: Origin time of the 2019 Ridgecrest Mw 7.1 main shock (shared/data/README.md).
RIDGECREST_MAINSHOCK_TIME = "2019-07-06T03:19:53"
RIDGECREST_MAINSHOCK_MAGNITUDE = 7.1

_TIME_NAMES = ("time", "time_string", "origin_time", "origintime", "datetime", "date_time",
               "days", "t")  # fmt: skip
_MAGNITUDE_NAMES = ("magnitude", "mag", "m")


def _list_some(indices, limit=5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")


class Catalog(eqx.Module):
    """Recorded aftershocks of one main shock, observed on the window ``[start, end]``.

    Attributes:
        times: ``(n,)`` event times in days since the main shock, sorted (non-decreasing),
            strictly positive (an event at 0 is the main shock itself).
        magnitudes: ``(n,)`` magnitudes (finite).
        start: scalar, start of the observation window in days (≥ 0, default 0).
        end: scalar, end of the observation window in days (> start, default the last event
            time). Every event lies in ``[start, end]``.
        mainshock_time: ISO-8601 UTC string of the main-shock origin time, or ``None``
            (static metadata; see `mainshock_utc`).
        mainshock_magnitude: main-shock magnitude or ``None`` (static metadata; a natural
            fixed ``reference_magnitude`` for the likelihood).

    Exact duplicate events (same time and magnitude) are rejected; distinct events at the same
    time are allowed. Use `catalog_from_arrays` & co. to build one from unsorted or absolute-time
    data.

    Example:
        >>> cat = Catalog([0.01, 0.02, 0.5], [3.1, 2.7, 4.0], end=1.0)
        >>> cat.n_events
        3
    """

    times: jax.Array
    magnitudes: jax.Array
    start: jax.Array
    end: jax.Array
    mainshock_time: str | None = eqx.field(static=True)
    mainshock_magnitude: float | None = eqx.field(static=True)

    def __init__(self, times, magnitudes, start=0.0, end=None, *, mainshock_time=None,
                 mainshock_magnitude=None):  # fmt: skip
        self.times = as_float(times)
        self.magnitudes = as_float(magnitudes)
        self.start = as_float(start)
        if end is None:
            end = jnp.max(self.times) if self.times.size else self.start
        self.end = as_float(end)
        self.mainshock_time = None if mainshock_time is None else _iso(mainshock_time)
        self.mainshock_magnitude = (
            None if mainshock_magnitude is None else float(mainshock_magnitude)
        )

    def __check_init__(self):
        for name in ("times", "magnitudes"):
            value = getattr(self, name)
            if value.ndim != 1:
                raise ValueError(f"{name} must be 1-D (n_events,), got shape {value.shape}")
        if self.times.shape != self.magnitudes.shape:
            raise ValueError(
                f"times has {self.times.shape[0]} events but magnitudes has "
                f"{self.magnitudes.shape[0]}"
            )
        for name in ("start", "end"):
            if getattr(self, name).ndim != 0:
                raise ValueError(f"{name} must be a scalar, got shape {getattr(self, name).shape}")
        if self.times.shape[0] == 0:
            raise ValueError("empty catalogue: no events")
        if not is_concrete(self.times, self.magnitudes, self.start, self.end):
            return
        times, mags = np.asarray(self.times), np.asarray(self.magnitudes)
        start, end = float(self.start), float(self.end)
        _check_values(times, mags)
        if not (np.isfinite(start) and np.isfinite(end)):
            raise ValueError(f"window bounds must be finite, got start={start}, end={end} days")
        if start < 0:
            raise ValueError(f"window start={start} days is before the main shock (must be >= 0)")
        if not end > start:
            raise ValueError(f"empty window: end={end} days must exceed start={start} days")
        outside = np.flatnonzero((times < start) | (times > end))
        if outside.size:
            i = outside[0]
            raise ValueError(
                f"events {_list_some(outside)} lie outside the window [start={start}, "
                f"end={end}] days (e.g. times[{i}]={times[i]}); use Catalog.window or widen it"
            )

    @property
    def n_events(self) -> int:
        """Number of events n."""
        return self.times.shape[0]

    @property
    def duration(self) -> jax.Array:
        """``end − start`` in days."""
        return self.end - self.start

    @property
    def mainshock_utc(self) -> UTCDateTime:
        """Main-shock origin time as an `obspy.UTCDateTime` (error if unknown)."""
        if self.mainshock_time is None:
            raise ValueError("this catalogue has no mainshock_time")
        return UTCDateTime(self.mainshock_time)

    def utc_times(self) -> list[UTCDateTime]:
        """Event times as absolute `obspy.UTCDateTime`s (needs ``mainshock_time``)."""
        origin = self.mainshock_utc
        return [origin + float(t) * SECONDS_PER_DAY for t in np.asarray(self.times)]

    def window(self, start, end) -> "Catalog":
        """The events with ``start <= t <= end`` (days), observed on ``[start, end]``.

        ``start``/``end`` may be days since the main shock or absolute times (UTCDateTime,
        ISO strings; then ``mainshock_time`` is needed). Raises ``ValueError`` if the window is
        empty (no length, or no events in it).
        """
        start, end = (_as_days(x, self.mainshock_time, name) for x, name in
                      ((start, "start"), (end, "end")))  # fmt: skip
        if not end > start:
            raise ValueError(f"empty window: end={end} days must exceed start={start} days")
        times = np.asarray(self.times)
        keep = (times >= start) & (times <= end)
        if not keep.any():
            raise ValueError(
                f"empty window: no events in [start={start}, end={end}] days (catalogue spans "
                f"{times[0]} to {times[-1]} days)"
            )
        return Catalog(times[keep], np.asarray(self.magnitudes)[keep], start, end,
                       mainshock_time=self.mainshock_time,
                       mainshock_magnitude=self.mainshock_magnitude)  # fmt: skip

    def above(self, magnitude: float) -> "Catalog":
        """The events with magnitude ≥ ``magnitude``, on the same window (error if none)."""
        mags = np.asarray(self.magnitudes)
        keep = mags >= magnitude
        if not keep.any():
            raise ValueError(f"no events with magnitude >= {magnitude} (max is {mags.max()})")
        return Catalog(np.asarray(self.times)[keep], mags[keep], self.start, self.end,
                       mainshock_time=self.mainshock_time,
                       mainshock_magnitude=self.mainshock_magnitude)  # fmt: skip


def _check_values(times: np.ndarray, mags: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise ValueError(f"times are NaN or infinite at events {_list_some(bad)}")
    bad = np.flatnonzero(np.isnan(mags))
    if bad.size:
        raise ValueError(f"magnitudes are NaN at events {_list_some(bad)}")
    bad = np.flatnonzero(~np.isfinite(mags))
    if bad.size:
        raise ValueError(f"magnitudes are infinite at events {_list_some(bad)}")
    bad = np.flatnonzero(times < 0)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"events {_list_some(bad)} are before the main shock (e.g. times[{i}]={times[i]} "
            "days); times must be days since the main shock"
        )
    bad = np.flatnonzero(times == 0)
    if bad.size:
        raise ValueError(
            f"events {_list_some(bad)} are at the main-shock time itself (t = 0); remove the "
            "main shock from the catalogue of aftershocks"
        )
    descending = np.flatnonzero(np.diff(times) < 0)
    if descending.size:
        i = descending[0]
        raise ValueError(
            f"times must be sorted: times[{i}]={times[i]} > times[{i + 1}]={times[i + 1]} days "
            f"({descending.size} descending step(s)); pass sort=True to the loader"
        )
    order = np.lexsort((mags, times))  # exact duplicates are adjacent in (time, magnitude) order
    same = order[np.flatnonzero((np.diff(times[order]) == 0) & (np.diff(mags[order]) == 0))]
    if same.size:
        i = same[0]
        j = np.flatnonzero((times == times[i]) & (mags == mags[i]))
        raise ValueError(
            f"exact duplicate events {_list_some(j)} (t={times[i]} days, M={mags[i]}); "
            f"{same.size} duplicate(s) in all"
        )


# --------------------------------------------------------------------------------------------
# Time conversion


def _iso(time) -> str:
    return UTCDateTime(_to_utc(time)).isoformat()


def _to_utc(value) -> UTCDateTime:
    if isinstance(value, UTCDateTime):
        return value
    if isinstance(value, np.datetime64):
        value = str(np.datetime_as_string(value, unit="ns"))
    return UTCDateTime(value)


def days_since_mainshock(times: Iterable, mainshock_time) -> np.ndarray:
    """Convert absolute times to days since the main shock.

    Args:
        times: iterable of ``n`` absolute times: `obspy.UTCDateTime`, `datetime.datetime`,
            ``numpy.datetime64`` or ISO-8601 strings (UTC).
        mainshock_time: main-shock origin time, any of the same types.

    Returns:
        ``(n,)`` float64 numpy array of days (negative for times before the main shock).
    """
    origin = _to_utc(mainshock_time)
    out = []
    for k, value in enumerate(times):
        try:
            out.append((_to_utc(value) - origin) / SECONDS_PER_DAY)
        except Exception as error:  # noqa: BLE001 - report which entry failed
            raise ValueError(f"time entry {k} ({value!r}) is not a valid time: {error}") from None
    return np.asarray(out, dtype=np.float64)


def _as_days(value, mainshock_time, name) -> float:
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0
        and np.issubdtype(np.asarray(value).dtype, np.number)
    ):  # fmt: skip
        return float(value)
    if mainshock_time is None:
        raise ValueError(f"{name}={value!r} is an absolute time: mainshock_time is needed")
    return float(days_since_mainshock([value], mainshock_time)[0])


# --------------------------------------------------------------------------------------------
# Loaders


def catalog_from_arrays(
    times,
    magnitudes,
    *,
    mainshock_time=None,
    start=0.0,
    end=None,
    sort: bool = False,
    mainshock_magnitude: float | None = None,
) -> Catalog:
    """Build a `Catalog` from arrays of times and magnitudes.

    Args:
        times: ``(n,)`` either numbers (days since the main shock) or absolute times
            (`UTCDateTime`, datetime, ``datetime64``, ISO strings; then ``mainshock_time`` is
            required).
        magnitudes: ``(n,)`` magnitudes.
        mainshock_time: main-shock origin time (UTC), optional for numeric times.
        start, end: observation window, days since the main shock or absolute times
            (default ``[0, last event]``).
        sort: sort events by time (then magnitude) first; otherwise unsorted input raises.
        mainshock_magnitude: optional metadata.

    Returns:
        The validated `Catalog`.
    """
    raw = np.asarray(times)
    if raw.dtype.kind in "biuf":
        days = raw.astype(np.float64)
    else:
        if mainshock_time is None:
            raise ValueError("times are absolute (not numbers): mainshock_time is needed")
        days = days_since_mainshock(np.ravel(raw), mainshock_time).reshape(raw.shape)
    mags = np.asarray(magnitudes, dtype=np.float64)
    if sort and days.ndim == 1 and mags.shape == days.shape:
        order = np.lexsort((mags, days))
        days, mags = days[order], mags[order]
    start = _as_days(start, mainshock_time, "start")
    end = _as_days(end, mainshock_time, "end")
    return Catalog(days, mags, start, end, mainshock_time=mainshock_time,
                   mainshock_magnitude=mainshock_magnitude)  # fmt: skip


def catalog_from_obspy(
    catalog: obspy.Catalog,
    mainshock_time,
    *,
    start=0.0,
    end=None,
    sort: bool = True,
    mainshock_magnitude: float | None = None,
) -> Catalog:
    """Build a `Catalog` from an ObsPy `Catalog` (e.g. from `obspy.read_events` or FDSN).

    Each event contributes its preferred origin time (else its first origin) and its preferred
    magnitude (else its first magnitude). The main shock must not be in the catalogue.

    Args:
        catalog: `obspy.Catalog` with ``n`` events.
        mainshock_time: main-shock origin time (UTC).
        start, end: window as in `catalog_from_arrays`.
        sort: sort by time (FDSN services return newest first), default True.
        mainshock_magnitude: optional metadata.

    Returns:
        The validated `Catalog`.
    """
    times, mags = [], []
    for k, event in enumerate(catalog):
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        magnitude = event.preferred_magnitude() or (
            event.magnitudes[0] if event.magnitudes else None
        )
        if origin is None or origin.time is None:
            raise ValueError(f"event {k} ({event.resource_id}) has no origin time")
        if magnitude is None or magnitude.mag is None:
            raise ValueError(f"event {k} ({event.resource_id}) has no magnitude")
        times.append(origin.time)
        mags.append(float(magnitude.mag))
    if not times:
        raise ValueError("empty catalogue: the ObsPy Catalog has no events")
    return catalog_from_arrays(times, mags, mainshock_time=mainshock_time, start=start, end=end,
                               sort=sort, mainshock_magnitude=mainshock_magnitude)  # fmt: skip


def catalog_from_quakeml(path, mainshock_time, **kwargs) -> Catalog:
    """Read a QuakeML file with `obspy.read_events` and convert it with `catalog_from_obspy`.

    Args:
        path: file path (or anything `obspy.read_events` accepts).
        mainshock_time: main-shock origin time (UTC).
        **kwargs: ``start``, ``end``, ``sort``, ``mainshock_magnitude`` as in
            `catalog_from_obspy`.
    """
    return catalog_from_obspy(obspy.read_events(path), mainshock_time, **kwargs)


def catalog_to_obspy(catalog: Catalog) -> obspy.Catalog:
    """Convert to an ObsPy `Catalog` (one event per row with one origin and one magnitude,
    both preferred). Needs ``catalog.mainshock_time``. Locations are not stored and are left
    empty.
    """
    from obspy.core.event import Event, Magnitude, Origin

    events = []
    for time, mag in zip(catalog.utc_times(), np.asarray(catalog.magnitudes)):
        origin = Origin(time=time)
        magnitude = Magnitude(mag=float(mag), origin_id=origin.resource_id)
        event = Event(origins=[origin], magnitudes=[magnitude])
        event.preferred_origin_id = origin.resource_id
        event.preferred_magnitude_id = magnitude.resource_id
        events.append(event)
    return obspy.Catalog(events=events)


def _read_text(source) -> str:
    if hasattr(source, "read"):
        text = source.read()
        return text.decode() if isinstance(text, bytes) else text
    if isinstance(source, str) and "\n" in source:
        return source
    with open(source, encoding="utf-8") as handle:
        return handle.read()


def _column(header, wanted, names, what) -> int:
    if isinstance(wanted, int):
        return wanted
    lowered = [h.strip().lower() for h in header] if header is not None else None
    if wanted is not None:
        if lowered is None or wanted.strip().lower() not in lowered:
            raise ValueError(f"{what} column {wanted!r} not found in header {header}")
        return lowered.index(wanted.strip().lower())
    if lowered is None:
        return {"time": 0, "magnitude": 1}[what]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise ValueError(f"no {what} column found in header {header}; pass {what}_column=")


#: delimiters `catalog_from_csv` recognises by name (and sniffs, in this order)
DELIMITERS = {"comma": ",", "tab": "\t", "semicolon": ";", "whitespace": None}


def _delimiter_name(delimiter) -> str:
    names = {v: k for k, v in DELIMITERS.items()}
    return names.get(delimiter, repr(delimiter))


def _resolve_delimiter(delimiter, lines: list[str]):
    """The field separator: ``delimiter`` itself, a name of `DELIMITERS`, or (``None``) the
    first of comma, tab, semicolon, whitespace that splits at least 80 % of the first 50
    ``lines`` into the same number (≥ 2) of fields."""
    if delimiter is not None:
        if delimiter in DELIMITERS:
            return DELIMITERS[delimiter]
        if delimiter == "\\t":
            return "\t"
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character or one of {list(DELIMITERS)}, "
                             f"got {delimiter!r}")  # fmt: skip
        return delimiter
    sample = lines[:50]
    for candidate in DELIMITERS.values():
        counts = [len(_split(line, candidate)) for line in sample]
        common = max(set(counts), key=counts.count)
        # most lines agree: the odd ones out are reported by line when the rows are read
        if common >= 2 and counts.count(common) >= 0.8 * len(counts):
            return candidate
    raise ValueError("could not tell the delimiter: no comma, tab, semicolon or whitespace "
                     "splits most lines into 2 or more fields; pass delimiter=")  # fmt: skip


def _split(line: str, delimiter) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _looks_like_header(cells: list[str], time_column, magnitude_column) -> bool:
    lowered = [cell.strip().lower() for cell in cells]
    if any(name in lowered for name in _TIME_NAMES + _MAGNITUDE_NAMES):
        return True
    if any(isinstance(c, str) and c.strip().lower() in lowered
           for c in (time_column, magnitude_column)):  # fmt: skip
        return True
    # no cell is a number or a date: words, i.e. column names of some other convention
    return not any(_is_number(cell) or any(ch.isdigit() for ch in cell) for cell in cells)


def catalog_from_csv(
    source,
    *,
    mainshock_time=None,
    time_column: str | int | None = None,
    magnitude_column: str | int | None = None,
    delimiter: str | None = None,
    start=0.0,
    end=None,
    sort: bool = True,
    strict: bool = False,
    mainshock_magnitude: float | None = None,
) -> Catalog:
    """Read a catalogue from delimited text (CSV, tab- or semicolon-separated, or columns
    separated by whitespace, such as AftFore's two-column files).

    Lines starting with ``#`` and blank lines are skipped. A header row is recognised when it
    names the columns (or holds no numbers at all); the time column is then found among
    ``time``, ``time_string``, ``origin_time``, ``datetime``, ``days``, ``t`` and the magnitude
    column among ``magnitude``, ``mag``, ``M`` (case-insensitive), unless given. Without a
    header the first two columns are (time, magnitude). Times are ISO-8601 UTC strings
    (``mainshock_time`` required) or numbers (days since the main shock). Every error names
    the 1-based line of the file.

    Args:
        source: a path, an open file, or the text itself (a string containing a newline).
        mainshock_time: main-shock origin time (UTC).
        time_column, magnitude_column: column names or 0-based indices.
        delimiter: a one-character separator or ``"comma"``, ``"tab"``, ``"semicolon"``,
            ``"whitespace"``; ``None`` (default) sniffs them in that order.
        start, end, mainshock_magnitude: as in `catalog_from_arrays`.
        sort: sort lines that are out of time order, with a `UserWarning` naming them
            (default); ``False`` refuses them.
        strict: refuse lines out of time order (overrides ``sort``).

    Returns:
        The validated `Catalog`.

    Raises:
        ValueError: naming the line (and the delimiter, for a field-count error).
    """
    text = _read_text(source)
    numbered = [(k, line) for k, line in enumerate(text.splitlines(), 1)
                if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    if not numbered:
        raise ValueError("empty catalogue: the CSV has no rows")
    separator = _resolve_delimiter(delimiter, [line for _, line in numbered])
    rows = [(k, _split(line, separator)) for k, line in numbered]
    has_header = _looks_like_header(rows[0][1], time_column, magnitude_column)
    header = rows[0][1] if has_header else None
    body = rows[1:] if has_header else rows
    if not body:
        raise ValueError("empty catalogue: the CSV has a header but no events")
    it = _column(header, time_column, _TIME_NAMES, "time")
    im = _column(header, magnitude_column, _MAGNITUDE_NAMES, "magnitude")
    lines, time_cells, mags = [], [], []
    for line, row in body:
        if max(it, im) >= len(row):
            raise ValueError(
                f"line {line} has {len(row)} field(s) separated by {_delimiter_name(separator)}"
                f", needs at least {max(it, im) + 1} (time in column {it + 1}, magnitude in "
                f"column {im + 1}); pass delimiter= if the separator is another"
            )
        cell, value = row[it].strip(), row[im].strip()
        if not cell:
            raise ValueError(f"line {line} has an empty time")
        if not value:
            raise ValueError(f"line {line} has an empty magnitude")
        try:
            magnitude = float(value)
        except ValueError:
            raise ValueError(f"line {line}: magnitude {value!r} is not a number") from None
        if not math.isfinite(magnitude):
            raise ValueError(f"line {line}: magnitude {value!r} is not finite")
        lines.append(line)
        time_cells.append(cell)
        mags.append(magnitude)
    times = _csv_days(time_cells, lines, mainshock_time)
    first_line = {}
    for line, t, m in zip(lines, times, mags):
        if (t, m) in first_line:
            raise ValueError(f"line {line} repeats the event of line {first_line[t, m]} "
                             f"(t = {t} days, M = {m})")  # fmt: skip
        first_line[t, m] = line
    lines = np.asarray(lines)
    for bad, what in ((~np.isfinite(times), "is not finite"),
                      (times < 0, "is before the main shock"),
                      (times == 0, "is at the main-shock time itself (remove the main shock)")):  # fmt: skip
        if bad.any():
            raise ValueError(f"the time of line(s) {_list_some(lines[bad])} {what}")
    late = lines[1:][np.diff(times) < 0]
    if late.size:
        message = (f"{late.size} line(s) out of time order (line(s) {_list_some(late)} are "
                   "earlier than the line before)")  # fmt: skip
        if strict or not sort:
            raise ValueError(message + ("; remove strict to sort them" if strict
                                        else "; pass sort=True to sort them"))  # fmt: skip
        warnings.warn(message + "; the events were sorted by time", UserWarning, stacklevel=2)
    return catalog_from_arrays(times, np.asarray(mags), mainshock_time=mainshock_time,
                               start=start, end=end, sort=True,
                               mainshock_magnitude=mainshock_magnitude)  # fmt: skip


def _csv_days(cells: list[str], lines: list[int], mainshock_time) -> np.ndarray:
    """Days since the main shock of the time cells (numbers, or absolute times)."""
    try:
        return np.asarray([float(c) for c in cells], dtype=np.float64)
    except ValueError:
        pass
    if mainshock_time is None:
        raise ValueError(
            "CSV times are not numbers (days): pass mainshock_time to convert absolute times")
    out = []
    for line, cell in zip(lines, cells):
        try:
            out.append(float(days_since_mainshock([cell], mainshock_time)[0]))
        except ValueError:
            raise ValueError(f"line {line}: time {cell!r} is not a number of days or an "
                             "ISO-8601 time") from None  # fmt: skip
    return np.asarray(out, dtype=np.float64)


def ridgecrest_catalog(*, start=0.0, end=None) -> Catalog:
    """The 2019 Ridgecrest aftershock sequence shipped with sjax (USGS ComCat via pyCSEP).

    829 events with M ≥ 2.5 from 2019-07-06 03:22:35 to 2019-07-13 02:47:44 UTC, in days since
    the Mw 7.1 main shock of 2019-07-06 03:19:53 UTC (not itself in the file). The catalogue
    is cut at M 2.5: pass ``magnitude_cutoff=2.5`` to the likelihood (magnitudes are given to
    0.01). See ``sjax/aftershock/data/README.md`` for the attribution.

    Args:
        start, end: observation window in days (or absolute times); default ``[0, last event]``
            (≈ 6.978 days).

    Returns:
        `Catalog` with ``mainshock_time`` and ``mainshock_magnitude=7.1`` set.
    """
    path = resources.files("sjax.aftershock") / "data" / "ridgecrest2019_comcat.csv"
    with resources.as_file(path) as file:
        return catalog_from_csv(
            file, mainshock_time=RIDGECREST_MAINSHOCK_TIME, time_column="time_string",
            magnitude_column="M", start=start, end=end,
            mainshock_magnitude=RIDGECREST_MAINSHOCK_MAGNITUDE,
        )  # fmt: skip
