"""The dynamic-adjustment gate: the outer loop of every fit.

Before each round the gate looks at the data and the current solution and
decides which features take part (the working set), which are certified zero
and leave for good (safe screening), and which kernel computes the products
(sparse, or a dense block of the working-set columns). The gate changes the
cost of a fit, never its answer: every round ends with a duality gap over all
features, and the fit stops only when that gap, relative to the objective, is
at most ``tol`` (without a penalty: the largest optimality violation).

Each round has five steps: score (one full gradient pass: each feature's
optimality violation), screen (gap-safe rule), select (working set), solve
(the Newton solver on the working-set columns, to a gap tied to the current
one) and check (the next full gradient pass, and the gap of the dual point it
gives).

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

from ._groups import Grouper
from ._kernels import column_norms, matmul, rmatmul, take_columns
from ._objective import (
    DualPoint,
    TargetCorrelations,
    dual_point,
    intercept_gradient,
    objective_value,
    optimality,
    relative_gap,
)
from ._solver import (
    POLISH_STEPS,
    State,
    curvature_scale,
    polish_intercept,
    solve_working_set,
)

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
# The working set is solved to INNER_TOL_RATIO times the current duality gap
# (violation without a penalty), as celer [1] does, and to INNER_TOL_RATIO times
# its own gap at the start of the round: an elastic net at W = 0 whose gap comes
# from many slightly violating features outside the working set had a working
# set already "solved", took no step, and looped (tools/soak.py gate seed 45).
INNER_TOL_RATIO = 0.3
MAX_NEWTON_STEPS = 50
# Once the gap is certified, a fit whose products on the final support touch at
# most FINISH_MAX_ENTRIES entries ((stored entries of the support's columns +
# n_samples) x n_outputs) gets one more Newton step with a near-exact inner
# solve: it squares the error, so the weights are accurate far below what the
# gap bounds (a gap tol bounds them only to about sqrt(tol)), for well under a
# millisecond of products. Larger fits stop at the certificate: there the step
# would cost a third of an L2 fit.
FINISH_MAX_ENTRIES = 2**16
# Below this violation the gradient's rounding dominates (unit-scale features):
# no finishing step.
FINISH_MIN_VIOLATION = 1e-12
# Working-set columns whose cosine is above NEAR_DUPLICATE_COSINE are grouped,
# and CG is preconditioned by the inverse of each group's Hessian block
# (_groups.py; None: the Jacobi diagonal alone). notes/real_text_diagnosis.md,
# real binary L1 at C=10, passes with groups from the exact Gram: Jacobi 881,
# cosine > 0.9 398, > 0.7 312, > 0.5 335.
NEAR_DUPLICATE_COSINE = 0.7


@dataclass(frozen=True)
class IterationRecord:
    """One outer iteration, as ``loss_curve_``, ``gate_report_`` and verbose see it."""

    iteration: int
    objective: float
    violation: float
    gap: float
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
    gap: float = np.nan
    records: list = field(default_factory=list)
    screened: np.ndarray = None
    column_passes: int = 0
    n_products: int = 0
    radius: float = np.inf  # the solver's trust region, from round to round


@dataclass(frozen=True)
class _Check:
    """Optimality on all features: per-feature violations, the largest, the dual.

    ``progress`` is what ``tol`` is compared with: the relative duality gap,
    or the largest violation without a penalty (``dual`` None).
    """

    scores: np.ndarray
    violation: float
    dual: object

    @property
    def progress(self):
        return self.violation if self.dual is None else self.dual.gap

    def without_vectors(self):
        """Return the check without its per-feature vectors (scores, correlations)."""
        dual = self.dual
        if dual is not None:  # (not dataclasses.replace: 4 us a round)
            dual = DualPoint(dual.value, dual.gap, dual.scale, None)
        return _Check(None, self.violation, dual)


@dataclass(frozen=True)
class _Setup:
    """What a fit computes once about ``X`` for its rounds (None when unused)."""

    targets: object  # TargetCorrelations: to balance the dual point
    norms: np.ndarray  # column norms: safe screening
    column_nnz: np.ndarray  # stored entries per column: the kernel choice
    damping_scale: np.ndarray  # each weight's largest curvature: the damping
    damping_unit: float
    grouper: object = None  # Grouper: near-duplicate groups of the working sets


def run_gate(problem, W, b, *, gate, gate_threshold, tol, max_iter, on_record=None):
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
        Stop when the duality gap over all features, relative to the
        objective, is at most ``tol``; without a penalty, when the largest
        scaled violation is.
    max_iter : int
        Largest number of outer iterations.
    on_record : callable, default=None
        Called with each :class:`IterationRecord`.

    Returns
    -------
    GateResult
    """
    gated = gate and problem.penalty.l1 > 0
    if (gated or _csc_pays(problem)) and sp.issparse(problem.X) and (
            problem.X.format == "csr"):
        # the one copy of X a fit makes: working-set columns are taken every
        # round, in O(nnz of the block) from CSC but O(nnz of X) from CSR
        problem = replace(problem, X=problem.X.tocsc())
    X, n_features = problem.X, problem.X.shape[1]
    start = time.perf_counter()
    result = GateResult(W, b.copy(), converged=False, violation=np.inf)
    # 0. the start, with its intercept fitted: a valid centre for safe screening
    state = _start(problem, result.W, result.b)
    setup = _set_up(problem, gated, result)
    if setup.targets is not None and not np.any(result.W):
        # zero weights: the same probabilities in every row, so X.T @ R comes
        # from the target correlations, without a pass
        G_loss = setup.targets.of_constant(state.R).astype(
            np.result_type(X.dtype, state.R.dtype), copy=False)
    else:
        G_loss = rmatmul(X, state.R)
        _count(result, n_features, 2 if np.any(result.W) else 1)  # X @ W if warm
    check = _check(problem, state, G_loss, setup)
    setup = replace(setup, damping_unit=_damping_unit(problem, result, check))
    screened = np.zeros(n_features, dtype=bool)
    best = None  # the dual point of largest value so far
    if gated:
        check, best = _keep_best(problem, state, check, best)
        screened |= _screen(problem, state, best, setup.norms)
    ws, kernel = None, "sparse" if sp.issparse(X) else "dense"
    for iteration in range(1, max_iter + 1):
        # 1. screen (after each check, below), 2. select, 3. choose the kernel
        inner_tol = tol
        if gated:
            previous = ws
            ws, whole = _select(check.scores, state.W, screened, gate_threshold)
            kernel = _choose_kernel(X, ws, setup.column_nnz)
            # a working set that holds every violator and no feature the last
            # round did not have is settled: it is solved to the fit's own tol
            settled = (whole and previous is not None
                       and np.isin(ws, previous, assume_unique=True).all())
            inner_tol = INNER_TOL_RATIO * (tol if settled else check.progress)
            if settled:  # its solve to tol takes its full Newton steps
                result.radius = np.inf
        check = check.without_vectors()  # not kept while solving (n_features each)
        # 4. solve on the working set (on all features: one Newton step, so an
        # outer iteration is a Newton iteration), 5. check on all features
        state, G_loss, check, n_steps, ws_size, finished = _solve_round(
            problem, state, G_loss, check, ws, kernel, setup, result,
            tol=inner_tol, reduction=INNER_TOL_RATIO if gated else None,
            max_steps=MAX_NEWTON_STEPS if gated else 1, polish=gated,
        )
        if gated:  # the best dual point so far certifies the gap and screens
            check, best = _keep_best(problem, state, check, best)
        result.converged = check.progress <= tol
        if (result.converged and not finished
                and _finishing_pays(X, state, check, tol)):
            state, G_loss, check, finish_steps = _finish(
                problem, state, G_loss, check, gated, kernel, setup, result, tol)
            n_steps += finish_steps
            if gated:
                check, best = _keep_best(problem, state, check, best)
        if gated:  # also at the last check: what the certificate allows
            screened |= _screen(problem, state, best, setup.norms)
        result.violation = check.violation
        result.gap = check.dual.gap if check.dual is not None else np.nan
        record = IterationRecord(
            iteration, objective_value(problem, state.loss_value, state.W),
            check.violation, result.gap, ws_size, int(screened.sum()), kernel,
            n_steps, time.perf_counter() - start,
            last=result.converged or iteration == max_iter,
        )
        result.records.append(record)
        if on_record is not None:
            on_record(record)
        if result.converged:
            break
    result.W, result.b, result.screened = state.W, state.b, screened
    return result


