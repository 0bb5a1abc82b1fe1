"""ChinchillaClassifier works with scikit-learn's tools and follows its API."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import make_data
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chinchilla_sklearn import ChinchillaClassifier

TASKS = ("binary", "multiclass")


def _fitted(task="binary", fmt="dense", **params):
    X, y = make_data(task, fmt)
    params = {"C": 0.5, **params}
    return ChinchillaClassifier(**params).fit(X, y), X, y


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_pipeline_with_standard_scaler(task, fmt):
    X, y = make_data(task, fmt)
    # A sparse X cannot be centred without densifying it.
    scaler = StandardScaler(with_mean=(fmt == "dense"))
    pipe = make_pipeline(scaler, ChinchillaClassifier(C=0.5, tol=1e-8)).fit(X, y)
    X_scaled = clone(scaler).fit_transform(X)
    direct = ChinchillaClassifier(C=0.5, tol=1e-8).fit(X_scaled, y)
    assert_allclose(pipe.predict_proba(X), direct.predict_proba(X_scaled), atol=1e-6)
    assert_array_equal(pipe.predict(X), direct.predict(X_scaled))
    assert pipe.score(X, y) > 0.7


@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_grid_search(task):
    X, y = make_data(task, "csr")
    grid = {"C": [0.1, 1.0], "l1_ratio": [0.0, 1.0]}
    search = GridSearchCV(ChinchillaClassifier(), grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["C"] in grid["C"]
    assert search.best_params_["l1_ratio"] in grid["l1_ratio"]
    best = search.best_estimator_
    assert best.C == search.best_params_["C"]
    assert best.l1_ratio == search.best_params_["l1_ratio"]
    assert_array_equal(search.predict(X), best.predict(X))


@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_cross_val_score(task):
    X, y = make_data(task)
    scores = cross_val_score(ChinchillaClassifier(C=0.5), X, y, cv=5)
    assert scores.shape == (5,)
    assert np.all((scores >= 0) & (scores <= 1))
    # Better than always predicting the largest class.
    assert scores.mean() > np.bincount(y).max() / len(y)


def test_clone():
    est, X, _ = _fitted(l1_ratio=0.5, class_weight="balanced", tol=1e-6)
    copy = clone(est)
    assert copy is not est
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coef_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_joblib_round_trip(task, fmt, tmp_path):
    est, X, _ = _fitted(task, fmt, l1_ratio=0.5)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    assert loaded.get_params() == est.get_params()
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert_array_equal(loaded.predict(X), est.predict(X))
    assert_array_equal(loaded.coef_, est.coef_)
    assert_array_equal(loaded.intercept_, est.intercept_)


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_predict_proba_and_predict(task, fmt):
    est, X, y = _fitted(task, fmt, l1_ratio=0.5)
    n_classes = len(np.unique(y))
    proba = est.predict_proba(X)
    assert proba.shape == (X.shape[0], n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(est.predict(X), est.classes_[np.argmax(proba, axis=1)])

    decision = est.decision_function(X)
    if n_classes == 2:
        assert decision.shape == (X.shape[0],)
        assert_allclose(decision, X @ est.coef_[0] + est.intercept_[0], rtol=1e-12)
        assert_allclose(proba[:, 1], expit(decision), rtol=1e-12)
        assert_array_equal(est.predict(X), est.classes_[(decision > 0).astype(int)])
    else:
        assert decision.shape == (X.shape[0], n_classes)
        assert_allclose(decision, X @ est.coef_.T + est.intercept_, rtol=1e-12)
        assert_allclose(proba, softmax(decision, axis=1), rtol=1e-12)


@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_predict_log_proba(task):
    est, X, _ = _fitted(task)
    log_proba = est.predict_log_proba(X)
    proba = est.predict_proba(X)
    assert np.all(np.isfinite(log_proba))
    assert_allclose(log_proba, np.log(proba), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_predict_log_proba_extreme_decision_values(task):
    """Far from the boundary the probabilities round to 0 or 1, but their
    logarithms stay finite (no -inf, no nan)."""
    X, y = make_data(f"separable_{task}")
    est = ChinchillaClassifier(C=100.0, tol=1e-6, max_iter=500).fit(X, y)
    X_far = 1e4 * X
    decision = est.decision_function(X_far)
    assert np.max(np.abs(decision)) > 1e3  # really extreme
    log_proba = est.predict_log_proba(X_far)
    proba = est.predict_proba(X_far)
    assert not np.any(np.isnan(proba))
    assert np.all(np.isfinite(log_proba)), log_proba[~np.isfinite(log_proba)]
    assert np.all(log_proba <= 0)
    assert_allclose(np.exp(log_proba), proba, atol=1e-300)
    positive = proba > 0
    assert_allclose(
        log_proba[positive], np.log(proba[positive]), rtol=1e-10, atol=1e-14
    )
    assert_array_equal(est.predict(X_far), est.classes_[np.argmax(log_proba, axis=1)])


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_score_is_accuracy(task, fmt):
    est, X, y = _fitted(task, fmt)
    assert est.score(X, y) == pytest.approx(accuracy_score(y, est.predict(X)))
    w = np.linspace(0.5, 2.0, len(y))
    assert est.score(X, y, sample_weight=w) == pytest.approx(
        accuracy_score(y, est.predict(X), sample_weight=w)
    )


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_sparsify_densify(task, fmt):
    est, X, _ = _fitted(task, fmt, l1_ratio=1.0)
    coef = est.coef_.copy()
    assert 0 < np.count_nonzero(coef) < coef.size
    predict = est.predict(X)
    proba = est.predict_proba(X)
    decision = est.decision_function(X)

    assert est.sparsify() is est
    assert sp.issparse(est.coef_)
    assert_array_equal(est.coef_.toarray(), coef)
    assert_array_equal(est.predict(X), predict)
    assert_allclose(est.predict_proba(X), proba, rtol=1e-12)
    assert_allclose(est.decision_function(X), decision, rtol=1e-12, atol=1e-14)

    assert est.densify() is est
    assert isinstance(est.coef_, np.ndarray)
    assert_array_equal(est.coef_, coef)
    assert_array_equal(est.predict(X), predict)


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, y = make_data("binary")
    names = [f"feature_{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    est = ChinchillaClassifier(C=0.5).fit(df, y)
    assert_array_equal(est.feature_names_in_, names)
    assert est.n_features_in_ == X.shape[1]
    est_np = ChinchillaClassifier(C=0.5).fit(X, y)
    assert not hasattr(est_np, "feature_names_in_")
    assert_allclose(est.coef_, est_np.coef_, rtol=1e-10)  # memory order may differ
    assert_array_equal(est.predict(df), est_np.predict(X))
    # Columns in another order are refused, as scikit-learn does.
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[names[::-1]])


def test_n_features_in():
    est, X, _ = _fitted("multiclass", "csr")
    assert est.n_features_in_ == X.shape[1]
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_string_class_labels(task):
    X, y = make_data(task)
    names = np.array(["ant", "bee", "cat"])[: len(np.unique(y))]
    y_str = names[y]
    est_num = ChinchillaClassifier(C=0.5, tol=1e-10, max_iter=500).fit(X, y)
    est_str = ChinchillaClassifier(C=0.5, tol=1e-10, max_iter=500).fit(X, y_str)
    assert_array_equal(est_str.classes_, names)
    assert_array_equal(est_str.predict(X), names[est_num.predict(X)])
    assert_allclose(est_str.coef_, est_num.coef_, rtol=1e-8, atol=1e-12)
    assert_allclose(est_str.predict_proba(X), est_num.predict_proba(X), rtol=1e-8)
    assert est_str.score(X, y_str) == pytest.approx(est_num.score(X, y))


def test_class_labels_order_and_values():
    """classes_ are the sorted unique labels, whatever their values."""
    X, y = make_data("multiclass")
    labels = np.array([7, -3, 12])
    est = ChinchillaClassifier(C=0.5).fit(X, labels[y])
    assert_array_equal(est.classes_, [-3, 7, 12])
    assert set(np.unique(est.predict(X))) <= {-3, 7, 12}
