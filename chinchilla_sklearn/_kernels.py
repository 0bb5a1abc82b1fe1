"""Kernels: the products of a block of columns of X with the weights and residuals.

A :class:`Block` holds the working-set columns of ``X``, as a sparse matrix or
as a dense array (the kernel the gate chose), and counts the column passes it
makes so the gate can report what it saved.
"""

import numpy as np
import scipy.sparse as sp

# Stored entries squared at a time by Block.squared_rmatmul and column_norms
# (float64: 512 KiB), and the most row chunks of a CSR X.
SQUARED_CHUNK = 2**16
SQUARED_MAX_CHUNKS = 8
# A block whose squares take at most this many bytes keeps them: small blocks
# then pay no chunking overhead in each Newton step (benchmarks/bench_core.py
# --quick: 6% of a gate=False L1 fit), and the memory kept stays bounded.
SQUARED_CACHE_BYTES = 2**22


class Block:
    """The columns of ``X`` a solver works on, with the products it needs.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_columns)
        The columns, in the layout of the chosen kernel.
    """

    def __init__(self, X):
        self.X = X
        self.kernel = "sparse" if sp.issparse(X) else "dense"
        self.n_columns = X.shape[1]
        self.column_passes = 0
        self.n_products = 0
        self._squared = None

    def matmul(self, W):
        """Return ``X @ W``."""
        self._count()
        return np.asarray(self.X @ W)

    def rmatmul(self, R):
        """Return ``X.T @ R``."""
        self._count()
        return np.asarray(self.X.T @ R)

    def squared_rmatmul(self, D):
        """Return ``(X * X).T @ D`` in float64: diagonals of ``X.T @ diag(D_k) @ X``.

        The squares are made in float64, so float32 data of magnitude above
        ~1e19 (whose squares overflow float32) give finite diagonals; a chunk
        of stored entries at a time, unless all of them fit in
        SQUARED_CACHE_BYTES, in which case they are made once and kept.
        """
        self._count()
        X, D = self.X, np.asarray(D, dtype=np.float64)
        n_stored = X.nnz if sp.issparse(X) else X.size
        if self._squared is None and 8 * n_stored <= SQUARED_CACHE_BYTES:
            # all of X: its rows (CSR) or columns (CSC, dense) 0 to the end
            csr = sp.issparse(X) and X.format == "csr"
            self._squared = _square(X, 0, X.shape[0] if csr else X.shape[1])
        if self._squared is not None:
            return np.asarray(self._squared.T @ D)
        return _squared_rmatmul(X, D)

    def _count(self):
        self.column_passes += self.n_columns
        self.n_products += 1


def column_norms(X):
    """Return the Euclidean norm of each column of ``X`` in float64 (one pass)."""
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()  # duplicates must be summed before squaring
        X.sum_duplicates()
    ones = np.ones((X.shape[0], 1))
    return np.sqrt(_squared_rmatmul(X, ones)[:, 0])


def _squared_rmatmul(X, D):
    """Return ``(X * X).T @ D`` for a float64 ``D``, squaring chunks of ``X``.

    Each chunk holds about SQUARED_CHUNK stored entries (a column range of a
    CSC or dense ``X``; a row range of a CSR ``X``, at most
    SQUARED_MAX_CHUNKS of them, as each adds a product of full length), and
    its squared values share the index arrays of ``X``. A column range gives
    each output row from one product, so the result is the same as without
    chunks.
    """
    n_rows, n_columns = X.shape
    out = np.zeros((n_columns, D.shape[1]))
    if not sp.issparse(X) or X.format == "csc":
        per_column = max(X.nnz if sp.issparse(X) else X.size, 1) / max(n_columns, 1)
        step = max(int(SQUARED_CHUNK / per_column), 1)
        for start in range(0, n_columns, step):
            stop = min(start + step, n_columns)
            out[start:stop] = _square(X, start, stop).T @ D
        return out
    step = max(-(-n_rows // SQUARED_MAX_CHUNKS),
               int(SQUARED_CHUNK * n_rows / max(X.nnz, 1)), 1)
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        out += _square(X, start, stop).T @ D[start:stop]
    return out


def _square(X, start, stop):
    """Return the float64 squares of ``X``'s rows (CSR) or columns ``start:stop``."""
    if not sp.issparse(X):
        return np.square(X[:, start:stop], dtype=np.float64)
    first, last = X.indptr[start], X.indptr[stop]
    data = np.square(X.data[first:last], dtype=np.float64)
    indptr = X.indptr[start:stop + 1] - first
    if X.format == "csc":
        shape = (X.shape[0], stop - start)
        return sp.csc_array((data, X.indices[first:last], indptr), shape=shape)
    shape = (stop - start, X.shape[1])
    return sp.csr_array((data, X.indices[first:last], indptr), shape=shape)


def take_columns(X, columns, kernel):
    """Return the block of ``X``'s ``columns`` in the layout of ``kernel``."""
    if columns is None:
        return Block(X)
    X_ws = X[:, columns]
    if kernel == "dense" and sp.issparse(X_ws):
        X_ws = X_ws.toarray()
    return Block(X_ws)
