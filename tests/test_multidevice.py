"""Runs tests/multidevice in a fresh process on 8 forced CPU devices."""

import os
import subprocess
import sys
from pathlib import Path

# Eight virtual devices share two busy cores while the other xdist worker runs, so a collective
# can wait a while for its slowest device: the stuck-collective timeouts are raised (the default
# abort came first). A real deadlock (as batched LAPACK calls replicated over the devices once
# caused; see `sjax.aftershock.gp.local_gp_mean`) still aborts, with its stacks, well before
# the subprocess limit.
XLA_FLAGS = (
    "--xla_force_host_platform_device_count=8 "
    "--xla_cpu_collective_call_warn_stuck_timeout_seconds=120 "
    "--xla_cpu_collective_call_terminate_timeout_seconds=240"
)


def test_multidevice_suite_passes_on_eight_cpu_devices():
    env = dict(os.environ, XLA_FLAGS=XLA_FLAGS, PYTHONUNBUFFERED="1")
    folder = Path(__file__).parent / "multidevice"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", str(folder)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    # On a crash, keep the fatal message and stacks, not the list of extension modules after them.
    stderr = done.stderr.split("\nExtension modules:")[0]
    assert done.returncode == 0, done.stdout[-4000:] + stderr[-4000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
