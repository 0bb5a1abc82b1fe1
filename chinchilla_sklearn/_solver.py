"""Solver for one working set: an orthant-wise (projected) Newton method.

On the columns of a :class:`~chinchilla_sklearn._kernels.Block`, each step

1. computes the pseudo-gradient ``V`` (minimum-norm subgradient) and stops
   when its largest entry, scaled, is at most the tolerance;
2. fixes the face of the non-smooth penalty the step may move in: non-zero
   weights keep their sign, zero weights that violate optimality enter against
   ``V``, the others stay at zero. On that face the objective is smooth;
3. solves the Newton system on the free weights and the intercept by
   preconditioned conjugate gradients (truncated Newton), with Hessian
   products ``X.T @ (H @ (X @ d))``. Entering weights whose step points out
   of their orthant stay at zero; when they carry a large part of the step,
   they leave the face and the system is solved again without them;
4. backtracks along the step, projecting weights that cross zero back to zero
   (Armijo rule). Should that fail, a proximal-gradient step is taken instead,
   which always decreases the objective, so the method converges;
5. makes the intercept optimal for the new weights (Newton steps on ``Z``
   alone), so the residual is nearly a feasible dual point.

It stops when the duality gap of the problem on the block, relative to the
objective, is at most its tolerance (``_objective.dual_point``).

Once the face is identified the steps are Newton steps on a smooth problem, so
convergence is quadratic. Everything is vectorised over the working set.

References
----------
.. [1] Byrd, Chin, Nocedal, Oztoprak (2016). "A family of second-order methods
   for convex l1-regularized optimization". Math. Programming 159, 435-467.
.. [2] Andrew, Gao (2007). "Scalable training of L1-regularized log-linear
   models". ICML (the orthant projection of OWL-QN).
.. [3] Dembo, Steihaug (1983). "Truncated-Newton algorithms for large-scale
   unconstrained optimization". Math. Programming 26, 190-212.
"""

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.linalg.lapack import dposv

from ._loss import _columns
from ._objective import (
    dual_point,
    intercept_gradient,
    objective_value,
    optimality,
    relative_gap,
)

