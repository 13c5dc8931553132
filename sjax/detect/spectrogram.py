"""Differentiable running spectra and a spectrogram CNN for earthquake / tremor / noise.

After Nakano et al. (2019, SRL 90(2A)): the running spectrum of each of the three
components is an image channel; a small VGG-style CNN classifies the stacked image into
`EVENT_CLASSES` = ``("earthquake", "tremor", "noise")``. Earthquakes are impulsive and broadband,
tremor is emergent, long and confined to roughly 2–8 Hz, and the band near 7–9 Hz separates
them.

`spectrogram` is a pure JAX short-time Fourier transform (periodic Hann window, frames by one
gather, ``jnp.fft.rfft``), so `SpectrogramClassifier` trains end to end from raw waveforms:
gradients flow through the STFT back to the samples.

Scaling (that of ``scipy.signal.stft(..., scaling="spectrum")``): for frame ``m`` and frequency
bin ``k``

    ``A[m, k] = |Σ_j w[j] x[m·hop + j] e^{−2πi jk/L}| / Σ_j w[j]``,

with ``L`` the window length in samples, so a sinusoid of amplitude ``a`` centred on a bin shows
``a/2`` there. The log form is ``log10(A + eps)``. Frames are not padded: the first starts at
sample 0 and the last ends at or before the last sample; the frame time is its centre.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sjax.detect.gpd import COMPONENTS

__all__ = [
    "EVENT_CLASSES",
    "Spectrogram",
    "SpectrogramAxes",
    "SpectrogramClassifier",
    "spectrogram",
    "spectrogram_axes",
    "plot_spectrogram",
]

EVENT_CLASSES: tuple[str, ...] = ("earthquake", "tremor", "noise")
"""Class order of `SpectrogramClassifier` logits and `sjax.detect.tremor` labels (0, 1, 2)."""

_BN = dict(momentum=0.9, epsilon=1e-5)


class SpectrogramAxes(NamedTuple):
    """Static description of a spectrogram grid (all NumPy / Python values).

    Attributes:
        frequencies: ``(n_frequencies,)`` float64 bin frequencies in Hz, ``fmin <= f <= fmax``.
        times: ``(n_frames,)`` float64 frame-centre times in s after the first sample.
        window_samples: window (and FFT) length ``L`` in samples.
        hop_samples: samples between consecutive frame starts.
        first_bin: index of ``frequencies[0]`` among the ``L // 2 + 1`` rfft bins.
    """

    frequencies: np.ndarray
    times: np.ndarray
    window_samples: int
    hop_samples: int
    first_bin: int


class Spectrogram(NamedTuple):
    """Output of `spectrogram`.

    Attributes:
        values: ``(..., n_frames, n_frequencies)`` amplitude (input unit, see the module doc for
            the scaling) or its ``log10(· + eps)``; dtype of the input.
        frequencies: ``(n_frequencies,)`` bin frequencies in Hz.
        times: ``(n_frames,)`` frame-centre times in s after the first sample.
    """

    values: jax.Array
    frequencies: np.ndarray
    times: np.ndarray


def _positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value} must be positive and finite")
    return value


def spectrogram_axes(
    n_samples: int,
    sampling_rate: float,
    *,
    window_seconds: float = 2.56,
    overlap: float = 0.5,
    fmin: float = 0.5,
    fmax: float = 20.0,
) -> SpectrogramAxes:
    """Frequency and time axes (and window/hop sizes) of `spectrogram` for a record length.

    The window is ``L = round(window_seconds · sampling_rate)`` samples and the hop
    ``max(1, round(L · (1 − overlap)))`` samples; there are ``1 + (n_samples − L) // hop`` frames.

    Args:
        n_samples: samples per record (the last input axis of `spectrogram`).
        sampling_rate: Hz.
        window_seconds: Hann window length in s.
        overlap: fraction of the window shared by consecutive frames, in [0, 1).
        fmin, fmax: kept frequency band in Hz, ``0 <= fmin < fmax <= sampling_rate / 2``.

    Returns:
        `SpectrogramAxes`.

    Raises:
        ValueError: naming the argument, for a non-positive sampling rate or window, an
            ``overlap`` outside [0, 1), ``fmax`` above the Nyquist frequency, an empty band, a
            window shorter than 2 samples or longer than the record.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r} must be a positive integer")
    sampling_rate = _positive("sampling_rate", sampling_rate)
    window_seconds = _positive("window_seconds", window_seconds)
    overlap = float(overlap)
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap={overlap} must lie in [0, 1)")
    fmin, fmax = float(fmin), float(fmax)
    nyquist = sampling_rate / 2.0
    if not (math.isfinite(fmin) and fmin >= 0.0):
        raise ValueError(f"fmin={fmin} Hz must be finite and >= 0")
    if not fmax > fmin:
        raise ValueError(f"fmax={fmax} Hz must exceed fmin={fmin} Hz")
    if fmax > nyquist:
        raise ValueError(
            f"fmax={fmax:g} Hz exceeds the Nyquist frequency {nyquist:g} Hz of "
            f"sampling_rate={sampling_rate:g} Hz"
        )
    window = int(round(window_seconds * sampling_rate))
    if window < 2:
        raise ValueError(
            f"window_seconds={window_seconds:g} s is {window} sample(s) at {sampling_rate:g} Hz; "
            "needs >= 2"
        )
    if window > n_samples:
        raise ValueError(
            f"window_seconds={window_seconds:g} s ({window} samples) is longer than the record "
            f"(n_samples={n_samples}, {n_samples / sampling_rate:g} s)"
        )
    hop = max(1, int(round(window * (1.0 - overlap))))
    bins = np.fft.rfftfreq(window, 1.0 / sampling_rate)
    keep = np.flatnonzero((bins >= fmin) & (bins <= fmax))
    if keep.size == 0:
        raise ValueError(
            f"no frequency bin in [fmin, fmax] = [{fmin:g}, {fmax:g}] Hz at a bin spacing of "
            f"{bins[1]:g} Hz; widen the band or lengthen window_seconds"
        )
    n_frames = 1 + (n_samples - window) // hop
    times = (np.arange(n_frames) * hop + window / 2.0) / sampling_rate
    return SpectrogramAxes(
        frequencies=bins[keep], times=times, window_samples=window, hop_samples=hop,
        first_bin=int(keep[0]),
    )  # fmt: skip


