"""Pictures of a fit: what the gate did in each outer iteration.

matplotlib is an optional dependency (the ``plot`` extra): it is imported inside
the plotting code only, never when the package is imported.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _check_matplotlib(caller):
    """Raise an ImportError that says how to install matplotlib when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"{caller} needs matplotlib: pip install matplotlib, or install "
            "chinchilla-sklearn with the plot extra (pip install "
            "'chinchilla-sklearn[plot]')."
        ) from error


class GateDisplay:
    """Objective, duality gap, violation and working-set size per outer iteration.

    A picture of ``loss_curve_`` and ``gate_report_``: one point per outer
    iteration of the gate loop, on three axes that share the iteration axis:

    1. the objective after the iteration;
    2. the relative duality gap (when known) and the largest optimality (KKT)
       violation after the iteration, on a log scale, with ``tol`` as a dashed
       line when it is known (the fit stops at the first iteration whose gap
       is at most ``tol``; without a penalty, whose violation is);
    3. the working-set size (features that took part in the iteration) and, when
       known, the number of features certified zero so far by safe screening, on
       a symmetric log scale (linear between 0 and 1), since the two counts can
       differ by orders of magnitude.

    It is recommended to use :meth:`GateDisplay.from_estimator` to create a
    display. All parameters are stored as attributes. This follows scikit-learn's
    ``Display`` convention (see :class:`sklearn.metrics.RocCurveDisplay`).

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        The objective after each outer iteration (``loss_curve_``).

    violation : array-like of shape (n_iter,)
        The largest optimality violation after each outer iteration
        (``gate_report_["violation"]``).

    working_set_size : array-like of shape (n_iter,)
        The number of features that took part in each outer iteration
        (``gate_report_["working_set_size"]``).

    n_screened : array-like of shape (n_iter,), default=None
        The number of features certified zero so far, after each outer iteration
        (``gate_report_["n_screened"]``). Not drawn when None.

    gap : array-like of shape (n_iter,), default=None
        The relative duality gap after each outer iteration
        (``gate_report_["gap"]``). Not drawn when None.

    tol : float, default=None
        The stopping tolerance of the fit, drawn as a horizontal line on the
        gap and violation axes. Not drawn when None.

    estimator_name : str, default=None
        Name of the estimator, used as the title of the figure when the display
        creates it. No title when None.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (3,)
        The axes of the objective, the gap and violation, and the working-set
        size, in that order.

    lines_ : dict of str to matplotlib Line2D
        The drawn lines, under the keys ``"objective"``, ``"violation"``,
        ``"working_set_size"``, and ``"gap"``, ``"n_screened"`` and ``"tol"``
        when drawn.

    figure_ : matplotlib Figure
        The figure that contains the axes.

    See Also
    --------
    ChinchillaClassifier : The estimator whose fit is drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from chinchilla_sklearn import ChinchillaClassifier, GateDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = ChinchillaClassifier(C=0.1, l1_ratio=1.0).fit(X, y)
    >>> display = GateDisplay.from_estimator(clf)
    >>> len(display.axes_)
    3
    """

    def __init__(
        self,
        loss_curve,
        violation,
        working_set_size,
        n_screened=None,
        *,
        gap=None,
        tol=None,
        estimator_name=None,
    ):
        self.loss_curve = loss_curve
        self.violation = violation
        self.working_set_size = working_set_size
        self.n_screened = n_screened
        self.gap = gap
        self.tol = tol
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw what the gate did during the fit of an estimator.

        Parameters
        ----------
        estimator : ChinchillaClassifier or Pipeline
            A fitted :class:`ChinchillaClassifier`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` whose last step is one.

        ax : matplotlib Axes or array-like of three Axes, default=None
            Where to draw; see :meth:`plot`.

        Returns
        -------
        display : GateDisplay
            The display, with the drawn ``figure_``, ``axes_`` and ``lines_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        if hasattr(estimator, "steps"):  # a Pipeline: draw its last step
            estimator = estimator[-1]
        check_is_fitted(estimator)
        if not hasattr(estimator, "gate_report_"):
            raise ValueError(
                f"{estimator.__class__.__name__} has no gate_report_: GateDisplay "
                "draws what the gate did during fit, and partial_fit does not run "
                "the gate (it removes gate_report_)."
            )
        report = estimator.gate_report_
        gap = report.get("gap")
        if gap is not None and np.all(np.isnan(gap)):  # C=inf: no dual, no gap
            gap = None
        display = cls(
            loss_curve=estimator.loss_curve_,
            violation=report["violation"],
            working_set_size=report["working_set_size"],
            n_screened=report.get("n_screened"),
            gap=gap,
            tol=getattr(estimator, "tol", None),
            estimator_name=estimator.__class__.__name__,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the objective, the gap and violation, and the working-set size.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of three Axes, default=None
            Where to draw.

            - None: a new figure with three axes, one above the other, sharing
              the iteration axis.
            - Three Axes (a list, tuple or array): the objective, the gap and
              violation, and the working-set size are drawn on them, in that
              order.
            - One Axes created as a subplot (for example by
              ``plt.subplots``): its area is split into three rows; the Axes
              itself is hidden.

        Returns
        -------
        display : GateDisplay
            The display, with ``figure_``, ``axes_`` and ``lines_`` set.
        """
        _check_matplotlib(f"{self.__class__.__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        loss_curve = np.asarray(self.loss_curve, dtype=float)
        violation = np.asarray(self.violation, dtype=float)
        working_set_size = np.asarray(self.working_set_size)
        n_iter = loss_curve.shape[0]
        lengths = [violation.shape[0], working_set_size.shape[0]]
        for optional in (self.n_screened, self.gap):
            if optional is not None:
                lengths.append(len(optional))
        if any(length != n_iter for length in lengths):
            raise ValueError(
                "loss_curve, violation, working_set_size, n_screened and gap must "
                "have one entry per outer iteration; got lengths "
                f"{[n_iter] + lengths}."
            )
        axes, shared_x = self._make_axes(ax)
        iterations = np.arange(1, n_iter + 1)
        lines = {}
        (lines["objective"],) = axes[0].plot(iterations, loss_curve, "o-")
        axes[0].set_ylabel("objective")
        if self.gap is not None:
            (lines["gap"],) = axes[1].semilogy(
                iterations, np.asarray(self.gap, dtype=float), "D-", color="C4",
                label="relative duality gap",
            )
        (lines["violation"],) = axes[1].semilogy(
            iterations, violation, "o-", color="C1", label="violation"
        )
        if self.tol is not None and self.tol > 0:
            lines["tol"] = axes[1].axhline(
                self.tol, color="0.4", linestyle="--", label=f"tol = {self.tol:g}"
            )
        if len(lines) > 2:
            axes[1].legend(loc="upper right")
        axes[1].set_ylabel("gap, violation")
        (lines["working_set_size"],) = axes[2].plot(
            iterations, working_set_size, "o-", color="C2", label="working set"
        )
        if self.n_screened is not None:
            (lines["n_screened"],) = axes[2].plot(
                iterations, np.asarray(self.n_screened), "s--", color="C3",
                label="screened (certified zero)",
            )
            axes[2].legend(loc="best")
        # counts span orders of magnitude (a working set of hundreds, screened
        # features by the ten thousand) and start at 0: a log scale that holds 0
        axes[2].set_yscale("symlog", linthresh=1)
        axes[2].set_ylim(bottom=0)
        axes[2].set_ylabel("features")
        for axis in axes:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        # axes made here share the iteration axis: label it once, at the bottom
        for axis in axes[2:] if shared_x else axes:
            axis.set_xlabel("outer iteration")
        if shared_x:
            for axis in axes[:2]:
                axis.tick_params(labelbottom=False)
        self.axes_ = axes
        self.lines_ = lines
        self.figure_ = axes[0].figure
        return self

    def _make_axes(self, ax):
        """Return the three axes to draw on, and whether they share the x-axis."""
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        if ax is None:
            figure, axes = plt.subplots(
                3, 1, sharex=True, figsize=(6.4, 7.2), layout="constrained"
            )
            if self.estimator_name is not None:
                figure.suptitle(f"What the gate did: {self.estimator_name}")
            return np.asarray(axes), True
        if isinstance(ax, Axes):
            spec = ax.get_subplotspec()
            if spec is None:
                raise ValueError(
                    "A single Axes is split into three rows and must be a subplot "
                    "(made by plt.subplots or Figure.add_subplot); otherwise pass "
                    "three Axes."
                )
            ax.set_axis_off()
            grid = spec.subgridspec(3, 1)
            figure = ax.figure
            first = figure.add_subplot(grid[0])
            others = [figure.add_subplot(grid[i], sharex=first) for i in (1, 2)]
            return np.asarray([first, *others]), True
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.shape != (3,) or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(
                "ax must be None, one matplotlib Axes or three Axes; got "
                f"{ax!r}."
            )
        return axes, False
