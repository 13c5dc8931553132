"""Synthetic paper drum-record pages with tremor, and helicorder rendering (Kaneko et al. 2021,
LNCS 12705:31).

Kaneko et al. (2021) look for deep low-frequency tremor on 50-year-old paper drum records: the
tremor is small, much faster than the drum resolves, emergent, lasts minutes, often continues on
consecutive lines and overlaps neighbouring traces, so the traces cannot be digitised and a CNN
classifies image crops instead. This module makes such images.

**Image convention.** An image is ``(height, width)`` float32 *ink darkness* in ``[0, 1]``:
``1`` = full ink, ``0`` = blank paper (plot it with a reversed grey map, see `plot_page`). Row
index grows downwards; a positive trace displacement moves the pen *up* (towards row 0). Pixel
``(r, c)`` covers rows ``[r − ½, r + ½]``; a line with baseline ``offset`` is centred on row
coordinate ``offset``. Trace amplitudes are in pixels.

**Rendering** (`render_traces`): each line's samples are spread evenly over the pixel columns
(many samples per column); every column is inked over the ``[min, max]`` envelope of the pen path
inside it (the segment joining consecutive samples counts, so the line is continuous) widened by
``ink_width / 2`` on both sides, with exact box anti-aliasing (a pixel's darkness is the fraction
of its height the inked interval covers). Oscillations faster than a column therefore fill a
band, as on real drum records. Lines are layered as ``1 − Π(1 − ink)`` and the result is
Gaussian-blurred.

**Pages** (`drum_pages`): one continuous trace of ``n_lines × seconds_per_line`` seconds (one
line per drum revolution, default 15 min) is cut into lines, so events crossing a line's end go
on at the start of the next one. It is sampled at ``fs = samples_per_column × width /
seconds_per_line`` Hz (default 8 × 512 / 900 s ≈ 4.6 Hz, while the paper moves only ≈ 0.57 px/s)
and is the sum of

* background noise: ``1/f`` noise (flat below ``1 / seconds_per_line``) plus microseism
  (band 0.7–1.4 × a random peak frequency in 0.12–0.22 Hz), which alone already thickens a
  trace a little;
* local earthquakes (0 … ``max_quakes`` per page): white (broadband) noise under an envelope
  with a 0.5 s rise and an exponential coda of 8–45 s decay time; log-uniform sizes, big ones
  cross neighbouring lines (hard negatives);
* a teleseism (probability ``teleseism_probability``): a 0.3–1 Hz body-wave part with 1–3 min
  decay, then 5–15 min later long-period (15–40 s) surface waves decaying over 5–15 min, so they
  show as resolved wiggles over one or two lines (hard negatives);
* tremor (probability ``tremor_probability``): one episode of 1–4 bursts inside a window of up to
  ``1.5 × seconds_per_line`` (so it often continues on 2–3 lines); each burst lasts 2–8 min with
  logistic (emergent) 20–60 s ramps; its carrier is band-limited noise in
  ``[min(2, f_N/2), min(8, 0.95 f_N)]`` Hz (``f_N = fs/2``). True 2–8 Hz tremor lies above the
  trace Nyquist at the default sampling, but either way it has >= 2 cycles per pixel column, so its
  per-column envelope — all the drum shows — is the same: a fuzzy, thickened band;
* minute marks: rectangular 1.5–3 s pen steps of 1.5–3 px every 60 s.

The trace is clipped to ``±2.5`` line spacings (pen travel), sheared by a small random tilt
(``±tilt`` rows per column, a slight page rotation) and rendered with random ink width and blur;
the page is ``paper + (1 − paper) · contrast · ink`` with paper = base tint + smooth shading +
grain, clipped to ``[0, 1]``.

The tremor mask marks pixels covered at least half by a tremor line's ink in columns where the
tremor envelope (RMS, px) is at least ``mask_threshold``, dilated by ``mask_dilation`` pixels.

Every draw comes from an explicit ``jax.random`` key: page ``i`` of `drum_pages` uses
``jax.random.fold_in(key, i)``, so it does not depend on ``n_pages``.

Example:
    >>> import jax
    >>> pages = drum_pages(jax.random.key(0), 8)
    >>> crops = page_crops(pages, size=128)
    >>> train, test = split_by_page(crops, jax.random.key(1), test_fraction=0.25)
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import obspy

__all__ = [
    "DrumPages",
    "PageCrops",
    "render_traces",
    "drum_pages",
    "page_crops",
    "split_by_page",
    "helicorder_image",
    "plot_page",
]

_PEN_LIMIT = 2.5  # line spacings: the pen cannot travel further from its baseline
_PAPER_GRID = (4, 8)  # coarse grid of the smooth paper shading
_MAX_BURSTS = 4  # tremor bursts per episode (1 … 4)
_SCALAR_DRAWS = 27  # scalar uniforms per page in `_page` (vectors come on top)
_COVERED = 0.5  # fraction of a pixel's height that the ink must cover to count as trace


class DrumPages(NamedTuple):
    """Output of `drum_pages` (shapes for ``n`` pages of ``H × W`` pixels, ``L`` lines).

    Attributes:
        images: ``(n, H, W)`` float32 ink darkness in ``[0, 1]`` (1 = ink, 0 = paper).
        tremor_mask: ``(n, H, W)`` bool, the tremor-bearing trace pixels (dilated).
        has_tremor: ``(n,)`` bool, the page has a tremor episode (iff its mask is non-empty).
        tremor_lines: ``(n, L)`` bool, lines that carry tremor above ``mask_threshold``.
        n_quakes: ``(n,)`` int32 number of local earthquakes on the page.
        has_teleseism: ``(n,)`` bool.
        line_offsets: ``(n, L)`` float32 baseline row of each line at the page's centre column.
        seconds_per_line: seconds of trace per line (one drum revolution), a Python float.
    """

    images: jax.Array
    tremor_mask: jax.Array
    has_tremor: jax.Array
    tremor_lines: jax.Array
    n_quakes: jax.Array
    has_teleseism: jax.Array
    line_offsets: jax.Array
    seconds_per_line: float


class PageCrops(NamedTuple):
    """Square crops of pages with tremor labels (``m`` crops of ``size × size`` pixels).

    Attributes:
        images: ``(m, size, size)`` float32 ink darkness in ``[0, 1]``.
        masks: ``(m, size, size)`` bool tremor masks.
        labels: ``(m,)`` int32, 1 = tremor in the crop, 0 = none.
        page_index: ``(m,)`` int32 index of the source page (split by this, not by crop).
        origin: ``(m, 2)`` int32 (row, column) of the crop's top-left pixel in its page.
        tremor_pixels: ``(m,)`` int32 number of mask pixels in the crop.
    """

    images: jax.Array
    masks: jax.Array
    labels: jax.Array
    page_index: jax.Array
    origin: jax.Array
    tremor_pixels: jax.Array


# ------------------------------------------------------------------------------- validation


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def _finite(name: str, value, low: float, *, strict: bool, high: float | None = None) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a real number") from None
    ok = math.isfinite(value) and (value > low if strict else value >= low)
    if high is not None:
        ok = ok and value <= high
    if not ok:
        bound = f"{'>' if strict else '>='} {low:g}" + (f" and <= {high:g}" if high else "")
        raise ValueError(f"{name}={value!r} must be finite and {bound}")
    return value


def _range(name: str, value, low: float = 0.0, *, strict: bool = True) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a (low, high) pair of numbers") from None
    bad = (lo <= low or hi <= low) if strict else (lo < low or hi < low)
    if not (math.isfinite(lo) and math.isfinite(hi)) or bad or hi < lo:
        op = ">" if strict else ">="
        raise ValueError(
            f"{name}={value} must be a finite (low, high) range with low <= high and both "
            f"{op} {low:g}"
        )
    return lo, hi


# -------------------------------------------------------------------------------- rendering


def _column_envelope(lines: jax.Array, width: int) -> tuple[jax.Array, jax.Array]:
    """Per-column (min, max) of the pen path: ``(n_lines, n_samples)`` → 2 × ``(n_lines, W)``.

    Sample ``j`` belongs to column ``⌊j W / n⌋``; the segment from sample ``j − 1`` to ``j`` is
    counted in sample ``j``'s column. NaN samples draw nothing (min = +inf, max = −inf).
    """
    n_samples = lines.shape[-1]
    previous = jnp.concatenate([lines[:, :1], lines[:, :-1]], axis=-1)
    low = jnp.fmin(lines, previous)  # NaN only where both ends are NaN
    high = jnp.fmax(lines, previous)
    low = jnp.where(jnp.isnan(low), jnp.inf, low)
    high = jnp.where(jnp.isnan(high), -jnp.inf, high)
    if n_samples % width == 0:
        shape = (lines.shape[0], width, n_samples // width)
        return low.reshape(shape).min(-1), high.reshape(shape).max(-1)
    column = (np.arange(n_samples) * width) // n_samples
    low = jax.ops.segment_min(low.T, column, num_segments=width, indices_are_sorted=True)
    high = jax.ops.segment_max(high.T, column, num_segments=width, indices_are_sorted=True)
    return low.T, high.T


def _coverage(low, high, offsets, ink_width, height: int) -> jax.Array:
    """Fraction of each pixel's height inked: ``(n_lines, W)`` envelopes → ``(n_lines, H, W)``."""
    top = offsets[:, None] - high - ink_width / 2.0  # displacement up = smaller row
    bottom = offsets[:, None] - low + ink_width / 2.0
    row = jnp.arange(height, dtype=low.dtype)[None, :, None]
    overlap = jnp.minimum(row + 0.5, bottom[:, None, :]) - jnp.maximum(row - 0.5, top[:, None, :])
    return jnp.clip(overlap, 0.0, 1.0)


