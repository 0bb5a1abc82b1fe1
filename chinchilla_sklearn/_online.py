"""Online (mini-batch) updates of the objective: FTRL-Proximal with AdaGrad steps.

``partial_fit`` minimises the objective of ``fit`` (``_objective.py``)::

    sum_i s_i * loss(Y_i, Z_i) + l2 / 2 * ||W||_2^2 + l1 * h(W),   Z = X @ W + b

over a stream of mini-batches. After the batches ``1..t`` the weights are
(follow the regularised leader, [1])::

    W_t+1 = argmin_W  sum_{u <= t} (G_u . W + 1/2 ||W - W_u||^2_{sigma_u})
                      + l2 / 2 * ||W||^2 + l1 * h(W)

with ``G_u = X_u.T @ R_u`` the loss gradient of batch ``u`` at its weights
``W_u`` (``R = d loss / d Z``): each batch's loss enters through its linear
approximation, the penalty enters once, in full. So at every moment the
weights follow the objective of ``fit`` on all the samples seen so far. The
size of the data set is unknown in a stream, so the running count of samples
stands in for it: a batch of ``n_B`` samples weighs ``n_B / n_seen`` of the
loss against the penalty, and ``E`` epochs over one data set count each
sample ``E`` times (``fit`` with ``C * E``; sample weights ``1 / E`` target
``C``).

The proximal terms are per weight and AdaGrad's ([2]): with ``A`` the running
sum of the squared batch gradients ``G * G`` (per feature, summed over the
outputs, with shared support), the step of a weight is ``alpha / sqrt(A)``
and ``sigma_u = (sqrt(A_u) - sqrt(A_u-1)) / alpha``. A weight moves by at
most about ``alpha`` in one batch; once the gradients are noise around zero,
``E[G_u^2]`` is the sum of the squared per-sample gradients, so the steps
hardly depend on how the stream is cut into batches. ``alpha = eta0 *
STEP_FACTOR / scale``, ``scale`` the root mean square of the stored values of
``X`` in the first batch: weights are in units of the inverse feature scale.

The minimisation has a closed form per weight (per row of ``W`` with shared
support), the proximal operator of the penalty ([1], Algorithm 1)::

    z = sum_u (G_u - sigma_u * W_u),   d = sqrt(A) / alpha + l2
    W = prox_{l1 h / d}(-z / d)          (Penalty.prox)

so the L1 part keeps weights exactly zero (a weight is zero while ``|z| <=
l1``: a cumulative-penalty update). A weight that a batch does not touch has
``G = 0`` and ``sigma = 0``, so its ``z``, ``A`` and value do not change: a
batch of a sparse ``X`` costs O(nnz of the batch + the columns it touches),
with no catch-up for the others. The intercept is unpenalised and takes the
same steps.

Starting from the weights ``W_0`` of a fit on samples of total weight
``n_prior``, ``z`` starts at ``-dP(W_0)`` (a subgradient of the penalty), so
``W_0`` is the leader until data arrive, and a weight keeps ``W_0`` until a
batch touches it. Its ``A`` then starts at ``n_prior / n_B`` times the
batch's squared per-sample gradients, what streaming the fitted samples would
have accumulated, so the first steps after a fit are small.

References
----------
.. [1] McMahan et al. (2013). "Ad click prediction: a view from the
   trenches". KDD (FTRL-Proximal, per-coordinate learning rates).
.. [2] Duchi, Hazan, Singer (2011). "Adaptive subgradient methods for online
   learning and stochastic optimization". JMLR 12, 2121-2159.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Rows of positive weight per mini-batch: partial_fit cuts the rows of each
# call into batches of BATCH_SIZE. benchmarks/bench_online.py (text-like, 100k
# features, calls of 1,000 rows), test accuracy after 1 / 5 epochs and samples
# per second: 256 rows 0.7911 / 0.7964, 0.50 M/s; 512 rows 0.7904 / 0.7948,
# 0.86 M/s; 1,000 rows 0.7811 / 0.7907, 1.10 M/s (SGDClassifier 0.7857 /
# 0.7982, 1.2 M/s). Timed call by call against SGDClassifier (each call of one
# followed by the same call of the other), 512 rows reach 0.74-0.82x its
# throughput in float64 and 0.91-0.96x in float32, 1,000 rows 0.99x: a batch
# of 512 rows costs ~0.3 ms (products, touched columns, row updates), while
# SGDClassifier's whole call costs ~0.7 ms, ~0.16 ms of it the same validation.
# Larger steps do not rescue 1,000-row batches: with STEP_FACTOR 12 to 160
# they reach 0.779-0.783 after 1 epoch (512 rows: 0.789-0.791 with 16 to 90).
BATCH_SIZE = 512
# alpha = eta0 * STEP_FACTOR / scale. With the default eta0, alpha is 0.23 /
# scale: measured best within a factor 2 on text-like rows (bench_online.py)
# and on dense standardised features (tests/test_online.py). On bench_online.py
# with 512 rows, 45 to 90 give 0.7959-0.7963 after 5 epochs instead of 0.7948,
# 130 and more lose accuracy after 1 epoch (0.7877, 200: 0.7749).
STEP_FACTOR = 23.0
# A sparse batch computes on all columns when X has at most GLOBAL_RATIO times
# more columns than the batch has stored entries, else on its own columns
# (measured on bench_online.py's batches: renumbering a batch's columns costs
# about as much per stored entry as zeroing, comparing and scanning 8 columns;
# on all columns a batch of 512 rows and 100k features took 180 instead of 325
# microseconds for its products).
GLOBAL_RATIO = 8


@dataclass
class OnlineState:
    """The optimiser's state between calls (the weights are kept by the caller).

    :func:`update_online` updates its arrays in place: copying them would cost
    O(n_features) per call.

    Parameters
    ----------
    z : ndarray of shape (n_features, n_outputs)
        Sum of the loss gradients minus the proximal centres (see module).
    root : ndarray of shape (n_features, n_outputs) or (n_features, 1)
        ``sqrt(A)``, ``A`` the sum of the squared batch gradients (one per
        feature, summed over the outputs, with shared support).
    z_intercept, root_intercept : ndarray of shape (n_outputs,)
        The same for the intercept.
    feature_scale : float or None
        Root mean square of the stored values of ``X`` in the first batch: the
        scale of the features, which sets the unit of the steps (None before).
    penalty_value : float
        The penalty at the current weights, kept up to date batch by batch.
    n_prior : float
        Sum of the sample weights of a fit the stream continues (else 0): a
        weight's ``A`` starts as if they had been streamed (see module).
    n_seen : float
        Sum of the sample weights seen (the number of samples when unweighted),
        including ``n_prior``.
    n_updates : int
        Number of mini-batch steps taken.
    """

    z: np.ndarray
    root: np.ndarray
    z_intercept: np.ndarray
    root_intercept: np.ndarray
    feature_scale: float
    penalty_value: float
    n_prior: float = 0.0
    n_seen: float = 0.0
    n_updates: int = 0

    @classmethod
    def start(cls, penalty, W, b, n_prior=0.0):
        """Return the state whose leader is ``(W, b)``: zeros, or the weights of a
        fit on samples of total weight ``n_prior``."""
        width = 1 if penalty.group else W.shape[1]
        return cls(-_subgradient(penalty, W),
                   np.zeros((W.shape[0], width), dtype=W.dtype),
                   np.zeros_like(b), np.zeros_like(b), None, penalty.value(W),
                   float(n_prior), float(n_prior), 0)

    def astype(self, dtype):
        """Return the state with its arrays in ``dtype`` (itself if they are)."""
        if self.z.dtype == dtype:
            return self
        return OnlineState(
            self.z.astype(dtype), self.root.astype(dtype),
            self.z_intercept.astype(dtype), self.root_intercept.astype(dtype),
            self.feature_scale, self.penalty_value, self.n_prior, self.n_seen,
            self.n_updates,
        )


@dataclass(frozen=True)
class OnlineResult:
    """What :func:`update_online` returns.

    ``objective`` is the loss of the call's samples, each computed just before
    the step that used it (progressive validation: no extra pass), plus the
    penalty at the final weights times the call's share ``weight / n_seen``.
    """

    b: np.ndarray
    objective: float
    loss_value: float
    weight: float


def update_online(problem, W, b, state, sample_weight, *, eta0, batch_size=None):
    """Take FTRL-Proximal steps over the rows of ``problem``, batch by batch.

    Parameters
    ----------
    problem : Problem
        The rows of this call; ``problem.X`` is a CSR matrix or array, or a
        dense array, and ``problem.s`` holds ``C`` and the class weights.
    W : ndarray of shape (n_features, n_outputs)
        The weights, updated in place (only the rows a batch touches change).
    b : ndarray of shape (n_outputs,)
        The intercept before the call (not modified).
    state : OnlineState
        Updated in place; its arrays have the dtype of ``W``.
    sample_weight : ndarray of shape (n_samples,)
        The sample weights alone (they count the samples).
    eta0 : float
        Step size scale, > 0: ``alpha = eta0 * STEP_FACTOR / feature_scale``.
    batch_size : int, default=None
        Rows of positive weight per batch; None: ``BATCH_SIZE``.

    Returns
    -------
    OnlineResult
    """
    X, dtype, penalty = problem.X, W.dtype, problem.penalty
    columns = _Columns(X.shape[1]) if sp.issparse(X) else None
    loss_value = 0.0
    for rows in _batches(sample_weight, batch_size or BATCH_SIZE):
        # 1. the loss gradient at the current weights on the columns a step can
        # change (progressive loss: each row's loss before its step)
        value, R, G, cols, block, block_cols = _gradient(problem, rows, W, b, columns)
        loss_value += value
        if state.feature_scale is None:
            state.feature_scale = _feature_scale(block)
        alpha = dtype.type(eta0 * STEP_FACTOR / state.feature_scale)
        # 2. the new steps: A += G * G (per feature with shared support), and
        # after a fit, A of a weight seen for the first time starts from the
        # fit's samples (see module)
        W_c, root = _take_rows(W, cols), _take_rows(state.root, cols)
        squared = G * G
        if state.n_prior > 0:
            squared = _add_prior(squared, root, block, block_cols, R, state.n_prior)
        if root.shape[1] < squared.shape[1]:
            squared = squared.sum(axis=1, keepdims=True)
        root_new = root * root
        root_new += squared
        np.sqrt(root_new, out=root_new)
        # 3. the leader's sums and the leader (closed form)
        z_c = _take_rows(state.z, cols)
        z_c += G
        step = root - root_new  # -sigma * alpha, exactly -(root_new - root)
        step /= alpha
        z_c += step * W_c
        W_new = _leader(penalty, z_c, root_new, alpha, W_c)
        state.penalty_value += penalty.value(W_new) - penalty.value(W_c)
        _put_rows(state.z, cols, z_c)
        _put_rows(state.root, cols, root_new)
        _put_rows(W, cols, W_new)
        if problem.fit_intercept:
            b = _intercept_step(state, R, b, alpha)
        state.n_updates += 1
    weight = float(sample_weight.sum())
    state.n_seen += weight
    objective = loss_value + weight / state.n_seen * state.penalty_value
    return OnlineResult(b, objective, loss_value, weight)


def _gradient(problem, rows, W, b, columns):
    """Return the batch's loss, ``R``, the gradient ``G``, its columns and block.

    ``G`` holds the rows of ``X_B.T @ R`` for the columns ``cols`` a step may
    change (all of them for a dense ``X``); they are the columns
    ``block_cols`` of ``block``. A sparse batch computes its products either
    on its compressed columns, in O(its nnz), or, when ``X`` has at most
    ``GLOBAL_RATIO`` times more columns than the batch has stored entries, on
    all columns (O(nnz + n_features) with a smaller constant: scipy's
    products, a comparison and a scan) and keeps the columns whose gradient is
    not zero: a weight with a zero gradient does not move.
    """
    X, loss = problem.X, problem.loss
    Y, s = problem.Y[rows], problem.s[rows]
    if columns is None or (not columns.compressed(X, rows) and W.flags.c_contiguous):
        block = X[rows] if columns is None else columns.rows(X, rows)
        Z = np.asarray(block @ W)
        Z += b
        value, R, _ = loss.derivatives(Y, Z, s)
        G = np.asarray(block.T @ R)
        if columns is None:
            return value, R, G, slice(None), block, slice(None)
        nonzero = (G != 0).any(axis=1) if G.shape[1] > 1 else G[:, 0] != 0
        cols = np.flatnonzero(nonzero)
        return value, R, _take_rows(G, cols), cols, block, cols
    block, cols = _take_batch(X, rows, columns)
    Z = np.asarray(block @ W[cols])
    Z += b
    value, R, _ = loss.derivatives(Y, Z, s)
    return value, R, np.asarray(block.T @ R), cols, block, slice(None)


def _add_prior(squared, root, block, block_cols, R, n_prior):
    """Return ``squared`` plus, for weights not seen yet, the prior's share.

    ``n_prior / n_B`` times the batch's squared per-sample gradients
    ``(X_B * X_B).T @ (R * R)``: what ``A`` would hold had the fit's samples
    been streamed in batches with gradients like these (``E[G_B^2]`` is the
    sum of the squared per-sample gradients when they are noise around 0, as
    at the fit's solution). So the first steps after a fit are small, not
    ``alpha``-sized.
    """
    unseen = np.flatnonzero(root[:, 0] == 0)
    if unseen.size == 0:
        return squared
    if sp.issparse(block):
        block_squared = block.__class__(
            (block.data * block.data, block.indices, block.indptr), shape=block.shape
        )
    else:
        block_squared = block * block
    per_sample = np.asarray(block_squared.T @ (R * R))[block_cols]
    squared = squared.copy()
    squared[unseen] += n_prior / R.shape[0] * per_sample[unseen]
    return squared


def _intercept_step(state, R, b, alpha):
    """Return the intercept after the batch's step (its state updated in place)."""
    g_b = R.sum(axis=0)
    root = state.root_intercept
    squared = g_b * g_b
    if state.n_prior > 0 and not np.any(root):  # first step after a fit
        squared += state.n_prior / R.shape[0] * (R * R).sum(axis=0)
    root_new = np.sqrt(root * root + squared)
    state.z_intercept += g_b - (root_new - root) / alpha * b
    state.root_intercept = root_new
    return _leader(None, state.z_intercept, root_new, alpha, b)


def _feature_scale(block):
    """Return the root mean square of the stored (non-zero) values of a block."""
    values = block.data if sp.issparse(block) else block
    count = np.count_nonzero(values)
    if count == 0:
        return 1.0
    return float(np.sqrt(np.vdot(values, values) / count))


def _leader(penalty, z, root, alpha, W):
    """Return ``argmin_W z . W + 1/2 (root / alpha + l2) ||W||^2 + l1 h(W)``.

    Weights whose ``root`` is still 0 (no gradient yet) keep their value ``W``.
    ``penalty=None``: no penalty (the intercept).
    """
    seen = root > 0
    all_seen = seen.all()
    d = root / alpha
    if penalty is not None and penalty.l2 > 0:
        d += W.dtype.type(penalty.l2)
    if all_seen:  # the common case: no masked division, no selection
        inv_d = np.divide(1, d, out=d)
    else:
        inv_d = np.divide(1, d, out=np.zeros_like(d), where=seen)
    leader = z * inv_d
    np.negative(leader, out=leader)
    if penalty is not None and penalty.l1 > 0:
        leader = penalty.prox(leader, inv_d).astype(W.dtype, copy=False)
    return leader if all_seen else np.where(seen, leader, W)


def _take_rows(A, cols):
    """Return the rows ``cols`` of ``A`` (``A`` itself for ``slice(None)``).

    ``take`` and, below, a flat assignment for one column: twice as fast as
    fancy indexing on the 10,000s of rows a batch touches.
    """
    return A if isinstance(cols, slice) else A.take(cols, axis=0)


def _put_rows(A, cols, values):
    """Set the rows ``cols`` of ``A`` (in place) to ``values``."""
    if values is A:
        return
    if A.shape[1] == 1 and A.flags.c_contiguous and not isinstance(cols, slice):
        A.reshape(-1)[cols] = values.reshape(-1)
    else:
        A[cols] = values


def _subgradient(penalty, W):
    """Return the subgradient of the penalty at ``W`` that is 0 at zero weights.

    ``l2 W + l1 sign(W)``, or ``l1 W_j / ||W_j||`` on the non-zero rows with
    shared support: the ``-z`` that makes ``W`` the leader before any data.
    """
    if penalty.l1 == 0:
        return (penalty.l2 * W).astype(W.dtype, copy=False)
    if penalty.group:
        norms = penalty.row_norms(W)[:, None]
        direction = W / np.where(norms > 0, norms, 1)
    else:
        direction = np.sign(W)
    return (penalty.l2 * W + penalty.l1 * direction).astype(W.dtype, copy=False)


def _batches(sample_weight, batch_size):
    """Yield the rows of each batch: ``batch_size`` rows of positive weight.

    A slice when the rows are consecutive, else an array of row indices. Rows
    of weight 0 are left out, so they change nothing and the batches are the
    same as without them.
    """
    positive = np.flatnonzero(sample_weight > 0)
    for start in range(0, positive.size, batch_size):
        rows = positive[start:start + batch_size]
        first, last = int(rows[0]), int(rows[-1]) + 1
        # consecutive rows (no weight 0 among them): a slice, so views, not copies
        yield slice(first, last) if last - first == rows.size else rows


def _take_batch(X, rows, columns):
    """Return the CSR block of ``X``'s ``rows`` on the columns it touches.

    Built from the batch's entries in O(their number); the index dtype is that
    of ``X`` (scipy's ``csr_array``, unlike ``csr_matrix``, never downcasts
    int64 indices).
    """
    data, indices, indptr = _entries(X, rows)
    cols, block_indices = columns.compress(indices)
    block = sp.csr_array((data, block_indices, indptr),
                         shape=(indptr.size - 1, cols.size))
    return block, cols


def _entries(X, rows):
    """Return ``data``, ``indices`` and ``indptr`` of the ``rows`` of a CSR ``X``."""
    indptr, indices, data = X.indptr, X.indices, X.data
    if isinstance(rows, slice):  # views of X's arrays
        entries = slice(indptr[rows.start], indptr[rows.stop])
        block_indptr = indptr[rows.start:rows.stop + 1] - indptr[rows.start]
    else:  # rows of weight 0 in between: keep the entries of the others
        lengths = indptr[rows + 1] - indptr[rows]
        starts = np.repeat(indptr[rows] - np.cumsum(lengths) + lengths, lengths)
        entries = starts + np.arange(lengths.sum(), dtype=indptr.dtype)
        block_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(indptr.dtype)
    return data[entries], indices[entries], block_indptr


class _Columns:
    """Scratch arrays over the features, to find a batch's columns in O(its nnz)."""

    def __init__(self, n_features):
        self._mark = np.zeros(n_features, dtype=bool)
        self._position = None

    def compressed(self, X, rows):
        """Return whether the batch should be compressed to its columns."""
        nnz = X.indptr[rows.stop] - X.indptr[rows.start] if isinstance(
            rows, slice) else X.indptr[rows + 1].sum() - X.indptr[rows].sum()
        return self._mark.size > GLOBAL_RATIO * int(nnz)

    def rows(self, X, rows):
        """Return the CSR block of ``X``'s ``rows`` on all columns."""
        data, indices, indptr = _entries(X, rows)
        return sp.csr_array((data, indices, indptr),
                            shape=(indptr.size - 1, X.shape[1]))

    def compress(self, indices):
        """Return the sorted touched columns and the indices renumbered among them."""
        if self._position is None or self._position.dtype != indices.dtype:
            self._position = np.zeros(self._mark.size, dtype=indices.dtype)
        self._mark[indices] = True
        cols = np.flatnonzero(self._mark).astype(indices.dtype, copy=False)
        self._mark[cols] = False
        self._position[cols] = np.arange(cols.size, dtype=indices.dtype)
        return cols, self._position[indices]
