"""partial_fit: online (mini-batch) updates of the objective of fit."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import objective
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.utils._param_validation import InvalidParameterError

from chinchilla_sklearn import ChinchillaClassifier, _online

# 100 epochs of 10 calls of 100 rows (one mini-batch each) reach fit's objective
# to within 1% on these problems (measured: 0.09% to 0.65%).
N_EPOCHS = 100
N_ROWS, N_BATCH = 1000, 100


def _classification(n_classes=2, n_samples=N_ROWS, seed=0):
    return make_classification(
        n_samples, 20, n_informative=5, n_classes=n_classes, random_state=seed
    )


def _stream(clf, X, y, n_epochs, batch=N_BATCH, **kwargs):
    """Call partial_fit on consecutive batches of rows for n_epochs epochs."""
    for _ in range(n_epochs):
        for start in range(0, X.shape[0], batch):
            rows = slice(start, start + batch)
            weights = {k: v[rows] for k, v in kwargs.items() if k == "sample_weight"}
            clf.partial_fit(X[rows], y[rows], classes=np.unique(y), **weights)
    return clf


def _sparse_text(n_samples=300, n_features=2000, seed=0):
    """A sparse problem: ~10 stored entries per row, labels from 20 features."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.005, format="csr",
                  random_state=rng, data_rvs=lambda k: rng.uniform(0.1, 1.0, k))
    w = np.zeros(n_features)
    w[rng.choice(n_features, 20, replace=False)] = rng.normal(0, 4, 20)
    y = (X @ w + 0.3 * rng.standard_normal(n_samples) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_epochs_reach_fit_objective(n_classes, l1_ratio):
    """N_EPOCHS epochs at sample_weight=1/N_EPOCHS: fit's objective within 1%.

    partial_fit follows the objective of fit on all the samples it has seen, so
    E epochs count each sample E times; weights 1/E make them count once.
    """
    X, y = _classification(n_classes)
    ref = ChinchillaClassifier(C=1.0, l1_ratio=l1_ratio, tol=1e-8).fit(X, y)
    clf = _stream(ChinchillaClassifier(C=1.0, l1_ratio=l1_ratio), X, y, N_EPOCHS,
                  sample_weight=np.full(len(y), 1 / N_EPOCHS))
    F_ref = objective(ref.coef_, ref.intercept_, X, y, C=1.0, l1_ratio=l1_ratio)
    F = objective(clf.coef_, clf.intercept_, X, y, C=1.0, l1_ratio=l1_ratio)
    assert F_ref <= F < 1.01 * F_ref
    assert clf.n_iter_ == len(clf.loss_curve_) == N_EPOCHS * N_ROWS // N_BATCH


def test_l1_keeps_exact_zeros():
    """Weights are exactly 0.0, mostly where fit's are (10 epochs at weight 1/10)."""
    X, y = _classification(n_samples=500)
    clf = _stream(ChinchillaClassifier(C=0.05, l1_ratio=1.0), X, y, 10,
                  sample_weight=np.full(len(y), 0.1))
    zeros = clf.coef_ == 0
    assert 0 < zeros.sum() < zeros.size
    ref = ChinchillaClassifier(C=0.05, l1_ratio=1.0).fit(X, y)
    assert np.mean(zeros == (ref.coef_ == 0)) >= 0.8


def test_shared_support_zeros_whole_features():
    X, y = _classification(n_classes=3, n_samples=600)
    clf = _stream(ChinchillaClassifier(C=0.02, l1_ratio=1.0, shared_support=True),
                  X, y, 10)
    zero_columns = np.all(clf.coef_ == 0, axis=0)
    assert 0 < zero_columns.sum() < X.shape[1]
    assert_array_equal(np.any(clf.coef_ == 0, axis=0), zero_columns)


def test_classes_required_on_first_call():
    X, y = _classification()
    clf = ChinchillaClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)  # later calls need not repeat them
    clf.partial_fit(X, y, classes=[1, 0])  # or may give them in any order
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


def test_parameters_checked_on_every_call():
    """Later calls re-check parameters changed by set_params (not just the first)."""
    X, y = _classification()
    clf = ChinchillaClassifier()
    for _ in range(3):  # the second call checks and records, the third skips
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(InvalidParameterError, match="The 'C' parameter"):
        clf.set_params(C=-1.0).partial_fit(X, y)
    clf.set_params(C=1.0).partial_fit(X, y)
    with pytest.raises(InvalidParameterError, match="The 'eta0' parameter"):
        clf.set_params(eta0=0.0).partial_fit(X, y)


def test_n_features_mismatch_raises():
    X, y = _classification()
    clf = ChinchillaClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 19 features, but"):
        clf.partial_fit(X[:, :-1], y)
    with pytest.raises(ValueError, match="X has 19 features, but"):
        ChinchillaClassifier().fit(X, y).partial_fit(X[:, :-1], y)


