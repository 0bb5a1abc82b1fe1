# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""Compiled FTRL-Proximal step of one mini-batch (see ``_online.py``).

After the batch's residuals ``R`` are known, one step accumulates, per weight,
the batch gradient ``G = X_B.T @ R`` and the sum of the squared per-sample
gradients ``S = (X_B * X_B).T @ (R * R)``, then moves each weight's leader.
For a sparse batch both sums run over its stored entries into compact arrays
of the columns it touches (found through ``position``, a map over all
features that is -1 between steps), and the leader moves only on those
columns: the step costs O(stored entries of the batch), whatever the number
of features. A dense batch gives ``G`` and ``S`` on all columns.

Every loop runs without the GIL. The arithmetic of a weight is in float64
whatever the dtype of the arrays. The indices are not checked against the
bounds (``boundscheck=False``): they come from a scipy matrix whose
``check_format`` checked them, and tests/test_online.py covers every index type.
"""

from libc.math cimport copysign, fabs, sqrt
from libc.stdint cimport int32_t, int64_t

cdef extern from *:
    """
    /* A hint to load a cache line ahead of use (GCC and clang; elsewhere none). */
    #if defined(__GNUC__)
    #define chinchilla_prefetch(address) __builtin_prefetch(address)
    #else
    #define chinchilla_prefetch(address) ((void)0)
    #endif
    """
    void prefetch "chinchilla_prefetch"(const void* address) noexcept nogil

# Touched columns ahead whose weights, sums and roots are prefetched: they are
# read in the order the batch first touched them, at random over the features
# (measured: without it, the leader step waited on the cache for most of its time).
cdef enum:
    PREFETCH_AHEAD = 8


ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t


cdef struct Leader:
    # the parameters of a step: 1 / alpha, the penalty and the prior's share
    double inv_alpha
    double l1
    double l2
    double prior_share
    bint group


def sparse_step(const floating[::1] data, const index_t[::1] indices,
                const index_t[::1] indptr, const floating[:, ::1] R,
                floating[:, ::1] W, floating[:, ::1] z, floating[:, ::1] root,
                int64_t[::1] position, int64_t[::1] columns, int64_t[::1] last_row,
                double[:, ::1] scratch,
                double alpha, double l1, double l2, bint group, double prior_share):
    """Take the step of a sparse batch; return the change of the penalty value.

    The batch's rows are ``indptr[i]:indptr[i + 1]`` of ``data`` and
    ``indices`` (absolute positions: ``indptr`` may be a slice of X's). ``W``,
    ``z`` and ``root`` (one column, or one per output) change in place on the
    touched columns only. The scratch arrays are kept by the caller between
    steps (fresh ones would cost page faults at every step): ``position`` (one
    per feature) and ``last_row`` are -1, and ``scratch`` (``G``, ``S`` and
    the current row's gradient, K columns each) is 0, on entry and on return,
    on as many rows as the batch touches columns; ``columns`` holds anything.
    Duplicate entries of a row add up before their gradient is squared, as
    in the canonical matrix.
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, K = R.shape[1]
    cdef Py_ssize_t n_touched = 0, i, k
    cdef int64_t t
    cdef index_t p, j, end = indptr[n_rows]
    cdef bint new
    cdef double x, g, delta = 0.0
    cdef double* row
    cdef Leader leader = Leader(1.0 / alpha, l1, l2, prior_share, group)
    with nogil:
        # 1. G and S on the touched columns, entry by entry; a column gets the
        # next row of the scratch when the batch first touches it (branch-free:
        # new columns come at random)
        for i in range(n_rows):
            for p in range(indptr[i], indptr[i + 1]):
                if p + PREFETCH_AHEAD < end:
                    prefetch(&position[indices[p + PREFETCH_AHEAD]])
                j = indices[p]
                t = position[j]
                new = t < 0
                columns[n_touched] = j
                t = n_touched if new else t
                position[j] = t
                n_touched += new
                row = &scratch[t, 0]
                x = data[p]
                if last_row[t] != i:  # the column's first entry in this row
                    last_row[t] = i
                    for k in range(K):
                        g = x * R[i, k]
                        row[k] += g
                        row[K + k] += g * g
                        row[2 * K + k] = g
                else:  # a duplicate entry: (a + b)^2 = a^2 + (2 a + b) b
                    for k in range(K):
                        g = x * R[i, k]
                        row[k] += g
                        row[K + k] += (2 * row[2 * K + k] + g) * g
                        row[2 * K + k] += g
        # 2. the leaders of the touched columns, leaving the scratch as found
        for t in range(n_touched):
            if t + PREFETCH_AHEAD < n_touched:
                j = <index_t> columns[t + PREFETCH_AHEAD]
                prefetch(&W[j, 0])
                prefetch(&z[j, 0])
                prefetch(&root[j, 0])
            j = <index_t> columns[t]
            row = &scratch[t, 0]
            delta += _lead(row, row + K, &W[j, 0], &z[j, 0], &root[j, 0], K, &leader)
            position[j] = -1
            last_row[t] = -1
            for k in range(3 * K):
                row[k] = 0
    return delta


def dense_step(const double[:, ::1] G, const double[:, ::1] S, floating[:, ::1] W,
               floating[:, ::1] z, floating[:, ::1] root, double alpha, double l1,
               double l2, bint group, double prior_share):
    """Take the step of a dense batch from its ``G`` and ``S`` on all columns;
    return the change of the penalty value (the arrays as in :func:`sparse_step`)."""
    cdef Py_ssize_t n_columns = G.shape[0], K = G.shape[1], j
    cdef double delta = 0.0
    cdef Leader leader = Leader(1.0 / alpha, l1, l2, prior_share, group)
    with nogil:
        for j in range(n_columns):
            delta += _lead(&G[j, 0], &S[j, 0], &W[j, 0], &z[j, 0], &root[j, 0], K,
                           &leader)
    return delta


cdef double _lead(const double* G, const double* S, floating* w, floating* z,
                  floating* root, Py_ssize_t K, Leader* leader) noexcept nogil:
    """Move one feature's weights ``w[:K]`` to their leader; return the change
    of the penalty.

    ``A += S`` (the per-sample squares: AdaGrad's sum over samples), times
    ``1 + prior_share`` for a feature without steps yet after a fit; then with
    ``sigma = (sqrt(A_new) - sqrt(A)) / alpha``::

        z += G - sigma * w,   d = sqrt(A_new) / alpha + l2
        w = -z / d, shrunk by l1: entrywise, or as a row (group)

    A weight whose ``A`` is still 0 keeps its value (no gradient yet). With
    shared support ``A`` is one per feature, summed over the outputs.
    """
    cdef double before = 0.0, after = 0.0, norm = 0.0, change = 0.0
    cdef double squared, old, new, step, shrink, value
    cdef Py_ssize_t k
    cdef double l1 = leader.l1, l2 = leader.l2, inv_alpha = leader.inv_alpha
    cdef bint prior = leader.prior_share > 0 and root[0] == 0
    if leader.group:
        squared = 0.0
        for k in range(K):
            squared += S[k]
        if prior:
            squared *= 1.0 + leader.prior_share
        old = root[0]
        new = sqrt(old * old + squared)
        if new == 0:
            return 0.0
        step = (old - new) * inv_alpha
        for k in range(K):
            before += <double> w[k] * w[k]
            value = z[k] + G[k] + step * w[k]
            z[k] = <floating> value
            norm += value * value
        norm = sqrt(norm)
        # prox of the row norm: -z / d scaled by max(1 - l1 / ||z||, 0)
        shrink = (1.0 - l1 / norm if norm > l1 else 0.0) / (new * inv_alpha + l2)
        for k in range(K):
            w[k] = <floating> (-z[k] * shrink)
            after += <double> w[k] * w[k]
        root[0] = <floating> new
        return 0.5 * l2 * (after - before) + l1 * (sqrt(after) - sqrt(before))
    for k in range(K):
        squared = S[k]
        if prior:
            squared *= 1.0 + leader.prior_share
        old = root[k]
        new = sqrt(old * old + squared)
        if new == 0:
            continue
        before = w[k]
        value = z[k] + G[k] + (old - new) * inv_alpha * before
        z[k] = <floating> value
        # prox of |.|: soft thresholding of -z at l1, divided by d; without
        # branches (the sign of z is a coin flip for the branch predictor)
        after = fabs(value) - l1
        after = copysign(after if after > 0 else 0.0, -value) / (new * inv_alpha + l2)
        w[k] = <floating> after
        after = w[k]
        root[k] = <floating> new
        change += (0.5 * l2 * (after * after - before * before)
                   + l1 * (fabs(after) - fabs(before)))
    return change