def _count(result, n_columns, n_products=1):
    """Add ``n_products`` products over ``n_columns`` columns to the report."""
    result.column_passes += n_products * n_columns
    result.n_products += n_products


def _set_up(problem, gated, result):
    """Return the per-fit quantities of ``X`` the rounds need (a pass each)."""
    X = problem.X
    targets = norms = column_nnz = damping_scale = None
    if problem.has_dual and problem.fit_intercept:
        targets = TargetCorrelations.of(problem)
        _count(result, X.shape[1])
    if gated:
        norms, column_nnz = column_norms(X), _column_nnz(X)
        _count(result, X.shape[1])
    if problem.penalty.l2 == 0:
        damping_scale = curvature_scale(problem, take_columns(X, None, None))
        _count(result, X.shape[1])
    # dense columns are never near-duplicates by their row sets, which the
    # grouping hashes: on dense X it would cost signatures for nothing (digits,
    # L1: 0.244 s against 0.173 s, the same 12 Newton steps)
    grouper = (Grouper(X, norms, NEAR_DUPLICATE_COSINE)
               if gated and NEAR_DUPLICATE_COSINE is not None and sp.issparse(X)
               else None)
    return _Setup(targets, norms, column_nnz, damping_scale, damping_unit=1.0,
                  grouper=grouper)


