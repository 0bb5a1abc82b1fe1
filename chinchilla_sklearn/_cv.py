"""ChinchillaClassifierCV: the choice of ``C`` and ``l1_ratio`` by cross-validation.

One warm-started regularisation path per fold and ``l1_ratio`` (the jobs run in
parallel through joblib), each scored on its test fold at every ``C``; then the
chosen grid point is refitted on all the data. The paths share one grid of
``C``, computed on all the data, so the folds' scores are comparable.
"""

import time
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import (
    MODEL_PARAMETER_CONSTRAINTS,
    check_fit_data,
    encode_targets,
    set_targets,
)
from ._classifier import ChinchillaClassifier
from ._path import PATH_PARAMETERS, fit_path, largest_zero_C, make_Cs, zero_model
from ._utils import unchanged_on_error


class ChinchillaClassifierCV(ClassifierMixin, BaseEstimator):
    r"""ChinchillaClassifier with ``C`` and ``l1_ratio`` chosen by cross-validation.

    For each fold and each ``l1_ratio`` a regularisation path
    (:func:`regularization_path`) fits the model of
    :class:`ChinchillaClassifier` at every ``C`` of the grid, from the
    strongest penalty down, each fit warm-started from the previous one; each
    fit is scored on the fold's test samples. The grid point with the best mean
    score (or, with ``selection="1se"``, the strongest penalty within one
    standard error of it) is then refitted on all the data. The objective is
    that of :class:`ChinchillaClassifier`,

    .. math::

        C \sum_i s_i \, \ell(y_i, x_i^\top w + b)
        + \frac{1 - \rho}{2} \|w\|_2^2 + \rho \|w\|_1,

    and each fold is fitted as ``ChinchillaClassifier(C=C, l1_ratio=rho)``
    would fit it (``class_weight="balanced"`` counts the fold's own samples),
    so ``cv_results_`` holds the scores :class:`~sklearn.model_selection.GridSearchCV`
    would find on the same grid and folds, at a fraction of the cost.

    The interface is that of :class:`~sklearn.linear_model.LogisticRegressionCV`
    where it has one (``Cs``, ``l1_ratios``, ``cv``, ``scoring``, ``n_jobs``,
    ``refit``; ``C_``, ``l1_ratio_``, ``Cs_``, ``l1_ratios_``,
    ``coefs_paths_``, ``scores_`` and ``n_iter_`` in its new layout), and the
    results are those of :class:`~sklearn.model_selection.GridSearchCV`
    (``cv_results_``, ``best_score_``, ``best_index_``).

    Read more in the :ref:`User Guide <tuning>`.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        The grid of ``C``. An integer ``n`` gives ``n`` values on a log scale
        from the largest ``C`` at which every weight is zero, computed on all
        the data (for several ``l1_ratios``, the smallest of theirs, so the
        first value is an all-zero model for each), to ``1e4`` times it; with
        no ``l1_ratio`` above 0, ``np.logspace(-4, 4, n)``. An array gives the
        values themselves (positive, finite; the paths run from the smallest
        up, and the results keep the order given).

    l1_ratios : array-like of float, default=(0.0,)
        The values of ``l1_ratio`` to try, each in [0, 1] (0: L2, 1: L1); the
        default is the classifier's L2 penalty.

    cv : int, cross-validation generator or iterable, default=None
        The folds, as in :func:`~sklearn.model_selection.check_cv`: None is
        5-fold, an integer the number of folds (stratified for binary and
        multiclass targets, plain k-fold for multilabel), or a splitter or
        an iterable of (train, test) index arrays. Every training fold must
        hold every class (and both values of every label).

    scoring : str, callable or None, default=None
        The score of a fitted model on a test fold, as in
        :func:`~sklearn.metrics.check_scoring`; None is the accuracy
        (``score``). With ``sample_weight``, the test fold's weights are
        passed to it, as :class:`~sklearn.linear_model.LogisticRegressionCV`
        does.

    n_jobs : int, default=None
        Paths fitted in parallel (one per fold and ``l1_ratio``) through
        :class:`joblib.Parallel`, so ``joblib.parallel_backend("dask")``
        spreads them over a Dask cluster. None is 1 unless in a
        :obj:`joblib.parallel_config` context; -1 uses all processors.

    refit : bool, default=True
        Refit the chosen ``C`` and ``l1_ratio`` on all the data. If False,
        ``coef_`` and ``intercept_`` are the means over the folds of their
        fits at the chosen grid point.

    selection : {"best", "1se"}, default="best"
        Which grid point is chosen: "best" the best mean test score (the first
        in the order of ``cv_results_`` among ties, as GridSearchCV); "1se"
        the smallest ``C`` (the strongest penalty: the sparsest models) whose
        mean score is at least the best mean minus its standard error
        ``std_test_score / sqrt(n_splits - 1)`` (glmnet's ``lambda.1se``),
        and among the ``l1_ratios`` at that ``C``, the best.

    shared_support : bool, default=False
        Parameter sharing across classes or labels (group penalty); see
        :class:`ChinchillaClassifier`.

    gate : bool, default=True
        Use the gate's working sets and safe screening.

    gate_threshold : float, default=0.5
        In [0, 1]: the relative violation a feature needs to join the working
        set; see :class:`ChinchillaClassifier`.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied with ``sample_weight``; "balanced"
        is computed on each training fold, as the classifier fitted on it
        would.

    tol : float, default=1e-4
        Stopping tolerance of every fit, >= 0; see :class:`ChinchillaClassifier`.

    max_iter : int, default=100
        Largest number of outer iterations of each fit (each ``C`` of each
        path, and the refit), >= 1.

    random_state : int, RandomState instance or None, default=None
        Unused (the fits are deterministic); kept for compatibility with
        scikit-learn's linear models. Pass a seeded splitter as ``cv`` to
        shuffle the folds.

    verbose : int, default=0
        Verbosity of :class:`joblib.Parallel`; above 1, the paths also print
        one line per ``C``.

    Attributes
    ----------
    C_ : float
        The chosen ``C``.

    l1_ratio_ : float
        The chosen ``l1_ratio``.

    Cs_ : ndarray of shape (n_Cs,)
        The grid of ``C``.

    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The grid of ``l1_ratio``.

    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs, n_outputs, n_dof)
        The coefficients of each fold's fit at each grid point: ``coef_``
        followed, with ``fit_intercept=True``, by ``intercept_`` (``n_dof`` is
        ``n_features + 1``, else ``n_features``); ``n_outputs`` is 1 for binary
        problems, else the number of classes or labels.

    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs)
        The test score of each fold at each grid point.

    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs)
        The outer iterations of each fit of the paths (1 where the zero model
        is the solution: one check of its gradient).

    cv_results_ : dict of ndarray
        The results in :class:`~sklearn.model_selection.GridSearchCV`'s layout,
        one entry per grid point (``C`` major, ``l1_ratio`` minor, as
        GridSearchCV orders the grid ``{"C": Cs_, "l1_ratio": l1_ratios_}``):
        ``param_C``, ``param_l1_ratio``, ``params``, ``split{k}_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time`` (the time of each warm-started fit
        of the paths), ``mean_score_time`` and ``std_score_time``.
        ``pandas.DataFrame(cv_results_)`` reads as a grid search's.

    best_index_ : int
        The index of the chosen grid point in ``cv_results_``.

    best_score_ : float
        Its mean test score.

    classes_ : ndarray of shape (n_classes,)
        The class labels (multilabel: ``np.arange(n_labels)``).

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights of the refitted model.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Its intercept.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    ChinchillaClassifier : The model, at one ``C`` and ``l1_ratio``.
    regularization_path : One warm-started path, without cross-validation.
    PathDisplay : Draws the paths and the scores against ``C``.
    sklearn.linear_model.LogisticRegressionCV : The same idea, other solvers.

    References
    ----------
    .. [1] Friedman, Hastie, Tibshirani (2010). "Regularization paths for
       generalized linear models via coordinate descent". Journal of
       Statistical Software 33(1) (warm-started paths, ``cv.glmnet`` and the
       one-standard-error rule).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from chinchilla_sklearn import ChinchillaClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = ChinchillaClassifierCV(Cs=8, l1_ratios=[0.5, 1.0]).fit(X, y)
    >>> clf.cv_results_["mean_test_score"].shape
    (16,)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like"],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
        "selection": [StrOptions({"best", "1se"})],
        **MODEL_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios=(0.0,),
        cv=None,
        scoring=None,
        n_jobs=None,
        refit=True,
        selection="best",
        shared_support=False,
        gate=True,
        gate_threshold=0.5,
        fit_intercept=True,
        class_weight=None,
        tol=1e-4,
        max_iter=100,
        random_state=None,
        verbose=0,
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.selection = selection
        self.shared_support = shared_support
        self.gate = gate
        self.gate_threshold = gate_threshold
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    @unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Cross-validate the paths, choose ``C`` and ``l1_ratio``, refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, never densified (see
            :meth:`ChinchillaClassifier.fit`).

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels, or a 0/1 indicator matrix of labels (multilabel).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, split with the folds: the
            training fold's weigh its fits, the test fold's its scores.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = check_fit_data(X, y, estimator=self)
        l1_ratios = self._check_l1_ratios()
        targets = encode_targets(X, y, sample_weight, self.class_weight)
        Cs = self._grid(X, targets, l1_ratios)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        if sample_weight is not None:
            sample_weight = targets.sample_weight
        scorer = check_scoring(self, self.scoring)
        jobs = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fold_path)(
                X, y, sample_weight, train, test, Cs, l1_ratio, self._model_params(),
                scorer, targets.classes,
            )
            for train, test in folds
            for l1_ratio in l1_ratios
        )
        set_targets(self, targets)
        self.Cs_, self.l1_ratios_ = Cs, l1_ratios
        self._store_paths(jobs, len(folds))
        self._choose()
        self._fit_final(X, y, sample_weight)
        return self

    def _check_l1_ratios(self):
        """Return ``l1_ratios`` as an array of values in [0, 1]."""
        l1_ratios = np.asarray(self.l1_ratios, dtype=np.float64).ravel()
        if l1_ratios.size == 0 or not np.all((l1_ratios >= 0) & (l1_ratios <= 1)):
            raise ValueError(
                f"l1_ratios must be a non-empty list of numbers in [0, 1]; got "
                f"{self.l1_ratios!r}."
            )
        return l1_ratios

    def _grid(self, X, targets, l1_ratios):
        """Return the grid of ``C``, from the zero model of all the data."""
        if not isinstance(self.Cs, Integral) or not np.any(l1_ratios > 0):
            return make_Cs(self.Cs, 0.0)
        _, G0 = zero_model(X, targets, self.fit_intercept)
        C_min = min(largest_zero_C(r, G0, shared_support=self.shared_support)
                    for r in l1_ratios if r > 0)
        return make_Cs(self.Cs, C_min)

    def _model_params(self):
        """Return the parameters of ChinchillaClassifier that are not tuned."""
        return {name: getattr(self, name) for name in MODEL_PARAMETER_CONSTRAINTS}

    def _store_paths(self, jobs, n_folds):
        """Set ``coefs_paths_``, ``scores_``, ``n_iter_`` and ``cv_results_``."""
        shape = (n_folds, self.l1_ratios_.size, self.Cs_.size)
        self.coefs_paths_ = np.stack([job["coefs"] for job in jobs]).reshape(
            shape + jobs[0]["coefs"].shape[1:])
        field = {key: np.reshape([job[key] for job in jobs], shape)
                 for key in ("scores", "n_iter", "fit_times", "score_times")}
        self.scores_, self.n_iter_ = field["scores"], field["n_iter"]
        not_converged = sorted({C for job in jobs for C in job["not_converged"]})
        if not_converged:
            warnings.warn(
                f"ChinchillaClassifierCV: fits at C = {not_converged} did not "
                f"converge in {self.max_iter} iterations (tol={self.tol}) on some "
                "folds. Increase max_iter or tol, or scale the features.",
                ConvergenceWarning,
            )
        self.cv_results_ = _cv_results(self.Cs_, self.l1_ratios_, field)

    def _choose(self):
        """Set ``best_index_``, ``best_score_``, ``C_`` and ``l1_ratio_``."""
        results = self.cv_results_
        best = int(results["rank_test_score"].argmin())
        if self.selection == "1se":
            best = _one_standard_error(results, best, self.scores_.shape[0])
        self.best_index_ = best
        self.best_score_ = float(results["mean_test_score"][best])
        self.C_ = float(results["param_C"][best])
        self.l1_ratio_ = float(results["param_l1_ratio"][best])

    def _fit_final(self, X, y, sample_weight):
        """Refit at the chosen point, or average the folds' fits (refit=False)."""
        if self.refit:
            model = ChinchillaClassifier(C=self.C_, l1_ratio=self.l1_ratio_,
                                         **self._model_params())
            model.fit(X, y, sample_weight=sample_weight)
            self.coef_, self.intercept_ = model.coef_, model.intercept_
            return
        i_C, i_l1 = divmod(self.best_index_, self.l1_ratios_.size)
        mean = self.coefs_paths_[:, i_l1, i_C].mean(axis=0)
        n_features = self.n_features_in_
        self.coef_ = np.ascontiguousarray(mean[:, :n_features])
        self.intercept_ = (mean[:, n_features] if self.fit_intercept
                           else np.zeros(mean.shape[0], dtype=mean.dtype))

    # The prediction methods are the classifier's, on the refitted weights.
    decision_function = ChinchillaClassifier.decision_function
    predict = ChinchillaClassifier.predict
    predict_log_proba = ChinchillaClassifier.predict_log_proba
    predict_proba = ChinchillaClassifier.predict_proba
    sparsify = ChinchillaClassifier.sparsify
    densify = ChinchillaClassifier.densify

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