def _gaussian_blur(image: jax.Array, sigma, radius: int) -> jax.Array:
    """Separable Gaussian blur of ``(H, W)`` with std ``sigma`` px, zero (paper) outside."""
    if radius == 0:
        return image
    x = jnp.arange(-radius, radius + 1, dtype=image.dtype)
    weights = jnp.exp(-0.5 * (x / jnp.maximum(sigma, 1e-3)) ** 2)
    weights = weights / weights.sum()
    height, width = image.shape
    padded = jnp.pad(image, radius)
    rows = sum(weights[k] * padded[k : k + height, :] for k in range(2 * radius + 1))
    return sum(weights[k] * rows[:, k : k + width] for k in range(2 * radius + 1))


def _ink(lines, offsets, ink_width, blur, *, height: int, width: int, radius: int):
    """Blurred ink of all lines ``(H, W)`` and the per-line coverage ``(n_lines, H, W)``."""
    low, high = _column_envelope(lines, width)
    coverage = _coverage(low, high, offsets, ink_width, height)
    ink = 1.0 - jnp.prod(1.0 - coverage, axis=0)
    return _gaussian_blur(ink, blur, radius), coverage


@functools.partial(jax.jit, static_argnames=("height", "width", "radius"))
def _render(lines, offsets, ink_width, blur, *, height: int, width: int, radius: int):
    return _ink(lines, offsets, ink_width, blur, height=height, width=width, radius=radius)[0]


