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
sum of the squared per-sample gradients ``(x_ij R_i)^2`` (per feature, summed
over the outputs, with shared support; duplicate entries of a row summed
first), the step of a weight is ``alpha / sqrt(A)`` and ``sigma_u =
(sqrt(A_u) - sqrt(A_u-1)) / alpha``. Summing over samples, as McMahan et al.
do per example, rather than the squared batch gradient ``G * G``: the two
agree in expectation once the gradients are noise around zero, but early on,
when a batch's per-sample gradients agree, ``G * G`` is up to ``n_B`` times
larger and stalls the steps (see BATCH_SIZE for the measured accuracy). A
weight whose gradients are noise moves by about ``alpha`` in one batch, and
the steps hardly depend on how the stream is cut into batches. The intercept,
whose gradient is a sum over all the rows, keeps the squared batch gradient.
``alpha = eta0 * STEP_FACTOR / scale``, ``scale`` the root mean square of the
stored values of ``X`` in the first batch: weights are in units of the inverse
feature scale.

The minimisation has a closed form per weight (per row of ``W`` with shared
support), the proximal operator of the penalty ([1], Algorithm 1)::

    z = sum_u (G_u - sigma_u * W_u),   d = sqrt(A) / alpha + l2
    W = prox_{l1 h / d}(-z / d)          (Penalty.prox)

so the L1 part keeps weights exactly zero (a weight is zero while ``|z| <=
l1``: a cumulative-penalty update). A weight that a batch does not touch has
``G = 0`` and ``sigma = 0``, so its ``z``, ``A`` and value do not change: a
batch of a sparse ``X`` costs O(its stored entries), with no catch-up for the
others and nothing per feature (``_online_fast.sparse_step``, compiled: ``G``
and the squares accumulate entry by entry into compact rows of the touched
columns, whose leaders then move; the scratch arrays are kept between calls).
The intercept is unpenalised.

Starting from the weights ``W_0`` of a fit on samples of total weight
``n_prior``, ``z`` starts at ``-dP(W_0)`` (a subgradient of the penalty), so
``W_0`` is the leader until data arrive, and a weight keeps ``W_0`` until a
batch touches it. Its ``A`` then starts at ``1 + n_prior / n_B`` times the
batch's squared per-sample gradients, as if the fitted samples had been
streamed with gradients like these, so the first steps after a fit are small.

References
----------
.. [1] McMahan et al. (2013). "Ad click prediction: a view from the
   trenches". KDD (FTRL-Proximal, per-coordinate learning rates).
.. [2] Duchi, Hazan, Singer (2011). "Adaptive subgradient methods for online
   learning and stochastic optimization". JMLR 12, 2121-2159.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import _kernels, _kernels_fast, _online_fast

