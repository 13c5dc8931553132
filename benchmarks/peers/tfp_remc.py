"""TensorFlow Probability's ``ReplicaExchangeMC`` (JAX substrate) on the REMC benchmark target.

Peer of ``benchmarks/remc.py``, run in its own virtual environment (TFP is not an sjax
dependency): ``/work/peer-tfp/bin/python benchmarks/peers/tfp_remc.py CONFIG_JSON OUT_NPY``.
CONFIG_JSON holds the target (dimension, modes, weights, prior scale), the ladder (ascending,
as in sjax), per-slot step sizes, the sweep counts and the seeds of the independent chains. The
cold-chain samples (n_chains, n_samples, D) are saved to OUT_NPY; one JSON line with the
summed time of the chains (best of ``repeats`` compiled calls each, after an untimed compiling
one) and TFP's version goes to stdout.

Same algorithm as sjax's: random-walk Metropolis within each replica (per-replica Gaussian scale),
the prior untempered (``untempered_log_prob_fn`` / ``tempered_log_prob_fn``), and one exchange
sweep per step over alternating even/odd neighbour pairs (``even_odd_swap_proposal_fn(1.)``).
TFP orders replicas cold first, so the ladder and step sizes are reversed.
"""

import json
import sys
import time

import jax
import jax.core
import jax.interpreters.xla
import jax.numpy as jnp
import numpy as np

# TFP 0.25's JAX substrate still looks up jax.interpreters.xla.pytype_aval_mappings
jax.interpreters.xla.pytype_aval_mappings = jax.core.pytype_aval_mappings
import tensorflow_probability as tfp_package  # noqa: E402
from tensorflow_probability.substrates import jax as tfp  # noqa: E402


def main(config_path: str, out_path: str) -> None:
    config = json.loads(open(config_path).read())
    modes = jnp.asarray(config["modes"], jnp.float32)  # (2, D)
    log_weights = jnp.log(jnp.asarray(config["weights"], jnp.float32))
    prior_scale = config["prior_scale"]

    def logprior(x):  # x (..., D)
        return -0.5 * jnp.sum((x / prior_scale) ** 2, axis=-1)

    def loglikelihood(x):
        squared = jnp.sum((x[..., None, :] - modes) ** 2, axis=-1)  # (..., 2)
        return jax.scipy.special.logsumexp(log_weights - 0.5 * squared, axis=-1)

    ladder = jnp.asarray(config["ladder"][::-1], jnp.float32)  # cold first
    scale = jnp.asarray(config["step_size"][::-1], jnp.float32)[:, None]

    def make_kernel_fn(target_log_prob_fn):
        return tfp.mcmc.RandomWalkMetropolis(
            target_log_prob_fn, new_state_fn=tfp.mcmc.random_walk_normal_fn(scale=scale))

    kernel = tfp.mcmc.ReplicaExchangeMC(
        target_log_prob_fn=None, untempered_log_prob_fn=logprior,
        tempered_log_prob_fn=loglikelihood,
        inverse_temperatures=ladder, make_kernel_fn=make_kernel_fn,
        swap_proposal_fn=tfp.mcmc.even_odd_swap_proposal_fn(1.0),
    )
    initial = jnp.asarray(config["initial"], jnp.float32)  # (D,): TFP replicates it

    @jax.jit
    def sample(seed):
        return tfp.mcmc.sample_chain(
            num_results=config["n_samples"], current_state=initial, kernel=kernel,
            num_burnin_steps=config["n_warmup"], trace_fn=None, seed=seed,
        )

    start = time.perf_counter()
    jax.block_until_ready(sample(jax.random.PRNGKey(config["seeds"][0])))
    first = time.perf_counter() - start
    chains, seconds = [], 0.0
    for seed in config["seeds"]:
        times = []
        for _ in range(config["repeats"]):  # best of `repeats`: the machine may be shared
            start = time.perf_counter()
            draws = jax.block_until_ready(sample(jax.random.PRNGKey(seed)))
            times.append(time.perf_counter() - start)
        chains.append(np.asarray(draws))
        seconds += min(times)
    np.save(out_path, np.stack(chains))
    print(json.dumps({"tfp": tfp_package.__version__, "jax": jax.__version__,
                      "seconds": seconds, "first_call_seconds": first}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
