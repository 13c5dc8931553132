"""TremorResNet layout and Grad-CAM: parameter counts, a hand-written reference forward pass,
Grad-CAM against an independent split of the forward pass and finite differences, a constructed
network with a known heat map, localisation scores, jit/vmap and bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sjax.detect.gpd import count_parameters
from sjax.detect.gradcam import grad_cam, localisation_scores, page_grad_cam, plot_gradcam
from sjax.detect.resnet import CLASSES, TremorResNet, conv_layer_names

TINY = (4, 8, 8, 8)
EPS = 1e-5  # PyTorch BatchNorm2d epsilon, the documented choice
F32 = jnp.float32


def _filled(widths, stem, key=None, *, identity=False):
    """A `TremorResNet` whose variables are drawn with numpy (seeded from ``key``; much cheaper
    to set up than compiling every initialiser on a loaded CPU): He-normal kernels, batch-norms
    with non-trivial running statistics and affine parameters.

    ``identity=True`` sets the weights by hand instead: 3x3 stem = centre tap into channel 0,
    residual branches zero, 1x1 projections = identity, BN = identity up to 1/sqrt(1 + eps), so
    the stage-4 channel 0 is the image sampled every 8 pixels ('small' stem); the tremor logit is
    +mean(channel 0), the no-tremor logit -mean(channel 0)."""
    model = nnx.eval_shape(lambda: TremorResNet(widths, stem=stem, rngs=nnx.Rngs(0)))
    if not identity:
        rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**31 - 1)))

    def draw(path, leaf):
        names = [getattr(k, "key", None) for k in path]
        name, shape = names[-2], leaf.shape
        if identity:
            value = np.ones(shape) if name in ("scale", "var") else np.zeros(shape)
            if names[:2] == ["stem", "kernel"]:
                value[1, 1, 0, 0] = 1.0
            elif name == "kernel" and "shortcut" in names:
                value[0, 0] = np.eye(*shape[2:])
            elif names[:2] == ["head", "kernel"]:
                value[0] = [-1.0, 1.0]
        elif name == "kernel":
            fan_out = np.prod(shape[:-2], dtype=int) * shape[-1] if len(shape) == 4 else shape[0]
            value = rng.normal(0.0, np.sqrt(2.0 / fan_out), shape)
        elif name in ("scale", "var"):
            value = rng.uniform(0.5, 1.5, shape)
        else:  # bias, mean
            value = rng.normal(0.0, 0.1, shape)
        return jnp.asarray(value, leaf.dtype)

    nnx.update(model, jax.tree_util.tree_map_with_path(draw, nnx.state(model)))
    return model


@pytest.fixture(scope="module")
def small():
    """Tiny slim-layout network with the 3x3 stride-1 stem (32x32 inputs -> 4x4 at stage 4)."""
    return _filled(TINY, "small", jax.random.key(7))


@pytest.fixture(scope="module")
def imagenet():
    """Tiny network with the ImageNet stem (64x64 inputs -> 2x2 at stage 4)."""
    return _filled(TINY, "imagenet", jax.random.key(8))


@pytest.fixture(scope="module")
def images32():
    return jax.random.uniform(jax.random.key(2), (3, 32, 32), F32)


CAM_LAYERS = ("stem", "stage3", "stage4")


@nnx.jit
def _cams(model, images, target):
    """Grad-CAM maps at `CAM_LAYERS` for per-image classes ``target`` (b,) (one compilation
    serves every test using it)."""
    return {layer: grad_cam(model, images, layer=layer, target_class=target)
            for layer in CAM_LAYERS}


# ------------------------------------------------------------------ independent reference model
def _conv(x, kernel, stride):
    pad = kernel.shape[0] // 2
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), ((pad, pad), (pad, pad)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )


def _bn(x, norm):
    scale = norm.scale[...] / jnp.sqrt(norm.var[...] + EPS)
    return (x - norm.mean[...]) * scale + norm.bias[...]


def _block(x, blk, stride):
    y = jax.nn.relu(_bn(_conv(x, blk.conv1.kernel[...], stride), blk.bn1))
    y = _bn(_conv(y, blk.conv2.kernel[...], 1), blk.bn2)
    if blk.shortcut is not None:
        x = _bn(_conv(x, blk.shortcut.kernel[...], stride), blk.shortcut_bn)
    return jax.nn.relu(x + y)


def _reference_stem(model, images):
    stride = 2 if model.stem.kernel.shape[0] == 7 else 1
    return jax.nn.relu(_bn(_conv(images[..., None], model.stem.kernel[...], stride),
                           model.stem_bn))


def _reference_stages(model, a, first, last):
    """Run stages ``first+1 .. last`` (0-based ``first``); the stem's max-pool precedes stage 1."""
    if first == 0 and model.stem.kernel.shape[0] == 7:
        a = jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                                  ((0, 0), (1, 1), (1, 1), (0, 0)))
    for stage in range(first, last):
        for b in range(2):
            a = _block(a, model.blocks[2 * stage + b], 2 if (stage > 0 and b == 0) else 1)
    return a


