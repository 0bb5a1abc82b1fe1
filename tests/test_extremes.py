"""Numerical extremes: finite results, valid probabilities, no overflow warnings.

Every fit here runs with ``RuntimeWarning`` as an error (overflow, invalid value,
division by zero inside numpy). Where a result can be predicted exactly, it is
checked: rescaling the features is a change of ``C`` (below), an intercept-only
model predicts the class frequencies, a feature that is constant or zero gets a
zero weight.

Rescaling: with ``X' = s X`` and ``w' = w / s`` the data term is unchanged and
the penalty becomes ``(1 - rho) / (2 s^2) ||w||^2 + rho / s ||w||_1``; dividing
the objective by ``1 / s^2`` (L2) or ``1 / s`` (L1) shows that fitting ``s X``
with ``C`` gives the probabilities of fitting ``X`` with ``C * s^2`` (L2) or
``C * s`` (L1).
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from chinchilla_sklearn import ChinchillaClassifier

FORMATS = ["dense", "csr"]


def _as(fmt, X):
    return sp.csr_matrix(X) if fmt == "csr" else X


def _problem(n_samples=40, n_features=5, seed=0):
    """A small binary problem, not separable, with unit-scale features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = (X[:, 0] + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    return X, y


def _fit(X, y, *, convergence_warnings="ignore", **params):
    """Fit with every RuntimeWarning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter(convergence_warnings, ConvergenceWarning)
        return ChinchillaClassifier(**params).fit(X, y)


def _assert_valid(est, X):
    """Finite weights; probabilities in [0, 1] summing to 1; finite log-probas."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = est.predict_proba(X)
        log_proba = est.predict_log_proba(X)
        scores = est.decision_function(X)
        y_pred = est.predict(X)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert np.all(np.isfinite(scores))
    assert not np.any(np.isnan(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    # to the rounding of the output's dtype: float32 models (float32 X) give
    # float32 probabilities, as scikit-learn's linear models do, and two
    # float32 numbers sum to 1 only within an ulp (1.2e-7)
    atol = 1e-12 if proba.dtype == np.float64 else 2 * np.finfo(proba.dtype).eps
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=atol)
    assert np.all(np.isfinite(log_proba)) and np.all(log_proba <= 0)
    np.testing.assert_array_equal(y_pred, est.classes_[proba.argmax(axis=1)])
    return proba


# ---------------------------------------------------------------------------
# Feature magnitudes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
@pytest.mark.parametrize("scale", [1e12, 1e-12], ids=["1e12", "1e-12"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_feature_magnitude(fmt, scale, l1_ratio):
    X, y = _problem()
    # Probabilities to 1e-6 need an objective far closer than the default
    # tol=1e-4 certifies (at 1e-4 they are 2e-5 apart, the objective's
    # curvature along them being small): tol=1e-6. At |x| ~ 1e12 the gap's
    # rounding floor is ~1e-8 (tol=1e-10 stops at max_iter), so a
    # ConvergenceWarning is not asserted on here; test_large_features_converge
    # covers convergence where it is attainable.
    tol = 1e-6 if scale > 1 else 1e-8
    est = _fit(_as(fmt, X * scale), y, l1_ratio=l1_ratio, tol=tol)
    proba = _assert_valid(est, _as(fmt, X * scale))
    C_unit = scale**2 if l1_ratio == 0 else scale
    reference = _fit(X, y, C=C_unit, l1_ratio=l1_ratio, tol=1e-10)
    # At 1e12 the scaled fit is accurate to ~1e-16 relative (above); at 1e-12
    # both are intercept-only models (weights ~1e-23) whose intercept gradient
    # divided by n_samples, the mean of p - y, is <= tol=1e-8: probabilities
    # agree to about 1e-8.
    np.testing.assert_allclose(proba, reference.predict_proba(X), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "l1_ratio",
    [0.5, 1.0],
    ids=["enet", "l1"],
)
def test_large_features_converge(l1_ratio):
    X, y = _problem()
    est = _fit(X * 1e9, y, convergence_warnings="error", l1_ratio=l1_ratio)
    assert est.gate_report_["violation"][-1] <= est.tol
    _assert_valid(est, X * 1e9)


# ---------------------------------------------------------------------------
# Separable data without a penalty
# ---------------------------------------------------------------------------


def _separable(n_classes, fmt):
    """Perfectly separable data: class k has x_k > 0.5, the others x_k < -0.5."""
    rng = np.random.default_rng(3)
    n_per_class, n_features = 15, 3
    blocks = []
    for k in range(n_classes):
        block = -np.abs(rng.standard_normal((n_per_class, n_features))) - 0.5
        block[:, k % n_features] *= -1
        blocks.append(block)
    X = np.vstack(blocks)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return _as(fmt, X), y


CONVERGENCE_MESSAGE = (
    r"did not converge in {} iterations: the largest optimality \(KKT\) "
    r"violation is \S+ > tol=0\.0"
)


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_separable_without_penalty(fmt, n_classes):
    X, y = _separable(n_classes, fmt)
    # The default tol is reached: the gradient vanishes as the margin grows.
    est = _fit(X, y, C=np.inf, convergence_warnings="error")
    _assert_valid(est, X)
    np.testing.assert_array_equal(est.predict(X), y)
    # tol=0 is never reached: a ConvergenceWarning that gives the violation.
    with pytest.warns(ConvergenceWarning, match=CONVERGENCE_MESSAGE.format(30)):
        est = _fit(X, y, C=np.inf, tol=0.0, max_iter=30,
                   convergence_warnings="always")
    proba = _assert_valid(est, X)
    np.testing.assert_array_equal(est.predict(X), y)
    assert proba.max() > 1 - 1e-12  # the weights did grow


def test_separable_without_penalty_long_run():
    X, y = _separable(2, "dense")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = ChinchillaClassifier(C=np.inf, tol=0.0, max_iter=400).fit(X, y)
    runtime = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert not runtime, f"{len(runtime)} RuntimeWarnings: {sorted(set(runtime))}"
    assert any(w.category is ConvergenceWarning for w in caught)
    _assert_valid(est, X)


# ---------------------------------------------------------------------------
# Tiny and degenerate data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("C", [1.0, np.inf], ids=["C=1", "C=inf"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_single_sample_per_class(fmt, n_classes, C):
    X = _as(fmt, np.random.default_rng(4).standard_normal((n_classes, 4)))
    y = np.arange(n_classes)
    est = _fit(X, y, C=C, convergence_warnings="error")
    _assert_valid(est, X)
    np.testing.assert_array_equal(est.predict(X), y)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5], ids=["l2", "enet"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_constant_feature_gets_zero_weight(fmt, n_classes, l1_ratio):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 4))
    c = 7.0
    X[:, 2] = c
    y = np.arange(40) % n_classes
    tol, C = 1e-10, 1.0
    est = _fit(_as(fmt, X), y, C=C, l1_ratio=l1_ratio, tol=tol,
               convergence_warnings="error")
    _assert_valid(est, _as(fmt, X))
    # With an intercept, feature 2's gradient is c times the intercept's. The
    # stopping rule bounds both scaled by 1 / sum(s) by tol, so
    # (1 - l1_ratio) |w_2| <= (1 + c) * tol * sum(s), sum(s) = C * n_samples.
    bound = (1 + c) * tol * C * len(y) / (1 - l1_ratio)
    assert np.abs(est.coef_[:, 2]).max() <= bound


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", [0.0, 7.0], ids=["zeros", "sevens"])
def test_identical_rows_predict_class_frequencies(value, fmt, n_classes):
    X = np.full((30, 3), value)
    y = np.repeat(np.arange(n_classes), np.arange(1, n_classes + 1) * 30 // 6)
    X = X[: len(y)]
    tol = 1e-10
    est = _fit(_as(fmt, X), y, tol=tol, convergence_warnings="error")
    proba = _assert_valid(est, _as(fmt, X))
    # All rows are the same, so all probabilities are; the intercept's
    # optimality |sum_i (p_i - y_i)| / n <= tol makes them the frequencies.
    frequencies = np.bincount(y) / len(y)
    np.testing.assert_allclose(proba, np.tile(frequencies, (len(y), 1)),
                               rtol=0, atol=10 * tol)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0], ids=["l2", "enet", "l1"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_rows_and_columns(fmt, n_classes, l1_ratio):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 6))
    X[:, [1, 4]] = 0.0
    X[[3, 17, 30]] = 0.0
    y = np.arange(40) % n_classes
    est = _fit(_as(fmt, X), y, C=0.5, l1_ratio=l1_ratio, tol=1e-8,
               convergence_warnings="error")
    _assert_valid(est, _as(fmt, X))
    # A zero column has zero gradient: its weight never moves from 0.
    assert np.all(est.coef_[:, [1, 4]] == 0)
    # A zero row scores the intercept alone.
    scores = est.decision_function(_as(fmt, X))[[3, 17, 30]]
    expected = est.intercept_[0] if n_classes == 2 else est.intercept_
    np.testing.assert_array_equal(scores, np.broadcast_to(expected, scores.shape))


# ---------------------------------------------------------------------------
# Many classes
# ---------------------------------------------------------------------------


def _many_classes(n_classes, n_per_class=2, n_features=10, seed=0):
    X = sp.random(n_classes * n_per_class, n_features, density=0.1, format="csr",
                  random_state=seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


# scikit-learn's check_classification_targets warns when more than half the
# samples are classes of their own (y "could represent a regression problem"):
# its own message, which every scikit-learn classifier gives on such y
UNIQUE_CLASSES_WARNING = "The number of unique classes is greater than 50%"


def _fit_many_classes(X, y):
    """Fit with tol=1e-2; return the estimator and the warnings not expected.

    Every warning is recorded: RuntimeWarnings (overflow, invalid values),
    ConvergenceWarning and any other, except scikit-learn's own about y having
    more classes than half the samples.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = ChinchillaClassifier(tol=1e-2).fit(X, y)
    unexpected = [f"{w.category.__name__}: {w.message}" for w in caught
                  if not (w.category is UserWarning
                          and str(w.message).startswith(UNIQUE_CLASSES_WARNING))]
    return est, unexpected


def test_one_thousand_classes():
    # timing: benchmarks/bench_many_classes.py
    X, y = _many_classes(1_000)
    est, unexpected = _fit_many_classes(X, y)
    assert not unexpected
    assert est.coef_.shape == (1_000, 10) and est.classes_.size == 1_000
    _assert_valid(est, X[:50])


def test_ten_thousand_classes():
    """10,000 samples, one per class: each (n_samples, n_classes) float64 array of
    the softmax is 763 MiB. The fit keeps no one-hot Y (the labels stand for it)
    and its loss allocates one such array per call; with the solver's in-place
    buffers the tracemalloc peak is 5.0 of them (3.7 GiB; 7.0 before those, 13
    with the one-hot target, 9.7 GiB).
    Timing: benchmarks/bench_many_classes.py (about 20-35 s on one thread)."""
    X, y = _many_classes(10_000, n_per_class=1)
    one_array = y.size * 10_000 * 8
    tracemalloc.start()
    try:
        est, unexpected = _fit_many_classes(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not unexpected
    assert est.dual_gap_ <= est.tol
    _assert_valid(est, X[:50])
    assert peak < 6 * one_array, f"peak {peak / one_array:.2f} arrays"


# ---------------------------------------------------------------------------
# float32 near its limits
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
@pytest.mark.parametrize(
    "scale",
    [1e30, 1e-30],
    ids=["1e30", "1e-30"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_float32_near_its_limits(fmt, scale, l1_ratio):
    X, y = _problem()
    X32 = _as(fmt, (X * scale).astype(np.float32))
    # At 1e30 the violation's rounding floor (eps32 * |x|) is far above any tol:
    # ConvergenceWarning is expected there and not asserted on.
    est = _fit(X32, y, l1_ratio=l1_ratio)
    proba = _assert_valid(est, X32)
    if scale < 1 or l1_ratio == 1:
        # the same model as the unit-scale problem with C * scale (L1) or
        # C * scale^2 (L2), to float32 accuracy
        C_unit = scale if l1_ratio == 1 else scale**2
        reference = _fit(X, y, C=C_unit, l1_ratio=l1_ratio, tol=1e-10)
        np.testing.assert_allclose(proba, reference.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_float32_large_features_fit(fmt, l1_ratio):
    """float32 data of magnitude 1e30, whose squares overflow float32: no
    RuntimeWarning, float32 weights equal to those of the float64 fit of the
    same data to float32 accuracy, and the same predictions."""
    X, y = _problem()
    X32 = (X * 1e30).astype(np.float32)
    est = _fit(_as(fmt, X32), y, l1_ratio=l1_ratio)
    reference = _fit(_as(fmt, X32.astype(np.float64)), y, l1_ratio=l1_ratio)
    assert est.coef_.dtype == np.float32
    assert np.any(reference.coef_ != 0)
    np.testing.assert_allclose(est.coef_, reference.coef_, rtol=1e-3,
                               atol=1e-3 * np.abs(reference.coef_).max())
    np.testing.assert_array_equal(est.predict(_as(fmt, X32)),
                                  reference.predict(_as(fmt, X32.astype(np.float64))))
