"""Bad input gets scikit-learn's error, in scikit-learn's words, and changes nothing.

One table drives the tests: each row is a bad input, the methods it is passed to,
the exception and a regex of the message that names the problem, as scikit-learn's
``validate_data`` / ``check_array`` / ``_check_sample_weight`` / parameter
validation word it. After every failed call:

- a fitted estimator is unchanged: the same fitted attributes, bit for bit, and the
  same predictions;
- a fresh estimator stays unfitted (``fit`` / ``partial_fit`` rows);
- the caller's ``X``, ``y`` and ``sample_weight`` are unchanged (sparse: data,
  indices, indptr and the canonical-format flags).

Also here: a sparse matrix with unsorted indices or duplicate entries gives the same
model as its canonical form, and the caller's matrix is not canonicalised in place.
"""

import copy
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from chinchilla_sklearn import ChinchillaClassifier

LABELS = np.array(["ant", "bee", "cat"])
N_SAMPLES, N_FEATURES = 30, 4
ATOL = 1e-6  # two fits of one problem at tol=1e-8; see test_invariances.py
PREDICT = ("predict", "predict_proba", "predict_log_proba", "decision_function")
TRAIN = ("fit", "partial_fit")
ALL = (*TRAIN, *PREDICT, "score")

HAS_PARTIAL_FIT = hasattr(ChinchillaClassifier, "partial_fit")
needs_partial_fit = pytest.mark.skipif(
    not HAS_PARTIAL_FIT,
    reason="ChinchillaClassifier.partial_fit is not written yet",
)

def _data():
    """A small 3-class problem with string labels: (X, y, sample_weight)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    X[rng.random(X.shape) < 0.3] = 0.0
    y = LABELS[np.arange(N_SAMPLES) % 3]
    sample_weight = rng.uniform(0.5, 2.0, N_SAMPLES)
    return X, y, sample_weight


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One bad input: ``make(X, y, sample_weight)`` returns the call's arguments."""

    name: str
    methods: tuple
    make: object
    error: type
    match: str
    fresh_estimator: bool = False  # the call is made on an unfitted estimator
    xfail: dict = field(default_factory=dict)  # method -> reason (fitted estimator)
    ignore: str = None  # a warning filter, for warnings scikit-learn emits


def _args(X, y, sample_weight, **params):
    return {
        "X": X,
        "y": y,
        "sample_weight": sample_weight,
        "classes": LABELS,  # partial_fit's; the same on every call
        "params": params,
    }


def _set_entry(value, fmt="dense"):
    """Return ``make`` that puts ``value`` in one stored entry of X (as ``fmt``)."""

    def make(X, y, sample_weight):
        if fmt == "dense":
            X[3, 1] = value
        else:
            X = {"csr": sp.csr_matrix, "csc": sp.csc_matrix}[fmt](X)
            X.data[2] = value
        return _args(X, y, sample_weight)

    return make


def _object_with(value):
    def make(X, y, sample_weight):
        X = X.astype(object)
        X[0, 0] = value
        return _args(X, y, sample_weight)

    return make


def _replace(**changes):
    """Return ``make`` that replaces X, y or sample_weight by ``f(X, y, sw)``."""

    def make(X, y, sample_weight):
        args = _args(X, y, sample_weight)
        for key, change in changes.items():
            args[key] = change(X, y, sample_weight)
        return args

    return make


def _zero_rows(fmt):
    def make(X, y, sample_weight):
        X = X[:0] if fmt == "dense" else sp.csr_matrix(X[:0])
        return _args(X, y[:0], sample_weight[:0])

    return make


def _zero_columns(fmt):
    def make(X, y, sample_weight):
        X = X[:, :0] if fmt == "dense" else sp.csr_matrix(X[:, :0])
        return _args(X, y, sample_weight)

    return make


def _weight_entry(value):
    def make(X, y, sample_weight):
        sample_weight[4] = value
        return _args(X, y, sample_weight)

    return make


def _params(**params):
    def make(X, y, sample_weight):
        return _args(X, y, sample_weight, **params)

    return make


def _nan_float_y(X, y, sample_weight):
    codes = np.searchsorted(LABELS, y).astype(float)
    codes[5] = np.nan
    return codes


def _nan_object_y(X, y, sample_weight):
    y = y.astype(object)
    y[5] = np.nan
    return y


def _one_class_weighted(X, y, sample_weight):
    sample_weight[y != "ant"] = 0.0
    return sample_weight