def _even_offsets(n_lines: int, height: int) -> np.ndarray:
    return (np.arange(n_lines) + 0.5) * (height / n_lines)


def render_traces(
    lines,
    offsets=None,
    *,
    height: int,
    width: int,
    ink_width: float = 1.5,
    blur: float = 0.5,
) -> jax.Array:
    """Render traces as a drum record would show them (see the module doc for the model).

    Args:
        lines: ``(n_lines, n_samples)`` pen displacement in pixels (positive = up, towards row
            0), ``n_samples >= width``; the samples of a line are spread evenly over the
            ``width`` columns. NaN samples are gaps (no ink). May be traced under ``jit``.
        offsets: ``(n_lines,)`` baseline row coordinate of each line (pixel ``r`` spans
            ``[r − ½, r + ½]``); default evenly spaced, ``(i + ½) · height / n_lines``.
        height, width: image size in pixels (Python ints >= 1).
        ink_width: pen width in pixels (> 0); a constant line inks exactly this many pixel
            heights per column, centred on its offset.
        blur: standard deviation in pixels of the Gaussian blur (>= 0, a Python float; the
            kernel has radius ``⌈3 · blur⌉``).

    Returns:
        ``(height, width)`` float32 ink darkness in ``[0, 1]`` (1 = ink, 0 = paper).

    Raises:
        ValueError: naming the argument, for bad shapes, sizes, ``ink_width`` or ``blur``.
    """
    height = _positive_int("height", height)
    width = _positive_int("width", width)
    lines = jnp.asarray(lines, dtype=jnp.float32)
    if lines.ndim != 2 or lines.shape[0] < 1 or lines.shape[1] < width:
        raise ValueError(
            f"lines must have shape (n_lines >= 1, n_samples >= width={width}), "
            f"got {tuple(lines.shape)}"
        )
    if offsets is None:
        offsets = _even_offsets(lines.shape[0], height)
    offsets = jnp.asarray(offsets, dtype=jnp.float32)
    if offsets.shape != lines.shape[:1]:
        raise ValueError(
            f"offsets must have shape (n_lines,) = ({lines.shape[0]},), got {tuple(offsets.shape)}"
        )
    if not isinstance(ink_width, jax.core.Tracer):
        _finite("ink_width", ink_width, 0.0, strict=True)
    blur = _finite("blur", blur, 0.0, strict=False)
    radius = math.ceil(3.0 * blur)
    return _render(
        lines, offsets, jnp.float32(ink_width), jnp.float32(blur),
        height=height, width=width, radius=radius,
    )  # fmt: skip


# ------------------------------------------------------------------------------ drum pages


class _Layout(NamedTuple):
    """Static (hashable) sizes of `_page_batch`: changing one of them recompiles."""

    height: int
    width: int
    n_lines: int
    samples_per_column: int
    max_quakes: int
    mask_dilation: int
    blur_radius: int


class _PageConfig(NamedTuple):
    """Traced settings of `_page_batch` (a pytree of floats; ranges are (low, high) pairs)."""

    seconds_per_line: float
    tremor_probability: float
    tremor_amplitude: tuple[float, float]
    quake_amplitude: tuple[float, float]
    teleseism_probability: float
    noise_amplitude: tuple[float, float]
    microseism_amplitude: tuple[float, float]
    ink_width: tuple[float, float]
    blur: tuple[float, float]
    contrast: tuple[float, float]
    tilt: float
    mask_threshold: float


def _band(freqs, low, high):
    """Smooth band-pass gain: logistic edges 10 % of the corner wide."""
    rise = jax.nn.sigmoid((freqs - low) / (0.1 * low))
    return rise * jax.nn.sigmoid((high - freqs) / (0.1 * high))


class _Uniforms:
    """Consecutive slices of one vector of U(0, 1) draws, mapped to ``[lo, hi)``."""

    def __init__(self, key, size: int):
        self.values = jax.random.uniform(key, (size,), minval=1e-7, maxval=1.0 - 1e-7)
        self.used = 0

    def __call__(self, lo, hi, shape: tuple[int, ...] = ()):
        count = math.prod(shape)
        x = self.values[self.used : self.used + count].reshape(shape)
        self.used += count
        return lo + (hi - lo) * x