def _stage_index(layer):
    return 0 if layer == "stem" else int(layer[-1])


def _reference_activation(model, images, layer):
    stem = _reference_stem(model, images)
    return stem if layer == "stem" else _reference_stages(model, stem, 0, _stage_index(layer))


def _reference_from(model, a, after):
    """Logits from the activation ``a`` of ``after`` ("stem" or "stage1".."stage4")."""
    a = _reference_stages(model, a, _stage_index(after), 4)
    return a.mean(axis=(1, 2)) @ model.head.kernel[...] + model.head.bias[...]


def _reference_grad_cam(model, images, layer, target):
    """Grad-CAM with the forward pass split by hand at ``layer`` (no probe, no perturbation)."""
    a = _reference_activation(model, images, layer)
    grads = jax.grad(lambda a: _reference_from(model, a, layer)[:, target].sum())(a)
    cam = jax.nn.relu(jnp.einsum("bhwk,bk->bhw", a, grads.mean(axis=(1, 2))))
    cam = jax.image.resize(cam, (cam.shape[0],) + images.shape[1:], "linear")
    peak = cam.max(axis=(1, 2), keepdims=True)
    return jnp.where(peak > 0, cam / jnp.where(peak > 0, peak, 1), 0)


def _resnet18_trainable(widths, in_channels, classes, stem_kernel):
    """Trainable-parameter arithmetic of a ResNet-18 (bias-free convs, BN scale+shift, dense)."""
    total = stem_kernel**2 * in_channels * widths[0] + 2 * widths[0]
    c = widths[0]
    for s, w in enumerate(widths):
        for b in range(2):
            total += 9 * c * w + 2 * w + 9 * w * w + 2 * w
            if (s > 0 and b == 0) or c != w:
                total += c * w + 2 * w  # 1x1 projection + BN
            c = w
    return total + c * classes + classes


# ------------------------------------------------------------------------------------- layout
def test_standard_resnet18_parameter_count():
    # the formula reproduces torchvision's published resnet18 count (3 channels, 1000 classes)
    assert _resnet18_trainable((64, 128, 256, 512), 3, 1000, 7) == 11_689_512
    full = nnx.eval_shape(lambda: TremorResNet((64, 128, 256, 512), rngs=nnx.Rngs(0)))
    expected = 11_689_512 - 7 * 7 * 2 * 64 - (512 * 1000 + 1000) + (512 * 2 + 2)
    assert expected == _resnet18_trainable((64, 128, 256, 512), 1, 2, 7) == 11_171_266
    assert count_parameters(full) == expected
    # running means and variances: two per BN channel (stem, 2 per block, 3 projections)
    bn_channels = 64 + 2 * 2 * (64 + 128 + 256 + 512) + (128 + 256 + 512)
    assert count_parameters(full, nnx.BatchStat) == 2 * bn_channels
    slim = nnx.eval_shape(lambda: TremorResNet(rngs=nnx.Rngs(0)))
    assert count_parameters(slim) == _resnet18_trainable((16, 32, 64, 128), 1, 2, 7) == 700_786
    small = nnx.eval_shape(lambda: TremorResNet(TINY, stem="small", rngs=nnx.Rngs(0)))
    assert count_parameters(small) == _resnet18_trainable(TINY, 1, 2, 3)


