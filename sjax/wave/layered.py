"""Semi-analytic 2-D SH response of a horizontally layered half-space (frequency–wavenumber).

The same problem as ``simulate(..., wave="sh")`` — the anti-plane equation

    ρ ∂²u/∂t² = ∂x(μ ∂x u) + ∂z(μ ∂z u) + s(t) δ(x − x_s) δ(z − z_s)

for a line force of ``s(t)`` N/m (the wavelet of a `PointForce`) in a stack of layers with a
traction-free surface at z = 0 and a half-space below — solved without a grid:

* **Frequency.** The record is computed at complex frequencies ω − iω_I (e^{iωt} convention, as
  NumPy's FFT), i.e. for the damped signal u(t) e^{−ω_I t}; the FFT of the sampled wavelet
  ``s(n·dt)`` (the very samples `simulate` injects) times the Green's function is inverted and
  multiplied by e^{ω_I t}. The FFT window is padded to ``T ≥ 2·duration`` and the default
  ``damping`` ω_I = ln(10⁴)/T attenuates what wraps around from beyond T by 10⁻⁴. The
  damping also keeps the modal poles off the real wavenumber axis, so the integrand is smooth
  (and differentiable) everywhere.
* **Wavenumber (Bouchon 1981).** The x-integral is replaced by the exact field of a row of line
  sources spaced L = ``period_length`` apart: u(x) = (1/L) Σ_n G(k_n) cos(k_n (x − x_s)),
  k_n = 2πn/L (G is even in k for the y-force, so the sum is a cosine series with weights
  1, 2, 2, …). The image sources reach a receiver only after (L − |x − x_s|)/β_max, so the
  default L makes that later than the record (``layered_sh_sampling``).
* **Depth (stable recursion).** In a layer, u = d + w with d ∝ e^{−νz}, w ∝ e^{+νz},
  ν = √(k² − ω²/β²), Re ν > 0, and the impedance Z = μν. Above the source the ratio
  r = d/w starts at 1 (free surface) and is carried down: multiplied by e^{−2νh} across a
  layer and mapped by r' = ((Z' − Z) + r(Z' + Z)) / ((Z' + Z) + r(Z' − Z)) across an interface
  (continuity of u and τ = μ ∂z u). Below the source s = w/d starts at 0 (radiation into the
  half-space) and is carried up the same way. Only decaying exponentials appear, so nothing
  overflows for evanescent k·h (the raw Thomson–Haskell propagator grows like e^{νh}).
  The jump −s(t) in τ at z_s and the continuity of u give the surface displacement per unit
  force,

      G(k, ω) = (1 + s) / (Z_s (1 − r s)) · e^{−Σ_j ν_j h_j^{above}} · Π_{interfaces above}
                2 Z_below / ((Z_below + Z_above) + r (Z_below − Z_above)),

  with r, s, Z_s taken at the source depth in the source layer. For a homogeneous half-space
  this is e^{−ν z_s}/(μν), twice the full-space e^{−ν|z|}/(2μν) (the free-surface image).
* **Static tail.** For a shallow source G decays only like C e^{−k z_s}/k, so a truncated sum
  rings. That asymptote is subtracted term by term and its exact sum
  −(C/2π) ln(1 − 2e^{−a} cos b + e^{−2a}) (a = 2π z_s/L, b = 2π Δx/L) added back; the rest
  converges like k⁻³ and ``n_wavenumber`` only needs k_max ≈ 1.5 ω_max/β_min.

Accuracy (tests/wave/test_layered.py, float64): 8e-5 (buried source) to 8e-4 (surface source)
relative L2 against the analytic half-space Green's function; 0.4 % against `simulate` on a
12 m grid whose nodes straddle the interfaces (with interfaces on grid nodes the FD solution
converges only at O(dx), 7 % at 10 m, 3.8 % at 5 m). float32 agrees with float64 to ~1e-5.

**Normalisation.** `simulate` injects ``s(t_n)`` as a force density: the Kaiser-sinc point
pattern divided by the cell area (and by ½ on the free-surface row, so a surface force acts
fully on the half-space), and records u at t_n = n·dt from a centred second difference. That is
the continuous line force above — N/m per unit wavelet, displacement in m — so the two agree in
amplitude, not only in shape (tested).

**Limits.** 2-D SH line source only (no 3-D point-source Bessel sums, no P-SV: `layered_psv`
is future work); perfectly elastic layers (no Q: the complex frequency is a numerical damping
that is undone exactly); receivers on the free surface only; a trace is accurate up to
``max_frequency`` (default 1.4 × the wavelet's ``upper_frequency``, beyond which the Ricker has
< 2e-4 of its peak spectrum) and up to ``duration``; a surface source recorded at its own x
is singular (the 2-D static field is logarithmic).

The modal poles of G (zeros of 1 − r s at real ω) are the Love modes; `love_secular_function`
evaluates the classical Haskell 2×2 form of the same condition, and `sh_transfer_function` the
vertical-incidence (k = 0) site amplification from the same layer matrices.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft

from sjax._arrays import is_concrete
from sjax.media import LayeredMedium
from sjax.wave.simulate import SimulationResult
from sjax.wave.sources import PointForce, Receivers

__all__ = [
    "layered_sh",
    "layered_sh_sampling",
    "love_phase_velocities",
    "love_secular_function",
    "sh_transfer_function",
]

#: Default wrap-around attenuation e^{−ω_I T} of the complex-frequency damping.
WRAP_ATTENUATION = 1e-4
#: Default highest frequency, as a multiple of the wavelet's ``upper_frequency``.
FREQUENCY_MARGIN = 1.4
#: Default highest wavenumber, as a multiple of ω_max / β_min.
WAVENUMBER_MARGIN = 1.5
#: Default period length: this multiple of β_max·duration + the largest source–receiver offset.
PERIOD_MARGIN = 1.2


def _complex(dtype):
    return jnp.complex128 if dtype == jnp.float64 else jnp.complex64


def _fft_length(n_time: int) -> int:
    """FFT length: a fast size at least twice the record (room for the damped coda)."""
    return int(scipy.fft.next_fast_len(2 * n_time, real=True))


def _n_time(duration: float, dt: float) -> int:
    return math.floor(duration / dt + 1e-9) + 1


def _check_medium(medium, name: str) -> None:
    if not isinstance(medium, LayeredMedium):
        raise TypeError(f"medium must be a LayeredMedium, got {type(medium).__name__}")
    if medium.velocity_s.ndim != 1:
        raise ValueError(f"{name} takes one medium; use jax.vmap over a batch of media")


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value} must be positive and finite")


def _offsets(source: PointForce, receivers: Receivers) -> float:
    return float(np.max(np.abs(np.asarray(receivers.x) - np.asarray(source.x))))


def layered_sh_sampling(
    medium: LayeredMedium, source: PointForce, receivers: Receivers, *, duration: float,
    dt: float, max_frequency: float | None = None,
) -> dict:  # fmt: skip
    """Default frequency–wavenumber sampling of `layered_sh` (static numbers, for ``jit``).

    Under ``jit``/``vmap``/``grad`` the medium is traced and cannot choose its own sampling; call
    this once with concrete values that bound the traced ones (e.g. the prior's slowest
    ``velocity_s`` for β_min, fastest for β_max) and pass the result: ``layered_sh(...,
    **layered_sh_sampling(...))``.

    Rules: ``max_frequency`` = min(Nyquist, 1.4 × the wavelet's ``upper_frequency``, the given
    ``max_frequency``);
    ``period_length`` L = 1.2 (β_max·duration + max |x_r − x_s|), so image sources arrive after the
    record; ``n_wavenumber`` = ⌈k_max L / 2π⌉ + 1 with k_max = 1.5 ω_max / β_min; ``damping``
    ω_I = ln(10⁴)/T over the padded FFT window T.

    Args:
        medium: a concrete, unbatched `LayeredMedium`.
        source: a concrete `PointForce`.
        receivers: concrete `Receivers`.
        duration, dt: as in `layered_sh` (s).
        max_frequency: a lower highest frequency (Hz) when the records are low-passed anyway
            (e.g. 1.5 × a band-pass's upper corner); fewer frequencies and wavenumbers.

    Returns:
        dict with ``n_wavenumber`` (int), ``period_length`` (m), ``damping`` (1/s) and
        ``max_frequency`` (Hz).
    """
    _check_medium(medium, "layered_sh_sampling")
    _check_positive(duration=duration, dt=dt)
    leaves = (medium.velocity_s, source.x, receivers.x)
    if not is_concrete(*leaves):
        raise ValueError("layered_sh_sampling needs a concrete medium, source and receivers "
                         "(not traced inside jit/vmap/grad)")  # fmt: skip
    velocity = np.asarray(medium.velocity_s)
    window = _fft_length(_n_time(duration, dt)) * dt
    if max_frequency is not None:
        _check_positive(max_frequency=max_frequency)
        max_frequency = min(float(max_frequency), _max_frequency(source, dt))
    else:
        max_frequency = _max_frequency(source, dt)
    period_length = PERIOD_MARGIN * (velocity.max() * duration + _offsets(source, receivers))
    k_max = WAVENUMBER_MARGIN * 2 * np.pi * max_frequency / velocity.min()
    return {
        "n_wavenumber": math.ceil(k_max * period_length / (2 * np.pi)) + 1,
        "period_length": float(period_length),
        "damping": float(np.log(1.0 / WRAP_ATTENUATION) / window),
        "max_frequency": float(max_frequency),
    }


def _max_frequency(source: PointForce, dt: float) -> float:
    """1.4 × the wavelet's ``upper_frequency`` (when concrete), at most Nyquist."""
    nyquist = 0.5 / dt
    upper = getattr(source.wavelet, "upper_frequency", None)
    if upper is None or not is_concrete(upper):
        return nyquist
    return float(min(nyquist, FREQUENCY_MARGIN * float(np.max(np.asarray(upper)))))


def _validate(medium, source, receivers, duration, dt, output, n_wavenumber, period_length,
              damping, max_frequency) -> None:  # fmt: skip
    _check_medium(medium, "layered_sh")
    if not isinstance(source, PointForce):
        raise TypeError(f"layered_sh takes a PointForce source (SH line force along y), got "
                        f"{type(source).__name__}")  # fmt: skip
    if not isinstance(receivers, Receivers):
        raise TypeError(f"receivers must be Receivers, got {type(receivers).__name__}")
    if output not in ("displacement", "velocity"):
        raise ValueError(f"output={output!r} must be 'displacement' or 'velocity'")
    _check_positive(duration=duration, dt=dt)
    if n_wavenumber is not None and not (int(n_wavenumber) == n_wavenumber and n_wavenumber >= 1):
        raise ValueError(f"n_wavenumber={n_wavenumber} must be a positive integer")
    for name, value in (("period_length", period_length), ("damping", damping),
                        ("max_frequency", max_frequency)):  # fmt: skip
        if value is not None:
            _check_positive(**{name: value})
    if is_concrete(receivers.z):
        z = np.asarray(receivers.z)
        if not np.all(z == 0):
            raise ValueError(f"receivers.z={z} m: layered_sh records on the free surface only "
                             "(z = 0)")  # fmt: skip
    if is_concrete(source.z) and not float(source.z) >= 0:
        raise ValueError(f"source.z={float(source.z)} m must be >= 0 (inside the layered "
                         "half-space, z positive down)")  # fmt: skip
    if period_length is not None and is_concrete(source.x, receivers.x):
        offset = _offsets(source, receivers)
        if period_length <= 2 * offset:
            raise ValueError(
                f"period_length={period_length} m must exceed twice the largest source-receiver "
                f"offset ({offset:.6g} m), and should exceed β_max·duration + offset so image "
                "sources arrive after the record"
            )


def _surface_green(medium: LayeredMedium, depth, k, omega):
    """Surface displacement per unit line force at ``depth`` (m), in the (k, ω) domain.

    Args:
        medium: unbatched `LayeredMedium` (real dtype ``d``).
        depth: scalar source depth in m.
        k: ``(n_k, 1)`` real wavenumbers in rad/m.
        omega: ``(1, n_f)`` complex angular frequencies ω − iω_I in rad/s.

    Returns:
        ``(n_k, n_f)`` complex G(k, ω) in m³/N: u(x, ω) = (1/L) Σ_n w_n G(k_n, ω)
        cos(k_n (x − x_s)) S(ω) for a force spectrum S (N/m·s).
    """
    beta, mu, thickness = medium.velocity_s, medium.shear_modulus, medium.thickness
    n_layer = medium.n_layer
    tops = jnp.concatenate([jnp.zeros((1,), thickness.dtype), jnp.cumsum(thickness)])
    bottoms = jnp.concatenate([tops[1:], jnp.full((1,), jnp.inf, thickness.dtype)])
    # per layer (half-space last): its part above / below the source (zero away from the
    # source layer) and its full thickness (0 for the half-space, which is never crossed)
    full = jnp.concatenate([thickness, jnp.zeros((1,), thickness.dtype)])
    above = jnp.clip(depth - tops, 0.0, jnp.where(jnp.arange(n_layer) < n_layer - 1, full,
                                                   jnp.inf))  # fmt: skip
    below = jnp.clip(bottoms - depth, 0.0, full)
    in_layer = (depth >= tops) & (depth < bottoms)
    # the transcendental functions, vectorised over layers: (n_layer, n_k, n_f); only
    # n_layer + 1 complex exponentials per (k, ω): one per finite layer and two in the source
    # layer (they dominate the cost)
    nu = jnp.sqrt(k * k - (omega / beta[:, None, None]) ** 2)
    impedance = mu[:, None, None] * nu
    half_way = jnp.exp(-nu[:-1] * thickness[:, None, None])  # e^{−ν h} of each finite layer
    e_full = half_way * half_way
    nu_source = jnp.sum(jnp.where(in_layer[:, None, None], nu, 0.0), axis=0)
    above_source = jnp.sum(jnp.where(in_layer, above, 0.0))  # depth below the layer's top
    below_source = jnp.sum(jnp.where(in_layer, below, 0.0))  # height above the layer's bottom
    partial = jnp.exp(-nu_source * above_source)
    e_above, e_below = partial * partial, jnp.exp(-2.0 * nu_source * below_source)
    crossed = (bottoms[:-1] <= depth)[:, None, None]  # finite layers wholly above the source
    path = partial * jnp.prod(jnp.where(crossed, half_way, 1.0), axis=0)

    # downward: r = d/w from the free surface (r = 1) to the source, and the transmission factors
    r_top = jnp.ones_like(nu[0])
    r_source, transmission = jnp.zeros_like(nu[0]), jnp.ones_like(nu[0])
    for j in range(n_layer):
        r_source = jnp.where(in_layer[j], r_top, r_source)
        if j == n_layer - 1:
            break
        r_bottom = r_top * e_full[j]
        za, zb = impedance[j], impedance[j + 1]
        inverse = 1.0 / ((zb + za) + r_bottom * (zb - za))
        transmission = jnp.where(tops[j + 1] <= depth, transmission * 2.0 * zb * inverse,
                                 transmission)  # fmt: skip
        r_top = ((zb - za) + r_bottom * (zb + za)) * inverse
    r_source = r_source * e_above

    # upward: s = w/d from the half-space (s = 0, radiation) to the source
    s_top = jnp.zeros_like(nu[0])  # at the top of the layer below the interface
    s_source = jnp.zeros_like(nu[0])
    for j in range(n_layer - 2, -1, -1):
        za, zb = impedance[j], impedance[j + 1]
        s_bottom = ((za - zb) + s_top * (za + zb)) / ((za + zb) + s_top * (za - zb))
        s_source = jnp.where(in_layer[j], s_bottom, s_source)
        s_top = s_bottom * e_full[j]
    s_source = s_source * e_below

    z_source = jnp.sum(jnp.where(in_layer[:, None, None], impedance, 0.0), axis=0)
    return (1.0 + s_source) / (z_source * (1.0 - r_source * s_source)) * transmission * path


def _tail_coefficient(medium: LayeredMedium, depth):
    """C of the large-k asymptote G ≈ C e^{−k z_s}/k of `_surface_green`: 1/μ_s times the
    static transmission factors 2μ_below/(μ_above + μ_below) of the interfaces above the source
    (exact for a source in the top layer; a convergence aid elsewhere, where e^{−k z_s} decays)."""
    mu, tops = medium.shear_modulus, medium.interface_depths
    coefficient = 1.0 / mu[0]
    for j in range(medium.n_layer - 1):
        # 1/μ_j → (1/μ_{j+1}) · 2μ_{j+1}/(μ_j + μ_{j+1}) when the source lies below interface j
        factor = 2.0 * mu[j] / (mu[j] + mu[j + 1])
        coefficient = coefficient * jnp.where(tops[j] <= depth, factor, 1.0)
    return coefficient


def layered_sh(
    medium: LayeredMedium,
    source: PointForce,
    receivers: Receivers,
    *,
    duration: float,
    dt: float,
    output: str = "displacement",
    n_wavenumber: int | None = None,
    period_length: float | None = None,
    damping: float | None = None,
    max_frequency: float | None = None,
) -> SimulationResult:
    """Surface SH seismograms of a line force in a layered half-space, by discrete wavenumbers.

    A drop-in, grid-free counterpart of ``simulate(medium, grid, source, receivers,
    wave="sh")`` (same equation, units, time axis and source time function; see the module
    docstring for the method). Pure JAX: ``jit`` (``duration``, ``dt``, ``output`` and the
    sampling are static), ``vmap`` over media or sources, and ``grad`` with respect to the
    thicknesses, velocities, densities, the source position and wavelet, and receiver ``x``.
    Complex128 under ``jax_enable_x64`` with float64 inputs, else complex64.

    Args:
        medium: unbatched `LayeredMedium` (``velocity_p`` is not used by SH).
        source: `PointForce` at ``(x, z)``, any depth ``z >= 0`` (m); its wavelet is the force
            per unit length (N/m), sampled at ``n·dt`` as `simulate` does. ``direction`` is
            ignored (SH forces act along y), as in `simulate`.
        receivers: `Receivers` at any ``x`` (m) on the free surface (``z = 0``).
        duration: record length in s; ``n_time = floor(duration/dt) + 1`` samples.
        dt: sample interval in s.
        output: ``"displacement"`` (m) or ``"velocity"`` (m/s).
        n_wavenumber: number of wavenumbers k_n = 2πn/L, n = 0 … n_wavenumber − 1 (static).
        period_length: spacing L (m) of the periodic image sources.
        damping: imaginary part ω_I (1/s) of the complex frequency.
        max_frequency: highest frequency computed (Hz, static); the spectrum above is zero.
            Defaults for all four come from `layered_sh_sampling`, which needs concrete inputs:
            under ``jit``/``vmap``/``grad`` pass them explicitly.

    Returns:
        `SimulationResult` with ``traces`` ``(n_receiver, 1, n_time)`` (component y), ``times``
        ``(n_time,)`` = ``n·dt`` s, and no snapshots.

    Raises:
        ValueError: naming the field, for non-positive ``dt``/``duration``/sampling values,
            receivers off the surface, ``source.z < 0``, a too short ``period_length``, or
            missing sampling under tracing.
        TypeError: for a source that is not a `PointForce`.
    """
    _validate(medium, source, receivers, duration, dt, output, n_wavenumber, period_length,
              damping, max_frequency)  # fmt: skip
    given = {"n_wavenumber": n_wavenumber, "period_length": period_length, "damping": damping,
             "max_frequency": max_frequency}  # fmt: skip
    if any(v is None for v in given.values()):
        missing = [name for name, value in given.items() if value is None]
        if not is_concrete(medium.velocity_s, source.x, receivers.x):
            raise ValueError(f"{', '.join(missing)} must be given when the medium, source or "
                             "receivers are traced (jit/vmap/grad): use layered_sh_sampling on "
                             "concrete bounding values")  # fmt: skip
        defaults = layered_sh_sampling(medium, source, receivers, duration=duration, dt=dt)
        given = {name: defaults[name] if value is None else value for name, value in given.items()}
    n_time = _n_time(duration, dt)
    n_fft = _fft_length(n_time)
    n_frequency = min(math.floor(given["max_frequency"] * n_fft * dt) + 1, n_fft // 2 + 1)
    return _layered_sh_core(
        medium, source, receivers, dt=float(dt), n_time=n_time, n_fft=n_fft,
        n_frequency=n_frequency, n_wavenumber=int(given["n_wavenumber"]),
        period_length=float(given["period_length"]), damping=float(given["damping"]),
        velocity=output == "velocity",
    )  # fmt: skip


@eqx.filter_jit
def _layered_sh_core(medium, source, receivers, *, dt, n_time, n_fft, n_frequency, n_wavenumber,
                     period_length, damping, velocity) -> SimulationResult:  # fmt: skip
    dtype = medium.density.dtype
    cdtype = _complex(dtype)
    times = jnp.arange(n_time, dtype=dtype) * dt
    decay = jnp.exp(-damping * times)
    spectrum = jnp.fft.rfft(source.wavelet(times).astype(dtype) * decay, n_fft)[:n_frequency]
    omega = (2 * np.pi * jnp.arange(n_frequency, dtype=dtype) / (n_fft * dt)).astype(cdtype)
    omega = omega - 1j * jnp.asarray(damping, dtype)
    k = 2 * np.pi / period_length * jnp.arange(n_wavenumber, dtype=dtype)
    depth = source.z.astype(dtype)
    green = _surface_green(medium, depth, k[:, None], omega[None, :])  # (n_k, n_f)
    # subtract the static large-k asymptote C e^{−k z_s}/k (n >= 1) and add its exact sum
    # (1/L) Σ_{n≥1} 2 C e^{−k_n z_s} cos(k_n Δx)/k_n = −(C/2π) ln(1 − 2e^{−a} cos b + e^{−2a}),
    # a = k_1 z_s, b = k_1 Δx: the truncated sum then converges like k⁻³ even for z_s = 0
    coefficient = _tail_coefficient(medium, depth)
    safe_k = jnp.where(k == 0, 1.0, k)
    tail = jnp.where(k == 0, 0.0, coefficient * jnp.exp(-safe_k * depth) / safe_k)
    green = green - tail[:, None].astype(cdtype)
    offset = (receivers.x - source.x).astype(dtype)
    a, b = 2 * np.pi / period_length * depth, 2 * np.pi / period_length * offset
    static = -coefficient / (2 * np.pi) * jnp.log(1.0 - 2.0 * jnp.exp(-a) * jnp.cos(b)
                                                   + jnp.exp(-2.0 * a))  # fmt: skip
    weights = jnp.where(jnp.arange(n_wavenumber) == 0, 1.0, 2.0).astype(dtype) / period_length
    cosines = weights * jnp.cos(k * offset[:, None])  # (n_rec, n_k)
    response = (cosines.astype(cdtype) @ green + static[:, None]) * spectrum  # (n_rec, n_f)
    if velocity:
        response = response * (1j * omega)
    traces = jnp.fft.irfft(response, n_fft)[:, :n_time] / decay
    return SimulationResult(traces[:, None, :].astype(dtype), times, None, None)


def _layer_matrix(nu2, thickness, mu):
    """Haskell 2×2 propagator of one layer, ``(u, τ)(z + h) = P (u, τ)(z)``, as even functions
    of ν (so real for real ν² = k² − ω²/β²).

    Args:
        nu2: real ν² (1/m²), any shape.
        thickness: h in m (broadcasts with ``nu2``).
        mu: shear modulus in Pa.

    Returns:
        ``(P_uu, P_uτ, P_τu, P_ττ)`` = (cosh νh, sinh(νh)/(μν), μν sinh νh, cosh νh).
    """
    zero = nu2 == 0  # ν = 0: P = [[1, h/μ], [0, 1]] (safe branches keep gradients finite)
    evanescent = nu2 > 0
    root = jnp.sqrt(jnp.where(zero, 1.0, jnp.abs(nu2)))
    x = jnp.where(zero, 0.0, root * thickness)
    cosh = jnp.where(evanescent, jnp.cosh(x), jnp.cos(x))
    sinh_over = jnp.where(zero, thickness, jnp.where(evanescent, jnp.sinh(x), jnp.sin(x)) / root)
    return cosh, sinh_over / mu, mu * nu2 * sinh_over, cosh


def sh_transfer_function(medium: LayeredMedium, frequencies) -> jax.Array:
    """Vertical-incidence SH amplification of the layers: surface over bedrock-outcrop motion.

    The classical site-response function (Haskell 2×2 propagator at k = 0): for an SH plane
    wave incident from the half-space, ``A(f) = u(0) / (2 u_incident)``, where twice the incident
    amplitude is the motion of the bedrock outcropping at a free surface. For one layer over a
    half-space |A| = 1/√(cos²(ωh/β₁) + (ρ₁β₁/ρ₂β₂)² sin²(ωh/β₁)), resonant at f = β₁/(4h).
    Elastic layers; A(0) = 1. Differentiable in the medium and the frequencies.

    Args:
        medium: unbatched `LayeredMedium`.
        frequencies: ``(n_f,)`` frequencies in Hz (≥ 0).

    Returns:
        ``(n_f,)`` complex transfer function (e^{iωt} convention), dimensionless.
    """
    _check_medium(medium, "sh_transfer_function")
    return _sh_transfer_function(medium, jnp.asarray(frequencies, medium.density.dtype))


@jax.jit
def _sh_transfer_function(medium, frequencies):
    dtype = medium.density.dtype
    omega = 2 * np.pi * frequencies
    mu, beta = medium.shear_modulus, medium.velocity_s
    u = jnp.ones_like(omega)
    tau = jnp.zeros_like(omega)
    for j in range(medium.n_layer - 1):
        p_uu, p_ut, p_tu, p_tt = _layer_matrix(-((omega / beta[j]) ** 2), medium.thickness[j],
                                               mu[j])  # fmt: skip
        u, tau = p_uu * u + p_ut * tau, p_tu * u + p_tt * tau
    # upgoing amplitude in the half-space: w = (u + τ/(μν))/2, ν = iω/β
    safe = jnp.where(omega == 0, 1.0, omega)
    ratio = jnp.where(omega == 0, 0.0, tau * beta[-1] / (mu[-1] * safe)).astype(_complex(dtype))
    return 1.0 / (u - 1j * ratio)


def love_secular_function(medium: LayeredMedium, frequency, phase_velocity) -> jax.Array:
    """Love-wave dispersion function: zero where (frequency, phase velocity) is a Love mode.

    Haskell 2×2: start with the decaying solution (u, τ) = (1, −μ_N ν_N) at the top of the
    half-space (ν_N = ω √(1/c² − 1/β_N²) > 0), propagate it up through the layers with the
    inverse layer matrices, and return the surface traction τ(0), which vanishes for a mode.
    All quantities are real for real ν²; the vector is renormalised after each layer and the
    result is τ(0)/√((Z u(0))² + τ(0)²) with Z = μ₁ω/β₁, a bounded, continuous function
    with the same zeros, suitable for bracketing. Meaningful for β_min < c < β_N.

    Args:
        medium: unbatched `LayeredMedium`.
        frequency: frequency in Hz (> 0), any shape broadcasting with ``phase_velocity``.
        phase_velocity: trial phase velocity c in m/s.

    Returns:
        Dimensionless real array of the broadcast shape, in [−1, 1].
    """
    _check_medium(medium, "love_secular_function")
    dtype = medium.density.dtype
    return _love_secular(medium, jnp.asarray(frequency, dtype), jnp.asarray(phase_velocity, dtype))


@jax.jit
def _love_secular(medium, frequency, phase_velocity):
    omega = 2 * np.pi * frequency
    slowness2 = 1.0 / phase_velocity**2
    mu, beta = medium.shear_modulus, medium.velocity_s
    scale = mu[0] * omega / beta[0]
    nu2 = omega**2 * (slowness2 - 1.0 / beta[-1] ** 2)
    u = jnp.ones_like(nu2)
    tau = -mu[-1] * jnp.sqrt(jnp.maximum(nu2, 0.0))
    for j in range(medium.n_layer - 2, -1, -1):
        p_uu, p_ut, p_tu, p_tt = _layer_matrix(omega**2 * (slowness2 - 1.0 / beta[j] ** 2),
                                               medium.thickness[j], mu[j])  # fmt: skip
        u, tau = p_tt * u - p_ut * tau, -p_tu * u + p_uu * tau  # P(h)⁻¹ (det P = 1)
        norm = jnp.hypot(scale * u, tau)
        u, tau = u / norm, tau / norm
    return tau / jnp.hypot(scale * u, tau)


def love_phase_velocities(
    medium: LayeredMedium, frequencies, n_modes: int = 1, *, n_samples: int = 2000,
    n_bisection: int = 60,
) -> jax.Array:  # fmt: skip
    """Love-mode phase velocities from the sign changes of `love_secular_function`.

    The secular function is sampled at ``n_samples`` phase velocities spaced uniformly in
    slowness between β_min and β_N (the half-space); the first ``n_modes`` sign changes counted
    from the slow end (the fundamental mode is the slowest root, overtones are faster) are
    refined by bisection. Pure JAX (jittable, vmappable). Two roots closer than one sample
    spacing are missed.

    Args:
        medium: unbatched `LayeredMedium` with β_N the largest S speed.
        frequencies: ``(n_f,)`` frequencies in Hz (> 0).
        n_modes: number of modes (static); mode 0 is the fundamental.
        n_samples, n_bisection: root bracketing and refinement (static).

    Returns:
        ``(n_f, n_modes)`` phase velocities in m/s, NaN where a mode does not exist (below its
        cut-off frequency).
    """
    _check_medium(medium, "love_phase_velocities")
    frequencies = jnp.atleast_1d(jnp.asarray(frequencies, medium.density.dtype))
    return _love_phase_velocities(
        medium, frequencies, n_modes=int(n_modes), n_samples=int(n_samples),
        n_bisection=int(n_bisection),
    )  # fmt: skip


@eqx.filter_jit
def _love_phase_velocities(medium, frequencies, *, n_modes, n_samples, n_bisection):
    dtype = medium.density.dtype
    beta = medium.velocity_s
    s_min, s_max = 1.0 / beta[-1], 1.0 / jnp.min(beta)
    fraction = (jnp.arange(n_samples, dtype=dtype) + 0.5) / n_samples
    slowness = s_min + (s_max - s_min) * fraction  # ascending slowness = descending velocity

    def one_frequency(f):
        values = _love_secular(medium, f, 1.0 / slowness)
        change = jnp.sign(values[:-1]) * jnp.sign(values[1:]) < 0
        # the fundamental mode has the largest slowness: count brackets from the slow end
        order = jnp.argsort(jnp.where(change, -jnp.arange(n_samples - 1), n_samples))
        index = order[:n_modes]
        found = change[index]
        lo, hi = slowness[index], slowness[index + 1]
        f_lo = _love_secular(medium, f, 1.0 / lo)

        def bisect(_, bracket):
            lo, hi, f_lo = bracket
            mid = 0.5 * (lo + hi)
            f_mid = _love_secular(medium, f, 1.0 / mid)
            left = jnp.sign(f_mid) == jnp.sign(f_lo)
            return jnp.where(left, mid, lo), jnp.where(left, hi, mid), jnp.where(left, f_mid, f_lo)

        lo, hi, _ = jax.lax.fori_loop(0, n_bisection, bisect, (lo, hi, f_lo))
        return jnp.where(found, 2.0 / (lo + hi), jnp.nan)

    return jax.vmap(one_frequency)(frequencies)
