"""Score tremor-ResNet weights on held-out synthetic drum pages (issue test 3 at full size).

    python scripts/evaluate_tremor.py [--weights sjax/detect/weights/tremor_resnet.msgpack]

Prints crop accuracy, page accuracy (a page has tremor if any crop is called tremor) and the
Grad-CAM pointing game (heat-map peak inside the tremor mask) on true-positive crops and — the
issue's measure — on true-positive pages, with the page-level map of `page_grad_cam`
(overlapping crops, stride 64).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np
from flax import nnx

from sjax.detect.gradcam import grad_cam, localisation_scores, page_grad_cam
from sjax.detect.images import drum_pages
from sjax.detect.pretrained import tremor_crops
from sjax.detect.resnet import TremorResNet
from sjax.detect.train import load_weights, predict_logits

LAYER = "stage3"  # 8 x 8 maps on 128-pixel crops; chosen on other pages (seed 4242): see README
PAGE_CHUNK = 32  # pages per page_grad_cam call


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="default: the shipped weights")
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--seed", type=int, default=777)
    args = parser.parse_args(argv)
    if args.weights is None:
        from sjax.detect.pretrained import pretrained_tremor_resnet

        model = pretrained_tremor_resnet()
    else:
        model = load_weights(args.weights, TremorResNet(rngs=nnx.Rngs(0)))
    start = time.perf_counter()
    crops = tremor_crops(jax.random.key(args.seed), args.pages)
    images, labels = np.asarray(crops.images), np.asarray(crops.labels)
    called = predict_logits(model, images).argmax(axis=1)
    pages = np.asarray(crops.page_index)
    page_truth = np.array([labels[pages == p].max() for p in np.unique(pages)])
    page_called = np.array([called[pages == p].max() for p in np.unique(pages)])
    hits = (called == 1) & (labels == 1)
    cam = nnx.jit(grad_cam, static_argnames="layer")
    maps = [np.asarray(cam(model, images[hits][i : i + 128], layer=LAYER))
            for i in range(0, int(hits.sum()), 128)]  # fmt: skip
    pointing = near = iou = np.full(1, np.nan)
    if maps:
        masks = np.asarray(crops.masks)[hits]
        scores = localisation_scores(np.concatenate(maps), masks)
        pointing, iou = np.asarray(scores.pointing_hit), np.asarray(scores.iou)
        near = np.asarray(localisation_scores(np.concatenate(maps), masks,
                                              tolerance_pixels=4).pointing_hit)  # fmt: skip
    page_scores = page_pointing(model, args.seed, args.pages)
    result = {
        "crops": int(len(labels)),
        "tremor_crops": int(labels.sum()),
        "crop_accuracy": float(np.mean(called == labels)),
        "crop_recall": float(np.mean(called[labels == 1] == 1)),
        "crop_false_positive_rate": float(np.mean(called[labels == 0] == 1)),
        "page_accuracy": float(np.mean(page_called == page_truth)),
        "gradcam_layer": LAYER,
        "gradcam_peak_in_mask": float(np.mean(pointing)),
        "gradcam_peak_within_4px_of_mask": float(np.mean(near)),
        "gradcam_mean_iou_top5pct": float(np.mean(iou)),
        **page_scores,
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(result, indent=1))
    return result


def page_pointing(model, seed: int, n_pages: int) -> dict:
    """Pointing game of `page_grad_cam` maps on the true-positive pages (the same pages as
    `tremor_crops`: it draws them in chunks of 64 from ``fold_in(key, start)``)."""
    explain = nnx.jit(page_grad_cam, static_argnames=("size", "stride", "layer", "batch_size"))
    maps, probability, masks, truth = [], [], [], []
    for start in range(0, n_pages, 64):
        pages = drum_pages(jax.random.fold_in(jax.random.key(seed), start),
                           min(64, n_pages - start))  # fmt: skip
        for i in range(0, len(pages.images), PAGE_CHUNK):
            out = explain(model, pages.images[i : i + PAGE_CHUNK], layer=LAYER)
            maps.append(np.asarray(out.heatmaps))
            probability.append(np.asarray(out.probability))
        masks.append(np.asarray(pages.tremor_mask))
        truth.append(np.asarray(pages.has_tremor))
    maps, probability = np.concatenate(maps), np.concatenate(probability)
    masks, truth = np.concatenate(masks), np.concatenate(truth)
    hits = (probability > 0.5) & truth
    scores = localisation_scores(maps[hits], masks[hits])
    return {
        "pages_with_tremor": int(truth.sum()),
        "page_recall_overlapping_crops": float(np.mean(hits[truth])),
        "page_false_positive_rate_overlapping_crops": float(np.mean(probability[~truth] > 0.5)),
        "page_gradcam_peak_in_mask": float(np.mean(np.asarray(scores.pointing_hit))),
        "page_gradcam_mean_iou_top5pct": float(np.mean(np.asarray(scores.iou))),
    }


if __name__ == "__main__":
    main()
