"""Grad-CAM heat maps for `TremorResNet` and their quantitative localisation scores.

Grad-CAM (Selvaraju et al. 2017; METHODS.md §4): for a conv activation ``A`` of shape
``(h, w, K)`` and a target logit ``y_c``,

    α_k = (1 / hw) Σ_ij ∂y_c / ∂A^k_ij,        L = ReLU(Σ_k α_k A^k),

upsampled bilinearly to the input size and divided by its maximum per image. The gradient is
taken by `TremorResNet.probe`: a zero perturbation is added to the activation at the chosen
layer and the logit is differentiated with respect to it, so any layer of `conv_layer_names`
works (``"stage4"``, the last conv block, is the usual choice; earlier layers give finer but
less class-specific maps). Batch-norm uses its running statistics (inference mode), whatever the
model's mode; the model is not modified.

`localisation_scores` compares heat maps with ground-truth tremor masks (pointing game and IoU
of the top-q % pixels); `plot_gradcam` draws an overlay.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax.detect.resnet import TremorResNet

__all__ = [
    "grad_cam",
    "LocalisationScores",
    "localisation_scores",
    "plot_gradcam",
]


def grad_cam(
    model: TremorResNet,
    images: jax.Array,
    *,
    layer: str = "stage4",
    target_class: int | jax.Array = 1,
) -> jax.Array:
    """Grad-CAM heat maps of ``target_class`` at a conv ``layer``, at the input resolution.

    Pure and jit/vmap-friendly (``nnx.jit(grad_cam, static_argnames="layer")``, or close over
    the model in ``jax.jit`` / ``jax.vmap``); costs one forward and one backward pass.

    Args:
        model: a `TremorResNet` (evaluated with batch-norm running statistics).
        images: ``(b, H, W)`` or ``(b, H, W, 1)`` float images in ``[0, 1]`` (1 = ink).
        layer: activation to explain, one of `sjax.detect.resnet.conv_layer_names`.
        target_class: logit index to explain (1 = tremor), an int or an int array ``(b,)``
            giving one class per image.

    Returns:
        ``(b, H, W)`` heat maps in ``[0, 1]``, dtype of the activations (float32 by default):
        each map divided by its maximum; a map that is zero everywhere (no positive evidence)
        stays zero.

    Raises:
        ValueError: for an unknown ``layer``, bad image shapes (see `TremorResNet`), an int
            ``target_class`` outside ``[0, num_classes)`` or a class array not of shape ``(b,)``.
        TypeError: for a model that is not a `TremorResNet` or non-float images.
    """
    if not isinstance(model, TremorResNet):
        raise TypeError(f"model must be a TremorResNet, got {type(model).__name__}")
    images = jnp.asarray(images)
    batch = images.shape[0] if images.ndim >= 1 else 0
    if isinstance(target_class, (int, np.integer)) and not 0 <= target_class < model.num_classes:
        raise ValueError(f"target_class={target_class} must lie in [0, {model.num_classes})")
    target = jnp.asarray(target_class)
    if not jnp.issubdtype(target.dtype, jnp.integer) or target.ndim not in (0, 1):
        raise ValueError(
            f"target_class must be an int or an integer array of shape ({batch},), got "
            f"shape {target.shape} and dtype {target.dtype}"
        )
    if target.ndim == 1 and target.shape != (batch,):
        raise ValueError(f"target_class has shape {target.shape}, expected ({batch},)")
    target = jnp.broadcast_to(target, (batch,))

    activation = jax.eval_shape(
        lambda x: model.probe(x, layer, use_running_average=True)[1], images
    )

    def target_logit(perturbation):
        logits, acts = model.probe(images, layer, perturbation, use_running_average=True)
        return jnp.sum(jnp.take_along_axis(logits, target[:, None], axis=1)), acts

    zero = jnp.zeros(activation.shape, activation.dtype)
    grads, acts = jax.grad(target_logit, has_aux=True)(zero)
    alpha = jnp.mean(grads, axis=(1, 2))  # (b, K)
    cam = jax.nn.relu(jnp.einsum("bhwk,bk->bhw", acts, alpha))
    cam = jax.image.resize(cam, (cam.shape[0],) + tuple(images.shape[1:3]), method="linear")
    peak = jnp.max(cam, axis=(1, 2), keepdims=True)
    cam = jnp.where(peak > 0, cam / jnp.where(peak > 0, peak, 1), 0)
    return jnp.clip(cam, 0, 1)


class LocalisationScores(NamedTuple):
    """Per-image localisation scores of heat maps against masks (arrays of shape ``(b,)``)."""

    pointing_hit: jax.Array  # bool: arg-max pixel of the map inside the (dilated) mask
    iou: jax.Array  # float32: |top-q % pixels ∩ mask| / |top-q % pixels ∪ mask|
    has_mask: jax.Array  # bool: mask not empty (empty masks give hit False, IoU 0)


def localisation_scores(
    heatmaps: jax.Array,
    masks: jax.Array,
    *,
    top_fraction: float = 0.05,
    tolerance_pixels: int = 0,
) -> LocalisationScores:
    """Pointing game and top-q % IoU of heat maps against ground-truth masks.

    - Pointing game: a hit when the heat map's arg-max pixel (first in raster order on ties)
      lies in the mask dilated by ``tolerance_pixels`` (a square of half-width
      ``tolerance_pixels``, i.e. Chebyshev distance).
    - IoU: the ``k = max(1, round(top_fraction · H · W))`` highest pixels of the map (ties broken
      by raster order, so exactly ``k`` pixels) against the undilated mask.

    Average over images with ``has_mask`` (a crop without tremor has nothing to point at).
    Pure and jit/vmap-friendly.

    Args:
        heatmaps: ``(b, H, W)`` float heat maps (e.g. from `grad_cam`; any scale).
        masks: ``(b, H, W)`` masks, bool or numeric (non-zero = tremor).
        top_fraction: fraction q of pixels in the top region, in ``(0, 1]``.
        tolerance_pixels: dilation of the mask for the pointing game, an int >= 0 (pixels).

    Returns:
        `LocalisationScores` with ``pointing_hit`` (bool), ``iou`` (float32) and ``has_mask``
        (bool), each of shape ``(b,)``.

    Raises:
        ValueError: for shapes that are not equal ``(b, H, W)``, ``top_fraction`` outside
            ``(0, 1]`` or a negative / non-integer ``tolerance_pixels``.
    """
    heatmaps = jnp.asarray(heatmaps)
    masks = jnp.asarray(masks)
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (batch, H, W), got {heatmaps.shape}")
    if masks.shape != heatmaps.shape:
        raise ValueError(
            f"masks must have the heatmaps' shape {heatmaps.shape}, got {masks.shape}"
        )
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction={top_fraction} must lie in (0, 1]")
    if not isinstance(tolerance_pixels, int) or tolerance_pixels < 0:
        raise ValueError(f"tolerance_pixels={tolerance_pixels} must be an integer >= 0")
    b, height, width = heatmaps.shape
    inside = masks != 0
    window = 2 * tolerance_pixels + 1
    dilated = jax.lax.reduce_window(
        inside, False, jax.lax.bitwise_or, (1, window, window), (1, 1, 1), "SAME"
    )
    flat = heatmaps.reshape(b, -1)
    peak = jnp.argmax(flat, axis=1)
    hit = jnp.take_along_axis(dilated.reshape(b, -1), peak[:, None], axis=1)[:, 0]

    k = max(1, round(top_fraction * height * width))
    _, top = jax.lax.top_k(flat, k)
    rows = jnp.arange(b)[:, None]
    top_region = jnp.zeros(flat.shape, bool).at[rows, top].set(True)
    flat_mask = inside.reshape(b, -1)
    intersection = jnp.sum(top_region & flat_mask, axis=1)
    union = jnp.sum(top_region | flat_mask, axis=1)
    iou = (intersection / union).astype(jnp.float32)  # union >= k >= 1
    return LocalisationScores(pointing_hit=hit, iou=iou, has_mask=jnp.any(flat_mask, axis=1))


def plot_gradcam(image, heatmap, mask=None, ax=None, *, alpha: float = 0.45, title=None):
    """Overlay a Grad-CAM heat map (and optionally a mask outline) on a grey-scale image.

    Args:
        image: ``(H, W)`` or ``(H, W, 1)`` image in ``[0, 1]`` (1 = ink, drawn dark).
        heatmap: ``(H, W)`` heat map in ``[0, 1]`` (drawn with the ``"jet"`` colour map).
        mask: optional ``(H, W)`` ground-truth mask (non-zero = tremor), outlined in white.
        ax: matplotlib ``Axes`` to draw on (a new figure when ``None``).
        alpha: opacity of the heat map, in ``[0, 1]``.
        title: optional axes title.

    Returns:
        The matplotlib ``Axes`` drawn on.

    Raises:
        ValueError: for mismatched shapes or ``alpha`` outside ``[0, 1]``.
    """
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    heatmap = np.asarray(heatmap)
    if image.ndim != 2:
        raise ValueError(f"image must have shape (H, W) or (H, W, 1), got {image.shape}")
    if heatmap.shape != image.shape:
        raise ValueError(f"heatmap must have the image's shape {image.shape}, got {heatmap.shape}")
    if mask is not None and np.shape(mask) != image.shape:
        raise ValueError(f"mask must have the image's shape {image.shape}, got {np.shape(mask)}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha={alpha} must lie in [0, 1]")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.imshow(heatmap, cmap="jet", vmin=0, vmax=1, alpha=alpha, interpolation="bilinear")
    if mask is not None and np.any(mask):
        ax.contour(np.asarray(mask) != 0, levels=[0.5], colors="white", linewidths=1.0)
    if title is not None:
        ax.set_title(title)
    ax.set_axis_off()
    return ax
