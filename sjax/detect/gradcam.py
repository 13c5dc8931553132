"""Grad-CAM heat maps for `TremorResNet` and their quantitative localisation scores.

Grad-CAM (Selvaraju et al. 2017, ICCV): for a conv activation ``A`` of shape
``(h, w, K)`` and a target logit ``y_c``,

    α_k = (1 / hw) Σ_ij ∂y_c / ∂A^k_ij,        L = ReLU(Σ_k α_k A^k),

upsampled bilinearly to the input size and divided by its maximum per image. The gradient is
taken by `TremorResNet.probe`: a zero perturbation is added to the activation at the chosen
layer and the logit is differentiated with respect to it, so any layer of `conv_layer_names`
works (``"stage4"``, the last conv block, is the usual choice; earlier layers give finer but
less class-specific maps). Batch-norm uses its running statistics (inference mode), whatever the
model's mode; the model is not modified.

`page_grad_cam` explains a whole drum page (larger than the network's crops): it slides crops
over the page, keeps the Grad-CAM evidence of the crops called tremor, and takes the strongest
evidence at every pixel — the page-level "where is the tremor" map. `localisation_scores`
compares heat maps with ground-truth tremor masks (pointing game and IoU of the top-q % pixels);
`plot_gradcam` draws an overlay.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sjax._arrays import is_concrete
from sjax.detect.resnet import TremorResNet

__all__ = [
    "grad_cam",
    "PageHeatmaps",
    "page_grad_cam",
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
    normalize: bool = True,
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
        normalize: divide each map by its maximum (the default). ``False`` keeps the raw
            ``ReLU(Σ_k α_k A^k)`` in logit units per activation pixel, comparable across images.

    Returns:
        ``(b, H, W)`` heat maps, dtype of the activations (float32 by default): in ``[0, 1]``
        when ``normalize`` (a map that is zero everywhere — no positive evidence — stays zero),
        else non-negative raw values.

    Raises:
        ValueError: for an unknown ``layer``, bad image shapes (see `TremorResNet`), an int
            ``target_class`` outside ``[0, num_classes)`` or a class array not of shape ``(b,)``.
        TypeError: for a model that is not a `TremorResNet` or non-float images.
    """
    cam, _ = _cam_and_logits(model, images, layer, target_class)
    return _unit_peak(cam) if normalize else cam


def _unit_peak(maps: jax.Array) -> jax.Array:
    """Each ``(H, W)`` map of ``(b, H, W)`` divided by its maximum; all-zero maps stay zero."""
    peak = jnp.max(maps, axis=(1, 2), keepdims=True)
    return jnp.clip(jnp.where(peak > 0, maps / jnp.where(peak > 0, peak, 1), 0), 0, 1)


def _cam_and_logits(model, images, layer, target_class):
    """Raw (unnormalised, upsampled) Grad-CAM maps ``(b, H, W)`` and the logits ``(b, C)``."""
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
        chosen = jnp.take_along_axis(logits, target[:, None], axis=1)
        return jnp.sum(chosen), (acts, logits)

    zero = jnp.zeros(activation.shape, activation.dtype)
    grads, (acts, logits) = jax.grad(target_logit, has_aux=True)(zero)
    alpha = jnp.mean(grads, axis=(1, 2))  # (b, K)
    cam = jax.nn.relu(jnp.einsum("bhwk,bk->bhw", acts, alpha))
    cam = jax.image.resize(cam, (cam.shape[0],) + tuple(images.shape[1:3]), method="linear")
    return cam, logits


class PageHeatmaps(NamedTuple):
    """Output of `page_grad_cam` for ``n`` pages of ``H × W`` pixels and ``m`` crops per page."""

    heatmaps: jax.Array  # (n, H, W) in [0, 1]; all zero on a page with no crop called tremor
    probability: jax.Array  # (n,) the largest crop tremor probability on the page
    crop_probabilities: jax.Array  # (n, m) tremor probability of every crop
    origins: jax.Array  # (m, 2) int32 (row, column) of each crop's top-left pixel


def _grid(length: int, size: int, stride: int) -> list[int]:
    starts = list(range(0, length - size + 1, stride))
    return starts if starts[-1] == length - size else starts + [length - size]