NAN = r"Input X contains NaN"
INF = r"Input X contains infinity"
STRINGS = r"could not convert string to float"
N_SAMPLES_MISMATCH = r"inconsistent numbers of samples"

X_ROWS = [
    Bad("nan", ALL, _set_entry(np.nan), ValueError, NAN),
    Bad("inf", ALL, _set_entry(np.inf), ValueError, INF),
    Bad("-inf", ALL, _set_entry(-np.inf), ValueError, INF),
    Bad("nan_csr", ALL, _set_entry(np.nan, "csr"), ValueError, NAN),
    Bad("inf_csr", ALL, _set_entry(np.inf, "csr"), ValueError, INF),
    Bad("nan_csc", ALL, _set_entry(np.nan, "csc"), ValueError, NAN),
    Bad("-inf_csc", ALL, _set_entry(-np.inf, "csc"), ValueError, INF),
    Bad("object_string", ALL, _object_with("ant"), ValueError, STRINGS),
    Bad("object_none", ALL, _object_with(None), ValueError, NAN),
    Bad(
        "str_dtype",
        ALL,
        _replace(X=lambda X, y, sw: np.full(X.shape, "ant")),
        ValueError,
        STRINGS,
    ),
    Bad(
        "complex",
        ALL,
        _replace(X=lambda X, y, sw: X + 1j),
        ValueError,
        r"Complex data not supported",
    ),
    Bad(
        "3d",
        ALL,
        _replace(X=lambda X, y, sw: X.reshape(N_SAMPLES, 2, 2)),
        ValueError,
        r"Found array with dim 3",
    ),
    Bad(
        "1d",
        ALL,
        _replace(X=lambda X, y, sw: X[:, 0]),
        ValueError,
        r"Expected 2D array, got 1D array instead",
    ),
    Bad("0_rows", ALL, _zero_rows("dense"), ValueError, r"0 sample\(s\)"),
    Bad("0_rows_csr", ALL, _zero_rows("csr"), ValueError, r"0 sample\(s\)"),
    Bad("0_columns", ALL, _zero_columns("dense"), ValueError, r"0 feature\(s\)"),
    Bad("0_columns_csr", ALL, _zero_columns("csr"), ValueError, r"0 feature\(s\)"),
]

FEATURE_ROWS = [
    Bad(
        "fewer_features",
        ("partial_fit", *PREDICT, "score"),
        _replace(X=lambda X, y, sw: X[:, :3]),
        ValueError,
        r"X has 3 features, but ChinchillaClassifier is expecting 4 features",
    ),
    Bad(
        "more_features",
        ("partial_fit", *PREDICT, "score"),
        _replace(X=lambda X, y, sw: np.hstack([X, X[:, :1]])),
        ValueError,
        r"X has 5 features, but ChinchillaClassifier is expecting 4 features",
    ),
    Bad(
        "fewer_features_csr",
        ("partial_fit", *PREDICT, "score"),
        _replace(X=lambda X, y, sw: sp.csr_matrix(X[:, :3])),
        ValueError,
        r"X has 3 features, but ChinchillaClassifier is expecting 4 features",
    ),
]

Y_ROWS = [
    Bad(
        "y_too_short",
        (*TRAIN, "score"),
        _replace(y=lambda X, y, sw: y[:-1]),
        ValueError,
        N_SAMPLES_MISMATCH,
    ),
    Bad(
        "y_nan",
        (*TRAIN, "score"),
        _replace(y=_nan_float_y),
        ValueError,
        r"Input y(_true)? contains NaN",
        # score's accuracy_score casts y before it checks for NaN
        ignore="ignore:invalid value encountered in cast:RuntimeWarning",
    ),
    Bad(
        "y_object_nan",
        TRAIN,
        _replace(y=_nan_object_y),
        ValueError,
        r"Input contains NaN",
    ),
    Bad(
        "y_one_class",
        ("fit",),
        _replace(y=lambda X, y, sw: np.full_like(y, "ant")),
        ValueError,
        r"needs samples of at least 2 classes.*only one class",
    ),
    Bad(
        "y_continuous",
        (*TRAIN, "score"),
        _replace(y=lambda X, y, sw: np.linspace(0.1, 0.9, len(y))),
        ValueError,
        r"Unknown label type: continuous|mix of continuous and multiclass targets",
    ),
    Bad(
        "y_2d_not_indicator",
        ("fit",),
        _replace(y=lambda X, y, sw: np.column_stack([y, y[::-1]])),
        ValueError,
        r"multilabel indicator",
    ),
]

