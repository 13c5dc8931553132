"""The shipped weights (trained by scripts/train_detectors.py on sjax's own synthetics).

Issue tests 1-3 at test size; full-size figures come from scripts/evaluate_gpd.py and
scripts/evaluate_tremor.py (quoted in the README). Seeds here differ from the training seeds
and from the seed used to choose the trigger threshold.
"""

import jax
import numpy as np
import pytest
from flax import nnx

from sjax.detect import (
    CLASSES,
    GPD_TRIGGER_ON,
    annotate,
    count_parameters,
    drum_pages,
    localisation_scores,
    page_crops,
    page_grad_cam,
    pick,
    predict_logits,
    pretrained_gpd,
    pretrained_tremor_resnet,
    score_picks,
    synthetic_continuous,
)
from sjax.detect.gpd_training import gpd_training_set
from sjax.detect.pretrained import pretrained, train_gpd


@pytest.fixture(scope="module")
def gpd():
    return pretrained_gpd("synthetic")


def test_shipped_gpd_has_the_published_size_and_classifies_training_like_windows(gpd):
    assert count_parameters(gpd) == 1_741_003
    windows, labels = gpd_training_set(jax.random.key(99), 40, snr=(5.0, 30.0))
    top = predict_logits(gpd, windows).argmax(axis=1)
    for c, name in enumerate(CLASSES):  # windows centred on P are called P, and so on
        clear = labels[:, c] >= 0.95
        assert clear.sum() >= 20 and np.mean(top[clear] == c) >= 0.9, name


def continuous_scores(model, seconds, seed):
    key = jax.random.key(seed)
    events = synthetic_continuous(jax.random.fold_in(key, 0), seconds, snr=(5.0, 20.0))
    scores = score_picks(pick(annotate(model, events.stream), threshold_on=GPD_TRIGGER_ON),
                         events.p_times, events.s_times)  # fmt: skip
    noise = synthetic_continuous(jax.random.fold_in(key, 1), seconds, event_every=None)
    noise_picks = pick(annotate(model, noise.stream), threshold_on=GPD_TRIGGER_ON)
    return scores, len(noise_picks)


def test_shipped_gpd_picks_held_out_continuous_data(gpd):
    # 10 min of P-SNR 5-20 events (20 events) and 10 min of noise; the slow variant runs 1 h
    scores, noise_picks = continuous_scores(gpd, 600.0, seed=2718)
    assert scores.p_within >= 0.95 and scores.s_within >= 0.90
    assert scores.false_picks <= 1 and noise_picks == 0


@pytest.mark.slow
def test_shipped_gpd_picks_one_hour_of_held_out_continuous_data(gpd):
    scores, noise_picks = continuous_scores(gpd, 3600.0, seed=3141)
    assert scores.p_within >= 0.95 and scores.s_within >= 0.90
    assert noise_picks < 1  # false picks per hour of noise


def test_shipped_tremor_resnet_on_held_out_pages():
    model = pretrained_tremor_resnet()
    pages = drum_pages(jax.random.key(31337), 32)  # held out from training by seed
    crops = page_crops(pages)  # ~250 non-overlapping 128-px crops
    images, labels = np.asarray(crops.images), np.asarray(crops.labels)
    called = predict_logits(model, images).argmax(axis=1)
    assert np.mean(called == labels) >= 0.97  # 400 pages (3074 crops): 0.994
    # issue test 3: the page-level heat-map peak lies inside the tremor mask (chance: the
    # mask's area, ~2 % of a page); 400 pages (196 true positives): 0.918
    explained = nnx.jit(page_grad_cam, static_argnames="layer")(model, pages.images,
                                                                 layer="stage3")  # fmt: skip
    hits = (np.asarray(explained.probability) > 0.5) & np.asarray(pages.has_tremor)
    assert hits.sum() >= 10
    scores = localisation_scores(explained.heatmaps[hits], pages.tremor_mask[hits])
    assert np.mean(scores.pointing_hit) >= 0.8


def test_missing_weights_name_the_script():
    with pytest.raises(ValueError, match="train_detectors.py"):
        pretrained("no_such_model", pretrained_gpd())


def test_train_gpd_fine_tunes_the_published_weights():
    # a vanishing learning rate: the fine-tuned parameters are the published ones (batch-norm
    # statistics adapt in training mode, so only nnx.Param is compared)
    model, history = train_gpd(jax.random.key(4), n_records=6, epochs=1, batch_size=32,
                               learning_rate=1e-12, init="ross2018", progress=False)  # fmt: skip
    published = nnx.state(pretrained_gpd("ross2018"), nnx.Param)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9),
                 nnx.state(model, nnx.Param), published)  # fmt: skip
    assert len(history.val_loss) == 1 and np.isfinite(history.val_loss[0])
    with pytest.raises(ValueError, match="unknown GPD weights"):
        train_gpd(jax.random.key(4), n_records=6, epochs=1, batch_size=32, init="nope")
