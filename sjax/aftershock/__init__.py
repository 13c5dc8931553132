"""Aftershock forecasting: Omori–Utsu × Gutenberg–Richter with a detection function.

Times are in days since the main shock, magnitudes in magnitude units, ``k`` in events/day.
See ``shared/METHODS.md`` §3 for the science; this package so far provides catalogues
(`Catalog` and its loaders), the model pieces, the recorded-event log-likelihood, a thinning
simulator (`simulate_catalog`) and the maximum-likelihood fit with parametric μ(t) (`fit`).
"""

from sjax.aftershock.catalog import (
    RIDGECREST_MAINSHOCK_MAGNITUDE,
    RIDGECREST_MAINSHOCK_TIME,
    Catalog,
    catalog_from_arrays,
    catalog_from_csv,
    catalog_from_obspy,
    catalog_from_quakeml,
    catalog_to_obspy,
    days_since_mainshock,
    ridgecrest_catalog,
)
from sjax.aftershock.fit import (
    MU_MODELS,
    ConstantMu,
    FitInfo,
    FitResult,
    FitState,
    LogLinearMu,
    fit,
    fit_init,
    fit_step,
    from_unconstrained,
    initial_unconstrained,
    negative_log_likelihood,
    unconstrained_names,
)
from sjax.aftershock.likelihood import (
    AftershockParams,
    detected_log_intensity,
    expected_detected_count,
    expected_detected_count_piecewise,
    log_likelihood,
    log_likelihood_piecewise,
    log_time_quadrature,
)
from sjax.aftershock.magnitudes import (
    beta_from_b,
    detected_magnitude_log_density,
    detection_log_probability,
    detection_probability,
    gutenberg_richter_log_density,
    log_detected_magnitude_integral,
)
from sjax.aftershock.omori import exprel, omori_integral, omori_log_rate, omori_rate
from sjax.aftershock.simulate import simulate_catalog

__all__ = [
    "AftershockParams", "Catalog", "RIDGECREST_MAINSHOCK_MAGNITUDE", "RIDGECREST_MAINSHOCK_TIME",
    "beta_from_b", "catalog_from_arrays", "catalog_from_csv", "catalog_from_obspy",
    "catalog_from_quakeml", "catalog_to_obspy", "days_since_mainshock",
    "detected_log_intensity", "detected_magnitude_log_density", "detection_log_probability",
    "detection_probability", "expected_detected_count", "expected_detected_count_piecewise",
    "exprel", "gutenberg_richter_log_density", "log_detected_magnitude_integral",
    "log_likelihood", "log_likelihood_piecewise", "log_time_quadrature", "omori_integral",
    "omori_log_rate", "omori_rate", "ridgecrest_catalog",
    "ConstantMu", "FitInfo", "FitResult", "FitState", "LogLinearMu", "MU_MODELS", "fit",
    "fit_init", "fit_step", "from_unconstrained", "initial_unconstrained",
    "negative_log_likelihood", "simulate_catalog", "unconstrained_names",
]  # fmt: skip
