"""Detectors (Flax NNX), their synthetic training data, training, and the ObsPy bridge.

The science: Ross et al. (2018, BSSA 108:2894), Kaneko et al. (2021, LNCS 12705:31), Yano et al.
(2021, JGR 126:e2020JB020269) and Nakano et al. (2019, SRL 90(2A)). The package provides

- **GPD phase detector** (`GPD`, `predict_proba`; classes `CLASSES` = P, S, noise; input
  ``(batch, 400, 3)`` at 100 Hz, components N, E, Z last) with the published weights of Ross
  et al. (2018) (`pretrained_gpd`, default ``"ross2018"``) and sjax-trained synthetic ones
  (``"synthetic"``);
- **EQTransformer** (Mousavi et al. 2020, `EQTransformer`, `predict_eqt`) with its published
  weights (`pretrained_eqt`);
- continuous annotation of ObsPy streams by either (`annotate`; gaps split the data into
  `stream_to_segments`), picks by hysteresis trigger + arg-max (`pick`, `picks_to_catalog` →
  QuakeML) and pick scoring (`score_picks`); ``sjax detect`` (`sjax.detect.pipeline`);
- **synthetic waveforms**: local earthquakes with P and S (`synthetic_records`, cut into GPD
  windows by `gpd_training_windows`; continuous records with known onsets,
  `synthetic_continuous`; soft-labelled GPD training windows with S − P 0.3–30 s, overlapping
  events and real noise, `sjax.detect.gpd_training` and `sjax.detect.real_noise`), tremor and teleseisms (`tremor_waveforms`, `teleseism_waveforms`,
  three-class records `event_class_records`);
- **drum-record images**: synthetic pages with tremor masks (`drum_pages`, `page_crops`,
  `split_by_page`) and helicorder rendering of real traces (`helicorder_image`);
- **tremor ResNet** on image crops (`TremorResNet`, shipped as `pretrained_tremor_resnet`) and
  **Grad-CAM** for any conv layer and for whole pages (`grad_cam`, `page_grad_cam`,
  `localisation_scores`);
- **array detector** on graph-partitioned station groups (`partition_stations`,
  `ArrayDetector`, `synthetic_array_windows`, `station_dropout`);
- **spectrogram classifier** (earthquake / tremor / noise) with a differentiable STFT front-end
  (`spectrogram`, `SpectrogramClassifier`);
- **training** with optax (`fit`: jitted steps, sharded batches, schedules, early stopping,
  resumable checkpoints, NNX-filter fine-tuning; `save_weights` / `load_weights` without pickle)
  and **transfer learning** to a shifted domain (`fine_tune`, `transfer_curve`).
"""

