"""4th-order staggered-grid first derivatives.

A field lives, along each axis, either on nodes ``i`` or on half-nodes ``i + 1/2`` (stored at
index ``i``). The derivative of a node field is taken at half-nodes (``forward``) and that of a
half-node field at nodes (``backward``). With zero ghost values the two are exact negative
transposes, ``backward = −forwardᵀ``, which makes the stiffness operator
``−backward ∘ C ∘ forward`` symmetric and the leapfrog scheme conserve a discrete energy
exactly.

At the free surface (the start of axis 0) the ghost rows are mirror images about node row 0:
``f[−k] = ±f[k]`` for node fields and ``g[−1−k] = ±g[k]`` for half-node fields. The even-node /
odd-half pair is again an exact negative transpose under the node weights (1/2 on the surface
row, 1 elsewhere).

For speed, a field is padded once (`pad`, both axes, ghost values included) and every
derivative of it is a combination of shifted slices of that one buffer (`derivative`). The
padded buffer sits behind an optimisation barrier so XLA materialises it once instead of
re-padding for every slice.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sjax.wave.grid import FD_COEFFICIENTS

__all__ = [
    "pad", "derivative", "forward", "backward", "forward_transpose", "backward_transpose",
]  # fmt: skip

C1, C2 = FD_COEFFICIENTS
# ghost cells (before, after) of each field kind; "none" for an axis that is not differentiated
_GHOSTS = {"node": (1, 2), "half": (2, 1), "none": (0, 0)}


def pad(field: jax.Array, kinds: tuple[str, str], top: str = "zero") -> jax.Array:
    """Ghost-padded copy of a 2-D field, ready for `derivative` along either axis.

    Args:
        field: ``(nz, nx)`` array.
        kinds: ``(kind_z, kind_x)``, each ``"node"`` (ghosts 1 before, 2 after), ``"half"``
            (2 before, 1 after), saying where the field lives along that axis, or ``"none"``
            (no ghosts; the field will not be differentiated along that axis).
        top: ghosts before row 0: ``"zero"``, or the ``"even"``/``"odd"`` mirror image about
            node row 0 (a free surface).

    Returns:
        ``(nz + 3, nx + 3)`` array (no extra size along a ``"none"`` axis).
    """
    for kind in kinds:
        if kind not in _GHOSTS:
            raise ValueError(f"kind={kind!r} must be 'node', 'half' or 'none'")
    padded = jnp.pad(field, [_GHOSTS[k] for k in kinds])
    if top in ("even", "odd") and kinds[0] != "none":
        sign = 1.0 if top == "even" else -1.0
        if kinds[0] == "node":  # padded row 0 is row -1, the image of row 1 (padded row 2)
            padded = jnp.concatenate([sign * padded[2:3], padded[1:]], axis=0)
        else:  # padded rows 0, 1 are rows -2, -1: images of rows 1, 0 (padded rows 3, 2)
            padded = jnp.concatenate([sign * padded[3:4], sign * padded[2:3], padded[2:]], 0)
    elif top != "zero":
        raise ValueError(f"top={top!r} must be 'zero', 'even' or 'odd'")
    return _materialise(padded)


@jax.custom_jvp
def _materialise(x: jax.Array) -> jax.Array:
    """Identity that makes XLA compute ``x`` once (optimisation barrier) in the primal program.

    Its derivative is the plain identity, so linearised and transposed programs (gradients,
    Hessian-vector products) stay free for XLA to fuse.
    """
    return jax.lax.optimization_barrier(x)


@_materialise.defjvp
def _materialise_jvp(primals, tangents):
    return _materialise(primals[0]), tangents[0]


def derivative(padded: jax.Array, kinds: tuple[str, str], axis: int, spacing: float):
    """Derivative along ``axis`` of a field padded by `pad` with the same ``kinds``.

    Node fields are differentiated onto half-nodes, half-node fields onto nodes; in both cases
    ``d[i] = (C1·(f[i⁺] − f[i⁻]) + C2·(f[i⁺ + 1] − f[i⁻ − 1])) / spacing`` with the two nearest
    samples ``i⁻ < i⁺``, which in the padded buffer are the same slices for both kinds.

    Returns:
        ``(nz, nx)`` array.
    """
    n = [size - sum(_GHOSTS[kind]) for size, kind in zip(padded.shape, kinds)]
    other = 1 - axis
    start_other = _GHOSTS[kinds[other]][0]
    cut = lambda a, start: jax.lax.slice_in_dim(  # noqa: E731
        jax.lax.slice_in_dim(a, start, start + n[axis], axis=axis),
        start_other, start_other + n[other], axis=other,
    )  # fmt: skip
    return (C1 * (cut(padded, 2) - cut(padded, 1)) + C2 * (cut(padded, 3) - cut(padded, 0))) / (
        spacing
    )


def _one_axis(field, axis, spacing, top, kind):
    kinds = (kind, "none") if axis == 0 else ("none", kind)
    return derivative(pad(field, kinds, top if axis == 0 else "zero"), kinds, axis, spacing)


def forward(field: jax.Array, axis: int, spacing: float, top: str = "zero") -> jax.Array:
    """Derivative at half-nodes of a 2-D node field along ``axis`` (same shape).

    ``top`` is the ghost rule before row 0 when ``axis == 0`` (see `pad`).
    """
    return _one_axis(field, axis, spacing, top, "node")


def backward(field: jax.Array, axis: int, spacing: float, top: str = "zero") -> jax.Array:
    """Derivative at nodes of a 2-D half-node field along ``axis`` (same shape)."""
    return _one_axis(field, axis, spacing, top, "half")


def _mirror_sign(top: str) -> float:
    if top not in ("zero", "even", "odd"):
        raise ValueError(f"top={top!r} must be 'zero', 'even' or 'odd'")
    return {"zero": 0.0, "even": 1.0, "odd": -1.0}[top]


def forward_transpose(
    field: jax.Array, axis: int, spacing: float, top: str = "zero"
) -> jax.Array:
    """Transpose of `forward` (half-node field in, node field out; same shape).

    With zero ghosts ``forwardᵀ = −backward``. A mirror top (``f[−1] = s·f[1]``) adds one
    boundary entry to `forward` (half row 0, node row 1, weight ``−C2·s/spacing``), whose
    transpose lands on node row 1.
    """
    out = -backward(field, axis, spacing, "zero")
    sign = _mirror_sign(top) if axis == 0 else 0.0
    if sign:
        out = out.at[1].add(-C2 * sign / spacing * field[0])
    return out


def backward_transpose(
    field: jax.Array, axis: int, spacing: float, top: str = "zero"
) -> jax.Array:
    """Transpose of `backward` (node field in, half-node field out; same shape).

    With zero ghosts ``backwardᵀ = −forward``. A mirror top (``g[−1−k] = s·g[k]``) adds the
    boundary entries ``(0, 0): −C1·s``, ``(0, 1)`` and ``(1, 0)``: ``−C2·s`` (over ``spacing``), a
    symmetric block, so its transpose is itself.
    """
    out = -forward(field, axis, spacing, "zero")
    sign = _mirror_sign(top) if axis == 0 else 0.0
    if sign:
        scale = -sign / spacing
        out = out.at[0].add(scale * (C1 * field[0] + C2 * field[1]))
        out = out.at[1].add(scale * C2 * field[0])
    return out
