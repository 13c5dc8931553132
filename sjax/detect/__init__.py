"""Detectors (Flax NNX): the GPD phase detector and synthetic training data.

See ``shared/METHODS.md`` §§4–7 for the science. So far this package provides the GPD network
(`GPD`, `normalize_windows`, `predict_proba`; class order `CLASSES` = P, S, noise; input
``(batch, 400, 3)`` at 100 Hz, components N, E, Z last) and synthetic three-component records
with P and S arrivals (`synthetic_records`) cut into labelled GPD windows
(`gpd_training_windows`), and continuous annotation of ObsPy streams (`stream_to_array`,
`annotate`) with picks by hysteresis trigger + arg-max (`pick`, `picks_to_catalog` → QuakeML).
"""

from sjax.detect.annotate import (
    PROBABILITY_CHANNELS,
    annotate,
    pick,
    picks_to_catalog,
    stream_to_array,
)
from sjax.detect.gpd import (
    CLASSES,
    COMPONENTS,
    GPD,
    SAMPLING_RATE,
    WINDOW_SAMPLES,
    count_parameters,
    normalize_windows,
    predict_proba,
)
from sjax.detect.synthetic import (
    GPDWindows,
    SyntheticRecords,
    gpd_training_windows,
    measure_snr,
    synthetic_records,
)

__all__ = [
    "CLASSES",
    "COMPONENTS",
    "GPD",
    "SAMPLING_RATE",
    "WINDOW_SAMPLES",
    "count_parameters",
    "normalize_windows",
    "predict_proba",
    "GPDWindows",
    "SyntheticRecords",
    "gpd_training_windows",
    "measure_snr",
    "synthetic_records",
    "PROBABILITY_CHANNELS",
    "annotate",
    "pick",
    "picks_to_catalog",
    "stream_to_array",
]
