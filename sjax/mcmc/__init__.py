"""Replica-exchange Monte Carlo (parallel tempering) for posteriors π(θ)·L(θ).

Replicas sample π(θ)·L(θ)^η over an ascending inverse-temperature ladder η_0 < … < η_{R-1} = 1,
stacked along a leading axis and updated with a vmapped within-replica kernel (random-walk
Metropolis by default; MALA and HMC), then exchanged between neighbouring slots (METHODS.md
§1.4; details in the module docstrings).

Example:
    >>> algorithm = replica_exchange(logprior, loglikelihood, geometric_ladder(16))
    >>> state = algorithm.init(initial_positions)  # leaves (16, ...)
    >>> result = run_chain(jax.random.key(0), algorithm, state, 2000, n_warmup=1000)
    >>> result.samples  # the η = 1 slot's positions, leaves (2000, ...)
"""

from sjax.mcmc.adapt import (
    TARGET_ACCEPTANCE,
    Adaptation,
    adapt_state,
    adaptation,
    update_ladder,
    update_step_size,
)
from sjax.mcmc.driver import ChainResult, run_chain, shard_state
from sjax.mcmc.evidence import stepping_stone, thermodynamic_integration
from sjax.mcmc.kernels import ReplicaState, build_hmc, build_mala, build_rwm, tempered_logdensity
from sjax.mcmc.ladder import check_ladder, geometric_ladder
from sjax.mcmc.remc import (
    RemcInfo,
    RemcState,
    SamplingAlgorithm,
    build_kernel,
    exchange,
    init,
    replica_exchange,
)

__all__ = [
    "TARGET_ACCEPTANCE",
    "Adaptation",
    "ChainResult",
    "RemcInfo",
    "RemcState",
    "ReplicaState",
    "SamplingAlgorithm",
    "adapt_state",
    "adaptation",
    "build_hmc",
    "build_kernel",
    "build_mala",
    "build_rwm",
    "check_ladder",
    "exchange",
    "geometric_ladder",
    "init",
    "replica_exchange",
    "run_chain",
    "shard_state",
    "stepping_stone",
    "tempered_logdensity",
    "thermodynamic_integration",
    "update_ladder",
    "update_step_size",
]
