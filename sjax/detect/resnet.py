"""ResNet-18-style tremor detector for drum-record image crops (Kaneko et al. 2021, LNCS 12705:31).

A Flax NNX ResNet-18 (He et al. 2016, BasicBlock) with a one-channel input and a two-class head
``[no-tremor, tremor]``. Inputs are grey-scale crops ``(batch, H, W)`` or ``(batch, H, W, 1)``,
float in ``[0, 1]`` with 1 = ink (typically 128 × 128).

=========  ===========================================================  ==================
stage      layers (``widths = (w1, w2, w3, w4)``)                       output (128², std)
=========  ===========================================================  ==================
stem       ``"imagenet"``: conv 7×7/2 w1 → BN → ReLU → max-pool 3×3/2   (b, 32, 32, w1)
           ``"small"``: conv 3×3/1 w1 → BN → ReLU (no pool)             (b, 128, 128, w1)
stage1     2 BasicBlocks, w1, stride 1                                  (b, 32, 32, w1)
stage2     2 BasicBlocks, w2, first stride 2 (projection shortcut)      (b, 16, 16, w2)
stage3     2 BasicBlocks, w3, first stride 2 (projection shortcut)      (b, 8, 8, w3)
stage4     2 BasicBlocks, w4, first stride 2 (projection shortcut)      (b, 4, 4, w4)
head       global average pool → dense → 2 logits                       (b, 2)
=========  ===========================================================  ==================

A BasicBlock is ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with 3×3 convs (the
first one strided); the shortcut is the identity, or a 1×1 strided conv → BN when the stride or
the width changes (torchvision's "option B"). Convs have no bias (BN follows), padding is
symmetric ``k // 2`` as in torchvision (so an even-sized map halves exactly and features stay
centred on their receptive fields, which matters for Grad-CAM), BN uses PyTorch's defaults
(momentum 0.1, i.e. Flax ``momentum=0.9``; ε = 1e-5), conv kernels are He-normal (fan-out).

**Widths.** The default ``widths=(16, 32, 64, 128)`` is a *slim* ResNet-18: the same depth and
layout with a quarter of the channels, so ~1/16 of the parameters (700 786 trainable with the
``"imagenet"`` stem) and of the multiply-adds — a CPU-trainable model for binary tremor
detection on synthetic images, where the full width has no documented benefit (the paper's depth
and width are not known; Kaneko et al. 2021). ``widths=(64, 128, 256, 512)`` is the standard
ResNet-18: 11 171 266 trainable parameters for one input channel and two classes (torchvision's
11 689 512 for 3 channels and 1000 classes, minus 7·7·2·64 = 6 272 stem weights, minus the
512·1000 + 1000 head, plus the 512·2 + 2 head).

**Layers for Grad-CAM.** `conv_layer_names` lists the activations the network exposes, in
forward order: ``"stem"`` (after stem BN → ReLU, before the pool), and for every block
``"stageS.blockB.conv1"`` (after conv1 → BN → ReLU), ``"stageS.blockB.conv2"`` (after conv2 →
BN, before the residual sum) and ``"stageS.blockB"`` (block output); ``"stageS"`` is an alias of
its last block's output (S = 1..4, B = 1..2). `TremorResNet.probe` returns the logits together
with any of them, optionally with a perturbation added there — the hook `sjax.detect.gradcam`
differentiates through.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = [
    "CLASSES",
    "STEMS",
    "TremorResNet",
    "BasicBlock",
    "conv_layer_names",
]

CLASSES: tuple[str, ...] = ("no-tremor", "tremor")
"""Output class order of `TremorResNet`: index 0 = no tremor, 1 = tremor."""

STEMS: tuple[str, ...] = ("imagenet", "small")
"""Stem choices: ``"imagenet"`` (7×7/2 conv + 3×3/2 max-pool, ÷4) or ``"small"`` (3×3/1, ÷1)."""

_BLOCKS_PER_STAGE = 2
_STRIDES = (1, 2, 2, 2)
_BN = dict(momentum=0.9, epsilon=1e-5)  # PyTorch BatchNorm2d defaults
_HE_FAN_OUT = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")


def _conv(c_in, c_out, kernel, stride, common):
    pad = kernel // 2
    return nnx.Conv(
        c_in,
        c_out,
        (kernel, kernel),
        strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        use_bias=False,
        kernel_init=_HE_FAN_OUT,
        **common,
    )


class BasicBlock(nnx.Module):
    """ResNet BasicBlock: two 3×3 conv → BN layers plus an identity or projection shortcut.

    Args:
        in_features: input channels ``c_in``.
        out_features: output channels ``c_out``.
        stride: stride of the first conv and of the projection (1 or 2).
        rngs: random streams for initialisation.
        dtype: computation dtype (``None``: promote inputs and parameters).
        param_dtype: parameter dtype.

    Calling ``block(x, use_running_average, tap, prefix)`` maps ``(b, h, w, c_in)`` to
    ``(b, ceil(h / stride), ceil(w / stride), c_out)``; ``tap(names, a) -> a`` is called on the
    activations ``prefix + ".conv1"``, ``prefix + ".conv2"`` (see `TremorResNet.probe`); the block
    output is tapped by the caller.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        stride: int,
        rngs: nnx.Rngs,
        dtype=None,
        param_dtype=jnp.float32,
    ):
        common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.conv1 = _conv(in_features, out_features, 3, stride, common)
        self.bn1 = nnx.BatchNorm(out_features, **_BN, **common)
        self.conv2 = _conv(out_features, out_features, 3, 1, common)
        self.bn2 = nnx.BatchNorm(out_features, **_BN, **common)
        if stride != 1 or in_features != out_features:
            self.shortcut = _conv(in_features, out_features, 1, stride, common)
            self.shortcut_bn = nnx.BatchNorm(out_features, **_BN, **common)
        else:
            self.shortcut = None
            self.shortcut_bn = None

    def __call__(self, x, use_running_average, tap, prefix: str):
        """``(b, h, w, c_in)`` → ``(b, h', w', c_out)`` (see the class docstring)."""
        y = jax.nn.relu(self.bn1(self.conv1(x), use_running_average=use_running_average))
        y = tap((prefix + ".conv1",), y)
        y = self.bn2(self.conv2(y), use_running_average=use_running_average)
        y = tap((prefix + ".conv2",), y)
        if self.shortcut is not None:
            x = self.shortcut_bn(self.shortcut(x), use_running_average=use_running_average)
        return jax.nn.relu(y + x)


