"""`run_chain`: warm-up with adaptation, sampling, progress, checkpoint/resume, sharding.

The sweeps run as a Python loop over *chunks*; each chunk is one jitted ``lax.scan`` over the
sweep ``step`` (so a tqdm bar can advance per chunk without host callbacks, and the compiled
chunk is reused from JAX's persistent compilation cache). Sweep ``t`` (counted from 0 over
warm-up and sampling) uses the key ``jax.random.fold_in(key, t)``, so results do not depend on
the chunk boundaries and a resumed run is bit-identical to an uninterrupted one.

Checkpoints are ``.npz`` files without pickle: the flattened leaves of the state, the running
totals and the samples so far, plus a JSON string of metadata (run settings, counters, leaf
shapes). The pytree structure comes from the caller's initial state on resume.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from jax.sharding import NamedSharding, PartitionSpec

from sjax.mcmc.adapt import Adaptation, adapt_state, adaptation
from sjax.mcmc.remc import RemcState, SamplingAlgorithm
from sjax.shard import shard_batch

__all__ = ["ChainResult", "run_chain", "shard_state"]

CHECKPOINT_FORMAT = "sjax.mcmc.run_chain/1"
CHECKPOINT_NAME = "remc_checkpoint.npz"


class ChainResult(NamedTuple):
    """Output of `run_chain`; R replicas, N = n_samples kept sweeps (after thinning)."""

    samples: Any  # pytree of the coldest slot's (η = 1) positions, leaves (N, ...)
    logprior: jax.Array  # (N,) log prior of the samples
    loglikelihood: jax.Array  # (N,) log likelihood of the samples
    loglikelihood_trace: jax.Array | None  # (N, R) log L of every slot, or None
    acceptance: jax.Array  # (R,) mean within-replica acceptance per slot (sampling phase)
    swap_rate: jax.Array  # (R-1,) accepted / attempted swaps per pair (sampling phase)
    swap_probability: jax.Array  # (R-1,) mean swap probability per pair (sampling phase)
    round_trips: jax.Array  # () round trips completed during the sampling phase
    state: RemcState  # final state (ladder and step sizes as adapted in warm-up)


class _Totals(NamedTuple):
    acceptance: jax.Array  # (R,) summed acceptance
    swap_probability: jax.Array  # (R-1,) summed swap probability
    swap_accepted: jax.Array  # (R-1,) int32 count
    swap_attempted: jax.Array  # (R-1,) int32 count
    start_round_trips: jax.Array  # () int32, state.round_trips when sampling began
    warmup_log_step: jax.Array  # (R,) Σ log ε over the second half of warm-up


def shard_state(state: RemcState, mesh: jax.sharding.Mesh) -> RemcState:
    """Split every per-slot field of ``state`` over ``mesh`` (`sjax.shard.shard_batch`);
    the scalars ``round_trips`` and ``parity`` are replicated.

    Raises:
        ValueError: if R is not divisible by the number of devices.
    """
    replicated = NamedSharding(mesh, PartitionSpec())
    scalars = {name: jax.device_put(getattr(state, name), replicated)
               for name in ("round_trips", "parity")}  # fmt: skip
    batched = {name: getattr(state, name) for name in state._fields if name not in scalars}
    return state._replace(**shard_batch(batched, mesh), **scalars)


@partial(jax.jit, static_argnames=("step", "thin", "length", "trace", "mesh"))
def _chunk(key, state, totals, start, adapting, average_from, settings, *, step, thin, length,
           trace, mesh):  # fmt: skip
    """``length`` × ``thin`` sweeps from sweep ``start``, keeping every ``thin``-th state.

    Warm-up (``adapting`` True, a traced flag so that warm-up and sampling share one compiled
    program, as do runs with different ``settings`` values) adapts after every sweep, summing
    log ε from sweep ``average_from`` on;
    sampling accumulates the diagnostics in ``totals``. With a ``mesh`` the ladder update
    runs on replicated arrays, so that its sums do not depend on the device layout.
    """
    replicated = None if mesh is None else NamedSharding(mesh, PartitionSpec())

    def replicate(x):
        return x if replicated is None else jax.lax.with_sharding_constraint(x, replicated)

    def sweep(carry, index):
        state, totals = carry
        state, info = step(jax.random.fold_in(key, index), state)
        if settings is not None:
            info_r = info._replace(swap_probability=replicate(info.swap_probability))
            state_r = state._replace(inverse_temperature=replicate(state.inverse_temperature))
            adapted = adapt_state(state_r, info_r, index, settings)
            adapted = adapted._replace(
                inverse_temperature=replicate(adapted.inverse_temperature))
            state = jax.tree.map(lambda a, b: jnp.where(adapting, a, b), adapted, state)
        summed = totals._replace(
            acceptance=totals.acceptance + info.acceptance,
            swap_probability=totals.swap_probability + info.swap_probability,
            swap_accepted=totals.swap_accepted + info.swap_accepted,
            swap_attempted=totals.swap_attempted + info.swap_attempted,
        )  # fmt: skip
        totals = jax.tree.map(lambda old, new: jnp.where(adapting, old, new), totals, summed)
        averaging = adapting & (index >= average_from)
        totals = totals._replace(warmup_log_step=totals.warmup_log_step
                                 + jnp.where(averaging, jnp.log(state.step_size), 0.0))  # fmt: skip
        return (state, totals), None

    def sample(carry, index):
        carry = jax.lax.scan(sweep, carry, start + index * thin + jnp.arange(thin))[0]
        state = carry[0]
        kept = (jax.tree.map(lambda x: x[-1], state.position), state.logprior[-1],
                state.loglikelihood[-1], state.loglikelihood if trace else None)  # fmt: skip
        return carry, kept

    return jax.lax.scan(sample, (state, totals), jnp.arange(length))


def _key_data(key) -> np.ndarray:
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key)


def _checkpoint_file(checkpoint) -> Path:
    path = Path(checkpoint)
    if path.is_dir() or str(checkpoint).endswith(os.sep):
        path.mkdir(parents=True, exist_ok=True)
        return path / CHECKPOINT_NAME
    return path


def _save(path: Path, meta: dict, state, totals, outputs) -> None:
    arrays = {"meta": np.array(json.dumps(meta))}
    for prefix, tree in (("state", state), ("totals", totals), ("outputs", outputs)):
        for i, leaf in enumerate(jax.tree.leaves(tree)):
            arrays[f"{prefix}_{i}"] = np.asarray(leaf)
    partial_path = path.with_name(path.name + ".partial")
    with open(partial_path, "wb") as file:
        np.savez(file, **arrays)
    os.replace(partial_path, path)  # atomic: an interrupted save leaves the old checkpoint


def _load(path: Path, expected: dict, state, totals, outputs):
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        for name, value in expected.items():
            if meta.get(name) != value:
                raise ValueError(f"checkpoint {path} has {name}={meta.get(name)!r}, but this "
                                 f"run has {name}={value!r}")  # fmt: skip

        def restore(prefix, tree):
            leaves, treedef = jax.tree.flatten(tree)
            return treedef.unflatten([data[f"{prefix}_{i}"] for i in range(len(leaves))])

        return meta, restore("state", state), restore("totals", totals), \
            restore("outputs", outputs)  # fmt: skip


def run_chain(key, algorithm_or_step, state: RemcState, n_samples: int, *, n_warmup: int = 0,
              thin: int = 1, adapt: bool | Adaptation = True, progress: bool = False,
              checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1000,
              mesh: jax.sharding.Mesh | None = None, trace_loglikelihood: bool = True,
              callback: Callable[[int, int], None] | None = None) -> ChainResult:  # fmt: skip
    """Run ``n_warmup`` adapting sweeps, then ``n_samples × thin`` sweeps keeping every
    ``thin``-th state of the coldest slot.

    Args:
        key: PRNG key; sweep t uses ``jax.random.fold_in(key, t)``.
        algorithm_or_step: a `SamplingAlgorithm` or its ``step(key, state)``.
        state: initial `RemcState` (on resume it supplies the pytree structure).
        n_samples: number of kept samples N >= 1.
        n_warmup: warm-up sweeps (adapting when ``adapt``), discarded.
        thin: sweeps per kept sample, >= 1.
        adapt: True (defaults of `sjax.mcmc.adaptation` for the step's kernel), False, or an
            `Adaptation`. Adaptation runs during warm-up only; sampling uses the geometric
            mean of each slot's step size over the second half of warm-up.
        progress: show a tqdm bar over sweeps (advanced per chunk).
        checkpoint: ``.npz`` path or directory (then ``remc_checkpoint.npz`` in it): saved
            after every chunk; if it exists when the run starts, the run resumes from it (an
            already complete checkpoint returns at once).
        checkpoint_every: sweeps per chunk, checkpointed or not (rounded down to a multiple
            of ``thin``, also in warm-up when ``thin`` divides ``n_warmup``).
        mesh: shard the replica axis over this mesh (`shard_state`); results equal the
            unsharded run.
        trace_loglikelihood: keep the ``(N, R)`` log likelihoods of all slots (for
            `sjax.mcmc.evidence`).
        callback: called as ``callback(sweeps_done, total_sweeps)`` after each chunk (and
            after its checkpoint is written).

    Returns:
        A `ChainResult`; the diagnostics cover the sampling phase.

    Raises:
        ValueError: for non-positive counts, or a checkpoint written by a different run (other
            key, settings or state shapes).
    """
    counts = (("n_samples", n_samples, 1), ("n_warmup", n_warmup, 0), ("thin", thin, 1),
              ("checkpoint_every", checkpoint_every, 1))  # fmt: skip
    for name, value, low in counts:
        if int(value) != value or value < low:
            raise ValueError(f"{name}={value} must be an integer >= {low}")
    step = algorithm_or_step.step if isinstance(algorithm_or_step, SamplingAlgorithm) \
        else algorithm_or_step  # fmt: skip
    if adapt is True:
        settings = adaptation(getattr(step, "kernel", "rwm"))
    else:
        settings = adapt or None
    if mesh is not None:
        state = shard_state(state, mesh)
    # chunks of `length` units of `unit` sweeps; warm-up uses the sampling unit when it can, so
    # that both phases run one compiled program
    per_chunk = max(1, checkpoint_every // thin)
    unit = thin if n_warmup % thin == 0 else 1
    warmup_per_chunk = per_chunk if unit == thin else checkpoint_every
    n_units = n_warmup // unit
    chunks = [("warmup", s * unit, min(warmup_per_chunk, n_units - s), unit)
              for s in range(0, n_units, warmup_per_chunk)]  # fmt: skip
    chunks += [("sample", s, min(per_chunk, n_samples - s), thin)
               for s in range(0, n_samples, per_chunk)]  # fmt: skip
    total_sweeps = n_warmup + n_samples * thin
    n = state.inverse_temperature.shape[0]
    zeros = jnp.zeros(n - 1, state.step_size.dtype)
    totals = _Totals(jnp.zeros(n, state.step_size.dtype), zeros,
                     jnp.zeros(n - 1, jnp.int32), jnp.zeros(n - 1, jnp.int32),
                     state.round_trips, jnp.zeros(n, state.step_size.dtype))  # fmt: skip
    kept_shapes = jax.eval_shape(
        partial(_chunk, step=step, thin=1, length=1, trace=trace_loglikelihood, mesh=mesh),
        key, state, totals, 0, False, 0, settings,
    )[1]  # fmt: skip
    average_from = n_warmup // 2
    outputs = jax.tree.map(lambda s: np.zeros((n_samples,) + s.shape[1:], s.dtype), kept_shapes)

    done = 0
    path = None if checkpoint is None else _checkpoint_file(checkpoint)
    expected = {
        "format": CHECKPOINT_FORMAT, "n_warmup": int(n_warmup), "n_samples": int(n_samples),
        "thin": int(thin), "checkpoint_every": int(checkpoint_every),
        "trace_loglikelihood": bool(trace_loglikelihood), "key": _key_data(key).tolist(),
        "adapt": None if settings is None else list(settings),
        "state_shapes": [list(np.shape(x)) for x in jax.tree.leaves(state)],
    }  # fmt: skip
    if path is not None and path.exists():
        meta, state, totals, outputs = _load(path, expected, state, totals, outputs)
        done = meta["chunks_done"]
        state = jax.tree.map(jnp.asarray, state)
        totals = jax.tree.map(jnp.asarray, totals)
        if mesh is not None:
            state = shard_state(state, mesh)

    sweeps_done = sum(length * unit for _, _, length, unit in chunks[:done])
    with tqdm.tqdm(total=total_sweeps, initial=sweeps_done, disable=not progress,
                   desc="remc", unit="sweep") as bar:  # fmt: skip
        for index in range(done, len(chunks)):
            phase, start, length, unit = chunks[index]
            warmup = phase == "warmup"
            if not warmup and start == 0:
                totals = totals._replace(start_round_trips=state.round_trips)
                if settings is not None and n_warmup > 0:  # Polyak average of the warm-up
                    averaged = totals.warmup_log_step / (n_warmup - average_from)
                    state = state._replace(step_size=jnp.exp(averaged))
            first = start if warmup else n_warmup + start * thin
            (state, totals), kept = _chunk(
                key, state, totals, first, warmup, average_from, settings, step=step,
                thin=unit, length=length, trace=trace_loglikelihood, mesh=mesh,
            )  # fmt: skip
            sweeps = length * unit
            if not warmup:
                for out, new in zip(jax.tree.leaves(outputs), jax.tree.leaves(kept)):
                    out[start : start + length] = np.asarray(new)
            sweeps_done += sweeps
            if path is not None:
                _save(path, dict(expected, chunks_done=index + 1, sweeps_done=sweeps_done),
                      state, totals, outputs)  # fmt: skip
            bar.update(sweeps)
            if callback is not None:
                callback(sweeps_done, total_sweeps)

    samples, logprior, loglikelihood, trace = jax.tree.map(jnp.asarray, outputs)
    n_sampling = n_samples * thin
    return ChainResult(
        samples=samples, logprior=logprior, loglikelihood=loglikelihood,
        loglikelihood_trace=trace, acceptance=totals.acceptance / n_sampling,
        swap_rate=totals.swap_accepted / jnp.maximum(totals.swap_attempted, 1),
        swap_probability=totals.swap_probability / n_sampling,
        round_trips=state.round_trips - totals.start_round_trips, state=state,
    )  # fmt: skip
