"""Checkpoint/resume of `run_chain`: in process, and after interrupting a real process."""

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

SCRIPT = textwrap.dedent('''
    """A small REMC run with a checkpoint; ``python run_remc.py CHECKPOINT`` prints a line per
    chunk and waits 1 s after each from the fourth on (time for the test to interrupt it)."""
    import sys
    import time

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    from sjax import mcmc
    from sjax.cache import enable_compilation_cache

    enable_compilation_cache(min_compile_seconds=0.2)


    def logprior(x):
        return -0.5 * jnp.sum(x**2)


    def loglikelihood(x):
        return jnp.logaddexp(-2.0 * jnp.sum((x - 1.5) ** 2), -2.0 * jnp.sum((x + 1.5) ** 2))


    ALGORITHM = mcmc.replica_exchange(logprior, loglikelihood, mcmc.geometric_ladder(4, 0.05),
                                      step_size=0.5)
    N_CHUNKS = 2 + 6  # 200 warm-up sweeps and 300 samples × thin 2, 100 sweeps per chunk


    def run(checkpoint=None, callback=None, n_samples=300):
        state = ALGORITHM.init(jnp.zeros((4, 2)))
        return mcmc.run_chain(jax.random.key(7), ALGORITHM, state, n_samples, n_warmup=200,
                              thin=2, checkpoint=checkpoint, checkpoint_every=100,
                              callback=callback)


    if __name__ == "__main__":
        import signal

        # a background parent (nohup, `cmd &`) may start us with SIGINT ignored: restore Python's
        # KeyboardInterrupt handler, which the test's SIGINT must reach
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def report(done, total):
            print(f"chunk {done}/{total}", flush=True)
            if done >= 400:
                time.sleep(1.0)

        run(sys.argv[1], report)
        print("finished", flush=True)
''')


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("remc") / "run_remc.py"
    path.write_text(SCRIPT)
    spec = importlib.util.spec_from_file_location("run_remc", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path, module.run()  # the uninterrupted reference


def assert_identical(a, b):
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_checkpointed_run_equals_plain_run_and_resumes_without_extra_sweeps(script, tmp_path):
    module, _, reference = script
    calls = []
    checkpoint = tmp_path / "chain.npz"
    first = module.run(checkpoint, lambda done, total: calls.append(done))
    assert calls == [100, 200, 300, 400, 500, 600, 700, 800] and checkpoint.exists()
    assert_identical(first, reference)
    calls.clear()
    again = module.run(checkpoint, lambda done, total: calls.append(done))
    assert calls == []  # complete checkpoint: nothing recomputed
    assert_identical(again, reference)
    with pytest.raises(ValueError, match="has n_samples=300, but this run has n_samples=200"):
        module.run(checkpoint, n_samples=200)
    # a directory works too (file remc_checkpoint.npz inside)
    module.run(tmp_path)
    assert (tmp_path / "remc_checkpoint.npz").exists()


def test_interrupted_process_resumes_bit_identical(script, tmp_path):
    module, path, reference = script
    checkpoint = tmp_path / "chain.npz"
    process = subprocess.Popen([sys.executable, str(path), str(checkpoint)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))  # fmt: skip
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.startswith("chunk 400/"):
            process.send_signal(signal.SIGINT)  # KeyboardInterrupt while it waits
            break
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr, (lines, stderr[-2000:])
    assert lines[-1] == "chunk 400/800"
    calls = []
    resumed = module.run(checkpoint, lambda done, total: calls.append(done))
    assert calls == [500, 600, 700, 800]  # continued after the four saved chunks
    assert_identical(resumed, reference)
