"""Real seismic noise for detector training: quiet stretches of recordings that ship with ObsPy.

The source is the pair of one-hour vertical records ObsPy ships for its PPSD tests
(``obspy/signal/tests/data/ref_STS2`` and ``ref_unknown``: CA.STS2..EHZ and CA.0438..EHZ,
2011-02-15 10:21–11:21 UTC, 200 Hz, two sensors side by side). Each record is demeaned,
detrended, resampled to 100 Hz (ObsPy's FFT resampling) and cut into pieces of
``n_samples`` every 10 s. A piece is *quiet* when the classic STA/LTA (0.5 s / 10 s, on the 3–20 Hz
band) stays below `QUIET_STA_LTA` everywhere in it: the records hold about 60 transients an hour
(5–14 times the background) of unknown origin, possibly small events, so they are kept out of
the noise a detector is taught to ignore.

The hour is split in time: pieces starting in the first 45 minutes are ``"train"``, those
entirely in the last 15 minutes ``"test"`` (held out from training, for false-pick rates on
real noise). `real_noise_pieces` returns single-component pieces; `real_noise_records` stacks
three pieces from different times (and sensors) into pseudo three-component noise.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import numpy as np

from sjax.detect.gpd import SAMPLING_RATE

__all__ = ["REAL_NOISE_FILES", "QUIET_STA_LTA", "real_noise_pieces", "real_noise_records"]

REAL_NOISE_FILES = ("ref_STS2", "ref_unknown")
"""Files in ObsPy's ``signal/tests/data`` folder used as real noise."""

QUIET_STA_LTA = 4.0
"""Largest STA/LTA ratio (0.5 s / 10 s, 3–20 Hz) allowed anywhere in a quiet piece."""

_SPLIT = 2700.0  # s into the hour: train before, test after
_HOP = 10.0  # s between piece starts


def _data_dir() -> Path:
    import obspy

    return Path(obspy.__file__).parent / "signal" / "tests" / "data"


@functools.lru_cache(maxsize=4)
def _records_100hz() -> tuple[np.ndarray, ...]:
    """The two records at 100 Hz (float64), demeaned and detrended, and their 3–20 Hz STA/LTA."""
    import obspy
    from obspy.signal.trigger import classic_sta_lta

    out = []
    for name in REAL_NOISE_FILES:
        path = _data_dir() / name
        if not path.is_file():
            raise ValueError(f"ObsPy's test record {str(path)!r} is missing: real-noise "
                             "augmentation needs an ObsPy installation with its test data")  # fmt: skip
        trace = obspy.read(str(path))[0]
        trace.detrend("demean")
        trace.detrend("linear")
        trace.resample(SAMPLING_RATE)
        data = trace.data.astype(np.float64)
        band = trace.copy().filter("bandpass", freqmin=3.0, freqmax=20.0, corners=4)
        ratio = classic_sta_lta(band.data, int(0.5 * SAMPLING_RATE), int(10 * SAMPLING_RATE))
        ratio[: int(10 * SAMPLING_RATE)] = np.inf  # the LTA is not settled yet
        out += [data, ratio]
    return tuple(out)


def real_noise_pieces(part: str = "train", n_samples: int = 6000) -> np.ndarray:
    """Quiet single-component pieces of real noise at 100 Hz (see the module doc).

    Args:
        part: ``"train"`` (first 45 min of each record) or ``"test"`` (the last 15 min).
        n_samples: samples per piece (>= 400, at most 15 min).

    Returns:
        ``(k, n_samples)`` float32 pieces (ground velocity in counts), each demeaned; pieces
        overlap (a start every 10 s).

    Raises:
        ValueError: for a bad ``part`` or ``n_samples``, or no quiet piece of that length.
    """
    if part not in ("train", "test"):
        raise ValueError(f"part={part!r} must be 'train' or 'test'")
    if int(n_samples) != n_samples or not 400 <= n_samples <= 900 * SAMPLING_RATE:
        raise ValueError(f"n_samples={n_samples} must be an integer in [400, 90000]")
    n_samples = int(n_samples)
    split, hop = int(_SPLIT * SAMPLING_RATE), int(_HOP * SAMPLING_RATE)
    pieces = []
    records = _records_100hz()
    for data, ratio in zip(records[::2], records[1::2]):
        first, last = (0, split - n_samples) if part == "train" else (split, len(data) - n_samples)
        for start in range(first, last + 1, hop):
            if np.max(ratio[start : start + n_samples]) < QUIET_STA_LTA:
                piece = data[start : start + n_samples]
                pieces.append(piece - piece.mean())
    if not pieces:
        raise ValueError(f"no quiet {part} piece of {n_samples} samples in {REAL_NOISE_FILES}")
    return np.asarray(pieces, np.float32)


def real_noise_records(key: jax.Array, n: int, *, part: str = "train",
                       n_samples: int = 6000) -> np.ndarray:  # fmt: skip
    """``n`` pseudo three-component noise records: three different quiet pieces per record, each
    scaled to unit RMS, with a random sign.

    Args:
        key: ``jax.random`` key (which pieces, signs).
        n: number of records.
        part, n_samples: see `real_noise_pieces`.

    Returns:
        ``(n, 3, n_samples)`` float32 noise, unit RMS per component.
    """
    pieces = real_noise_pieces(part, n_samples)
    if len(pieces) < 3:
        raise ValueError(f"only {len(pieces)} quiet {part} pieces: need 3 per record")
    k_pick, k_sign = jax.random.split(key)
    choice = jax.vmap(lambda k: jax.random.choice(k, len(pieces), (3,), replace=False))(
        jax.random.split(k_pick, n)
    )
    chosen = pieces[np.asarray(choice)]  # (n, 3, n_samples)
    sign = np.where(np.asarray(jax.random.bernoulli(k_sign, 0.5, (n, 3, 1))), 1.0, -1.0)
    rms = np.sqrt(np.mean(chosen.astype(np.float64) ** 2, axis=-1, keepdims=True))
    return (sign * chosen / rms).astype(np.float32)
