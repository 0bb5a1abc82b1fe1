"""Timing, an independent objective and KKT check, and the results table.

The objective is written here again, from DESIGN.md, without importing the package,
so the benchmarks judge every solver (ours included) by the same yardstick::

    C * sum_i s_i * loss_i + (1 - l1_ratio) / 2 * ||W||_2^2 + l1_ratio * ||W||_1

    binary:      loss_i = log(1 + exp(z_i)) - y_i z_i,   z_i = x_i . w + b
    multinomial: loss_i = logsumexp(z_i) - z_i[y_i],      z_i = x_i W^T + b

(a sum, not a mean; the intercept is not penalised; ``C = inf``: no penalty).
"""

import statistics
import time
import warnings
from typing import Any, NamedTuple

import numpy as np
from scipy.special import expit, logsumexp, softmax
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "Timing",
    "median_time",
    "time_one_pass",
    "objective",
    "kkt_violation",
    "format_table",
]


class Timing(NamedTuple):
    median: float
    times: list
    result: Any  # what the last call returned


def timed_fit(estimator, X, y):
    """Fit once; return ``(seconds, converged)``, converged meaning no
    ``ConvergenceWarning`` was raised (wall clock, ``time.perf_counter``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def median_time(fn, repeat=3):
    """Call ``fn()`` `repeat` times; median wall time, all times, last result."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), times, result)


def time_one_pass(X, repeat=7, random_state=0):
    """Median time of one pass over the data: ``X @ w`` plus ``X.T @ r``.

    This is the cost of one gradient of a linear model, the unit in which the
    benchmarks count work ("passes" = fit time / this time).
    """
    rng = np.random.default_rng(random_state)
    w = rng.standard_normal(X.shape[1])
    r = rng.standard_normal(X.shape[0])

    def one_pass():
        X @ w
        X.T @ r

    one_pass()  # warm-up (first touch of the memory)
    return median_time(one_pass, repeat).median


def _encode(y, n_outputs):
    """0/1 targets (binary) or class indices (multinomial) from any labels."""
    y = np.asarray(y)
    classes, y_idx = np.unique(y, return_inverse=True)
    if n_outputs == 1:
        return (y == classes[-1]).astype(np.float64)
    return y_idx


def _as_2d(coef, intercept):
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))  # (n_outputs, n_features)
    b = np.zeros(W.shape[0]) if intercept is None else np.asarray(intercept)
    return W, np.broadcast_to(np.asarray(b, dtype=np.float64).ravel(), W.shape[:1])


def _loss_and_residual(W, b, X, y, sample_weight):
    """Per-sample losses and d(loss)/dz, both weighted by s_i."""
    n_samples = X.shape[0]
    s = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight)
    if W.shape[0] == 1:
        y01 = _encode(y, 1)
        z = np.asarray(X @ W[0]).ravel() + b[0]
        loss = np.logaddexp(0.0, z) - y01 * z  # stable log(1 + exp(z)) - y z
        residual = (expit(z) - y01)[:, None]
    else:
        y_idx = _encode(y, W.shape[0])
        Z = np.asarray(X @ W.T) + b
        loss = logsumexp(Z, axis=1) - Z[np.arange(n_samples), y_idx]
        residual = softmax(Z, axis=1)
        residual[np.arange(n_samples), y_idx] -= 1.0
    return s * loss, s[:, None] * residual, s.sum()


def objective(coef, intercept, X, y, C, l1_ratio, sample_weight=None):
    """DESIGN.md objective (binary or multinomial), a sum over samples.

    Parameters
    ----------
    coef : ndarray of shape (n_features,), (1, n_features) or (n_classes, n_features)
        One row: binary (sigmoid), ``y`` mapped to ``y == max(y)``; several rows:
        multinomial (softmax), rows ordered like ``np.unique(y)``.
    intercept : float, ndarray of shape (1,) or (n_classes,), or None
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    C : float, np.inf for no penalty
    l1_ratio : float in [0, 1]
    """
    W, b = _as_2d(coef, intercept)
    loss, _, _ = _loss_and_residual(W, b, X, y, sample_weight)
    if np.isinf(C):
        return float(loss.sum())
    penalty = (1.0 - l1_ratio) / 2.0 * np.sum(W**2) + l1_ratio * np.abs(W).sum()
    return float(C * loss.sum() + penalty)


def kkt_violation(
    coef, intercept, X, y, C, l1_ratio, sample_weight=None, fit_intercept=True
):
    """Largest optimality violation, scaled by 1 / (C * sum_i s_i) like sklearn's tol.

    For each weight, the distance of minus the gradient of the smooth part
    (``C * sum s_i loss_i + (1 - l1_ratio) / 2 ||W||^2``) to the subdifferential of
    ``l1_ratio * |w_j|``:

    - ``w_j != 0``: ``|g_j + l1_ratio * sign(w_j)|``
    - ``w_j == 0``: ``max(|g_j| - l1_ratio, 0)``

    and, with an intercept, ``|d objective / d b|`` (the intercept is not penalised,
    so a solver that penalises it, like liblinear, shows a violation here).
    ``C = inf``: the gradient of ``sum s_i loss_i``, scaled by ``1 / sum_i s_i``.
    """
    W, b = _as_2d(coef, intercept)
    _, residual, s_sum = _loss_and_residual(W, b, X, y, sample_weight)
    grad_loss = np.asarray(X.T @ residual).T  # (n_outputs, n_features)
    grad_b = residual.sum(axis=0)
    if np.isinf(C):
        violation = np.abs(grad_loss)
        scale = s_sum
    else:
        grad = C * grad_loss + (1.0 - l1_ratio) * W
        grad_b = C * grad_b
        violation = np.where(
            W != 0,
            np.abs(grad + l1_ratio * np.sign(W)),
            np.maximum(np.abs(grad) - l1_ratio, 0.0),
        )
        scale = C * s_sum
    worst = violation.max(initial=0.0)
    if fit_intercept:
        worst = max(worst, np.abs(grad_b).max())
    return float(worst / scale)


_COLUMNS = [
    # key, header, width, format
    ("solver", "solver", 26, "{}"),
    ("penalty", "penalty", 7, "{}"),
    ("time", "time [s]", 9, "{:.3f}"),
    ("passes", "passes", 8, "{:.0f}"),
    ("n_iter", "n_iter", 7, "{}"),
    ("rel_gap", "rel. gap", 9, "{:.1e}"),
    ("kkt", "KKT viol.", 9, "{:.1e}"),
    ("nnz", "nnz(w)", 8, "{}"),
    ("vs_chinchilla", "t/t_chin", 8, "{:.2f}"),
    ("note", "note", 0, "{}"),
]


def _cell(row, key, fmt):
    value = row.get(key)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return fmt.format(value)


def format_table(rows):
    """Plain fixed-width text table, one line per row (dicts keyed as _COLUMNS)."""
    left = ("solver", "penalty", "note")

    def line(texts):
        cells = []
        for (key, _, width, _), text in zip(_COLUMNS, texts):
            align = "<" if key in left else ">"
            cells.append(f"{text:{align}{width}}" if width else text)
        return "  ".join(cells).rstrip()

    header = line([h for _, h, _, _ in _COLUMNS])
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(line([_cell(row, key, fmt) for key, _, _, fmt in _COLUMNS]))
    return "\n".join(lines)
