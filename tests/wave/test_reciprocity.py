"""Source–receiver reciprocity in a layered medium with a free surface and C-PML."""

import numpy as np
import pytest

from sjax import LayeredMedium
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate

MEDIUM = LayeredMedium([150.0], [1800.0, 3200.0], [600.0, 1800.0], [1900.0, 2400.0])
GRID = Grid(80, 160, 5.0, 5.0, 20)
A = (150.0, 37.3)  # x, z in m (off-grid)
B = (640.0, 212.9)


def trace(wave, source, receiver, component):
    direction = (0.0, 1.0)
    src = PointForce(*source, Ricker(12.0), direction=direction)
    result = simulate(MEDIUM, GRID, src, Receivers([receiver[0]], [receiver[1]]),
                      duration=0.8, wave=wave)  # fmt: skip
    return np.asarray(result.traces[0, component])


@pytest.mark.parametrize("wave, component", [("sh", 0), ("psv", 1)])
def test_swapping_source_and_receiver_gives_same_trace(wave, component):
    forward = trace(wave, A, B, component)
    backward = trace(wave, B, A, component)
    correlation = np.corrcoef(forward, backward)[0, 1]
    assert correlation > 0.999  # issue target
    assert np.max(np.abs(forward - backward)) / np.max(np.abs(forward)) < 0.02
