"""ChinchillaClassifierCV: the scores, the choice and the refit of a grid search."""

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import make_data, make_sample_weight
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.utils._param_validation import InvalidParameterError

from chinchilla_sklearn import ChinchillaClassifier, ChinchillaClassifierCV

TIGHT = 1e-10
FOLDS = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def _data(name, fmt="csr"):
    if name == "multilabel":
        X, Y = make_multilabel_classification(
            n_samples=90, n_features=10, n_classes=3, random_state=0
        )
        X = X / X.std(axis=0)
        return (sp.csr_matrix(X) if fmt == "csr" else X), Y
    return make_data(name, fmt)


def _folds(name):
    return KFold(3, shuffle=True, random_state=0) if name == "multilabel" else FOLDS


NAMES = ["binary", "multiclass", "multilabel"]


@pytest.fixture(scope="module", params=NAMES)
def searched(request):
    """A CV fit and the grid search on the same grid and folds, tight tol."""
    name = request.param
    X, y = _data(name)
    cv = ChinchillaClassifierCV(Cs=5, l1_ratios=[0.5, 1.0], cv=_folds(name),
                                tol=TIGHT).fit(X, y)
    grid = {"C": cv.Cs_, "l1_ratio": cv.l1_ratios_}
    search = GridSearchCV(ChinchillaClassifier(tol=TIGHT), grid, cv=_folds(name))
    return name, X, y, cv, search.fit(X, y)


def test_mean_test_score_is_cross_val_score(searched):
    name, X, y, cv, _ = searched
    for k, params in enumerate(cv.cv_results_["params"]):
        scores = cross_val_score(ChinchillaClassifier(tol=TIGHT, **params), X, y,
                                 cv=_folds(name))
        assert_allclose(cv.cv_results_["mean_test_score"][k], scores.mean())
        for split, score in enumerate(scores):
            assert_allclose(cv.cv_results_[f"split{split}_test_score"][k], score)


def test_choice_and_results_are_grid_search_s(searched):
    _, _, _, cv, search = searched
    assert cv.C_ == search.best_params_["C"]
    assert cv.l1_ratio_ == search.best_params_["l1_ratio"]
    assert cv.best_index_ == search.best_index_
    assert_allclose(cv.best_score_, search.best_score_)
    assert cv.cv_results_["params"] == [
        {key: float(value) for key, value in params.items()}
        for params in search.cv_results_["params"]
    ]
    for key in ("param_C", "param_l1_ratio", "mean_test_score", "std_test_score",
                "rank_test_score", "split0_test_score"):
        assert_allclose(np.asarray(cv.cv_results_[key], dtype=float),
                        np.asarray(search.cv_results_[key], dtype=float))
    assert set(search.cv_results_) == set(cv.cv_results_)


def test_refit_is_the_classifier_at_the_choice(searched):
    _, X, y, cv, search = searched
    clf = ChinchillaClassifier(C=cv.C_, l1_ratio=cv.l1_ratio_, tol=TIGHT).fit(X, y)
    assert_allclose(cv.coef_, clf.coef_, atol=1e-7)
    assert_allclose(cv.intercept_, clf.intercept_, atol=1e-7)
    assert_array_equal(cv.classes_, clf.classes_)
    assert_array_equal(cv.predict(X), clf.predict(X))
    assert_array_equal(cv.predict(X), search.predict(X))
    assert_allclose(cv.predict_proba(X), clf.predict_proba(X), atol=1e-7)
    assert_allclose(cv.predict_log_proba(X), clf.predict_log_proba(X), atol=1e-6)
    assert_allclose(cv.decision_function(X), clf.decision_function(X), atol=1e-6)
    assert cv.score(X, y) == clf.score(X, y)


def test_attributes_have_logistic_regression_cv_s_layout(searched):
    name, X, y, cv, _ = searched
    n_outputs = 1 if name == "binary" else cv.classes_.size
    shape = (3, 2, 5)
    assert cv.coefs_paths_.shape == shape + (n_outputs, X.shape[1] + 1)
    assert cv.scores_.shape == cv.n_iter_.shape == shape
    assert isinstance(cv.C_, float) and isinstance(cv.l1_ratio_, float)
    assert cv.Cs_.shape == (5,) and cv.l1_ratios_.tolist() == [0.5, 1.0]
    assert np.all(cv.n_iter_ >= 1)
    # the grid starts at an all-zero model for every l1_ratio
    assert not np.any(cv.coefs_paths_[:, :, 0, :, :-1])
    # the scores_ of a fold and l1_ratio are its split scores
    assert_allclose(cv.scores_[1, 0], cv.cv_results_["split1_test_score"][0::2])
    frame = pd.DataFrame(cv.cv_results_)
    assert len(frame) == 10 and frame["param_C"].dtype == float


def test_one_standard_error_rule():
    """The smallest C whose mean is within a standard error of the best."""
    X, y = make_classification(200, 30, n_informative=4, flip_y=0.1, random_state=0)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    best = ChinchillaClassifierCV(Cs=10, l1_ratios=[1.0], cv=folds).fit(X, y)
    one_se = ChinchillaClassifierCV(Cs=10, l1_ratios=[1.0], cv=folds,
                                    selection="1se").fit(X, y)
    results = best.cv_results_
    means, stds = results["mean_test_score"], results["std_test_score"]
    threshold = means[best.best_index_] - stds[best.best_index_] / np.sqrt(4)
    expected = np.flatnonzero(means >= threshold)[0]  # Cs_ increase
    assert one_se.best_index_ == expected < best.best_index_
    assert one_se.C_ == best.Cs_[expected] < best.C_
    assert one_se.best_score_ == means[expected]
    assert np.count_nonzero(one_se.coef_) < np.count_nonzero(best.coef_)