class TremorResNet(nnx.Module):
    """ResNet-18-layout binary tremor classifier for one-channel image crops.

    Example:
        >>> model = TremorResNet(rngs=nnx.Rngs(0))            # slim, ~0.70 M parameters
        >>> logits = model(images)                            # images (b, 128, 128) in [0, 1]
        >>> probs = jax.nn.softmax(logits, -1)[:, 1]          # P(tremor)

    Args:
        widths: channels of the four stages; default slim ``(16, 32, 64, 128)``; the standard
            ResNet-18 is ``(64, 128, 256, 512)`` (see the module docstring).
        stem: ``"imagenet"`` (7×7 stride-2 conv + 3×3 stride-2 max-pool: total stride 32, stage-4
            maps of H/32; the standard choice for 128² crops) or ``"small"`` (3×3 stride-1 conv,
            no pool: total stride 8, finer Grad-CAM maps, 16× the compute).
        num_classes: number of logits (2: `CLASSES`).
        rngs: random streams for initialisation (``nnx.Rngs(seed)``).
        dtype: computation dtype (``None``: promote inputs and parameters).
        param_dtype: parameter dtype (float32).

    Calling ``model(images)`` with ``images`` of shape ``(b, H, W)`` or ``(b, H, W, 1)`` (float,
    1 = ink, H and W at least `min_size`) returns logits ``(b, num_classes)``. Batch-norm follows
    the module mode (``model.train()`` / ``model.eval()``; training mode by default) unless
    ``use_running_average`` is given.

    Raises:
        ValueError: for widths that are not four positive integers, an unknown ``stem`` or
            ``num_classes < 2``.
    """

    def __init__(
        self,
        widths: tuple[int, int, int, int] = (16, 32, 64, 128),
        *,
        stem: str = "imagenet",
        num_classes: int = len(CLASSES),
        rngs: nnx.Rngs,
        dtype=None,
        param_dtype=jnp.float32,
    ):
        widths = tuple(widths)
        if len(widths) != 4 or not all(isinstance(w, int) and w >= 1 for w in widths):
            raise ValueError(f"widths={widths} must be four positive integers (one per stage)")
        if stem not in STEMS:
            raise ValueError(f"stem={stem!r} must be one of {STEMS}")
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(f"num_classes={num_classes} must be an integer >= 2")
        common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.widths = widths
        self.stem_kind = stem
        self.num_classes = num_classes
        self.stem = _conv(1, widths[0], 7 if stem == "imagenet" else 3,
                          2 if stem == "imagenet" else 1, common)
        self.stem_bn = nnx.BatchNorm(widths[0], **_BN, **common)
        blocks = []
        c_in = widths[0]
        for c_out, stride in zip(widths, _STRIDES):
            for b in range(_BLOCKS_PER_STAGE):
                blocks.append(BasicBlock(c_in, c_out, stride=stride if b == 0 else 1, **common))
                c_in = c_out
        self.blocks = nnx.List(blocks)
        self.head = nnx.Linear(widths[-1], num_classes, **common)

    @property
    def min_size(self) -> int:
        """Smallest accepted image height/width in pixels: the total stride (32 or 8), so every
        stage-4 cell summarises at least one full stride block of the input."""
        return (4 if self.stem_kind == "imagenet" else 1) * 2 ** (len(_STRIDES) - 1)

    def _check_images(self, images) -> jax.Array:
        images = jnp.asarray(images)
        if not jnp.issubdtype(images.dtype, jnp.floating):
            raise TypeError(
                f"images must be floating point in [0, 1] (1 = ink), got dtype {images.dtype}"
            )
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3:
            raise ValueError(
                f"images must have shape (batch, H, W) or (batch, H, W, 1), got {images.shape}"
            )
        if min(images.shape[1:]) < self.min_size:
            raise ValueError(
                f"images of shape {images.shape} are too small: H and W must be >= "
                f"{self.min_size} (the total stride of the {self.stem_kind!r} stem and stages)"
            )
        return images[..., None]

    def probe(
        self,
        images: jax.Array,
        layer: str,
        perturbation: jax.Array | None = None,
        *,
        use_running_average: bool | None = None,
    ) -> tuple[jax.Array, jax.Array]:
        """Logits and the activation at ``layer``, optionally perturbed there.

        The forward pass is the ordinary one except that ``perturbation`` (if given) is added to
        the activation at ``layer`` before the rest of the network uses it, so
        ``jax.grad`` of a logit with respect to ``perturbation`` at zero is the gradient of that
        logit with respect to the activation. Pure (nothing is stored on the module);
        jit/vmap/grad-friendly.

        Args:
            images: ``(b, H, W)`` or ``(b, H, W, 1)`` float images in ``[0, 1]``.
            layer: one of `conv_layer_names` (e.g. ``"stage4"``, ``"stage2.block1.conv1"``).
            perturbation: ``None`` or an array of the activation's shape
                ``(b, h, w, channels)``, added to it.
            use_running_average: batch-norm mode (``None``: the module's mode).

        Returns:
            ``(logits, activation)``: ``(b, num_classes)`` logits and the (perturbed) activation
            ``(b, h, w, channels)`` at ``layer``.

        Raises:
            ValueError: for an unknown ``layer`` or a ``perturbation`` of the wrong shape.
        """
        names = conv_layer_names(self)
        if layer not in names:
            raise ValueError(f"layer={layer!r} is not one of conv_layer_names(model): {names}")
        found = []

        def tap(aliases, a):
            if layer in aliases:
                if perturbation is not None:
                    if tuple(jnp.shape(perturbation)) != a.shape:
                        raise ValueError(
                            f"perturbation has shape {tuple(jnp.shape(perturbation))}, but the "
                            f"activation at layer={layer!r} has shape {a.shape}"
                        )
                    a = a + perturbation
                found.append(a)
            return a

        logits = self._forward(self._check_images(images), use_running_average, tap)
        return logits, found[0]

    def __call__(self, images: jax.Array, *, use_running_average: bool | None = None):
        """Logits ``(b, num_classes)`` for images ``(b, H, W)`` or ``(b, H, W, 1)``."""
        return self._forward(self._check_images(images), use_running_average, lambda _, a: a)

    def _forward(self, x, use_running_average, tap):
        x = jax.nn.relu(self.stem_bn(self.stem(x), use_running_average=use_running_average))
        x = tap(("stem",), x)
        if self.stem_kind == "imagenet":
            x = nnx.max_pool(x, window_shape=(3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for i, block in enumerate(self.blocks):
            stage, b = divmod(i, _BLOCKS_PER_STAGE)
            prefix = f"stage{stage + 1}.block{b + 1}"
            x = block(x, use_running_average, tap, prefix)
            last = b == _BLOCKS_PER_STAGE - 1
            x = tap((prefix,) + ((f"stage{stage + 1}",) if last else ()), x)
        return self.head(jnp.mean(x, axis=(1, 2)))


def conv_layer_names(model: TremorResNet) -> tuple[str, ...]:
    """Names of the activations of a `TremorResNet` usable by `TremorResNet.probe` and Grad-CAM.

    Returns, in forward order: ``"stem"``; for each stage S = 1..4 and block B = 1..2
    ``"stageS.blockB.conv1"`` (after conv1 → BN → ReLU), ``"stageS.blockB.conv2"`` (after
    conv2 → BN, before the residual sum), ``"stageS.blockB"`` (block output, after the residual
    ReLU); and after each stage's last block its alias ``"stageS"`` (the stage output, the usual
    Grad-CAM target; ``"stage4"`` is the last conv layer).

    Raises:
        TypeError: if ``model`` is not a `TremorResNet`.
    """
    if not isinstance(model, TremorResNet):
        raise TypeError(f"model must be a TremorResNet, got {type(model).__name__}")
    names = ["stem"]
    for s in range(1, len(_STRIDES) + 1):
        for b in range(1, _BLOCKS_PER_STAGE + 1):
            prefix = f"stage{s}.block{b}"
            names += [prefix + ".conv1", prefix + ".conv2", prefix]
        names.append(f"stage{s}")
    return tuple(names)