def _finishing_pays(X, state, check, tol):
    """Whether a finishing step is cheap (small support) and can help.

    It cannot where the gradient is at its rounding floor. It need not where
    the gap is already at most ``tol ** 2``: the error has been squared, and
    the weights are within about ``tol`` of the optimum's (breast cancer,
    elastic net, tol=1e-4: the last round ends at a gap of 3.6e-9, and the
    step after it took 0.6 ms of a 5.0 ms fit; the coefficients are 1.8e-5
    from the optimum's without it). Only where ``tol ** 2`` is above the
    gap's own rounding (``eps``): a gap at rounding says nothing finer than
    ``sqrt(eps)`` of the weights (the invariance tests at tol=1e-13 need the
    step).
    """
    if check.violation <= FINISH_MIN_VIOLATION:
        return False
    if check.progress <= tol ** 2 and tol ** 2 >= np.finfo(np.float64).eps:
        return False
    entries = (_block_entries(X, state.W) + X.shape[0]) * state.W.shape[1]
    return entries <= FINISH_MAX_ENTRIES


def _finish(problem, state, G_loss, check, gated, kernel, setup, result, tol):
    """Take one exact Newton step on the final support (6. finish).

    The step is kept if it keeps the certificate and lowers the violation (at
    the rounding floor it can do neither); otherwise the state given is
    returned.
    """
    kept = replace(state), G_loss.copy(), check
    ws = np.flatnonzero(np.any(state.W != 0, axis=1)) if gated else None
    state, G_loss, check, n_steps, *_ = _solve_round(
        problem, state, G_loss, check, ws, kernel, setup, result, tol=-np.inf,
        max_steps=1, polish=gated, exact=True,
    )
    if check.progress > tol or check.violation > kept[2].violation:
        state, G_loss, check = kept
    return state, G_loss, check, n_steps


def _csc_pays(problem):
    """Whether products with several outputs are faster from a CSC copy of X.

    Each stored entry reads or writes a row of the dense operand at random: one
    of n_features rows (W, X.T @ R) from CSR, of n_samples rows (X @ W, R) from
    CSC. benchmarks/bench_kernel.py, 16,000 x 50,000, 20 outputs: a pass of X @ W
    and X.T @ R takes 83-91 ms from CSC, 236-240 ms from CSR (same run); with one
    output both take about 4 ms, so binary fits keep X as given.
    """
    n_samples, n_features = problem.X.shape
    return problem.Y.shape[1] > 1 and n_samples < n_features


