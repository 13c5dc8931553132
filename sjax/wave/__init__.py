"""Differentiable 2-D SH and P-SV wave propagation in layered media (staggered grid,
4th order in space, Störmer–Verlet in time, free surface on top, C-PML elsewhere), and the
semi-analytic SH response of layered media by discrete wavenumbers (`layered_sh`)."""

from sjax.wave.adjoint import psv_adjoint_step, sh_adjoint_step
from sjax.wave.boundaries import PMLCoefficients, pml_coefficients
from sjax.wave.grid import Grid, check_time_step, stable_time_step
from sjax.wave.layered import (
    layered_sh, layered_sh_sampling, love_phase_velocities, love_secular_function,
    sh_transfer_function,
)  # fmt: skip
from sjax.wave.materials import PSVMaterial, SHMaterial, psv_material, sh_material
from sjax.wave.psv import PSVModel, PSVState, psv_elastic_force, psv_init, psv_step
from sjax.wave.sh import SHModel, SHState, sh_elastic_force, sh_init, sh_step
from sjax.wave.simulate import COMPONENTS, SamplingWarning, SimulationResult, build_model, simulate
from sjax.wave.sources import (
    GaussianDerivative,
    MomentTensorSource,
    PointForce,
    Receivers,
    Ricker,
    explosion,
)

__all__ = [
    "COMPONENTS", "GaussianDerivative", "Grid", "MomentTensorSource", "PMLCoefficients",
    "PSVMaterial", "PSVModel", "PSVState", "PointForce", "Receivers", "Ricker", "SHMaterial",
    "SHModel", "SHState", "SamplingWarning", "SimulationResult", "build_model", "check_time_step",
    "explosion", "layered_sh", "layered_sh_sampling", "love_phase_velocities",
    "love_secular_function", "pml_coefficients", "psv_adjoint_step", "psv_elastic_force", "psv_init", "psv_material", "psv_step",
    "sh_adjoint_step", "sh_elastic_force", "sh_init", "sh_material", "sh_step", "sh_transfer_function", "simulate",
    "stable_time_step",
]  # fmt: skip
