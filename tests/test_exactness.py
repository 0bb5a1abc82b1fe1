"""ChinchillaClassifier solves scikit-learn's LogisticRegression problem exactly.

The reference is ``LogisticRegression`` at a tight tolerance (``reference_fit`` in
conftest.py); the objective is conftest's own ``objective``. The first tests check
these two helpers against scikit-learn, so that the comparisons below can be trusted.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    make_data,
    make_sample_weight,
    objective,
    reference_fit,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.utils.class_weight import compute_sample_weight

from chinchilla_sklearn import ChinchillaClassifier

C_VALUE = 0.5  # L1 at this C keeps some features and drops others (both datasets)
TOL = 1e-10
MAX_ITER = 500
OBJ_RTOL = 1e-6
COEF_RTOL = 1e-4

TASKS = ("binary", "multiclass")
L1_RATIOS = (0.0, 0.5, 1.0)
WEIGHTINGS = ("none", "sample_weight", "balanced", "dict")
# "balanced" together with sample weights counts weighted samples (sklearn >= 1.6).
ALL_WEIGHTINGS = (*WEIGHTINGS, "sample_weight+balanced")

# Fits that are asked for tol=1e-10 must reach it within MAX_ITER.
strict_convergence = pytest.mark.filterwarnings(
    "error::sklearn.exceptions.ConvergenceWarning"
)


def _weights(weighting, y):
    """(sample_weight, class_weight) for a weighting scheme."""
    if weighting == "none":
        return None, None
    if weighting == "sample_weight":
        return make_sample_weight(len(y)), None
    if weighting == "balanced":
        return None, "balanced"
    if weighting == "sample_weight+balanced":
        return make_sample_weight(len(y), seed=1), "balanced"
    if weighting == "dict":
        # Class 1 of the multiclass data is not in the dict: weight 1.
        return None, {0: 2.0, int(np.max(y)): 0.5}
    raise ValueError(weighting)


def _fit(X, y, sample_weight=None, **params):
    params = {"C": C_VALUE, "tol": TOL, "max_iter": MAX_ITER, **params}
    return ChinchillaClassifier(**params).fit(X, y, sample_weight=sample_weight)


def _centred(intercept):
    """Multiclass intercepts are defined up to a common shift: compare centred."""
    intercept = np.asarray(intercept, dtype=np.float64)
    return intercept - intercept.mean() if intercept.size > 2 else intercept


def _assert_same_solution(est, ref, rtol=COEF_RTOL):
    """coef_ and intercept_ of ``est`` equal those of ``ref``, relative to the
    largest reference coefficient."""
    scale = max(np.max(np.abs(ref.coef_)), np.max(np.abs(ref.intercept_)), 1e-12)
    assert est.coef_.shape == ref.coef_.shape
    assert est.intercept_.shape == ref.intercept_.shape
    assert_allclose(est.coef_, ref.coef_, rtol=rtol, atol=rtol * scale)
    assert_allclose(
        _centred(est.intercept_),
        _centred(ref.intercept_),
        rtol=rtol,
        atol=rtol * scale,
    )


def _objective_of(est, X, y, sample_weight=None, **params):
    return objective(
        est.coef_,
        est.intercept_,
        X,
        y,
        sample_weight=sample_weight,
        classes=est.classes_,
        **params,
    )


# ---------------------------------------------------------------------------
# Self-tests of the helpers (they use scikit-learn only, not the package).
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighting", ALL_WEIGHTINGS, ids=ALL_WEIGHTINGS)
@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_reference_minimises_objective(task, l1_ratio, weighting):
    """Moving any one coefficient of the reference off its value, either way,
    raises ``objective``: the helper's objective is the one the reference solves."""
    X, y = make_data(task)
    sample_weight, class_weight = _weights(weighting, y)
    params = dict(C=C_VALUE, l1_ratio=l1_ratio, class_weight=class_weight)
    ref = reference_fit(X, y, sample_weight=sample_weight, **params)

    def obj(coef, intercept):
        return objective(coef, intercept, X, y, sample_weight=sample_weight, **params)

    best = obj(ref.coef_, ref.intercept_)
    eps = 1e-4 * max(1.0, np.max(np.abs(ref.coef_)))
    for idx in np.ndindex(ref.coef_.shape):
        for step in (eps, -eps):
            coef = ref.coef_.copy()
            coef[idx] += step
            assert obj(coef, ref.intercept_) > best, (idx, step)
    for k in range(ref.intercept_.size):
        for step in (eps, -eps):
            intercept = ref.intercept_.copy()
            intercept[k] += step
            assert obj(ref.coef_, intercept) > best, (k, step)


