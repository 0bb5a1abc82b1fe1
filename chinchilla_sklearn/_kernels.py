"""Kernels: the products of a block of columns of X with the weights and residuals.

A :class:`Block` holds the working-set columns of ``X``, as a sparse matrix or
as a dense array (the kernel the gate chose), and counts the column passes it
makes so the gate can report what it saved.

Sparse products are compiled (``_kernels_fast.pyx``): with ``K`` dense columns
(``K = n_outputs``) each stored entry multiplies a contiguous row of ``K``
values in vector registers. A CSR matrix gathers ``X @ W`` row by row and
scatters ``X.T @ R``; a CSC matrix the other way round. Both read ``X`` as it
is: no second layout of ``X`` is made here, and unsorted or duplicate indices
add up as in scipy's products. Measured (benchmarks/bench_kernel.py): the
gathers are faster than scipy's products, the scatters as fast, and what
bounds both is reading or writing rows of the dense operand at random; which
layout the fit uses is the gate's choice (``_gate._csc_pays``).
"""

import numpy as np
import scipy.sparse as sp

from . import _kernels_fast

# Columns of a dense block squared at a time by squared_rmatmul (float64
# temporaries of at most this many entries).
SQUARED_CHUNK = 2**16
# Dense products with several outputs are taken a chunk of rows at a time, of at
# most DENSE_CHUNK_FLOPS multiply-adds each (when a chunk keeps at least
# DENSE_CHUNK_MIN_ROWS rows): OpenBLAS (numpy's and scipy's wheels) multiplies
# those in its small-matrix kernel, about twice as fast on these thin shapes as
# its general one. One thread, us, X @ W / X.T @ R, whole against chunked:
# digits 1,797 x 64, 10 outputs 105 / 105 against 52 / 54; 20,000 x 64 x 10
# 1,377 / 1,358 against 796 / 645; 5,000 x 1,500 x 10 (66 rows a chunk) 11,995
# / 10,953 against 9,916 / 7,036. With one output (a matrix-vector product)
# chunks gain nothing.
DENSE_CHUNK_FLOPS = 10**6
DENSE_CHUNK_MIN_ROWS = 64


