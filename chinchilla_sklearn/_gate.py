"""The dynamic-adjustment gate: the outer loop of every fit.

Before each round the gate looks at the data and the current solution and
decides which features take part (the working set), which are certified zero
and leave for good (safe screening), and which kernel computes the products
(sparse, or a dense block of the working-set columns). The gate changes the
cost of a fit, never its answer: every round ends with a check of optimality
on all features, and the fit stops only when the largest violation is at most
``tol``.

Each round has five steps: score (one full gradient pass: each feature's
optimality violation), screen (gap-safe rule), select (working set), solve
(the Newton solver on the working-set columns, to a tolerance tied to the
current violation) and check (the next full gradient pass).

References
----------
.. [1] Massias, Gramfort, Salmon (2018). "Celer: a fast solver for the Lasso
   with dual extrapolation". ICML (working sets, doubling rule).
.. [2] Ndiaye, Fercoq, Gramfort, Salmon (2017). "Gap safe screening rules for
   sparsity enforcing penalties". JMLR 18(128).
.. [3] Bertrand, Klopfenstein, Massias, Blondel, Vaiter, Gramfort, Salmon
   (2022). "Beyond L1: faster and better sparse models with skglm". NeurIPS.
"""

import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from ._kernels import column_norms, take_columns
from ._objective import intercept_gradient, objective_value, optimality
from ._solver import State, polish_intercept, solve_working_set

# A dense block of working-set columns is used when at least this share of its
# entries is non-zero and it fits in DENSE_MAX_BYTES: benchmarks/bench_kernel.py
# measures dense products faster than CSC from a density of 0.2 (20 outputs)
# to 0.3 (one output) on one thread.
DENSE_MIN_DENSITY = 0.25
DENSE_MAX_BYTES = 2**27
# Violators admitted per round besides those above the threshold: the strongest
# max(MIN_NEW, NEW_PER_SUPPORT * support size), so the working set grows
# geometrically. benchmarks/bench_gate.py, L1 / elastic net, passes over the data:
# 1 (doubling, as skglm) 87 / 38 small and 372 / 130 large; 3 (x4 per round)
# 60 / 29 and 320 / 109 (fewer rounds re-solving a growing support); 7: more
# CG products than 3 on both (large L1: 384 against 359).
MIN_NEW = 100
NEW_PER_SUPPORT = 3
# The working set is solved to INNER_TOL_RATIO times the current violation.
INNER_TOL_RATIO = 0.3
MAX_NEWTON_STEPS = 50
# Once converged, the final support is solved to FINISH_TOL_RATIO * tol.
FINISH_TOL_RATIO = 1e-6
FINISH_MAX_STEPS = 5


@dataclass(frozen=True)
class IterationRecord:
    """One outer iteration, as ``loss_curve_``, ``gate_report_`` and verbose see it."""

    iteration: int
    objective: float
    violation: float
    working_set_size: int
    n_screened: int
    kernel: str
    n_newton_steps: int
    elapsed: float
    last: bool = False


@dataclass
class GateResult:
    """The solution and the history of the gate loop."""

    W: np.ndarray
    b: np.ndarray
    converged: bool
    violation: float
    records: list = field(default_factory=list)
    screened: np.ndarray = None
    column_passes: int = 0
    n_products: int = 0


