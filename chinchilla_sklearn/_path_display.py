"""Pictures of a regularisation path: the weights and the cross-validated score
against ``C``.

matplotlib is an optional dependency (the ``plot`` extra): it is imported inside
the plotting code only, never when the package is imported.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._path import regularization_path
from ._plot import _check_matplotlib


class PathDisplay:
    """Weights against ``C`` and, when known, the cross-validated score against ``C``.

    Draws a regularisation path as glmnet's ``plot`` and ``plot.cv`` do:

    1. each weight (``coef_`` entry) against ``C`` on a log scale: at the
       strongest penalty every weight is zero, and features enter as ``C``
       grows;
    2. when scores are given, the mean test score of each ``C`` with error bars
       of one standard error (``std_test_score / sqrt(n_splits - 1)``, the unit
       of the ``"1se"`` rule) on a second axes below, sharing the ``C`` axis.

    The chosen ``C``, when given, is a dashed vertical line on both.

    Use :meth:`from_estimator` for a fitted :class:`ChinchillaClassifierCV` or
    :meth:`from_path` for a :func:`regularization_path`. All parameters are
    stored as attributes. This follows scikit-learn's ``Display`` convention
    (see :class:`sklearn.metrics.RocCurveDisplay`).

    Parameters
    ----------
    Cs : array-like of shape (n_Cs,)
        The values of ``C``.

    coefs : array-like of shape (n_Cs, n_outputs, n_features)
        ``coef_`` at each ``C``.

    mean_test_score : array-like of shape (n_Cs,), default=None
        The mean test score at each ``C``. No score axes when None.

    std_test_score : array-like of shape (n_Cs,), default=None
        The standard deviation of the test scores over the folds.

    n_splits : int, default=None
        The number of folds, which turns ``std_test_score`` into a standard
        error. No error bars when ``std_test_score`` or ``n_splits`` is None.

    chosen_C : float, default=None
        The chosen ``C`` (``C_``), drawn as a vertical line. Not drawn when None.

    score_name : str, default="score"
        The label of the score axis.

    estimator_name : str, default=None
        The title of the figure when the display creates it. No title when None.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (1,) or (2,)
        The axes of the weights and, with scores, of the score.

    lines_ : dict
        The drawn artists: ``"coefs"`` (list of Line2D, one per weight that is
        non-zero somewhere on the path), ``"score"`` (the ErrorbarContainer)
        and ``"chosen"`` (list of the vertical Line2D), when drawn.

    figure_ : matplotlib Figure
        The figure that contains the axes.

    See Also
    --------
    regularization_path : The path the display draws.
    ChinchillaClassifierCV : The cross-validated paths.
    GateDisplay : What the gate did during one fit.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from chinchilla_sklearn import ChinchillaClassifierCV, PathDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = ChinchillaClassifierCV(Cs=8, l1_ratios=[1.0]).fit(X, y)
    >>> display = PathDisplay.from_estimator(clf, X, y)
    >>> len(display.axes_)
    2
    """

    def __init__(self, Cs, coefs, *, mean_test_score=None, std_test_score=None,
                 n_splits=None, chosen_C=None, score_name="score",
                 estimator_name=None):
        self.Cs = Cs
        self.coefs = coefs
        self.mean_test_score = mean_test_score
        self.std_test_score = std_test_score
        self.n_splits = n_splits
        self.chosen_C = chosen_C
        self.score_name = score_name
        self.estimator_name = estimator_name

    @classmethod
    def from_path(cls, path, *, ax=None):
        """Draw the weights of a :func:`regularization_path` against ``C``.

        Parameters
        ----------
        path : Bunch
            What :func:`regularization_path` returns.

        ax : matplotlib Axes, default=None
            Where to draw; see :meth:`plot`.

        Returns
        -------
        display : PathDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_path")
        return cls(path.Cs, path.coefs).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, sample_weight=None, l1_ratio=None,
                       ax=None):
        """Draw the path on ``X, y`` and the cross-validated score of an estimator.

        The weights are those of :func:`regularization_path` fitted on ``X``
        and ``y`` (the data the estimator was fitted on, usually) with the
        estimator's grid ``Cs_`` and parameters; the scores and the chosen
        ``C`` are the estimator's.

        Parameters
        ----------
        estimator : ChinchillaClassifierCV or Pipeline
            A fitted :class:`ChinchillaClassifierCV`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` whose last step is one (``X``
            then goes through the other steps first).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data of the path.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Its sample weights.

        l1_ratio : float, default=None
            Which of ``l1_ratios_`` to draw; None: the chosen ``l1_ratio_``.

        ax : matplotlib Axes or array-like of two Axes, default=None
            Where to draw; see :meth:`plot`.

        Returns
        -------
        display : PathDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        if hasattr(estimator, "steps"):  # a Pipeline: transform X, draw its end
            X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        check_is_fitted(estimator)
        l1_ratio = estimator.l1_ratio_ if l1_ratio is None else float(l1_ratio)
        if l1_ratio not in estimator.l1_ratios_:
            raise ValueError(f"l1_ratio={l1_ratio} is not one of l1_ratios_ = "
                             f"{estimator.l1_ratios_.tolist()}.")
        params = {name: value for name, value in estimator.get_params().items()
                  if name in ("shared_support", "gate", "gate_threshold",
                              "fit_intercept", "class_weight", "tol", "max_iter")}
        path = regularization_path(X, y, Cs=estimator.Cs_, l1_ratio=l1_ratio,
                                   sample_weight=sample_weight, **params)
        results = estimator.cv_results_
        rows = np.asarray(results["param_l1_ratio"], dtype=float) == l1_ratio
        scoring = estimator.scoring
        display = cls(
            path.Cs, path.coefs,
            mean_test_score=results["mean_test_score"][rows],
            std_test_score=results["std_test_score"][rows],
            n_splits=estimator.scores_.shape[0],
            chosen_C=estimator.C_ if l1_ratio == estimator.l1_ratio_ else None,
            score_name=scoring if isinstance(scoring, str) else "score",
            estimator_name=f"{estimator.__class__.__name__}, l1_ratio={l1_ratio:g}",
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the weights and, when known, the scores against ``C``.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw: None makes a new figure (two axes sharing the ``C``
            axis when there are scores, else one); with scores, two Axes (the
            weights and the score, in that order); without, one Axes.

        Returns
        -------
        display : PathDisplay
            The display, with ``figure_``, ``axes_`` and ``lines_`` set.
        """
        _check_matplotlib(f"{self.__class__.__name__}.plot")
        Cs = np.asarray(self.Cs, dtype=float)
        coefs = np.asarray(self.coefs, dtype=float).reshape(Cs.size, -1)
        has_score = self.mean_test_score is not None
        axes = self._make_axes(ax, 2 if has_score else 1)
        order = np.argsort(Cs)
        lines = {"coefs": axes[0].plot(Cs[order], coefs[order][:, np.any(coefs, 0)],
                                       linewidth=1)}
        axes[0].set_ylabel("weight (coef_)")
        if has_score:
            lines["score"] = self._plot_score(axes[1], Cs, order)
        if self.chosen_C is not None:
            lines["chosen"] = [
                axis.axvline(self.chosen_C, color="0.3", linestyle="--",
                             label=f"C_ = {self.chosen_C:.3g}") for axis in axes
            ]
            axes[-1].legend(loc="best")
        for axis in axes:
            axis.set_xscale("log")
        axes[-1].set_xlabel("C (inverse regularisation strength)")
        self.axes_, self.lines_, self.figure_ = axes, lines, axes[0].figure
        return self

    def _plot_score(self, axis, Cs, order):
        """Draw the mean score with error bars of one standard error."""
        mean = np.asarray(self.mean_test_score, dtype=float)
        error = None
        if self.std_test_score is not None and self.n_splits is not None:
            std = np.asarray(self.std_test_score, dtype=float)
            error = (std / np.sqrt(max(self.n_splits - 1, 1)))[order]
        container = axis.errorbar(Cs[order], mean[order], yerr=error, marker="o",
                                  markersize=3, capsize=2, color="C3",
                                  label="mean test score \u00b1 1 s.e.")
        axis.set_ylabel(f"cross-validated {self.score_name}")
        return container

    def _make_axes(self, ax, n_axes):
        """Return the axes to draw on."""
        import matplotlib.pyplot as plt

        if ax is None:
            figure, axes = plt.subplots(
                n_axes, 1, sharex=True, squeeze=False, layout="constrained",
                figsize=(6.4, 3.2 * n_axes + 0.6),
            )
            if self.estimator_name is not None:
                figure.suptitle(self.estimator_name)
            return axes[:, 0]
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if axes.size != n_axes:
            raise ValueError(f"ax must be None or {n_axes} Axes; got {axes.size}.")
        return axes
