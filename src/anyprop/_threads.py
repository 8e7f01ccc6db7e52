"""One BLAS thread per process in a run launched by MPI (``mpiexec``, ``srun``).

Processes sharing a machine would otherwise each start a thread per core and contend
for them (two processes of two OpenBLAS threads each on two cores ran a step 17 times
slower here). This runs when anyprop is imported: under an MPI launcher (which sets
``PMI_RANK``, ``PMIX_RANK`` or ``OMPI_COMM_WORLD_RANK``) it sets
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 unless they
are set already (set them yourself for more), which NumPy reads when it is first
imported; :func:`set_blas_threads` changes an OpenBLAS already loaded (NumPy imported
before anyprop), through its own ``set_num_threads``. Outside MPI it does nothing.
"""

from __future__ import annotations

import os

LAUNCHERS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_under_mpi(environ: dict | None = None) -> bool:
    """Set one BLAS thread per process when launched by MPI; whether it was."""
    env = os.environ if environ is None else environ
    if not any(k in env for k in LAUNCHERS):
        return False
    for k in THREADS:
        env.setdefault(k, "1")
    return True


def launched_by_mpi(environ: dict | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(k in env for k in LAUNCHERS)


def set_blas_threads(n: int) -> bool:
    """Set the threads of every OpenBLAS this process has loaded (NumPy's, SciPy's) to
    ``n``; whether one was found. (Linux: the libraries are found in /proc/self/maps.)"""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return False
    done = False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in (
            "scipy_openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done


def set_threads(n: int) -> None:
    """Use ``n`` threads for the matrix products (every OpenBLAS the process has loaded)
    and for numba's parallel code where numba is loaded. Results do not depend on the
    count beyond the order of floating-point sums. ``anyprop train --threads N``."""
    import sys

    from anyprop.errors import AnypropError

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1024:
        raise AnypropError(f"threads must be a whole number from 1 to 1024, got {n!r}")
    set_blas_threads(n)
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


one_thread_under_mpi()
