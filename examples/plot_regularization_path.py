"""
====================================
Regularisation path with warm starts
====================================

How do the weights of an L1-penalised model change with ``C``? This example
fits :class:`~chinchilla_sklearn.ChinchillaClassifier` on the breast cancer data
set (bundled with scikit-learn) for 30 values of ``C`` on a log scale, from the
largest ``C`` at which every weight is zero up to a thousand times it, and draws
each weight against ``C``. With ``warm_start=True`` each fit starts from the
previous solution, which is close to the next one; the path costs less than the
same fits from zero, and reaches the same weights.
"""

# %%
# Data and the grid of C
# ----------------------
# :func:`sklearn.svm.l1_min_c` gives the bound on ``C`` below which every weight
# of an L1 model is zero; above it, the first weight leaves zero.
# ``ChinchillaClassifier`` minimises the objective of
# :class:`~sklearn.linear_model.LogisticRegression` with the same ``C``, so the
# bound holds for it as it is.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
from sklearn.svm import l1_min_c

from chinchilla_sklearn import ChinchillaClassifier

data = load_breast_cancer()
X = StandardScaler().fit_transform(data.data)
y = data.target
C_min = l1_min_c(X, y, loss="log")
Cs = C_min * np.logspace(0, 3, 30)
print(f"every weight is zero for C <= {C_min:.2e}")

# %%
# The path
# --------
# One estimator, refitted with a growing ``C``: ``set_params`` changes ``C`` and
# ``warm_start=True`` keeps the previous ``coef_`` and ``intercept_`` as the
# starting point.
clf = ChinchillaClassifier(l1_ratio=1.0, tol=1e-6, warm_start=True)
coefs, n_iter = [], []
start = time.perf_counter()
for C in Cs:
    clf.set_params(C=C).fit(X, y)
    coefs.append(clf.coef_.ravel().copy())
    n_iter.append(clf.n_iter_)
warm_time = time.perf_counter() - start
coefs = np.array(coefs)

# %%
# The same fits, each from zero.
cold = ChinchillaClassifier(l1_ratio=1.0, tol=1e-6)
cold_coefs, cold_n_iter = [], []
start = time.perf_counter()
for C in Cs:
    cold.set_params(C=C).fit(X, y)
    cold_coefs.append(cold.coef_.ravel().copy())
    cold_n_iter.append(cold.n_iter_)
cold_time = time.perf_counter() - start
print(f"path with warm starts: {warm_time:.2f} s, {sum(n_iter)} outer iterations")
print(f"path from zero:        {cold_time:.2f} s, {sum(cold_n_iter)} outer iterations")
print(f"largest difference of the weights: {np.abs(coefs - cold_coefs).max():.1e}")

# %%
# Weights against C
# -----------------
# Each line is one feature's weight. At the left end, ``C_min``, every weight is
# zero; as ``C`` grows (the penalty weakens) features enter one after another,
# and some leave again when a correlated feature takes over. The right panel
# counts the non-zero weights.
fig, (ax_path, ax_count) = plt.subplots(
    1, 2, figsize=(11, 4), layout="constrained", width_ratios=[2, 1]
)
ax_path.plot(Cs, coefs, marker=".", linewidth=1)
ax_path.set_xscale("log")
ax_path.set_xlabel("C")
ax_path.set_ylabel("weight (coef_)")
ax_path.set_title("L1 regularisation path")
# name the features with the largest weights at the weakest penalty
for j in np.argsort(np.abs(coefs[-1]))[-3:]:
    ax_path.annotate(
        data.feature_names[j],
        (Cs[-1], coefs[-1, j]),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize="small",
        va="center",
    )
ax_count.step(Cs, np.count_nonzero(coefs, axis=1), where="post")
ax_count.set_xscale("log")
ax_count.set_xlabel("C")
ax_count.set_ylabel("non-zero weights")
ax_count.set_title(f"Support size (of {X.shape[1]} features)")
plt.show()