def test_labels_outside_classes_raise():
    X, y = _classification()
    clf = ChinchillaClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ChinchillaClassifier().partial_fit(X[y == 0], y[y == 0], classes=[0])


def test_batches_need_not_hold_every_class():
    X, y = _classification(n_classes=3)
    clf = ChinchillaClassifier()
    for label in range(3):  # one class per call
        clf.partial_fit(X[y == label], y[y == label], classes=[0, 1, 2])
    assert clf.coef_.shape == (3, X.shape[1])
    assert np.all(np.isfinite(clf.coef_))


def test_partial_fit_after_fit_continues():
    """The fitted weights are the start; the gate's report no longer applies."""
    X, y = _classification()
    clf = ChinchillaClassifier(C=1.0, tol=1e-8).fit(X, y)
    coef = clf.coef_.copy()
    assert "gate_report_" in vars(clf)
    clf.partial_fit(X[:N_BATCH], y[:N_BATCH])
    # one batch from the optimum of the same data moves the weights a little
    assert np.abs(clf.coef_ - coef).max() < 0.05 * np.abs(coef).max()
    assert clf.n_iter_ == len(clf.loss_curve_) == 1
    assert not hasattr(clf, "gate_report_") and not hasattr(clf, "dual_gap_")
    clf.fit(X, y)  # a fit starts over: report back, online state dropped
    assert len(clf.gate_report_["working_set_size"]) == clf.n_iter_
    assert clf._online_state is None


def test_untouched_features_keep_their_weights():
    """A sparse batch changes only the weights of the columns it touches."""
    X, y = _sparse_text()
    clf = ChinchillaClassifier(C=1.0).fit(X, y)
    coef = clf.coef_.copy()
    batch = slice(0, 20)
    touched = np.unique(X[batch].indices)
    clf.partial_fit(X[batch], y[batch])
    untouched = np.setdiff1d(np.arange(X.shape[1]), touched)
    assert_array_equal(clf.coef_[:, untouched], coef[:, untouched])
    assert np.any(clf.coef_[:, touched] != coef[:, touched])


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
def test_partial_fit_after_sparsify_and_refit(l1_ratio):
    X, y = _sparse_text()
    clf = ChinchillaClassifier(l1_ratio=l1_ratio).fit(X, y)
    score = clf.score(X, y)
    clf.sparsify().partial_fit(X[:50], y[:50])
    assert isinstance(clf.coef_, np.ndarray) and np.all(np.isfinite(clf.coef_))
    assert clf.score(X, y) > score - 0.05


def test_multiclass():
    X, y = _classification(n_classes=3)
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = _stream(ChinchillaClassifier(), X, labels, 5)
    assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    assert clf.coef_.shape == (3, X.shape[1]) and clf.intercept_.shape == (3,)
    assert clf.score(X, labels) > 0.6
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_multilabel():
    X, Y = make_multilabel_classification(300, 10, n_classes=4, random_state=0)
    clf = ChinchillaClassifier()
    for _ in range(10):
        for start in range(0, 300, 50):
            rows = slice(start, start + 50)
            clf.partial_fit(X[rows], Y[rows], classes=np.arange(4))
    assert_array_equal(clf.classes_, np.arange(4))
    assert clf.predict(X).shape == Y.shape and clf.predict(X).dtype == Y.dtype
    assert np.mean(clf.predict(X) == Y) > 0.75
    with pytest.raises(ValueError, match="y is 1-D, but earlier calls"):
        clf.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="multilabel classes must be"):
        ChinchillaClassifier().partial_fit(X, Y, classes=[0, 1])


def _int64_indices(X):
    """``X`` (CSR) with int64 indices and indptr: the kernels' other index type."""
    X = sp.csr_array(X)  # a csr_array keeps int64 index arrays as given
    X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    return X


@pytest.mark.parametrize("fmt", ["dense", "csr", "csr_int64"])
def test_zero_weight_is_absent(fmt):
    """Rows of weight 0 change nothing: bit for bit the model without them."""
    X, y = _sparse_text(n_samples=600)
    X = {"dense": X.toarray(), "csr": X, "csr_int64": _int64_indices(X)}[fmt]
    weight = np.random.default_rng(1).choice([0.0, 0.5, 1.0, 2.0], size=len(y))
    kept = weight > 0
    with_zeros = ChinchillaClassifier(l1_ratio=0.5)
    without = ChinchillaClassifier(l1_ratio=0.5)
    for _ in range(2):  # 600 rows: batches of 512 rows of positive weight
        with_zeros.partial_fit(X, y, classes=[0, 1], sample_weight=weight)
        without.partial_fit(X[kept], y[kept], classes=[0, 1],
                            sample_weight=weight[kept])
    assert_array_equal(with_zeros.coef_, without.coef_)
    assert_array_equal(with_zeros.intercept_, without.intercept_)


