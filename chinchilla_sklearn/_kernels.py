"""Kernels: the products of a block of columns of X with the weights and residuals.

A :class:`Block` holds the working-set columns of ``X``, as a sparse matrix or
as a dense array (the kernel the gate chose), and counts the column passes it
makes so the gate can report what it saved.
"""

import numpy as np
import scipy.sparse as sp


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
        """Return ``(X * X).T @ D``: diagonals of ``X.T @ diag(D_k) @ X``.

        The squared values are made once per block; for a sparse block they
        share the index arrays of ``X``.
        """
        if self._squared is None:
            if self.kernel == "sparse":
                X = self.X
                self._squared = X.__class__(
                    (X.data * X.data, X.indices, X.indptr), shape=X.shape
                )
            else:
                self._squared = self.X * self.X
        self._count()
        return np.asarray(self._squared.T @ D)


    def _count(self):
        self.column_passes += self.n_columns
        self.n_products += 1


def column_norms(X):
    """Return the Euclidean norm of each column of ``X`` (one pass)."""
    if sp.issparse(X):
        if not X.has_canonical_format:  # duplicates must be summed first
            X = X.copy()
            X.sum_duplicates()
        # square the values only, sharing the index arrays: no copy of X
        X2 = X.__class__((X.data * X.data, X.indices, X.indptr), shape=X.shape)
        squared = np.asarray(X2.sum(axis=0)).ravel()
    else:
        squared = np.einsum("ij,ij->j", X, X)
    return np.sqrt(squared)


def take_columns(X, columns, kernel):
    """Return the block of ``X``'s ``columns`` in the layout of ``kernel``."""
    if columns is None:
        return Block(X)
    X_ws = X[:, columns]
    if kernel == "dense" and sp.issparse(X_ws):
        X_ws = X_ws.toarray()
    return Block(X_ws)
