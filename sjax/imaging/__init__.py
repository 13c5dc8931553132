"""Layered-structure inversion and wavefield imaging where there are no stations.

- `layered_space` / `LayeredSpace`: θ ↔ `LayeredMedium` (+ source position, noise) and the
  uniform prior.
- `layered_posterior`: prior and Gaussian likelihood of band-passed records, ready for
  `sjax.mcmc` (replica exchange tempers the likelihood only).
- `invert`: replica exchange (`sjax.mcmc`) over the prior box.
- `reconstruct_wavefield`: re-run the forward model with posterior samples at points without
  stations; mean and credible band. `krige`: the ordinary-kriging baseline.
- `greedy_d_optimal`, `group_lasso_selection`: which k stations suffice.
- `imaging_twin`: the synthetic twin; `twin_experiment`: inversion, imaging and selection on
  it in one call (the demo, the notebook and the benchmark use it).
"""

from sjax.imaging.filters import bandpass, bandpass_response
from sjax.imaging.experiment import TwinExperiment, twin_experiment
from sjax.imaging.inversion import InversionResult, invert, unit_cube_densities
from sjax.imaging.kriging import Variogram, fit_variogram, krige, kriging_weights
from sjax.imaging.posterior import LayeredPosterior, layered_posterior
from sjax.imaging.reconstruct import (
    WavefieldBand, band_coverage, reconstruct_wavefield, relative_misfit,
)  # fmt: skip
from sjax.imaging.selection import (
    StationSelection, greedy_d_optimal, group_lasso_selection, linearised_covariance,
    random_subsets,
)  # fmt: skip
from sjax.imaging.space import LayeredSpace, layered_space
from sjax.imaging.twin import TRUE_THETA, ImagingTwin, imaging_twin

__all__ = [
    "ImagingTwin", "InversionResult", "LayeredPosterior", "LayeredSpace", "StationSelection", "TRUE_THETA", "TwinExperiment",
    "Variogram", "WavefieldBand", "band_coverage", "bandpass", "bandpass_response",
    "fit_variogram", "greedy_d_optimal", "group_lasso_selection", "imaging_twin", "invert", "krige",
    "kriging_weights", "layered_posterior", "layered_space", "linearised_covariance",
    "random_subsets", "reconstruct_wavefield", "relative_misfit", "twin_experiment", "unit_cube_densities",
]  # fmt: skip
