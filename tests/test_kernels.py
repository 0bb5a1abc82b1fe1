"""The compiled kernels against scipy's products and a NumPy step.

Every product of ``_kernels.Block`` (``X @ W``, ``X.T @ R``, ``(X * X).T @ D``)
and ``column_norms`` on random CSR and CSC matrices of every supported data type
(float32, float64) and index type (int32, int64), with empty rows and columns,
unsorted or duplicate indices, read-only arrays and 1 to 40 dense columns (the
kernels' tiles of 16, 8, 4 and single columns); and the steps of
``_online_fast`` (sparse and dense, sigmoid and softmax, elementwise and group,
after a fit or not) against the formulas of ``_online.py`` written with NumPy
and the losses of ``_loss.py``.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from chinchilla_sklearn import _kernels, _online, _online_fast
from chinchilla_sklearn._loss import ClassLabels, SigmoidLoss, SoftmaxLoss

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


def _numpy_step(X_B, R, W, z, root, alpha, l1, l2, group, prior_share=0.0):
    """One step of ``_online.py``'s formula on all columns, with NumPy."""
    X_B = X_B.toarray().astype(np.float64) if sp.issparse(X_B) else X_B
    G, S = X_B.T @ R, np.square(X_B).T @ np.square(R)
    if group:
        S = S.sum(axis=1, keepdims=True)
    S = np.where(root[:, :1] == 0, (1 + prior_share) * S, S)
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


def _numpy_intercept_step(R, b, z_b, root_b, alpha, prior_share=0.0):
    """The intercept's step of ``_online.py`` with NumPy: the squared batch
    gradient, plus the prior's share of the per-sample squares at first."""
    g = R.sum(axis=0)
    squared = g**2
    if prior_share > 0 and not np.any(root_b):
        squared = squared + prior_share * np.square(R).sum(axis=0)
    new = np.sqrt(root_b**2 + squared)
    z_b = z_b + g - (new - root_b) / alpha * b
    b = np.where(new > 0, -z_b * alpha / np.where(new > 0, new, 1), b)
    return b, z_b, new


def _penalty(W, group, alpha, l1, l2):
    """The penalty ``l2 / 2 ||W||^2 + l1 h(W)``."""
    h = np.linalg.norm(W, axis=1).sum() if group else np.abs(W).sum()
    return 0.5 * l2 * np.sum(W**2) + l1 * h


LINKS = ["binary", "multilabel", "softmax"]


def _targets(link, n_rows, dtype, rng):
    """Targets of ``link`` as the kernels and as ``_loss`` take them."""
    if link == "softmax":
        labels = rng.integers(0, 3, n_rows)
        s = rng.uniform(0.5, 2.0, n_rows).astype(dtype)
        kernel = (np.empty((0, 3), dtype), labels.astype(np.intp), s[:, None])
        return kernel, (ClassLabels(labels, 3), s, SoftmaxLoss())
    K = 1 if link == "binary" else 3
    Y = (rng.random((n_rows, K)) < 0.4).astype(dtype)
    s = rng.uniform(0.5, 2.0, (n_rows, K)).astype(dtype)  # per entry
    return (Y, np.empty(0, np.intp), s), (Y, s, SigmoidLoss())


def _state(n_features, K, group, dtype, rng):
    """A table holding random weights, sums and roots (a quarter never stepped)."""
    table = _online._allocate_table(
        (n_features, _online_fast.record_width(K, group, np.dtype(dtype).itemsize)),
        dtype)
    Kr = 1 if group else K
    table[:, :2 * K] = rng.standard_normal((n_features, 2 * K))
    table[:, 2 * K:2 * K + Kr] = rng.random((n_features, Kr))
    table[::4, 2 * K:2 * K + Kr] = 0  # never stepped: these keep W
    return table, Kr


