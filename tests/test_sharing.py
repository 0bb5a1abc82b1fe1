"""Parameter sharing (group penalty), multinomial L1/EN and native multilabel.

The reference is a slow, obviously correct accelerated proximal-gradient
(FISTA) solver written here, independent of the package.
"""

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.exceptions import DataConversionWarning

from chinchilla_sklearn import ChinchillaClassifier


def _multiclass(seed=0, n_samples=90, n_features=10, n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    W = np.zeros((n_features, n_classes))
    W[:3] = rng.normal(0, 2, size=(3, n_classes))
    Z = X @ W + rng.gumbel(size=(n_samples, n_classes))
    return X, Z.argmax(axis=1)


def _multilabel(seed=0, n_samples=90, n_features=10, n_labels=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    W = np.zeros((n_features, n_labels))
    W[:3] = rng.normal(0, 2, size=(3, n_labels))
    return X, (X @ W + rng.logistic(size=(n_samples, n_labels)) > 0).astype(int)


def _objective(W, b, X, Y, C, l1_ratio, softmax, group):
    Z = X @ W + b
    if softmax:
        loss = np.sum(logsumexp(Z, axis=1) - (Y * Z).sum(axis=1))
    else:
        loss = np.sum(np.logaddexp(0, Z) - Y * Z)
    l1 = np.linalg.norm(W, axis=1).sum() if group else np.abs(W).sum()
    return C * loss + (1 - l1_ratio) / 2 * np.sum(W**2) + l1_ratio * l1


def _fista(X, Y, C, l1_ratio, softmax, group, n_iter=20_000):
    """Accelerated proximal gradient on (W, b); step 1 / Lipschitz bound."""
    n_features = X.shape[1]
    Xb = np.hstack([X, np.ones((X.shape[0], 1))])
    lipschitz = C * np.linalg.norm(Xb, 2) ** 2 * (0.5 if softmax else 0.25)
    lipschitz += 1 - l1_ratio
    step = 1 / lipschitz
    A = np.zeros((n_features + 1, Y.shape[1]))
    V, t = A.copy(), 1.0
    for _ in range(n_iter):
        Z = Xb @ V
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True)) if softmax else expit(Z)
        G = C * Xb.T @ (P - Y)
        G[:n_features] += (1 - l1_ratio) * V[:n_features]
        A_new = V - step * G
        W = A_new[:n_features]
        threshold = step * l1_ratio
        if group:
            norms = np.linalg.norm(W, axis=1, keepdims=True)
            W *= np.maximum(1 - threshold / np.maximum(norms, 1e-300), 0)
        else:
            W[:] = np.sign(W) * np.maximum(np.abs(W) - threshold, 0)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        V = A_new + (t - 1) / t_new * (A_new - A)
        A, t = A_new, t_new
    return A[:n_features], A[n_features]


CASES = [
    pytest.param(softmax, l1_ratio, group, id=f"{kind}-l1={l1_ratio}-group={group}")
    for softmax, kind in [(True, "multinomial"), (False, "multilabel")]
    for l1_ratio in (0.5, 1.0)
    for group in (False, True)
]


@pytest.mark.parametrize("softmax, l1_ratio, group", CASES)
def test_objective_matches_proximal_gradient_reference(softmax, l1_ratio, group):
    C = 0.05
    X, y = _multiclass() if softmax else _multilabel()
    Y = np.eye(3)[y] if softmax else y.astype(float)
    clf = ChinchillaClassifier(C=C, l1_ratio=l1_ratio, shared_support=group,
                               tol=1e-10, max_iter=300).fit(X, y)
    ours = _objective(clf.coef_.T, clf.intercept_, X, Y, C, l1_ratio, softmax, group)
    W_ref, b_ref = _fista(X, Y, C, l1_ratio, softmax, group)
    reference = _objective(W_ref, b_ref, X, Y, C, l1_ratio, softmax, group)
    assert ours <= reference * (1 + 1e-6)
    assert ours == pytest.approx(reference, rel=1e-6)
    assert clf.loss_curve_[-1] == pytest.approx(ours, rel=1e-9)
    assert clf.dual_gap_ <= 1e-10  # the certificate of the solution


@pytest.mark.parametrize("softmax", [True, False], ids=["multinomial", "multilabel"])
def test_shared_support_zeroes_whole_columns(softmax):
    X, y = _multiclass(1) if softmax else _multilabel(1)
    shared = ChinchillaClassifier(C=0.1, l1_ratio=1.0, shared_support=True,
                                  tol=1e-8).fit(X, y)
    plain = ChinchillaClassifier(C=0.1, l1_ratio=1.0, tol=1e-8).fit(X, y)
    zero_columns = np.all(shared.coef_ == 0, axis=0)
    assert 0 < zero_columns.sum() < X.shape[1]
    # a feature is used by all classes or by none
    used = shared.coef_ != 0
    assert np.all(used.all(axis=0) | ~used.any(axis=0))
    # without sharing some feature is used by only some classes
    used = plain.coef_ != 0
    assert np.any(used.any(axis=0) & ~used.all(axis=0))


def test_group_with_one_output_is_l1():
    X, y = _multilabel(2, n_labels=1)
    # a single column is read as a 1-d target, as scikit-learn does, and says so
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        group = ChinchillaClassifier(C=0.05, l1_ratio=1.0, shared_support=True,
                                     tol=1e-10).fit(X, y)
    plain = ChinchillaClassifier(C=0.05, l1_ratio=1.0, tol=1e-10).fit(X, y[:, 0])
    np.testing.assert_allclose(group.coef_, plain.coef_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(group.intercept_, plain.intercept_, rtol=0, atol=1e-9)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_multilabel_equals_one_binary_fit_per_label(l1_ratio):
    X, Y = _multilabel(3)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, size=len(X))
    both = ChinchillaClassifier(C=0.1, l1_ratio=l1_ratio, tol=1e-10).fit(
        X, Y, sample_weight=weights)
    assert both.predict(X).shape == Y.shape
    assert both.predict_proba(X).shape == Y.shape
    for j in range(Y.shape[1]):
        one = ChinchillaClassifier(C=0.1, l1_ratio=l1_ratio, tol=1e-10).fit(
            X, Y[:, j], sample_weight=weights)
        np.testing.assert_allclose(both.coef_[j], one.coef_[0], rtol=0, atol=1e-8)
        np.testing.assert_allclose(both.intercept_[j], one.intercept_[0], atol=1e-8)
        np.testing.assert_allclose(both.predict_proba(X)[:, j],
                                   one.predict_proba(X)[:, 1], atol=1e-8)
