"""Shared test helpers: small seeded datasets, the reference fit, the objective.

Everything here is built lazily (on first call) and cached, so importing the
test modules builds no data and each reference problem is solved once per session.

- ``make_data(name, fmt)``: a small seeded dataset in a given storage format.
- ``reference_fit(X, y, ...)``: scikit-learn's ``LogisticRegression`` solved to a
  tight tolerance (the one helper that builds the reference).
- ``objective(coef, intercept, X, y, ...)``: the objective of DESIGN.md, written
  from scratch (it shares no code with the package nor with scikit-learn).
"""

import functools
import warnings

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

# Tolerances of the reference solvers. The references are checked for optimality
# in ``test_exactness.py::test_reference_*``.
REFERENCE_TOL_SMOOTH = 1e-12  # newton-cg, l1_ratio == 0 (max |scaled gradient|)
REFERENCE_TOL_SAGA = 1e-12  # saga, l1_ratio > 0 (max relative change per epoch)
REFERENCE_MAX_ITER_SAGA = 200_000

# name -> (n_samples, n_features, n_classes, n_informative, seed, scale)
_DATASETS = {
    "binary": (100, 12, 2, 4, 0, 1.0),
    "multiclass": (120, 10, 3, 4, 1, 1.0),
    # Nearly separable: large weights, used to get extreme decision values.
    "separable_binary": (80, 8, 2, 3, 2, 8.0),
    "separable_multiclass": (90, 8, 3, 3, 3, 8.0),
}

FORMATS = ("dense", "csr", "csc", "csr_array", "csc_array")


def _draw_labels(rng, Z):
    """Draw labels 0..K-1 from a softmax (K >= 2) of the columns of ``Z``."""
    P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    u = rng.random((Z.shape[0], 1))
    return (u > np.cumsum(P, axis=1)).sum(axis=1)


@functools.lru_cache(maxsize=None)
def _dense_data(name):
    n_samples, n_features, n_classes, n_informative, seed, scale = _DATASETS[name]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    # About half of the entries are exact zeros, so the sparse versions are sparse.
    X[rng.random((n_samples, n_features)) < 0.5] = 0.0
    W = np.zeros((n_features, n_classes))
    W[:n_informative] = scale * rng.uniform(1.0, 2.5, size=(n_informative, n_classes))
    W[:n_informative] *= rng.choice([-1.0, 1.0], size=(n_informative, n_classes))
    if n_classes == 2:
        W[:, 0] = 0.0  # a plain logistic model, w = W[:, 1]
    # An intercept that makes the classes unequal in size ("balanced" matters).
    b = np.linspace(0.6, -0.6, n_classes)
    y = _draw_labels(rng, X @ W + b)
    assert np.unique(y).size == n_classes
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def make_data(name, fmt="dense", dtype=np.float64):
    """Return a fresh copy ``(X, y)`` of dataset ``name`` stored as ``fmt``.

    ``name`` is a key of ``_DATASETS``; ``fmt`` one of ``FORMATS``. The data are the
    same numbers in every format, and callers may modify the copies they get.
    """
    X, y = _dense_data(name)
    X = X.astype(dtype)  # a copy
    converters = {
        "dense": lambda A: A,
        "csr": sp.csr_matrix,
        "csc": sp.csc_matrix,
        "csr_array": sp.csr_array,
        "csc_array": sp.csc_array,
    }
    return converters[fmt](X), y.copy()