@pytest.mark.parametrize("n_prior", [0.0, 50.0], ids=["stream", "after_fit"])
@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("group", [False, True], ids=["elementwise", "group"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES, ids=["int32", "int64"])
@pytest.mark.parametrize("kind", KINDS)
def test_online_steps_match_numpy(kind, index_dtype, group, link, n_prior):
    """sparse_steps (two batches, touched columns), dense_step (all columns),
    residuals and intercept_step against the formulas of ``_online.py`` and
    the losses of ``_loss.py``: untouched columns keep their weights, the
    table's scratch is left clean."""
    X, dense_X = _matrix("csr", np.float64, index_dtype, kind)
    rng = np.random.default_rng(4)
    (Y, labels, s), (Y_loss, s_loss, loss) = _targets(link, X.shape[0], np.float64,
                                                     rng)
    K = 1 if link == "binary" else 3
    group = group and K > 1
    table, Kr = _state(X.shape[1], K, group, np.float64, rng)
    before = table.copy()
    b, z_b, root_b = rng.standard_normal((3, K))
    root_b = np.abs(root_b) * (n_prior == 0)  # a fit's stream: roots 0
    params = dict(alpha=0.3, l1=0.2, l2=0.5)
    # the reference, batch by batch: rows 0:20 then 20:37
    W, z, root = (before[:, :K], before[:, K:2 * K], before[:, 2 * K:2 * K + Kr])
    ref_b, ref_z_b, ref_root_b = b, z_b, root_b
    ref_loss = 0.0
    touched = np.zeros(X.shape[1], dtype=bool)
    for rows in (slice(0, 20), slice(20, 37)):
        Z = dense_X[rows] @ W + ref_b
        value, R, _ = loss.derivatives(Y_loss[rows], Z, s_loss[rows])
        ref_loss += value
        share = n_prior / 20 if rows.start == 0 else n_prior / 17
        stepped = _numpy_step(dense_X[rows], R, W, z, root, group=group,
                              prior_share=share, **params)
        in_batch = np.isin(np.arange(X.shape[1]), X[rows].indices)[:, None]
        W, z, root = (np.where(in_batch, new, old)
                      for new, old in zip(stepped, (W, z, root)))
        ref_b, ref_z_b, ref_root_b = _numpy_intercept_step(
            R, ref_b, ref_z_b, ref_root_b, params["alpha"], share)
        touched |= in_batch[:, 0]
    assert not touched[7]  # the empty column
    intercept = [b.copy(), z_b.copy(), root_b.copy()]
    value, delta, n_steps = _online_fast.sparse_steps(
        X.data, X.indices, X.indptr, Y, labels, s, table, K, group, *intercept, True,
        np.empty(X.nnz, np.int64), np.empty((3, K)), *params.values(), n_prior, 20)
    assert n_steps == 2
    assert value == pytest.approx(ref_loss, rel=1e-12)
    ours = (table[:, :K], table[:, K:2 * K], table[:, 2 * K:2 * K + Kr])
    for mine, reference in zip(ours, (W, z, root)):
        assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
    assert not table[:, 2 * K + Kr:].any()  # S and the padding: zeros
    assert delta == pytest.approx(_penalty(table[:, :K], group, **params)
                                  - _penalty(before[:, :K], group, **params),
                                  rel=1e-10)
    for mine, reference in zip(intercept, (ref_b, ref_z_b, ref_root_b)):
        assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
    # dense: G and S from NumPy, the leaders of every column, one batch
    rows = slice(0, 20)
    Z = dense_X[rows] @ before[:, :K] + b
    value, R, _ = loss.derivatives(Y_loss[rows], Z, s_loss[rows])
    mine = np.ascontiguousarray(Z)
    assert _online_fast.residuals(mine, Y[rows] if Y.size else Y, labels[rows],
                                  s[rows]) == pytest.approx(value, rel=1e-12)
    assert_allclose(mine, R, rtol=1e-12, atol=1e-15)
    share = n_prior / 20
    expected = _numpy_step(dense_X[rows], R, *ours_before(before, K, Kr),
                           group=group, prior_share=share, **params)
    G, S = dense_X[rows].T @ R, np.square(dense_X[rows]).T @ np.square(R)
    table = before.copy()
    _online_fast.dense_step(G, S.sum(axis=1, keepdims=True) if group else S, table,
                            K, group, *params.values(), share)
    ours = (table[:, :K], table[:, K:2 * K], table[:, 2 * K:2 * K + Kr])
    for mine, reference in zip(ours, expected):
        assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
    intercept = [b.copy(), z_b.copy(), root_b.copy()]
    _online_fast.intercept_step(R.sum(axis=0), np.square(R).sum(axis=0), *intercept,
                                params["alpha"], share)
    expected = _numpy_intercept_step(R, b, z_b, root_b, params["alpha"], share)
    for mine, reference in zip(intercept, expected):
        assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)


def ours_before(table, K, Kr):
    """The weights, sums and roots of a table."""
    return table[:, :K], table[:, K:2 * K], table[:, 2 * K:2 * K + Kr]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_online_steps_float32_table(dtype):
    """A float32 table (float32 data) steps as a float64 one, to its precision;
    the float32 sums and a skipped intercept (``fit_intercept=False``)."""
    X, _ = _matrix("csr", dtype, np.int32, "canonical")
    rng = np.random.default_rng(5)
    (Y, labels, s), _ = _targets("binary", X.shape[0], dtype, rng)
    results = []
    for table_dtype in (dtype, np.float64):
        table, _ = _state(X.shape[1], 1, False, np.float64, np.random.default_rng(6))
        table = table.astype(table_dtype)
        b = np.ones(1, table_dtype)
        _online_fast.sparse_steps(
            X.data.astype(table_dtype), X.indices, X.indptr, Y.astype(table_dtype),
            labels, s.astype(table_dtype), table, 1, False, b, b.copy(), b.copy(),
            False, np.empty(X.nnz, np.int64), np.empty((3, 1)), 0.3, 0.2, 0.5, 0.0,
            512)
        assert b[0] == 1  # no intercept step
        results.append(table[:, :3])
    assert_allclose(*results, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_table_layout():
    """Records do not straddle cache lines; a large table is aligned."""
    assert _online_fast.record_width(1, False, 8) == 4
    assert _online_fast.record_width(1, False, 4) == 4
    assert _online_fast.record_width(3, True, 8) == 8  # 2 * 3 + 2
    assert _online_fast.record_width(3, False, 8) == 16  # 12: a power of two
    assert _online_fast.record_width(20, False, 8) == 80  # 80: 10 lines
    table = _online._allocate_table((100_000, 8), np.float64)
    assert table.__array_interface__["data"][0] % 64 == 0
    assert not table.any() and table.flags.writeable
    with pytest.raises(ValueError, match="cannot hold"):
        _online_fast.dense_step(np.zeros((4, 3)), np.zeros((4, 3)),
                                np.zeros((4, 8)), 3, False, 1.0, 0.0, 1.0, 0.0)
    assert _online_fast.record_width(3, False, 8) > 8
