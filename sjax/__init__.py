"""sjax: differentiable modelling for seismology in JAX.

The top-level names are imported on first use, so that ``import sjax.aftershock`` (or the
``sjax aftershock`` command) does not pay for loading the wave propagator.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["Grid", "LayeredMedium", "PointForce", "Receivers", "Ricker", "simulate",
           "to_taup_nd", "wave", "__version__"]  # fmt: skip

_LAZY = {"Grid": "sjax.wave", "PointForce": "sjax.wave", "Receivers": "sjax.wave",
         "Ricker": "sjax.wave", "simulate": "sjax.wave", "LayeredMedium": "sjax.media",
         "to_taup_nd": "sjax.media"}  # fmt: skip


def __getattr__(name: str):
    if name == "wave":
        return importlib.import_module("sjax.wave")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sjax' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
