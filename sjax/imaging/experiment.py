"""`twin_experiment`: the whole imaging story on an `ImagingTwin` — replica-exchange inversion,
the wavefield reconstructed at points without stations against kriging, and station selection
— as one call shared by ``sjax demo``, the notebook and the benchmark."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.imaging.inversion import InversionResult, invert
from sjax.imaging.kriging import krige
from sjax.imaging.reconstruct import (
    WavefieldBand, band_coverage, reconstruct_wavefield, relative_misfit,
)  # fmt: skip
from sjax.imaging.selection import greedy_d_optimal, linearised_covariance, random_subsets
from sjax.imaging.twin import ImagingTwin
from sjax.wave.sources import Receivers

__all__ = ["TwinExperiment", "twin_experiment"]


class TwinExperiment(NamedTuple):
    """Results of `twin_experiment` (arrays; `summary` holds the headline numbers).

    Attributes:
        inversion: the `InversionResult`.
        targets: `WavefieldBand` at the twin's held-out targets; ``kriged_targets`` the
            kriging baseline there.
        image_x: ``(n_image,)`` surface positions of the wavefield image (m).
        image_truth, image_mean, image_kriged, image_width: ``(n_image, n_time)`` true,
            posterior-mean and kriged wavefields and the width of the credible band.
        selected: greedy D-optimal stations (indices); ``random_variances`` the linearised
            posterior variance (trace, unit-cube coordinates) of random subsets of the same size.
        summary: dict of headline figures (JSON-ready).
    """

    inversion: InversionResult
    targets: WavefieldBand
    kriged_targets: jax.Array
    image_x: np.ndarray
    image_truth: jax.Array
    image_mean: jax.Array
    image_kriged: jax.Array
    image_width: jax.Array
    selected: np.ndarray
    random_variances: np.ndarray
    summary: dict


def twin_experiment(key: jax.Array, twin: ImagingTwin, *, n_replicas: int = 10,
                    n_warmup: int = 1500, n_samples: int = 1500, n_image: int = 48,
                    n_reconstruct: int = 100, n_select: int = 4, progress: bool = False,
                    checkpoint=None) -> TwinExperiment:  # fmt: skip
    """Invert the twin's records, image the wavefield and choose stations.

    Args:
        key: PRNG key.
        twin: the `ImagingTwin`.
        n_replicas, n_warmup, n_samples: the replica-exchange run (`invert`).
        n_image: points of the surface wavefield image, spread over the station line.
        n_reconstruct: posterior samples (evenly thinned) re-simulated for the wavefield.
        n_select: stations to choose by greedy D-optimal design.
        progress: progress bars.
        checkpoint: checkpoint path of the chain (resume after an interruption).

    Returns:
        `TwinExperiment`.
    """
    key_invert, key_random = jax.random.split(key)
    inversion = invert(key_invert, twin.posterior, n_replicas=n_replicas, n_warmup=n_warmup,
                       n_samples=n_samples, progress=progress,
                       checkpoint=checkpoint)  # fmt: skip
    samples = inversion.samples
    thinned = samples[:: max(1, samples.shape[0] // n_reconstruct)]
    stations_x = np.asarray(twin.stations.x)
    targets_x = np.asarray(twin.targets.x)
    band = reconstruct_wavefield(thinned, twin.simulate_targets)
    kriged = krige(stations_x, twin.observed, targets_x)

    image_x = np.linspace(stations_x[0], stations_x[-1], n_image)
    image = Receivers(jnp.asarray(image_x, twin.truth.dtype))
    image_band = reconstruct_wavefield(thinned, lambda theta: twin.wavefield(theta, image))
    image_truth = twin.wavefield(twin.truth, image)[:, 0]
    image_kriged = krige(stations_x, twin.observed, image_x)[:, 0]

    theta = jnp.mean(samples, axis=0)
    jacobian = jax.jacfwd(lambda u: twin.posterior.predict(twin.space.from_unit(u)))(
        twin.space.to_unit(theta))  # fmt: skip
    jacobian = jacobian.reshape(jacobian.shape[0], -1, jacobian.shape[-1])
    options = {"noise_sigma": twin.noise_sigma, "prior_precision": 12.0}  # box: variance 1/12
    selection = greedy_d_optimal(jacobian, n_select, **options)

    def variance(stations):
        return float(jnp.trace(linearised_covariance(jacobian, stations, **options)))

    subsets = random_subsets(key_random, len(stations_x), n_select, 50)
    random_variances = np.array([variance(s) for s in subsets])

    low, high = np.quantile(np.asarray(samples), [0.025, 0.975], axis=0)
    truth = np.asarray(twin.truth)
    remc_misfit = np.asarray(relative_misfit(band.mean, twin.true_targets))
    kriging_misfit = np.asarray(relative_misfit(kriged, twin.true_targets))
    chain = inversion.chain
    summary = {
        "parameters": list(twin.space.names),
        "truth": truth.tolist(),
        "posterior_mean": np.asarray(samples.mean(axis=0)).tolist(),
        "interval_95": [low.tolist(), high.tolist()],
        "truth_inside_95": bool(np.all((low <= truth) & (truth <= high))),
        "n_replicas": int(n_replicas), "n_warmup": int(n_warmup), "n_samples": int(n_samples),
        "acceptance": np.asarray(chain.acceptance).round(3).tolist(),
        "swap_rate": np.asarray(chain.swap_rate).round(3).tolist(),
        "round_trips": int(chain.round_trips),
        "held_out_misfit_remc": remc_misfit.round(4).tolist(),
        "held_out_misfit_kriging": kriging_misfit.round(4).tolist(),
        "misfit_ratio_remc_over_kriging": float(remc_misfit.mean() / kriging_misfit.mean()),
        "band_coverage": np.asarray(band_coverage(band, twin.true_targets)).round(3).tolist(),
        "band_coverage_pooled": float(band_coverage(band, twin.true_targets, pooled=True)),
        "selected_stations": selection.stations.tolist(),
        "selected_variance": variance(selection.stations),
        "random_variance_median": float(np.median(random_variances)),
    }  # fmt: skip
    return TwinExperiment(
        inversion, band, kriged, image_x, image_truth, image_band.mean[:, 0], image_kriged,
        (image_band.upper - image_band.lower)[:, 0], selection.stations, random_variances,
        summary,
    )  # fmt: skip