WEIGHT_ROWS = [
    Bad(
        "sw_too_short",
        (*TRAIN, "score"),
        _replace(sample_weight=lambda X, y, sw: sw[:-1]),
        ValueError,
        r"sample_weight\.shape == \(29,\), expected \(30,\)|" + N_SAMPLES_MISMATCH,
    ),
    Bad(
        "sw_negative",
        TRAIN,
        _weight_entry(-1.0),
        ValueError,
        r"Negative values in data passed to `sample_weight`",
    ),
    Bad(
        "sw_all_zero",
        TRAIN,
        _replace(sample_weight=lambda X, y, sw: np.zeros_like(sw)),
        ValueError,
        r"Sample weights must contain at least one non-zero number",
    ),
    Bad(
        "sw_nan",
        (*TRAIN, "score"),
        _weight_entry(np.nan),
        ValueError,
        r"Input sample_weight contains NaN",
    ),
    Bad(
        "sw_inf",
        (*TRAIN, "score"),
        _weight_entry(np.inf),
        ValueError,
        r"Input sample_weight contains infinity",
    ),
    Bad(
        "sw_2d",
        TRAIN,
        _replace(sample_weight=lambda X, y, sw: sw[:, None]),
        ValueError,
        r"Sample weights must be 1D array or scalar",
    ),
    Bad(
        "sw_one_class_weighted",
        ("fit",),
        _replace(sample_weight=_one_class_weighted),
        ValueError,
        r"only one class with positive weight",
        # _fit_weight and _online_state came with partial_fit
    ),
]

# Each constructor parameter with a value of a wrong type and values out of range.
INVALID_PARAMS = [
    ("C", "big"),
    ("C", 0),
    ("C", -1.0),
    ("C", np.nan),
    ("l1_ratio", "l1"),
    ("l1_ratio", -0.1),
    ("l1_ratio", 1.5),
    ("shared_support", "yes"),
    ("shared_support", 1),
    ("gate", "on"),
    ("gate", None),
    ("gate_threshold", "high"),
    ("gate_threshold", -0.5),
    ("gate_threshold", 1.5),
    ("fit_intercept", "yes"),
    ("fit_intercept", None),
    ("class_weight", "unbalanced"),
    ("class_weight", [1.0, 2.0]),
    ("tol", "small"),
    ("tol", -1.0),
    ("max_iter", 2.5),
    ("max_iter", 0),
    ("max_iter", "many"),
    ("warm_start", "no"),
    ("eta0", "fast"),
    ("eta0", 0),
    ("eta0", -0.1),
    ("random_state", "seed"),
    ("random_state", -1),
    ("verbose", -1),
    ("verbose", "loud"),
]

PARAM_ROWS = [
    Bad(
        f"{name}={value!r}",
        TRAIN,
        _params(**{name: value}),
        InvalidParameterError,
        rf"The '{name}' parameter of ChinchillaClassifier must be",
    )
    for name, value in INVALID_PARAMS
] + [
    Bad(
        "class_weight_unknown_label",
        ("fit",),
        _params(class_weight={"dog": 2.0}),
        ValueError,
        r"are not in class",
    ),
]

STATE_ROWS = [
    Bad(
        "not_fitted",
        (*PREDICT, "score"),
        _replace(),
        NotFittedError,
        r"This ChinchillaClassifier instance is not fitted yet",
        fresh_estimator=True,
    ),
    Bad(
        "no_classes_on_first_partial_fit",
        ("partial_fit",),
        _replace(classes=lambda X, y, sw: None),
        ValueError,
        r"classes must be passed on the first call to partial_fit",
        fresh_estimator=True,
    ),
]

ROWS = X_ROWS + FEATURE_ROWS + Y_ROWS + WEIGHT_ROWS + PARAM_ROWS + STATE_ROWS


def _cases(rows, *, fresh=None):
    """One pytest param per (row, method), marked skip/xfail as needed."""
    cases = []
    for row in rows:
        if fresh is not None and row.fresh_estimator != fresh:
            continue
        for method in row.methods:
            marks = [needs_partial_fit] if method == "partial_fit" else []
            if row.ignore:
                marks.append(pytest.mark.filterwarnings(row.ignore))
            if method in row.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=row.xfail[method]))
            cases.append(
                pytest.param(row, method, marks=marks, id=f"{method}-{row.name}")
            )
    return cases


# ---------------------------------------------------------------------------
# Helpers: calls and snapshots
# ---------------------------------------------------------------------------