def _fold_path(X, y, sample_weight, train, test, Cs, l1_ratio, params, scorer,
               classes):
    """Fit one fold's path at ``l1_ratio`` and score it; return a dict of arrays."""
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    weights = None if sample_weight is None else sample_weight[train]
    targets = encode_targets(X_train, y_train, weights, params["class_weight"])
    if not np.array_equal(targets.classes, classes):
        raise ValueError(
            f"A training fold holds the classes {targets.classes.tolist()}, not all "
            f"of {classes.tolist()}: choose fewer folds or stratified ones."
        )
    with warnings.catch_warnings(record=True) as caught:  # gathered by the parent
        warnings.simplefilter("always", ConvergenceWarning)
        path = fit_path(
            X_train, targets, Cs, l1_ratio=l1_ratio,
            **{name: params[name] for name in PATH_PARAMETERS
               if name not in ("class_weight", "verbose")},
            verbose=max(params["verbose"] - 1, 0),
        )
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno)
    model = ChinchillaClassifier(C=1.0, l1_ratio=l1_ratio, **params)
    set_targets(model, targets)
    model.n_features_in_ = X.shape[1]
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    score_params = {} if sample_weight is None else {
        "sample_weight": sample_weight[test]}
    coefs = path.dense_coefs()
    scores, score_times = np.zeros(len(Cs)), np.zeros(len(Cs))
    for i, (coef, intercept) in enumerate(zip(coefs, path.intercepts)):
        start = time.perf_counter()
        model.C, model.coef_, model.intercept_ = float(Cs[i]), coef, intercept
        scores[i] = scorer(model, X_test, y_test, **score_params)
        score_times[i] = time.perf_counter() - start
    if params["fit_intercept"]:
        coefs = np.concatenate([coefs, path.intercepts[:, :, None]], axis=2)
    return {"coefs": coefs, "scores": scores, "n_iter": path.n_iter,
            "fit_times": path.fit_times, "score_times": score_times,
            "not_converged": path.Cs[~path.converged].tolist()}


