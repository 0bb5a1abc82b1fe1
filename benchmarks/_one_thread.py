"""Import first in a benchmark script: one thread for BLAS, OpenMP and numba.

The variables must be set before numpy (or scipy, scikit-learn, numba) is
imported; values already set in the environment are kept.
"""

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")