def _safe_abs(z: jax.Array) -> jax.Array:
    """``|z|`` with a zero (not NaN) gradient where ``z = 0``."""
    power = jnp.real(z) ** 2 + jnp.imag(z) ** 2
    positive = power > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, power, 1.0)), 0.0)


def spectrogram(
    waveforms: jax.Array,
    sampling_rate: float,
    *,
    window_seconds: float = 2.56,
    overlap: float = 0.5,
    fmin: float = 0.5,
    fmax: float = 20.0,
    log: bool = True,
    eps: float = 1e-10,
) -> Spectrogram:
    """Running amplitude spectrum (STFT magnitude, Hann window) of records along the last axis.

    Pure and differentiable (jit / vmap / grad); the gradient is finite everywhere (the
    amplitude's gradient is taken as 0 where a bin is exactly 0). Window geometry and axes as in
    `spectrogram_axes`; scaling as in the module doc (``scipy.signal.stft`` with
    ``window="hann", nperseg=L, noverlap=L − hop, boundary=None, padded=False,
    detrend=False, scaling="spectrum"``, restricted to ``fmin <= f <= fmax``).

    Args:
        waveforms: ``(..., n_samples)`` real samples (any unit; float32 or float64).
        sampling_rate: Hz (a Python number: the axes are static).
        window_seconds: Hann window length in s (default 2.56 s: 256 samples at 100 Hz).
        overlap: fraction of overlap of consecutive windows, in [0, 1).
        fmin, fmax: kept band in Hz; ``fmax`` must not exceed the Nyquist frequency.
        log: return ``log10(amplitude + eps)`` instead of the amplitude.
        eps: positive floor added before the logarithm, in the amplitude's unit.

    Returns:
        `Spectrogram` with ``values`` of shape ``(..., n_frames, n_frequencies)`` in the input's
        float dtype, and the NumPy ``frequencies`` (Hz) and ``times`` (s) axes.

    Raises:
        TypeError: for complex or non-numeric ``waveforms``.
        ValueError: for a scalar input, a non-positive ``eps`` and the cases of
            `spectrogram_axes`.
    """
    waveforms = jnp.asarray(waveforms)
    if jnp.issubdtype(waveforms.dtype, jnp.complexfloating) or not jnp.issubdtype(
        waveforms.dtype, jnp.number
    ):
        raise TypeError(f"waveforms must be real numbers, got dtype {waveforms.dtype}")
    if waveforms.ndim < 1:
        raise ValueError("waveforms must have at least one axis (..., n_samples); got a scalar")
    if not jnp.issubdtype(waveforms.dtype, jnp.floating):
        waveforms = waveforms.astype(jnp.result_type(float))
    if log and not (math.isfinite(float(eps)) and float(eps) > 0):
        raise ValueError(f"eps={eps} must be positive and finite when log=True")
    axes = spectrogram_axes(
        waveforms.shape[-1], sampling_rate, window_seconds=window_seconds, overlap=overlap,
        fmin=fmin, fmax=fmax,
    )  # fmt: skip
    length, hop = axes.window_samples, axes.hop_samples
    n_frames, n_freq = len(axes.times), len(axes.frequencies)
    window = np.hanning(length + 1)[:-1]  # periodic Hann (scipy's get_window("hann", L))
    starts = np.arange(n_frames) * hop
    frames = waveforms[..., starts[:, None] + np.arange(length)]  # (..., n_frames, L)
    scaled = frames * jnp.asarray(window / window.sum(), dtype=waveforms.dtype)
    spectrum = jnp.fft.rfft(scaled, axis=-1)[..., axes.first_bin : axes.first_bin + n_freq]
    values = _safe_abs(spectrum)
    if log:
        values = jnp.log10(values + jnp.asarray(eps, dtype=values.dtype))
    return Spectrogram(values=values, frequencies=axes.frequencies, times=axes.times)