def _call(est, method, args):
    X, y, sample_weight = args["X"], args["y"], args["sample_weight"]
    if args["params"]:
        est.set_params(**args["params"])
    if method == "fit":
        return est.fit(X, y, sample_weight=sample_weight)
    if method == "partial_fit":
        return est.partial_fit(
            X, y, classes=args["classes"], sample_weight=sample_weight
        )
    if method == "score":
        return est.score(X, y, sample_weight=sample_weight)
    return getattr(est, method)(X)


def _snapshot(value):
    """A deep copy of an input, with the flags of a sparse matrix."""
    if sp.issparse(value):
        return {
            "format": value.format,
            "dtype": value.dtype,
            "shape": value.shape,
            "data": value.data.copy(),
            "indices": value.indices.copy(),
            "indptr": value.indptr.copy(),
            "has_sorted_indices": bool(value.has_sorted_indices),
            "has_canonical_format": bool(value.has_canonical_format),
        }
    return copy.deepcopy(value)


def _assert_same(actual, expected, where):
    """Deep equality: arrays bit for bit (NaN equals NaN), dtype included."""
    if sp.issparse(actual) or isinstance(expected, dict) and "indptr" in expected:
        assert sp.issparse(actual), where
        for key, value in _snapshot(actual).items():
            _assert_same(value, expected[key], f"{where}.{key}")
    elif isinstance(expected, np.ndarray) and expected.dtype == object:
        assert isinstance(actual, np.ndarray) and actual.dtype == object, where
        assert actual.shape == expected.shape, where
        for a, e in zip(actual.ravel(), expected.ravel()):  # NaN equals NaN
            _assert_same(a, e, where)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), where
        assert actual.dtype == expected.dtype, where
        assert_array_equal(actual, expected, err_msg=where, strict=True)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and np.isnan(expected):
        assert isinstance(actual, float) and np.isnan(actual), where
    else:
        assert type(actual) is type(expected) and actual == expected, where


def _fitted_state(est):
    """The estimator's attributes other than its constructor parameters."""
    params = est.get_params(deep=False)
    return {k: copy.deepcopy(v) for k, v in vars(est).items() if k not in params}


def _predictions(est, X):
    return {m: getattr(est, m)(X) for m in ("predict", "predict_proba",
                                            "decision_function")}


# ---------------------------------------------------------------------------
# The tests of the table
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("row, method", _cases(ROWS, fresh=False))
def test_bad_input_on_fitted_estimator(row, method):
    X, y, sample_weight = _data()
    est = ChinchillaClassifier(C=0.5).fit(X, y, sample_weight=sample_weight)
    state, predictions = _fitted_state(est), _predictions(est, X)
    args = row.make(*_data())
    inputs = {key: _snapshot(args[key]) for key in ("X", "y", "sample_weight")}

    with pytest.raises(row.error, match=row.match):
        _call(est, method, args)

    for key, before in inputs.items():
        _assert_same(args[key], before, f"caller's {key}")
    _assert_same(_fitted_state(est), state, "fitted attributes")
    _assert_same(_predictions(est, X), predictions, "predictions")


@pytest.mark.parametrize("row, method", _cases(ROWS, fresh=True))
def test_bad_input_on_fresh_estimator(row, method):
    est = ChinchillaClassifier()
    args = row.make(*_data())
    inputs = {key: _snapshot(args[key]) for key in ("X", "y", "sample_weight")}

    with pytest.raises(row.error, match=row.match):
        _call(est, method, args)

    for key, before in inputs.items():
        _assert_same(args[key], before, f"caller's {key}")
    assert _fitted_state(est) == {}


def _fresh_cases():
    """The training rows again, on a fresh estimator that must stay unfitted."""
    cases = []
    for param in _cases(ROWS, fresh=False):
        row, method = param.values
        if method not in TRAIN or row in FEATURE_ROWS:  # those need a fitted model
            continue
        marks = [m for m in param.marks if m.name != "xfail"]
        cases.append(pytest.param(row, method, marks=marks, id=param.id))
    return cases


@pytest.mark.parametrize("row, method", _fresh_cases())
def test_failed_training_leaves_fresh_estimator_unfitted(row, method):
    X, _, _ = _data()
    est = ChinchillaClassifier()
    with pytest.raises(row.error, match=row.match):
        _call(est, method, row.make(*_data()))
    assert _fitted_state(est) == {}, "a failed call set attributes"
    with pytest.raises(NotFittedError):
        est.predict(X)


