"""The Newton solver where the curvature of some weights underflows.

With a pure L1 penalty there is no ridge term to keep the Hessian positive
definite. A weight whose samples are all classified with huge margins has a
curvature ``sum_i p_i (1 - p_i) x_ij^2`` that underflows while its
pseudo-gradient stays at the L1 level: Marquardt damping proportional to that
curvature leaves it undamped, and its Newton step overflows (measured: 3e138
before the damping was scaled by each weight's largest possible curvature).
Such states arise on rare text features (a 100,000 x 500,000 benchmark fit
took 50 Newton steps of 250 CG iterations each in one round); a warm start
from saturated weights reproduces them on a small problem. Also here: the
precision of the loss of confidently classified samples, which the line search
relies on near the optimum.
"""

import warnings

import numpy as np
import pytest
from scipy.special import expit

import chinchilla_sklearn._solver as solver_module
from chinchilla_sklearn import ChinchillaClassifier
from chinchilla_sklearn._kernels import Block
from chinchilla_sklearn._loss import SigmoidLoss
from chinchilla_sklearn._objective import Problem, objective_value
from chinchilla_sklearn._penalty import Penalty


def _rare_features(n_samples=300, n_features=40, n_rare=5, seed=0):
    """Gaussian features, the first ``n_rare`` non-zero in ~2% of the samples."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    X[:, :n_rare] *= rng.random((n_samples, n_rare)) < 0.02
    y = (X @ rng.standard_normal(n_features)
         + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("gate", [True, False], ids=["gate_on", "gate_off"])
def test_newton_steps_stay_bounded_when_curvature_underflows(monkeypatch, gate):
    X, y = _rare_features()
    cold = ChinchillaClassifier(C=1.0, l1_ratio=1.0, tol=1e-8, gate=gate).fit(X, y)

    largest_step, fallbacks = [0.0], [0]
    solve = solver_module._NewtonSystem.solve
    proximal_step = solver_module._proximal_gradient_step

    def record_direction(*args):
        dW, db = solve(*args)
        largest_step[0] = max(largest_step[0], float(np.abs(dW).max()))
        return dW, db

    def record_fallback(*args):
        fallbacks[0] += 1
        return proximal_step(*args)

    monkeypatch.setattr(solver_module._NewtonSystem, "solve", record_direction)
    monkeypatch.setattr(solver_module, "_proximal_gradient_step", record_fallback)

    warm = ChinchillaClassifier(C=1.0, l1_ratio=1.0, tol=1e-8, gate=gate,
                                warm_start=True).fit(X, y)
    warm.coef_[0, :5] = 400.0  # margins of ~400: p (1 - p) ~ 1e-174
    warm.fit(X, y)

    assert np.isfinite(largest_step[0]) and largest_step[0] < 1e3
    assert fallbacks[0] == 0  # every Newton direction was a usable descent step
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-6)


def test_penalised_optimum_with_scores_beyond_underflow():
    """Separable data, pure L1, large C: the minimiser exists and is finite but
    its scores exceed log(1 / tiny) ~ 708, where a sample's residual underflows.
    The score bound that keeps unpenalised fits on separable data from reporting
    an underflowed gradient as convergence must not apply here: with it the fit
    stalled at violation 1.8e-4 for 500 iterations (found by a randomised
    comparison with scikit-learn). Optimality is checked from scratch: the
    subgradient condition of ``C * sum_i loss_i + ||w||_1`` (liblinear takes
    55 s to reach its iteration cap on this problem)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 10)) * np.repeat([10.0, 1.0, 0.1], [3, 4, 3])
    y = (X @ rng.standard_normal(10) > 0).astype(int)
    C = 1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = ChinchillaClassifier(C=C, l1_ratio=1, fit_intercept=False,
                                   tol=1e-10).fit(X, y)
    w = est.coef_[0]
    assert np.abs(X @ w).max() > 710
    gradient = C * X.T @ (expit(X @ w) - y)
    violation = np.where(w != 0, np.abs(gradient + np.sign(w)),
                         np.maximum(np.abs(gradient) - 1, 0))
    assert violation.max() < 1e-6  # measured 2e-11