def _shaped_noise(normals, gain, n: int):
    """Zero-mean, unit-RMS Gaussian noise of length ``n`` with amplitude spectrum ∝ ``gain``.

    ``normals`` is a ``(2, n // 2 + 1)`` array of standard normal real and imaginary parts.
    """
    re, im = normals
    x = jnp.fft.irfft((re + 1j * im) * gain, n=n)
    x = x - x.mean()
    return x / jnp.sqrt(jnp.mean(x**2) + 1e-30)


def _page(key, cfg: _PageConfig, layout: _Layout):
    """One page: image ``(H, W)``, mask ``(H, W)`` and metadata (see `DrumPages`)."""
    H, W, L = layout.height, layout.width, layout.n_lines
    S = layout.samples_per_column * W
    n = L * S
    period = cfg.seconds_per_line
    fs = S / period
    nyquist = fs / 2.0
    total = L * period
    spacing = H / L
    t = jnp.arange(n) / fs
    n_freqs = n // 2 + 1
    freqs = jnp.arange(n_freqs) * (fs / n)
    slots = max(layout.max_quakes, 1)
    grid = math.prod(_PAPER_GRID)
    # one RNG call per page (each threefry call costs ~1 s of compile time), sliced in order
    u = _Uniforms(
        key, _SCALAR_DRAWS + 3 * slots + 4 * _MAX_BURSTS + L + 10 * n_freqs + n + grid + H * W
    )
    normal = lambda shape: jnp.sqrt(2.0) * jax.scipy.special.erfinv(u(-1.0, 1.0, shape))  # noqa: E731
    log_u = lambda lo, hi, shape=(): jnp.exp(u(jnp.log(lo), jnp.log(hi), shape))  # noqa: E731
    bernoulli = lambda p: u(0.0, 1.0) < p  # noqa: E731
    randint = lambda lo, hi: jnp.floor(u(lo, hi + 1 - 1e-6)).astype(jnp.int32)  # noqa: E731
    spectra = iter(normal((5, 2, n_freqs)))

    # background: 1/f (flat below one line's frequency) + microseism
    pink = jnp.where(freqs > 0, 1.0 / jnp.sqrt(jnp.maximum(freqs, 1.0 / period)), 0.0)
    signal = u(*cfg.noise_amplitude) * _shaped_noise(next(spectra), pink, n)
    micro_peak = u(0.12, 0.22)
    micro = _band(freqs, 0.7 * micro_peak, 1.4 * micro_peak)
    signal = signal + u(*cfg.microseism_amplitude) * _shaped_noise(next(spectra), micro, n)

    # local earthquakes: broadband noise, 0.5 s rise, exponential coda
    n_quakes = randint(0, layout.max_quakes)
    onset = u(0.0, total, (slots,))
    decay = u(8.0, 45.0, (slots,))
    size = log_u(*cfg.quake_amplitude, (slots,)) * (jnp.arange(slots) < n_quakes)
    lag = jnp.maximum(t[None, :] - onset[:, None], 0.0)
    quake_env = (t[None, :] >= onset[:, None]) * (1 - jnp.exp(-lag / 0.5))
    quake_env = quake_env * jnp.exp(-lag / decay[:, None])
    signal = signal + (size[:, None] * quake_env).sum(0) * normal((n,))

    # teleseism: short-period body waves, then long-period surface waves
    has_teleseism = bernoulli(cfg.teleseism_probability)
    t0 = u(-600.0, total)
    lag = jnp.maximum(t - t0, 0.0)
    body_env = (t >= t0) * (1 - jnp.exp(-lag / 1.0)) * jnp.exp(-lag / u(60.0, 180.0))
    body = _shaped_noise(next(spectra), _band(freqs, 0.3, jnp.minimum(1.0, 0.9 * nyquist)), n)
    t_surface = t0 + u(300.0, 900.0)
    surface_period = u(15.0, 40.0)
    lag = jnp.maximum(t - t_surface, 0.0)
    surface_env = jax.nn.sigmoid((t - t_surface) / 60.0) * jnp.exp(-lag / u(300.0, 900.0))
    surface_band = _band(freqs, 0.8 / surface_period, 1.25 / surface_period)
    surface = _shaped_noise(next(spectra), surface_band, n)
    teleseism = u(0.3, 1.5) * body_env * body + u(1.5, 8.0) * surface_env * surface
    signal = signal + has_teleseism * teleseism

    # tremor: an episode of emergent bursts of band-limited noise
    has_tremor = bernoulli(cfg.tremor_probability)
    n_bursts = randint(1, _MAX_BURSTS)
    episode = u(0.0, 1.5 * period)
    start = u(0.0, total - episode)
    centre = start + u(0.0, episode, (_MAX_BURSTS,))
    duration = u(120.0, 480.0, (_MAX_BURSTS,))
    ramp = u(20.0, 60.0, (_MAX_BURSTS,))
    amplitude = u(*cfg.tremor_amplitude, (_MAX_BURSTS,)) * (jnp.arange(_MAX_BURSTS) < n_bursts)
    rise = jax.nn.sigmoid((t[None, :] - (centre - duration / 2)[:, None]) / ramp[:, None])
    fall = jax.nn.sigmoid(((centre + duration / 2)[:, None] - t[None, :]) / ramp[:, None])
    peak = jax.nn.sigmoid(duration / (2 * ramp)) ** 2  # envelope at a burst's centre
    tremor_env = has_tremor * ((amplitude / peak)[:, None] * rise * fall).sum(0)
    tremor_band = _band(freqs, jnp.minimum(2.0, nyquist / 2), jnp.minimum(8.0, 0.95 * nyquist))
    signal = signal + tremor_env * _shaped_noise(next(spectra), tremor_band, n)

    # minute marks: rectangular pen steps every 60 s
    phase, mark_length = u(0.0, 60.0), u(1.5, 3.0)
    mark = u(1.5, 3.0) * jnp.where(bernoulli(0.5), 1.0, -1.0)
    signal = signal + mark * (jnp.mod(t - phase, 60.0) < mark_length)

    # pen limit, lines, tilt, offsets
    limit = _PEN_LIMIT * spacing
    lines = jnp.clip(signal, -limit, limit).reshape(L, S)
    column = (jnp.arange(S) + 0.5) / layout.samples_per_column - W / 2
    lines = lines - u(-cfg.tilt, cfg.tilt) * column[None, :]
    offsets = jnp.asarray(_even_offsets(L, H)) + u(-0.5, 0.5, (L,))

    ink_width, blur = u(*cfg.ink_width), u(*cfg.blur)
    ink, coverage = _ink(
        lines, offsets, ink_width, blur, height=H, width=W, radius=layout.blur_radius
    )
    active = (tremor_env >= cfg.mask_threshold).reshape(L, W, layout.samples_per_column)
    active = active.any(-1)
    mask = jnp.any((coverage >= _COVERED) & active[:, None, :], axis=0)
    d = layout.mask_dilation
    if d > 0:
        mask = jax.lax.reduce_window(
            mask, False, jax.lax.bitwise_or, (2 * d + 1, 2 * d + 1), (1, 1), "SAME"
        )

    # paper: tint + smooth shading + grain; ink with contrast
    paper_noise = normal((grid + H * W,))
    shading = jax.image.resize(paper_noise[:grid].reshape(_PAPER_GRID), (H, W), "cubic")
    paper = u(0.02, 0.15) + u(0.01, 0.04) * shading
    paper = paper + u(0.01, 0.04) * paper_noise[grid:].reshape(H, W)
    image = jnp.clip(paper + (1.0 - paper) * u(*cfg.contrast) * ink, 0.0, 1.0)
    return (
        image.astype(jnp.float32), mask, has_tremor, active.any(-1), n_quakes.astype(jnp.int32),
        has_teleseism, offsets.astype(jnp.float32),
    )  # fmt: skip