def _block_entries(X, W):
    """Return the stored entries of the columns of ``X`` in the support of ``W``."""
    support = np.any(W != 0, axis=1)
    if not sp.issparse(X):
        return X.shape[0] * int(support.sum())
    if X.format == "csc":
        return int(np.diff(X.indptr)[support].sum())
    return int(np.count_nonzero(support[X.indices]))


def _start(problem, W, b):
    """Return the starting state, its intercept fitted (Newton on ``Z`` alone).

    Zero weights need no pass over ``X``: ``Z`` is the intercept, whose
    optimum the loss knows (the log-odds), so the Newton steps only confirm it
    (breast cancer: 1 loss evaluation instead of 5).
    """
    if np.any(W):
        Z = _predict(problem, W, b)
    else:
        null = (problem.loss.null_intercept(problem.Y, problem.s)
                if problem.fit_intercept else None)
        b = b if null is None else null.astype(b.dtype)
        Z = np.broadcast_to(b, problem.Y.shape).astype(W.dtype)
    return polish_intercept(problem, State.at(problem, W, b, Z))


def _damping_unit(problem, result, check):
    """Return the violation at which the solver's damping is largest.

    The larger of the starting violation and, on a warm start without a ridge
    part (the only case with damping), that of the zero model with its
    intercept fitted (one more pass over ``X``): a warm start close to the
    optimum is then damped as what it is, close, and not held at full damping
    (measured: a pure-L1 warm start on separable data stalled for 500
    iterations; 6 with this unit).
    """
    unit = check.violation
    if problem.penalty.l2 == 0 and np.any(result.W):
        zero = _start(problem, np.zeros_like(result.W), result.b.copy())
        G = rmatmul(problem.X, zero.R)
        gb = intercept_gradient(problem, zero.R)
        unit = max(unit, optimality(problem, zero.W, G, gb)[2])
        _count(result, problem.X.shape[1])
    return max(unit, np.finfo(np.float64).tiny)


def _check(problem, state, G_loss, setup, dual=None):
    """Return the optimality of ``state`` on all features (``dual`` if known)."""
    G = G_loss + problem.penalty.l2 * state.W
    gb = intercept_gradient(problem, state.R)
    _, scores, violation = optimality(problem, state.W, G, gb)
    if problem.has_dual and dual is None:
        dual = dual_point(problem, state, G_loss, setup.targets)
    return _Check(scores, violation, dual)


def _solve_round(problem, state, G_loss, check, ws, kernel, setup, result, *, tol,
                 max_steps, polish, exact=False, reduction=None):
    """Solve on the working set ``ws`` (None: all features); return the new state.

    Also returns ``X.T @ R`` and the :class:`_Check` at the new state (from the
    solver when all features took part, else after one full pass), the Newton
    steps, the working-set size and whether the last step was a finishing
    step (``SolverResult.finished``: on all features, an exactly solved step
    from a point its Newton dual point certified), and adds the column passes
    made to ``result``.
    """
    X, penalty = problem.X, problem.penalty
    block = take_columns(X, ws, kernel)
    # on all features the solver moves ``state`` itself, so the previous
    # iterate is freed as it goes; ``G_loss`` is not used after this call
    sub_state = state if ws is None else replace(state, W=state.W[ws])
    G = G_loss if ws is None else G_loss[ws]
    G += penalty.l2 * sub_state.W
    columns = slice(None) if ws is None else ws
    # working sets pass the trust radius on (_solver.TRUST_GROWTH); a fit on
    # all features and a finishing step keep none
    carried = ws is not None and not exact
    groups = (setup.grouper.for_block(ws)
              if setup.grouper is not None and ws is not None else None)
    solved = solve_working_set(
        problem, block, sub_state, tol, max_steps, G=G,
        dual=check.dual if ws is None else None,
        targets=None if setup.targets is None else setup.targets[columns],
        exact=exact, damping_unit=setup.damping_unit, reduction=reduction,
        damping_scale=(None if setup.damping_scale is None
                       else setup.damping_scale[columns]),
        groups=groups, newton_dual=ws is None,
        radius=result.radius if carried else np.inf,
    )
    del groups
    sub_state = solved.state
    if polish:
        sub_state = polish_intercept(problem, sub_state, POLISH_STEPS)
    W = sub_state.W
    if ws is not None:
        W = state.W.copy()
        W[ws] = sub_state.W
    state = State(W, sub_state.b, sub_state.Z, sub_state.loss_value, sub_state.R,
                  sub_state.curvature)
    result.column_passes += block.column_passes
    result.n_products += block.n_products
    if carried:
        result.radius = solved.radius
    if ws is None and not polish:  # the solver's check, on all features
        G_loss = solved.G - penalty.l2 * W
        check = _Check(solved.scores, solved.violation, solved.dual)
        return (state, G_loss, check, solved.n_steps, block.n_columns,
                solved.finished)
    G_loss = rmatmul(X, state.R)
    _count(result, X.shape[1])
    return (state, G_loss, _check(problem, state, G_loss, setup), solved.n_steps,
            block.n_columns, False)


