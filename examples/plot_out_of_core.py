"""
==========================
Out-of-core learning
==========================

When the data do not fit in memory, stream them through
:meth:`~chinchilla_sklearn.ChinchillaClassifier.partial_fit`: each call takes
one chunk of rows, cuts it into mini-batches and updates the model, and the
chunk can then be dropped. This example generates a sparse, text-like stream
chunk by chunk (only one chunk is ever in memory), trains on it, prints the
progress as it goes, and draws the running loss. ``partial_fit`` follows the
objective of :meth:`~chinchilla_sklearn.ChinchillaClassifier.fit` on all the
samples seen so far; as this stream is small, we can check it against ``fit``
on the whole of it at the end.
"""

# %%
# A stream of sparse chunks
# -------------------------
# Rows hold about 30 of 50,000 features, drawn with a Zipf-like popularity (a
# few common "words", a long tail of rare ones), scaled to unit norm as TF-IDF
# rows are. Labels follow a logistic model with 500 relevant features. Each
# chunk is generated from its own seed, so the stream can be replayed.
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from chinchilla_sklearn import ChinchillaClassifier

N_FEATURES, N_CHUNKS, CHUNK_ROWS, PER_ROW = 50_000, 60, 2_000, 30
popularity = 1.0 / np.arange(1, N_FEATURES + 1) ** 1.1
popularity /= popularity.sum()
truth_rng = np.random.default_rng(0)
true_coef = np.zeros(N_FEATURES)
relevant = truth_rng.choice(2_000, 500, replace=False)  # among the common words
true_coef[relevant] = truth_rng.normal(0.0, 12.0, relevant.size)


def make_chunk(seed):
    """Return one chunk ``(X, y)``: a CSR matrix of CHUNK_ROWS rows and labels."""
    rng = np.random.default_rng(seed)
    columns = rng.choice(N_FEATURES, (CHUNK_ROWS, PER_ROW), p=popularity)
    rows = np.repeat(np.arange(CHUNK_ROWS), PER_ROW)
    values = rng.uniform(0.5, 1.5, rows.size)
    X = sp.csr_matrix((values, (rows, columns.ravel())), (CHUNK_ROWS, N_FEATURES))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    y = (rng.random(CHUNK_ROWS) < expit(X @ true_coef)).astype(int)
    return X, y


def stream(n_chunks, first_seed=1):
    """Yield the chunks of the stream, one at a time."""
    for seed in range(first_seed, first_seed + n_chunks):
        yield make_chunk(seed)


X_test, y_test = make_chunk(seed=10_000)  # held out

# %%
# Train chunk by chunk
# --------------------
# ``classes`` must be given on the first call (a chunk need not hold every
# class). ``loss_curve_`` gets one entry per call: the loss of the chunk's
# samples, each computed just before the mini-batch step that used it, so it
# measures the model on data it has not trained on yet, at no extra cost.
# Divided by the chunk's size, it is the running loss per sample.
clf = ChinchillaClassifier(C=1.0, l1_ratio=0.2)
n_seen, running_loss, seen = 0, [], []
start = time.perf_counter()
for i, (X_chunk, y_chunk) in enumerate(stream(N_CHUNKS)):
    clf.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    n_seen += X_chunk.shape[0]
    seen.append(n_seen)
    running_loss.append(clf.loss_curve_[-1] / X_chunk.shape[0])
    if (i + 1) % 10 == 0:
        print(f"{n_seen:>7,} samples seen  running loss {running_loss[-1]:.4f}  "
              f"held-out accuracy {clf.score(X_test, y_test):.3f}  "
              f"non-zero weights {np.count_nonzero(clf.coef_):>6,}  "
              f"{time.perf_counter() - start:.1f} s")

# %%
# Compare with an in-memory fit
# -----------------------------
# This stream of 120,000 rows fits in memory, so ``fit`` can see it whole. It
# minimises the same objective; the stream made one pass over the data. The
# accuracies are close, but the streamed model is far less sparse: each
# mini-batch's gradient was taken at the weights of its time, early ones far
# from the solution, and the L1 part only zeroes a weight whose accumulated
# gradient stays below it. Further passes (with ``sample_weight=1 / n_passes``,
# so that the samples still count once) bring it only slowly closer; when a
# sparse model matters, refit with ``fit`` or raise ``l1_ratio``.
X_all, y_all = (sp.vstack([X for X, _ in stream(N_CHUNKS)]),
                np.concatenate([y for _, y in stream(N_CHUNKS)]))
start = time.perf_counter()
full = ChinchillaClassifier(C=1.0, l1_ratio=0.2).fit(X_all, y_all)
print(f"fit on all {X_all.shape[0]:,} rows: held-out accuracy "
      f"{full.score(X_test, y_test):.3f}, {np.count_nonzero(full.coef_):,} non-zero "
      f"weights, {time.perf_counter() - start:.1f} s")
proba = np.clip(full.predict_proba(X_all)[:, 1], 1e-12, 1 - 1e-12)
fit_loss = -np.mean(y_all * np.log(proba) + (1 - y_all) * np.log(1 - proba))

# %%
# The running loss
# ----------------
# The loss per sample falls quickly over the first chunks and then slowly
# approaches the training loss of the in-memory fit.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(seen, running_loss, marker=".", label="partial_fit: running loss")
ax.axhline(fit_loss, color="gray", linestyle="--", label="fit: training loss")
ax.set_xlabel("samples seen")
ax.set_ylabel("log loss per sample")
ax.set_title("Out-of-core training with partial_fit")
ax.legend()
fig.tight_layout()
plt.show()