_BATCH = 8  # pages per call of the compiled generator (any n_pages reuses one compilation)


@functools.partial(jax.jit, static_argnames=("layout",))
def _page_batch(key, indices, cfg: _PageConfig, layout: _Layout):
    """Pages ``fold_in(key, i)`` for the ``(_BATCH,)`` int ``indices`` (stacked outputs)."""
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(indices)
    return jax.vmap(lambda k: _page(k, cfg, layout))(keys)


def drum_pages(
    key: jax.Array,
    n_pages: int,
    *,
    height: int = 256,
    width: int = 512,
    n_lines: int = 16,
    seconds_per_line: float = 900.0,
    samples_per_column: int = 8,
    tremor_probability: float = 0.5,
    tremor_amplitude: tuple[float, float] = (0.9, 2.5),
    max_quakes: int = 3,
    quake_amplitude: tuple[float, float] = (0.7, 15.0),
    teleseism_probability: float = 0.3,
    noise_amplitude: tuple[float, float] = (0.2, 1.0),
    microseism_amplitude: tuple[float, float] = (0.1, 0.6),
    ink_width: tuple[float, float] = (1.0, 2.2),
    blur: tuple[float, float] = (0.3, 1.0),
    contrast: tuple[float, float] = (0.55, 1.0),
    tilt: float = 0.006,
    mask_threshold: float = 0.6,
    mask_dilation: int = 2,
) -> DrumPages:
    """Synthetic drum-record pages with and without tremor (see the module doc for the model).

    All amplitudes are RMS (root-mean-square) pen displacements in pixels: the envelope value
    times a unit-RMS noise carrier (peaks are ≈ 2.5–3 × larger). Per page, each quantity with a
    ``(low, high)`` range is drawn uniformly from it (earthquake sizes log-uniformly).

    Args:
        key: ``jax.random`` key; page ``i`` uses ``jax.random.fold_in(key, i)``.
        n_pages: number of pages (>= 1).
        height, width: page size in pixels.
        n_lines: traces per page (one per drum revolution); line spacing ``height / n_lines``
            must be >= 4 px.
        seconds_per_line: seconds of trace per line (s, > 0).
        samples_per_column: trace samples per pixel column (>= 2).
        tremor_probability: probability that a page has a tremor episode, in ``[0, 1]``.
        tremor_amplitude: range of each tremor burst's RMS amplitude at its centre (px, > 0).
        max_quakes: local earthquakes per page are uniform in ``0 … max_quakes`` (>= 0).
        quake_amplitude: range of the initial RMS amplitude of an earthquake's coda (px, > 0).
        teleseism_probability: probability of a teleseism on a page, in ``[0, 1]``.
        noise_amplitude: range of the RMS of the ``1/f`` background (px, >= 0).
        microseism_amplitude: range of the RMS of the microseism (px, >= 0).
        ink_width: range of the pen width (px, > 0).
        blur: range of the Gaussian blur standard deviation (px, >= 0).
        contrast: range of the ink darkness factor, within ``(0, 1]``.
        tilt: the shear (rows per column) is uniform in ``[−tilt, tilt]`` (>= 0).
        mask_threshold: tremor RMS (px, > 0) from which a column counts as tremor in the mask;
            it must not exceed ``tremor_amplitude[0]`` (else a tremor page could have no mask).
        mask_dilation: mask dilation radius in pixels (square structuring element, >= 0).

    Returns:
        `DrumPages` with ``(n_pages, height, width)`` float32 images in ``[0, 1]`` (1 = ink)
        and bool tremor masks.

    Raises:
        ValueError / TypeError: naming the argument, for bad sizes, probabilities or ranges.
    """
    n_pages = _positive_int("n_pages", n_pages)
    height = _positive_int("height", height)
    width = _positive_int("width", width)
    n_lines = _positive_int("n_lines", n_lines)
    if height / n_lines < 4:
        raise ValueError(
            f"n_lines={n_lines} gives a line spacing of {height / n_lines:g} px at "
            f"height={height}: it must be >= 4 px"
        )
    tremor_amplitude = _range("tremor_amplitude", tremor_amplitude)
    mask_threshold = _finite("mask_threshold", mask_threshold, 0.0, strict=True)
    if mask_threshold > tremor_amplitude[0]:
        raise ValueError(
            f"mask_threshold={mask_threshold:g} px must be <= tremor_amplitude[0]="
            f"{tremor_amplitude[0]:g} px"
        )
    samples_per_column = _positive_int("samples_per_column", samples_per_column, 2)
    max_quakes = _positive_int("max_quakes", max_quakes, 0)
    mask_dilation = _positive_int("mask_dilation", mask_dilation, 0)
    cfg = _PageConfig(
        seconds_per_line=_finite("seconds_per_line", seconds_per_line, 0.0, strict=True),
        tremor_probability=_finite("tremor_probability", tremor_probability, 0.0,
                                   strict=False, high=1.0),
        tremor_amplitude=tremor_amplitude,
        quake_amplitude=_range("quake_amplitude", quake_amplitude),
        teleseism_probability=_finite("teleseism_probability", teleseism_probability, 0.0,
                                      strict=False, high=1.0),
        noise_amplitude=_range("noise_amplitude", noise_amplitude, strict=False),
        microseism_amplitude=_range("microseism_amplitude", microseism_amplitude, strict=False),
        ink_width=_range("ink_width", ink_width),
        blur=_range("blur", blur, strict=False),
        contrast=_range("contrast", contrast),
        tilt=_finite("tilt", tilt, 0.0, strict=False),
        mask_threshold=mask_threshold,
    )  # fmt: skip
    if cfg.contrast[1] > 1.0:
        raise ValueError(f"contrast={contrast} must lie within (0, 1]")
    fs = samples_per_column * width / cfg.seconds_per_line
    if fs / 2 <= 0.5:
        raise ValueError(
            f"samples_per_column * width / seconds_per_line = {fs:g} Hz: the trace Nyquist must "
            f"exceed 0.5 Hz (microseism and tremor bands)"
        )
    layout = _Layout(
        height, width, n_lines, samples_per_column, max_quakes, mask_dilation,
        blur_radius=math.ceil(3.0 * cfg.blur[1]),
    )  # fmt: skip
    batches = [
        _page_batch(key, jnp.arange(start, start + _BATCH), cfg, layout)
        for start in range(0, n_pages, _BATCH)
    ]
    out = [jnp.concatenate(parts)[:n_pages] for parts in zip(*batches)]
    return DrumPages(*out, seconds_per_line=cfg.seconds_per_line)


