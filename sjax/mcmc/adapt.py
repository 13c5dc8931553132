"""Warm-up adaptation of the per-slot step sizes and of the ladder.

Used by `sjax.mcmc.run_chain` during warm-up only (``n_warmup`` sweeps), after each sweep;
afterwards the kernel is fixed, so the sampling phase is a valid Markov chain.

* **Step sizes** — Robbins–Monro on the log step of each slot l:
  log ε_l ← log ε_l + γ_t (α_l − α*), γ_t = γ_0 (1 + t/10)^(−0.6), with α_l the sweep's
  acceptance probability and α* the target (0.3 RWM, 0.57 MALA, 0.65 HMC by default).
  `run_chain` samples with the Polyak average: the geometric mean of each slot's ε over the
  second half of warm-up.
* **Ladder** — a fixed-range variant of Vousden, Farr & Mandel (2016, MNRAS 455:1919): the log
  spacings log(η_{l+1} − η_l) move by κ_t (A_l − Ā), κ_t = κ_0 / (1 + t/τ), where A_l is the
  sweep's swap probability of pair (l, l+1) (computed for every pair, attempted or not) and Ā
  their mean; the spacings are then rescaled to the original range, so η_0 and η_{R-1} = 1 stay
  put, the order is kept, and a pair that swaps too easily widens. The fixed point has equal
  swap rates.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "TARGET_ACCEPTANCE",
    "Adaptation",
    "adaptation",
    "update_step_size",
    "update_ladder",
    "adapt_state",
]

TARGET_ACCEPTANCE = {"rwm": 0.3, "mala": 0.57, "hmc": 0.65}


class Adaptation(NamedTuple):
    """Warm-up settings (a pytree: `run_chain` passes them traced, so changing them does not
    recompile)."""

    target_acceptance: float = 0.3  # α*
    step_size_gain: float = 1.0  # γ_0
    adapt_ladder: bool = True
    ladder_gain: float = 0.1  # κ_0
    ladder_lag: float = 100.0  # τ (sweeps)


def adaptation(kernel: str = "rwm", *, target_acceptance: float | None = None,
               step_size_gain: float = 1.0, adapt_ladder: bool = True,
               ladder_gain: float = 0.1, ladder_lag: float = 100.0) -> Adaptation:  # fmt: skip
    """Warm-up settings with the default target acceptance of ``kernel``.

    Args:
        kernel: "rwm", "mala" or "hmc" (sets the default ``target_acceptance``).
        target_acceptance: α* in (0, 1).
        step_size_gain: γ_0 > 0.
        adapt_ladder: also tune the ladder toward equal swap rates.
        ladder_gain: κ_0 > 0.
        ladder_lag: τ > 0, in sweeps.

    Raises:
        ValueError: for an unknown kernel or a value out of range (the field is named).
    """
    if kernel not in TARGET_ACCEPTANCE:
        raise ValueError(f"kernel={kernel!r} must be one of {sorted(TARGET_ACCEPTANCE)}")
    target = TARGET_ACCEPTANCE[kernel] if target_acceptance is None else target_acceptance
    if not 0.0 < target < 1.0:
        raise ValueError(f"target_acceptance={target} must lie in (0, 1)")
    for name, value in (("step_size_gain", step_size_gain), ("ladder_gain", ladder_gain),
                        ("ladder_lag", ladder_lag)):  # fmt: skip
        if not value > 0:
            raise ValueError(f"{name}={value} must be > 0")
    return Adaptation(float(target), float(step_size_gain), bool(adapt_ladder),
                      float(ladder_gain), float(ladder_lag))  # fmt: skip


def update_step_size(step_size, acceptance, sweep, settings: Adaptation) -> jax.Array:
    """One Robbins–Monro update of the per-slot step sizes.

    Args:
        step_size: ``(R,)`` current ε (units of the position).
        acceptance: ``(R,)`` acceptance probabilities of this sweep.
        sweep: () warm-up sweep index t (0-based).
        settings: the `Adaptation`.

    Returns:
        ``(R,)`` new step sizes.
    """
    gain = settings.step_size_gain * (1.0 + sweep / 10.0) ** -0.6
    return step_size * jnp.exp(gain * (acceptance - settings.target_acceptance))


def update_ladder(ladder, swap_probability, sweep, settings: Adaptation) -> jax.Array:
    """One update of the ladder toward equal neighbour swap rates, endpoints fixed.

    Args:
        ladder: ``(R,)`` ascending inverse temperatures, ``ladder[-1] == 1``.
        swap_probability: ``(R-1,)`` swap acceptance probabilities of this sweep.
        sweep: () warm-up sweep index t (0-based).
        settings: the `Adaptation`.

    Returns:
        ``(R,)`` new ladder: same first and last entries, strictly increasing.
    """
    if ladder.shape[0] < 3:
        return ladder
    gain = settings.ladder_gain / (1.0 + sweep / settings.ladder_lag)
    spacing = jnp.diff(ladder)
    spacing = spacing * jnp.exp(gain * (swap_probability - jnp.mean(swap_probability)))
    spacing = spacing * (ladder[-1] - ladder[0]) / jnp.sum(spacing)
    inner = ladder[0] + jnp.cumsum(spacing[:-1])
    return jnp.concatenate([ladder[:1], inner, ladder[-1:]])


def adapt_state(state, info, sweep, settings: Adaptation):
    """Apply both updates to a `RemcState` after a sweep.

    Args:
        state: the `RemcState` after the sweep.
        info: that sweep's `RemcInfo` (acceptance ``(R,)``, swap_probability ``(R-1,)``).
        sweep: () warm-up sweep index t (0-based).
        settings: the `Adaptation`.

    Returns:
        The state with new ``step_size`` and (if ``settings.adapt_ladder``)
        ``inverse_temperature``.
    """
    state = state._replace(
        step_size=update_step_size(state.step_size, info.acceptance, sweep, settings)
    )
    ladder = update_ladder(state.inverse_temperature, info.swap_probability, sweep, settings)
    # jnp.where: `settings` may be traced (run_chain passes it as a jit argument)
    return state._replace(
        inverse_temperature=jnp.where(settings.adapt_ladder, ladder, state.inverse_temperature)
    )