ARMIJO = 1e-4
ROUNDING = 16  # objective changes below ROUNDING * eps * |objective| are noise
MAX_BACKTRACKS = 30
MAX_CG_ITER = 250
# Each Newton system is solved by CG to a relative residual of CG_FORCING; on
# a finishing step to min(CG_FORCING, violation), not below CG_FORCING_MIN.
# Forcing terms that shrink with the gap (Eisenstat-Walker: sqrt(gap), gap)
# cost more products than the Newton steps they save, measured in passes over
# X to a relative gap of 1e-6 (const / sqrt / linear): 20-class 16,000 x
# 50,000 L2 45 / 73 / 44, binary 20,000 x 50,000 L2 68 / 55 / 103, L1 330 /
# 308 / 330, elastic net 59 / 79 / 68.
CG_FORCING = 0.1
CG_FORCING_MIN = 1e-3
# Without a penalty, trial points keep every score |z| below SCORE_SHARE *
# log(1 / tiny) (about 701 in float64, 86 in float32), where each sample's
# residual exp(-|z|) is a normal number: beyond it the loss and gradient of a
# well classified sample underflow to zero, and on separable data, where the
# weights grow without bound, a zero violation would certify nothing. With a
# penalty the minimiser exists and its scores can be larger (pure L1 at
# C=3.6e3 on separable data: |z| > 2,000), so no bound applies.
SCORE_SHARE = 0.99
# A Newton step is solved again on a smaller face when the entering weights
# whose step points out of their orthant carry more than FACE_RATIO of its
# model decrease (in the diagonal curvature), in at most MAX_FACE_SOLVES solves
# (benchmarks/bench_gate.py, large L1: gate off 62 -> 26 Newton steps, gate on
# 68 steps with 2 solved again; FACE_RATIO = 1 left gate off at 62).
FACE_RATIO = 0.1
MAX_FACE_SOLVES = 3
# After each step the intercept is made optimal for the weights, up to this many
# outputs (see step 5 of solve_working_set), by POLISH_STEPS Newton steps on it
# alone: one takes most of the way (its convergence is quadratic), and each
# costs a loss evaluation, which on digits (10 classes) is a tenth of a
# Newton step. CPU ms a fit to a gap of 1e-6, 1 / 2 / 20 steps (min of 9 runs):
# digits L2 61.8 / 66.3 / 65.1, elastic net 64.2 / 67.3 / 70.2, L1 115 / 110 /
# 119; breast cancer elastic net 5.6 / 5.9 / 6.0, L1 5.2 / 5.3 / 5.3 (the
# same Newton steps).
POLISH_MAX_OUTPUTS = 100
POLISH_STEPS = 1
# A Newton system of one output whose Hessian costs at most DIRECT_MAX_FLOPS
# multiply-adds to form (n_samples x free weights^2, about a millisecond) is
# solved exactly (Cholesky) instead of by CG: the small problems GridSearchCV
# loops over, where each CG iteration's dozen array operations cost more than
# their arithmetic.
DIRECT_MAX_FLOPS = 2**22
# The block-Jacobi preconditioner's groups (given as a callable) are made once
# a Newton system has taken more than GROUPS_AFTER_CG CG iterations: the
# generated workloads take 5 to 28 per system, where grouping does not pay;
# real text 88 to 250 in its last rounds (notes/real_text_diagnosis.md).
GROUPS_AFTER_CG = 50
# Without a ridge part the Newton system is damped by DAMPING * min(violation /
# unit, 1) times each weight's curvature scale (see solve_working_set).
# benchmarks/bench_gate.py, large L1, CG products and Newton steps: 1 -> 544 /
# 68 gate on, 369 / 26 gate off; 0.1 -> 452 / 47 and 307 / 14; 0.01 -> 418 / 44
# and 244 / 12, but a Newton step of 1.9e3 in tests/test_solver.py (bound 1e3).
# 0.3 rather than 0.1: nearly separable fits (large C, real text's near-duplicate
# columns) took Newton directions of 1e2 to 1e4 that the line search cut to 1/32.
# benchmarks/count_passes.py --tol 1e-4, passes 0.1 -> 0.3: real binary C=10
# 544 -> 414 (4.05 -> 3.18 s), real 20 classes C=10 2,110 -> 1,775, generated
# 20,000 x 50,000 C=10 368 -> 309; at the benchmarks' C (2.24, 4.03) 52 -> 53 and
# 210 -> 213; but 100,000 x 500,000 C=1 51 -> 60 and real binary C=3 121 -> 139.
# The costly fits of a path or a search are the weakly regularised ones.
# Kept at 0.3 with the trust region (TRUST_GROWTH): 1.0 cut the hard fits'
# passes further (count_passes.py --tol 1e-4 --C 5,...,15, real binary mean 392 ->
# 343) but a gate-off fit of 5 classes, L1, C=857 (tools/soak.py agreement
# seed 9) then took over 500 Newton steps where 0.3 takes 221.
DAMPING = 0.3
# The damping is also scaled by a Levenberg-Marquardt factor that a full
# Newton step divides by LM_SHRINK and a line search that halves the step
# twice or more multiplies by LM_GROW (at most LM_MAX). The curvature scale is the
# largest possible curvature, which on confidently classified samples can be
# 1e6 times the true one: with a violation that stays high because the steps
# are small, the damping alone then held a pure-L1 fit with class weights
# {0: 1000, 1: 1e-4} (scikit-learn's check_class_weight_classifiers at
# C=5.6e3) to steps of 1e-6 of the Newton step for 1,000 iterations (now 7).
# CG products to a gap of 1e-6, L1, before / after: 20,000 x 50,000 311 / 304,
# 100,000 x 500,000 347 / 324, 20 classes 2,200 / 2,220, digits 840 / 843;
# LM_SHRINK=10: digits 1,021, 20 classes 2,588 (less damping, more CG).
# LM_MAX lets the damping grow past its starting level where cut steps show
# the Newton model is wrong: on near-duplicate columns (real text, L1) the
# model promised decreases of 15 times the objective and the steps were cut
# to 1/64 for rounds on end. benchmarks/count_passes.py, tol=1e-4, passes
# with LM_MAX = 1 / 100 (both with the line search's breakpoint step): real
# binary 599 / 520, real 20 classes 3,373 / 2,087 (main before both: 658 /
# 4,530); generated 20,000 x 50,000 and 100,000 x 500,000 L1 unchanged
# (46 and 210).
LM_SHRINK = 2.0
LM_GROW = 4.0
LM_MAX = 100.0
# CG stops where its iterate leaves a ball around the current point (in the
# Jacobi metric: sum_j H_jj dW_j^2), scaled back onto the ball, as Steihaug's
# truncated CG does in trust-region Newton methods (TRON). The radius is
# infinite for a fit's first step; after each accepted step it is that step's
# length, TRUST_GROWTH times it when the step was full, and the gate passes it
# on from one round's working set to the next (not to a settled working set's
# solve, nor to a finishing step: those take full Newton steps). Without it
# a direction could grow without bound from one Newton step to the next, and
# on nearly separable data (pure L1 at large C) it did: a full step, then one
# the line search cut to 1/16 after CG had paid for all of it.
# benchmarks/count_passes.py --tol 1e-4 --C 5,6,7,8,9,10,11,12,13,15, pure L1,
# mean passes on the real binary workload: 478 without, 392 with (9 of 10 fits
# fewer); generated 20,000 x 50,000, C = 4 to 28 (7 fits): 396 / 392;
# elastic net, L2, 20 classes and 100,000 x 500,000: unchanged or
# fewer. A growth of 1 or 4 gave the same; no cap after full steps, none.
# Those figures restart each round at an infinite radius; passed on from round
# to round, the means fall further: real binary 392 -> 360 (6 of 10 fits
# fewer), generated 392 -> 363 (6 of 7), 100,000 x 500,000 at C = 1, 3, 10
# 365 -> 277 (3 of 3), real 20 classes at C = 3, 10, 30 1,803 -> 1,410 (1 of
# 3: 174 -> 237, 1,598 -> 1,735, 3,637 -> 2,258). Passed on to settled working
# sets too, a 3-class shared-support L1 fit at C=433 stalled at a gap of
# 1e-11 (tests/test_path.py). A fit on all features (gate off, or no L1 part)
# takes one Newton step per call and keeps an infinite radius: passed on from
# call to call, it made a gate-off 5-class L1 fit (tools/soak.py agreement
# seed 9) take 305 Newton steps instead of 221.
TRUST_GROWTH = 2.0