def run_gate(problem, W, b, *, gate, gate_threshold, tol, max_iter, on_record=None,
             finish=True):
    """Minimise the objective of ``problem`` from ``(W, b)`` with the gate loop.

    Parameters
    ----------
    problem : Problem
    W : ndarray of shape (n_features, n_outputs)
        Starting weights (never written into).
    b : ndarray of shape (n_outputs,)
        Starting intercept (copied).
    gate : bool
        Use working sets and safe screening. Without an L1 part every weight is
        non-zero and all features take part in every round.
    gate_threshold : float in [0, 1]
        Relative violation a feature needs to join the working set.
    tol : float
        Stop when the largest scaled violation over all features is <= tol.
    max_iter : int
        Largest number of outer iterations.
    on_record : callable, default=None
        Called with each :class:`IterationRecord`.
    finish : bool, default=True
        Once converged, take the finishing steps (step 6) that make the answer
        accurate far below ``tol``. A regularisation path turns them off: each
        of its fits is certified to ``tol`` and is the start of the next.

    Returns
    -------
    GateResult
    """
    penalty = problem.penalty
    gated = gate and penalty.l1 > 0
    if gated and sp.issparse(problem.X) and problem.X.format == "csr":
        # the one copy of X a fit makes: working-set columns are taken every
        # round, in O(nnz of the block) from CSC but O(nnz of X) from CSR
        problem = replace(problem, X=problem.X.tocsc())
    X, n_features = problem.X, problem.X.shape[1]
    start = time.perf_counter()
    result = GateResult(W, b.copy(), converged=False, violation=np.inf)
    # 0. the start, with its intercept fitted: a valid centre for safe screening
    state = _start(problem, result.W, result.b)
    G_loss = np.asarray(X.T @ state.R)
    n_passes = 2 if np.any(result.W) else 1  # the gradient, and X @ W on a warm start
    result.column_passes, result.n_products = n_passes * n_features, n_passes
    screened = np.zeros(n_features, dtype=bool)
    if gated:
        norms, column_nnz = column_norms(X), _column_nnz(X)
    ws, kernel = None, "sparse" if sp.issparse(X) else "dense"
    scores, violation = _check(problem, state, G_loss)
    damping_unit = _damping_unit(problem, result, violation)
    for iteration in range(1, max_iter + 1):
        # 1. screen, 2. select, 3. choose the kernel
        if gated:
            screened |= _screen(problem, state, G_loss, norms)
            ws = _select(scores, state.W, screened, gate_threshold)
            kernel = _choose_kernel(X, ws, column_nnz)
        scores = None  # not kept while solving (a vector of n_features)
        # 4. solve on the working set, 5. check on all features
        state, G_loss, n_steps, ws_size = _solve_round(
            problem, state, G_loss, ws, kernel, INNER_TOL_RATIO * violation,
            MAX_NEWTON_STEPS, result, polish=gated, damping_unit=damping_unit,
        )
        scores, violation = _check(problem, state, G_loss)
        result.converged = violation <= tol
        if result.converged and finish:
            # 6. finish: Newton steps with a near-exact inner solve on the final
            # support square the error, so the answer is accurate far below tol
            # for the cost of one or two steps on the smallest working set
            ws = np.flatnonzero(np.any(state.W != 0, axis=1)) if gated else None
            scores = None
            state, G_loss, finish_steps, _ = _solve_round(
                problem, state, G_loss, ws, kernel, FINISH_TOL_RATIO * tol,
                FINISH_MAX_STEPS, result, polish=gated, exact=True,
                damping_unit=damping_unit,
            )
            n_steps += finish_steps
            scores, violation = _check(problem, state, G_loss)
        result.violation = violation
        record = IterationRecord(
            iteration, objective_value(problem, state.loss_value, state.W),
            violation, ws_size, int(screened.sum()), kernel, n_steps,
            time.perf_counter() - start,
            last=result.converged or iteration == max_iter,
        )
        result.records.append(record)
        if on_record is not None:
            on_record(record)
        if result.converged:
            break
    result.W, result.b, result.screened = state.W, state.b, screened
    return result


def _start(problem, W, b):
    """Return the starting state, its intercept fitted (Newton on ``Z`` alone).

    Zero weights need no pass over ``X``: ``Z`` is the intercept.
    """
    if np.any(W):
        Z = _predict(problem, W, b)
    else:
        Z = np.broadcast_to(b, problem.Y.shape).astype(W.dtype)
    return polish_intercept(problem, State.at(problem, W, b, Z))


def _damping_unit(problem, result, violation):
    """Return the violation at which the solver's damping is largest.

    The larger of the starting violation and, on a warm start without a ridge
    part (the only case with damping), that of the zero model with its
    intercept fitted (one more pass over ``X``): a warm start close to the
    optimum is then damped as what it is, close, and not held at full damping
    (measured: a pure-L1 warm start on separable data stalled for 500
    iterations; 6 with this unit).
    """
    unit = violation
    if problem.penalty.l2 == 0 and np.any(result.W):
        zero = _start(problem, np.zeros_like(result.W), result.b.copy())
        _, zero_violation = _check(problem, zero, np.asarray(problem.X.T @ zero.R))
        result.column_passes += problem.X.shape[1]
        result.n_products += 1
        unit = max(unit, zero_violation)
    return max(unit, np.finfo(np.float64).tiny)


def _check(problem, state, G_loss):
    """Return each feature's violation and the largest (intercept included)."""
    G = G_loss + problem.penalty.l2 * state.W
    gb = intercept_gradient(problem, state.R)
    _, scores, violation = optimality(problem, state.W, G, gb)
    return scores, violation


