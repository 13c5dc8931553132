"""Aftershock forecasting: Omori–Utsu × Gutenberg–Richter with a detection function.

Times are in days since the main shock, magnitudes in magnitude units, ``k`` in events/day.
The science: Ogata & Katsura (1993, GJI 113:727), Omi et al. (2013, BSSA 103:1116; 2015, BSSA
105:2765) and Morikawa et al. (2021, GJI 226:1018). The package provides catalogues (`Catalog` and
its loaders), the model pieces, the recorded-event log-likelihood, a thinning simulator
(`simulate_catalog`), three μ(t) models behind fits that share the first five unconstrained
parameters (``log_k, log_c, p, log_b, log_sigma``):

* parametric μ(t) by maximum likelihood (`fit`, `ConstantMu`, `LogLinearMu`);
* the Omi et al. state-space smoothing baseline (`fit_state_space`);
* the Gaussian-process model (`fit_gp`, exact or pairwise-composite with the
  Godambe-adjusted composite posterior;
  `sample_gp_nuts`, the exact model by NUTS, in `sjax.aftershock.nuts`);

and forecasts from posterior draws (`parameter_draws`, `forecast`) with plots
(`sjax.aftershock.plots`).
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
from sjax.aftershock.forecast import (
    Forecast,
    completeness_magnitude,
    expected_count,
    forecast,
    observed_counts,
    parameter_draws,
    poisson_mixture_cdf,
    poisson_mixture_quantile,
)
from sjax.aftershock.gp import GPConfig, GPFitResult, fit_gp
from sjax.aftershock.kernels import Matern52, SquaredExponential
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
from sjax.aftershock.state_space import PiecewiseConstantMu, StateSpaceResult, fit_state_space

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
    "Forecast", "completeness_magnitude", "expected_count", "forecast", "observed_counts",
    "parameter_draws", "poisson_mixture_cdf", "poisson_mixture_quantile",
    "GPConfig", "GPFitResult", "fit_gp", "Matern52", "SquaredExponential",
    "PiecewiseConstantMu", "StateSpaceResult", "fit_state_space",
]  # fmt: skip
