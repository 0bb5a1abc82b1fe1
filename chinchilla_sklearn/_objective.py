"""The objective, written once.

With ``s_i = C * sample_weight_i * class_weight[y_i]`` (``C=inf``: no ``C`` and
no penalty), the objective over weights ``W`` (n_features, n_outputs) and an
unpenalised intercept ``b`` is::

    sum_i s_i * loss(Y_i, Z_i) + (1 - l1_ratio) / 2 * ||W||_2^2 + l1_ratio * h(W)
    Z = X @ W + b

a sum over samples, not a mean, with ``h`` the L1 norm or the sum of row norms
(shared support). Its Fenchel dual, over ``theta`` of the shape of ``Z``
with ``sum_i theta_i = 0`` when there is an intercept, is::

    D(theta) = -sum_i s_i loss*(Y_i, theta_i / s_i) - Omega*(-X.T @ theta)

with ``Omega`` the penalty. At the optimum ``theta = R`` (``d loss / d Z``),
so every ``R`` gives a dual point once made feasible (:func:`dual_point`), and
``P(W) - D(theta) >= P(W) - P*``: the duality gap certifies how far the
objective is from its minimum. The fit stops when the gap relative to
``P(W)`` is at most ``tol``. Without a penalty (``C=inf``) there is no dual
(``X.T @ theta = 0`` cannot be met); optimality is then the largest entry of
the minimum-norm subgradient divided by ``sum_i s_i``, the scaling
scikit-learn's lbfgs uses for its ``tol``.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ._kernels import rmatmul
from ._loss import ClassLabels, _columns
from ._penalty import Penalty


@dataclass(frozen=True)
class Problem:
    """The data and the objective, fixed for a whole fit.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    Y : ndarray or ClassLabels of shape (n_samples, n_outputs)
        0/1 targets: one column for binary, one per label for multilabel; for
        multinomial the labels standing for the one-hot matrix (ClassLabels).
    s : ndarray of shape (n_samples,)
        Per-sample weights, ``C`` included.
    loss : SigmoidLoss or SoftmaxLoss
    penalty : Penalty
    fit_intercept : bool
    """

    X: object
    Y: np.ndarray
    s: np.ndarray
    loss: object
    penalty: Penalty
    fit_intercept: bool

    @property
    def has_dual(self):
        """Whether the objective has a penalty, hence a dual and a duality gap."""
        return self.penalty.l1 > 0 or self.penalty.l2 > 0

    @cached_property  # (a frozen dataclass: cached_property writes __dict__)
    def scale(self):
        """Return the factor that makes violations comparable with ``tol``."""
        return 1.0 / float(self.s.sum())


def objective_value(problem, loss_value, W):
    """Return the objective from the loss value at ``Z`` and the weights."""
    return loss_value + problem.penalty.value(W)


def intercept_gradient(problem, R):
    """Return the gradient on the intercept (zero without one)."""
    if not problem.fit_intercept:
        return np.zeros(R.shape[1], dtype=R.dtype)
    return R.sum(axis=0)


def optimality(problem, W, G, gb):
    """Return the pseudo-gradient, the per-feature violations and the largest one.

    ``G`` is the gradient of the smooth part (loss and ridge) on the columns of
    ``W``; ``gb`` the intercept gradient. Violations are scaled by
    ``problem.scale``.
    """
    V = problem.penalty.pseudo_gradient(W, G)
    scores = problem.penalty.feature_norms(V)
    scores *= problem.scale
    largest = max(scores.max(initial=0.0), np.abs(gb).max(initial=0.0) * problem.scale)
    return V, scores, float(largest)


@dataclass(frozen=True)
class DualPoint:
    """A feasible dual point ``theta = scale * R'`` and what it certifies.

    Attributes
    ----------
    value : float
        The dual objective ``D(theta)``, a lower bound of the minimum.
    gap : float
        ``P(W) - D(theta)`` relative to ``|P(W)|`` (0 when both are 0).
    scale : float
        ``t`` in (0, 1]: ``R'`` (``R`` balanced for the intercept) times
        ``t`` meets the dual constraints ``||x_j^T theta|| <= l1``.
    correlations : ndarray of shape (n_columns,)
        ``||x_j^T R'||`` (the dual norm of the penalty) for the columns of
        ``G_loss``; the gap-safe rule reads them.
    """

    value: float
    gap: float
    scale: float
    correlations: np.ndarray


@dataclass(frozen=True)
class TargetCorrelations:
    """``X.T @ s`` and ``X.T @ (s * Y)`` on some columns of ``X``, and ``mass``.

    With them, the correlations ``X.T @ (s * (u - Y))`` of the directions that
    balance a dual point for the intercept (:func:`dual_point`) cost no pass
    over ``X``. Indexing by columns gives those of a working set. ``mass`` is
    the loss's ``target_mass(Y, s)``, which balancing needs at every dual point
    (a fifth of its cost on breast cancer when computed each time).
    """

    weights: np.ndarray
    targets: np.ndarray
    mass: tuple

    @classmethod
    def of(cls, problem):
        """Return them for all columns of ``problem.X`` (a pass over ``X``).

        Multiclass targets stay labels: ``s * Y`` is then a sparse matrix.
        """
        X, s, Y = problem.X, problem.s, problem.Y
        s = _columns(s).astype(np.float64, copy=False)
        if isinstance(Y, ClassLabels):
            weights = rmatmul(X, s)
            targets = X.T @ Y.tosparse(s[:, 0])
            targets = targets.toarray() if sp.issparse(targets) else targets
        else:  # one product with the columns of both
            both = rmatmul(X, np.hstack([s, s * Y]))
            weights, targets = both[:, :s.shape[1]], both[:, s.shape[1]:]
        return cls(np.asarray(weights, dtype=np.float64),
                   np.asarray(targets, dtype=np.float64),
                   problem.loss.target_mass(Y, problem.s))

    def of_constant(self, R):
        """Return ``X.T @ R`` for ``R = s * (P - Y)`` with ``P`` the same in every row.

        That is the residual of zero weights (any intercept): the correlations
        are then ``weights * P - targets``, no pass over ``X``. ``P`` comes
        from ``R``'s column sums, ``sum_i R_i = P * sum_i s_i - sum_i s_i
        Y_i`` (the masses).
        """
        positive, total = self.mass
        P = (R.sum(axis=0, dtype=np.float64) + positive) / total
        return self.weights * P - self.targets

    def __getitem__(self, columns):
        return TargetCorrelations(self.weights[columns], self.targets[columns],
                                  self.mass)



def dual_point(problem, state, G_loss, correlations=None):
    """Return the dual point built from the residual ``R`` of ``state``.

    1. With an intercept, ``R`` is balanced (``sum_i theta_i = 0``) by mixing
       its probabilities with a fixed distribution ``u``
       (``loss.intercept_mix``): ``R' = (1 - a) * R + a * s * (u - Y)``, whose
       correlations ``X.T @ R'`` come from ``G_loss`` and ``correlations`` (a
       :class:`TargetCorrelations`). ``a`` is of the order of the intercept
       gradient, so the gap stays of the order of the squared violation.
    2. Without a ridge part, ``R'`` is scaled by ``t = min(1, l1 / max_j
       ||x_j^T R'||)`` into the dual feasible set (Gap Safe rules [1]).

    ``G_loss`` is ``X.T @ R`` on the columns of the (sub)problem: a working
    set's dual point certifies the problem restricted to it. Needs
    ``problem.has_dual``.

    References
    ----------
    .. [1] Ndiaye, Fercoq, Gramfort, Salmon (2017). "Gap safe screening rules
       for sparsity enforcing penalties". JMLR 18(128).
    """
    penalty, loss = problem.penalty, problem.loss
    mix, XR = None, G_loss
    if problem.fit_intercept:
        mix = loss.intercept_mix(state.R, correlations.mass)
        a, u = mix
        if np.any(a > 0):  # (1 - a) * G + a * (weights * u - targets), in place
            XR = np.multiply(G_loss, 1 - a, dtype=np.float64)
            XR -= a * correlations.targets
            XR += correlations.weights * (a * u)
    norms = penalty.feature_norms(XR)
    t = 1.0
    if penalty.l2 == 0:
        t = min(1.0, penalty.l1 / max(float(norms.max(initial=0.0)), 1e-300))
    value = loss.dual_value(problem.Y, state.R, problem.s, t, mix)
    value -= penalty.conjugate(XR, t)
    primal = objective_value(problem, state.loss_value, state.W)
    return DualPoint(value, relative_gap(primal, value), t, norms)


def relative_gap(primal, value):
    """Return ``(primal - value) / |primal|``, at least 0 (0 when both are 0)."""
    return max(primal - value, 0.0) / abs(primal) if primal != 0 else 0.0
