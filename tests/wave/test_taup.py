"""Layered P-SV first arrivals against ObsPy TauP built from the exported ``.nd`` model.

A slow layer over two faster ones (velocities increasing with depth), so the first arrival is
the direct P at short offsets, the head wave on the first interface at intermediate offsets and
the head wave on the second interface at the largest ones. TauP is spherical; over a few km of
offset the flattening correction is ~(offset / R)² and negligible, which the test also checks
against the flat-layer refraction formula.
"""

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from obspy.taup import TauPyModel  # noqa: E402
from obspy.taup.taup_create import build_taup_model  # noqa: E402
from obspy.taup.velocity_model import VelocityModel  # noqa: E402
from scipy.signal import hilbert  # noqa: E402
from scipy.signal.windows import tukey  # noqa: E402

from sjax.media import LayeredMedium, to_taup_nd  # noqa: E402
from sjax.wave import Grid, Receivers, Ricker, explosion, simulate  # noqa: E402
from sjax.wave.rays import travel_time_branches  # noqa: E402

KM_PER_DEGREE = 6371.0 * np.pi / 180.0  # TauP's default planet radius

THICKNESS = [300.0, 300.0]  # m
VELOCITY_P = [2000.0, 3000.0, 4500.0]  # m/s
VELOCITY_S = [v / np.sqrt(3.0) for v in VELOCITY_P]  # Poisson solid
DENSITY = [2000.0, 2300.0, 2500.0]  # kg/m³
SOURCE_X, SOURCE_Z = 200.0, 150.0  # m; source in the middle of the top layer
FREQUENCY = 15.0  # Hz, Ricker peak
# direct P (300, 600 m), head wave on interface 1 (1300 m), on interface 2 (2000-2800 m);
# offsets near the crossovers (~1000 m and ~1650 m) are avoided, see the gap check below.
OFFSETS = np.array([300.0, 600.0, 1300.0, 2000.0, 2400.0, 2800.0])


def medium():
    return LayeredMedium(THICKNESS, VELOCITY_P, VELOCITY_S, DENSITY)


def test_to_taup_nd_writes_layers_in_km_and_km_per_s(tmp_path):
    text = to_taup_nd(medium())
    rows = [line.split() for line in text.splitlines()]
    numeric = [[float(v) for v in row] for row in rows if len(row) == 4]
    # first five rows: each finite layer's top and bottom, then the half-space top
    expected = [
        [0.0, 2.0, 2.0 / np.sqrt(3.0), 2.0],
        [0.3, 2.0, 2.0 / np.sqrt(3.0), 2.0],
        [0.3, 3.0, 3.0 / np.sqrt(3.0), 2.3],
        [0.6, 3.0, 3.0 / np.sqrt(3.0), 2.3],
        [0.6, 4.5, 4.5 / np.sqrt(3.0), 2.5],
    ]
    np.testing.assert_allclose(numeric[:5], expected, atol=1e-6)  # written with 6 decimals
    labels = [row[0] for row in rows if len(row) == 1]
    assert labels == ["mantle", "outer-core", "inner-core"]
    depths = [row[0] for row in numeric]
    assert all(np.diff(depths) >= 0.0) and depths[-1] == pytest.approx(6371.0)

    # ObsPy's own reader sees the same three layers (km, km/s, g/cm³) above its "Moho"
    path = tmp_path / "layered.nd"
    path.write_text(text)
    layers = VelocityModel.read_nd_file(str(path)).layers
    np.testing.assert_allclose(layers["top_depth"][:3], [0.0, 0.3, 0.6], atol=1e-9)
    np.testing.assert_allclose(layers["bot_depth"][:2], [0.3, 0.6], atol=1e-9)
    np.testing.assert_allclose(layers["top_p_velocity"][:3], [2.0, 3.0, 4.5], atol=1e-9)
    np.testing.assert_allclose(layers["bot_p_velocity"][:3], [2.0, 3.0, 4.5], atol=1e-9)
    np.testing.assert_allclose(
        layers["top_s_velocity"][:3], np.array([2.0, 3.0, 4.5]) / np.sqrt(3.0), atol=1e-6
    )
    np.testing.assert_allclose(layers["top_density"][:3], [2.0, 2.3, 2.5], atol=1e-9)


def flat_first_arrival(offset, depth):
    """First P arrival (s) in the flat layered model: direct wave or a head wave (SI units)."""
    vp, h = np.asarray(VELOCITY_P), np.asarray(THICKNESS)
    times = [np.hypot(offset, depth) / vp[0]]
    for k in (1, 2):  # head wave along the top of layer k
        cos = np.sqrt(1.0 - (vp[:k] / vp[k]) ** 2)
        legs = h[:k] * 2.0
        legs[0] -= depth  # the source sits inside the top layer
        times.append(offset / vp[k] + np.sum(legs * cos / vp[:k]))
    return min(times)


def envelope(trace):
    trace = trace * tukey(len(trace), 0.1)  # no end discontinuity
    padded = np.concatenate([trace, np.zeros_like(trace)])  # no wrap-around
    return np.abs(hilbert(padded))[: len(trace)]


