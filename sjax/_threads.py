"""One BLAS thread around LAPACK-heavy JAX code on CPU.

JAX's CPU Cholesky and triangular solves call the OpenBLAS bundled with SciPy. Its spinning
worker threads compete with XLA's own threads, which makes the n×n factorisations of the exact
GP 10–100× slower and erratic on a shared CPU (a 256×256 `exact_log_marginal` evaluation took
0.02–1 s instead of 8 ms). `single_blas_thread` limits OpenBLAS to one thread for the duration
of a call, so users need not set ``OPENBLAS_NUM_THREADS=1`` themselves.
"""

import functools

from threadpoolctl import threadpool_limits


def single_blas_thread(function):
    """Decorator: run ``function`` with the BLAS libraries limited to one thread (restored
    afterwards)."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapped
