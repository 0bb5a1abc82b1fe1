"""The compiled kernels against scipy's products and a NumPy step.

Every product of ``_kernels.Block`` (``X @ W``, ``X.T @ R``, ``(X * X).T @ D``)
and ``column_norms`` on random CSR and CSC matrices of every supported data type
(float32, float64) and index type (int32, int64), with empty rows and columns,
unsorted or duplicate indices, read-only arrays and 1 to 40 dense columns (the
kernels' tiles of 16, 8, 4 and single columns); and one step of
``_online_fast.sparse_step`` / ``dense_step`` against the formula of
``_online.py`` written with NumPy.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from chinchilla_sklearn import _kernels, _online_fast

FORMATS = ["csr", "csc"]
DTYPES = [np.float32, np.float64]
INDEX_DTYPES = [np.int32, np.int64]
KINDS = ["canonical", "unsorted", "duplicates"]
N_COLUMNS = [1, 3, 20, 40]  # one column; tiles of 4 / 16 + 4 / 16 + 16 + 8


def _rtol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


def _matrix(fmt, dtype, index_dtype, kind, seed=0, shape=(37, 29)):
    """A random sparse matrix with an empty row and an empty column, made
    non-canonical as asked, its arrays read-only."""
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape) * (rng.random(shape) < 0.3)
    dense[5] = 0.0  # an empty row
    dense[:, 7] = 0.0  # an empty column
    A = {"csr": sp.csr_array, "csc": sp.csc_array}[fmt](dense.astype(dtype))
    data, indices, indptr = A.data, A.indices, A.indptr
    if kind == "unsorted":
        order = np.concatenate([np.arange(a, b)[::-1]
                                for a, b in zip(indptr[:-1], indptr[1:])])
        data, indices = data[order], indices[order]
    elif kind == "duplicates":  # each entry split in two parts
        data = np.repeat(data / 2, 2)
        indices = np.repeat(indices, 2)
        indptr = indptr * 2
    arrays = [data, indices.astype(index_dtype), indptr.astype(index_dtype)]
    for array in arrays:
        array.flags.writeable = False
    X = A.__class__(tuple(arrays), shape=shape)
    assert X.indices.dtype == X.indptr.dtype == index_dtype
    assert X.dtype == dtype
    assert X.has_canonical_format == (kind == "canonical")
    return X, dense.astype(dtype)


def _operand(n_rows, n_columns, dtype, seed=1):
    B = np.random.default_rng(seed).standard_normal((n_rows, n_columns)).astype(dtype)
    B.flags.writeable = False
    return B


@pytest.mark.parametrize("n_columns", N_COLUMNS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["int32", "int64"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_products_match_scipy(fmt, dtype, index_dtype, kind, n_columns):
    X, dense = _matrix(fmt, dtype, index_dtype, kind)
    block = _kernels.Block(X)
    W = _operand(X.shape[1], n_columns, dtype)
    R = _operand(X.shape[0], n_columns, dtype, seed=2)
    for ours, reference in [(block.matmul(W), X @ W), (block.rmatmul(R), X.T @ R)]:
        assert ours.dtype == dtype and ours.flags.c_contiguous
        assert_allclose(ours, reference, rtol=_rtol(dtype), atol=_rtol(dtype))
    assert_allclose(block.matmul(W), dense @ W, rtol=_rtol(dtype), atol=_rtol(dtype))
    assert block.n_products == 3 and block.column_passes == 3 * X.shape[1]


@pytest.mark.parametrize("n_columns", N_COLUMNS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["int32", "int64"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_squared_product_matches_scipy(fmt, dtype, index_dtype, kind, n_columns):
    """The squares of the stored entries (duplicates one by one), in float64."""
    X, _ = _matrix(fmt, dtype, index_dtype, kind)
    D = _operand(X.shape[0], n_columns, np.float64, seed=3)
    squares = X.__class__((X.data.astype(np.float64) ** 2, X.indices, X.indptr),
                          shape=X.shape)
    ours = _kernels.Block(X).squared_rmatmul(D)
    assert ours.dtype == np.float64
    assert_allclose(ours, squares.T @ D, rtol=1e-12, atol=1e-12)
    if kind == "canonical":
        assert_allclose(ours, (X.multiply(X)).T @ D, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_column_norms_of_non_canonical_input(fmt, kind):
    """Duplicates are summed before squaring; the caller's X is not changed."""
    X, dense = _matrix(fmt, np.float64, np.int64, kind)
    data = X.data.copy()
    assert_allclose(_kernels.column_norms(X), np.linalg.norm(dense, axis=0),
                    rtol=1e-12)
    assert_array_equal(X.data, data)


def test_dense_block_and_mixed_dtypes():
    """A dense block multiplies with numpy; float32 X with a float64 operand
    gives float64, a vector operand a vector."""
    X, dense = _matrix("csr", np.float32, np.int32, "canonical")
    W = _operand(X.shape[1], 3, np.float64)
    ours = _kernels.Block(X).matmul(W)
    assert ours.dtype == np.float64
    assert_allclose(ours, dense.astype(np.float64) @ W, rtol=1e-12)
    assert_allclose(_kernels.Block(dense).matmul(W), dense @ W, rtol=1e-6)
    D = _operand(X.shape[0], 2, np.float64)
    assert_allclose(_kernels.Block(dense).squared_rmatmul(D),
                    np.square(dense, dtype=np.float64).T @ D, rtol=1e-12)
    v = _operand(X.shape[0], 1, np.float32)[:, 0]
    assert _kernels.rmatmul(X, v).shape == (X.shape[1],)
    assert_allclose(_kernels.rmatmul(X, v), X.T @ v, rtol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_matrix(fmt):
    X = {"csr": sp.csr_array, "csc": sp.csc_array}[fmt]((4, 3))
    block = _kernels.Block(X)
    assert_array_equal(block.matmul(np.ones((3, 2))), np.zeros((4, 2)))
    assert_array_equal(block.rmatmul(np.ones((4, 2))), np.zeros((3, 2)))
    assert_array_equal(block.squared_rmatmul(np.ones((4, 1))), np.zeros((3, 1)))


def _numpy_step(X_B, R, W, z, root, alpha, l1, l2, group):
    """One step of ``_online.py``'s formula on all columns, with NumPy."""
    X_B = X_B.toarray().astype(np.float64)
    G, S = X_B.T @ R, np.square(X_B).T @ np.square(R)
    if group:
        S = S.sum(axis=1, keepdims=True)
    new = np.sqrt(root**2 + S)
    z = z + G + (root - new) / alpha * W
    d = new / alpha + l2
    if group:
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        leader = -z / d * np.maximum(1 - l1 / np.where(norms > 0, norms, 1), 0)
    else:
        leader = -np.sign(z) * np.maximum(np.abs(z) - l1, 0) / d
    W = np.where(new > 0, leader, W)
    return W, z, new


def _penalty(W, group, alpha, l1, l2):
    """The penalty ``l2 / 2 ||W||^2 + l1 h(W)``."""
    h = np.linalg.norm(W, axis=1).sum() if group else np.abs(W).sum()
    return 0.5 * l2 * np.sum(W**2) + l1 * h


@pytest.mark.parametrize("group", [False, True], ids=["elementwise", "group"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["int32", "int64"])
@pytest.mark.parametrize("kind", KINDS)
def test_online_step_matches_numpy(kind, index_dtype, group):
    """sparse_step (touched columns) and dense_step (all columns) against the
    formula; untouched columns keep their weights, the scratch is left clean."""
    X, _ = _matrix("csr", np.float64, index_dtype, kind)
    rng = np.random.default_rng(4)
    n_features, n_outputs = X.shape[1], 3
    R = rng.standard_normal((X.shape[0], n_outputs))
    W = rng.standard_normal((n_features, n_outputs))
    z = rng.standard_normal((n_features, n_outputs))
    root = rng.random((n_features, 1 if group else n_outputs))
    root[::4] = 0  # never stepped: these keep W until a gradient arrives
    params = dict(alpha=0.3, l1=0.2, l2=0.5)
    expected = _numpy_step(X, R, W, z, root, group=group, **params)
    position = np.full(n_features, -1, dtype=np.int64)
    columns = np.zeros(X.nnz, dtype=np.int64)
    last_row = np.full(X.nnz, -1, dtype=np.int64)
    scratch = np.zeros((X.nnz, 3 * n_outputs))
    sparse = [W.copy(), z.copy(), root.copy()]
    delta = _online_fast.sparse_step(X.data, X.indices, X.indptr, R, *sparse,
                                     position, columns, last_row, scratch,
                                     *params.values(),
                                     group, 0.0)
    touched = np.zeros(n_features, dtype=bool)
    touched[X.indices] = True
    assert not touched[7]  # the empty column
    for ours, reference, before in zip(sparse, expected, (W, z, root)):
        assert_allclose(ours, np.where(touched[:, None], reference, before),
                        rtol=1e-12, atol=1e-12)
    assert delta == pytest.approx(_penalty(sparse[0], group, **params)
                                  - _penalty(W, group, **params), rel=1e-10)
    assert np.all(position == -1) and np.all(last_row == -1) and not scratch.any()
    dense_X = X.toarray()
    G = dense_X.T @ R
    S = np.square(dense_X).T @ np.square(R)
    dense = [W.copy(), z.copy(), root.copy()]
    _online_fast.dense_step(G, S, *dense, *params.values(), group, 0.0)
    for ours, reference in zip(dense, expected):
        assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