@dataclass
class State:
    """The iterate on a block: weights, intercept, predictor, loss derivatives."""

    W: np.ndarray
    b: np.ndarray
    Z: np.ndarray
    loss_value: float
    R: np.ndarray
    curvature: object

    @classmethod
    def at(cls, problem, W, b, Z):
        """Return the state at ``(W, b)`` whose linear predictor is ``Z``."""
        return cls(W, b, Z, *problem.loss.derivatives(problem.Y, Z, problem.s))

    def move(self, problem, W, b, Z, derivatives=None, loss_value=None):
        """Move this state to ``(W, b)`` with predictor ``Z``, in place.

        The arrays are replaced, never written into; the old ones are let go
        before the new loss derivatives are made (unless given, or only their
        ``loss_value``), so two iterates are never held at once.
        """
        self.W, self.b, self.Z = W, b, Z
        if derivatives is None:
            self.R = self.curvature = None
            derivatives = problem.loss.derivatives(problem.Y, Z, problem.s,
                                                   value=loss_value)
        self.loss_value, self.R, self.curvature = derivatives


@dataclass(frozen=True)
class SolverResult:
    """What :func:`solve_working_set` returns.

    ``dual`` is the :class:`~chinchilla_sklearn._objective.DualPoint` of the
    block's problem at ``state`` (None without a penalty); ``scores`` the
    violation of each of the block's features, ``violation`` the largest
    (the intercept's included). ``finished``: the last step was an exact
    Newton step from a point already certified (:func:`_newton_dual`), which
    is what a finishing step is (not when the line search failed and a
    proximal-gradient step was taken instead). ``radius``: the trust region's
    radius for a next solve (TRUST_GROWTH).
    """

    state: State
    G: np.ndarray
    n_steps: int
    violation: float
    dual: object = None
    scores: np.ndarray = None
    finished: bool = False
    radius: float = np.inf

    @property
    def progress(self):
        """The stopping value: the relative duality gap, or the violation."""
        return self.violation if self.dual is None else self.dual.gap