def _predict(problem, W, b):
    """Return ``X @ W + b`` (one pass over the data)."""
    return matmul(problem.X, W) + b


def _column_nnz(X):
    """Return the number of stored entries of each column of a sparse ``X``."""
    if not sp.issparse(X):
        return None
    if X.format == "csc":
        return np.diff(X.indptr)
    return np.bincount(X.indices, minlength=X.shape[1])


def _select(scores, W, screened, threshold):
    """Return the sorted working set (the support plus the strongest violators),
    and whether it holds every violator.

    Every feature outside the support whose violation is at least ``threshold``
    times the largest joins; so do the strongest violators up to ``max(MIN_NEW,
    NEW_PER_SUPPORT * support size)`` (geometric growth, as the doubling of
    [1, 3]), so the loop converges whatever the threshold.
    ``threshold=0`` admits every feature that is not screened (no gating).
    """
    support = np.any(W != 0, axis=1)
    outside = ~support & ~screened
    if threshold == 0:
        return np.flatnonzero(support | outside), True
    violators = np.flatnonzero(outside & (scores > 0))
    above = np.count_nonzero(scores[violators] >= threshold * scores.max(initial=0.0))
    n_new = max(above, MIN_NEW, NEW_PER_SUPPORT * int(support.sum()))
    whole = violators.size <= n_new
    if not whole:
        violators = violators[np.argpartition(scores[violators], -n_new)[-n_new:]]
    support[violators] = True  # (a mask, not np.union1d's sort: 10 us a round)
    return np.flatnonzero(support), whole


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


def _keep_best(problem, state, check, best):
    """Return the check certified by the best dual point so far, and that point.

    Every feasible dual point bounds the minimum from below, so the largest
    dual value seen in the fit (an earlier one when the current residual's
    rescaling ``t`` fell) certifies the current objective at least as well
    as the current point: the gap it gives never rises between rounds.
    """
    dual = check.dual
    if dual is None:
        return check, best
    if best is not None and best.value > dual.value:
        primal = objective_value(problem, state.loss_value, state.W)
        gap = relative_gap(primal, best.value)
        return replace(check, dual=replace(best, gap=gap)), best
    return check, dual


def _screen(problem, state, dual, norms):
    """Return the features certified zero at the optimum by the gap-safe rule.

    The dual point ``theta`` (:func:`~chinchilla_sklearn._objective.dual_point`)
    and the duality gap give a ball around the dual optimum of radius
    ``sqrt(2 * gap * L)``, ``L`` the smoothness of the loss times the largest
    sample weight. Feature ``j`` is zero at the optimum when
    ``||x_j^T theta|| + radius * ||x_j|| < l1`` ([2]). Only features at zero
    now are removed. The gap is that of the current objective and ``dual``'s
    value, so any feasible dual point of the fit may be given (the best).
    """
    penalty, loss = problem.penalty, problem.loss
    primal = objective_value(problem, state.loss_value, state.W)
    gap = max(primal - dual.value, 0.0)
    radius = np.sqrt(2 * gap * loss.curvature_bound * float(problem.s.max()))
    certified = dual.scale * dual.correlations + radius * norms < penalty.l1
    return certified & ~np.any(state.W != 0, axis=1)
