"""Score tremor-ResNet weights on held-out synthetic drum pages (issue test 3 at full size).

    python scripts/evaluate_tremor.py [--weights sjax/detect/weights/tremor_resnet.msgpack]

Prints crop accuracy, page accuracy (a page has tremor if any crop is called tremor) and the
Grad-CAM pointing game (heat-map peak inside the tremor mask) on true-positive crops.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np
from flax import nnx

from sjax.detect.gradcam import grad_cam, localisation_scores
from sjax.detect.pretrained import tremor_crops
from sjax.detect.resnet import TremorResNet
from sjax.detect.train import load_weights, predict_logits

LAYER = "stage3"  # 8 x 8 maps on 128-pixel crops; chosen on other pages (seed 4242): see README


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
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
