# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""Compiled FTRL-Proximal steps of ``partial_fit`` (see ``_online.py``).

The optimiser's state is one table with a record (a row) per feature, in the
dtype of the data::

    w[K] | z[K] | root[Kr] | S[Kr] | padding to ``width``

``w`` the weights (the table's first K columns are ``W``, and ``coef_`` is
their view), ``z`` and ``root`` the leader's sums, ``S`` the sum of the batch's
squared per-sample gradients (zero between steps); ``Kr = 1`` with shared
support (one root per feature), else ``K``. During a step ``z`` also sums the
batch's gradients ``G`` (the leader's formula only needs ``z + G``). A record of
one output is 32 bytes (float32: 16), within one 64-byte cache line: a feature
a batch touches costs one line, read at random, where separate arrays of
weights, sums and roots, a map to compact scratch rows and those rows cost five
(measured: 0.3 ms against 1.0 ms per 512-row batch of a text-like stream,
benchmarks/README.md).

:func:`sparse_steps` takes the steps of a ``partial_fit`` call on a CSR matrix,
batch by batch, row by row: (1) the row's scores from the records of its
features, (2) its loss and residuals (sigmoid or softmax), (3) its gradients
into the same records, still in the cache, listing the features new to the
batch (those whose ``S`` was 0); then (4) the leaders of the listed features,
and (5) the intercept's step. A step costs O(stored entries of the batch),
whatever the number of features. A dense batch's ``G`` and ``S`` come from
NumPy; its leaders (:func:`dense_step`), residuals (:func:`residuals`) and
intercept (:func:`intercept_step`) use the same functions as the sparse steps.

