"""Correctness tests run in float64; float32 tests pass float32 inputs explicitly.

Multi-device tests live in ``tests/multidevice`` and need 8 forced CPU devices, which must be
set before JAX starts: ``tests/test_multidevice.py`` runs them in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``, so one ``pytest`` runs everything.
"""

import os

import jax

jax.config.update("jax_enable_x64", True)

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    collect_ignore_glob = ["multidevice/*"]
