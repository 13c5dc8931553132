"""Synthetic drum-record pages, the trace renderer, crops and helicorder images."""

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import obspy
import pytest
from scipy import ndimage

from sjax.detect.images import (
    drum_pages,
    helicorder_image,
    page_crops,
    plot_page,
    render_traces,
    split_by_page,
)

matplotlib.use("Agg")

PAGES = dict(n_pages=8, height=128, width=256, n_lines=8)  # 16 px line spacing


@pytest.fixture(scope="module")
def pages():
    """8 small pages (128 × 256 px, 8 lines), key 0: tremor on pages 0, 1, 5, 7."""
    return drum_pages(jax.random.key(0), **PAGES)


@pytest.fixture(scope="module")
def crops(pages):
    return page_crops(pages, size=64, min_tremor_pixels=100)


# ------------------------------------------------------------------------------ renderer


@pytest.mark.parametrize("ink_width", [0.7, 2.0, 3.3])
def test_constant_line_inks_its_width_centred_on_its_offset(ink_width):
    offset, width = 10.3, 16
    image = np.asarray(render_traces(jnp.zeros((1, 4 * width)), [offset], height=24,
                                     width=width, ink_width=ink_width, blur=0.0))  # fmt: skip
    # reference: the fraction of 4000 sub-rows of each pixel inside [offset ∓ ink_width / 2]
    sub = np.arange(24)[:, None] - 0.5 + (np.arange(4000) + 0.5) / 4000
    reference = (np.abs(sub - offset) <= ink_width / 2).mean(axis=1)
    np.testing.assert_allclose(image, np.broadcast_to(reference[:, None], image.shape),
                               atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(image.sum(0), ink_width, atol=1e-5)  # exact box coverage
    rows = np.arange(24)[:, None]
    # the Gaussian blur (symmetric, normalised) keeps each column's ink and its centroid
    blurred = np.asarray(render_traces(jnp.zeros((1, 4 * width)), [offset], height=24,
                                       width=width, ink_width=ink_width, blur=1.0))  # fmt: skip
    inner = slice(4, -4)  # away from the left/right edges, where ink is blurred off the page
    np.testing.assert_allclose(blurred[:, inner].sum(0), ink_width, atol=1e-4)
    centroid = lambda a: (rows * a).sum(0) / a.sum(0)  # noqa: E731
    np.testing.assert_allclose(centroid(blurred[:, inner]), centroid(image[:, inner]), atol=1e-4)


def test_fast_sine_fills_the_band_offset_plus_minus_amplitude():
    amplitude, offset, width, per_column = 5.3, 20.0, 32, 40
    j = np.arange(width * per_column)
    line = amplitude * np.sin(2 * np.pi * j / 10.0)  # 4 cycles per column: unresolved
    image = np.asarray(render_traces(line[None], [offset], height=40, width=width,
                                     ink_width=1.0, blur=0.0))  # fmt: skip
    for column in image.T:
        inked = np.flatnonzero(column >= 0.5)
        assert abs(inked.min() - (offset - amplitude)) <= 1.0
        assert abs(inked.max() - (offset + amplitude)) <= 1.0
        assert np.all(column[inked.min() : inked.max() + 1] >= 0.5)  # a solid band


def test_positive_displacement_moves_the_pen_up_and_nan_is_a_gap():
    width, per_column, offset = 64, 7, 30.0  # 448 samples: not a multiple of the width
    x = (np.arange(width * per_column) + 0.5) / per_column  # column coordinate + 0.5
    line = 0.2 * (x - width / 2)  # a resolved ramp, rising to the right
    line[: 10 * per_column] = np.nan
    image = np.asarray(render_traces(line[None], [offset], height=60, width=width,
                                     ink_width=1.5, blur=0.0))  # fmt: skip
    assert np.all(image[:, :10] == 0.0)  # NaN samples draw nothing
    centroid = (np.arange(60)[:, None] * image[:, 11:]).sum(0) / image[:, 11:].sum(0)
    expected = offset - 0.2 * (np.arange(11, width) + 0.5 - width / 2)
    np.testing.assert_allclose(centroid, expected, atol=0.15)


def test_render_is_jittable_in_the_lines():
    lines = jnp.zeros((2, 128))
    f = jax.jit(lambda x: render_traces(x, height=16, width=64, ink_width=1.0, blur=0.5))
    np.testing.assert_allclose(f(lines), render_traces(lines, height=16, width=64,
                                                       ink_width=1.0, blur=0.5), atol=1e-6)


# ----------------------------------------------------------------------------- drum pages


def test_page_shapes_dtypes_and_ranges(pages):
    n, h, w = PAGES["n_pages"], PAGES["height"], PAGES["width"]
    assert pages.images.shape == pages.tremor_mask.shape == (n, h, w)
    assert pages.images.dtype == jnp.float32 and pages.tremor_mask.dtype == jnp.bool_
    assert pages.has_tremor.shape == pages.has_teleseism.shape == pages.n_quakes.shape == (n,)
    assert pages.tremor_lines.shape == pages.line_offsets.shape == (n, PAGES["n_lines"])
    images = np.asarray(pages.images)
    assert images.min() >= 0.0 and images.max() <= 1.0 and np.isfinite(images).all()
    assert pages.seconds_per_line == 900.0
    # baselines within ±0.5 px of evenly spaced rows
    spacing = PAGES["height"] / PAGES["n_lines"]
    even = (np.arange(PAGES["n_lines"]) + 0.5) * spacing
    assert np.all(np.abs(np.asarray(pages.line_offsets) - even) <= 0.5)
    n_quakes = np.asarray(pages.n_quakes)
    assert n_quakes.min() >= 0 and n_quakes.max() <= 3
    has = np.asarray(pages.has_tremor)
    assert 0 < has.sum() < n  # the fixture has both kinds of page


def test_same_key_same_page_other_key_other_page(pages):
    again = drum_pages(jax.random.key(0), **{**PAGES, "n_pages": 3})  # page i: fold_in(key, i)
    for a, b in zip(again[:-1], pages[:-1]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[:3])
    other = drum_pages(jax.random.key(1), **{**PAGES, "n_pages": 3})
    assert np.abs(np.asarray(other.images) - np.asarray(pages.images)[:3]).mean() > 0.01


def test_tremor_mask_iff_tremor_and_on_the_traces(pages):
    images, masks = np.asarray(pages.images), np.asarray(pages.tremor_mask)
    has = np.asarray(pages.has_tremor)
    np.testing.assert_array_equal(masks.any(axis=(1, 2)), has)
    np.testing.assert_array_equal(np.asarray(pages.tremor_lines).any(axis=1), has)
    offsets, lines = np.asarray(pages.line_offsets), np.asarray(pages.tremor_lines)
    for image, mask, offset, line in zip(images[has], masks[has], offsets[has], lines[has]):
        ink = image > np.median(image) + 0.2  # the paper is the median pixel
        near_ink = ndimage.binary_dilation(ink, structure=np.ones((5, 5)))  # dilation 2 px
        assert near_ink[mask].mean() >= 0.95
        assert image[mask].mean() > image[~mask].mean() + 0.1
        # the mask follows the tremor lines: (nearly) all of it within 12 px of their baselines
        rows = np.nonzero(mask)[0]
        distance = np.abs(rows[:, None] - offset[line][None, :]).min(axis=1)
        assert (distance <= 12).mean() >= 0.9


def test_no_tremor_probability_gives_no_mask():
    pages = drum_pages(jax.random.key(0), **{**PAGES, "n_pages": 3}, tremor_probability=0.0)
    assert not np.asarray(pages.has_tremor).any() and not np.asarray(pages.tremor_mask).any()


# ---------------------------------------------------------------------------------- crops


def test_crop_labels_follow_the_masks(pages, crops):
    m = crops.labels.shape[0]
    assert crops.images.shape == crops.masks.shape == (m, 64, 64)
    assert crops.labels.dtype == jnp.int32 and crops.origin.shape == (m, 2)
    counts = np.asarray(crops.masks).sum(axis=(1, 2))
    np.testing.assert_array_equal(counts, np.asarray(crops.tremor_pixels))
    np.testing.assert_array_equal(np.asarray(crops.labels), (counts >= 100).astype(np.int32))
    assert not np.any((counts > 0) & (counts < 100))  # ambiguous crops dropped
    assert set(np.unique(np.asarray(crops.labels))) == {0, 1}
    # each crop is the page slice at its origin
    for i in (0, m // 2, m - 1):
        p, (r, c) = int(crops.page_index[i]), np.asarray(crops.origin[i])
        np.testing.assert_array_equal(crops.images[i], pages.images[p, r : r + 64, c : c + 64])
    # kept + dropped = the full 2 × 4 grid per page
    full = page_crops(pages, size=64, min_tremor_pixels=100, drop_ambiguous=False)
    assert full.labels.shape[0] == PAGES["n_pages"] * 2 * 4
    overlapping = page_crops(pages, size=64, stride=32, min_tremor_pixels=100,
                             drop_ambiguous=False)  # fmt: skip
    assert overlapping.labels.shape[0] == PAGES["n_pages"] * 3 * 7


def test_split_by_page_has_no_page_in_both_sets(crops):
    train, test = split_by_page(crops, jax.random.key(3), test_fraction=0.25)
    train_pages, test_pages = set(np.asarray(train.page_index)), set(np.asarray(test.page_index))
    assert not train_pages & test_pages
    assert len(test_pages) == 2 and len(train_pages | test_pages) == PAGES["n_pages"]
    assert train.labels.shape[0] + test.labels.shape[0] == crops.labels.shape[0]
    again = split_by_page(crops, jax.random.key(3), test_fraction=0.25)[1]
    np.testing.assert_array_equal(np.asarray(again.page_index), np.asarray(test.page_index))


# ----------------------------------------------------------------------------- helicorder


def test_helicorder_of_rjob():
    trace = obspy.read()[0]  # RJOB, 30 s at 100 Hz, a local earthquake
    before = trace.data.copy()
    options = dict(seconds_per_line=5.0, height=120, width=400, freqmin=1.0, freqmax=20.0)
    image = np.asarray(helicorder_image(trace, **options))
    np.testing.assert_array_equal(trace.data, before)  # input untouched
    assert image.shape == (120, 400) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert all(image[i * 20 : (i + 1) * 20].sum() > 0 for i in range(6))  # 6 lines, 20 px apart
    # a fixed scale of 5 px at the peak on 8 lines, 15 px apart: lines 7 and 8 stay blank and
    # the line holding the earthquake's peak spans the most rows
    filtered = trace.copy().detrend("linear").filter("bandpass", freqmin=1.0, freqmax=20.0,
                                                     corners=4, zerophase=True)  # fmt: skip
    scale = 5.0 / np.abs(filtered.data).max()
    fixed = np.asarray(helicorder_image(trace, **options, n_lines=8, scale=scale))
    assert fixed[90:].max() == 0.0
    extent = [np.ptp(np.flatnonzero(fixed[i * 15 : (i + 1) * 15].max(axis=1) >= 0.5))
              for i in range(6)]  # fmt: skip
    assert int(np.argmax(extent)) == int(np.argmax(np.abs(filtered.data)) // 500)
    assert 9 <= max(extent) <= 14  # 2 × 5 px + ink width 1.2 px, ±1 px per edge
    # fewer samples per line than columns (300 < 400): interpolated, 10 lines, 10 px apart
    short = np.asarray(helicorder_image(trace, seconds_per_line=3.0, height=100, width=400))
    assert short.shape == (100, 400)
    assert all(short[i * 10 : (i + 1) * 10].sum() > 0 for i in range(10))


# ---------------------------------------------------------------------------------- plots


def test_plot_page(pages):
    i = int(np.flatnonzero(np.asarray(pages.has_tremor))[0])
    fig = plot_page(pages.images[i], pages.tremor_mask[i], title="page")
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "page"
    matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: render_traces(np.zeros(10), height=8, width=4), "lines"),
        (lambda: render_traces(np.zeros((1, 3)), height=8, width=4), "n_samples >= width"),
        (lambda: render_traces(np.zeros((1, 8)), [1.0, 2.0], height=8, width=4), "offsets"),
        (lambda: render_traces(np.zeros((1, 8)), height=0, width=4), "height"),
        (lambda: render_traces(np.zeros((1, 8)), height=8, width=4, ink_width=0), "ink_width"),
        (lambda: render_traces(np.zeros((1, 8)), height=8, width=4, blur=-1), "blur"),
        (lambda: drum_pages(jax.random.key(0), 0), "n_pages"),
        (lambda: drum_pages(jax.random.key(0), 1, height=32, n_lines=16), "n_lines"),
        (lambda: drum_pages(jax.random.key(0), 1, tremor_probability=1.5), "tremor_probability"),
        (lambda: drum_pages(jax.random.key(0), 1, tremor_amplitude=(2.0, 1.0)),
         "tremor_amplitude"),
        (lambda: drum_pages(jax.random.key(0), 1, mask_threshold=5.0), "mask_threshold"),
        (lambda: drum_pages(jax.random.key(0), 1, contrast=(0.5, 1.5)), "contrast"),
        (lambda: drum_pages(jax.random.key(0), 1, samples_per_column=1), "samples_per_column"),
        (lambda: drum_pages(jax.random.key(0), 1, seconds_per_line=1e5), "Nyquist"),
        (lambda: helicorder_image(obspy.Trace(np.zeros(0))), "empty"),
        (lambda: helicorder_image(obspy.read()[0], seconds_per_line=0.01), "seconds_per_line"),
        (lambda: helicorder_image(obspy.read()[0], width=0), "width"),
        (lambda: helicorder_image(obspy.read()[0], freqmax=60.0), "freqmax"),
        (lambda: helicorder_image(obspy.read()[0], freqmin=5.0, freqmax=2.0), "freqmin"),
        (lambda: helicorder_image(obspy.read()[0], scale=-1.0), "scale"),
        (lambda: plot_page(np.zeros((4, 4)), np.zeros((4, 5), bool)), "mask"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_and_crop_arguments(pages, crops):
    with pytest.raises(TypeError, match="trace"):
        helicorder_image(np.zeros(100))
    with pytest.raises(ValueError, match="size"):
        page_crops(pages, size=200)
    with pytest.raises(ValueError, match="stride"):
        page_crops(pages, size=64, stride=0)
    with pytest.raises(ValueError, match="min_tremor_pixels"):
        page_crops(pages, min_tremor_pixels=0)
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_page(crops, jax.random.key(0), test_fraction=1.0)
    one_page = crops._replace(page_index=jnp.zeros_like(crops.page_index))
    with pytest.raises(ValueError, match="at least 2"):
        split_by_page(one_page, jax.random.key(0))
