"""The objective, written once.

With ``s_i = C * sample_weight_i * class_weight[y_i]`` (``C=inf``: no ``C`` and
no penalty), the objective over weights ``W`` (n_features, n_outputs) and an
unpenalised intercept ``b`` is::

    sum_i s_i * loss(Y_i, Z_i) + (1 - l1_ratio) / 2 * ||W||_2^2 + l1_ratio * h(W)
    Z = X @ W + b

a sum over samples, not a mean, with ``h`` the L1 norm or the sum of row norms
(shared support). Optimality is measured on the objective divided by
``sum_i s_i``: the same scaling scikit-learn's solvers use for ``tol``.
"""

from dataclasses import dataclass

import numpy as np

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
