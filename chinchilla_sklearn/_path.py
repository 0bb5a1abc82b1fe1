"""The regularisation path: one fit per ``C``, from the strongest penalty down.

Neighbouring values of ``C`` have neighbouring solutions, so each fit starts
from the previous ones (a warm start, from the line through the last two
solutions: see :func:`predict_start`): the gate's first working set is then the
predicted support plus the strongest violators, and a fit takes a fraction of
the Newton steps of a fit from zero. Below the largest ``C`` at which every
weight is zero the solution is known in closed form and no fit runs at all.

The largest such ``C``. With the weights at zero and the intercept at its
optimum (the weighted class frequencies), the residuals are ``R0 = s * (P0 -
Y)``, the same for every ``C`` up to the factor ``C`` itself; the gradient of
the loss part is ``C * X.T @ R0``. Zero weights are optimal when each feature's
gradient lies in the subdifferential of the L1 part at zero, that is when its
dual norm is at most ``l1_ratio`` (the ridge part has no gradient at zero):
``C * ||x_j^T R0|| <= l1_ratio`` for every feature ``j``, the norm over the
outputs being the largest absolute value (L1) or the Euclidean norm (shared
support). So every weight is zero exactly for

    C <= C_min = l1_ratio / max_j ||x_j^T R0||.

Without an intercept ``P0`` is the link at zero (1/2, or 1/n_classes). For a
binary problem with no intercept and no weights, ``R0 = (1/2 - y)`` and this is
scikit-learn's ``l1_min_c(X, y, loss="log", fit_intercept=False)``.
"""

import inspect
import time
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.special import logit
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    Interval,
    validate_parameter_constraints,
    validate_params,
)

from ._base import (
    L1_RATIO_CONSTRAINT,
    MODEL_PARAMETER_CONSTRAINTS,
    check_fit_data,
    coef_and_intercept,
    encode_targets,
    scaled_problem,
)
from ._gate import run_gate
from ._loss import ClassLabels

# An integer Cs spans this factor above C_min on a log scale (glmnet's range);
# with no L1 part, LogisticRegressionCV's np.logspace(-4, 4, Cs).
PATH_SPAN = 1e4
NO_L1_RANGE = (-4, 4)
PATH_PARAMETERS = ("shared_support", "gate", "gate_threshold", "fit_intercept",
                   "class_weight", "tol", "max_iter", "verbose")


@dataclass
class PathResult:
    """The fits of one path, in the order of ``Cs``.

    ``coefs`` holds one ``coef_`` per ``C``: a dense array without an L1 part,
    else a CSR matrix (the solutions are sparse, and a path of a multinomial
    model on many features would take n_Cs dense copies).
    """

    Cs: np.ndarray
    coefs: list
    intercepts: np.ndarray
    n_iter: np.ndarray
    dual_gaps: np.ndarray
    fit_times: np.ndarray
    converged: np.ndarray
    C_min: float

    def dense_coefs(self):
        """Return the coefficients as one array (n_Cs, n_outputs, n_features)."""
        return np.stack([c.toarray() if sp.issparse(c) else c for c in self.coefs])


def zero_model(X, targets, fit_intercept):
    """Return the intercept of the zero-weight model and its gradient ``X.T @ R0``.

    ``R0 = s * (P0 - Y)`` without ``C``: the residuals of the model with zero
    weights and the optimal intercept (the weighted class frequencies, in closed
    form), or the zero intercept without one.
    """
    s, Y = targets.s, targets.Y
    dtype = X.dtype
    if isinstance(Y, ClassLabels):  # softmax: P0 = the weighted class shares
        if fit_intercept:
            P0 = np.bincount(Y.labels, weights=s, minlength=Y.n_classes) / s.sum()
            # a class of zero weight has the intercept -inf: a finite stand-in
            log_P0 = np.log(np.maximum(P0, np.finfo(dtype).tiny))
            b0 = log_P0 - log_P0.mean()
        else:
            P0 = np.full(Y.n_classes, 1.0 / Y.n_classes)
            b0 = np.zeros(Y.n_classes)
        R0 = s[:, None] * P0
        R0[np.arange(Y.labels.size), Y.labels] -= s
    else:  # one sigmoid per output, each its own weighted frequency
        s = np.broadcast_to(s, Y.shape)
        if fit_intercept:
            P0 = (s * Y).sum(axis=0) / s.sum(axis=0)
            b0 = logit(P0)
        else:
            P0 = np.full(Y.shape[1], 0.5)
            b0 = np.zeros(Y.shape[1])
        R0 = s * (P0 - Y)
    return b0.astype(dtype), np.asarray(X.T @ R0.astype(dtype))


