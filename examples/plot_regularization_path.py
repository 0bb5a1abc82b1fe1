"""
=====================================================
Tuning C in one call: the regularisation path and CV
=====================================================

How strong should the penalty be? :class:`~chinchilla_sklearn.ChinchillaClassifierCV`
answers in one call: for each fold it fits a whole regularisation path, from the
largest ``C`` at which every weight is zero up to ten thousand times it, each fit
starting from the previous ones, scores every fit on the fold's test samples and
refits the best ``C`` on all the data. :class:`~chinchilla_sklearn.PathDisplay`
draws the weights and the cross-validated score against ``C``.

The data are text-like: documents drawn from a vocabulary with Zipf-like word
frequencies, a few words more frequent in one class than in the other, as TF-IDF
rows (generated here, nothing is downloaded).
"""

# %%
# Text-like data
# --------------
# 1,500 documents of 80 words from a vocabulary of 2,000 words. Word ``r`` (by
# frequency rank) is drawn with probability proportional to ``1 / (r + 2)``; 30
# words are three times as frequent in the positive class and 30 others in the
# negative class. The counts become TF-IDF rows, a sparse matrix.
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from chinchilla_sklearn import (
    ChinchillaClassifier,
    ChinchillaClassifierCV,
    PathDisplay,
    regularization_path,
)

rng = np.random.default_rng(1)
n_documents, n_words, length = 1500, 2000, 80
frequency = 1 / (np.arange(n_words) + 2.0)
y = rng.integers(0, 2, n_documents)
topical = rng.choice(np.arange(50, 1500), size=60, replace=False)
rates = np.tile(frequency, (2, 1))
rates[1, topical[:30]] *= 3  # positive words
rates[0, topical[30:]] *= 3  # negative words
rates /= rates.sum(axis=1, keepdims=True)
rows = np.repeat(np.arange(n_documents), length)
words = np.concatenate([rng.choice(n_words, size=length, p=rates[label])
                        for label in y])
counts = sp.csr_matrix((np.ones(rows.size), (rows, words)),
                       shape=(n_documents, n_words))  # duplicates are summed
X = TfidfTransformer().fit_transform(counts)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(f"X: {X.shape[0]} x {X.shape[1]}, {X.nnz / X.shape[0]:.0f} stored entries "
      "per row")

# %%
# The path
# --------
# :func:`~chinchilla_sklearn.regularization_path` fits an L1 model at 12 values of
# ``C``, from ``C_min``, the largest ``C`` at which every weight is zero (a
# formula: no fit is needed to find it), to ``1e4 * C_min``. Each fit starts from
# the line through the two previous solutions, so it takes few Newton steps;
# the same fits from zero take more.
start = time.perf_counter()
path = regularization_path(X_train, y_train, Cs=12, l1_ratio=1.0, tol=1e-6)
path_time = time.perf_counter() - start
start = time.perf_counter()
cold = [ChinchillaClassifier(C=C, l1_ratio=1.0, tol=1e-6).fit(X_train, y_train)
        for C in path.Cs]
cold_time = time.perf_counter() - start
print(f"every weight is zero for C <= C_min = {path.C_min:.3g}")
print(f"path: {path_time:.2f} s, {path.n_iter.sum()} outer iterations; the same "
      f"fits from zero: {cold_time:.2f} s, {sum(c.n_iter_ for c in cold)}")
print("non-zero weights along the path:",
      np.count_nonzero(path.coefs, axis=(1, 2)).tolist())

# %%
# Choosing C by cross-validation
# ------------------------------
# :class:`~chinchilla_sklearn.ChinchillaClassifierCV` runs one such path per fold
# (in parallel with ``n_jobs``), on a grid computed on all the training data, so
# the folds are scored at the same ``C`` values. ``selection="1se"`` picks the
# strongest penalty whose mean score is within one standard error of the best:
# a sparser model that scores as well, within the noise of the folds.
folds = StratifiedKFold(5, shuffle=True, random_state=0)
start = time.perf_counter()
search = ChinchillaClassifierCV(Cs=12, l1_ratios=[1.0], cv=folds, tol=1e-6)
search.fit(X_train, y_train)
cv_time = time.perf_counter() - start
sparse = ChinchillaClassifierCV(Cs=12, l1_ratios=[1.0], cv=folds, tol=1e-6,
                                selection="1se").fit(X_train, y_train)
for name, model in [("best", search), ("1se", sparse)]:
    print(f"{name:>4}: C_ = {model.C_:.3g}, mean CV accuracy "
          f"{model.best_score_:.3f}, {np.count_nonzero(model.coef_)} non-zero "
          f"weights, test accuracy {model.score(X_test, y_test):.3f}")

# %%
# The same search with :class:`~sklearn.model_selection.GridSearchCV` fits every
# ``C`` of every fold from zero, and finds the same scores and the same ``C``.
# (``tol=1e-6`` throughout, a relative duality gap: where the penalty is weak,
# two fits that both pass a looser certificate can differ in a prediction or
# two, and a tie of scores can then fall the other way.)
start = time.perf_counter()
grid = GridSearchCV(ChinchillaClassifier(tol=1e-6),
                    {"C": search.Cs_, "l1_ratio": [1.0]}, cv=folds)
grid.fit(X_train, y_train)
grid_time = time.perf_counter() - start
difference = np.abs(grid.cv_results_["mean_test_score"]
                    - search.cv_results_["mean_test_score"]).max()
print(f"ChinchillaClassifierCV {cv_time:.2f} s, GridSearchCV {grid_time:.2f} s; "
      f"same C: {grid.best_params_['C'] == search.C_}, largest difference of the "
      f"mean scores: {difference:.4f}")

# %%
# The path and the score against C
# --------------------------------
# Top: each weight against ``C`` (the path on all the training data). At
# ``C_min`` every weight is zero; the topical words enter first, then, as the
# penalty weakens, more and more words fit the noise. Bottom: the mean accuracy
# over the folds with error bars of one standard error, and the chosen ``C``.
display = PathDisplay.from_estimator(search, X_train, y_train)
display.axes_[1].axvline(sparse.C_, color="C2", linestyle=":",
                         label=f"1se: C = {sparse.C_:.3g}")
display.axes_[1].legend(loc="lower right")
plt.show()

# %%
# How many of the 60 topical words does each model use, and how many others?
for name, model in [("best", search), ("1se", sparse)]:
    used = np.flatnonzero(model.coef_[0])
    print(f"{name:>4}: {np.isin(used, topical).sum()} topical words, "
          f"{(~np.isin(used, topical)).sum()} others")
