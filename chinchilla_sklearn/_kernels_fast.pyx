# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""Compiled products of a compressed sparse matrix with K dense columns.

A CSR or CSC matrix is read along its major axis (rows of CSR, columns of
CSC): ``indptr[m]:indptr[m + 1]`` are the stored entries of major slice ``m``,
``indices`` their minor indices and ``data`` their values. Two loops cover
the four products of :mod:`chinchilla_sklearn._kernels`:

- :func:`gather` (``X @ W`` from CSR, ``X.T @ R`` from CSC): each output row
  is a sum over one major slice, accumulated in registers;
- :func:`scatter` (``X @ W`` from CSC, ``X.T @ R`` from CSR): each stored
  entry adds a scaled row of the dense operand to an output row.

The gather runs over the K contiguous columns of a dense row in tiles of 16, 8
and 4 columns whose loops have a fixed length: the compiler unrolls and
vectorises them with the baseline SIMD instructions (SSE2 on x86-64: no
``-march``), and the tile stays in registers over the whole slice. The scatter
adds each entry's scaled row of ``B`` to its output row in one vectorised loop
(tiles there made each output row be visited once per tile: slower). Indices
are read as stored: unsorted and duplicate entries add up as scipy's products
do. The indices are not checked against the bounds (``boundscheck=False``):
the callers pass scipy matrices, whose ``check_format`` has checked them, and
tests/test_kernels.py covers every shape of index array.
"""

from libc.stdint cimport int32_t, int64_t

ctypedef fused data_t:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused dense_t:
    float
    double


def gather(const data_t[::1] data, const index_t[::1] indices,
           const index_t[::1] indptr, const dense_t[:, ::1] B,
           dense_t[:, ::1] out, bint squared=False):
    """Set ``out[m] = sum_p v_p * B[indices[p]]`` over the stored entries ``p`` of
    major slice ``m``; ``v_p = data[p]``, or ``data[p] ** 2`` when ``squared``.

    ``X @ B`` for a CSR ``X``, ``X.T @ B`` for a CSC one (``(X * X)`` of the
    stored entries when ``squared``). Every row of ``out`` is written.
    """
    cdef Py_ssize_t n_major = indptr.shape[0] - 1
    cdef Py_ssize_t m
    with nogil:
        # two copies of the loop, so that ``squared`` is a constant in each
        if squared:
            for m in range(n_major):
                _gather_major(&data[0], &indices[0], indptr[m], indptr[m + 1],
                              &B[0, 0], B.shape[1], &out[m, 0], True)
        else:
            for m in range(n_major):
                _gather_major(&data[0], &indices[0], indptr[m], indptr[m + 1],
                              &B[0, 0], B.shape[1], &out[m, 0], False)


cdef inline void _gather_major(const data_t* data, const index_t* indices,
                               index_t start, index_t stop, const dense_t* B,
                               Py_ssize_t K, dense_t* out,
                               const bint squared) noexcept nogil:
    """Set ``out[:K] = sum_p v_p * B[indices[p] * K:][:K]`` over the entries
    ``start:stop`` of one major slice, tile by tile."""
    cdef Py_ssize_t k0 = 0
    while K - k0 >= 16:
        _gather_tile(data, indices, start, stop, B + k0, K, out + k0, 16, squared)
        k0 += 16
    if K - k0 >= 8:
        _gather_tile(data, indices, start, stop, B + k0, K, out + k0, 8, squared)
        k0 += 8
    if K - k0 >= 4:
        _gather_tile(data, indices, start, stop, B + k0, K, out + k0, 4, squared)
        k0 += 4
    while k0 < K:
        _gather_column(data, indices, start, stop, B + k0, K, out + k0, squared)
        k0 += 1


cdef inline void _gather_tile(const data_t* data, const index_t* indices,
                              index_t start, index_t stop, const dense_t* B,
                              Py_ssize_t ld, dense_t* out, const int width,
                              const bint squared) noexcept nogil:
    """Set ``out[:width] = sum_p v_p * B[indices[p] * ld:][:width]``.

    ``width`` is a constant at every call, so once inlined the loops over the
    tile have a fixed length and ``acc`` lives in vector registers.
    """
    cdef dense_t acc[16]
    cdef const dense_t* row
    cdef dense_t v
    cdef index_t p
    cdef int k
    for k in range(width):
        acc[k] = 0
    for p in range(start, stop):
        v = <dense_t> data[p]
        if squared:
            v = v * v
        row = B + indices[p] * ld
        for k in range(width):
            acc[k] = acc[k] + v * row[k]
    for k in range(width):
        out[k] = acc[k]


cdef inline void _gather_column(const data_t* data, const index_t* indices,
                                index_t start, index_t stop, const dense_t* B,
                                Py_ssize_t ld, dense_t* out,
                                const bint squared) noexcept nogil:
    """Set ``out[0] = sum_p v_p * B[indices[p] * ld]`` (one column), with two
    partial sums so that consecutive additions do not wait on each other."""
    cdef dense_t even = 0, odd = 0, v, w
    cdef index_t p = start
    while p + 1 < stop:
        v = <dense_t> data[p]
        w = <dense_t> data[p + 1]
        if squared:
            v = v * v
            w = w * w
        even = even + v * B[indices[p] * ld]
        odd = odd + w * B[indices[p + 1] * ld]
        p += 2
    if p < stop:
        v = <dense_t> data[p]
        if squared:
            v = v * v
        even = even + v * B[indices[p] * ld]
    out[0] = even + odd


def scatter(const data_t[::1] data, const index_t[::1] indices,
            const index_t[::1] indptr, const dense_t[:, ::1] B,
            dense_t[:, ::1] out, bint squared=False):
    """Add ``v_p * B[m]`` to ``out[indices[p]]`` for the stored entries ``p`` of
    every major slice ``m``; ``v_p = data[p]``, or ``data[p] ** 2`` when ``squared``.

    ``X.T @ B`` for a CSR ``X``, ``X @ B`` for a CSC one, added to ``out``
    (zeros for the product itself).
    """
    cdef Py_ssize_t n_major = indptr.shape[0] - 1
    cdef Py_ssize_t m
    with nogil:
        if squared:
            for m in range(n_major):
                _scatter_major(&data[0], &indices[0], indptr[m], indptr[m + 1],
                               &B[m, 0], &out[0, 0], out.shape[1], True)
        else:
            for m in range(n_major):
                _scatter_major(&data[0], &indices[0], indptr[m], indptr[m + 1],
                               &B[m, 0], &out[0, 0], out.shape[1], False)


cdef inline void _scatter_major(const data_t* data, const index_t* indices,
                                index_t start, index_t stop, const dense_t* B,
                                dense_t* out, Py_ssize_t K,
                                const bint squared) noexcept nogil:
    """Add ``v_p * B[:K]`` to ``out[indices[p] * K:][:K]`` for the entries
    ``start:stop`` of one major slice (each output row once)."""
    cdef dense_t v, b
    cdef dense_t* row
    cdef index_t p
    cdef Py_ssize_t k
    if K == 1:  # one column (binary problems): no loop over the row
        b = B[0]
        for p in range(start, stop):
            v = <dense_t> data[p]
            if squared:
                v = v * v
            out[indices[p]] += v * b
        return
    for p in range(start, stop):
        v = <dense_t> data[p]
        if squared:
            v = v * v
        row = out + indices[p] * K
        for k in range(K):
            row[k] = row[k] + v * B[k]