def largest_zero_C(l1_ratio, G0, *, shared_support):
    """Return the largest ``C`` at which every weight is zero (inf if there is none).

    ``G0`` is ``X.T @ R0`` (:func:`zero_model`); see the module's docstring.
    ``l1_ratio=0`` has no such ``C``: 0.
    """
    if l1_ratio == 0:
        return 0.0
    if G0.shape[1] == 1:
        norms = np.abs(G0[:, 0])
    elif shared_support:
        norms = np.sqrt((G0.astype(np.float64) ** 2).sum(axis=1))
    else:
        norms = np.abs(G0).max(axis=1)
    largest = float(norms.max(initial=0.0))
    return l1_ratio / largest if largest > 0 else np.inf


def make_Cs(Cs, C_min):
    """Return the grid: ``Cs`` values as given, or an integer's log-spaced grid.

    An integer grid starts at ``C_min`` and spans ``PATH_SPAN``; without a
    finite positive ``C_min`` (no L1 part, or no feature that ever enters) it is
    ``np.logspace(-4, 4, Cs)``, LogisticRegressionCV's.
    """
    if isinstance(Cs, Integral):
        if 0 < C_min < np.inf:
            return C_min * np.logspace(0, np.log10(PATH_SPAN), Cs)
        return np.logspace(*NO_L1_RANGE, Cs)
    Cs = np.asarray(Cs, dtype=np.float64).ravel()
    if Cs.size == 0 or not np.all(np.isfinite(Cs) & (Cs > 0)):
        raise ValueError(f"Cs must be positive finite numbers; got {Cs!r}.")
    return Cs


def fit_path(X, targets, Cs, *, l1_ratio, shared_support, fit_intercept, gate,
             gate_threshold, tol, max_iter, verbose=0, C_min=None, zero=None):
    """Fit the model at every ``C`` of ``Cs`` with warm starts; return a PathResult.

    The fits run from the smallest ``C`` up, whatever the order of ``Cs``; the
    result is in the order of ``Cs``. ``zero`` is :func:`zero_model`'s result
    (computed when None), and ``C_min`` the largest ``C`` with zero weights.
    """
    if zero is None:
        zero = zero_model(X, targets, fit_intercept)
    b0, G0 = zero
    if C_min is None:
        C_min = largest_zero_C(l1_ratio, G0, shared_support=shared_support)
    gated = gate and l1_ratio > 0
    if gated and sp.issparse(X) and X.format == "csr":
        # the gate takes working-set columns every round: one copy of X to CSC
        # for the whole path, not one per C (run_gate keeps a CSC X as it is)
        X = X.tocsc()
    n_Cs, n_outputs, n_features = len(Cs), targets.n_outputs, X.shape[1]
    result = PathResult(
        np.asarray(Cs), [None] * n_Cs, np.zeros((n_Cs, n_outputs), dtype=X.dtype),
        np.zeros(n_Cs, dtype=int), np.zeros(n_Cs), np.zeros(n_Cs),
        np.ones(n_Cs, dtype=bool), C_min,
    )
    W = np.zeros((n_features, n_outputs), dtype=X.dtype)
    b = b0.copy()
    history = []  # (log C, W, b) of the last two solutions, for the predictor
    for i in np.argsort(Cs, kind="stable"):
        C, start = float(Cs[i]), time.perf_counter()
        if C <= C_min:  # the zero model is the solution (module's docstring):
            # one iteration, the check of its gradient G0 made by zero_model
            W, b = np.zeros_like(W), b0.copy()
            n_iter, gap = 1, 0.0
        else:
            problem = scaled_problem(
                X, targets.Y, targets.s.copy(), targets.loss, C=C, l1_ratio=l1_ratio,
                shared_support=shared_support, fit_intercept=fit_intercept,
            )
            W, b = predict_start(problem, history, np.log(C), W, b)
            gate_result = run_gate(problem, W, b, gate=gate,
                                   gate_threshold=gate_threshold, tol=tol,
                                   max_iter=max_iter)
            W, b = gate_result.W, gate_result.b
            n_iter, gap = len(gate_result.records), gate_result.gap
            result.converged[i] = gate_result.converged
        history = [*history[-1:], (np.log(C), W, b)]
        coef, intercept = coef_and_intercept(W, b, targets, fit_intercept)
        result.coefs[i] = sp.csr_array(coef) if l1_ratio > 0 else coef
        result.intercepts[i] = intercept
        result.n_iter[i], result.dual_gaps[i] = n_iter, gap
        result.fit_times[i] = time.perf_counter() - start
        if verbose:
            print(f"C={C:.4e}: {n_iter} iterations, {np.count_nonzero(coef)} "
                  f"non-zero weights, {result.fit_times[i]:.3f} s")
    if not result.converged.all():
        warnings.warn(
            f"The path did not converge at C = "
            f"{np.round(result.Cs[~result.converged], 6).tolist()} in "
            f"{max_iter} iterations (tol={tol}). Increase max_iter or tol, or "
            "scale the features.",
            ConvergenceWarning,
        )
    return result