@nnx.jit
def _forward_and_reference(model, images):
    """Model logits for (b, H, W) and (b, H, W, 1) inputs, probed activations, and the
    hand-written reference of both (one compilation per model)."""
    layers = ("stem", "stage1.block2", "stage2", "stage4")
    ura = dict(use_running_average=True)
    got = dict(logits=model(images, **ura), logits4=model(images[..., None], **ura),
               **{layer: model.probe(images, layer, **ura)[1] for layer in layers})
    ref = dict(logits=_reference_from(model, _reference_stem(model, images), "stem"),
               **{layer: _reference_activation(model, images, layer[:6]) for layer in layers})
    return got, ref


@pytest.mark.parametrize("stem,size,stage4", [("imagenet", 64, 2), ("small", 32, 4)])
def test_forward_and_activations_match_hand_written_reference(request, stem, size, stage4):
    model = request.getfixturevalue("imagenet" if stem == "imagenet" else "small")
    images = jax.random.uniform(jax.random.key(4), (2, size, size), F32)
    got, ref = _forward_and_reference(model, images)
    assert got["logits"].shape == (2, 2) and got["logits"].dtype == F32
    np.testing.assert_array_equal(np.asarray(got["logits"]), np.asarray(got["logits4"]))
    stem_size = size // 2 if stem == "imagenet" else size
    assert got["stem"].shape == (2, stem_size, stem_size, TINY[0])
    assert got["stage4"].shape == (2, stage4, stage4, TINY[3])
    for name in ref:  # float32 round-off
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(ref[name]),
                                   rtol=1e-4, atol=1e-5, err_msg=name)


def test_layer_names(small):
    names = conv_layer_names(small)
    assert names[0] == "stem" and names[-1] == "stage4" and len(names) == 1 + 4 * (2 * 3 + 1)
    assert names.index("stage2.block2.conv1") < names.index("stage2.block2") < names.index(
        "stage2") < names.index("stage3.block1.conv1")
    assert CLASSES == ("no-tremor", "tremor")


# ------------------------------------------------------------------------------------ Grad-CAM
def test_grad_cam_equals_independent_split(small, images32):
    reference = jax.jit(lambda x, t: {layer: _reference_grad_cam(small, x, layer, t)
                                      for layer in CAM_LAYERS})
    for target in (1, 0):
        got = _cams(small, images32, jnp.full((3,), target))
        ref = reference(images32, target)
        for layer in CAM_LAYERS:
            cam = np.asarray(got[layer])
            assert cam.shape == (3, 32, 32) and cam.dtype == F32
            assert cam.min() >= 0 and cam.max() == 1  # no image of this set has an all-zero map
            # float32 round-off (seen: 5e-7); maps normalised to max 1
            np.testing.assert_allclose(cam, np.asarray(ref[layer]), atol=1e-5, err_msg=layer)


def test_grad_cam_alpha_by_central_differences(small, images32):
    """A block-internal layer, in float64: alpha_k = d y / d(uniform shift of channel k) / (h w)
    by central differences (the network is piecewise linear in the activation, so these are
    exact up to round-off unless a shift crosses a ReLU kink)."""
    layer, step = "stage2.block1.conv1", 1e-4
    model = nnx.eval_shape(lambda: TremorResNet(TINY, stem="small", param_dtype=jnp.float64,
                                                rngs=nnx.Rngs(0)))
    nnx.update(model, jax.tree.map(lambda x: x.astype(jnp.float64), nnx.state(small)))
    images = images32.astype(jnp.float64)

    @jax.jit
    def finite_differences(images):
        act = model.probe(images, layer, use_running_average=True)[1]
        _, h, w, k = act.shape
        shifts = step * jnp.eye(k)[:, None, None, None, :] * jnp.ones_like(act)[None]
        shifts = jnp.concatenate([shifts, -shifts])

        def tremor_logit(shift):
            return model.probe(images, layer, shift, use_running_average=True)[0][:, 1]

        y = jax.vmap(tremor_logit)(shifts)
        alpha = (y[:k] - y[k:]).T / (2 * step * h * w)  # (b, k)
        cam = jax.nn.relu(jnp.einsum("bhwk,bk->bhw", act, alpha))
        cam = jax.image.resize(cam, images.shape, "linear")
        return cam / cam.max(axis=(1, 2), keepdims=True), grad_cam(model, images, layer=layer)

    reference, got = finite_differences(images)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(got), np.asarray(reference), atol=1e-8)