class SpectrogramClassifier(nnx.Module):
    """Earthquake / tremor / noise classifier on three-component running spectra.

    Forward pass for raw waveforms ``x`` of shape ``(batch, n_samples, 3)`` (channels last,
    components N, E, Z, any unit, ``n_samples`` long enough for one window):

    1. each record is divided by its RMS over samples and components (the log floor ``eps``
       then means the same for any unit);
    2. ``log10`` `spectrogram` of each component → ``(batch, n_frames, n_frequencies, 3)``
       image, components as channels;
    3. per-image normalisation: minus the image mean, over the image standard deviation (over
       frames, frequencies and channels, so relative component levels are kept);
    4. VGG-style blocks: per entry ``c`` of ``channels``, ``convs_per_block`` × (3×3 conv 'same'
       → batch-norm → ReLU) then 2×2 max-pool (skipped once an image side is 1);
    5. global mean and max over the image, concatenated (``2 · channels[-1]`` features) →
       dense ``hidden`` → ReLU → dense 3 logits in `EVENT_CLASSES` order.

    The global pooling makes the network independent of the record length. Batch-norm follows
    the module mode (``model.train()`` / ``model.eval()``) unless ``use_running_average`` is
    given. Everything is differentiable, including the STFT.

    Example:
        >>> model = SpectrogramClassifier(100.0, rngs=nnx.Rngs(0))
        >>> logits = model(waveforms)  # waveforms (b, 6000, 3) at 100 Hz -> (b, 3)

    Args:
        sampling_rate: Hz of the input records.
        window_seconds, overlap, fmin, fmax: passed to `spectrogram`.
        channels: output channels of the conv blocks.
        convs_per_block: convolutions per block (>= 1).
        hidden: width of the hidden dense layer.
        eps: log floor relative to the record RMS.
        rngs: random streams for initialisation (``nnx.Rngs(seed)``).
        dtype: computation dtype (``None``: promote inputs and parameters).
        param_dtype: parameter dtype (float32).

    Raises:
        ValueError: naming the argument, for bad layer sizes and the spectrogram settings that
            `spectrogram_axes` rejects.
    """

    def __init__(
        self,
        sampling_rate: float,
        *,
        window_seconds: float = 2.56,
        overlap: float = 0.5,
        fmin: float = 0.5,
        fmax: float = 20.0,
        channels: tuple[int, ...] = (16, 32, 64),
        convs_per_block: int = 1,
        hidden: int = 64,
        eps: float = 1e-6,
        rngs: nnx.Rngs,
        dtype=None,
        param_dtype=jnp.float32,
    ):
        if len(channels) < 1 or not all(isinstance(c, int) and c >= 1 for c in channels):
            raise ValueError(f"channels={channels!r} must be a non-empty tuple of positive ints")
        if not isinstance(convs_per_block, int) or convs_per_block < 1:
            raise ValueError(f"convs_per_block={convs_per_block!r} must be an integer >= 1")
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden={hidden!r} must be a positive integer")
        _positive("eps", eps)
        # validate the STFT settings once, on a record of exactly one window
        window = max(2, int(round(float(window_seconds) * float(sampling_rate))))
        spectrogram_axes(
            window, sampling_rate, window_seconds=window_seconds, overlap=overlap, fmin=fmin,
            fmax=fmax,
        )  # fmt: skip
        self.stft = dict(
            sampling_rate=float(sampling_rate), window_seconds=float(window_seconds),
            overlap=float(overlap), fmin=float(fmin), fmax=float(fmax), eps=float(eps),
        )  # fmt: skip
        common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        widths = [len(COMPONENTS)] + [c for c in channels for _ in range(convs_per_block)]
        self.convs_per_block = convs_per_block
        self.convs = nnx.List(
            [
                nnx.Conv(c_in, c_out, (3, 3), padding="SAME", **common)
                for c_in, c_out in zip(widths[:-1], widths[1:])
            ]
        )
        self.norms = nnx.List([nnx.BatchNorm(c, **_BN, **common) for c in widths[1:]])
        self.hidden = nnx.Linear(2 * channels[-1], hidden, **common)
        self.output = nnx.Linear(hidden, len(EVENT_CLASSES), **common)

    def images(self, x: jax.Array) -> jax.Array:
        """Normalised log-spectrogram images ``(batch, n_frames, n_frequencies, 3)`` of raw
        waveforms ``x`` ``(batch, n_samples, 3)`` (steps 1–3 of the class doc)."""
        x = jnp.asarray(x)
        if x.ndim != 3 or x.shape[-1] != len(COMPONENTS):
            raise ValueError(
                f"x must have shape (batch, n_samples, {len(COMPONENTS)}) (components "
                f"{'/'.join(COMPONENTS)} last), got {tuple(x.shape)}"
            )
        settings = dict(self.stft)
        eps = settings.pop("eps")
        sampling_rate = settings.pop("sampling_rate")
        power = jnp.mean(x**2, axis=(1, 2), keepdims=True)
        x = x * jax.lax.rsqrt(jnp.where(power > 0, power, 1.0))
        spec = spectrogram(jnp.swapaxes(x, 1, 2), sampling_rate, log=True, eps=eps, **settings)
        image = jnp.moveaxis(spec.values, 1, -1)  # (batch, frames, freqs, 3)
        mean = jnp.mean(image, axis=(1, 2, 3), keepdims=True)
        std = jnp.sqrt(jnp.mean((image - mean) ** 2, axis=(1, 2, 3), keepdims=True) + 1e-12)
        return (image - mean) / std

    def __call__(self, x: jax.Array, *, use_running_average: bool | None = None) -> jax.Array:
        """Logits ``(batch, 3)`` in `EVENT_CLASSES` order for raw waveforms ``(batch, n, 3)``."""
        h = self.images(x)
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = jax.nn.relu(norm(conv(h), use_running_average=use_running_average))
            if (i + 1) % self.convs_per_block == 0 and min(h.shape[1:3]) >= 2:
                h = nnx.max_pool(h, window_shape=(2, 2), strides=(2, 2), padding="VALID")
        features = jnp.concatenate([jnp.mean(h, axis=(1, 2)), jnp.max(h, axis=(1, 2))], axis=-1)
        return self.output(jax.nn.relu(self.hidden(features)))