def predict_start(problem, history, log_C, W, b):
    """Return the start of the fit at ``exp(log_C)``: a secant predictor or ``(W, b)``.

    The solution moves smoothly with ``log C`` while the support stays, so the
    line through the last two solutions predicts the next one far better than
    the last solution alone (a predictor-corrector path [1]_, with the secant
    for the derivative): on the 20,000 x 50,000 text benchmark, L1, the fits at
    the weak-penalty end took 4-7 Newton steps from the prediction against 12-18
    from the last solution. The prediction keeps the last support and its signs
    (a weight the line takes across zero is set to zero, a zero weight stays
    zero), so it is on the face the last solution was. The start with the lower
    objective is returned (two passes over ``X``): the gate certifies the answer
    from either, so the predictor changes only the cost.

    References
    ----------
    .. [1] Park, Hastie (2007). "L1-regularization path algorithm for
       generalized linear models". Journal of the Royal Statistical Society B
       69(4), 659-677.
    """
    if len(history) < 2 or history[1][0] <= history[0][0]:
        return W, b
    (log_C0, W0, b0), (log_C1, W1, b1) = history
    t = (log_C - log_C1) / (log_C1 - log_C0)
    W_line = W1 + W.dtype.type(t) * (W1 - W0)
    if problem.penalty.l1 > 0:
        if problem.penalty.group:
            keep = np.any(W1 != 0, axis=1, keepdims=True)
        else:
            keep = np.sign(W_line) == np.sign(W1)
        W_line = np.where(keep, W_line, 0).astype(W.dtype, copy=False)
    b_line = b1 + b.dtype.type(t) * (b1 - b0)
    if _objective_at(problem, W_line, b_line) < _objective_at(problem, W, b):
        return W_line, b_line
    return W, b


def _objective_at(problem, W, b):
    """Return the objective at ``(W, b)`` (one pass over ``X``)."""
    Z = np.asarray(problem.X @ W) + b
    value = problem.loss.value(problem.Y, Z, problem.s) + problem.penalty.value(W)
    return value if np.isfinite(value) else np.inf