def test_grad_cam_peaks_where_the_logit_looks():
    model = _filled(TINY, "small", identity=True)
    images = np.zeros((3, 32, 32), np.float32)
    images[0, 16:24, 8:16] = 1.0  # contains the sample (16, 8) seen by the logit
    images[0, 3:6, 20:30] = 1.0  # ink between the samples: invisible to the logit
    images[1, 3:6, 20:30] = 1.0  # only invisible ink: no evidence anywhere
    images[2, 0:4, 24:32] = 0.5  # contains the sample (0, 24)
    heat = np.asarray(_cams(model, images, jnp.full((3,), 1))["stage4"])
    expected = np.asarray(jax.image.resize(images[:, ::8, ::8], (3, 32, 32), "linear"))
    for i in (0, 2):
        np.testing.assert_allclose(heat[i], expected[i] / expected[i].max(), atol=1e-5)
    row, col = np.unravel_index(np.argmax(heat[0]), heat[0].shape)
    assert 16 <= row < 24 and 8 <= col < 16
    assert heat[0, 3:6, 20:30].max() < 0.1  # the ink the logit does not see is not highlighted
    row, col = np.unravel_index(np.argmax(heat[2]), heat[2].shape)
    assert row < 4 and col >= 24
    np.testing.assert_array_equal(heat[1], 0.0)  # all-zero map stays zero (no NaN)
    # the other class has only negative evidence: ReLU leaves all-zero maps
    other = np.asarray(_cams(model, images, jnp.full((3,), 0))["stage4"])
    np.testing.assert_array_equal(other, 0.0)


def test_jit_vmap_agree_and_model_untouched(small, images32):
    before = jax.tree.map(np.asarray, nnx.state(small))
    batched = {t: np.asarray(_cams(small, images32, jnp.full((3,), t))["stage4"]) for t in (0, 1)}
    classes = jnp.array([1, 0, 1])
    mixed = np.asarray(_cams(small, images32, classes)["stage4"])
    for i, t in enumerate([1, 0, 1]):
        np.testing.assert_allclose(mixed[i], batched[t][i], atol=1e-6)

    def one_image(image, target):  # python-int default and a traced scalar class
        return grad_cam(small, image[None])[0], grad_cam(small, image[None], target_class=target)[0]

    default, per_class = jax.jit(jax.vmap(one_image))(images32, classes)
    np.testing.assert_allclose(np.asarray(default), batched[1], atol=1e-6)
    np.testing.assert_allclose(np.asarray(per_class), mixed, atol=1e-6)
    after = jax.tree.map(np.asarray, nnx.state(small))
    jax.tree.map(np.testing.assert_array_equal, before, after)
    # still in (default) training mode; the reference tests show running statistics were used
    assert small.stem_bn.use_running_average is False