# ------------------------------------------------------------------------------------ crops


def page_crops(
    pages: DrumPages,
    *,
    size: int = 128,
    stride: int | None = None,
    min_tremor_pixels: int = 400,
    drop_ambiguous: bool = True,
) -> PageCrops:
    """Cut square crops on a regular grid from every page and label them.

    Crops start at rows ``0, stride, …`` and columns ``0, stride, …`` while they fit; they are
    ordered by page, then row, then column. A crop is labelled 1 when it holds at least
    ``min_tremor_pixels`` mask pixels. A crop with some tremor but fewer pixels is ambiguous
    (a sliver of a tremor band at its edge): it is dropped when ``drop_ambiguous`` (the
    default), else labelled 0.

    Args:
        pages: `DrumPages` (``(n, H, W)`` images and masks).
        size: crop side in pixels (1 … min(H, W)).
        stride: grid step in pixels (>= 1); default ``size`` (non-overlapping crops).
        min_tremor_pixels: mask pixels needed for label 1 (>= 1).
        drop_ambiguous: drop crops with ``0 < tremor pixels < min_tremor_pixels``.

    Returns:
        `PageCrops` of ``m`` crops: ``(m, size, size)`` float32 images and bool masks,
        ``(m,)`` int32 labels, page indices and tremor pixel counts, ``(m, 2)`` origins.

    Raises:
        ValueError: naming the argument, for a bad size, stride or pixel threshold.
    """
    images, masks = np.asarray(pages.images), np.asarray(pages.tremor_mask)
    if images.ndim != 3 or masks.shape != images.shape:
        raise ValueError(
            f"pages.images {tuple(images.shape)} and pages.tremor_mask "
            f"{tuple(masks.shape)} must both have shape (n, H, W)"
        )
    n, height, width = images.shape
    size = _positive_int("size", size)
    if size > min(height, width):
        raise ValueError(f"size={size} must be <= min(H, W) = {min(height, width)}")
    stride = size if stride is None else _positive_int("stride", stride)
    min_tremor_pixels = _positive_int("min_tremor_pixels", min_tremor_pixels)
    origins = np.array(
        [(r, c) for r in range(0, height - size + 1, stride)
         for c in range(0, width - size + 1, stride)], dtype=np.int32,
    )  # fmt: skip
    crop = lambda a: np.stack([a[:, r : r + size, c : c + size] for r, c in origins], 1)  # noqa: E731
    crop_images = crop(images).reshape(-1, size, size)
    crop_masks = crop(masks).reshape(-1, size, size)
    counts = crop_masks.sum(axis=(1, 2), dtype=np.int32)
    page_index = np.repeat(np.arange(n, dtype=np.int32), len(origins))
    origin = np.tile(origins, (n, 1))
    ambiguous = (counts > 0) & (counts < min_tremor_pixels)
    keep = ~ambiguous if drop_ambiguous else np.ones_like(ambiguous)
    return PageCrops(
        images=jnp.asarray(crop_images[keep]),
        masks=jnp.asarray(crop_masks[keep]),
        labels=jnp.asarray(counts[keep] >= min_tremor_pixels, dtype=jnp.int32),
        page_index=jnp.asarray(page_index[keep]),
        origin=jnp.asarray(origin[keep]),
        tremor_pixels=jnp.asarray(counts[keep]),
    )