def make_sample_weight(n_samples, seed=0):
    """Positive, non-uniform sample weights in [0.5, 2]."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=n_samples)


def _to_dense_float64(X):
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return np.ascontiguousarray(X, dtype=np.float64)


_REFERENCE_CACHE = {}


def reference_fit(
    X,
    y,
    *,
    C,
    l1_ratio,
    sample_weight=None,
    class_weight=None,
    fit_intercept=True,
):
    """scikit-learn's ``LogisticRegression`` solved tightly on ``(X, y)``; cached.

    ``l1_ratio == 0`` uses newton-cg (Newton steps: reaches the optimum to
    ``REFERENCE_TOL_SMOOTH`` on the gradient reliably); ``l1_ratio > 0`` uses saga
    with many epochs. Sparse ``X`` is solved on its dense copy, so the dense and
    sparse versions of a dataset share one reference. A ``ConvergenceWarning`` of
    the reference is an error: the reference must be trusted. Do not modify the
    returned estimator (it is shared through the cache).
    """
    X = _to_dense_float64(X)
    y = np.asarray(y)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if isinstance(class_weight, dict):
        class_weight = dict(sorted(class_weight.items()))
    key = joblib.hash(
        (X, y, float(C), float(l1_ratio), sample_weight, class_weight, fit_intercept)
    )
    if key not in _REFERENCE_CACHE:
        if l1_ratio == 0:
            solver_params = dict(
                solver="newton-cg", tol=REFERENCE_TOL_SMOOTH, max_iter=1000
            )
        else:
            solver_params = dict(
                solver="saga",
                tol=REFERENCE_TOL_SAGA,
                max_iter=REFERENCE_MAX_ITER_SAGA,
                random_state=0,
            )
        ref = LogisticRegression(
            C=C,
            l1_ratio=l1_ratio,
            class_weight=class_weight,
            fit_intercept=fit_intercept,
            **solver_params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            ref.fit(X, y, sample_weight=sample_weight)
        _REFERENCE_CACHE[key] = ref
    return _REFERENCE_CACHE[key]


def class_weight_per_sample(y, classes, class_weight, sample_weight=None):
    """The factor ``class_weight[y_i]`` for each sample, as scikit-learn's
    ``compute_class_weight`` defines it.

    "balanced": ``sum(s) / (n_classes * per-class sum of s)`` where ``s`` is the
    sample weight (ones when None): scikit-learn >= 1.6 counts weighted samples.
    dict: the given weight, 1 for classes not in the dict.
    """
    y_idx = np.searchsorted(classes, y)
    n_classes = len(classes)
    if class_weight is None:
        return np.ones(len(y))
    if isinstance(class_weight, str):
        assert class_weight == "balanced"
        s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        counts = np.bincount(y_idx, weights=s, minlength=n_classes)
        return (s.sum() / (n_classes * counts))[y_idx]
    per_class = np.array([float(class_weight.get(c, 1.0)) for c in classes])
    return per_class[y_idx]


def objective(
    coef,
    intercept,
    X,
    y,
    *,
    C,
    l1_ratio,
    sample_weight=None,
    class_weight=None,
    classes=None,
):
    """The objective of DESIGN.md, in float64, from scratch.

        C * sum_i s_i * loss_i + (1 - l1_ratio) / 2 * ||W||_2^2 + l1_ratio * ||W||_1

    with ``s_i = sample_weight_i * class_weight[y_i]``, the intercept not penalised,
    ``C = np.inf`` meaning ``sum_i s_i * loss_i`` (no penalty). Binary (``coef`` of
    shape (1, n_features)): ``loss = log(1 + exp(z)) - y z`` with ``y`` in {0, 1}
    (``y == classes[1]``); more classes: ``loss = logsumexp(z) - z[y]``.
    """
    coef = coef.toarray() if sp.issparse(coef) else np.asarray(coef)
    coef = np.atleast_2d(coef).astype(np.float64)
    intercept = np.broadcast_to(
        np.asarray(intercept, dtype=np.float64), (coef.shape[0],)
    )
    X = X.tocsr().astype(np.float64) if sp.issparse(X) else np.asarray(X, np.float64)
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    s = (
        np.ones(len(y))
        if sample_weight is None
        else np.asarray(sample_weight, dtype=np.float64)
    )
    s = s * class_weight_per_sample(y, classes, class_weight, sample_weight)

    Z = np.asarray(X @ coef.T) + intercept  # (n_samples, 1 or n_classes)
    y_idx = np.searchsorted(classes, y)
    if len(classes) == 2:
        assert coef.shape[0] == 1
        z = Z[:, 0]
        # log(1 + exp(z)) = -log(sigmoid(-z)), stable for all z.
        loss = -log_expit(-z) - (y_idx == 1) * z
    else:
        assert coef.shape[0] == len(classes)
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y_idx]
    data_term = np.sum(s * loss)
    if np.isinf(C):
        return float(data_term)
    penalty = (1.0 - l1_ratio) / 2.0 * np.sum(coef**2) + l1_ratio * np.sum(np.abs(coef))
    return float(C * data_term + penalty)