# ---------------------------------------------------------------------------
# A failed refit on other data keeps the fitted model
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_target",
    ["continuous_y", "negative_weight"],
    ids=["continuous_y", "negative_weight"],
)
def test_failed_refit_with_other_n_features_keeps_model(bad_target):
    X, y, sample_weight = _data()
    est = ChinchillaClassifier().fit(X, y)
    predictions = _predictions(est, X)
    if bad_target == "continuous_y":
        args = (X[:, :3], np.linspace(0.1, 0.9, N_SAMPLES))
        kwargs = {}
    else:
        args = (X[:, :3], y)
        kwargs = {"sample_weight": -sample_weight}
    with pytest.raises(ValueError):
        est.fit(*args, **kwargs)
    assert est.n_features_in_ == N_FEATURES
    _assert_same(_predictions(est, X), predictions, "predictions")


def test_failed_refit_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, _ = _data()
    names = np.array(["a", "b", "c", "d"], dtype=object)
    est = ChinchillaClassifier().fit(pd.DataFrame(X, columns=names), y)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=NAN):
        est.fit(X_nan, y)
    assert_array_equal(est.feature_names_in_, names)


# ---------------------------------------------------------------------------
# Sparse matrices that are not in canonical format
# ---------------------------------------------------------------------------


def _sparse_problem(n_samples=50, n_features=60, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    X[rng.random(X.shape) < 0.7] = 0.0
    X = np.round(X * 64) / 64  # few mantissa bits: duplicates sum back exactly
    y = (X[:, :5].sum(axis=1) + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    return X, y


def _non_canonical(X, fmt, kind, n_pieces=2):
    """``X`` as a ``fmt`` matrix with reversed (unsorted) indices in each major
    slice, or with each entry split into ``n_pieces`` equal duplicate entries."""
    A = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "csr_array": sp.csr_array}[fmt](X)
    indptr, indices, data = A.indptr, A.indices, A.data
    if kind == "unsorted":
        order = np.concatenate(
            [np.arange(start, stop)[::-1] for start, stop in zip(indptr, indptr[1:])]
        )
        indices, data = indices[order], data[order]
    else:
        indices = np.repeat(indices, n_pieces)
        data = np.repeat(data / n_pieces, n_pieces)
        indptr = indptr * n_pieces
    out = A.__class__((data, indices, indptr.copy()), shape=A.shape)
    assert not out.has_canonical_format
    assert abs(out - A).max() == 0  # the same matrix
    return out


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
@pytest.mark.parametrize("kind", ["unsorted", "duplicates"])
@pytest.mark.parametrize("fmt", ["csr", "csc", "csr_array"])
def test_non_canonical_sparse_gives_same_model(fmt, kind, l1_ratio):
    X, y = _sparse_problem()
    X_odd = _non_canonical(X, fmt, kind)
    before = _snapshot(X_odd)
    params = dict(C=0.3, l1_ratio=l1_ratio, tol=1e-8)
    canonical = ChinchillaClassifier(**params).fit(sp.csr_matrix(X), y)
    odd = ChinchillaClassifier(**params).fit(X_odd, y)
    # The same objective (only the summation order of the products differs),
    # both solved to tol=1e-8: ATOL is derived in test_invariances.py.
    np.testing.assert_allclose(odd.coef_, canonical.coef_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(odd.intercept_, canonical.intercept_, atol=ATOL)
    _assert_same(X_odd, before, "caller's X")  # not canonicalised in place


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_many_duplicate_entries_give_same_model(fmt):
    X, y = _sparse_problem(seed=4)
    X_odd = _non_canonical(X, fmt, "duplicates", n_pieces=16)
    params = dict(C=0.15, l1_ratio=1.0, tol=1e-8)
    canonical = ChinchillaClassifier(**params).fit(sp.csr_matrix(X), y)
    odd = ChinchillaClassifier(**params).fit(X_odd, y)
    np.testing.assert_allclose(odd.coef_, canonical.coef_, rtol=0, atol=ATOL)


@pytest.mark.parametrize("kind", ["unsorted", "duplicates"])
def test_non_canonical_sparse_at_predict(kind):
    X, y = _sparse_problem()
    est = ChinchillaClassifier(C=0.3, l1_ratio=0.5).fit(X, y)
    X_odd = _non_canonical(X, "csr", kind)
    before = _snapshot(X_odd)
    for method in ("predict", "predict_proba", "predict_log_proba",
                   "decision_function"):
        np.testing.assert_allclose(
            getattr(est, method)(X_odd), getattr(est, method)(X), rtol=0,
            atol=1e-12,
        )
    _assert_same(X_odd, before, "caller's X")