def solve_working_set(problem, block, state, tol, max_steps, G=None, dual=None,
                      targets=None, exact=False, damping_unit=1.0,
                      damping_scale=None, reduction=None, groups=None,
                      newton_dual=False, radius=np.inf):
    """Minimise the objective over the block's weights and the intercept.

    Parameters
    ----------
    problem : Problem
    block : Block
        The working-set columns of ``X``.
    state : State
        The starting point; ``state.W`` has one row per block column. It is
        moved to each new iterate in place (:meth:`State.move`), so the
        caller's reference follows the solver and the memory of the previous
        iterates is freed.
    tol : float
        Stop when the relative duality gap of the problem restricted to the
        block is at most ``tol`` (without a penalty: the largest scaled
        violation on the block).
    max_steps : int
        Largest number of Newton steps.
    G : ndarray, default=None
        The smooth gradient at the starting point on the block, if known; it
        is overwritten with the gradients of the next iterates.
    dual : DualPoint, default=None
        The dual point of the block's problem at the starting point, if known.
    targets : TargetCorrelations, default=None
        Those of the block's columns; needed with an intercept and a penalty
        (:func:`~chinchilla_sklearn._objective.dual_point`).
    exact : bool, default=False
        Solve each Newton system to a relative residual that shrinks with the
        violation (near-quadratic convergence, for a finishing step).
    damping_unit : float, default=1.0
        Violation at which the damping is largest (DAMPING times each weight's
        curvature scale); it falls with the violation measured in this unit
        (the violation at the start of the fit), whatever the scale of the
        features.
    damping_scale : ndarray of shape (n_columns, 1 or n_outputs), default=None
        Each weight's largest possible curvature, ``sum_i s_i x_ij^2 / 4``
        (``p (1 - p) <= 1/4``), the unit of the damping without a ridge part;
        computed from the block when None. Scaling by the current curvature
        instead leaves the weights of confidently classified samples, whose
        curvature underflows, undamped: their Newton steps then overflow.
    reduction : float, default=None
        Also stop only once the progress is at most ``reduction`` times its
        value at the start: a working set whose own gap is already below
        ``tol`` still makes progress (its gap can be far below the whole
        problem's, which the features outside it make).
    groups : NearDuplicates or callable, default=None
        Groups of near-duplicate columns of the block: CG is then
        preconditioned by the inverse of each group's Hessian block
        (:mod:`~chinchilla_sklearn._groups`) instead of the diagonal alone. A
        callable makes them (or returns None) and is called once a Newton
        system takes more than GROUPS_AFTER_CG CG iterations.
    newton_dual : bool, default=False
        Once an exactly solved Newton step predicts a gap within ``tol``
        (:func:`_newton_dual`), certify the point with the dual point of the
        step; the step is then taken as the finishing step.
    radius : float, default=np.inf
        The trust region of the first Newton step's conjugate gradients (a
        previous solve's ``SolverResult.radius``; TRUST_GROWTH).

    Returns
    -------
    SolverResult
    """
    penalty = problem.penalty
    n_steps = 0
    if penalty.l2 == 0 and damping_scale is None:
        damping_scale = curvature_scale(problem, block)
    marquardt = 1.0
    certified = None  # the Newton dual point that certified the last iterate
    finished = False  # and the Newton step from it was taken
    while True:
        # 1. optimality on the block
        if G is None:
            G = block.rmatmul(state.R)
            G += penalty.l2 * state.W
        elif n_steps > 0:  # into the given array: the caller's copy is not kept
            G[...] = block.rmatmul(state.R)
            G += penalty.l2 * state.W
        gb = intercept_gradient(problem, state.R)
        V, scores, violation = optimality(problem, state.W, G, gb)
        if n_steps > 0 or dual is None:  # the gap: needed unless it cannot stop
            dual = (dual_point(problem, state, G - penalty.l2 * state.W, targets)
                    if problem.has_dual and (tol > -np.inf or n_steps == max_steps)
                    else None)
        if certified is not None:  # a lower bound still, and the larger one
            if dual is None or certified.value > dual.value:
                primal = objective_value(problem, state.loss_value, state.W)
                dual = replace(certified, gap=relative_gap(primal, certified.value))
            return SolverResult(state, G, n_steps, violation, dual, scores,
                                finished=finished, radius=radius)
        result = SolverResult(state, G, n_steps, violation, dual, scores,
                              radius=radius)
        if n_steps == 0 and reduction is not None:
            tol = min(tol, reduction * result.progress)
        if result.progress <= tol or n_steps == max_steps:
            return result
        del result, dual
        state.R = None  # not needed until the next iterate: a vector freed
        # 2. the face and 3. the Newton direction on it
        orthant = penalty.orthant(state.W, V) if penalty.l1 > 0 else None
        free = penalty.free(orthant) if penalty.l1 > 0 else True
        forcing = CG_FORCING
        if exact:
            forcing = max(min(CG_FORCING, violation), CG_FORCING_MIN)
        # without a ridge part the Hessian can be singular (more features than
        # samples; softmax shifts): Levenberg-Marquardt damping that vanishes
        # with the violation keeps the step bounded and the convergence quadratic
        damping = (DAMPING * marquardt * min(violation / damping_unit, 1.0)
                   if penalty.l2 == 0 else 0.0)
        system = _NewtonSystem(problem, block, state, damping, damping_scale,
                               None if callable(groups) else groups)
        start = None
        for n_solves in range(1, MAX_FACE_SOLVES + 1):
            dW, db = system.solve(V if free is True else V * free, gb, free, forcing,
                                  start, radius)
            if orthant is None:
                break
            leaving = penalty.leaving(state.W, orthant, dW)
            if not leaving.any():
                break
            # entering weights whose step points out of their orthant stay at
            # zero. When the part of the step they carry is large, the rest
            # is no longer a Newton step (measured on a 3-class elastic net:
            # curvature along it 800 times the model's, line-search steps of
            # 3e-5 for 500 rounds), so it is solved again without them, from
            # the aligned step
            removed = system.diagonal_energy(np.where(leaving, dW, 0))
            dW = np.where(leaving, 0, dW)
            slope = -float(np.vdot(V, dW) + np.vdot(gb, db))
            if removed <= FACE_RATIO * slope or n_solves == MAX_FACE_SOLVES:
                break
            orthant = np.where(leaving, 0, orthant).astype(orthant.dtype, copy=False)
            free = penalty.free(orthant)
            start = (dW, db)
        if callable(groups) and system.n_cg > GROUPS_AFTER_CG:
            groups = groups()  # for the next steps: this CG was slow
        direct = system.direct
        metric = None if direct else system.inv_diagonal  # (the trust radius's)
        del system
        if newton_dual and direct and problem.has_dual:
            certified = _newton_dual(problem, block, state, V, gb, dW, db, tol,
                                     targets)
        # 4. line search, or a proximal-gradient step when it fails
        trial = _line_search(problem, block, state, V, gb, dW, db, orthant)
        if metric is not None and trial is not None:  # the accepted step's length
            radius = (TRUST_GROWTH if trial[4] == 1.0 else 1.0) * trial[4] * (
                _metric_norm((dW, db), metric))
        del dW, V
        step = trial[4] if trial is not None else 0.0
        if step == 1.0:
            marquardt /= LM_SHRINK
        elif step < 0.5:
            marquardt = min(marquardt * LM_GROW, LM_MAX)
        finished = certified is not None and trial is not None
        if trial is None:
            trial = _proximal_gradient_step(problem, block, state, G, gb)
        if trial is None:  # no decrease is possible in floating point
            state.move(problem, state.W, state.b, state.Z)  # R again
            dual = certified
            if dual is None and problem.has_dual:
                dual = dual_point(problem, state, G - penalty.l2 * state.W, targets)
            return SolverResult(state, G, n_steps, violation, dual, scores,
                                radius=radius)
        state.move(problem, *trial[:4], loss_value=trial[5])
        del trial  # the previous Z: freed
        # 5. the intercept made optimal for the new weights (no pass over X):
        # the dual point then needs almost no balancing, whose cost in the gap
        # is first order on nearly separable data (breast cancer, L2: a gap of
        # 1e-4 where the objective was 1e-9 from its minimum); passes to a gap
        # of 1e-6, before / after: breast cancer L2 179 / 135, digits L2 331 /
        # 298, digits L1 906 / 648, 20,000 x 50,000 L1 gate off 372 / 267.
        # Not above POLISH_MAX_OUTPUTS: each of its steps allocates and makes
        # two (n_samples, n_outputs) arrays, the cost and memory of a trial point.
        # Not after a full step of an exact Newton solve either: that solve
        # bordered the system with the intercept, whose gradient is then of
        # second order, and the polish took 2 to 3 loss evaluations a step for
        # no fewer steps (breast cancer L2: 8 Newton steps either way, 4.9 /
        # 4.4 ms a fit; L1 4 steps, 7.2 / 6.6 ms)
        polished = (polish_intercept(problem, state, POLISH_STEPS)
                    if problem.Y.shape[1] <= POLISH_MAX_OUTPUTS
                    and not (direct and step == 1.0) else state)
        if polished is not state:
            state.move(problem, polished.W, polished.b, polished.Z,
                       (polished.loss_value, polished.R, polished.curvature))
        del polished
        n_steps += 1