@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=WEIGHTINGS)
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_objective_data_term_is_sklearn_log_loss(task, weighting):
    """With C=inf the objective is the summed, weighted log-loss of the model."""
    X, y = make_data(task)
    sample_weight, class_weight = _weights(weighting, y)
    ref = reference_fit(
        X,
        y,
        C=C_VALUE,
        l1_ratio=0.0,
        sample_weight=sample_weight,
        class_weight=class_weight,
    )
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    if class_weight is not None:
        s = s * compute_sample_weight(class_weight, y)
    expected = log_loss(
        y, ref.predict_proba(X), normalize=False, sample_weight=s, labels=ref.classes_
    )
    value = objective(
        ref.coef_,
        ref.intercept_,
        X,
        y,
        C=np.inf,
        l1_ratio=0.0,
        sample_weight=sample_weight,
        class_weight=class_weight,
    )
    assert_allclose(value, expected, rtol=1e-10)
    # The penalty is added on top of C times that sum.
    value_c = objective(
        ref.coef_,
        ref.intercept_,
        X,
        y,
        C=2.0,
        l1_ratio=0.25,
        sample_weight=sample_weight,
        class_weight=class_weight,
    )
    penalty = 0.375 * np.sum(ref.coef_**2) + 0.25 * np.sum(np.abs(ref.coef_))
    assert_allclose(value_c, 2.0 * expected + penalty, rtol=1e-10)


@pytest.mark.parametrize("fmt", ["csr", "csc"], ids=["csr", "csc"])
def test_objective_same_for_sparse_and_dense(fmt):
    X, y = make_data("multiclass")
    Xs, _ = make_data("multiclass", fmt)
    ref = reference_fit(X, y, C=C_VALUE, l1_ratio=0.5)
    params = dict(C=C_VALUE, l1_ratio=0.5)
    assert_allclose(
        objective(ref.coef_, ref.intercept_, Xs, y, **params),
        objective(ref.coef_, ref.intercept_, X, y, **params),
        rtol=1e-12,
    )


# ---------------------------------------------------------------------------
# The package against the reference.
# ---------------------------------------------------------------------------


@strict_convergence
@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=WEIGHTINGS)
@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
def test_matches_logistic_regression(l1_ratio, task, fmt, weighting):
    X, y = make_data(task, fmt)
    sample_weight, class_weight = _weights(weighting, y)
    params = dict(C=C_VALUE, l1_ratio=l1_ratio, class_weight=class_weight)
    ref = reference_fit(X, y, sample_weight=sample_weight, **params)
    est = _fit(X, y, sample_weight=sample_weight, **params)

    assert_array_equal(est.classes_, ref.classes_)
    ours = _objective_of(est, X, y, sample_weight, **params)
    theirs = _objective_of(ref, X, y, sample_weight, **params)
    assert ours <= theirs * (1 + OBJ_RTOL), (ours, theirs)
    _assert_same_solution(est, ref)
    if l1_ratio > 0:
        # The test problem has real sparsity: the reference drops some weights.
        assert 0 < np.count_nonzero(ref.coef_) < ref.coef_.size


@strict_convergence
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_sample_weight_with_balanced_class_weight(task, l1_ratio):
    """Both together: s_i = sample_weight_i * class_weight[y_i], "balanced"
    counting weighted samples as scikit-learn's compute_class_weight does."""
    X, y = make_data(task)
    sample_weight, class_weight = _weights("sample_weight+balanced", y)
    params = dict(C=C_VALUE, l1_ratio=l1_ratio, class_weight=class_weight)
    ref = reference_fit(X, y, sample_weight=sample_weight, **params)
    est = _fit(X, y, sample_weight=sample_weight, **params)
    ours = _objective_of(est, X, y, sample_weight, **params)
    theirs = _objective_of(ref, X, y, sample_weight, **params)
    assert ours <= theirs * (1 + OBJ_RTOL), (ours, theirs)
    _assert_same_solution(est, ref)