def model_parameters(params, caller):
    """Return the model parameters of a path: the classifier's defaults, updated.

    Unknown names raise a TypeError; values are checked against the
    classifier's constraints.
    """
    from ._classifier import ChinchillaClassifier

    unknown = sorted(set(params) - set(PATH_PARAMETERS))
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword arguments {unknown}; "
                        f"the model parameters it takes are {list(PATH_PARAMETERS)}.")
    signature = inspect.signature(ChinchillaClassifier).parameters
    values = {name: signature[name].default for name in PATH_PARAMETERS}
    values.update(params)
    constraints = {name: MODEL_PARAMETER_CONSTRAINTS[name] for name in values}
    validate_parameter_constraints(constraints, values, caller_name=caller)
    return values


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratio": [L1_RATIO_CONSTRAINT],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def regularization_path(X, y, *, Cs=20, l1_ratio=1.0, sample_weight=None, **params):
    """Fit a warm-started regularisation path of the model of ChinchillaClassifier.

    Fits ``ChinchillaClassifier(C=C, l1_ratio=l1_ratio, **params)`` at each
    ``C`` of ``Cs``, from the smallest ``C`` (the strongest penalty) up, each
    fit starting from the previous ones (the line through the last two
    solutions): the gate's first working set is the predicted support plus the
    strongest violators, so a fit takes a fraction of the Newton steps of a fit
    from zero. At and below the largest ``C`` at which every weight
    is zero, the solution is known (zero weights, the intercept of the weighted
    class frequencies) and no fit runs.

    Read more in the :ref:`User Guide <tuning>`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data, never densified (CSR is converted once to CSC for the
        whole path when there is an L1 part and the gate is on).

    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Target labels, or a 0/1 indicator matrix of labels (multilabel).

    Cs : int or array-like of float, default=20
        The values of ``C``. An integer ``n`` gives ``n`` values on a log scale
        from ``C_min``, the largest ``C`` at which every weight is zero, to
        ``1e4 * C_min``. ``C_min = l1_ratio / max_j ||x_j^T R0||``, with ``R0``
        the residuals of the zero-weight model with its intercept fitted (see
        the user guide); exact for binary, multinomial and multilabel models,
        shared support, sample and class weights, with or without intercept.
        Without an L1 part (``l1_ratio=0``) there is no such ``C``, and the
        values are ``np.logspace(-4, 4, n)``, as in
        :class:`~sklearn.linear_model.LogisticRegressionCV`. An array gives
        the values themselves (positive, finite), in any order.

    l1_ratio : float, default=1.0
        Elastic-net mixing parameter in [0, 1]: 0 is L2, 1 is L1.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples.

    **params : dict
        The other parameters of :class:`ChinchillaClassifier`:
        ``shared_support``, ``gate``, ``gate_threshold``, ``fit_intercept``,
        ``class_weight``, ``tol``, ``max_iter`` (outer iterations per ``C``) and
        ``verbose`` (> 0: one line per ``C``), with the same defaults.

    Returns
    -------
    path : :class:`~sklearn.utils.Bunch`
        With the keys

        - ``Cs``: ndarray of shape (n_Cs,), the values of ``C`` used;
        - ``coefs``: ndarray of shape (n_Cs, n_outputs, n_features), ``coef_``
          at each ``C`` (``n_outputs`` is 1 for binary problems);
        - ``intercepts``: ndarray of shape (n_Cs, n_outputs), ``intercept_``;
        - ``n_iter``: ndarray of shape (n_Cs,), outer iterations of each fit
          (1 where the zero model is the solution: the gradient pass that
          checks it, made to find ``C_min``);
        - ``dual_gaps``: ndarray of shape (n_Cs,), the relative duality gap
          certified at the end of each fit;
        - ``classes``: ndarray, ``classes_`` of the model;
        - ``C_min``: float, the largest ``C`` at which every weight is zero
          (0 without an L1 part, inf when no feature ever enters).

    See Also
    --------
    ChinchillaClassifierCV : Cross-validated choice of ``C`` along such paths.
    sklearn.linear_model.enet_path : The path of linear regression models.

    References
    ----------
    .. [1] Friedman, Hastie, Tibshirani (2010). "Regularization paths for
       generalized linear models via coordinate descent". Journal of
       Statistical Software 33(1).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from chinchilla_sklearn import regularization_path
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> path = regularization_path(X, y, Cs=5)
    >>> path.coefs.shape
    (5, 1, 30)
    >>> int((path.coefs[0] != 0).sum()), int((path.coefs[1] != 0).sum()) > 0
    (0, True)
    """
    params = model_parameters(params, "regularization_path")
    X, y = check_fit_data(X, y)
    targets = encode_targets(X, y, sample_weight, params["class_weight"])
    zero = zero_model(X, targets, params["fit_intercept"])
    C_min = largest_zero_C(l1_ratio, zero[1], shared_support=params["shared_support"])
    Cs = make_Cs(Cs, C_min)
    result = fit_path(
        X, targets, Cs, l1_ratio=l1_ratio, C_min=C_min, zero=zero,
        **{name: params[name] for name in PATH_PARAMETERS if name != "class_weight"},
    )
    return Bunch(Cs=result.Cs, coefs=result.dense_coefs(),
                 intercepts=result.intercepts, n_iter=result.n_iter,
                 dual_gaps=result.dual_gaps, classes=targets.classes,
                 C_min=C_min)