def _newton_dual(problem, block, state, V, gb, dW, db, tol, targets):
    """Return the dual point of the Newton step if it certifies ``state``, or None.

    The residual ``R`` at ``state`` makes a dual point whose gap is first
    order in the distance to the optimum: on breast cancer (L2) it was 1.5e-4
    where the objective was 8e-7 from its minimum, so the fit took one more
    step to certify a point it had already reached. The residual the step
    predicts, ``R + curvature * (X @ dW + db)``, is second order, and so is
    the gap of its dual point. It is built only once the Newton decrement
    (half the step's slope, the objective's predicted decrease) is within
    ``tol``: an extra product each way over the block, and ``R`` made again
    from ``Z`` (the solver freed it), for an exactly solved system (one
    output, a small block). The predicted probabilities are
    clipped to [0, 1] (the linearisation overshoots on saturated samples); the
    dual point is then balanced, scaled and valued as any other
    (:func:`~chinchilla_sklearn._objective.dual_point`): gap 8.049e-7 there.
    """
    F = objective_value(problem, state.loss_value, state.W)
    decrease = -0.5 * float(np.vdot(V, dW) + np.vdot(gb, db))
    if not decrease <= tol * abs(F):
        return None
    Zd = block.matmul(dW)
    Zd += db
    _, R, _ = problem.loss.derivatives(problem.Y, state.Z, problem.s,
                                       value=state.loss_value)
    theta = R + problem.loss.hessian_product(state.curvature, Zd)
    # into the conjugate's domain (probabilities in [0, 1]): a saturated sample
    # whose predicted probability overshoots is put at its limit
    s = _columns(problem.s)
    np.clip(theta, -s * problem.Y, s * (1 - problem.Y), out=theta)
    dual = dual_point(problem, replace(state, R=theta), block.rmatmul(theta),
                      targets)
    return dual if dual.gap <= tol else None


def curvature_scale(problem, block):
    """Return ``sum_i s_i x_ij^2 / 4``: each weight's largest possible curvature."""
    return 0.25 * block.squared_rmatmul(_columns(problem.s))


def polish_intercept(problem, state, max_steps=20):
    """Return the state with the intercept optimal for the current weights.

    Up to ``max_steps`` Newton steps on the intercept alone, each kept only if
    it lowers the loss; they touch only ``Z``, never ``X``. The dual point
    then needs almost no balancing for the intercept (``dual_point``).
    """
    if not problem.fit_intercept:
        return state
    for _ in range(max_steps):
        step = problem.loss.intercept_step(state.R, state.curvature)
        if np.abs(step).max() <= 1e-12 * (1 + np.abs(state.b).max()):
            break
        candidate = State.at(problem, state.W, state.b + step, state.Z + step)
        if candidate.loss_value > state.loss_value:
            break
        state = candidate
    return state


