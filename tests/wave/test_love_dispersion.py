"""Love-wave dispersion of a low-velocity layer over a half-space (SH) against `disba`.

The phase velocity is measured from a line of surface seismograms by a phase-only slant stack
(the MASW dispersion image of Park et al. 1998): at each frequency, the spectra normalised to
unit modulus are summed along trial slownesses, and the slowness of maximum coherence gives the
phase velocity. A 2-D line source and a 3-D point source share the same modal phase velocities,
so the 1-D plane-layer dispersion of `disba` is the reference.
"""

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from disba import PhaseDispersion  # noqa: E402

from sjax.media import LayeredMedium  # noqa: E402
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate  # noqa: E402

THICKNESS = 100.0  # m, the low-velocity layer
VELOCITY_S = (500.0, 1000.0)  # m/s, layer and half-space
VELOCITY_P = (1000.0, 2000.0)  # m/s (SH does not see them; disba needs them)
DENSITY = (1800.0, 2100.0)  # kg/m³
# Usable band: 1.25-2.5 Hz. The first higher Love mode starts at
# f = β1 / (2 h sqrt(1 - β1²/β2²)) = 2.89 Hz, so only the fundamental mode exists in the band;
# the Ricker (peak 2 Hz) has >= 70 % of its peak spectral amplitude there, and the array
# (2 km) spans >= 3 wavelengths at 1.25 Hz. Below ~1 Hz the mode reaches the bottom C-PML
# of the 800 m deep domain (decay length ~280 m at 1 Hz) and the array is too short.
FREQUENCIES = np.linspace(1.25, 2.5, 6)  # Hz


def disba_love_fundamental(frequencies):
    """Fundamental Love-mode phase velocity (m/s) from disba (km, km/s, g/cm³ inside)."""
    dispersion = PhaseDispersion(
        np.array([THICKNESS, 1000.0]) / 1000.0,  # the last thickness (half-space) is ignored
        np.array(VELOCITY_P) / 1000.0,
        np.array(VELOCITY_S) / 1000.0,
        np.array(DENSITY) / 1000.0,
    )
    periods = np.sort(1.0 / frequencies)
    curve = dispersion(periods, mode=0, wave="love")
    assert np.allclose(curve.period, periods)  # every period has a fundamental-mode root
    return 1000.0 * curve.velocity[np.argsort(1.0 / frequencies)]  # in the order given


def slant_stack_phase_velocity(traces, times, offsets, frequencies, velocities):
    """Phase velocity (m/s) maximising the phase-only slant stack at each frequency.

    Args:
        traces: ``(n_receiver, n_time)`` seismograms.
        times: ``(n_time,)`` s.
        offsets: ``(n_receiver,)`` source-receiver distances in m.
        frequencies: ``(n_frequency,)`` Hz.
        velocities: ``(n_velocity,)`` trial phase velocities in m/s.
    """
    spectra = traces @ np.exp(-2j * np.pi * np.outer(times, frequencies))  # (n_rec, n_freq)
    spectra = spectra / np.abs(spectra)
    picked = []
    for k, f in enumerate(frequencies):
        # u ~ exp(iω(t − x/c)) has spectrum ~ exp(−iωx/c); undo it along each trial slowness
        steering = np.exp(2j * np.pi * f * np.outer(1.0 / velocities, offsets))
        coherence = np.abs(steering @ spectra[:, k]) / len(offsets)
        picked.append(velocities[np.argmax(coherence)])
    return np.array(picked)


def test_love_phase_velocity_matches_disba():
    medium = LayeredMedium([THICKNESS], VELOCITY_P, VELOCITY_S, DENSITY)
    # 10 m: 10 nodes per S wavelength at 5 Hz (2.5 × the Ricker peak) in the layer;
    # 800 m deep: the fundamental mode decays as exp(−γz), γ = ω sqrt(1/c² − 1/β2²), with
    # 1/γ <= 160 m in the band, so it is down by e^-5 at the bottom boundary
    dx = 10.0
    grid = Grid(nz=81, nx=271, spacing_z=dx, spacing_x=dx)
    source_x = 200.0
    source = PointForce(source_x, 0.5 * THICKNESS, Ricker(2.0))
    offsets = np.arange(300.0, 2301.0, 20.0)  # from 0.5 wavelength at 1.25 Hz out to 2.3 km
    receivers = Receivers(source_x + offsets)
    result = simulate(medium, grid, source, receivers, duration=7.0, wave="sh")
    traces = np.asarray(result.traces[:, 0])

    velocities = np.arange(400.0, 1200.0, 0.2)  # m/s; resolution 0.04 % of the slowest c
    measured = slant_stack_phase_velocity(
        traces, np.asarray(result.times), offsets, FREQUENCIES, velocities
    )
    expected = disba_love_fundamental(FREQUENCIES)
    assert np.ptp(expected) > 0.25 * expected.min()  # the band is genuinely dispersive
    error = np.abs(measured - expected) / expected
    # issue target: within 2 % of disba across the band (measured max 0.6 %, at 1.25 Hz)
    assert np.all(error < 0.02), dict(zip(FREQUENCIES, np.round(100 * error, 2)))