Every loop runs without the GIL; a weight's arithmetic is in float64 whatever
the table's dtype. The indices are not checked against the bounds
(``boundscheck=False``): they come from a scipy matrix whose ``check_format``
checked them, and tests/test_kernels.py covers every index type.
"""

import numpy as np

from libc.math cimport copysign, exp, fabs, log, log1p, sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, qsort, realloc

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

# Stored entries (scores) or listed features (leaders) ahead whose records are
# prefetched: the records are read at random over the table (several MB). On a
# 100,000-feature stream, 512-row batches took 0.49 ms at 12 ahead, 0.42 ms at
# 24 to 160 ahead (benchmarks/README.md).
cdef enum:
    PREFETCH_AHEAD = 64
    CACHE_LINE = 64


ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t


cdef struct Step:
    # the parameters of a step, and the values per record of the table
    double inv_alpha
    double l1
    double l2
    double prior_share
    Py_ssize_t width


cdef struct Entry:
    # a stored entry of a row whose indices are not increasing (sorted)
    int64_t index
    double value


cdef struct Buffer:
    # room for the entries of one row, grown as needed (size -1: no memory)
    Entry* entries
    Py_ssize_t size


cdef Step _layout(Py_ssize_t K, bint group, Py_ssize_t width, double alpha,
                  double l1, double l2) except *:
    """Return the parameters of a step on a table of ``width`` values per record."""
    if width < 2 * K + 2 * (1 if group else K):
        raise ValueError(f"a table of {width} values per record cannot hold "
                         f"{K} outputs")
    return Step(1.0 / alpha, l1, l2, 0.0, width)


def record_width(Py_ssize_t n_outputs, bint group, Py_ssize_t itemsize):
    """Return the values per record of a table: the layout's ``2 K + 2 Kr``
    rounded up so records do not straddle cache lines (a power of two within a
    line, else whole lines)."""
    cdef Py_ssize_t needed = 2 * n_outputs + 2 * (1 if group else n_outputs)
    cdef Py_ssize_t per_line = CACHE_LINE // itemsize, width = 1
    if needed > per_line:
        return (needed + per_line - 1) // per_line * per_line
    while width < needed:
        width *= 2
    return width


def sparse_steps(const floating[::1] data, const index_t[::1] indices,
                 const index_t[::1] indptr, const floating[:, ::1] Y,
                 const Py_ssize_t[::1] labels, const floating[:, ::1] s,
                 floating[:, ::1] table, Py_ssize_t n_outputs, bint group,
                 floating[::1] b, floating[::1] z_b, floating[::1] root_b,
                 bint fit_intercept, int64_t[::1] columns, double[:, ::1] work,
                 double alpha, double l1, double l2, double n_prior,
                 Py_ssize_t batch_size):
    """Take the steps of the batches of a CSR matrix's rows; return the
    progressive loss, the change of the penalty and the number of steps.

    The rows are cut into batches of ``batch_size`` consecutive rows (``indptr``
    may be a slice of X's: positions are absolute). Targets: ``Y`` (n_rows, K)
    0/1 for the sigmoid, or ``labels`` (n_rows,) for the softmax (then ``Y``
    has no rows); ``s`` (n_rows, K or 1) the weights of the losses. ``table``
    changes in place on the touched features only (its ``S`` zero on entry and
    on return), ``b``, ``z_b`` and ``root_b`` (the intercept's weight and sums)
    after each step when ``fit_intercept``. ``columns`` has room for a batch's
    stored entries; ``work`` is (3, K). Each row's loss is taken at the
    weights before its step (progressive validation). Duplicate entries of a
    row add up before their gradient is squared, as in the canonical matrix.
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, K = n_outputs
    cdef Py_ssize_t start = 0, stop, n_steps = 0
    cdef double loss = 0.0, delta = 0.0
    cdef bint softmax = labels.shape[0] > 0
    cdef Step step = _layout(K, group, table.shape[1], alpha, l1, l2)
    cdef Buffer buffer = Buffer(NULL, 0)
    if (work.shape[0] < 3 or work.shape[1] != K or b.shape[0] < K
            or s.shape[0] < n_rows or batch_size < 1
            or (labels.shape[0] if softmax else Y.shape[0]) < n_rows):
        raise ValueError("mismatched shapes")
    if n_rows == 0:
        return 0.0, 0.0, 0
    with nogil:
        while start < n_rows:
            stop = min(start + batch_size, n_rows)
            step.prior_share = n_prior / (stop - start) if n_prior > 0 else 0.0
            if K == 1 and not group and not softmax:
                # binary: every loop over the outputs has length 1, the
                # record's offsets are constants
                loss += _batch(&data[0], &indices[0], &indptr[0], &Y[0, 0], NULL,
                               &s[0, 0], s.shape[1], &table[0, 0], &b[0], start,
                               stop, &columns[0], &work[0, 0], &step, &delta,
                               &buffer, 1, False)
            else:
                loss += _batch(&data[0], &indices[0], &indptr[0],
                               NULL if softmax else &Y[0, 0],
                               &labels[0] if softmax else NULL, &s[0, 0],
                               s.shape[1], &table[0, 0], &b[0], start, stop,
                               &columns[0], &work[0, 0], &step, &delta, &buffer,
                               K, group)
            if fit_intercept:
                _intercept(&work[1, 0], &work[2, 0], &b[0], &z_b[0], &root_b[0],
                           K, alpha, step.prior_share)
            n_steps += 1
            start = stop
        free(buffer.entries)
    if buffer.size < 0:
        raise MemoryError("no memory to sort a row's entries")
    return loss, delta, n_steps


cdef inline double _batch(const floating* data, const index_t* indices,
                          const index_t* indptr, const floating* Y,
                          const Py_ssize_t* labels, const floating* s,
                          Py_ssize_t s_columns, floating* table, const floating* b,
                          Py_ssize_t start, Py_ssize_t stop, int64_t* columns,
                          double* work, Step* step, double* delta, Buffer* buffer,
                          const Py_ssize_t K, const bint group) noexcept nogil:
    """Take the step of rows ``start:stop``; return their loss, add the change
    of the penalty to ``delta``. ``work[K:2K]`` and ``work[2K:3K]`` get the
    sums of the residuals and of their squares (the intercept's gradients).

    ``K`` and ``group`` are constants at each call, so the record's offsets
    are too.
    """
    cdef Py_ssize_t width = step.width, i, k, t, n_touched = 0
    # the cache lines of a record's weights (read by the scores), of all of it
    cdef Py_ssize_t line, w_lines = (K * sizeof(floating) - 1) // CACHE_LINE + 1
    cdef Py_ssize_t record_lines = (width * sizeof(floating) - 1) // CACHE_LINE + 1
    cdef floating* record
    cdef double* r = work
    cdef double* r_sum = work + K
    cdef double* r_squares = work + 2 * K
    cdef index_t p, end = indptr[stop], previous
    cdef bint increasing
    cdef double loss = 0.0, score, other
    for k in range(K):
        r_sum[k] = 0.0
        r_squares[k] = 0.0
    for i in range(start, stop):
        # 1. the scores r = b + x_i . W, the records prefetched ahead; and
        # whether the row's indices increase (no duplicates)
        increasing = True
        previous = -1
        if K == 1:  # two partial sums: consecutive additions do not wait
            score = b[0]
            other = 0.0
            p = indptr[i]
            while p + 1 < indptr[i + 1]:
                if p + 1 + PREFETCH_AHEAD < end:
                    prefetch(table + indices[p + PREFETCH_AHEAD] * width)
                    prefetch(table + indices[p + 1 + PREFETCH_AHEAD] * width)
                increasing &= (previous < indices[p]) & (indices[p] < indices[p + 1])
                previous = indices[p + 1]
                score += data[p] * table[indices[p] * width]
                other += data[p + 1] * table[indices[p + 1] * width]
                p += 2
            if p < indptr[i + 1]:
                increasing &= previous < indices[p]
                score += data[p] * table[indices[p] * width]
            r[0] = score + other
        else:
            for k in range(K):
                r[k] = b[k]
            for p in range(indptr[i], indptr[i + 1]):
                if p + PREFETCH_AHEAD < end:
                    record = table + indices[p + PREFETCH_AHEAD] * width
                    for line in range(w_lines):
                        prefetch(<char*> record + line * CACHE_LINE)
                increasing &= previous < indices[p]
                previous = indices[p]
                record = table + indices[p] * width
                for k in range(K):
                    r[k] += data[p] * record[k]
        # 2. the loss and the residuals, in place of the scores
        if labels != NULL:
            loss += _softmax_residuals(r, labels[i], s[i * s_columns], K)
        else:
            loss += _sigmoid_residuals(r, Y + i * K, s + i * s_columns,
                                       s_columns > 1, K)
        for k in range(K):
            r_sum[k] += r[k]
            r_squares[k] += r[k] * r[k]
        # 3. the gradients into the records (in the cache since step 1)
        if increasing:
            for p in range(indptr[i], indptr[i + 1]):
                n_touched = _accumulate(table + indices[p] * width, indices[p],
                                        data[p], r, columns, n_touched, K, group)
        else:
            n_touched = _accumulate_sorted(data, indices, indptr[i], indptr[i + 1],
                                           r, table, width, columns, n_touched,
                                           buffer, K, group)
    # 4. the leaders of the listed features, in the order first touched
    for t in range(n_touched):
        if t + PREFETCH_AHEAD < n_touched:
            record = table + columns[t + PREFETCH_AHEAD] * width
            for line in range(record_lines):
                prefetch(<char*> record + line * CACHE_LINE)
        delta[0] += _lead(table + columns[t] * width, step, K, group)
    return loss


cdef inline Py_ssize_t _accumulate(floating* record, int64_t j, double x,
                                   const double* r, int64_t* columns,
                                   Py_ssize_t n_touched, const Py_ssize_t K,
                                   const bint group) noexcept nogil:
    """Add the gradients ``x * r`` of feature ``j``'s entry of a row to ``z``
    and their squares to ``S``; list ``j`` if new to the batch; return the
    number listed.

    A feature is new while its ``S`` is 0 (branch-free: new features come at
    random). One whose gradients so far were exactly 0 may be listed twice:
    its second leader, with ``S`` 0, leaves it as it is.
    """
    cdef Py_ssize_t k, Kr = 1 if group else K
    cdef floating* z = record + K
    cdef floating* S = record + 2 * K + Kr
    cdef double g, squares = 0.0, seen = 0.0
    for k in range(Kr):
        seen += S[k]
    columns[n_touched] = j
    n_touched += seen == 0
    for k in range(K):
        g = x * r[k]
        z[k] += g
        if group:
            squares += g * g
        else:
            S[k] += g * g
    if group:
        S[0] += squares
    return n_touched


cdef int _by_index(const void* a, const void* b) noexcept nogil:
    """Order two entries by index (for qsort)."""
    cdef int64_t i = (<const Entry*> a).index, j = (<const Entry*> b).index
    return (i > j) - (i < j)


cdef Py_ssize_t _accumulate_sorted(const floating* data, const index_t* indices,
                                   index_t first, index_t last, const double* r,
                                   floating* table, Py_ssize_t width,
                                   int64_t* columns, Py_ssize_t n_touched,
                                   Buffer* buffer, const Py_ssize_t K,
                                   const bint group) noexcept nogil:
    """:func:`_accumulate` for the entries ``first:last`` of a row whose indices
    do not increase: sorted by index first, so duplicate entries add up before
    their gradient is squared (as in the canonical matrix)."""
    cdef Py_ssize_t n = last - first, q, run
    cdef Entry* entries
    cdef double x
    if buffer.size < n:
        if buffer.size < 0:
            return n_touched  # out of memory earlier: sparse_steps raises
        entries = <Entry*> realloc(buffer.entries, n * sizeof(Entry))
        if entries == NULL:
            buffer.size = -1
            return n_touched
        buffer.entries, buffer.size = entries, n
    entries = buffer.entries
    for q in range(n):
        entries[q].index = indices[first + q]
        entries[q].value = data[first + q]
    qsort(entries, n, sizeof(Entry), _by_index)
    q = 0
    while q < n:
        x = 0.0
        run = q
        while run < n and entries[run].index == entries[q].index:
            x += entries[run].value
            run += 1
        n_touched = _accumulate(table + entries[q].index * width, entries[q].index,
                                x, r, columns, n_touched, K, group)
        q = run
    return n_touched


cdef inline double _sigmoid_residuals(double* z, const floating* y,
                                      const floating* s, Py_ssize_t s_step,
                                      const Py_ssize_t K) noexcept nogil:
    """Replace the scores ``z[:K]`` by ``s * (expit(z) - y)``; return the loss
    ``sum_k s_k log(1 + exp((1 - 2 y_k) z_k))`` (``_loss.SigmoidLoss``: the
    signed margin, so a confident sample's loss keeps its relative precision)."""
    cdef double loss = 0.0, e, margin, weight
    cdef Py_ssize_t k
    for k in range(K):
        weight = s[k * s_step]
        e = exp(-fabs(z[k]))  # expit(|z|) = 1 / (1 + e)
        margin = (1.0 - 2.0 * y[k]) * z[k]
        loss += weight * ((margin if margin > 0 else 0.0) + log1p(e))
        z[k] = weight * ((1.0 if z[k] >= 0 else e) / (1.0 + e) - y[k])
    return loss


cdef inline double _softmax_residuals(double* z, Py_ssize_t label, double weight,
                                      const Py_ssize_t K) noexcept nogil:
    """Replace the scores ``z[:K]`` by ``weight * (softmax(z) - onehot(label))``;
    return ``weight * (logsumexp(z) - z[label])``, shifted by the maximum."""
    cdef double top = z[0], total = 0.0, loss
    cdef Py_ssize_t k
    for k in range(1, K):
        top = z[k] if z[k] > top else top
    loss = top - z[label]
    for k in range(K):
        z[k] = exp(z[k] - top)  # z - top <= 0: no overflow
        total += z[k]
    loss = weight * (loss + log(total))
    for k in range(K):
        z[k] = weight * (z[k] / total - (1.0 if k == label else 0.0))
    return loss


cdef inline double _lead(floating* record, Step* step, const Py_ssize_t K,
                         const bint group) noexcept nogil:
    """Move one feature's weights to their leader, its ``S`` back to 0; return
    the change of the penalty.

    ``z`` holds ``z + G`` (the batch's gradients added). ``A += S`` (the
    per-sample squares: AdaGrad's sum over samples), times ``1 + prior_share``
    for a feature without steps yet after a fit; then with ``sigma =
    (sqrt(A_new) - sqrt(A)) / alpha``::

        z += G - sigma * w,   d = sqrt(A_new) / alpha + l2
        w = -z / d, shrunk by l1: entrywise, or as a row (group)

    A weight whose ``A`` is still 0 keeps its value (no gradient yet). With
    shared support ``A`` is one per feature, summed over the outputs.
    """
    cdef Py_ssize_t Kr = 1 if group else K
    cdef floating* w = record
    cdef floating* z = record + K
    cdef floating* root = record + 2 * K
    cdef floating* S = record + 2 * K + Kr
    cdef double before = 0.0, after = 0.0, norm = 0.0, change = 0.0
    cdef double squared, old, new, shrink, value
    cdef Py_ssize_t k
    cdef double l1 = step.l1, l2 = step.l2, inv_alpha = step.inv_alpha
    cdef bint prior = step.prior_share > 0 and root[0] == 0
    if group:
        squared = S[0]
        S[0] = 0
        if prior:
            squared *= 1.0 + step.prior_share
        old = root[0]
        new = sqrt(old * old + squared)
        if new == 0:
            return 0.0
        for k in range(K):
            before += <double> w[k] * w[k]
            value = z[k] + (old - new) * inv_alpha * w[k]
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
        S[k] = 0
        if prior:
            squared *= 1.0 + step.prior_share
        old = root[k]
        new = sqrt(old * old + squared)
        if new == 0:
            continue
        before = w[k]
        value = z[k] + (old - new) * inv_alpha * before
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


cdef void _intercept(const double* r_sum, const double* r_squares, floating* b,
                     floating* z_b, floating* root_b, Py_ssize_t K, double alpha,
                     double prior_share) noexcept nogil:
    """Take the intercept's step from the batch's residual sums.

    The step of an unpenalised weight whose feature is 1 in every row, with the
    squared batch gradient ``r_sum ** 2`` in ``A`` (the intercept's gradient is
    a sum over all the rows), plus ``prior_share`` times the per-sample squares
    on the first step after a fit (every root still 0).
    """
    cdef Py_ssize_t k
    cdef bint first = prior_share > 0
    cdef double squared, old, new
    for k in range(K):
        first = first and root_b[k] == 0
    for k in range(K):
        squared = r_sum[k] * r_sum[k]
        if first:
            squared += prior_share * r_squares[k]
        old = root_b[k]
        new = <floating> sqrt(old * old + squared)
        z_b[k] = <floating> (z_b[k] + r_sum[k] - (new - old) / alpha * b[k])
        root_b[k] = <floating> new
        if new > 0:
            b[k] = <floating> (-z_b[k] * alpha / new)


def dense_step(const floating[:, ::1] G, const floating[:, ::1] S,
               floating[:, ::1] table, Py_ssize_t n_outputs, bint group,
               double alpha, double l1, double l2, double prior_share):
    """Move every feature to its leader from a dense batch's ``G`` (n_features,
    K) and ``S`` (n_features, Kr), in the table's dtype; return the change of
    the penalty (the table as in :func:`sparse_steps`)."""
    cdef Step step = _layout(n_outputs, group, table.shape[1], alpha, l1, l2)
    cdef Py_ssize_t j, k, K = n_outputs, Kr = 1 if group else n_outputs
    cdef double delta = 0.0
    if G.shape[1] != K or S.shape[1] != Kr or G.shape[0] != table.shape[0]:
        raise ValueError("G must be (n_features, K), S (n_features, Kr)")
    step.prior_share = prior_share
    with nogil:
        for j in range(table.shape[0]):
            for k in range(K):
                table[j, K + k] += G[j, k]
            for k in range(Kr):
                table[j, 2 * K + Kr + k] = S[j, k]
            delta += _lead(&table[j, 0], &step, K, group)
    return delta


def residuals(floating[:, ::1] Z, const floating[:, ::1] Y,
              const Py_ssize_t[::1] labels, const floating[:, ::1] s):
    """Replace the scores ``Z`` (n_rows, K) by the residuals ``d loss / d Z``
    (sigmoid with ``Y``, or softmax with ``labels``: as :func:`sparse_steps`);
    return the loss."""
    cdef Py_ssize_t i, k, K = Z.shape[1], s_step = 0 if s.shape[1] == 1 else 1
    cdef double loss = 0.0
    cdef double[::1] row = np.empty(K)
    with nogil:
        for i in range(Z.shape[0]):
            for k in range(K):
                row[k] = Z[i, k]
            if labels.shape[0] > 0:
                loss += _softmax_residuals(&row[0], labels[i], s[i, 0], K)
            else:
                loss += _sigmoid_residuals(&row[0], &Y[i, 0], &s[i, 0], s_step, K)
            for k in range(K):
                Z[i, k] = <floating> row[k]
    return loss


def intercept_step(const double[::1] r_sum, const double[::1] r_squares,
                   floating[::1] b, floating[::1] z_b, floating[::1] root_b,
                   double alpha, double prior_share):
    """Take the intercept's step of a batch from the sums of its residuals and
    of their squares (as :func:`sparse_steps` does)."""
    _intercept(&r_sum[0], &r_squares[0], &b[0], &z_b[0], &root_b[0], b.shape[0],
               alpha, prior_share)
