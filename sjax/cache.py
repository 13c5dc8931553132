"""JAX's persistent compilation cache, shared by the CLI and the test suite."""

import os

import jax


def default_cache_dir() -> str | None:
    """``$SJAX_CACHE_DIR``, else ``~/.cache/sjax/jax``; None when ``SJAX_CACHE_DIR=off``."""
    if os.environ.get("SJAX_CACHE_DIR", "").strip().lower() == "off":
        return None
    return os.environ.get("SJAX_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "sjax", "jax")  # fmt: skip


def enable_compilation_cache(
    folder: str | None = None, *, min_compile_seconds: float = 0.0
) -> bool:
    """Store compiled XLA programs in ``folder`` (default `default_cache_dir`) and reuse them in
    later processes, so that a second run skips compilation.

    Args:
        folder: cache directory, created if missing.
        min_compile_seconds: cache only programs that took at least this long to compile.

    Returns:
        True if the cache is on; False if it is switched off (``SJAX_CACHE_DIR=off`` and no
        ``folder``) or ``folder`` cannot be created (e.g. a read-only home), in which case JAX
        runs without it.
    """
    folder = folder or default_cache_dir()
    if folder is None:
        return False
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    return True