def page_grad_cam(
    model: TremorResNet,
    pages: jax.Array,
    *,
    size: int = 128,
    stride: int | None = None,
    layer: str = "stage3",
    threshold: float = 0.5,
    batch_size: int = 256,
) -> PageHeatmaps:
    """Page-level Grad-CAM: where on a whole drum page the ResNet sees tremor.

    ``size``² crops on a grid of step ``stride`` (plus a last row/column flush with the page
    edge, so every pixel is covered) are classified and explained by the raw Grad-CAM of the
    tremor logit (`grad_cam` with ``normalize=False``, comparable between crops). Crops with
    tremor probability ≤ ``threshold`` contribute nothing; every pixel takes the largest
    evidence of the crops covering it, and each page map is divided by its maximum. Overlapping
    crops (``stride < size``) place tremor near a crop edge in the middle of another crop, where
    the network sees its context.

    Pure and jit-friendly (``nnx.jit(page_grad_cam, static_argnames=("size", "stride",
    "layer", "batch_size"))``); crops go through the network ``batch_size`` at a time.

    Args:
        model: a `TremorResNet` trained on ``size``² crops (batch-norm running statistics).
        pages: ``(n, H, W)`` or ``(n, H, W, 1)`` float pages in ``[0, 1]`` (1 = ink), e.g.
            `drum_pages(...).images` or `helicorder_image` output; ``H, W >= size``.
        size: crop side in pixels (the network's training size).
        stride: grid step in pixels, ``1 … size``; default ``size // 2`` (half-overlapping).
        layer: conv layer to explain (`sjax.detect.resnet.conv_layer_names`); ``"stage3"`` is
            the layer chosen for the shipped weights.
        threshold: tremor probability a crop needs to contribute, in ``(0, 1)`` (checked when
            concrete; may be traced).
        batch_size: crops per network call (>= 1; bounds memory).

    Returns:
        `PageHeatmaps` (heat maps, page and crop tremor probabilities, crop origins).

    Raises:
        ValueError: for pages that are not ``(n, H, W[, 1])`` or smaller than ``size``, or a
            bad ``stride``, ``threshold``, ``batch_size`` or ``layer``.
        TypeError: for a model that is not a `TremorResNet`.
    """
    if not isinstance(model, TremorResNet):
        raise TypeError(f"model must be a TremorResNet, got {type(model).__name__}")
    pages = jnp.asarray(pages)
    if pages.ndim == 4 and pages.shape[-1] == 1:
        pages = pages[..., 0]
    if pages.ndim != 3:
        raise ValueError(f"pages must have shape (n, H, W) or (n, H, W, 1), got {pages.shape}")
    n, height, width = pages.shape
    if not isinstance(size, int) or not 1 <= size <= min(height, width):
        raise ValueError(f"size={size} must be an integer in [1, min(H, W) = {min(height, width)}]")
    stride = max(size // 2, 1) if stride is None else stride
    if not isinstance(stride, int) or not 1 <= stride <= size:
        raise ValueError(f"stride={stride} must be an integer in [1, size={size}]")
    if is_concrete(threshold) and not 0 < float(threshold) < 1:
        raise ValueError(f"threshold={threshold} must lie in (0, 1)")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be an integer >= 1")
    origins = [(r, c) for r in _grid(height, size, stride) for c in _grid(width, size, stride)]
    crops = jnp.stack([pages[:, r : r + size, c : c + size] for r, c in origins], axis=1)

    def explain(crop):
        cam, logits = _cam_and_logits(model, crop[None], layer, 1)
        return cam[0], jax.nn.softmax(logits[0])[1]

    cams, probability = jax.lax.map(
        explain, crops.reshape(-1, size, size), batch_size=batch_size
    )
    cams = cams.reshape(n, len(origins), size, size)
    probability = probability.reshape(n, len(origins))
    evidence = jnp.where((probability > threshold)[:, :, None, None], cams, 0)
    heat = jnp.zeros((n, height, width), cams.dtype)
    for j, (r, c) in enumerate(origins):
        heat = heat.at[:, r : r + size, c : c + size].max(evidence[:, j])
    return PageHeatmaps(
        heatmaps=_unit_peak(heat),
        probability=jnp.max(probability, axis=1),
        crop_probabilities=probability,
        origins=jnp.asarray(origins, dtype=jnp.int32),
    )


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