def onset(trace, times, level=0.1, detect=0.05):
    """Onset of the first arrival: where the envelope first reaches ``level`` times the peak
    of the first envelope lobe exceeding ``detect`` times the trace's maximum envelope."""
    env = envelope(trace)
    env = env / env.max()
    i = int(np.argmax(env > detect))
    while env[i + 1] >= env[i]:
        i += 1
    threshold = level * env[i]
    j = int(np.argmax(env > threshold))
    fraction = (threshold - env[j - 1]) / (env[j] - env[j - 1])
    return times[j - 1] + fraction * (times[j] - times[j - 1])


@pytest.fixture(scope="module")
def taup_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("taup")
    nd_path = folder / "sjax_layered.nd"
    nd_path.write_text(to_taup_nd(medium()))
    build_taup_model(str(nd_path), output_folder=str(folder))
    return TauPyModel(model=str(folder / "sjax_layered.npz"))


def test_psv_first_arrivals_match_taup(taup_model):
    depth_km = SOURCE_Z / 1000.0
    taup_times, flat_times = [], []
    for offset in OFFSETS:
        arrivals = taup_model.get_travel_times(
            source_depth_in_km=depth_km,
            distance_in_degree=offset / 1000.0 / KM_PER_DEGREE,
            phase_list=["p", "P", "Pn"],
        )
        times = np.sort([a.time for a in arrivals])
        # the first arrival is a separate pulse: the next P branch comes >= 25 ms later
        # (about 0.4 periods at 15 Hz), so the onset picker does not see two merged arrivals
        later = times[times > times[0] + 1e-3]
        assert later.size == 0 or later[0] - times[0] >= 0.025, (offset, times[:3])
        taup_times.append(times[0])
        flat_times.append(flat_first_arrival(offset, SOURCE_Z))
    taup_times = np.array(taup_times)
    # the reference itself: TauP (spherical) equals the flat-layer formula to 0.2 %
    # (measured < 0.05 %), so Earth flattening does not matter at these offsets
    np.testing.assert_allclose(taup_times, flat_times, rtol=2e-3)

    dx = 10.0  # 13 nodes per P wavelength at the peak frequency in the slowest layer
    grid = Grid(nz=101, nx=321, spacing_z=dx, spacing_x=dx)
    wavelet = Ricker(FREQUENCY)
    source = explosion(SOURCE_X, SOURCE_Z, wavelet)
    receivers = Receivers(SOURCE_X + OFFSETS, np.zeros(len(OFFSETS)))
    result = simulate(medium(), grid, source, receivers, duration=1.2, wave="psv")
    times = np.asarray(result.times)
    vertical = np.asarray(result.traces[:, 1])

    # Reference: the same picker on the far-field 2-D P pulse of a line explosion, the half
    # derivative of the source wavelet (spectrum × (−iω)^½); its onset minus the origin time
    # (0) is the picker's delay.
    n, dt = len(times), times[1] - times[0]
    spectrum = np.fft.rfft(np.asarray(wavelet(result.times)), 4 * n)
    omega = 2.0 * np.pi * np.fft.rfftfreq(4 * n, dt)
    pulse = np.fft.irfft(spectrum * np.sqrt(-1j * omega), 4 * n)[:n]
    delay = onset(pulse, times)

    picked = np.array([onset(trace, times) for trace in vertical]) - delay
    error = np.abs(picked - taup_times) / taup_times
    # issue target: within 2 % of TauP at every offset (measured max 0.5 %, at 1300 m)
    assert np.all(error < 0.02), dict(zip(OFFSETS, np.round(100 * error, 2)))


def test_travel_time_branches_first_arrival_matches_taup(taup_model):
    """`sjax.wave.rays.travel_time_branches` (used for record-section overlays): its first
    arrival equals TauP's to 0.2 % from 100 m to 3 km offset, and the head waves appear only
    beyond their critical offsets."""
    offsets = np.linspace(100.0, 3000.0, 30)
    branches = travel_time_branches(VELOCITY_P, THICKNESS, SOURCE_Z, offsets)
    first = np.nanmin(np.stack(list(branches.values())), axis=0)
    taup = [min(a.time for a in taup_model.get_travel_times(
        source_depth_in_km=SOURCE_Z / 1e3, distance_in_degree=x / 1e3 / KM_PER_DEGREE,
        phase_list=["p", "P", "Pn"])) for x in offsets]  # fmt: skip
    np.testing.assert_allclose(first, taup, rtol=2e-3)
    critical_1 = (2 * THICKNESS[0] - SOURCE_Z) * np.tan(np.arcsin(VELOCITY_P[0] / VELOCITY_P[1]))
    assert np.all(np.isnan(branches["head 1"][offsets < critical_1]))
    assert np.all(np.isfinite(branches["head 1"][offsets >= critical_1]))
    with pytest.raises(ValueError, match="inside the top layer"):
        travel_time_branches(VELOCITY_P, THICKNESS, 400.0, offsets)
