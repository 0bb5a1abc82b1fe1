"""What the classifier, the path and the CV estimator share: parameters and problems.

:class:`~chinchilla_sklearn.ChinchillaClassifier`,
:func:`~chinchilla_sklearn.regularization_path` and
:class:`~chinchilla_sklearn.ChinchillaClassifierCV` take the same model
parameters, validate the same data, encode labels the same way and build the
same :class:`~chinchilla_sklearn._objective.Problem`: it is written here once
(as scikit-learn's ``LogisticRegression`` and ``LogisticRegressionCV`` share
``_logistic_regression_path``).
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_X_y,
    column_or_1d,
    validate_data,
)

from ._objective import Problem
from ._penalty import Penalty
from ._targets import encode_classes, encode_labels
from ._utils import as_sparse_array

# The parameters of the model that a search does not tune: every estimator
# and function that fits the model takes them with these constraints.
MODEL_PARAMETER_CONSTRAINTS = {
    "shared_support": ["boolean"],
    "gate": ["boolean"],
    "gate_threshold": [Interval(Real, 0, 1, closed="both")],
    "fit_intercept": ["boolean"],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
# The parameters a search tunes.
C_CONSTRAINT = Interval(Real, 0, None, closed="right")
L1_RATIO_CONSTRAINT = Interval(Real, 0, 1, closed="both")
# The model parameters that the gate loop reads (the others shape the problem).
GATE_PARAMETERS = ("gate", "gate_threshold", "tol", "max_iter")


def check_fit_data(X, y, estimator=None):
    """Validate ``X`` and ``y`` of a fit; return them.

    ``X`` keeps its CSR or CSC storage (a scipy.sparse matrix is wrapped as the
    sparse array on the same arrays, see ``as_sparse_array``), float32 stays
    float32. A 2-D ``y`` of one column becomes 1-D with a warning. With an
    ``estimator``, scikit-learn's ``validate_data`` also sets (and checks)
    ``n_features_in_`` and ``feature_names_in_``.
    """
    options = dict(accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
                   multi_output=True)
    if estimator is None:
        X, y = check_X_y(X, y, **options)
    else:
        X, y = validate_data(estimator, X, y, **options)
    X = as_sparse_array(X)  # the same arrays; int64 indices stay int64
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    _check_targets(y)
    return X, y


def _check_targets(y):
    """Raise unless ``y`` holds classes (scikit-learn's check_classification_targets).

    Integer labels in one column always do: there scikit-learn's check (0.1 ms,
    a thirtieth of a breast cancer fit) finds nothing, unless most labels are
    distinct, where it warns (it is then called).
    """
    if y.ndim == 1 and y.dtype.kind in "biu" and (
            y.size <= 20 or np.unique(y).size <= round(0.5 * y.size)):
        return
    check_classification_targets(y)


@dataclass(frozen=True)
class Targets:
    """Encoded labels and weights of a fit, before ``C`` scales them.

    Attributes
    ----------
    classes : ndarray
        ``classes_``: the sorted labels, or ``np.arange(n_labels)`` (multilabel).
    multilabel : bool
    label_dtype : str or None
        The dtype of a multilabel ``y`` (``predict`` returns it), else None.
    Y : ndarray or ClassLabels of shape (n_samples, n_outputs)
    s : ndarray
        ``sample_weight * class_weight``: of shape (n_samples, 1) binary,
        (n_samples,) multinomial, (n_samples, n_labels) multilabel.
    loss : SigmoidLoss or SoftmaxLoss
    sample_weight : ndarray of shape (n_samples,)
        The validated sample weights (ones when none were given).
    """

    classes: np.ndarray
    multilabel: bool
    label_dtype: object
    Y: object
    s: np.ndarray
    loss: object
    sample_weight: np.ndarray

    @property
    def n_outputs(self):
        """Return the number of columns of ``W``: 1 (binary), classes or labels."""
        return self.Y.shape[1]


def encode_targets(X, y, sample_weight, class_weight):
    """Validate the weights and encode ``y``; return :class:`Targets`.

    The caller's ``sample_weight`` is never written into: ``s`` is a new array.
    """
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    if y.ndim == 2:
        Y, s, loss = encode_labels(y, sample_weight, class_weight, X.dtype)
        return Targets(np.arange(y.shape[1]), True, y.dtype.str, Y, s, loss,
                       sample_weight)
    classes, Y, s, loss = encode_classes(y, sample_weight, class_weight, X.dtype)
    return Targets(classes, False, None, Y, s, loss, sample_weight)


def set_targets(estimator, targets):
    """Set the fitted attributes that describe the labels (``classes_`` and more)."""
    estimator.classes_ = targets.classes
    estimator._multilabel = targets.multilabel
    if targets.multilabel:
        estimator._label_dtype = targets.label_dtype  # a string: safe for skops


def scaled_problem(X, Y, s, loss, *, C, l1_ratio, shared_support, fit_intercept):
    """Return the Problem at ``C``: ``C`` in the weights ``s`` (in place), the penalty.

    ``s`` must be an array of the caller's own (never the user's weights).
    ``C=np.inf`` has no penalty and leaves ``s`` as it is.
    """
    finite_C = np.isfinite(C)
    if finite_C:
        s *= X.dtype.type(C)
    penalty = Penalty(
        l1=float(l1_ratio) if finite_C else 0.0,
        l2=float(1 - l1_ratio) if finite_C else 0.0,
        group=bool(shared_support) and Y.shape[1] > 1,
    )
    return Problem(X, Y, s, loss, penalty, fit_intercept)


def coef_and_intercept(W, b, targets, fit_intercept):
    """Return ``(coef_, intercept_)`` of the solution ``(W, b)``.

    The softmax does not change under a common shift of the intercepts, so a
    multinomial intercept is centred to sum to zero.
    """
    if b.size > 1 and not targets.multilabel:
        b = b - b.mean()
    coef = np.ascontiguousarray(W.T)
    return coef, (b if fit_intercept else np.zeros_like(b))