def plot_spectrogram(
    ax,
    spec: Spectrogram,
    *,
    title: str = "",
    cmap: str = "viridis",
    log_frequency: bool = False,
    colorbar_label: str | None = "log10 amplitude",
):
    """Draw one running spectrum (time on x, frequency on y) on a Matplotlib axes.

    Args:
        ax: a ``matplotlib.axes.Axes``.
        spec: a `Spectrogram` whose ``values`` are 2-D ``(n_frames, n_frequencies)`` (index a
            batch first, e.g. ``spec._replace(values=spec.values[0, 2])`` for record 0, Z).
        title: axes title.
        cmap: colour map name.
        log_frequency: logarithmic frequency axis (needs ``frequencies > 0``).
        colorbar_label: label of an added colour bar; ``None`` adds none.

    Returns:
        The ``QuadMesh`` drawn (its array holds the ``(n_frequencies, n_frames)`` values).

    Raises:
        ValueError: if ``spec.values`` is not 2-D matching the axes, or ``log_frequency`` with a
            zero-frequency bin.
    """
    values = np.asarray(spec.values)
    times, freqs = np.asarray(spec.times), np.asarray(spec.frequencies)
    if values.shape != (len(times), len(freqs)):
        raise ValueError(
            f"spec.values must have shape (n_frames, n_frequencies) = ({len(times)}, "
            f"{len(freqs)}), got {values.shape}"
        )
    if log_frequency and freqs[0] <= 0:
        raise ValueError(f"log_frequency needs frequencies > 0, got fmin bin {freqs[0]:g} Hz")
    mesh = ax.pcolormesh(times, freqs, values.T, shading="nearest", cmap=cmap)
    if log_frequency:
        ax.set_yscale("log")
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", title=title)
    if colorbar_label is not None:
        ax.figure.colorbar(mesh, ax=ax, label=colorbar_label)
    return mesh
