"""The estimator: parameters, validation, label encoding and fitted attributes."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import (
    C_CONSTRAINT,
    L1_RATIO_CONSTRAINT,
    MODEL_PARAMETER_CONSTRAINTS,
    check_fit_data,
    encode_targets,
    scaled_problem,
    set_targets,
)
from ._callbacks import CallbackSupportMixin, FitCallbacks
from ._gate import run_gate
from ._loss import SigmoidLoss, SoftmaxLoss, log1pexp, log_softmax
from ._online import OnlineState, update_online
from ._targets import encode_online_classes, encode_online_labels
from ._utils import unchanged_on_error


class ChinchillaClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    r"""Sparse, gated, exact linear-sigmoid (regularised logistic) classifier.

    Minimises, over the weights ``w`` and the unpenalised intercept ``b``,

    .. math::

        C \sum_i s_i \, \ell(y_i, x_i^\top w + b)
        + \frac{1 - \rho}{2} \|w\|_2^2 + \rho \|w\|_1,

    with :math:`\ell(y, z) = \log(1 + e^z) - y z`, :math:`\rho` = ``l1_ratio``
    and :math:`s_i` = ``sample_weight[i] * class_weight[y_i]``: the objective
    of scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` with the
    same ``C`` and ``l1_ratio``, so both reach the same coefficients. With more
    than two classes the model is multinomial (softmax) with the same penalty on
    all weights.

    The fit is an outer loop run by the *dynamic-adjustment gate*: each round
    scores every feature's optimality (KKT) violation, screens features that
    are certified zero (gap-safe rule), picks a working set of features and a
    kernel (sparse products or a dense block), and solves the problem on that
    working set with an orthant-wise Newton method. The gate changes the cost
    of a fit, never its answer.

    :meth:`partial_fit` minimises the same objective online, one mini-batch
    of rows at a time (FTRL-Proximal with AdaGrad steps [4]_, [5]_), on all
    the samples it has seen so far: the penalty counts once against them.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength, in (0, inf]. ``C=np.inf`` means no
        penalty.

    l1_ratio : float, default=0.0
        Elastic-net mixing parameter in [0, 1]: 0 is L2, 1 is L1.

    shared_support : bool, default=False
        Parameter sharing across classes: replace the L1 term by the sum of the
        Euclidean norms of each feature's weights over the classes, so a feature
        is kept for all classes or dropped for all (group lasso). With two
        classes it equals plain L1.

    gate : bool, default=True
        Use the gate's working sets and safe screening. ``gate=False`` runs the
        same solver on all features in every round; the answer is the same
        within ``tol``.

    gate_threshold : float, default=0.5
        In [0, 1]. A feature outside the current support joins the working set
        when its violation is at least ``gate_threshold`` times the largest
        violation; so do the strongest violators up to ``max(100, 3 *
        support size)`` per round (the geometric growth that makes the loop
        converge whatever the threshold). Lower values admit more features per
        round; 0 admits every feature (no gating). The answer does not depend
        on it.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied with ``sample_weight``; "balanced"
        uses ``n_samples / (n_classes * np.bincount(y))`` (weighted by
        ``sample_weight``), as scikit-learn does.

    tol : float, default=1e-4
        Stopping tolerance, >= 0: a certificate. The fit stops when the
        duality gap relative to the objective, ``(P(w, b) - D(theta)) /
        |P(w, b)|``, is at most ``tol``, with ``D`` the dual objective at a
        dual-feasible point ``theta`` built from the residuals (gap safe rules
        [2]_). Since ``D(theta)`` is below the minimum, the objective of the
        returned model is within ``tol`` (relative) of the minimum, whatever
        ``n_samples``, ``C`` or ``l1_ratio``: the rule scikit-learn's
        ``ElasticNet`` and celer use. With ``C=np.inf`` there is no penalty and
        no dual: the fit then stops when the largest entry of the minimum-norm
        subgradient of the objective divided by ``sum_i s_i`` (the scaling of
        scikit-learn's lbfgs) is at most ``tol``.

    max_iter : int, default=100
        Largest number of outer iterations of the gate loop, >= 1.

    warm_start : bool, default=False
        Start from the previous solution when refitting with the same classes
        and features.

    eta0 : float, default=0.01
        Step size scale of :meth:`partial_fit`, > 0. A weight's step is
        ``alpha / sqrt(A)`` with ``A`` the sum of its squared per-sample
        gradients (AdaGrad; the intercept's: of its mini-batch gradients) and
        ``alpha = 23 * eta0 / scale``, ``scale`` the root mean square of the
        non-zero values of ``X`` in the first batch: a weight whose gradients
        are noise around zero moves by about ``alpha`` in a batch. The default
        suits unit-norm rows (TF-IDF) and standardised features alike; lower it
        if the online loss oscillates, raise it if it decreases slowly. Not
        used by :meth:`fit`.

    random_state : int, RandomState instance or None, default=None
        Unused: :meth:`fit` is deterministic, and :meth:`partial_fit` takes
        its mini-batches in the order of the rows given (shuffle the stream
        yourself). Kept for compatibility with scikit-learn's linear models.

    verbose : int, default=0
        If > 0, print one line per outer iteration: objective, relative
        duality gap, violation, working-set size, features screened and
        elapsed time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights (one row for binary problems).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercept; with more than two classes it is centred to sum to zero
        (the softmax does not change under a common shift).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when ``X`` has string column
        names.

    n_iter_ : int
        Number of outer iterations run by :meth:`fit` (without an L1 part,
        or with ``gate=False``, each is one Newton step on all features);
        after :meth:`partial_fit`, the number of its calls since the last
        :meth:`fit` (or since the first call).

    dual_gap_ : float
        The relative duality gap certified at the end of :meth:`fit` (at most
        ``tol`` when it converged): the objective is within ``dual_gap_``
        (relative) of its minimum. ``nan`` with ``C=np.inf`` (no dual).
        Removed by :meth:`partial_fit`.

    loss_curve_ : list of float
        The objective after each outer iteration of :meth:`fit`. After
        :meth:`partial_fit`, one entry per call since the last :meth:`fit`:
        the loss of the call's samples, each computed just before the
        mini-batch step that used it (progressive validation), plus the
        penalty at the call's final weights times the call's share of the
        samples seen (sum of its sample weights over the sum of all). So
        ``n_iter_ == len(loss_curve_)`` always.

    gate_report_ : dict
        What the gate did in the last :meth:`fit`, one entry per outer
        iteration in each list: ``"working_set_size"``, ``"n_screened"``
        (features certified zero so far), ``"violation"`` (largest
        optimality violation after the iteration, scaled as ``tol`` is with
        ``C=np.inf``), ``"gap"`` (relative duality gap after the iteration;
        ``nan`` with ``C=np.inf``), ``"kernel"`` (``"sparse"`` or
        ``"dense"``), and
        ``"skipped_share"`` (float: the share of feature-column passes saved
        against ``gate=False`` for the same products). The gate does not run
        in :meth:`partial_fit`, which removes this attribute.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same objective, other solvers.
    sklearn.linear_model.SGDClassifier : Online linear classifiers.

    References
    ----------
    .. [1] Byrd, Chin, Nocedal, Oztoprak (2016). "A family of second-order
       methods for convex l1-regularized optimization". Math. Programming.
    .. [2] Ndiaye, Fercoq, Gramfort, Salmon (2017). "Gap safe screening rules
       for sparsity enforcing penalties". JMLR 18(128).
    .. [3] Massias, Gramfort, Salmon (2018). "Celer: a fast solver for the
       Lasso with dual extrapolation". ICML.
    .. [4] McMahan et al. (2013). "Ad click prediction: a view from the
       trenches". KDD (FTRL-Proximal).
    .. [5] Duchi, Hazan, Singer (2011). "Adaptive subgradient methods for
       online learning and stochastic optimization". JMLR 12, 2121-2159.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from chinchilla_sklearn import ChinchillaClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = ChinchillaClassifier(C=0.1, l1_ratio=1.0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "C": [C_CONSTRAINT],
        "l1_ratio": [L1_RATIO_CONSTRAINT],
        **MODEL_PARAMETER_CONSTRAINTS,
        "warm_start": ["boolean"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        C=1.0,
        *,
        l1_ratio=0.0,
        shared_support=False,
        gate=True,
        gate_threshold=0.5,
        fit_intercept=True,
        class_weight=None,
        tol=1e-4,
        max_iter=100,
        warm_start=False,
        eta0=0.01,
        random_state=None,
        verbose=0,
    ):
        self.C = C
        self.l1_ratio = l1_ratio
        self.shared_support = shared_support
        self.gate = gate
        self.gate_threshold = gate_threshold
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.eta0 = eta0
        self.random_state = random_state
        self.verbose = verbose

    @unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, never densified. CSC matrices are used as they are;
            CSR matrices too, except with an L1 part and ``gate=True``, where the
            gate takes working-set columns every round and converts a CSR ``X``
            once to CSC (one copy; pass CSC to avoid it). Other sparse formats
            are converted once. float32 data is fitted in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels, or a 0/1 indicator matrix of labels (multilabel: one
            sigmoid per label, losses summed).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; not all zero.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = check_fit_data(X, y, estimator=self)
        problem = self._problem(X, y, sample_weight)
        W, b = self._starting_point(problem)
        callbacks = FitCallbacks(self, X, y, sample_weight)

        def on_record(record):
            if self.verbose:
                self._print_record(record)
            callbacks.iteration_done(last=record.last)

        result = run_gate(
            problem, W, b, gate=self.gate, gate_threshold=self.gate_threshold,
            tol=self.tol, max_iter=self.max_iter, on_record=on_record,
        )
        self._set_solution(result)
        callbacks.fit_done()
        if self.verbose:
            print(f"{'converged' if result.converged else 'stopped'} after "
                  f"{self.n_iter_} iterations: {self._progress_text(result)}, "
                  f"{np.count_nonzero(self.coef_)} non-zero weights")
        if not result.converged:
            warnings.warn(
                f"ChinchillaClassifier did not converge in {self.n_iter_} "
                f"iterations: {self._progress_text(result)} > tol={self.tol}. "
                "Increase max_iter or tol, or scale the features.",
                ConvergenceWarning,
            )
        return self

    @staticmethod
    def _progress_text(result):
        """Describe the stopping value: the duality gap, or the violation (C=inf)."""
        if np.isnan(result.gap):
            return f"the largest optimality (KKT) violation is {result.violation:.3e}"
        return (f"the relative duality gap is {result.gap:.3e} (largest "
                f"optimality violation {result.violation:.3e})")

    @unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with mini-batch steps on the given samples.

        The rows are cut into mini-batches of 512 rows of positive weight, in
        the order given (no shuffling). After each batch the weights minimise
        the linearised losses of all the batches seen so far, the penalty (in
        full, once) and AdaGrad's proximal terms (FTRL-Proximal; the L1 part
        keeps weights exactly zero). So the model follows the objective of
        :meth:`fit` on all the samples seen so far, the size of the data set
        being unknown in a stream: ``E`` epochs over one data set count each
        sample ``E`` times, as :meth:`fit` with ``C * E`` would; pass
        ``sample_weight=1 / E`` to target ``C``. See ``eta0`` for the steps.

        After :meth:`fit`, ``partial_fit`` continues from the fitted weights,
        and the fitted samples count among those seen: the first steps are as
        small as if they had been streamed. The gate does not run:
        ``gate_report_`` is removed, ``n_iter_`` counts the calls since the
        last :meth:`fit` and ``loss_curve_`` holds one objective per call (see
        the class's Attributes). A sparse batch changes only the weights of
        the columns it touches, and costs in proportion to its stored entries.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples of this call. A CSR matrix is used as it is (other
            sparse formats are converted to CSR once, for this call). float32
            data is fitted in float32, int64 indices are kept.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels, or a 0/1 indicator matrix of labels (multilabel).

        classes : array-like of shape (n_classes,), default=None
            All the classes of the stream, e.g. ``np.unique(y_all)``; required
            on the first call and may be omitted later (it must then be the
            same). ``y`` need not hold every class. Multilabel:
            ``np.arange(n_labels)``.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; a sample of weight 0 changes
            nothing.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first_call = not hasattr(self, "classes_")
        if not first_call:  # _fit_context validates only the first call
            self._validate_params_if_changed()
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order "
                "to use 'balanced' weights, use compute_class_weight('balanced', "
                "classes=classes, y=y). In place of y you can use a large enough "
                "sample of the full training set target to properly estimate the "
                "class frequency distributions. Pass the resulting weights as the "
                "class_weight parameter."
            )
        # a batch takes rows of a CSR X as views; CSC is converted once
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            multi_output=True, reset=first_call,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if first_call or y.dtype.kind == "f":  # else y is checked against classes_
            check_classification_targets(y)
        first_call = self._check_classes(classes)
        problem, sample_weight = self._online_problem(X, y, sample_weight, first_call)
        W, b, state = self._online_start(problem)
        result = update_online(problem, W, b, state, sample_weight, eta0=self.eta0)
        self._set_online_solution(W, state, result)
        return self

    def _validate_params_if_changed(self):
        """Validate the parameters unless they are the ones validated last call.

        ``set_params`` may change them between partial_fit calls, but
        ``get_params`` and the constraint checks cost about 0.1 ms a call, as
        much as a mini-batch step. A parameter counts as unchanged when it is
        the same object (``set_params`` and assignment bind a new one) and, for
        a dict (``class_weight``, which can change in place), has the same items.
        """
        values = [getattr(self, name) for name in self._parameter_constraints]
        last = getattr(self, "_validated_params", None)
        if last is not None and len(last) == len(values):
            try:
                if all(value is old or (type(value) is dict and value == old)
                       for value, old in zip(values, last)):
                    return
            except (TypeError, ValueError):  # e.g. a dict of arrays: check it
                pass
        self._validate_params()
        self._validated_params = [dict(value) if type(value) is dict else value
                                  for value in values]

    def _check_classes(self, classes):
        """Return whether this is the first partial_fit call; check ``classes``.

        A later call that passes ``classes_`` again (the usual loop) is settled
        by one comparison; anything else takes scikit-learn's check
        (``unique_labels``, 0.1 ms) and its errors.
        """
        known = getattr(self, "classes_", None)
        if known is not None and classes is not None:
            given = np.asarray(classes)
            if (given.shape == known.shape and given.dtype == known.dtype
                    and np.array_equal(given, known)):
                return False
        return _check_partial_fit_first_call(self, classes)

    def _problem(self, X, y, sample_weight):
        """Encode the labels and weights of the objective into a Problem."""
        targets = encode_targets(X, y, sample_weight, self.class_weight)
        # a partial_fit after this fit starts a new optimiser state; its
        # samples join the ones fitted here (the penalty's share, _online.py)
        self._online_state = None
        self._fit_weight = float(targets.sample_weight.sum())
        set_targets(self, targets)
        return self._scaled_problem(X, targets.Y, targets.s, targets.loss)

    def _scaled_problem(self, X, Y, s, loss):
        """Return the Problem with ``C`` in the weights ``s`` and the penalty."""
        # s is a new array, never the caller's
        return scaled_problem(X, Y, s, loss, C=self.C, l1_ratio=self.l1_ratio,
                              shared_support=self.shared_support,
                              fit_intercept=self.fit_intercept)

    def _online_problem(self, X, y, sample_weight, first_call):
        """Return the Problem of one partial_fit call and the sample weights.

        Labels are encoded against ``classes_``, fixed by the first call.
        """
        if sample_weight is None:  # ones: nothing to check (a check costs ~3%)
            sample_weight = np.broadcast_to(X.dtype.type(1), X.shape[0])
        else:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        if first_call:
            self._multilabel = y.ndim == 2
            if self._multilabel:
                self._label_dtype = y.dtype.str
        if self._multilabel != (y.ndim == 2):
            raise ValueError(
                f"y is {'2-D' if y.ndim == 2 else '1-D'}, but earlier calls fitted "
                f"{'a multilabel' if self._multilabel else 'a single-label'} target."
            )
        if self._multilabel:
            Y, s = encode_online_labels(y, self.classes_, sample_weight,
                                        self.class_weight, X.dtype)
            loss = SigmoidLoss()
        else:
            Y, s = encode_online_classes(y, self.classes_, sample_weight,
                                         self.class_weight, X.dtype)
            loss = SigmoidLoss() if Y.shape[1] == 1 else SoftmaxLoss()
        return self._scaled_problem(X, Y, s, loss), sample_weight

    def _online_start(self, problem):
        """Return the weights, intercept and optimiser state a call starts from.

        The weights are the state's (``coef_.T`` is their view after a call,
        so a call costs O(nnz), not O(n_features)); a ``coef_`` set otherwise
        (fit, sparsify, assignment) is copied into the state.
        """
        n_features, n_outputs = problem.X.shape[1], problem.Y.shape[1]
        dtype = problem.X.dtype
        coef = getattr(self, "coef_", None)
        if coef is None:
            W = np.zeros((n_features, n_outputs), dtype=dtype)
            b = np.zeros(n_outputs, dtype=dtype)
        else:  # after fit or an earlier call: continue from coef_ (dense or not)
            W = (coef.toarray() if sp.issparse(coef) else coef).T
            b = np.asarray(self.intercept_, dtype=dtype)
        state = getattr(self, "_online_state", None)
        width = 1 if problem.penalty.group else n_outputs
        if state is not None and state.root.shape[1] != width:
            state = None  # shared_support was changed: its steps start over
        if state is None:
            state = OnlineState.start(problem.penalty, W.astype(dtype, copy=False), b,
                                      n_prior=getattr(self, "_fit_weight", 0.0))
        else:
            state = state.astype(dtype)
            state.set_weights(W)
        return state.weights, b, state

    def _set_online_solution(self, W, state, result):
        """Set the fitted attributes after a partial_fit call."""
        # the curve goes on from an earlier call, not from a fit
        curve = self.loss_curve_ if getattr(self, "_online_state", None) else []
        b = result.b
        if b.size > 1 and not self._multilabel:
            b = b - b.mean()  # softmax: only differences of intercepts matter
        self.coef_ = W.T
        self.intercept_ = b if self.fit_intercept else np.zeros_like(b)
        self._online_state = state
        self.loss_curve_ = [*curve, result.objective]
        self.n_iter_ = len(self.loss_curve_)
        for name in ("gate_report_", "dual_gap_"):  # a fit's, not these steps
            if hasattr(self, name):
                delattr(self, name)

    def _starting_point(self, problem):
        """Return ``(W, b)``: zeros, or the previous solution with warm_start."""
        n_features, n_outputs = problem.X.shape[1], problem.Y.shape[1]
        dtype = problem.X.dtype
        coef = getattr(self, "coef_", None)
        if self.warm_start and coef is not None and coef.shape == (
            n_outputs, n_features
        ):
            coef = coef.toarray() if sp.issparse(coef) else coef
            b = self.intercept_ if self.fit_intercept else np.zeros(n_outputs)
            return np.array(coef.T, dtype=dtype), np.array(b, dtype=dtype)
        return (np.zeros((n_features, n_outputs), dtype=dtype),
                np.zeros(n_outputs, dtype=dtype))

    def _set_solution(self, result):
        """Set the fitted attributes from the gate's result."""
        b = result.b
        if b.size > 1 and not self._multilabel:
            b = b - b.mean()  # softmax: only differences of intercepts matter
        self.coef_ = np.ascontiguousarray(result.W.T)
        self.intercept_ = b if self.fit_intercept else np.zeros_like(b)
        self.n_iter_ = len(result.records)
        self.dual_gap_ = result.gap
        self.loss_curve_ = [record.objective for record in result.records]
        gate_off_passes = result.n_products * result.W.shape[0]
        self.gate_report_ = {
            "working_set_size": [r.working_set_size for r in result.records],
            "n_screened": [r.n_screened for r in result.records],
            "violation": [r.violation for r in result.records],
            "gap": [r.gap for r in result.records],
            "kernel": [r.kernel for r in result.records],
            "skipped_share": 1.0 - result.column_passes / max(gate_off_passes, 1),
        }

    def _print_record(self, record):
        """Print one outer iteration (verbose)."""
        if record.iteration == 1:
            print(f"{'iter':>5} {'objective':>16} {'gap':>10} {'violation':>10} "
                  f"{'ws':>8} {'screened':>9} {'kernel':>7} {'time [s]':>9}")
        print(f"{record.iteration:>5d} {record.objective:>16.9e} "
              f"{record.gap:>10.3e} "
              f"{record.violation:>10.3e} {record.working_set_size:>8d} "
              f"{record.n_screened:>9d} {record.kernel:>7} {record.elapsed:>9.3f}")

    def decision_function(self, X):
        """Return the decision function (the linear predictor) of the samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems the score of ``classes_[1]``; otherwise one
            column per class.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            reset=False,
        )
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes (multilabel: the indicator matrix).
        """
        scores = self.decision_function(X)
        if self._multilabel:
            return (scores > 0).astype(self._label_dtype)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        # argmax of the log-probabilities, so ties round as in predict_proba
        return self.classes_[log_softmax(scores).argmax(axis=1)]

    def predict_log_proba(self, X):
        """Return the log of the class probabilities, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log P(class | x)``, finite for finite scores (never ``log(0)``).
            Multilabel: ``log P(label j | x)`` for each label.
        """
        scores = self.decision_function(X)
        # log sigmoid(z) = -log(1 + exp(-z))
        if self._multilabel:
            return -log1pexp(-scores)
        if scores.ndim == 1:
            return np.column_stack([-log1pexp(scores), -log1pexp(-scores)])
        return log_softmax(scores)

    def predict_proba(self, X):
        """Return the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
            Multilabel: the probability of each label (rows need not sum to 1).
        """
        return np.exp(self.predict_log_proba(X))

    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix.

        Prediction then costs in proportion to the number of non-zero weights.

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense array (the default after fit).

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