@pytest.mark.parametrize("shared_support", [False, True], ids=["l1", "group"])
def test_sparse_and_dense_give_the_same_model(shared_support):
    """Dense rows (all columns step) and sparse rows (the touched columns step),
    with int32 and int64 indices."""
    X, y = _sparse_text(n_samples=400)
    y = y + (X[:, 0].toarray().ravel() > 0)  # three classes
    params = dict(l1_ratio=0.5, shared_support=shared_support)
    models = {}
    for name, X_in in [("dense", X.toarray()), ("int32", X),
                       ("int64", _int64_indices(X))]:
        models[name] = _stream(ChinchillaClassifier(**params), X_in, y, 3, batch=64)
    for name in ("int32", "int64"):
        assert_allclose(models[name].coef_, models["dense"].coef_, rtol=1e-10,
                        atol=1e-12)
        assert_allclose(models[name].intercept_, models["dense"].intercept_,
                        rtol=1e-10)


def test_one_call_equals_calls_of_one_batch():
    """A call is cut into batches of BATCH_SIZE rows: calls of a batch agree."""
    X, y = _sparse_text(n_samples=2 * _online.BATCH_SIZE + 10)
    one = ChinchillaClassifier().partial_fit(X, y, classes=[0, 1])
    many = ChinchillaClassifier()
    for start in range(0, X.shape[0], _online.BATCH_SIZE):
        rows = slice(start, start + _online.BATCH_SIZE)
        many.partial_fit(X[rows], y[rows], classes=[0, 1])
    assert_array_equal(one.coef_, many.coef_)
    assert_array_equal(one.intercept_, many.intercept_)
    assert one.n_iter_ == 1 and many.n_iter_ == 3


def test_class_weight():
    X, y = _classification()
    weights = {0: 1.0, 1: 3.0}
    by_class = _stream(ChinchillaClassifier(class_weight=weights), X, y, 2)
    by_sample = _stream(ChinchillaClassifier(), X, y, 2,
                        sample_weight=np.where(y == 1, 3.0, 1.0))
    # the same loss weights, so the same steps (only the sample count differs)
    assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-12)
    with pytest.raises(ValueError, match="class_weight 'balanced' is not supported"):
        ChinchillaClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_caller_inputs_unchanged():
    X, y = _sparse_text()
    weight = np.ones(len(y))
    snapshot = (X.data.copy(), X.indices.copy(), X.indptr.copy(), y.copy(),
                weight.copy())
    clf = ChinchillaClassifier(C=2.0, class_weight=None)
    clf.partial_fit(X, y, classes=[0, 1], sample_weight=weight)
    clf.partial_fit(X, y, sample_weight=weight)
    for before, after in zip(snapshot, (X.data, X.indices, X.indptr, y, weight)):
        assert_array_equal(before, after)


def test_loss_curve_is_the_calls_objective():
    """loss_curve_: each call's progressive loss plus its share of the penalty."""
    X, y = _classification()
    clf = ChinchillaClassifier(C=0.5).partial_fit(X[:100], y[:100], classes=[0, 1])
    first = clf.loss_curve_[0]
    # the first call starts at zero weights: every loss is log(2)
    assert first == pytest.approx(0.5 * 100 * np.log(2) + 0.5 * np.sum(clf.coef_**2),
                                  rel=1e-6)
    clf.partial_fit(X[100:300], y[100:300])
    assert len(clf.loss_curve_) == clf.n_iter_ == 2
    assert clf.loss_curve_[1] < 2 * first  # twice the rows, smaller losses


def test_float32_stays_float32():
    X, y = _sparse_text()
    X32 = X.astype(np.float32)
    clf = ChinchillaClassifier().partial_fit(X32, y, classes=[0, 1])
    assert clf.coef_.dtype == np.float32 and clf.intercept_.dtype == np.float32
    assert clf._online_state.z.dtype == np.float32
    clf64 = ChinchillaClassifier().partial_fit(X, y, classes=[0, 1])
    assert_allclose(clf.coef_, clf64.coef_, rtol=1e-4, atol=1e-5)


def test_no_penalty():
    X, y = _classification()
    clf = _stream(ChinchillaClassifier(C=np.inf), X, y, 3)
    assert np.all(np.isfinite(clf.coef_)) and clf.score(X, y) > 0.8


def test_sparse_stream_learns():
    X, y = _sparse_text(n_samples=3000, n_features=3000)
    train, test = slice(0, 2500), slice(2500, None)
    clf = _stream(ChinchillaClassifier(C=10.0), X[train], y[train], 3, batch=250)
    ref = ChinchillaClassifier(C=10.0).fit(X[train], y[train])
    assert clf.score(X[test], y[test]) > ref.score(X[test], y[test]) - 0.05
