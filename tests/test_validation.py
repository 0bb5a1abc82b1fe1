"""Bad input gets scikit-learn's errors; the caller's data are never modified."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import make_data, make_sample_weight
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from chinchilla_sklearn import ChinchillaClassifier

TASKS = ("binary", "multiclass")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"], ids=["dense", "csr", "csc"])
def test_non_finite_X_in_fit(fmt, bad):
    X, y = make_data("binary", fmt)
    if sp.issparse(X):
        X.data[3] = bad
    else:
        X[3, 0] = bad
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        ChinchillaClassifier().fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_non_finite_X_in_predict(fmt, bad):
    X, y = make_data("binary", fmt)
    est = ChinchillaClassifier().fit(X, y)
    X_bad = X.copy()
    if sp.issparse(X_bad):
        X_bad.data[0] = bad
    else:
        X_bad[0, 0] = bad
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match=r"(?i)nan|inf"):
            getattr(est, method)(X_bad)


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_wrong_number_of_features_at_predict(fmt):
    X, y = make_data("multiclass", fmt)
    est = ChinchillaClassifier().fit(X, y)
    wider = (
        sp.hstack([X, X[:, :1]]).tocsr() if fmt == "csr" else np.hstack([X, X[:, :1]])
    )
    for X_bad in (X[:, :-2], wider):
        for method in (
            "predict",
            "predict_proba",
            "predict_log_proba",
            "decision_function",
        ):
            with pytest.raises(ValueError, match="features"):
                getattr(est, method)(X_bad)


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_single_class(fmt):
    X, y = make_data("binary", fmt)
    with pytest.raises(ValueError, match="class"):
        ChinchillaClassifier().fit(X, np.zeros_like(y))


def test_empty_X():
    X, y = make_data("binary")
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X[:0], y[:0])
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(sp.csr_matrix(X[:0]), y[:0])
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X[:, :0], y)


def test_inconsistent_lengths():
    X, y = make_data("binary")
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X, y, sample_weight=np.ones(len(y) - 1))


def test_continuous_target():
    X, y = make_data("binary")
    with pytest.raises(ValueError, match="Unknown label type"):
        ChinchillaClassifier().fit(X, y + np.linspace(0.1, 0.4, len(y)))


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_negative_sample_weight(fmt):
    X, y = make_data("binary", fmt)
    sample_weight = np.ones(len(y))
    sample_weight[5] = -1.0
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("fmt", ["dense", "csr"], ids=["dense", "csr"])
def test_all_zero_sample_weight(fmt):
    X, y = make_data("binary", fmt)
    with pytest.raises(ValueError):
        ChinchillaClassifier().fit(X, y, sample_weight=np.zeros(len(y)))


INVALID_PARAMS = [
    ("C", 0),
    ("C", -1.0),
    ("C", "large"),
    ("l1_ratio", 1.5),
    ("l1_ratio", -0.1),
    ("tol", -1.0),
    ("max_iter", 0),
    ("max_iter", 1.5),
    ("gate_threshold", 2.0),
    ("gate_threshold", -0.5),
    ("class_weight", "foo"),
    ("verbose", -1),
    ("fit_intercept", "yes"),
]


@pytest.mark.parametrize(
    "name, value", INVALID_PARAMS, ids=[f"{n}={v}" for n, v in INVALID_PARAMS]
)
def test_invalid_parameters(name, value):
    X, y = make_data("binary")
    est = ChinchillaClassifier(**{name: value})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "method",
    ["predict", "predict_proba", "predict_log_proba", "decision_function"],
)
def test_not_fitted(method):
    X, _ = make_data("binary")
    with pytest.raises(NotFittedError):
        getattr(ChinchillaClassifier(), method)(X)


def test_not_fitted_score_and_sparsify():
    X, y = make_data("binary")
    with pytest.raises(NotFittedError):
        ChinchillaClassifier().score(X, y)
    with pytest.raises(NotFittedError):
        ChinchillaClassifier().sparsify()


# ---------------------------------------------------------------------------
# The caller's X, y and sample_weight are never modified.
# ---------------------------------------------------------------------------


def _unsorted_csr(X):
    """The same matrix as CSR with the indices of each row in reverse order."""
    X = sp.csr_matrix(X)
    indices, data = X.indices.copy(), X.data.copy()
    for start, stop in zip(X.indptr[:-1], X.indptr[1:]):
        indices[start:stop] = indices[start:stop][::-1]
        data[start:stop] = data[start:stop][::-1]
    out = sp.csr_matrix((data, indices, X.indptr.copy()), shape=X.shape)
    out.has_sorted_indices = False
    return out


def _make_input(task, fmt):
    if fmt == "dense_fortran":
        X, y = make_data(task)
        return np.asfortranarray(X), y
    if fmt == "dense_float32":
        return make_data(task, dtype=np.float32)
    if fmt == "csr_unsorted":
        X, y = make_data(task)
        return _unsorted_csr(X), y
    if fmt == "csr_float32":
        return make_data(task, "csr", dtype=np.float32)
    return make_data(task, fmt)


INPUT_FORMATS = [
    "dense",
    "dense_fortran",
    "dense_float32",
    "csr",
    "csc",
    "csr_array",
    "csr_unsorted",
    "csr_float32",
]


def _snapshot(X):
    if sp.issparse(X):
        return (
            X.format,
            X.dtype,
            X.shape,
            X.data.copy(),
            X.indices.copy(),
            X.indptr.copy(),
        )
    return (X.dtype, X.flags.c_contiguous, X.copy())


def _assert_unchanged(X, snapshot):
    if sp.issparse(X):
        fmt, dtype, shape, data, indices, indptr = snapshot
        assert (X.format, X.dtype, X.shape) == (fmt, dtype, shape)
        np.testing.assert_array_equal(X.data, data)
        np.testing.assert_array_equal(X.indices, indices)
        np.testing.assert_array_equal(X.indptr, indptr)
    else:
        dtype, c_contiguous, values = snapshot
        assert (X.dtype, X.flags.c_contiguous) == (dtype, c_contiguous)
        np.testing.assert_array_equal(X, values)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5], ids=lambda r: f"l1_ratio={r}")
@pytest.mark.parametrize("fmt", INPUT_FORMATS, ids=INPUT_FORMATS)
@pytest.mark.parametrize("task", TASKS, ids=TASKS)
def test_inputs_unchanged_by_successful_fit(task, fmt, l1_ratio):
    X, y = _make_input(task, fmt)
    sample_weight = make_sample_weight(len(y))
    X_before, y_before, sw_before = _snapshot(X), y.copy(), sample_weight.copy()

    est = ChinchillaClassifier(C=0.5, l1_ratio=l1_ratio, class_weight="balanced")
    est.fit(X, y, sample_weight=sample_weight)
    est.predict_proba(X)
    est.predict(X)
    est.score(X, y, sample_weight=sample_weight)

    _assert_unchanged(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(sample_weight, sw_before)


def _fail_invalid_param(X, y, sample_weight):
    return X, y, sample_weight, {"C": -1.0}


def _fail_negative_weight(X, y, sample_weight):
    sample_weight[7] = -0.5
    return X, y, sample_weight, {}


def _fail_single_class(X, y, sample_weight):
    return X, np.full_like(y, y[0]), sample_weight, {}


def _fail_nan(X, y, sample_weight):
    if sp.issparse(X):
        X.data[-1] = np.nan
    else:
        X[-1, -1] = np.nan
    return X, y, sample_weight, {}


def _fail_wrong_weight_length(X, y, sample_weight):
    return X, y, sample_weight[:-1], {}


FAILURES = {
    "invalid_param": _fail_invalid_param,
    "negative_weight": _fail_negative_weight,
    "single_class": _fail_single_class,
    "nan_in_X": _fail_nan,
    "wrong_weight_length": _fail_wrong_weight_length,
}


@pytest.mark.parametrize("failure", list(FAILURES), ids=list(FAILURES))
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"], ids=["dense", "csr", "csc"])
def test_inputs_unchanged_by_failing_fit(fmt, failure):
    X, y = _make_input("multiclass", fmt)
    X, y, sample_weight, params = FAILURES[failure](X, y, make_sample_weight(len(y)))
    X_before, y_before, sw_before = _snapshot(X), y.copy(), sample_weight.copy()

    est = ChinchillaClassifier(class_weight="balanced", **params)
    with pytest.raises(ValueError):
        est.fit(X, y, sample_weight=sample_weight)

    _assert_unchanged(X, X_before)  # assert_array_equal: NaN equals NaN
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(sample_weight, sw_before)