from sjax.detect.annotate import (
    GPD_PREFILTER,
    PICK_CONFIDENCE_LEVEL,
    PROBABILITY_CHANNELS,
    SJAX_NAMESPACE,
    Prefilter,
    annotate,
    pick,
    picks_to_catalog,
    stream_to_array,
    stream_to_segments,
)
from sjax.detect.array import (
    ARRAY_CLASSES,
    ArrayDetector,
    ArrayWindows,
    StationGroups,
    detection_rates,
    partition_stations,
    station_dropout,
    synthetic_array_windows,
    threshold_at_false_positive_rate,
)
from sjax.detect.gpd import (
    CLASSES,
    COMPONENTS,
    GPD,
    SAMPLING_RATE,
    WINDOW_SAMPLES,
    count_parameters,
    normalize_windows,
    predict_proba,
)
from sjax.detect.gradcam import (
    LocalisationScores,
    PageHeatmaps,
    grad_cam,
    localisation_scores,
    page_grad_cam,
    plot_gradcam,
)
from sjax.detect.images import (
    DrumPages,
    PageCrops,
    drum_pages,
    helicorder_image,
    page_crops,
    plot_page,
    render_traces,
    split_by_page,
)
from sjax.detect.metrics import PickScores, score_picks
from sjax.detect.eqt import EQTransformer, predict_eqt, pretrained_eqt
from sjax.detect.eqt_annotate import EQT_TRIGGER_OFF, EQT_TRIGGER_ON, annotate_eqt
from sjax.detect.pretrained import (
    GPD_ROSS2018_TRIGGER_ON,
    GPD_TRIGGER_ON,
    pretrained_gpd,
    pretrained_tremor_resnet,
)
from sjax.detect.resnet import TremorResNet, conv_layer_names
from sjax.detect.spectrogram import (
    EVENT_CLASSES,
    Spectrogram,
    SpectrogramClassifier,
    plot_spectrogram,
    spectrogram,
)
from sjax.detect.synthetic import (
    ContinuousRecord,
    GPDWindows,
    SyntheticRecords,
    gpd_training_windows,
    measure_snr,
    synthetic_continuous,
    synthetic_records,
)
from sjax.detect.train import History, evaluate, fit, load_weights, predict_logits, save_weights
from sjax.detect.transfer import (
    TransferCurve,
    backbone_filter,
    fine_tune,
    head_filter,
    shifted_domain_records,
    transfer_curve,
)
from sjax.detect.tremor import (
    ClassRecords,
    event_class_records,
    teleseism_waveforms,
    tremor_waveforms,
)

__all__ = [
    # GPD and annotation
    "CLASSES",
    "COMPONENTS",
    "GPD",
    "SAMPLING_RATE",
    "WINDOW_SAMPLES",
    "count_parameters",
    "normalize_windows",
    "predict_proba",
    "pretrained_gpd",
    "GPD_TRIGGER_ON",
    "GPD_ROSS2018_TRIGGER_ON",
    # EQTransformer
    "EQTransformer",
    "predict_eqt",
    "pretrained_eqt",
    "annotate_eqt",
    "EQT_TRIGGER_ON",
    "EQT_TRIGGER_OFF",
    # annotation
    "GPD_PREFILTER",
    "Prefilter",
    "PROBABILITY_CHANNELS",
    "PICK_CONFIDENCE_LEVEL",
    "SJAX_NAMESPACE",
    "annotate",
    "pick",
    "picks_to_catalog",
    "stream_to_array",
    "stream_to_segments",
    "PickScores",
    "score_picks",
    # synthetic waveforms
    "ContinuousRecord",
    "GPDWindows",
    "SyntheticRecords",
    "gpd_training_windows",
    "measure_snr",
    "synthetic_continuous",
    "synthetic_records",
    "ClassRecords",
    "event_class_records",
    "teleseism_waveforms",
    "tremor_waveforms",
    # images, ResNet, Grad-CAM
    "DrumPages",
    "PageCrops",
    "drum_pages",
    "helicorder_image",
    "page_crops",
    "plot_page",
    "render_traces",
    "split_by_page",
    "TremorResNet",
    "conv_layer_names",
    "pretrained_tremor_resnet",
    "LocalisationScores",
    "grad_cam",
    "PageHeatmaps",
    "page_grad_cam",
    "localisation_scores",
    "plot_gradcam",
    # array detector
    "ARRAY_CLASSES",
    "ArrayDetector",
    "ArrayWindows",
    "StationGroups",
    "detection_rates",
    "partition_stations",
    "station_dropout",
    "synthetic_array_windows",
    "threshold_at_false_positive_rate",
    # spectrogram classifier
    "EVENT_CLASSES",
    "Spectrogram",
    "SpectrogramClassifier",
    "plot_spectrogram",
    "spectrogram",
    # training and transfer learning
    "TransferCurve",
    "backbone_filter",
    "fine_tune",
    "head_filter",
    "shifted_domain_records",
    "transfer_curve",
    "History",
    "evaluate",
    "fit",
    "load_weights",
    "predict_logits",
    "save_weights",
]