# ------------------------------------------------------------------------ localisation scores
def test_page_grad_cam_is_the_gated_maximum_of_crop_maps(small):
    """Page maps against an independent assembly: crops cut by hand (grid step 16 plus the
    flush last column 24), raw Grad-CAM per crop (``normalize=False``), crops at or below the
    threshold dropped, pixel-wise maximum, page maximum 1."""
    pages = jax.random.uniform(jax.random.key(11), (2, 32, 56), F32)
    columns = (0, 16, 24)
    crops = jnp.stack([pages[:, :, c : c + 32] for c in columns], axis=1).reshape(-1, 32, 32)
    cam = nnx.jit(grad_cam, static_argnames=("layer", "normalize"))
    raw = np.asarray(cam(small, crops, layer="stage3", normalize=False)).reshape(2, 3, 32, 32)
    logits = nnx.jit(lambda m, x: m(x, use_running_average=True))(small, crops)
    probability = np.asarray(jax.nn.softmax(logits)[:, 1]).reshape(2, 3)
    threshold = float(np.sort(probability.ravel())[2:4].mean())  # drops the two least likely
    want = np.zeros((2, 32, 56), np.float32)
    for j, c in enumerate(columns):
        keep = (probability[:, j] > threshold)[:, None, None]
        want[:, :, c : c + 32] = np.maximum(want[:, :, c : c + 32], raw[:, j] * keep)
    want /= want.max(axis=(1, 2), keepdims=True)
    explain = nnx.jit(page_grad_cam, static_argnames=("size", "layer", "batch_size"))
    got = explain(small, pages, size=32, layer="stage3", threshold=threshold, batch_size=3)
    np.testing.assert_array_equal(np.asarray(got.origins), [[0, c] for c in columns])
    np.testing.assert_allclose(np.asarray(got.crop_probabilities), probability, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(got.probability), probability.max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(got.heatmaps), want, rtol=1e-4, atol=1e-6)
    # a raw map divided by its maximum is the normalised map
    normalised = np.asarray(cam(small, crops, layer="stage3", normalize=True))
    flat = raw.reshape(6, 32, 32)
    np.testing.assert_allclose(normalised, flat / flat.max(axis=(1, 2), keepdims=True),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    nothing = explain(small, pages, size=32, layer="stage3", threshold=1 - 1e-9, batch_size=3)
    assert not np.any(np.asarray(nothing.heatmaps))  # no crop called tremor: an empty map
    with pytest.raises(ValueError, match="stride=40"):
        page_grad_cam(small, pages, size=32, stride=40)
    with pytest.raises(ValueError, match="size=64"):
        page_grad_cam(small, pages, size=64)
    with pytest.raises(ValueError, match="threshold"):
        page_grad_cam(small, pages, size=32, threshold=1.0)
    with pytest.raises(ValueError, match="pages must have shape"):
        page_grad_cam(small, pages[0], size=32)
    with pytest.raises(TypeError, match="TremorResNet"):
        page_grad_cam(object(), pages, size=32)


def test_localisation_scores_hand_made():
    scores_jit = jax.jit(localisation_scores, static_argnames=("top_fraction", "tolerance_pixels"))
    maps = np.zeros((3, 10, 10), np.float32)
    masks = np.zeros((3, 10, 10), bool)
    maps[0, 2, 3] = 1.0  # peak inside the mask
    masks[0, 1:4, 2:5] = True
    maps[1, 7, 7] = 1.0  # peak two pixels (Chebyshev) from the mask
    masks[1, 2:6, 2:6] = True
    maps[2, 5, 5] = 1.0  # empty mask
    maps[0, 0, :5] = [0.9, 0.8, 0.7, 0.6, 0.5]  # the top 5 pixels (q = 5 %): (2,3) + (0,0..3)
    masks[0, 0, 2:5] = True  # mask: 3x3 + 3 = 12 pixels, 3 of them in the top 5
    scores = scores_jit(maps, masks, top_fraction=0.05)
    np.testing.assert_array_equal(np.asarray(scores.pointing_hit), [True, False, False])
    np.testing.assert_array_equal(np.asarray(scores.has_mask), [True, True, False])
    np.testing.assert_allclose(np.asarray(scores.iou), [3 / (5 + 12 - 3), 0.0, 0.0], rtol=1e-6)
    tol1 = scores_jit(maps, masks.astype(np.float32), top_fraction=0.05, tolerance_pixels=1)
    tol2 = scores_jit(maps, masks, top_fraction=0.05, tolerance_pixels=2)
    np.testing.assert_array_equal(np.asarray(tol1.pointing_hit), [True, False, False])
    np.testing.assert_array_equal(np.asarray(tol2.pointing_hit), [True, True, False])
    whole = scores_jit(maps, masks, top_fraction=1.0)  # IoU = |mask| / (H W)
    np.testing.assert_allclose(np.asarray(whole.iou), [0.12, 0.16, 0.0], rtol=1e-6)
    # ties (a flat map) are broken in raster order: exactly k = 5 pixels, the first row's
    flat = scores_jit(np.ones((1, 10, 10), np.float32), masks[:1], top_fraction=0.05)
    np.testing.assert_allclose(float(flat.iou[0]), 3 / 14, rtol=1e-6)
    assert bool(flat.pointing_hit[0]) is False  # arg-max = pixel (0, 0), outside the mask


def test_plot_gradcam():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = np.zeros((16, 16), np.float32)
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    ax = plot_gradcam(image[..., None], np.linspace(0, 1, 256).reshape(16, 16), mask,
                      title="tremor")
    assert len(ax.images) == 2 and ax.get_title() == "tremor"
    assert len(ax.collections) >= 1  # the mask contour
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="heatmap"):
        plot_gradcam(image, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="alpha"):
        plot_gradcam(image, image, alpha=2.0)