def _solve_round(problem, state, G_loss, ws, kernel, tol, max_steps, result, *,
                 polish, exact=False, damping_unit=1.0):
    """Solve on the working set ``ws`` (None: all features); return the new state.

    Also returns ``X.T @ R`` at the new state (reused from the solver when all
    features took part, else one full pass), the Newton steps and the working-set
    size, and adds the column passes made to ``result``.
    """
    X, penalty = problem.X, problem.penalty
    block = take_columns(X, ws, kernel)
    # on all features the solver moves ``state`` itself, so the previous
    # iterate is freed as it goes; ``G_loss`` is not used after this call
    sub_state = state if ws is None else replace(state, W=state.W[ws])
    G = G_loss if ws is None else G_loss[ws]
    G += penalty.l2 * sub_state.W
    solved = solve_working_set(problem, block, sub_state, tol, max_steps, G=G,
                               exact=exact, damping_unit=damping_unit)
    sub_state = solved.state
    if polish:
        sub_state = polish_intercept(problem, sub_state)
    W = sub_state.W
    if ws is not None:
        W = state.W.copy()
        W[ws] = sub_state.W
    state = State(W, sub_state.b, sub_state.Z, sub_state.loss_value, sub_state.R,
                  sub_state.curvature)
    result.column_passes += block.column_passes
    result.n_products += block.n_products
    if ws is None and not polish:
        G_loss = solved.G - penalty.l2 * W
    else:
        G_loss = np.asarray(X.T @ state.R)
        result.column_passes += X.shape[1]
        result.n_products += 1
    return state, G_loss, solved.n_steps, block.n_columns


def _predict(problem, W, b):
    """Return ``X @ W + b`` (one pass over the data)."""
    return np.asarray(problem.X @ W) + b


def _column_nnz(X):
    """Return the number of stored entries of each column of a sparse ``X``."""
    if not sp.issparse(X):
        return None
    if X.format == "csc":
        return np.diff(X.indptr)
    return np.bincount(X.indices, minlength=X.shape[1])


def _select(scores, W, screened, threshold):
    """Return the sorted working set: the support plus the strongest violators.

    Every feature outside the support whose violation is at least ``threshold``
    times the largest joins; so do the strongest violators up to ``max(MIN_NEW,
    NEW_PER_SUPPORT * support size)`` (geometric growth, as the doubling of
    [1, 3]), so the loop converges whatever the threshold.
    ``threshold=0`` admits every feature that is not screened (no gating).
    """
    support = np.any(W != 0, axis=1)
    outside = ~support & ~screened
    if threshold == 0:
        return np.flatnonzero(support | outside)
    violators = np.flatnonzero(outside & (scores > 0))
    above = np.count_nonzero(scores[violators] >= threshold * scores.max(initial=0.0))
    n_new = max(above, MIN_NEW, NEW_PER_SUPPORT * int(support.sum()))
    if violators.size > n_new:
        violators = violators[np.argpartition(scores[violators], -n_new)[-n_new:]]
    return np.union1d(np.flatnonzero(support), violators)


def _choose_kernel(X, ws, column_nnz):
    """Return "dense" when the working-set block is dense and small, else "sparse"."""
    if not sp.issparse(X):
        return "dense"
    n_samples = X.shape[0]
    size = n_samples * ws.size
    if ws.size == X.shape[1] or size * X.dtype.itemsize > DENSE_MAX_BYTES:
        return "sparse"
    density = column_nnz[ws].sum() / max(size, 1)
    return "dense" if density >= DENSE_MIN_DENSITY else "sparse"


def _screen(problem, state, G_loss, norms):
    """Return the features certified zero at the optimum by the gap-safe rule.

    The dual point ``theta = -t * R`` (``t`` rescales it into the dual feasible
    set when there is no ridge part) and the duality gap give a ball around the
    dual optimum of radius ``sqrt(2 * gap * L)``, ``L`` the loss's smoothness.
    Feature ``j`` is zero at the optimum when ``||x_j^T theta|| + radius *
    ||x_j|| < l1`` ([2]). Only features at zero now are removed. ``G_loss`` is
    ``X.T @ R``. The intercept gradient must vanish (see polish_intercept).
    """
    penalty, loss = problem.penalty, problem.loss
    correlations = penalty.feature_norms(G_loss)
    t = 1.0
    if penalty.l2 == 0:
        t = min(1.0, penalty.l1 / max(correlations.max(initial=0.0), 1e-300))
    P = loss.probabilities(state.Z)
    dual = (loss.dual_value(problem.Y, P, problem.s, t)
            - penalty.conjugate(t * G_loss))
    gap = max(objective_value(problem, state.loss_value, state.W) - dual, 0.0)
    radius = np.sqrt(2 * gap * loss.curvature_bound * float(problem.s.max()))
    certified = t * correlations + radius * norms < penalty.l1
    return certified & ~np.any(state.W != 0, axis=1)