@pytest.mark.parametrize("C_before, C_after", [(100.0, 50.0), (20.0, 80.0)])
def test_warm_start_near_the_optimum_is_not_held_at_full_damping(C_before, C_after):
    """Pure L1 on separable data, warm-started from the solution at another C.

    The damping is full while the violation is above its unit; were the unit the
    warm start's own (small) first violation, the steps would stay fully damped
    and the fit stalled (measured: violation ~1e-4 after 500 iterations, against
    5 iterations with the zero model's violation as the unit).
    """
    rng = np.random.default_rng(28)
    X = rng.standard_normal((140, 30)) * rng.choice([0.1, 1.0, 10.0], 30)
    X *= rng.random(X.shape) < 0.4
    y = (X @ (rng.standard_normal(30) * (rng.random(30) < 0.3)) > 0).astype(int)
    params = dict(l1_ratio=1.0, tol=1e-8, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm = ChinchillaClassifier(C=C_before, warm_start=True, **params).fit(X, y)
        warm.set_params(C=C_after).fit(X, y)
        cold = ChinchillaClassifier(C=C_after, **params).fit(X, y)
    assert warm.n_iter_ <= 20
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_loss_of_confident_samples_to_relative_precision(dtype):
    """A sample classified with margin m has loss log1p(exp(-m)) ~ exp(-m).

    Written as log1pexp(z) - y * z, the loss added and subtracted the score: its
    error was eps * |z| instead of eps * loss (1.3% at z = 30), and at C = 1e4,
    scores of ~800, the objective's rounding error hid a Newton step's decrease
    from the line search (the penalised fit above reached a KKT violation of 1e-5
    instead of 2e-11 once the solver took another path to it).
    """
    scores = np.array([30.0, -30.0, 12.0, -12.0, 0.5, -0.5, 800.0], dtype=dtype)
    labels = np.array([1, 0, 1, 0, 1, 0, 0], dtype=dtype)
    margins = np.where(labels == 1, scores, -scores).astype(np.float64)
    expected = np.logaddexp(0, -margins)  # float64 reference
    loss = SigmoidLoss()
    for z, y, reference in zip(scores, labels, expected):
        value = loss.value(np.array([[y]]), np.array([[z]]), np.ones(1, dtype=dtype))
        np.testing.assert_allclose(value, reference, rtol=4 * np.finfo(dtype).eps)


def test_proximal_fallback_decreases_where_the_curvature_underflows():
    """Every sample misclassified with a margin beyond 745: the gradient is large
    but the curvature is exactly zero. The fallback's first step came from that
    curvature (1 / 1e-12) and was still ~1e3 after its halvings, so it returned
    None where the objective does decrease (found on a pure-L1 warm start); it
    now starts from the intercept's largest possible curvature."""
    rng = np.random.default_rng(0)
    x0 = rng.choice([-1.0, 1.0], 40) * rng.uniform(1, 2, 40)
    X = np.column_stack([x0, rng.standard_normal((40, 3))])
    Y = (x0 > 0).astype(float)[:, None]
    problem = Problem(X, Y, np.ones(40), SigmoidLoss(), Penalty(1.0, 0.0), True)
    W, b = np.array([[-1000.0], [0.0], [0.0], [0.0]]), np.zeros(1)
    state = solver_module.State.at(problem, W, b, X @ W + b)
    assert not np.any(state.curvature)  # p (1 - p) underflows for every sample
    G = X.T @ state.R
    gb = state.R.sum(axis=0)
    trial = solver_module._proximal_gradient_step(problem, Block(X), state, G, gb)
    assert trial is not None
    W_new, b_new, Z_new = trial[:3]
    before = objective_value(problem, state.loss_value, W)
    after = objective_value(problem, problem.loss.value(Y, Z_new, problem.s), W_new)
    assert after < before


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_direct_newton_solve_equals_conjugate_gradients(monkeypatch, l1_ratio, fmt):
    """Small single-output systems are solved exactly (Cholesky) instead of by
    CG; both reach the same optimum (tight tol)."""
    from conftest import make_data

    X, y = make_data("binary", fmt)
    params = dict(C=0.5, l1_ratio=l1_ratio, tol=1e-12)
    direct = ChinchillaClassifier(**params).fit(X, y)
    monkeypatch.setattr(solver_module, "DIRECT_MAX_FLOPS", 0)
    cg = ChinchillaClassifier(**params).fit(X, y)
    np.testing.assert_allclose(direct.coef_, cg.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(direct.intercept_, cg.intercept_, rtol=0, atol=1e-8)
    assert direct.loss_curve_[-1] == pytest.approx(cg.loss_curve_[-1], rel=1e-12)


def test_breakpoint_is_where_the_first_nonzero_weight_reaches_zero():
    """Weight 0 (2, falling by 4) reaches zero at 0.5, weight 2 (-3, rising by
    12) at 0.25; weight 1 moves away from zero and weight 3 is zero. Group rows
    have none: a row leaves its face where it turns perpendicular to its
    direction, not at zero (zeroing it there moved the scores: tools/soak.py
    gate seeds 16 and 44, shared_support=True, gate on and off disagreed)."""
    penalty = Penalty(1.0, 0.0)
    W = np.array([[2.0], [-1.0], [-3.0], [0.0]])
    D = np.array([[-4.0], [-1.0], [12.0], [5.0]])
    orthant = penalty.orthant(W, -D)
    step, at_zero = penalty.breakpoint(W, orthant, D)
    assert step == 0.25
    np.testing.assert_array_equal(at_zero[:, 0], [False, False, True, False])
    assert penalty.breakpoint(W, orthant, np.abs(D) * np.sign(W))[0] == np.inf
    group = Penalty(1.0, 0.0, group=True)
    W = np.array([[1.0, 1.0], [2.0, 0.0]])
    D = np.array([[1.0, -1.0], [-8.0, 3.0]])
    assert group.breakpoint(W, group.orthant(W, -D), D)[0] == np.inf


@pytest.mark.parametrize("k", [3, 5, 10])
def test_line_search_stops_at_the_breakpoint_where_projected_steps_fail(k):
    """Two copies of a column, pure L1, both weights at 0.48 of the optimum's
    total: a step that moves one copy through zero (by k times its weight)
    and the other up fails wherever it is projected (the copy left at zero
    leaves the other's move uncompensated). The line search takes the
    breakpoint 1 / k, where the first copy is exactly zero, instead of halving
    below it (which left it at 1/4, 1/8 ... of its weight)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(60)
    X = np.column_stack([x, x])
    y = ((x + 0.5 * rng.standard_normal(60)) > 0).astype(float)
    best = ChinchillaClassifier(C=1.0, l1_ratio=1.0, fit_intercept=False,
                                tol=1e-12).fit(X, y).coef_.sum()
    problem = Problem(X, y[:, None], np.ones(60), SigmoidLoss(), Penalty(1.0, 0.0),
                      False)
    w = 0.48 * best
    W = np.array([[w], [w]])
    state = solver_module.State.at(problem, W, np.zeros(1), X @ W)
    V = problem.penalty.pseudo_gradient(W, X.T @ state.R)
    dW = np.array([[-k * w], [k * w + 0.04 * best]])
    trial = solver_module._line_search(problem, Block(X), state, V, np.zeros(1), dW,
                                       np.zeros(1), problem.penalty.orthant(W, V))
    assert trial is not None
    W_new, _, Z_new, _, step, loss_value = trial
    assert step == pytest.approx(1 / k, rel=1e-12)
    assert W_new[0, 0] == 0.0
    before = objective_value(problem, state.loss_value, W)
    # the loss value it returns is that of its point (the state's, once moved)
    assert loss_value == problem.loss.value(problem.Y, Z_new, problem.s)
    after = objective_value(problem, loss_value, W_new)
    assert after < before


def test_conjugate_gradients_stop_on_the_trust_region_boundary():
    """Within a large radius CG solves the system; with a small one it returns a
    point on the boundary (in the diagonal's metric), still a descent direction
    along which the quadratic model decreases."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 12))
    H = A.T @ A + 0.1 * np.eye(12)
    g = rng.normal(size=(12, 1))
    inv_diag = (1 / np.diag(H)[:, None], np.ones(1))

    def product(dW, db, out):
        out[0][...] = H @ dW
        out[1][...] = 0

    def solve(radius):
        rhs = (-g.copy(), np.zeros(1))
        return solver_module._conjugate_gradient(product, rhs, inv_diag, 1e-12,
                                                 radius=radius)

    exact = np.linalg.solve(H, -g)
    free = solve(np.inf)
    np.testing.assert_allclose(free[0], exact, rtol=1e-8)
    length = solver_module._metric_norm((exact, np.zeros(1)), inv_diag)
    assert solver_module._metric_norm(solve(2 * length), inv_diag) == pytest.approx(
        length, rel=1e-8)  # the solution lies inside: not cut
    short = solve(0.1 * length)
    assert solver_module._metric_norm(short, inv_diag) == pytest.approx(
        0.1 * length, rel=1e-12)
    model = float(g[:, 0] @ short[0][:, 0] + 0.5 * short[0][:, 0] @ H @ short[0][:, 0])
    assert model < 0