# ---------------------------------------------------------------------------------- bad input
def test_bad_inputs(small, imagenet, images32):
    with pytest.raises(ValueError, match="widths"):
        TremorResNet((4, 8, 8), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="widths"):
        TremorResNet((4, 8, 0, 8), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="stem"):
        TremorResNet(TINY, stem="tiny", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="num_classes"):
        TremorResNet(TINY, num_classes=1, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="shape"):
        small(np.zeros((32, 32), np.float32))
    with pytest.raises(ValueError, match="shape"):
        small(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match=">= 8"):
        small(np.zeros((2, 32, 4), np.float32))
    with pytest.raises(ValueError, match=">= 32"):
        imagenet(np.zeros((1, 16, 64), np.float32))
    with pytest.raises(TypeError, match="floating"):
        small(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="layer='stage5'"):
        grad_cam(small, images32, layer="stage5")
    with pytest.raises(ValueError, match="target_class=2"):
        grad_cam(small, images32, target_class=2)
    with pytest.raises(ValueError, match="target_class"):
        grad_cam(small, images32, target_class=np.array([0, 1]))
    with pytest.raises(ValueError, match="target_class"):
        grad_cam(small, images32, target_class=np.array([0.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="TremorResNet"):
        grad_cam(object(), images32)
    with pytest.raises(ValueError, match="perturbation"):
        jax.eval_shape(lambda: small.probe(images32, "stage4", np.zeros((3, 2, 2, 8), F32),
                                          use_running_average=True))
    with pytest.raises(TypeError, match="TremorResNet"):
        conv_layer_names(object())
    maps = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match="masks"):
        localisation_scores(maps, np.zeros((2, 8, 7)))
    with pytest.raises(ValueError, match="heatmaps"):
        localisation_scores(maps[0], maps[0])
    with pytest.raises(ValueError, match="top_fraction"):
        localisation_scores(maps, maps, top_fraction=0.0)
    with pytest.raises(ValueError, match="top_fraction"):
        localisation_scores(maps, maps, top_fraction=1.5)
    with pytest.raises(ValueError, match="tolerance_pixels"):
        localisation_scores(maps, maps, tolerance_pixels=-1)
    with pytest.raises(ValueError, match="tolerance_pixels"):
        localisation_scores(maps, maps, tolerance_pixels=1.5)


# ------------------------------------------------------------------------- training (slow)
def _blob_images(key, n, size=32, blob=6):
    """Faint noise; half the images carry a bright ``blob`` x ``blob`` square (label 1, mask)."""
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**31 - 1)))
    images = rng.uniform(0.0, 0.2, (n, size, size)).astype(np.float32)
    labels = np.arange(n) % 2
    masks = np.zeros((n, size, size), bool)
    for i in np.flatnonzero(labels):
        r, c = rng.integers(0, size - blob, 2)
        images[i, r:r + blob, c:c + blob] = 1.0
        masks[i, r:r + blob, c:c + blob] = True
    return images, labels.astype(np.int32), masks


@pytest.mark.slow
def test_trained_detector_points_at_the_blob():
    """Blob vs no blob (~30 s here): the trained network is accurate in inference mode and its
    stage-3 Grad-CAM points at the blob (seen: accuracy 1.0, hits 0.94, mean IoU 0.42; a random
    top-5 % region would have IoU ~0.03)."""
    from sjax.detect.train import fit, predict_logits

    train = _blob_images(jax.random.key(10), 256)
    test = _blob_images(jax.random.key(11), 64)
    # 16 steps per epoch: batch-norm running statistics (momentum 0.9) must catch up
    trained, history = fit(_filled(TINY, "small", jax.random.key(13)), train[:2],
                           key=jax.random.key(12), epochs=6, batch_size=16, learning_rate=3e-3)
    accuracy = np.mean(np.argmax(predict_logits(trained, test[0]), axis=1) == test[1])
    assert accuracy >= 0.95, history
    positive = test[1] == 1
    heat = nnx.jit(grad_cam, static_argnames="layer")(trained, test[0][positive], layer="stage3")
    scores = localisation_scores(heat, test[2][positive], tolerance_pixels=2)
    assert float(np.mean(scores.pointing_hit)) >= 0.8
    assert float(np.mean(scores.iou)) >= 0.2