class _NewtonSystem:
    """The Newton system at a state: Hessian products and the preconditioner.

    The Hessian of the weights gets ``damping`` times the larger of its
    diagonal and ``damping_scale`` added (Marquardt). The Jacobi
    preconditioner is made in float64 (squares of float32 data above ~1e19
    overflow float32), once per state: the face may change between solves.
    It is made when first needed (a pass over the block): an exact solve
    without damping never needs it. With ``groups``
    (:class:`~chinchilla_sklearn._groups.NearDuplicates`) the free weights of
    each group get the inverse of their Hessian block instead (block Jacobi),
    made per solve, on its face.
    """

    def __init__(self, problem, block, state, damping, damping_scale, groups=None):
        self.problem, self.block, self.state = problem, block, state
        self.damping, self.damping_scale = damping, damping_scale
        self.groups = groups
        self.n_cg = 0  # Hessian products of CG, over all solves
        self.direct = False  # whether the last solve was exact (not CG)
        self._gram = None  # the free columns and Gram matrix of the first exact solve

    @property
    def ridge(self):
        """Return what the weights' Hessian gets added: ``l2``, plus the damping."""
        return self.problem.penalty.l2 if self.damping == 0 else self._diagonals[0]

    @property
    def inv_diagonal(self):
        """Return the Jacobi preconditioner: 1 / the Hessian's diagonal (W, b)."""
        return self._diagonals[1]

    @cached_property
    def _diagonals(self):
        """Return the ridge and the preconditioner (a pass over the block)."""
        problem, state = self.problem, self.state
        penalty, damping = problem.penalty, self.damping
        h = problem.loss.hessian_diagonal(state.curvature)
        inv_W = self.block.squared_rmatmul(h)  # float64, a new array: made in place
        inv_W += penalty.l2
        if penalty.group:
            inv_W += penalty.curvature(state.W)
        ridge = penalty.l2
        if damping > 0:
            damping_W = damping * (inv_W if self.damping_scale is None
                                   else np.maximum(inv_W, self.damping_scale))
            inv_W += damping_W
            ridge = penalty.l2 + damping_W
        inv_b = (h.sum(axis=0, dtype=np.float64) if problem.fit_intercept
                 else np.ones(h.shape[1]))
        # the floor keeps 1 / diagonal finite when the curvature underflows
        # (separable data without a penalty): 1 / tiny is below the float64 maximum
        tiny = max(1e-12 * max(inv_W.max(initial=0.0), inv_b.max(initial=0.0)),
                   np.finfo(np.float64).tiny)
        for diagonal in (inv_W, inv_b):
            np.maximum(diagonal, tiny, out=diagonal)
            np.divide(1.0, diagonal, out=diagonal)
        return ridge, (inv_W, inv_b)

    def solve(self, V, gb, free, forcing, start=None, radius=np.inf):
        """Return the direction ``(dW, db)`` on the free weights and the intercept.

        CG from ``start`` (default zero) to a relative residual of ``forcing``
        (truncated Newton [3]), or to the boundary of the trust region of
        ``radius`` (TRUST_GROWTH); ``V`` is zero outside ``free``. A system of one
        output whose Hessian is cheap to form (DIRECT_MAX_FLOPS) is solved
        exactly instead (:meth:`_solve_directly`).
        """
        problem, block, state = self.problem, self.block, self.state
        loss, penalty = problem.loss, problem.penalty
        self.direct = self._direct(free)
        if self.direct:
            return self._solve_directly(V, gb, free)

        def hessian_product(dW, db, out):
            self.n_cg += 1
            Zd = block.matmul(dW)
            Zd += db
            T = loss.hessian_product(state.curvature, Zd)
            # (l2 + damping) * dW + X.T @ T (+ the group Hessian), into out
            HW, Hb = out
            np.multiply(dW, self.ridge, out=HW, casting="same_kind")
            HW += block.rmatmul(T)
            if penalty.group:
                HW += penalty.hessian_product(state.W, dW)
            if free is not True:
                HW *= free
            Hb[...] = T.sum(axis=0) if problem.fit_intercept else 0

        blocks = (None if self.groups is None else
                  self.groups.preconditioner(
                      loss.hessian_diagonal(state.curvature), self.inv_diagonal[0],
                      free))
        return _conjugate_gradient(hessian_product, (-V, -gb), self.inv_diagonal,
                                   forcing, start, blocks, radius)

    def _direct(self, free):
        """Whether to solve the system exactly: one output, a Hessian cheap to form."""
        W, X = self.state.W, self.block.X
        n_free = W.shape[0] if free is True else int(np.count_nonzero(free))
        return W.shape[1] == 1 and X.shape[0] * n_free**2 <= DIRECT_MAX_FLOPS

    def _solve_directly(self, V, gb, free):
        """Solve the Newton system on the free weights and the intercept exactly.

        The Hessian ``X_F.T @ diag(h) @ X_F`` of the free columns ``F`` (plus
        the ridge and damping), bordered by the intercept's row, is formed
        (one product with ``|F|`` columns, at BLAS speed), scaled by its
        diagonal and factored by Cholesky. Breast cancer (30 features), L2:
        38 products a fit instead of 135, the CG iterations (a dozen small
        array operations each) gone. A system that is not positive definite
        (curvature that underflowed) is solved by least squares.
        """
        problem = self.problem
        columns = None if free is True else np.flatnonzero(free[:, 0])
        if columns is not None and columns.size == 0 and not problem.fit_intercept:
            return np.zeros_like(V), np.zeros(1, dtype=gb.dtype)  # nothing free
        h = problem.loss.hessian_diagonal(self.state.curvature)[:, 0]
        H = self._bordered_gram(h, columns, problem.fit_intercept)
        n = V.shape[0] if columns is None else columns.size
        rows = slice(None) if columns is None else columns
        ridge = self.ridge
        diagonal = H.reshape(-1)[::H.shape[0] + 1]  # a view: writes into H
        diagonal[:n] += ridge[rows, 0] if np.ndim(ridge) else ridge
        rhs = np.empty(H.shape[0])
        rhs[:n] = V[rows, 0]
        rhs[n:] = gb[:1] if problem.fit_intercept else 0  # (no entry without)
        np.negative(rhs, out=rhs)
        # Jacobi scaling first, as CG's preconditioner: features of scale 1e12
        # beside the intercept would otherwise make H look singular
        scale = np.maximum(diagonal, np.finfo(np.float64).tiny)
        np.sqrt(scale, out=scale)
        np.divide(1.0, scale, out=scale)
        H *= scale
        H *= scale[:, None]
        rhs *= scale
        # LAPACK's Cholesky solve, called as it is: numpy's and scipy's
        # wrappers cost more than the solve (31 x 31: 10 and 14 us against 4)
        _, step, info = dposv(H, rhs)
        if info != 0:  # not positive definite: least squares
            step = np.linalg.lstsq(H, rhs, rcond=None)[0]
        step *= scale
        dW = np.zeros_like(V)
        dW[rows, 0] = step[:n]
        db = (step[n:] if problem.fit_intercept else np.zeros(1)).astype(gb.dtype)
        return dW, db

    def _bordered_gram(self, h, columns, border):
        """Return the Gram matrix of the free ``columns`` (bordered), a new array.

        A face solved again keeps some of the free columns of the first solve
        at this state: its matrix is taken from that one's (breast cancer,
        elastic net: 13 Gram matrices a fit -> 8).
        """
        if self._gram is not None and columns is not None:
            first_columns, first = self._gram
            index = np.searchsorted(first_columns, columns)
            if np.array_equal(first_columns[np.minimum(index, first_columns.size - 1)],
                              columns):
                if border:
                    index = np.append(index, first.shape[0] - 1)
                return first[np.ix_(index, index)]
        H = self.block.gram(h, columns, border=border)
        if columns is not None:
            self._gram = columns, H.copy()
        return H

    def diagonal_energy(self, dW):
        """Return ``dW . diag(H) dW``, the diagonal part of the curvature of ``dW``."""
        return _metric_energy((dW,), self.inv_diagonal)


