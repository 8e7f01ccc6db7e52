"""One BLAS thread per process in a run launched by MPI (``mpiexec``, ``srun``).

Processes sharing a machine would otherwise each start a thread per core and contend
for them. This runs when anyprop is imported, before NumPy is: under an MPI launcher
(which sets ``PMI_RANK``, ``PMIX_RANK`` or ``OMPI_COMM_WORLD_RANK``) it sets
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 unless they
are set already (set them yourself for more). Outside MPI it does nothing.
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


one_thread_under_mpi()
