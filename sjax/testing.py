"""Reference solutions and helpers shared by tests, notebooks and benchmarks."""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.special

__all__ = [
    "analytic_sh_line_force",
    "analytic_psv_vertical_force",
    "rayleigh_velocity",
    "subsample_lag",
    "relative_l2",
]


def _convolve_spectrum(wavelet_samples: np.ndarray, dt: float, transfer) -> np.ndarray:
    n = len(wavelet_samples)
    n_pad = 8 * n
    spectrum = np.fft.rfft(wavelet_samples, n_pad)
    omega = 2 * np.pi * np.fft.rfftfreq(n_pad, dt)
    response = np.zeros_like(spectrum)
    response[1:] = transfer(omega[1:])
    return np.fft.irfft(spectrum * response, n_pad)[:n]


def analytic_sh_line_force(wavelet_samples, dt, distance, velocity_s, density):
    """Displacement (m) of a homogeneous full space at ``distance`` (m) from an SH line force
    (N/m per unit wavelet), ``u(ω) = −i/(4μ) H0⁽²⁾(ω r/β) S(ω)`` (e^{iωt} convention).

    Args:
        wavelet_samples: ``(n,)`` force time function sampled from t = 0 every ``dt`` s.
    """
    mu = density * velocity_s**2
    return _convolve_spectrum(
        np.asarray(wavelet_samples, float), dt,
        lambda w: -1j / (4 * mu) * scipy.special.hankel2(0, w * distance / velocity_s),
    )  # fmt: skip


def analytic_psv_vertical_force(
    wavelet_samples, dt, distance, velocity_p, velocity_s, density, along: str
):
    """Vertical displacement (m) in a homogeneous 2-D full space from a vertical line force,
    at ``distance`` (m) either ``"below"`` the force (P radiation) or ``"beside"`` it (S).

    From the 2-D elastodynamic Green's function
    ``G_zz = −i/(4ρ) [H0(k_β r)/β² − (1/ω²) ∂z² (H0(k_α r) − H0(k_β r))]`` (H = H⁽²⁾).
    """
    H0 = lambda k: scipy.special.hankel2(0, k * distance)  # noqa: E731
    H1 = lambda k: scipy.special.hankel2(1, k * distance)  # noqa: E731
    a, b, r = velocity_p, velocity_s, distance

    def transfer(w):
        ka, kb = w / a, w / b
        if along == "beside":  # ∂z² f(r) = f'(r)/r on the x axis
            bracket = H0(kb) / b**2 + (ka * H1(ka) - kb * H1(kb)) / (w**2 * r)
        elif along == "below":  # ∂z² f(r) = f''(r) on the z axis
            bracket = H0(ka) / a**2 - H1(ka) / (ka * r * a**2) + H1(kb) / (kb * r * b**2)
        else:
            raise ValueError(f"along={along!r} must be 'below' or 'beside'")
        return -1j / (4 * density) * bracket

    return _convolve_spectrum(np.asarray(wavelet_samples, float), dt, transfer)


def rayleigh_velocity(velocity_p: float, velocity_s: float) -> float:
    """Rayleigh-wave speed (m/s) of a homogeneous half-space (root of the Rayleigh equation)."""

    def rayleigh(c):
        x = (c / velocity_s) ** 2
        return (2 - x) ** 2 - 4 * np.sqrt(1 - x) * np.sqrt(1 - x * (velocity_s / velocity_p) ** 2)

    return scipy.optimize.brentq(rayleigh, 0.5 * velocity_s, 0.999999 * velocity_s)


def subsample_lag(trace: np.ndarray, reference: np.ndarray, dt: float) -> float:
    """Delay (s) of ``trace`` relative to ``reference`` from the cross-correlation peak, refined
    by a parabola through the three samples around it."""
    cc = np.correlate(trace, reference, "full")
    k = int(np.argmax(cc))
    if 0 < k < len(cc) - 1:
        y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
        k = k + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return (k - (len(reference) - 1)) * dt


def relative_l2(trace, reference) -> float:
    """‖trace − reference‖ / ‖reference‖."""
    trace, reference = np.asarray(trace), np.asarray(reference)
    return float(np.linalg.norm(trace - reference) / np.linalg.norm(reference))
