"""Fixed-step time integration with exact adjoints.

Explicit Runge–Kutta, splitting (partitioned RK) and hand-written one-step schemes
(`sjax.integrate.schemes`), a ``lax.scan`` solve that observes every step endpoint, and the
``adjoint=`` strategies for its reverse-mode derivative (`sjax.integrate.solve`), including the
symplectic adjoint (partner scheme, checkpoints, per-step recomputation) and the second-order
adjoint sweep for exact Hessian–vector products (`hessian_sweep`).
"""

from sjax.integrate.schemes import (
    EULER,
    HEUN,
    RK3,
    RK4,
    RK4_38,
    STORMER_VERLET,
    SUZUKI4,
    YOSHIDA4,
    ButcherTableau,
    DiscreteMap,
    RungeKutta,
    Splitting,
    SplittingCoefficients,
)
from sjax.integrate.solve import (
    CheckpointAdjoint,
    ContinuousAdjoint,
    DirectAdjoint,
    SymplecticAdjoint,
    hessian_sweep,
    solve,
    tangent_solve,
)

__all__ = [
    "EULER", "HEUN", "RK3", "RK4", "RK4_38", "STORMER_VERLET", "SUZUKI4", "YOSHIDA4",
    "ButcherTableau", "CheckpointAdjoint", "ContinuousAdjoint", "DirectAdjoint", "DiscreteMap",
    "RungeKutta", "Splitting", "SplittingCoefficients", "SymplecticAdjoint", "hessian_sweep",
    "solve", "tangent_solve",
]  # fmt: skip
