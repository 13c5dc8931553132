"""4D-Var data assimilation with exact adjoints (`sjax.assim`).

The cost `FourDVar` is a pure function of the control (initial wavefield and/or structure);
its gradient comes from any ``adjoint=`` strategy of `sjax.integrate` (the `SymplecticAdjoint`
stores only checkpoints and integrates the adjoint with the partner scheme), its Hessian–vector
products from the second-order adjoint (`hvp`). Newton–CG and L-BFGS minimise it
(`sjax.assim.optimize`); conjugate gradients on `hvp` give chosen entries of the inverse Hessian,
Lanczos a low-rank posterior, and the Laplace approximation samples (`sjax.assim.uncertainty`).
"""

from sjax.assim.cost import Background, FourDVar, Observations, hvp, value_grad_hvp
from sjax.assim.structure import seismogram_steps, structure_problem
from sjax.assim.wave_ode import (
    WaveODE,
    wave_displacement_rate,
    wave_ode,
    wave_vector_field,
    wave_velocity_rate,
)
from sjax.integrate import (
    CheckpointAdjoint,
    ContinuousAdjoint,
    DirectAdjoint,
    SymplecticAdjoint,
)

__all__ = [
    "Background", "CheckpointAdjoint", "ContinuousAdjoint", "DirectAdjoint", "FourDVar",
    "Observations", "SymplecticAdjoint", "WaveODE", "hvp", "seismogram_steps",
    "structure_problem", "value_grad_hvp", "wave_displacement_rate", "wave_ode",
    "wave_vector_field", "wave_velocity_rate",
]  # fmt: skip
