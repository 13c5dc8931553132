"""The exact Gaussian-process detection model sampled with NUTS (numpyro): the slow reference.

Same model and prior as `sjax.aftershock.gp` but with nothing approximated: the latent μ at
the n events is sampled (non-centred, ``μ = m + L ε``, ``L L^T = K``) together with the nine
parameters, and the likelihood is the exact AftFore-convention log-likelihood
(`log_likelihood_piecewise`). Every gradient needs a Cholesky of the n×n kernel matrix:
O(n³) per leapfrog step, which is why the composite-likelihood fit exists.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS, init_to_value

from sjax._threads import single_blas_thread
from sjax.aftershock.catalog import Catalog
from sjax.aftershock.gp import (
    _PRIOR_MEAN,
    _PRIOR_SD,
    GP_NAMES,
    NATURAL_NAMES,
    GPConfig,
    event_data,
    event_sites,
    local_gp_mean,
    natural,
    unpack,
)
from sjax.aftershock.kernels import KERNELS, kernel_matrix, log_time
from sjax.aftershock.likelihood import AftershockParams, log_likelihood_piecewise

__all__ = ["GPPosterior", "gp_numpyro_model", "sample_gp_nuts"]

_JITTER = 1e-8  # relative diagonal jitter of the kernel matrix


def gp_numpyro_model(catalog: Catalog, config: GPConfig) -> None:
    """numpyro model: ``z`` (9 parameters, `GP_NAMES`) and ``eps`` (n whitened latents).

    Prior: the independent normals of `sjax.aftershock.gp.log_prior`; ``ε ~ N(0, I_n)``;
    ``μ(t_i) = mu_mean + mu_slope · x_i + (L ε)_i``; likelihood: `log_likelihood_piecewise`.
    """
    n = catalog.n_events
    z = numpyro.sample(
        "z", dist.Normal(jnp.asarray(_PRIOR_MEAN), jnp.asarray(_PRIOR_SD)).to_event(1)
    )
    eps = numpyro.sample("eps", dist.Normal(jnp.zeros(n), 1.0).to_event(1))
    params, (mean0, slope), kernel = unpack(z, config.kernel)
    x = log_time(catalog.times, config.time_offset)
    cov = kernel_matrix(kernel, x, x) + _JITTER * kernel.amplitude**2 * jnp.eye(n)
    mu = mean0 + slope * x + jnp.linalg.cholesky(cov) @ eps
    numpyro.deterministic("mu", mu)
    numpyro.factor("log_likelihood", log_likelihood_piecewise(
        params, catalog, mu, reference_magnitude=config.reference_magnitude,
        magnitude_cutoff=config.magnitude_cutoff,
    ))  # fmt: skip


class GPPosterior(NamedTuple):
    """NUTS posterior of the exact GP model.

    Attributes:
        names: natural parameter names (`sjax.aftershock.gp.NATURAL_NAMES`).
        samples: ``(S, 9)`` natural-scale draws; estimates / standard_deviations: ``(9,)``
            their posterior means and standard deviations.
        unconstrained_names, unconstrained_samples ``(S, 9)``: the same on the optimisation
            scale (`GP_NAMES`).
        params: `AftershockParams` with ``(S,)`` fields (for `sjax.aftershock.forecast`).
        mu_at_events: ``(S, n)`` draws of μ at the event times.
        num_divergences: divergent transitions after warm-up.
        n_gradient_evaluations: leapfrog steps in warm-up + sampling.
        seconds: wall time including compilation.
    """

    names: tuple
    samples: np.ndarray
    estimates: np.ndarray
    standard_deviations: np.ndarray
    unconstrained_names: tuple
    unconstrained_samples: np.ndarray
    params: AftershockParams
    mu_at_events: np.ndarray
    num_divergences: int
    n_gradient_evaluations: int
    seconds: float


@single_blas_thread
def sample_gp_nuts(
    key: jax.Array,
    catalog: Catalog,
    *,
    reference_magnitude: float,
    magnitude_cutoff: float | None = None,
    kernel: str = "squared_exponential",
    time_offset: float = 1e-3,
    num_warmup: int = 500,
    num_samples: int = 500,
    initial: jax.Array | None = None,
    max_tree_depth: int = 8,
    progress: bool = False,
) -> GPPosterior:
    """Sample the exact GP model with NUTS (one chain).

    Args:
        key: `jax.random` key.
        catalog: `Catalog` (n events; cost O(n³) per gradient).
        reference_magnitude, magnitude_cutoff, kernel, time_offset: as in
            `sjax.aftershock.fit_gp`.
        num_warmup, num_samples: NUTS warm-up (step size and diagonal mass adaptation) and
            kept draws.
        initial: optional ``(9,)`` unconstrained start (e.g. ``fit_gp(...).unconstrained``);
            the latents then start at the GP posterior mean of the site pseudo-data.
        max_tree_depth: NUTS tree depth cap.
        progress: numpyro progress bar.

    Returns:
        `GPPosterior`.

    Raises:
        TypeError: ``catalog`` is not a `Catalog`; ValueError: unknown kernel, < 20 events.
    """
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a sjax.aftershock.Catalog, got {type(catalog).__name__}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    if catalog.n_events < 20:
        raise ValueError(f"catalogue has {catalog.n_events} events: the GP model needs 20")
    config = GPConfig(float(reference_magnitude),
                      None if magnitude_cutoff is None else float(magnitude_cutoff), kernel,
                      float(time_offset))  # fmt: skip
    init = None
    if initial is not None:
        z0 = jnp.asarray(initial, dtype=catalog.times.dtype)
        _, r, _, v, x, kern = event_sites(z0, event_data(catalog), config, neighbours=None)
        n = catalog.n_events
        cov = kernel_matrix(kern, x, x) + _JITTER * kern.amplitude**2 * jnp.eye(n)
        f = local_gp_mean(x, r, v, kern, None)
        eps0 = jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(cov), f, lower=True)
        init = init_to_value(values={"z": z0, "eps": eps0})
    kernel_nuts = NUTS(gp_numpyro_model, max_tree_depth=max_tree_depth,
                       **({} if init is None else {"init_strategy": init}))  # fmt: skip
    mcmc = MCMC(kernel_nuts, num_warmup=num_warmup, num_samples=num_samples,
                progress_bar=progress)  # fmt: skip
    t0 = time.perf_counter()
    mcmc.run(key, catalog, config, extra_fields=("num_steps", "diverging"))
    samples = mcmc.get_samples()
    z = np.asarray(samples["z"])
    seconds = time.perf_counter() - t0
    extra = mcmc.get_extra_fields()
    steps_sampling = int(np.sum(extra["num_steps"]))
    # numpyro reports sampling-phase steps only; warm-up steps are estimated at the same rate.
    n_grad = int(round(steps_sampling * (num_warmup + num_samples) / num_samples))
    nat = np.asarray(jax.vmap(natural)(jnp.asarray(z)))
    params = AftershockParams(*(jnp.asarray(nat[:, i]) for i in range(5)))
    return GPPosterior(
        names=NATURAL_NAMES,
        samples=nat,
        estimates=nat.mean(axis=0),
        standard_deviations=nat.std(axis=0, ddof=1),
        unconstrained_names=GP_NAMES,
        unconstrained_samples=z,
        params=params,
        mu_at_events=np.asarray(samples["mu"]),
        num_divergences=int(np.sum(extra["diverging"])),
        n_gradient_evaluations=n_grad,
        seconds=seconds,
    )