def _cv_results(Cs, l1_ratios, field):
    """Return ``cv_results_`` in GridSearchCV's layout (``C`` major)."""
    n_folds = field["scores"].shape[0]

    def per_candidate(values):  # (n_folds, n_l1, n_Cs) -> (n_folds, n_candidates)
        return values.transpose(0, 2, 1).reshape(n_folds, -1)

    C_column, l1_column = np.repeat(Cs, l1_ratios.size), np.tile(l1_ratios, Cs.size)
    results = {
        "mean_fit_time": per_candidate(field["fit_times"]).mean(axis=0),
        "std_fit_time": per_candidate(field["fit_times"]).std(axis=0),
        "mean_score_time": per_candidate(field["score_times"]).mean(axis=0),
        "std_score_time": per_candidate(field["score_times"]).std(axis=0),
        "param_C": np.ma.MaskedArray(C_column, mask=False),
        "param_l1_ratio": np.ma.MaskedArray(l1_column, mask=False),
        "params": [{"C": float(C), "l1_ratio": float(r)}
                   for C, r in zip(C_column, l1_column)],
    }
    scores = per_candidate(field["scores"])
    for k in range(n_folds):
        results[f"split{k}_test_score"] = scores[k]
    results["mean_test_score"] = scores.mean(axis=0)
    results["std_test_score"] = scores.std(axis=0)
    results["rank_test_score"] = _rank(results["mean_test_score"])
    return results


def _rank(means):
    """Return GridSearchCV's ranks: 1 is best, ties share the smallest, NaN last."""
    if np.isnan(means).all():
        return np.ones(means.size, dtype=np.int32)
    means = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-means, method="min").astype(np.int32)


def _one_standard_error(results, best, n_splits):
    """Return the grid point of the "1se" rule (see ``selection``)."""
    means = results["mean_test_score"]
    error = results["std_test_score"][best] / np.sqrt(max(n_splits - 1, 1))
    within = np.flatnonzero(means >= means[best] - error)
    Cs = np.asarray(results["param_C"])[within]
    smallest = within[Cs == Cs.min()]
    return int(smallest[np.argmax(means[smallest])])