def split_by_page(
    crops: PageCrops, key: jax.Array, test_fraction: float = 0.2
) -> tuple[PageCrops, PageCrops]:
    """Split crops into train and test sets by page, so no page contributes to both.

    ``round(test_fraction × pages)`` pages (at least 1, at most all but 1), chosen by a random
    permutation from ``key``, go to the test set; crop order is kept within each set.

    Args:
        crops: `PageCrops` from at least two distinct pages.
        key: ``jax.random`` key.
        test_fraction: fraction of pages in the test set, in ``(0, 1)``.

    Returns:
        ``(train, test)`` `PageCrops`.

    Raises:
        ValueError: for ``test_fraction`` outside ``(0, 1)`` or fewer than two pages.
    """
    test_fraction = _finite("test_fraction", test_fraction, 0.0, strict=True)
    if test_fraction >= 1.0:
        raise ValueError(f"test_fraction={test_fraction:g} must lie in (0, 1)")
    page_index = np.asarray(crops.page_index)
    pages = np.unique(page_index)
    if len(pages) < 2:
        raise ValueError(f"crops come from {len(pages)} page(s): at least 2 are needed to split")
    n_test = min(max(round(test_fraction * len(pages)), 1), len(pages) - 1)
    test_pages = pages[np.asarray(jax.random.permutation(key, len(pages)))[:n_test]]
    in_test = np.isin(page_index, test_pages)
    take = lambda sel: PageCrops(*(jnp.asarray(np.asarray(a)[sel]) for a in crops))  # noqa: E731
    return take(~in_test), take(in_test)


# ------------------------------------------------------------------------------- helicorder