@strict_convergence
@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_no_penalty(fmt):
    """C=np.inf: plain (unpenalised) maximum likelihood on non-separable data."""
    X, y = make_data("binary", fmt)
    ref = reference_fit(X, y, C=np.inf, l1_ratio=0.0)
    est = _fit(X, y, C=np.inf, l1_ratio=0.0)
    ours = _objective_of(est, X, y, C=np.inf, l1_ratio=0.0)
    theirs = _objective_of(ref, X, y, C=np.inf, l1_ratio=0.0)
    assert ours <= theirs * (1 + OBJ_RTOL), (ours, theirs)
    _assert_same_solution(est, ref)


@strict_convergence
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
def test_no_intercept(l1_ratio, task):
    X, y = make_data(task)
    params = dict(C=C_VALUE, l1_ratio=l1_ratio, fit_intercept=False)
    ref = reference_fit(X, y, **params)
    est = _fit(X, y, **params)
    assert_array_equal(est.intercept_, np.zeros_like(ref.intercept_))
    params.pop("fit_intercept")
    ours = _objective_of(est, X, y, **params)
    theirs = _objective_of(ref, X, y, **params)
    assert ours <= theirs * (1 + OBJ_RTOL), (ours, theirs)
    _assert_same_solution(est, ref)


@pytest.mark.parametrize(
    "task, fmt, l1_ratio",
    [
        ("binary", "dense", 0.0),
        ("binary", "csr", 1.0),
        ("multiclass", "dense", 0.5),
        ("multiclass", "csc", 0.0),
    ],
    ids=["binary-dense-l2", "binary-csr-l1", "multiclass-dense-enet", "multi-csc-l2"],
)
def test_float32_input(task, fmt, l1_ratio):
    """float32 X gives float32 coefficients, close to the float64 fit."""
    X32, y = make_data(task, fmt, dtype=np.float32)
    X64, _ = make_data(task, fmt)
    est32 = _fit(X32, y, l1_ratio=l1_ratio, tol=1e-6)
    est64 = _fit(X64, y, l1_ratio=l1_ratio)
    assert est32.coef_.dtype == np.float32
    assert est32.intercept_.dtype == np.float32
    _assert_same_solution(est32, est64, rtol=1e-3)


@strict_convergence
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_unit_sample_weight_equals_none(task, l1_ratio):
    X, y = make_data(task)
    est_none = _fit(X, y, l1_ratio=l1_ratio)
    est_ones = _fit(X, y, sample_weight=np.ones(len(y)), l1_ratio=l1_ratio)
    _assert_same_solution(est_ones, est_none, rtol=1e-6)


