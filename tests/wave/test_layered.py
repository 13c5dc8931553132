"""`sjax.wave.layered`: the semi-analytic (discrete-wavenumber) SH response of layered media.

References: `simulate` (the finite-difference solver, same equation and normalisation), the
2-D line-source Green's function with its free-surface image, the closed-form one-layer site
amplification, `disba` Love-wave dispersion, and central finite differences for gradients.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from disba import PhaseDispersion
from scipy.signal import butter, find_peaks, sosfiltfilt

from sjax.media import LayeredMedium
from sjax.testing import analytic_sh_line_force, relative_l2
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate
from sjax.wave.layered import (
    _surface_green,
    layered_sh,
    layered_sh_sampling,
    love_phase_velocities,
    love_secular_function,
    sh_transfer_function,
)

# two layers over a half-space (the brief's twin): h = 150, 300 m; β = 400, 800, 1600 m/s
THICKNESS = (150.0, 300.0)
VELOCITY_P = (1000.0, 1800.0, 3200.0)
VELOCITY_S = (400.0, 800.0, 1600.0)
DENSITY = (1800.0, 2000.0, 2300.0)


def layered(dtype=np.float64, **changes):
    values = {"thickness": THICKNESS, "velocity_p": VELOCITY_P, "velocity_s": VELOCITY_S,
                  "density": DENSITY}  # fmt: skip
    values.update(changes)
    return LayeredMedium(**{k: np.asarray(v, dtype) for k, v in values.items()})


def bandpass(traces, dt, low, high):
    sos = butter(4, [low, high], btype="band", fs=1.0 / dt, output="sos")
    return sosfiltfilt(sos, np.asarray(traces), axis=-1)


@pytest.mark.parametrize("source_depth", [100.0, 250.0])  # in the top layer; in the second
def test_matches_finite_differences_with_amplitudes(source_depth):
    medium = layered()
    source = PointForce(300.0, source_depth, Ricker(1.2))
    receivers = Receivers(300.0 + np.linspace(200.0, 1500.0, 8))
    # 12 m: >= 13 nodes per S wavelength at the band's top (2.5 Hz, 400 m/s); interfaces at
    # 150 and 450 m fall mid-cell (on nodes, the FD interface averaging errs at O(dx): 7 % at
    # 10 m, 3.8 % at 5 m). 900 m deep, 300 m beyond the last station, 20-cell C-PML.
    grid = Grid(nz=76, nx=176, spacing_z=12.0, spacing_x=12.0)
    reference = simulate(medium, grid, source, receivers, duration=5.0)
    dt = float(reference.times[1])
    result = layered_sh(medium, source, receivers, duration=5.0, dt=dt)
    assert result.traces.shape == reference.traces.shape == (8, 1, len(reference.times))
    np.testing.assert_allclose(result.times, reference.times)
    fd = bandpass(reference.traces[:, 0], dt, 0.2, 2.5)
    semi = bandpass(result.traces[:, 0], dt, 0.2, 2.5)
    # issue target: 5 % after the same band-pass, amplitudes included (measured 0.36 % for the
    # source in the top layer, 0.42 % in the second; worst single trace 0.9 %; unfiltered 0.45 %)
    assert relative_l2(semi, fd) < 0.05
    per_trace = np.linalg.norm(semi - fd, axis=1) / np.linalg.norm(fd, axis=1)
    assert np.all(per_trace < 0.05), per_trace


@pytest.mark.parametrize("source_depth", [0.0, 150.0])
def test_homogeneous_half_space_matches_image_green_function(source_depth):
    beta, rho, dt = 1000.0, 2000.0, 0.002
    medium = LayeredMedium([100.0, 200.0], [2000.0] * 3, [beta] * 3, [rho] * 3)  # fictitious
    wavelet = Ricker(5.0)
    offsets = np.array([300.0, 800.0])
    result = layered_sh(medium, PointForce(0.0, source_depth, wavelet), Receivers(offsets),
                        duration=2.0, dt=dt)  # fmt: skip
    for trace, offset in zip(result.traces[:, 0], offsets):
        distance = np.hypot(offset, source_depth)
        # free surface = the full-space Green's function of the force plus its image
        expected = 2 * analytic_sh_line_force(wavelet(result.times), dt, distance, beta, rho)
        # measured 8e-4 (surface source at 800 m), 8e-5 (buried source)
        assert relative_l2(trace, expected) < 2e-3


def test_velocity_output_is_time_derivative():
    medium, source = layered(), PointForce(0.0, 50.0, Ricker(2.0))
    receivers, dt = Receivers([400.0, 900.0]), 0.004
    sampling = layered_sh_sampling(medium, source, receivers, duration=3.0, dt=dt)
    u = layered_sh(medium, source, receivers, duration=3.0, dt=dt, **sampling).traces[:, 0]
    v = layered_sh(medium, source, receivers, duration=3.0, dt=dt, output="velocity",
                   **sampling).traces[:, 0]  # fmt: skip
    assert relative_l2(v[:, 1:-1], (u[:, 2:] - u[:, :-2]) / (2 * dt)) < 0.01  # measured 0.08 %


def test_transfer_function_one_layer_over_half_space():
    h, beta1, beta2, rho1, rho2 = 100.0, 300.0, 1500.0, 1800.0, 2200.0
    medium = LayeredMedium([h], [1000.0, 3000.0], [beta1, beta2], [rho1, rho2])
    frequencies = np.linspace(0.0, 10.0, 201)
    theta = 2 * np.pi * frequencies * h / beta1
    contrast = rho1 * beta1 / (rho2 * beta2)
    expected = 1.0 / np.sqrt(np.cos(theta) ** 2 + contrast**2 * np.sin(theta) ** 2)
    np.testing.assert_allclose(np.abs(sh_transfer_function(medium, frequencies)), expected,
                               rtol=1e-10)  # fmt: skip
    peak = np.abs(sh_transfer_function(medium, [beta1 / (4 * h)]))  # fundamental resonance
    np.testing.assert_allclose(peak, 1 / contrast, rtol=1e-10)


def test_love_phase_velocities_match_disba():
    medium = layered()
    frequencies = np.array([0.5, 1.0, 2.0, 3.0, 5.0])
    computed = np.asarray(love_phase_velocities(medium, frequencies, n_modes=2, n_samples=400))
    dispersion = PhaseDispersion(
        np.array([*THICKNESS, 1000.0]) / 1000.0, np.array(VELOCITY_P) / 1000.0,
        np.array(VELOCITY_S) / 1000.0, np.array(DENSITY) / 1000.0, algorithm="dunkin",
    )  # fmt: skip
    for mode in range(2):
        curve = dispersion(np.sort(1.0 / frequencies), mode=mode, wave="love")
        expected = 1000.0 * curve.velocity[::-1]  # ascending frequency
        found = computed[-len(expected):, mode]
        # issue target: 0.1 % (measured 1e-6 relative: disba's own root tolerance)
        np.testing.assert_allclose(found, expected, rtol=1e-3)
        assert np.all(np.isnan(computed[: len(frequencies) - len(expected), mode]))
    # the secular function vanishes at the roots
    values = love_secular_function(medium, frequencies, computed[:, 0])
    assert np.all(np.abs(values) < 1e-8)


def test_response_poles_are_the_love_modes():
    # with little damping, |G(k, ω)| of a surface source peaks at k = ω/c of each Love mode
    medium = layered()
    modes = np.asarray(love_phase_velocities(medium, [1.0, 2.0], n_modes=2, n_samples=400))
    for frequency, velocities in zip([1.0, 2.0], modes):
        omega = 2 * np.pi * frequency
        k = np.linspace(omega / 1600.0, omega / 400.0, 20001)[1:-1]
        green = np.abs(jax.jit(_surface_green)(medium, jnp.asarray(0.0), jnp.asarray(k)[:, None],
                                      jnp.asarray([[omega - 1e-3j]]))[:, 0])  # fmt: skip
        peaks, _ = find_peaks(green, height=1e-3 * green.max())
        for velocity in velocities:
            nearest = np.min(np.abs(omega / k[peaks] - velocity)) / velocity
            assert nearest < 1e-4, (frequency, velocity)  # measured <= 2.3e-5 (k-grid step)


# a small problem shared by the gradient, vmap and float32 tests (one compilation)
DT, DURATION = 0.01, 2.5
STATIONS = Receivers([300.0, 600.0, 900.0])


def small_problem(dtype=np.float64, x=0.0, z=80.0):
    medium = layered(dtype)
    source = PointForce(np.asarray(x, dtype), np.asarray(z, dtype), Ricker(2.0))
    receivers = Receivers(np.asarray(STATIONS.x, dtype))
    sampling = layered_sh_sampling(medium, source, receivers, duration=DURATION, dt=DT)
    return medium, source, receivers, sampling


def test_gradients_match_central_differences():
    medium, source, receivers, sampling = small_problem()
    weights = jnp.asarray(np.random.default_rng(0).standard_normal((3, 1, 251)))

    @jax.jit
    def objective(medium, source):
        traces = layered_sh(medium, source, receivers, duration=DURATION, dt=DT, **sampling)
        return jnp.sum(weights * traces.traces) * 1e9

    grad_medium, grad_source = jax.grad(objective, argnums=(0, 1))(medium, source)
    def layer(field, index):  # perturb one entry of a medium field
        return lambda m, s, e: (eqx.tree_at(lambda m: getattr(m, field), m,
                                            getattr(m, field).at[index].add(e)), s)

    checks = {
        "thickness[0]": (layer("thickness", 0), grad_medium.thickness[0], 1.0),
        "thickness[1]": (layer("thickness", 1), grad_medium.thickness[1], 1.0),
        "velocity_s[1]": (layer("velocity_s", 1), grad_medium.velocity_s[1], 1.0),
        "density[0]": (layer("density", 0), grad_medium.density[0], 1.0),
        "source.x": (lambda m, s, e: (m, eqx.tree_at(lambda s: s.x, s, s.x + e)),
                     grad_source.x, 0.5),
        "source.z": (lambda m, s, e: (m, eqx.tree_at(lambda s: s.z, s, s.z + e)),
                     grad_source.z, 0.5),
    }  # fmt: skip
    for name, (perturb, analytic, step) in checks.items():
        step = 1e-2 * step
        difference = (objective(*perturb(medium, source, step))
                      - objective(*perturb(medium, source, -step))) / (2 * step)  # fmt: skip
        assert np.isfinite(analytic) and abs(analytic) > 0, name
        # issue target: 1e-5 relative in float64 (measured <= 1e-7)
        assert abs(float(analytic) - float(difference)) <= 1e-5 * abs(float(difference)), name


def test_vmap_over_media_and_sources_equals_loop():
    medium, source, receivers, sampling = small_problem()
    scales = jnp.array([0.9, 1.0, 1.15])
    batch = LayeredMedium(medium.thickness * scales[:, None], jnp.broadcast_to(
        medium.velocity_p, (3, 3)), medium.velocity_s * scales[:, None], jnp.broadcast_to(
        medium.density, (3, 3)))  # fmt: skip

    def forward(medium, source):
        return layered_sh(medium, source, receivers, duration=DURATION, dt=DT, **sampling).traces

    batched = jax.jit(jax.vmap(forward, in_axes=(0, None)))(batch, source)
    for i in range(3):
        one = jax.tree.map(lambda leaf, i=i: leaf[i], batch)
        np.testing.assert_allclose(batched[i], forward(one, source), rtol=1e-10, atol=1e-22)
    xs = jnp.array([0.0, 25.0, -40.0])
    by_source = jax.vmap(lambda x: forward(medium, eqx.tree_at(lambda s: s.x, source, x)))(xs)
    for i in range(3):
        moved = eqx.tree_at(lambda s: s.x, source, xs[i])
        np.testing.assert_allclose(by_source[i], forward(medium, moved), rtol=1e-10, atol=1e-22)


def test_float32_agrees_with_float64():
    medium, source, receivers, sampling = small_problem(np.float32)
    result = layered_sh(medium, source, receivers, duration=DURATION, dt=DT, **sampling)
    assert result.traces.dtype == jnp.float32
    reference = layered_sh(*small_problem()[:3], duration=DURATION, dt=DT, **sampling)
    # float32 tolerance 1e-3 (measured 4e-6): complex64 round-off amplified by e^{ω_I t} <= 100
    assert relative_l2(result.traces, reference.traces) < 1e-3


def test_traced_medium_needs_explicit_sampling():
    medium, source, receivers, _ = small_problem()
    with pytest.raises(ValueError, match="n_wavenumber, period_length, damping"):
        jax.jit(lambda m: layered_sh(m, source, receivers, duration=DURATION, dt=DT).traces)(
            medium)  # fmt: skip


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"dt": 0.0}, "dt"),
        ({"duration": -1.0}, "duration"),
        ({"receivers": Receivers([100.0], [10.0])}, "receivers.z"),
        ({"source": PointForce(0.0, -5.0, Ricker(2.0))}, "source.z"),
        ({"output": "acceleration"}, "output"),
        ({"n_wavenumber": 0}, "n_wavenumber"),
        ({"period_length": 1000.0}, "period_length"),
        ({"damping": -1.0}, "damping"),
        ({"max_frequency": 0.0}, "max_frequency"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(changes, field):
    medium, source, receivers, _ = small_problem()
    arguments = {"source": source, "receivers": receivers, "duration": DURATION, "dt": DT}
    arguments.update(changes)
    with pytest.raises(ValueError, match=field):
        layered_sh(medium, **arguments)