def _conjugate_gradient(hessian_product, rhs, inv_diag, forcing, start=None,
                        blocks=None, radius=np.inf):
    """Preconditioned CG on pairs of arrays (weights, intercept), in place.

    Four pairs of arrays of the weights' shape and dtype: the solution ``x``,
    the residual ``r`` (``rhs``, overwritten), the direction ``p`` and ``q``,
    which holds ``H p``, then ``alpha * p``, then the preconditioned residual
    ``z``. ``hessian_product(dW, db, out)`` writes into ``out``. ``start``, a
    pair, is the first ``x`` (updated in place; zero when None); the stopping
    residual is relative to ``rhs`` either way. ``blocks`` (a
    :class:`~chinchilla_sklearn._groups.BlockJacobi`) replaces the diagonal on
    the weights of its groups. An iterate longer than ``radius`` (in the
    metric of the diagonal, :func:`_metric_norm`) is scaled back to it and
    returned (Steihaug).
    """

    def dot(x, y):
        return float(np.vdot(x[0], y[0]) + np.vdot(x[1], y[1]))

    def precondition(out):  # z = r * inv_diag, in the dtype of r
        for zi, ri, di in zip(out, r, inv_diag):
            np.multiply(ri, di, out=zi, casting="same_kind")
        if blocks is not None:
            blocks.apply(r[0], out[0])
        return out

    r = rhs
    q = precondition(tuple(np.empty_like(ri) for ri in r))
    rz = dot(r, q)
    # the residual is measured in the preconditioner's norm, so weights and
    # intercept count alike whatever the scale of the features
    stop = forcing**2 * rz
    if start is None:
        x = tuple(np.zeros_like(ri) for ri in r)
    else:  # r = rhs - H x
        x = start
        hessian_product(*x, out=q)
        for ri, qi in zip(r, q):
            ri -= qi
        rz = dot(r, precondition(q))
    p = tuple(qi.copy() for qi in q)
    for _ in range(MAX_CG_ITER):
        if rz <= stop:
            break
        hessian_product(*p, out=q)
        curvature = dot(p, q)
        if not curvature > 0:  # also when it is not finite
            break
        alpha = rz / curvature
        for xi, ri, pi, qi in zip(x, r, p, q):
            qi *= alpha  # r -= alpha * H p
            ri -= qi
            np.multiply(pi, alpha, out=qi)  # x += alpha * p
            xi += qi
        if radius < np.inf:  # onto the trust region's boundary, and stop
            norm = _metric_norm(x, inv_diag)
            if norm >= radius:
                for xi in x:
                    xi *= radius / norm
                break
        precondition(q)
        rz, rz_old = dot(r, q), rz
        for pi, qi in zip(p, q):  # p = z + beta * p
            pi *= rz / rz_old
            pi += qi
    if not np.any(x[0]) and not np.any(x[1]):
        # no curvature information: fall back to the scaled gradient
        return precondition(q)
    return x


def _metric_energy(x, inv_diag):
    """Return ``sum x^2 / inv_diag`` over the arrays of ``x`` (the Jacobi metric)."""
    return float(sum(np.sum(xi * xi / di) for xi, di in zip(x, inv_diag)))


def _metric_norm(x, inv_diag):
    """Return the length of the pair ``x`` in the Jacobi metric."""
    return float(np.sqrt(_metric_energy(x, inv_diag)))


