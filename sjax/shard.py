"""Device meshes and sharding: the one place in sjax that knows about devices.

sjax shards *batch* axes (replicas, media, shots, likelihood terms) over a 1-D device mesh with
`jax.jit` and `NamedSharding`; the computation itself is written for one batch element and
vmapped. Results are identical to the unsharded computation.
"""

from __future__ import annotations

import jax
from jax.sharding import AxisType, NamedSharding, PartitionSpec

__all__ = ["batch_mesh", "shard_batch", "sharded_vmap", "describe_devices"]

AXIS = "batch"


def batch_mesh(n_devices: int | None = None) -> jax.sharding.Mesh:
    """A 1-D mesh named ``"batch"`` over the first ``n_devices`` devices (default: all)."""
    devices = jax.devices()
    n = len(devices) if n_devices is None else int(n_devices)
    if not 1 <= n <= len(devices):
        raise ValueError(f"n_devices={n_devices} must lie in [1, {len(devices)}]")
    return jax.make_mesh((n,), (AXIS,), axis_types=(AxisType.Auto,), devices=devices[:n])


def shard_batch(tree, mesh: jax.sharding.Mesh):
    """Place every leaf of ``tree`` with its leading axis split over ``mesh``.

    Raises:
        ValueError: if a leading axis is not divisible by the number of devices.
    """
    n = mesh.devices.size

    def place(x):
        x = jax.numpy.asarray(x)
        if x.ndim == 0 or x.shape[0] % n:
            raise ValueError(
                f"leading batch axis of shape {x.shape} must be divisible by {n} devices"
            )
        return jax.device_put(x, NamedSharding(mesh, PartitionSpec(AXIS)))

    return jax.tree.map(place, tree)


def sharded_vmap(fn, mesh: jax.sharding.Mesh | None = None):
    """``jax.vmap(fn)`` over the leading axis of every argument, jitted with the batch axis of
    inputs and outputs sharded over ``mesh`` (default: all devices).

    ``fn`` takes pytrees of arrays; non-array configuration should be closed over. Example:

        >>> traces = sharded_vmap(lambda m: simulate(m, grid, src, rec, duration=1.0,
        ...                                          dt=dt).traces)(media)
    """
    mesh = batch_mesh() if mesh is None else mesh
    batched = jax.jit(jax.vmap(fn))

    def run(*args):
        return batched(*shard_batch(args, mesh))

    return run


def describe_devices() -> str:
    """E.g. ``"cpu x8"``: the platform and number of devices JAX sees."""
    devices = jax.devices()
    platforms = sorted({d.platform for d in devices})
    return " + ".join(f"{p} x{sum(d.platform == p for d in devices)}" for p in platforms)