def test_refit_false_averages_the_folds():
    X, y = _data("multiclass")
    cv = ChinchillaClassifierCV(Cs=4, l1_ratios=[0.5], cv=FOLDS, refit=False)
    cv.fit(X, y)
    i_C = cv.best_index_
    mean = cv.coefs_paths_[:, 0, i_C].mean(axis=0)
    assert_allclose(cv.coef_, mean[:, :-1])
    assert_allclose(cv.intercept_, mean[:, -1])
    assert cv.predict(X).shape == y.shape


def test_sample_weight_is_split_with_the_folds():
    """Training folds' weights weigh the fits, test folds' the scores."""
    X, y = _data("binary")
    sample_weight = make_sample_weight(len(y))
    cv = ChinchillaClassifierCV(Cs=4, l1_ratios=[1.0], cv=FOLDS, tol=TIGHT)
    cv.fit(X, y, sample_weight=sample_weight)
    with config_context(enable_metadata_routing=True):
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        for k, params in enumerate(cv.cv_results_["params"]):
            clf = ChinchillaClassifier(tol=TIGHT, **params)
            clf.set_fit_request(sample_weight=True)
            scores = cross_validate(clf, X, y, cv=FOLDS, scoring=scorer,
                                    params={"sample_weight": sample_weight})
            assert_allclose(cv.cv_results_["mean_test_score"][k],
                            scores["test_score"].mean())
    refit = ChinchillaClassifier(C=cv.C_, l1_ratio=1.0, tol=TIGHT)
    refit.fit(X, y, sample_weight=sample_weight)
    assert_allclose(cv.coef_, refit.coef_, atol=1e-7)


def test_scoring_and_integer_grid_without_l1():
    X, y = _data("multiclass")
    cv = ChinchillaClassifierCV(Cs=3, cv=FOLDS, scoring="neg_log_loss").fit(X, y)
    assert_array_equal(cv.Cs_, np.logspace(-4, 4, 3))
    expected = cross_val_score(ChinchillaClassifier(C=cv.Cs_[1]), X, y, cv=FOLDS,
                               scoring="neg_log_loss")
    # the default tol (1e-4): the log-loss of the two fits agree to about tol
    assert_allclose(cv.cv_results_["mean_test_score"][1], expected.mean(),
                    rtol=1e-4)


def test_n_jobs_gives_the_same_results():
    X, y = _data("binary")
    one = ChinchillaClassifierCV(Cs=4, l1_ratios=[0.5, 1.0], cv=FOLDS).fit(X, y)
    two = ChinchillaClassifierCV(Cs=4, l1_ratios=[0.5, 1.0], cv=FOLDS,
                                 n_jobs=2).fit(X, y)
    assert_allclose(one.coefs_paths_, two.coefs_paths_)
    assert_allclose(one.cv_results_["mean_test_score"],
                    two.cv_results_["mean_test_score"])
    assert_allclose(one.coef_, two.coef_)


def test_pipeline_clone_and_joblib_round_trip(tmp_path):
    X, y = _data("multiclass")
    pipe = make_pipeline(MaxAbsScaler(),
                         ChinchillaClassifierCV(Cs=4, l1_ratios=[1.0], cv=FOLDS))
    pipe.fit(X, y)
    clone(pipe).fit(X, y)
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded[-1].C_ == pipe[-1].C_


def test_sparsify_keeps_predictions():
    X, y = _data("binary")
    cv = ChinchillaClassifierCV(Cs=4, l1_ratios=[1.0], cv=FOLDS).fit(X, y)
    before = cv.predict_proba(X)
    assert sp.issparse(cv.sparsify().coef_)
    assert_allclose(cv.predict_proba(X), before)


def test_fold_without_a_class_raises():
    X, y = _data("multiclass", "dense")
    order = np.argsort(y, kind="stable")
    folds = list(KFold(3).split(X[order]))  # the first test fold is one class
    with pytest.raises(ValueError, match="training fold holds the classes"):
        ChinchillaClassifierCV(Cs=2, cv=folds).fit(X[order], y[order])


def test_non_convergence_is_gathered_into_one_warning():
    X, y = _data("binary")
    cv = ChinchillaClassifierCV(Cs=3, l1_ratios=[1.0], cv=FOLDS, tol=1e-12,
                                max_iter=1)
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        cv.fit(X, y)
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
    assert sum("ChinchillaClassifierCV" in message for message in messages) == 1


@pytest.mark.parametrize("l1_ratios", [[], [0.5, 1.5]])
def test_bad_l1_ratios(l1_ratios):
    X, y = _data("binary")
    with pytest.raises(ValueError, match="l1_ratios must be"):
        ChinchillaClassifierCV(l1_ratios=l1_ratios).fit(X, y)


def test_bad_parameters_get_scikit_learn_s_errors():
    X, y = _data("binary")
    with pytest.raises(InvalidParameterError, match="selection"):
        ChinchillaClassifierCV(selection="2se").fit(X, y)
    with pytest.raises(InvalidParameterError, match="Cs"):
        ChinchillaClassifierCV(Cs=0).fit(X, y)
    with pytest.raises(ValueError, match="positive finite"):
        ChinchillaClassifierCV(Cs=[0.0, 1.0]).fit(X, y)