@strict_convergence
@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_weight_two_equals_duplicated_rows(task, fmt, l1_ratio):
    X, y = make_data(task, fmt)
    rng = np.random.default_rng(42)
    doubled = np.zeros(len(y), dtype=bool)
    doubled[rng.choice(len(y), size=len(y) // 3, replace=False)] = True
    sample_weight = np.where(doubled, 2, 1)  # integer weights
    X_dup = (
        sp.vstack([X, X[doubled]]).tocsr()
        if sp.issparse(X)
        else np.vstack([X, X[doubled]])
    )
    y_dup = np.concatenate([y, y[doubled]])
    est_w = _fit(X, y, sample_weight=sample_weight, l1_ratio=l1_ratio)
    est_dup = _fit(X_dup, y_dup, l1_ratio=l1_ratio)
    _assert_same_solution(est_w, est_dup, rtol=1e-6)


@strict_convergence
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize(
    "fmt",
    ["csr", "csc", "csr_array", "csc_array"],
    ids=["csr", "csc", "csr_array", "csc_array"],
)
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_sparse_equals_dense(task, fmt, l1_ratio):
    X, y = make_data(task)
    Xs, _ = make_data(task, fmt)
    sample_weight = make_sample_weight(len(y), seed=3)
    est_dense = _fit(X, y, sample_weight=sample_weight, l1_ratio=l1_ratio)
    est_sparse = _fit(Xs, y, sample_weight=sample_weight, l1_ratio=l1_ratio)
    _assert_same_solution(est_sparse, est_dense, rtol=1e-6)


@strict_convergence
@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_warm_start(task, l1_ratio):
    """A second fit from the first solution reaches the same answer in no more
    iterations than a cold fit; a warm fit after changing C gives the cold answer."""
    X, y = make_data(task, "csr")
    cold = _fit(X, y, l1_ratio=l1_ratio)
    warm = ChinchillaClassifier(
        C=C_VALUE, l1_ratio=l1_ratio, tol=TOL, max_iter=MAX_ITER, warm_start=True
    )
    warm.fit(X, y)
    warm.fit(X, y)
    _assert_same_solution(warm, cold, rtol=1e-6)
    assert warm.n_iter_ <= cold.n_iter_

    # Along a path: from the solution at C/5 to the one at C.
    path = ChinchillaClassifier(
        C=C_VALUE / 5, l1_ratio=l1_ratio, tol=TOL, max_iter=MAX_ITER, warm_start=True
    ).fit(X, y)
    path.set_params(C=C_VALUE).fit(X, y)
    _assert_same_solution(path, cold, rtol=1e-6)


@pytest.mark.parametrize("l1_ratio", L1_RATIOS, ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_loss_curve(task, l1_ratio):
    X, y = make_data(task, "csr")
    sample_weight = make_sample_weight(len(y), seed=5)
    est = _fit(X, y, sample_weight=sample_weight, l1_ratio=l1_ratio)
    curve = np.asarray(est.loss_curve_, dtype=np.float64)
    assert curve.ndim == 1
    assert len(curve) == est.n_iter_
    assert est.n_iter_ >= 1
    assert np.all(np.isfinite(curve))
    # Non-increasing, up to rounding.
    assert np.all(curve[1:] <= curve[:-1] + 1e-12 * np.abs(curve[:-1])), curve
    # The last entry is the objective (DESIGN.md's scale) at the fitted solution.
    final = _objective_of(est, X, y, sample_weight, C=C_VALUE, l1_ratio=l1_ratio)
    assert_allclose(curve[-1], final, rtol=1e-8)


def test_convergence_warning():
    X, y = make_data("binary")
    est = ChinchillaClassifier(C=C_VALUE, tol=1e-10, max_iter=1)
    with pytest.warns(ConvergenceWarning, match=r"(?i)violation") as record:
        est.fit(X, y)
    assert est.n_iter_ == 1
    messages = [
        str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)
    ]
    # The warning gives the numbers (at least one).
    assert any(re.search(r"\d", msg) for msg in messages), messages


def test_verbose_prints_one_line_per_iteration(capsys):
    """Each outer iteration adds exactly one line (a fixed header or summary may
    come with them); verbose=0 prints nothing.

    The gate is off: each outer iteration is then one Newton step, so the two
    tolerances take different numbers of them (gated, this small problem fits
    in one working set, solved to either tolerance in one round)."""
    X, y = make_data("multiclass", "csr")
    n_lines, n_iter = [], []
    for tol in (1e-2, 1e-8):
        est = ChinchillaClassifier(C=C_VALUE, l1_ratio=0.5, tol=tol, gate=False,
                                   verbose=1)
        est.fit(X, y)
        out = capsys.readouterr().out
        n_lines.append(len([line for line in out.splitlines() if line.strip()]))
        n_iter.append(est.n_iter_)
        assert n_lines[-1] >= est.n_iter_ >= 1, out
    assert n_iter[0] < n_iter[1]  # the two fits differ in their iterations
    assert n_lines[1] - n_lines[0] == n_iter[1] - n_iter[0], (n_lines, n_iter)

    ChinchillaClassifier(C=C_VALUE, l1_ratio=0.5, tol=1e-8, verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""
