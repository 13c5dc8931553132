"""sjax: differentiable modelling for seismology in JAX."""

from sjax import wave
from sjax.media import LayeredMedium, to_taup_nd
from sjax.wave import Grid, PointForce, Receivers, Ricker, simulate

__version__ = "0.1.0"
__all__ = ["Grid", "LayeredMedium", "PointForce", "Receivers", "Ricker", "simulate",
           "to_taup_nd", "wave", "__version__"]