class Block:
    """The columns of ``X`` a solver works on, with the products it needs.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_columns)
        The columns, in the layout of the chosen kernel (CSR or CSC when
        sparse; canonical or not).
    """

    def __init__(self, X):
        self.X = X
        self.kernel = "sparse" if sp.issparse(X) else "dense"
        self.n_columns = X.shape[1]
        self.column_passes = 0
        self.n_products = 0

    def matmul(self, W):
        """Return ``X @ W``."""
        self._count()
        if self.kernel == "dense":
            return _dense_product(self.X, W, transpose=False)
        return self._sparse_product(W, transpose=False)

    def rmatmul(self, R):
        """Return ``X.T @ R``."""
        self._count()
        if self.kernel == "dense":
            return _dense_product(self.X, R, transpose=True)
        return self._sparse_product(R, transpose=True)

    def squared_rmatmul(self, D):
        """Return ``(X * X).T @ D`` in float64: diagonals of ``X.T @ diag(D_k) @ X``.

        The squares are made in float64, so float32 data of magnitude above
        ~1e19 (whose squares overflow float32) give finite diagonals. A sparse
        ``X`` squares its stored entries one by one (duplicates separately:
        the solver uses the diagonal as a preconditioner and scale, where
        that only changes the cost); a dense one, SQUARED_CHUNK entries at a
        time.
        """
        self._count()
        D = np.asarray(D, dtype=np.float64)
        if self.kernel == "sparse":
            return self._sparse_product(D, transpose=True, squared=True)
        X = self.X
        out = np.empty((X.shape[1], D.shape[1]))
        step = max(SQUARED_CHUNK // max(X.shape[0], 1), 1)
        for start in range(0, X.shape[1], step):
            columns = slice(start, start + step)
            out[columns] = np.square(X[:, columns], dtype=np.float64).T @ D
        return out

    def gram(self, h, columns=None, border=False):
        """Return ``A.T @ diag(h) @ A`` in float64.

        ``A`` holds the ``columns`` of the block (all when None), made dense
        (the caller keeps them few), and with ``border`` a last column of
        ones: the bordered matrix of the Hessian of the weights and an
        intercept. Counted as one product.
        """
        self._count()
        X_F = self.X if columns is None else self.X[:, columns]
        X_F = (X_F.toarray() if sp.issparse(X_F) else X_F).astype(np.float64,
                                                                  copy=False)
        h = np.asarray(h, dtype=np.float64)
        n = X_F.shape[1]
        H = np.empty((n + border, n + border))
        H[:n, :n] = (X_F * h[:, None]).T @ X_F
        if border:  # (a product with h: 4 us where summing the weighted took 12)
            H[n, :n] = H[:n, n] = h @ X_F
            H[n, n] = h.sum()
        return H

    def _count(self):
        self.column_passes += self.n_columns
        self.n_products += 1

    def _sparse_product(self, B, *, transpose, squared=False):
        """Return ``X @ B``, ``X.T @ B`` or ``(X * X).T @ B`` with the kernels.

        The result has the dtype of ``X`` and ``B`` together (float64 for the
        squares), and ``B``'s number of dimensions.
        """
        X = self.X
        vector = B.ndim == 1
        dtype = np.float64 if squared else np.result_type(X.dtype, B.dtype)
        if dtype not in (np.float32, np.float64):
            dtype = np.float64
        B = np.ascontiguousarray(B.reshape(-1, 1) if vector else B, dtype=dtype)
        data, indices, indptr = sparse_arrays(X)
        n_out = X.shape[1] if transpose else X.shape[0]
        # CSR gathers X @ B and scatters X.T @ B; CSC the other way round
        if (X.format == "csr") != transpose:
            out = np.empty((n_out, B.shape[1]), dtype)
            _kernels_fast.gather(data, indices, indptr, B, out, squared)
        else:
            out = np.zeros((n_out, B.shape[1]), dtype)
            _kernels_fast.scatter(data, indices, indptr, B, out, squared)
        return out[:, 0] if vector else out


def _dense_product(X, B, *, transpose):
    """Return ``X @ B`` or ``X.T @ B`` for a dense ``X``, in chunks of rows.

    Chunks of at most DENSE_CHUNK_FLOPS multiply-adds, when ``B`` has several
    columns and a chunk keeps at least DENSE_CHUNK_MIN_ROWS rows; otherwise
    one product.
    """
    n_rows = X.shape[0]
    width = X.shape[1] * (B.shape[1] if B.ndim == 2 else 1)
    rows = DENSE_CHUNK_FLOPS // max(width, 1)
    if B.ndim == 1 or B.shape[1] == 1 or rows >= n_rows or (
            rows < DENSE_CHUNK_MIN_ROWS):
        return np.asarray(X.T @ B if transpose else X @ B)
    if transpose:  # the sum of the chunks' products
        out = np.asarray(X[:rows].T @ B[:rows])
        for start in range(rows, n_rows, rows):
            out += X[start:start + rows].T @ B[start:start + rows]
        return out
    out = np.empty((n_rows, B.shape[1]), dtype=np.result_type(X.dtype, B.dtype))
    for start in range(0, n_rows, rows):
        np.matmul(X[start:start + rows], B, out=out[start:start + rows])
    return out


def sparse_arrays(X):
    """Return ``data``, ``indices`` and ``indptr`` of a sparse ``X`` for the kernels.

    Contiguous, float32 or float64 data and one index dtype for both index
    arrays: X's own arrays unless they are not so (then converted copies).
    """
    data = X.data if X.dtype in (np.float32, np.float64) else X.data.astype(np.float64)
    index = np.promote_types(X.indices.dtype, X.indptr.dtype)
    return (np.ascontiguousarray(data),
            np.ascontiguousarray(X.indices, dtype=index),
            np.ascontiguousarray(X.indptr, dtype=index))


def matmul(X, W):
    """Return ``X @ W`` (one pass over a sparse or dense ``X``)."""
    return Block(X).matmul(W)


def rmatmul(X, R):
    """Return ``X.T @ R`` (one pass over a sparse or dense ``X``)."""
    return Block(X).rmatmul(R)


def column_norms(X):
    """Return the Euclidean norm of each column of ``X`` in float64 (one pass)."""
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()  # duplicates must be summed before squaring
        X.sum_duplicates()
    ones = np.ones((X.shape[0], 1))
    return np.sqrt(Block(X).squared_rmatmul(ones)[:, 0])


def take_columns(X, columns, kernel):
    """Return the block of ``X``'s ``columns`` in the layout of ``kernel``."""
    if columns is None:
        return Block(X)
    X_ws = X[:, columns]
    if kernel == "dense" and sp.issparse(X_ws):
        X_ws = X_ws.toarray()
    return Block(X_ws)
