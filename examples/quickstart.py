"""
==========
Quickstart
==========

Tune :class:`~chinchilla_sklearn.ChinchillaClassifier` in a scikit-learn
:class:`~sklearn.pipeline.Pipeline` with :class:`~sklearn.model_selection.GridSearchCV`,
compare it with :class:`~sklearn.linear_model.LogisticRegression` at the same ``C``
and ``l1_ratio`` (the two minimise the same objective), and check that the fitted
model survives a round trip through :mod:`joblib`.
"""

# %%
# Data
# ----
# The breast cancer data set ships with scikit-learn: 569 samples, 30 features.
import os
import tempfile
import time

import joblib
import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chinchilla_sklearn import ChinchillaClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# Tune C and l1_ratio
# -------------------
# ``l1_ratio=0`` is an L2 penalty, ``1`` an L1 penalty, values between an elastic net.
pipe = Pipeline([("scale", StandardScaler()), ("clf", ChinchillaClassifier())])
param_grid = {"clf__C": [0.01, 0.1, 1, 10], "clf__l1_ratio": [0, 0.5, 1]}
search = GridSearchCV(pipe, param_grid, cv=5).fit(X_train, y_train)
C, l1_ratio = search.best_params_["clf__C"], search.best_params_["clf__l1_ratio"]
print(f"chosen parameters: C={C}, l1_ratio={l1_ratio}")

# %%
# Compare with LogisticRegression
# -------------------------------
# Refit the chosen pipeline, and the same pipeline with scikit-learn's
# LogisticRegression at the same C and l1_ratio, timing both fits.
reference = {
    "C": C,
    "l1_ratio": l1_ratio,
    "solver": "saga" if l1_ratio > 0 else "lbfgs",
    "max_iter": 10_000,
}
if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 8):
    # Before scikit-learn 1.8, l1_ratio is only read with penalty="elasticnet".
    reference["penalty"] = "elasticnet" if l1_ratio > 0 else "l2"

best = clone(search.best_estimator_)
sk_pipe = Pipeline(
    [("scale", StandardScaler()), ("clf", LogisticRegression(**reference))]
)
fit_time = {}
for name, model in [("chinchilla", best), ("sklearn", sk_pipe)]:
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_time[name] = time.perf_counter() - start

clf = best[-1]
print(
    f"test accuracy: chinchilla {best.score(X_test, y_test):.4f}, "
    f"LogisticRegression {sk_pipe.score(X_test, y_test):.4f}"
)
print(f"share of non-zero weights: {np.mean(clf.coef_ != 0):.2f}")
print(
    f"fit time: chinchilla {fit_time['chinchilla']:.4f} s, "
    f"LogisticRegression {fit_time['sklearn']:.4f} s"
)
print(
    f"outer iterations: {clf.n_iter_}, "
    f"column passes saved by the gate: {clf.gate_report_['skipped_share']:.0%}"
)

# %%
# Save and reload
# ---------------
# The fitted pipeline round-trips through joblib with identical predictions.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "chinchilla.joblib")
    joblib.dump(best, path)
    reloaded = joblib.load(path)
assert np.array_equal(reloaded.predict(X_test), best.predict(X_test))
print("reloaded model predicts identically")
