"""Log evidence log Z = log ∫ π(θ) L(θ) dθ from a replica-exchange run.

With Z(η) = ∫ π L^η, d log Z / dη = ⟨log L⟩_η, so log Z = log Z(1) − log Z(0) (Z(0) = 1 for a
normalised prior) is

* **thermodynamic integration**: ∫_0^1 ⟨log L⟩_η dη (trapezoid rule over the ladder);
* **stepping stone**: Σ_l log ⟨exp[(η_{l+1} − η_l) log L]⟩_{η_l}, each factor a log-mean-exp
  over the samples of slot l (Xie et al. 2011).

Both need the prior normalised. A ladder starting at η_0 = 0 (``geometric_ladder(...,
include_zero=True)``) makes them consistent estimators. If η_0 > 0, the missing segment
[0, η_0] is approximated by η_0·⟨log L⟩_{η_0} in both, an error of order
η_0·|⟨log L⟩_{η_0} − ⟨log L⟩_0|: keep η_0 small (say η_0·|⟨log L⟩_0| < 0.01) or include 0.
The per-slot inputs come from ``run_chain(..., trace_loglikelihood=True).loglikelihood_trace``
(after warm-up, so with the adapted ladder ``result.state.inverse_temperature``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from sjax.mcmc.ladder import check_ladder

__all__ = ["thermodynamic_integration", "stepping_stone"]


def thermodynamic_integration(ladder, mean_loglikelihood) -> jax.Array:
    """Trapezoid-rule thermodynamic integration of ⟨log L⟩_η over η in [0, 1].

    Args:
        ladder: ``(R,)`` inverse temperatures (`check_ladder`).
        mean_loglikelihood: ``(R,)`` ⟨log L⟩ of each slot (e.g. the mean over samples of
            ``loglikelihood_trace``), in nats.

    Returns:
        () log evidence estimate (nats); see the module docstring for η_0 > 0.

    Raises:
        ValueError: for an invalid ladder or a shape other than ``(R,)``.
    """
    ladder = check_ladder(ladder)
    mean = jnp.asarray(mean_loglikelihood)
    if mean.shape != ladder.shape:
        raise ValueError(f"mean_loglikelihood must have shape {ladder.shape}, got {mean.shape}")
    trapezoid = jnp.sum(jnp.diff(ladder) * 0.5 * (mean[1:] + mean[:-1]))
    return trapezoid + ladder[0] * mean[0]


def stepping_stone(ladder, loglikelihood_samples) -> jax.Array:
    """Stepping-stone estimate Σ_l log mean_s exp[(η_{l+1} − η_l)·log L_{s,l}].

    Args:
        ladder: ``(R,)`` inverse temperatures (`check_ladder`).
        loglikelihood_samples: ``(N, R)`` log L of N samples of every slot (nats), e.g.
            ``ChainResult.loglikelihood_trace``.

    Returns:
        () log evidence estimate (nats); see the module docstring for η_0 > 0.

    Raises:
        ValueError: for an invalid ladder or a shape other than ``(N, R)``.
    """
    ladder = check_ladder(ladder)
    samples = jnp.asarray(loglikelihood_samples)
    if samples.ndim != 2 or samples.shape[1] != ladder.shape[0] or samples.shape[0] == 0:
        raise ValueError(f"loglikelihood_samples must have shape (N, {ladder.shape[0]}), "
                         f"got {samples.shape}")  # fmt: skip
    steps = jnp.diff(ladder)
    n = samples.shape[0]
    stones = logsumexp(steps * samples[:, :-1], axis=0) - jnp.log(n)
    return jnp.sum(stones) + ladder[0] * jnp.mean(samples[:, 0])