# Rows of positive weight per mini-batch: partial_fit cuts the rows of each
# call into batches of BATCH_SIZE. benchmarks/bench_online.py (text-like, 100k
# features, calls of 1,000 rows; SGDClassifier 0.7857 / 0.7982), test accuracy
# after 1 / 5 epochs with A the sum of the squared per-sample gradients: 512 rows
# 0.7917 / 0.7985; 1,000 rows 0.7805 / 0.7976 (STEP_FACTOR 12: 0.7835 / 0.7977,
# 45: 0.7743 / 0.7974). With A the sum of the squared batch gradients (before
# the compiled step): 512 rows 0.7904 / 0.7948, 1,000 rows 0.7811 / 0.7907.
BATCH_SIZE = 512
# alpha = eta0 * STEP_FACTOR / scale. With the default eta0, alpha is 0.23 /
# scale: measured best within a factor 2 on text-like rows (bench_online.py)
# and on dense standardised features (tests/test_online.py). With per-sample
# sums and 512 rows, bench_online.py: 12 gives 0.7903 / 0.7964 after 1 / 5
# epochs, 23 0.7917 / 0.7985, 45 0.7916 / 0.7982.
STEP_FACTOR = 23.0


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
    _scratch: tuple = field(default=None, repr=False, compare=False)

    def scratch(self, n_features, n_columns, n_outputs):
        """Return the scratch arrays of ``_online_fast.sparse_step``.

        ``position`` (-1 for each of ``n_features``), and ``columns``,
        ``last_row`` (-1) and ``scratch`` (zeros) for batches that touch up
        to ``n_columns`` columns with ``n_outputs``. Made once and kept
        between calls, larger when a batch needs more (the steps leave them
        as they found them), so a call costs nothing per feature; not pickled.
        """
        position, columns, last_row, scratch = self._scratch or (None,) * 4
        if position is None or position.size != n_features:
            position = np.full(n_features, -1, dtype=np.int64)
        if scratch is None or scratch.shape[0] < n_columns or (
                scratch.shape[1] != 3 * n_outputs):
            columns = np.zeros(n_columns, dtype=np.int64)
            last_row = np.full(n_columns, -1, dtype=np.int64)
            scratch = np.zeros((n_columns, 3 * n_outputs))
        self._scratch = (position, columns, last_row, scratch)
        return self._scratch

    def __getstate__(self):
        """Return the state to pickle: without the scratch arrays."""
        return {**vars(self), "_scratch": None}

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
        The weights, C-ordered, updated in place (only the rows a batch
        touches change).
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
    X, penalty = problem.X, problem.penalty
    sparse = sp.issparse(X)
    batches = list(_batches(sample_weight, batch_size or BATCH_SIZE))
    if sparse:
        arrays = _kernels.sparse_arrays(X)
        # a batch touches at most as many columns as it has stored entries
        spans = [_span(rows) for rows in batches]
        n_touched = max((int(arrays[2][stop] - arrays[2][start])
                         for start, stop in spans), default=0)
        scratch = state.scratch(X.shape[1], min(n_touched, X.shape[1]), W.shape[1])
    loss_value = 0.0
    for rows in batches:
        # 1. the residuals at the current weights (progressive loss: each
        # row's loss before its step)
        if sparse:
            batch = _batch_arrays(*arrays, rows)
            Z = np.empty((batch[2].size - 1, W.shape[1]), dtype=W.dtype)
            _kernels_fast.gather(*batch, W, Z)
        else:
            batch = X[rows]
            Z = batch @ W
        Z += b
        value, R, _ = problem.loss.derivatives(problem.Y[rows], Z, problem.s[rows])
        loss_value += value
        if state.feature_scale is None:
            state.feature_scale = _feature_scale(
                batch[0][batch[2][0]:batch[2][-1]] if sparse else batch)
        # 2. the step of the weights (compiled) and of the intercept
        n_rows = R.shape[0]
        prior_share = state.n_prior / n_rows if state.n_prior > 0 else 0.0
        step = (eta0 * STEP_FACTOR / state.feature_scale, penalty.l1, penalty.l2,
                penalty.group, prior_share)
        if sparse:
            state.penalty_value += _online_fast.sparse_step(
                *batch, R, W, state.z, state.root, *scratch, *step)
        else:
            G = np.asarray(batch.T @ R, dtype=np.float64)
            S = np.asarray(np.square(batch, dtype=np.float64).T @ np.square(
                R, dtype=np.float64))
            state.penalty_value += _online_fast.dense_step(
                G, S, W, state.z, state.root, *step)
        if problem.fit_intercept:
            b = _intercept_step(state, R, b, step[0], prior_share)
        state.n_updates += 1
    weight = float(sample_weight.sum())
    state.n_seen += weight
    objective = loss_value + weight / state.n_seen * state.penalty_value
    return OnlineResult(b, objective, loss_value, weight)


def _intercept_step(state, R, b, alpha, prior_share):
    """Return the intercept after the batch's step (its state updated in place).

    The step of an unpenalised weight whose feature is 1 in every row, but
    with the squared batch gradient in ``A`` (see BATCH_SIZE), and the
    prior's share of the per-sample squares on the first step after a fit.
    """
    g_b = R.sum(axis=0)
    squared = np.square(g_b, dtype=np.float64)
    root = state.root_intercept
    if prior_share > 0 and not np.any(root):  # first step after a fit
        squared += prior_share * np.square(R, dtype=np.float64).sum(axis=0)
    root_new = np.sqrt(root * root + squared).astype(b.dtype)
    state.z_intercept += g_b - (root_new - root) / alpha * b
    state.root_intercept = root_new
    seen = root_new > 0
    return np.where(seen, -state.z_intercept * alpha / np.where(seen, root_new, 1),
                    b).astype(b.dtype, copy=False)


def _feature_scale(values):
    """Return the root mean square of the stored (non-zero) values of a batch."""
    count = np.count_nonzero(values)
    if count == 0:
        return 1.0
    return float(np.sqrt(np.vdot(values, values) / count))


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


def _span(rows):
    """Return the first row of a batch and the row after its last."""
    if isinstance(rows, slice):
        return rows.start, rows.stop
    return int(rows[0]), int(rows[-1]) + 1


def _batch_arrays(data, indices, indptr, rows):
    """Return ``data``, ``indices`` and ``indptr`` of the ``rows`` of a CSR ``X``.

    Consecutive rows: X's own arrays and a slice of its ``indptr`` (the
    kernels read absolute positions). Else the rows' entries, gathered.
    """
    if isinstance(rows, slice):
        return data, indices, indptr[rows.start:rows.stop + 1]
    lengths = indptr[rows + 1] - indptr[rows]
    starts = np.repeat(indptr[rows] - np.cumsum(lengths) + lengths, lengths)
    entries = starts + np.arange(lengths.sum(), dtype=indptr.dtype)
    batch_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(indptr.dtype)
    return data[entries], indices[entries], batch_indptr
