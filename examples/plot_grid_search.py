"""
=====================================
Tuning C, l1_ratio and gate_threshold
=====================================

:class:`~chinchilla_sklearn.ChinchillaClassifier` is a scikit-learn estimator,
so :class:`~sklearn.model_selection.GridSearchCV` tunes it like any other. Two
of the three parameters tuned here change the model: ``C`` (inverse strength of
the penalty) and ``l1_ratio`` (0: L2, 1: L1, between: elastic net). The third,
``gate_threshold``, changes only how the gate spends its effort: it moves the
fit time, not the cross-validated score. Tuning it is tuning speed.
"""

# %%
# Data: the breast cancer set, with pairwise products
# ---------------------------------------------------
# The breast cancer data set ships with scikit-learn (569 samples, 30
# features). Adding all pairwise products of the standardised features gives
# 495 features, most of them redundant: a problem where an L1 penalty selects
# a few, and where the gate has features to leave out.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from chinchilla_sklearn import ChinchillaClassifier

X, y = load_breast_cancer(return_X_y=True)
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("products", PolynomialFeatures(degree=2, include_bias=False)),
        ("rescale", StandardScaler()),
        ("clf", ChinchillaClassifier(max_iter=300)),
    ]
)
print(f"features after the expansion: {pipe[:-1].fit_transform(X).shape[1]}")

# %%
# The grid search
# ---------------
# 5 values of ``C`` on a log scale, 3 of ``l1_ratio`` and 3 of ``gate_threshold``:
# 45 candidates, 5 folds each. ``gate_threshold=0`` lets every feature that is
# not screened out into the working set (no gating); higher values admit only
# the features whose optimality violation is close to the strongest one.
param_grid = {
    "clf__C": np.logspace(-2, 0, 5),
    "clf__l1_ratio": [0.0, 0.5, 1.0],
    "clf__gate_threshold": [0.0, 0.1, 0.5],
}
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv).fit(X, y)
print(f"best parameters: {search.best_params_}")
print(f"best cross-validated accuracy: {search.best_score_:.4f}")
# The three thresholds tie on the score, so the one in best_params_ is just the
# first in the grid: the score cannot choose it.

results = pd.DataFrame(search.cv_results_)
results = results.rename(
    columns={
        "param_clf__C": "C",
        "param_clf__l1_ratio": "l1_ratio",
        "param_clf__gate_threshold": "gate_threshold",
    }
)
for column in ("C", "l1_ratio", "gate_threshold"):
    results[column] = results[column].astype(float)

# %%
# Scores: C and l1_ratio matter, gate_threshold does not
# ------------------------------------------------------
# Colour is ``l1_ratio``, marker is ``gate_threshold``. For each ``l1_ratio`` the
# three thresholds give the same scores, so their markers sit on top of each
# other (drawn smaller for each threshold so all three show): the three fits
# reach the same weights, up to ``tol``.
from matplotlib.lines import Line2D

l1_ratios, thresholds = param_grid["clf__l1_ratio"], param_grid["clf__gate_threshold"]
markers = dict(zip(thresholds, ["o", "s", "^"]))
sizes = dict(zip(thresholds, [11, 7, 4]))


def legend_handles(l1_values):
    """Return legend entries: colours for l1_ratio, markers for gate_threshold."""
    colours = [
        Line2D([], [], color=f"C{l1_ratios.index(r)}", label=f"l1_ratio={r:g}")
        for r in l1_values
    ]
    shapes = [
        Line2D([], [], color="0.3", marker=markers[t], linestyle="none",
               markerfacecolor="none", label=f"gate_threshold={t:g}")
        for t in thresholds
    ]
    return colours + shapes


fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
for (l1_ratio, threshold), group in results.groupby(["l1_ratio", "gate_threshold"]):
    ax.errorbar(
        group["C"],
        group["mean_test_score"],
        yerr=group["std_test_score"],
        color=f"C{l1_ratios.index(l1_ratio)}",
        marker=markers[threshold],
        markersize=sizes[threshold],
        markerfacecolor="none",
        capsize=3,
    )
ax.set_xscale("log")
ax.set_xlabel("C")
ax.set_ylabel("cross-validated accuracy (mean and std over 5 folds)")
ax.set_title("Score: the same at every gate_threshold")
ax.legend(handles=legend_handles(l1_ratios), fontsize="small", loc="lower right")
plt.show()

# %%
# Fit times: gate_threshold changes the cost
# ------------------------------------------
# With an L1 part (``l1_ratio > 0``) the gate works on a few features at a time;
# without a threshold (0) it solves on every feature that is not screened, which
# costs more, the more so as ``C`` grows and more features enter. With
# ``l1_ratio=0`` (L2) every weight is non-zero, the gate has nothing to leave
# out and the threshold plays no part, so it is not drawn.
fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
for (l1_ratio, threshold), group in results.groupby(["l1_ratio", "gate_threshold"]):
    if l1_ratio == 0:
        continue
    ax.plot(
        group["C"],
        1e3 * group["mean_fit_time"],
        color=f"C{l1_ratios.index(l1_ratio)}",
        marker=markers[threshold],
        markerfacecolor="none",
    )
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("C")
ax.set_ylabel("mean fit time of the pipeline [ms]")
ax.set_title("Cost: lower with a working set")
ax.legend(handles=legend_handles(l1_ratios[1:]), fontsize="small")
plt.show()

# %%
# The same in numbers: for each ``C`` and ``l1_ratio``, the largest spread of
# the score over the three thresholds, and the fit time at each threshold.
spread = results.groupby(["l1_ratio", "C"])["mean_test_score"].agg(np.ptp)
print(f"largest spread of the score over gate_threshold: {spread.max():.4f}")
table = results.pivot_table(
    index=["l1_ratio", "C"], columns="gate_threshold", values="mean_fit_time"
)
print((1e3 * table).round(1).to_string())

# %%
# Choosing gate_threshold
# -----------------------
# A threshold between 0.1 and 0.5 admits few features per round; every round
# also admits at least the 100 strongest violators (or as many as the support
# holds), so thresholds above about 0.5 rarely change anything on problems of
# this size. 0 turns the working set off and is slowest where the solution is
# sparse. The default, 0.5, is a good start; tune it on fit time, as here, not
# on the score.
