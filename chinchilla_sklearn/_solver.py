"""Solver for one working set: an orthant-wise (projected) Newton method.

On the columns of a :class:`~chinchilla_sklearn._kernels.Block`, each step

1. computes the pseudo-gradient ``V`` (minimum-norm subgradient) and stops
   when its largest entry, scaled, is at most the tolerance;
2. fixes the face of the non-smooth penalty the step may move in: non-zero
   weights keep their sign, zero weights that violate optimality enter against
   ``V``, the others stay at zero. On that face the objective is smooth;
3. solves the Newton system on the free weights and the intercept by
   preconditioned conjugate gradients (truncated Newton), with Hessian
   products ``X.T @ (H @ (X @ d))``;
4. backtracks along the step, projecting weights that cross zero back to zero
   (Armijo rule). Should that fail, a proximal-gradient step is taken instead,
   which always decreases the objective, so the method converges.

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

from dataclasses import dataclass

import numpy as np

from ._loss import _columns
from ._objective import intercept_gradient, objective_value, optimality

ARMIJO = 1e-4
ROUNDING = 16  # objective changes below ROUNDING * eps * |objective| are noise
MAX_BACKTRACKS = 30
MAX_CG_ITER = 250
# Each Newton system is solved by CG to a relative residual of CG_FORCING; on
# the finishing steps to min(CG_FORCING, violation), not below CG_FORCING_MIN
# (measured on benchmarks/bench_gate.py: tighter systems cost more CG products
# than the Newton steps they save).
CG_FORCING = 0.1
CG_FORCING_MIN = 1e-3


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


@dataclass(frozen=True)
class SolverResult:
    """What :func:`solve_working_set` returns."""

    state: State
    G: np.ndarray
    n_steps: int
    violation: float


def solve_working_set(problem, block, state, tol, max_steps, G=None, exact=False,
                      damping_unit=1.0):
    """Minimise the objective over the block's weights and the intercept.

    Parameters
    ----------
    problem : Problem
    block : Block
        The working-set columns of ``X``.
    state : State
        The starting point; ``state.W`` has one row per block column.
    tol : float
        Stop when the largest scaled violation on the block is at most ``tol``.
    max_steps : int
        Largest number of Newton steps.
    G : ndarray, default=None
        The smooth gradient at the starting point on the block, if known.
    exact : bool, default=False
        Solve each Newton system to a relative residual that shrinks with the
        violation (near-quadratic convergence, for the finishing steps).
    damping_unit : float, default=1.0
        Violation at which the damping is full; the damping falls with the
        violation measured in this unit (the violation at the start of the
        fit), whatever the scale of the features.

    Returns
    -------
    SolverResult
    """
    penalty = problem.penalty
    n_steps = 0
    # the damping's scale: each weight's largest possible curvature, sum_i s_i
    # x_ij^2 / 4 (p (1 - p) <= 1/4). Scaling by the current curvature instead
    # leaves the weights of confidently classified samples, whose curvature
    # underflows, undamped: their Newton steps then overflow
    damping_scale = (0.25 * block.squared_rmatmul(_columns(problem.s))
                     if penalty.l2 == 0 else None)
    while True:
        # 1. optimality on the block
        if G is None:
            G = block.rmatmul(state.R) + penalty.l2 * state.W
        gb = intercept_gradient(problem, state.R)
        V, _, violation = optimality(problem, state.W, G, gb)
        if violation <= tol or n_steps == max_steps:
            return SolverResult(state, G, n_steps, violation)
        # 2. the face and 3. the Newton direction on it
        orthant = penalty.orthant(state.W, V) if penalty.l1 > 0 else None
        free = penalty.free(orthant) if penalty.l1 > 0 else True
        forcing = CG_FORCING
        if exact:
            forcing = max(min(CG_FORCING, violation), CG_FORCING_MIN)
        # without a ridge part the Hessian can be singular (more features than
        # samples; softmax shifts): Levenberg-Marquardt damping that vanishes
        # with the violation keeps the step bounded and the convergence quadratic
        damping = min(violation / damping_unit, 1.0) if penalty.l2 == 0 else 0.0
        dW, db = _newton_direction(problem, block, state, V * free, gb, free,
                                   forcing, damping, damping_scale)
        if orthant is not None:
            dW = penalty.align(state.W, orthant, dW)
        # 4. line search, or a proximal-gradient step when it fails
        new_state = _line_search(problem, block, state, V, gb, dW, db, orthant)
        if new_state is None:
            new_state = _proximal_gradient_step(problem, block, state, G, gb)
        if new_state is None:  # no decrease is possible in floating point
            return SolverResult(state, G, n_steps, violation)
        state, G = new_state, None
        n_steps += 1


def polish_intercept(problem, state, max_steps=20):
    """Return the state with the intercept optimal for the current weights.

    Newton steps on the intercept alone touch only ``Z``, never ``X``. Safe
    screening needs this: its dual point is feasible only when the intercept
    gradient vanishes.
    """
    if not problem.fit_intercept:
        return state
    for _ in range(max_steps):
        step = problem.loss.intercept_step(state.R, state.curvature)
        candidate = State.at(problem, state.W, state.b + step, state.Z + step)
        if candidate.loss_value > state.loss_value:
            break
        state = candidate
        if np.abs(step).max() <= 1e-12 * (1 + np.abs(state.b).max()):
            break
    return state


def _newton_direction(problem, block, state, V, gb, free, forcing, damping,
                      damping_scale):
    """Solve the Newton system on the free weights and the intercept by PCG.

    The Hessian of the weights gets ``damping`` times the larger of its
    diagonal and ``damping_scale`` added (Marquardt). CG stops at a relative
    residual of ``forcing`` (truncated Newton [3]).
    """
    loss, penalty = problem.loss, problem.penalty
    fit_intercept = problem.fit_intercept
    h = loss.hessian_diagonal(state.curvature)
    diag_W = block.squared_rmatmul(h) + penalty.l2 + penalty.curvature(state.W)
    damping_W = damping * diag_W
    if damping and damping_scale is not None:
        damping_W = damping * np.maximum(diag_W, damping_scale)
    diag_W = diag_W + damping_W
    diag_b = h.sum(axis=0) if fit_intercept else np.ones_like(gb)
    tiny = 1e-12 * max(diag_W.max(initial=0.0), diag_b.max(initial=0.0), 1e-300)
    inv_diag = (1 / np.maximum(diag_W, tiny), 1 / np.maximum(diag_b, tiny))

    def hessian_product(dW, db):
        Zd = block.matmul(dW) + db
        T = loss.hessian_product(state.curvature, Zd)
        HW = (block.rmatmul(T) + (penalty.l2 + damping_W) * dW
              + penalty.hessian_product(state.W, dW))
        Hb = T.sum(axis=0) if fit_intercept else np.zeros_like(db)
        return HW * free, Hb

    return _conjugate_gradient(hessian_product, (-V, -gb), inv_diag, forcing)


def _conjugate_gradient(hessian_product, rhs, inv_diag, forcing):
    """Preconditioned CG on pairs of arrays (weights, intercept)."""

    def dot(x, y):
        return float(np.vdot(x[0], y[0]) + np.vdot(x[1], y[1]))

    x = (np.zeros_like(rhs[0]), np.zeros_like(rhs[1]))
    r = rhs
    z = (r[0] * inv_diag[0], r[1] * inv_diag[1])
    p = z
    rz = dot(r, z)
    # the residual is measured in the preconditioner's norm, so weights and
    # intercept count alike whatever the scale of the features
    stop = forcing**2 * rz
    for _ in range(MAX_CG_ITER):
        if rz <= stop:
            break
        Hp = hessian_product(*p)
        curvature = dot(p, Hp)
        if curvature <= 0:
            break
        alpha = rz / curvature
        x = (x[0] + alpha * p[0], x[1] + alpha * p[1])
        r = (r[0] - alpha * Hp[0], r[1] - alpha * Hp[1])
        z = (r[0] * inv_diag[0], r[1] * inv_diag[1])
        rz, rz_old = dot(r, z), rz
        p = (z[0] + rz / rz_old * p[0], z[1] + rz / rz_old * p[1])
    if not np.any(x[0]) and not np.any(x[1]):
        return z  # no curvature information: fall back to the scaled gradient
    return x


def _line_search(problem, block, state, V, gb, dW, db, orthant):
    """Backtrack along ``(dW, db)`` with the orthant projection; None on failure."""
    penalty = problem.penalty
    F0 = objective_value(problem, state.loss_value, state.W)
    slope = float(np.vdot(V, dW) + np.vdot(gb, db))
    if not slope < 0:
        return None
    Zd = block.matmul(dW) + db
    step = 1.0
    for _ in range(MAX_BACKTRACKS):
        W = state.W + step * dW
        projected = penalty.project(W, orthant) if orthant is not None else W
        if projected is W or np.array_equal(projected, W):
            Z = state.Z + step * Zd
        else:
            W = projected
            Z = block.matmul(W) + (state.b + step * db)
        loss_value = problem.loss.value(problem.Y, Z, problem.s)
        F = objective_value(problem, loss_value, W)
        if F <= F0 + ARMIJO * step * slope:
            return State.at(problem, W, state.b + step * db, Z)
        if abs(F - F0) <= ROUNDING * np.finfo(Z.dtype).eps * abs(F0):
            # the change is below the objective's rounding error, so the Armijo
            # test cannot see it: accept the step if it reduces the violation
            # (as scikit-learn's NewtonSolver does)
            candidate = State.at(problem, W, state.b + step * db, Z)
            G = block.rmatmul(candidate.R) + penalty.l2 * W
            V_new = penalty.pseudo_gradient(W, G)
            gb_new = intercept_gradient(problem, candidate.R)
            if np.abs(V_new).sum() + np.abs(gb_new).sum() < (
                np.abs(V).sum() + np.abs(gb).sum()
            ):
                return candidate
        step *= 0.5
    return None


def _proximal_gradient_step(problem, block, state, G, gb):
    """One proximal-gradient step with backtracking; None if nothing decreases."""
    penalty, loss = problem.penalty, problem.loss
    # the intercept's curvature as a first guess of the step, then backtracking
    h = loss.hessian_diagonal(state.curvature)
    lipschitz = max(float(h.sum(axis=0).max()), 1e-12) + penalty.l2
    smooth0 = state.loss_value + 0.5 * penalty.l2 * float(np.vdot(state.W, state.W))
    F0 = objective_value(problem, state.loss_value, state.W)
    step = 1.0 / lipschitz
    for _ in range(MAX_BACKTRACKS):
        W = penalty.prox(state.W - step * G, step).astype(state.W.dtype, copy=False)
        b = state.b - step * gb if problem.fit_intercept else state.b
        Z = block.matmul(W) + b
        loss_value = loss.value(problem.Y, Z, problem.s)
        dW, db = W - state.W, b - state.b
        model = (smooth0 + np.vdot(G, dW) + np.vdot(gb, db)
                 + (np.vdot(dW, dW) + np.vdot(db, db)) / (2 * step))
        smooth = loss_value + 0.5 * penalty.l2 * float(np.vdot(W, W))
        if smooth <= model and objective_value(problem, loss_value, W) < F0:
            return State.at(problem, W, b, Z)
        step *= 0.5
    return None