def _line_search(problem, block, state, V, gb, dW, db, orthant):
    """Backtrack along ``(dW, db)`` with the orthant projection.

    Halving goes on while the trial points are projected; the first trial
    below the breakpoint (the longest step on which no non-zero weight
    changes sign) is the breakpoint itself, the first weight to reach zero
    set to zero there. Projected steps make the early face changes in bulk,
    but near the end a projected step can fail where it matters:
    near-duplicate columns move against each other along a flat direction
    and zeroing one leaves the other's move uncompensated. Halving down to
    the first unprojected step then crept up on the breakpoint over several
    Newton steps (real binary L1 at C=10: steps of 1/16, 1/32, 1/64 on a
    fixed face, 100 CG iterations each); the breakpoint puts the weight at
    zero in one.

    Returns ``(W, b, Z, derivatives, step, loss_value)`` of the accepted
    point (``derivatives`` None unless they were made here), or None on
    failure.
    The trial points are computed into two arrays made once.
    """
    penalty, loss = problem.penalty, problem.loss
    F0 = objective_value(problem, state.loss_value, state.W)
    slope = float(np.vdot(V, dW) + np.vdot(gb, db))
    if not slope < 0:
        return None
    Zd = block.matmul(dW)
    Zd += db
    W_step, Z_step = np.empty_like(state.W), np.empty_like(state.Z)
    limit = _score_limit(problem, state.Z)
    step, first_zero, at_zero = 1.0, None, None
    for _ in range(MAX_BACKTRACKS):
        np.multiply(dW, step, out=W_step)  # W + step * dW
        W_step += state.W
        if step == first_zero:  # exactly zero there, not a rounding error
            W_step[at_zero] = 0
        b = state.b + step * db
        W = penalty.project(W_step, orthant) if orthant is not None else W_step
        projected = W is not W_step and not np.array_equal(W, W_step)
        if not projected:
            W = W_step
            Z = np.multiply(Zd, step, out=Z_step)  # Z + step * Zd
            Z += state.Z
        else:
            Z = block.matmul(W)
            Z += b
        if not _scores_in_range(Z, limit):
            step *= 0.5
            continue
        loss_value = loss.value(problem.Y, Z, problem.s)
        F = objective_value(problem, loss_value, W)
        if F <= F0 + ARMIJO * step * slope:
            return W, b, Z, None, step, loss_value
        if abs(F - F0) <= ROUNDING * np.finfo(Z.dtype).eps * abs(F0):
            # the change is below the objective's rounding error, so the Armijo
            # test cannot see it: accept the step if it reduces the violation
            # (as scikit-learn's NewtonSolver does)
            derivatives = loss.derivatives(problem.Y, Z, problem.s)
            R = derivatives[1]
            G = block.rmatmul(R)
            G += penalty.l2 * W
            V_new = penalty.pseudo_gradient(W, G)
            gb_new = intercept_gradient(problem, R)
            if np.abs(V_new).sum() + np.abs(gb_new).sum() < (
                np.abs(V).sum() + np.abs(gb).sum()
            ):
                return W, b, Z, derivatives, step, loss_value
        if projected and first_zero is None:
            first_zero, at_zero = penalty.breakpoint(state.W, orthant, dW)
        step *= 0.5
        if first_zero is not None and step < first_zero < 2 * step:
            step = first_zero
    return None


def _proximal_gradient_step(problem, block, state, G, gb):
    """One proximal-gradient step with backtracking; None if nothing decreases.

    Returns ``(W, b, Z, None, None, loss_value)``: :func:`_line_search`'s point.
    """
    penalty, loss = problem.penalty, problem.loss
    # the first step is 1 / the intercept's largest possible curvature (its
    # Lipschitz constant), then backtracking for the weights. The current
    # curvature is no guide: where it underflows (saturated samples) the first
    # step was 1e12, still ~1e3 after MAX_BACKTRACKS halvings, and the fallback
    # failed where the objective did decrease (found on a pure-L1 warm start)
    total_weight = float(_columns(problem.s).sum(axis=0).max())
    lipschitz = loss.curvature_bound * total_weight + penalty.l2
    smooth0 = state.loss_value + 0.5 * penalty.l2 * float(np.vdot(state.W, state.W))
    F0 = objective_value(problem, state.loss_value, state.W)
    step = 1.0 / lipschitz
    limit = _score_limit(problem, state.Z)
    for _ in range(MAX_BACKTRACKS):
        W = penalty.prox(state.W - step * G, step).astype(state.W.dtype, copy=False)
        b = state.b - step * gb if problem.fit_intercept else state.b
        Z = block.matmul(W) + b
        if not _scores_in_range(Z, limit):
            step *= 0.5
            continue
        loss_value = loss.value(problem.Y, Z, problem.s)
        dW, db = W - state.W, b - state.b
        model = (smooth0 + np.vdot(G, dW) + np.vdot(gb, db)
                 + (np.vdot(dW, dW) + np.vdot(db, db)) / (2 * step))
        smooth = loss_value + 0.5 * penalty.l2 * float(np.vdot(W, W))
        if smooth <= model and objective_value(problem, loss_value, W) < F0:
            return W, b, Z, None, None, loss_value
        step *= 0.5
    return None


def _score_limit(problem, Z):
    """Return the largest score a trial point may reach from scores ``Z``.

    Infinite with a penalty; without one, SCORE_SHARE * log(1 / tiny), or the
    largest score of ``Z`` when that is already beyond (a warm start): steps
    that bring the scores back are taken.
    """
    penalty = problem.penalty
    if penalty.l1 > 0 or penalty.l2 > 0:
        return np.inf
    limit = -SCORE_SHARE * np.log(np.finfo(Z.dtype).tiny)
    return max(limit, float(np.abs(Z).max(initial=0.0)))


def _scores_in_range(Z, limit):
    """Whether every score is finite and at most ``limit`` in magnitude."""
    return bool(-limit <= Z.min(initial=0.0) and Z.max(initial=0.0) <= limit)
