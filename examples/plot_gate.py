"""
=================
What the gate did
=================

The *dynamic-adjustment gate* runs the outer loop of every fit of
:class:`~chinchilla_sklearn.ChinchillaClassifier`. In each outer iteration it
scores every feature by its optimality (KKT) violation, screens out the features
it can certify to be zero at the optimum (gap-safe screening), picks a small
*working set* of features, chooses a sparse or dense *kernel* for the products,
solves the problem on the working set, and checks optimality on all features.

This example fits an L1 model on a generated sparse, text-like problem with many
more features than the answer needs, shows what the gate did with
:class:`~chinchilla_sklearn.GateDisplay`, and times the same fit with the gate
on and off: the gate changes the cost of a fit, not its answer.
"""

# %%
# A sparse, text-like problem
# ---------------------------
# 10,000 "documents" over 100,000 "words": word frequencies follow a power law
# (Zipf's law), so a few columns are dense and most are very rare, as in a
# bag-of-words matrix. The labels depend on 60 words only.
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from chinchilla_sklearn import ChinchillaClassifier, GateDisplay

rng = np.random.default_rng(0)
n_samples, n_features, n_informative = 10_000, 100_000, 60

frequency = 1.0 / np.arange(1, n_features + 1) ** 0.8
frequency = rng.permutation(frequency / frequency.sum())
words_per_document = rng.poisson(80, size=n_samples)
rows = np.repeat(np.arange(n_samples), words_per_document)
columns = rng.choice(n_features, size=rows.size, p=frequency)
counts = sp.csr_matrix(
    (np.ones(rows.size), (rows, columns)), shape=(n_samples, n_features)
)
counts.sum_duplicates()
X = counts.copy()
X.data = np.log1p(X.data)  # sublinear term frequency

w_true = np.zeros(n_features)
common = np.argsort(frequency)[-5_000:]
w_true[rng.choice(common, n_informative, replace=False)] = rng.normal(
    scale=2.0, size=n_informative
)
scores = X @ w_true + 0.5 * rng.normal(size=n_samples)
y = (scores > np.median(scores)).astype(int)
print(f"X: {X.shape[0]} x {X.shape[1]}, {X.nnz / np.prod(X.shape):.2%} non-zero")

# %%
# Fit with the gate on
# --------------------
# ``verbose=1`` prints one line per outer iteration: the objective, the relative
# duality gap (what ``tol`` bounds: the objective is certified within it of the
# minimum), the largest optimality violation, the working-set size (``ws``), the
# features screened so far, the kernel and the elapsed time; then a summary line.
# ``tol=1e-6`` asks for a tight answer so the comparison below is sharp.
clf = ChinchillaClassifier(C=0.3, l1_ratio=1.0, tol=1e-6, verbose=1)
clf.fit(X, y)

# %%
# The same record is kept in ``loss_curve_`` and ``gate_report_``, and
# :class:`~chinchilla_sklearn.GateDisplay` draws it: one point per outer
# iteration. The working set starts at 100 features and grows about fourfold
# per round while the support grows (the growth floor), then settles on the
# support: a few hundred features out of 100,000. The objective settles after
# three iterations; the gap keeps falling until it is below ``tol`` (dashed
# line). Safe screening first removes only the words that never occur; once the
# gap is small, the gap-safe rule certifies almost every other feature zero, and
# they leave the problem for good.
display = GateDisplay.from_estimator(clf)
plt.show()

print(f"non-zero weights: {np.count_nonzero(clf.coef_)} of {n_features}")
print(f"kernels used: {clf.gate_report_['kernel']}")
print(
    "share of feature-column passes saved against gate=False: "
    f"{clf.gate_report_['skipped_share']:.1%}"
)

# %%
# Gate on and off: same answer, different cost
# --------------------------------------------
# ``gate=False`` runs the same solver on all features in every outer iteration.
# Both fits stop at the same certified gap, so they reach the same objective and,
# here, the same weights; the gate only skips work.
fits = {}
for gate in (True, False):
    model = ChinchillaClassifier(C=0.3, l1_ratio=1.0, tol=1e-6, gate=gate)
    start = time.perf_counter()
    model.fit(X, y)
    fits[gate] = (model, time.perf_counter() - start)

on, off = fits[True][0], fits[False][0]
print(f"objective, gate on:  {on.loss_curve_[-1]:.10f}")
print(f"objective, gate off: {off.loss_curve_[-1]:.10f}")
print(f"largest difference of coef_: {np.abs(on.coef_ - off.coef_).max():.2e}")
print(f"same predictions: {np.array_equal(on.predict(X), off.predict(X))}")
print(f"fit time: gate on {fits[True][1]:.2f} s, gate off {fits[False][1]:.2f} s")

fig, (ax_time, ax_ws) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
labels = ["gate on", "gate off"]
times = [fits[True][1], fits[False][1]]
bars = ax_time.bar(labels, times, color=["C2", "C7"])
ax_time.bar_label(bars, fmt="%.2f s")
ax_time.set_ylabel("fit time [s]")
ax_time.set_title("Time to the same answer")
for gate, label, color in [(True, "gate on", "C2"), (False, "gate off", "C7")]:
    model = fits[gate][0]
    sizes = model.gate_report_["working_set_size"]
    ax_ws.plot(range(1, len(sizes) + 1), sizes, "o-", label=label, color=color)
ax_ws.set_yscale("log")
ax_ws.xaxis.get_major_locator().set_params(integer=True)
ax_ws.set_xlabel("outer iteration")
ax_ws.set_ylabel("working-set size (features)")
ax_ws.set_title("Features taking part")
ax_ws.legend()
plt.show()

# %%
# The tolerance and the answer
# ----------------------------
# "The same answer" means the same to within ``tol``: both fits stop once the
# duality gap certifies their objective within ``tol`` (relative) of the
# minimum, so their objectives differ by at most that much, at the default
# ``tol=1e-4`` as at ``1e-6``. Lower ``tol`` when the weights themselves matter,
# as above: a gap bounds the weights less tightly than the objective.
for tol in (1e-4, 1e-6):
    objective = {
        gate: ChinchillaClassifier(C=0.3, l1_ratio=1.0, tol=tol, gate=gate)
        .fit(X, y)
        .loss_curve_[-1]
        for gate in (True, False)
    }
    gap = (objective[True] - objective[False]) / abs(objective[False])
    print(f"tol={tol:g}: relative objective difference, gate on - off: {gap:+.1e}")