def helicorder_image(
    trace: obspy.Trace,
    *,
    seconds_per_line: float = 900.0,
    height: int = 256,
    width: int = 512,
    n_lines: int | None = None,
    freqmin: float | None = None,
    freqmax: float | None = None,
    scale: float | None = None,
    ink_width: float = 1.2,
    blur: float = 0.5,
) -> jax.Array:
    """Render a real ObsPy trace as a drum record (helicorder) page, like `drum_pages`.

    The trace is copied (the input is not modified), linearly detrended, optionally filtered
    (Butterworth, 4 corners, zero-phase: band-pass when both ``freqmin`` and ``freqmax`` are
    given, high-pass for ``freqmin`` alone, low-pass for ``freqmax`` alone), scaled to pixels,
    cut into lines of ``seconds_per_line`` starting at the trace's first sample (the time after
    its end is left blank) and drawn by `render_traces` on evenly spaced baselines. Lines with
    fewer than ``width`` samples are linearly interpolated to ``2 × width`` samples.

    Args:
        trace: an `obspy.Trace` without gaps (not a masked array), any unit.
        seconds_per_line: seconds per line (s, > 0); at least 2 samples per line.
        height, width: image size in pixels.
        n_lines: lines on the page (>= 1); default as many as the trace needs; a smaller
            number shows only the trace's beginning.
        freqmin, freqmax: filter corners in Hz (``0 < freqmin < freqmax < Nyquist``).
        scale: pixels per data unit (> 0); default as ObsPy's ``dayplot``: the full range
            ``max − min`` of the detrended, filtered trace spans one line spacing.
        ink_width: pen width in pixels (> 0).
        blur: Gaussian blur standard deviation in pixels (>= 0).

    Returns:
        ``(height, width)`` float32 ink darkness in ``[0, 1]`` (1 = ink, 0 = paper).

    Raises:
        TypeError: if ``trace`` is not an `obspy.Trace`.
        ValueError: naming the argument, for an empty, gapped or non-finite trace, bad sizes,
            filter corners or scale.
    """
    if not isinstance(trace, obspy.Trace):
        raise TypeError(f"trace must be an obspy.Trace, got {type(trace).__name__}")
    if trace.stats.npts == 0:
        raise ValueError(f"trace {trace.id} is empty (npts=0)")
    if np.ma.isMaskedArray(trace.data):
        raise ValueError(f"trace {trace.id} has gaps (masked data): merge/fill it first")
    if not np.all(np.isfinite(trace.data)):
        raise ValueError(f"trace {trace.id} data contain NaN or inf")
    height = _positive_int("height", height)
    width = _positive_int("width", width)
    seconds_per_line = _finite("seconds_per_line", seconds_per_line, 0.0, strict=True)
    rate = float(trace.stats.sampling_rate)
    per_line = round(seconds_per_line * rate)
    if per_line < 2:
        raise ValueError(
            f"seconds_per_line={seconds_per_line:g} s gives {per_line} samples per line at "
            f"{rate:g} Hz: at least 2 are needed"
        )
    needed = -(-trace.stats.npts // per_line)
    n_lines = needed if n_lines is None else _positive_int("n_lines", n_lines)
    nyquist = rate / 2.0
    for name, value in (("freqmin", freqmin), ("freqmax", freqmax)):
        if value is not None:
            _finite(name, value, 0.0, strict=True)
            if value >= nyquist:
                raise ValueError(f"{name}={value:g} Hz must be below the Nyquist {nyquist:g} Hz")
    if freqmin is not None and freqmax is not None and freqmin >= freqmax:
        raise ValueError(f"freqmin={freqmin:g} Hz must be < freqmax={freqmax:g} Hz")

    tr = trace.copy()
    tr.data = tr.data.astype(np.float64)
    tr.detrend("linear")
    if freqmin is not None and freqmax is not None:
        tr.filter("bandpass", freqmin=freqmin, freqmax=freqmax, corners=4, zerophase=True)
    elif freqmin is not None:
        tr.filter("highpass", freq=freqmin, corners=4, zerophase=True)
    elif freqmax is not None:
        tr.filter("lowpass", freq=freqmax, corners=4, zerophase=True)
    data = tr.data
    spacing = height / n_lines
    if scale is None:
        data_range = np.ptp(data)
        scale = spacing / data_range if data_range > 0 else 1.0
    scale = _finite("scale", scale, 0.0, strict=True)

    padded = np.full(n_lines * per_line, np.nan)
    shown = data[: n_lines * per_line]
    padded[: len(shown)] = shown * scale
    lines = padded.reshape(n_lines, per_line)
    if per_line < width:
        old = np.arange(per_line) / (per_line - 1)
        new = np.linspace(0.0, 1.0, 2 * width)
        lines = np.stack([np.interp(new, old, line) for line in lines])
    return render_traces(lines, height=height, width=width, ink_width=ink_width, blur=blur)


# ---------------------------------------------------------------------------------- plotting


def plot_page(image, mask=None, ax=None, *, title: str | None = None):
    """Show a page or crop in ink-on-paper grey, with the tremor mask outlined in red.

    Args:
        image: ``(H, W)`` ink darkness in ``[0, 1]`` (1 = ink, drawn black).
        mask: optional ``(H, W)`` bool tremor mask; its outline is drawn.
        ax: a matplotlib ``Axes`` to draw into; default a new figure sized to the image.
        title: optional axes title.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: if ``image`` is not 2-D or ``mask`` has another shape.
    """
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    if ax is None:
        height, width = image.shape
        fig, ax = plt.subplots(figsize=(min(16.0, width / 50 + 0.5), min(12.0, height / 50 + 0.5)))
    else:
        fig = ax.figure
    ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != image.shape:
            raise ValueError(f"mask shape {mask.shape} must equal image shape {image.shape}")
        if mask.any():
            ax.contour(mask.astype(float), levels=[0.5], colors="red", linewidths=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return fig
