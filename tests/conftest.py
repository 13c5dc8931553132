"""Correctness tests run in float64; float32 tests pass float32 inputs explicitly.

Multi-device tests live in ``tests/multidevice`` and need 8 forced CPU devices, which must be
set before JAX starts: ``tests/test_multidevice.py`` runs them in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``, so one ``pytest`` runs everything.

Compiled programs go to JAX's persistent compilation cache (``$SJAX_CACHE_DIR``, default
``~/.cache/sjax/jax``), shared by the xdist workers and the multi-device process, so a second
run of the suite skips most compilation. ``SJAX_CACHE_DIR=off`` runs without it.
"""

import os

import jax

from sjax.cache import enable_compilation_cache

jax.config.update("jax_enable_x64", True)
enable_compilation_cache(min_compile_seconds=0.2)  # SJAX_CACHE_DIR=off: no cache

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    collect_ignore_glob = ["multidevice/*"]
