"""Synthetic text-like sparse classification problems for the benchmarks.

Everything is vectorised (no Python loop over rows or features), so a
100,000 x 500,000 problem with ~90 stored entries per row builds in seconds.

Recipe (`make_text_like`):

1. Feature popularity follows a Zipf-like law: the feature of rank ``r`` is drawn
   with probability proportional to ``1 / (r + 2) ** 1.1``; ranks are randomly
   permuted over the feature indices, so frequent features are scattered.
2. Each row gets a target number of stored entries k, uniform in ``nnz_per_row``,
   and draws as many tokens from that law as give k distinct features on average
   (more tokens than k, because popular features repeat); each token carries a term
   count ``1 + Poisson(0.5)``, and repeated tokens of a row are summed (canonical
   CSR: sorted indices, no duplicates). So the stored entries per row average the
   middle of ``nnz_per_row``, with some spread around each row's k.
3. Values are TF-IDF like: ``log1p(count) * idf_j`` with the smoothed
   ``idf_j = log((1 + n_samples) / (1 + df_j)) + 1``, and each row is scaled to unit
   L2 norm.
4. Labels come from a sparse true weight vector (``density_of_truth * n_features``
   non-zeros, Gaussian values) on features that occur in the data, drawn with
   probability proportional to ``sqrt(df_j)`` so that most rows touch some of them.
   The margins ``m = X @ w_true`` are centred at their median (balanced classes) and
   scaled so that the Bayes accuracy ``mean(max(p, 1 - p))`` of
   ``p = sigmoid(scale * m + b)`` equals ``bayes_accuracy``; then
   ``y ~ Bernoulli(p)``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

__all__ = ["make_text_like", "make_multiclass_text_like"]

_ZIPF_EXPONENT = 1.1


def _tokens_for_distinct(p, max_distinct):
    """Tokens to draw so that a row holds k distinct features on average, k <= max.

    With m draws from probabilities p, the expected number of distinct features is
    ``f(m) = sum_j 1 - (1 - p_j) ** m``; returns ``m_k = min{m : f(m) >= k}`` for
    k = 0, ..., max_distinct. For the rare features (``p_j * m`` small) the second
    order expansion ``m p_j - m (m - 1) / 2 p_j ** 2`` is exact enough, so only the
    frequent head needs the power.
    """
    max_tokens = max(4 * max_distinct, 16)
    head = p * max_tokens > 1e-2
    log1m_head = np.log1p(-np.minimum(p[head], 1.0 - 1e-12))
    tail_p1, tail_p2 = p[~head].sum(), (p[~head] ** 2).sum()
    distinct = np.empty(max_tokens + 1)
    for m in range(max_tokens + 1):  # a few hundred steps over the head only
        head_part = (-np.expm1(m * log1m_head)).sum()
        distinct[m] = head_part + m * tail_p1 - m * (m - 1) / 2 * tail_p2
    distinct = np.maximum.accumulate(distinct)
    tokens = np.searchsorted(distinct, np.arange(max_distinct + 1), side="left")
    return np.minimum(tokens, max_tokens)


def _draw_tokens(rng, n_samples, n_features, nnz_per_row):
    """Draw (row, feature, count) triplets with Zipf-like feature popularity."""
    low, high = nnz_per_row
    weights = 1.0 / (np.arange(n_features) + 2.0) ** _ZIPF_EXPONENT
    tokens_for = _tokens_for_distinct(weights / weights.sum(), high)
    n_tokens = tokens_for[rng.integers(low, high + 1, size=n_samples)]
    rows = np.repeat(np.arange(n_samples, dtype=np.int64), n_tokens)
    # Inverse-CDF sampling of ranks: searchsorted is O(log n_features) per token.
    cdf = np.cumsum(weights)
    ranks = np.searchsorted(cdf, rng.random(rows.size) * cdf[-1], side="right")
    np.minimum(ranks, n_features - 1, out=ranks)
    feature_of_rank = rng.permutation(n_features)
    cols = feature_of_rank[ranks]
    counts = 1.0 + rng.poisson(0.5, size=rows.size)
    return rows, cols, counts


def _tfidf_csr(rows, cols, counts, shape):
    """Sum duplicate tokens into a canonical CSR matrix with TF-IDF row-unit values."""
    # COO -> CSR sums duplicates; sum_duplicates() also sorts indices (canonical).
    X = sp.coo_matrix((counts, (rows, cols)), shape=shape).tocsr()
    X.sum_duplicates()
    n_samples = shape[0]
    df = np.bincount(X.indices, minlength=shape[1])
    idf = np.log((1.0 + n_samples) / (1.0 + df)) + 1.0
    X.data = np.log1p(X.data) * idf[X.indices]
    row_norms = np.sqrt(np.add.reduceat(X.data**2, X.indptr[:-1]))
    row_norms[np.diff(X.indptr) == 0] = 1.0  # empty rows (impossible if low >= 1)
    X.data /= np.repeat(row_norms, np.diff(X.indptr))
    return X, df


def _true_support(rng, df, density_of_truth, n_draws=1):
    """Pick `n_draws` supports of features that occur, favouring frequent ones."""
    occurring = np.flatnonzero(df > 0)
    n_true = max(1, int(round(density_of_truth * df.size)))
    n_true = min(n_true, occurring.size)
    p = np.sqrt(df[occurring].astype(np.float64))
    p /= p.sum()
    return [
        rng.choice(occurring, size=n_true, replace=False, p=p) for _ in range(n_draws)
    ]


def _bayes_accuracy_binary(margin, scale):
    p = expit(scale * margin)
    return np.mean(np.maximum(p, 1.0 - p))


def _find_scale(accuracy_of_scale, target, low=1e-3, high=1e3, n_steps=60):
    """Bisection (in log scale) for the scale reaching the target Bayes accuracy."""
    if accuracy_of_scale(high) < target:
        return high
    for _ in range(n_steps):
        mid = np.sqrt(low * high)
        if accuracy_of_scale(mid) < target:
            low = mid
        else:
            high = mid
    return np.sqrt(low * high)


def make_text_like(
    n_samples,
    n_features,
    *,
    nnz_per_row=(80, 100),
    density_of_truth=0.01,
    bayes_accuracy=0.85,
    dtype=np.float64,
    random_state=0,
    return_truth=False,
):
    """Binary text-like problem: sparse TF-IDF-like X, labels from a logistic link.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of X.
    nnz_per_row : (int, int), default=(80, 100)
        Inclusive range of the target number of stored entries (distinct
        features) per row; the realised count scatters around each row's target.
    density_of_truth : float, default=0.01
        Share of features with a non-zero true weight.
    bayes_accuracy : float, default=0.85
        Accuracy of the Bayes classifier ``p > 0.5`` on the generated rows.
    dtype : {np.float64, np.float32}, default=np.float64
    random_state : int, default=0
    return_truth : bool, default=False
        Also return a dict with ``coef`` (the scaled true weights), ``intercept``
        and ``bayes_accuracy``.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), values in {0, 1}
    truth : dict, only when ``return_truth=True``
    """
    rng = np.random.default_rng(random_state)
    rows, cols, counts = _draw_tokens(rng, n_samples, n_features, nnz_per_row)
    X, df = _tfidf_csr(rows, cols, counts, (n_samples, n_features))
    del rows, cols, counts

    (support,) = _true_support(rng, df, density_of_truth)
    w = np.zeros(n_features)
    w[support] = rng.standard_normal(support.size)
    margin = X @ w
    b = -np.median(margin)
    margin += b
    scale = _find_scale(lambda s: _bayes_accuracy_binary(margin, s), bayes_accuracy)
    p = expit(scale * margin)
    y = (rng.random(n_samples) < p).astype(np.int64)

    X = X.astype(dtype, copy=False)
    if not return_truth:
        return X, y
    truth = {
        "coef": scale * w,
        "intercept": scale * b,
        "bayes_accuracy": float(np.mean(np.maximum(p, 1.0 - p))),
    }
    return X, y, truth


def _bayes_accuracy_multi(margins, scale):
    return np.mean(np.max(softmax(scale * margins, axis=1), axis=1))


def _balance_intercepts(margins, n_steps=20):
    """Shift class intercepts so that mean predicted class shares are about equal."""
    n_classes = margins.shape[1]
    b = np.zeros(n_classes)
    for _ in range(n_steps):
        share = softmax(margins + b, axis=1).mean(axis=0)
        b -= np.log(share * n_classes)
    return b - b.mean()


def make_multiclass_text_like(
    n_samples,
    n_features,
    n_classes,
    *,
    nnz_per_row=(80, 100),
    density_of_truth=0.01,
    bayes_accuracy=0.8,
    dtype=np.float64,
    random_state=0,
    return_truth=False,
):
    """Multiclass text-like problem: same X recipe, labels from a softmax link.

    Each class has its own sparse true weights (``density_of_truth * n_features``
    non-zeros, drawn like in `make_text_like`). Intercepts balance the classes, and
    the common scale sets the Bayes accuracy ``mean(max_k p_k)``.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), values in {0, ..., n_classes - 1}
    truth : dict with ``coef`` (n_classes, n_features), ``intercept`` (n_classes,)
        and ``bayes_accuracy``; only when ``return_truth=True``
    """
    rng = np.random.default_rng(random_state)
    rows, cols, counts = _draw_tokens(rng, n_samples, n_features, nnz_per_row)
    X, df = _tfidf_csr(rows, cols, counts, (n_samples, n_features))
    del rows, cols, counts

    W = np.zeros((n_features, n_classes))
    for k, support in enumerate(_true_support(rng, df, density_of_truth, n_classes)):
        W[support, k] = rng.standard_normal(support.size)
    margins = np.asarray(X @ W)
    margins -= margins.mean(axis=0)

    def accuracy_of_scale(scale):
        shifted = scale * margins + _balance_intercepts(scale * margins, n_steps=5)
        return _bayes_accuracy_multi(shifted, 1.0)

    scale = _find_scale(accuracy_of_scale, bayes_accuracy, n_steps=40)
    b = _balance_intercepts(scale * margins)
    P = softmax(scale * margins + b, axis=1)
    # Categorical draw, vectorised: first class whose cumulative share exceeds u.
    u = rng.random((n_samples, 1))
    y = np.minimum((np.cumsum(P, axis=1) < u).sum(axis=1), n_classes - 1)

    X = X.astype(dtype, copy=False)
    if not return_truth:
        return X, y
    truth = {
        "coef": scale * W.T,
        "intercept": b,
        "bayes_accuracy": float(np.mean(P.max(axis=1))),
    }
    return X, y, truth
