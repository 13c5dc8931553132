"""Homogeneous-space references: the 2-D SH and P-SV Green's functions and the Rayleigh speed."""

import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.testing import (
    analytic_psv_vertical_force,
    analytic_sh_line_force,
    rayleigh_velocity,
    relative_l2,
    subsample_lag,
)
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate

VP, VS, RHO = 2000.0, 1000.0, 2000.0


def homogeneous(vp=VP, vs=VS, rho=RHO):
    return LayeredMedium([100.0], [vp, vp], [vs, vs], [rho, rho])


def test_sh_line_source_matches_green_function_at_eight_wavelengths():
    beta, rho, f0, dx = 2000.0, 2000.0, 10.0, 10.0
    medium = homogeneous(3500.0, beta, rho)
    grid = Grid(201, 241, dx, dx, 20)
    wavelet = Ricker(f0)
    source = PointForce(300.0, 1000.0, wavelet)
    receivers = Receivers([1900.0, 2000.0], [1000.0, 1003.7])  # off-grid second receiver
    result = simulate(medium, grid, source, receivers, duration=1.25, free_surface=False)
    dt = float(result.times[1])
    for k in range(2):
        r = np.hypot(float(receivers.x[k]) - 300.0, float(receivers.z[k]) - 1000.0)
        assert r / (beta / f0) >= 8.0
        expected = analytic_sh_line_force(wavelet(result.times), dt, r, beta, rho)
        # issue target: normalised L2 misfit < 3 % at >= 8 wavelengths (measured 2.4 %)
        assert relative_l2(result.traces[k, 0], expected) < 0.03


@pytest.fixture(scope="module")
def psv_full_space():
    grid = Grid(281, 241, 5.0, 5.0, 20)
    wavelet = Ricker(10.0)
    source = PointForce(300.0, 800.0, wavelet, direction=(0.0, 1.0))
    receivers = Receivers([300.0, 700.0], [1200.0, 800.0])  # 400 m below, 400 m beside
    result = simulate(
        homogeneous(), grid, source, receivers, duration=0.75, wave="psv", free_surface=False
    )
    return grid, wavelet, result


@pytest.mark.parametrize("k, along, velocity", [(0, "below", VP), (1, "beside", VS)])
def test_psv_direct_arrivals_match_elastic_green_function(psv_full_space, k, along, velocity):
    grid, wavelet, result = psv_full_space
    dt = float(result.times[1])
    expected = analytic_psv_vertical_force(
        wavelet(result.times), dt, 400.0, VP, VS, RHO, along
    )  # fmt: skip
    trace = np.asarray(result.traces[k, 1])
    # issue target: arrival within one time step plus half a cell (measured ~3e-5 s)
    assert abs(subsample_lag(trace, expected, dt)) < dt + 0.5 * grid.spacing_x / velocity
    assert relative_l2(trace, expected) < 0.02  # whole waveform (measured 0.25 %)


def test_rayleigh_wave_speed_within_one_percent():
    grid = Grid(121, 401, 5.0, 5.0, 20)
    source = PointForce(100.0, 0.0, Ricker(10.0), direction=(0.0, 1.0))
    receivers = Receivers([400.0, 1000.0], [0.0, 0.0])
    result = simulate(homogeneous(), grid, source, receivers, duration=1.3, wave="psv")
    vertical = np.asarray(result.traces[:, 1])
    lag = subsample_lag(vertical[1], vertical[0], float(result.times[1]))
    expected = rayleigh_velocity(VP, VS)
    assert abs(600.0 / lag - expected) / expected < 0.01  # measured 0.4 %


def test_rayleigh_velocity_reference_poisson_solid():
    # Poisson solid (vp = sqrt(3) vs): c_R = vs * sqrt(2 - 2/sqrt(3)) = 0.9194 vs
    assert rayleigh_velocity(np.sqrt(3.0), 1.0) == pytest.approx(np.sqrt(2 - 2 / np.sqrt(3)), 1e-9)
