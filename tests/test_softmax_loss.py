"""The softmax loss on integer labels, against a dense one-hot reference.

SoftmaxLoss reads multiclass targets as labels (ClassLabels) and keeps one
(n_samples, n_classes) array per state, the residual ``R``, from which it reads
the curvature. Here every quantity is checked against the textbook formulas on
the one-hot ``Y`` and the probabilities ``P`` (scipy's softmax), with samples of
weight 0, and the Hessian products against finite differences of ``R``.
"""

import numpy as np
import pytest
from scipy.special import entr, logsumexp, softmax

from chinchilla_sklearn import ChinchillaClassifier, _loss
from chinchilla_sklearn._loss import ClassLabels, SoftmaxLoss


def _problem(n_samples=60, n_classes=7, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    Z = (3 * rng.standard_normal((n_samples, n_classes))).astype(dtype)
    labels = rng.integers(0, n_classes, n_samples)
    s = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    s[:5] = 0  # samples of weight 0 contribute nothing
    return Z, ClassLabels(labels, n_classes), s


def _reference(Z, Y, s):
    """Value, residual, P and the one-hot Y, from the formulas on dense arrays."""
    Z64, s64 = Z.astype(np.float64), s.astype(np.float64)
    Y_dense = Y.toarray()
    value = float(s64 @ (logsumexp(Z64, axis=1) - (Y_dense * Z64).sum(axis=1)))
    P = softmax(Z64, axis=1)
    return value, s64[:, None] * (P - Y_dense), P, Y_dense


def test_class_labels_stand_for_the_one_hot_matrix():
    Y = ClassLabels([2, 0, 1, 2], 3)
    assert Y.shape == (4, 3) and Y.ndim == 2 and len(Y) == 4
    np.testing.assert_array_equal(Y.toarray(), np.eye(3)[[2, 0, 1, 2]])
    np.testing.assert_array_equal(Y[1:3].labels, [0, 1])
    np.testing.assert_array_equal(Y[np.array([3, 0])].labels, [2, 2])
    assert Y[1:3].shape == (2, 3)


def test_value_residual_and_curvature_match_the_dense_formulas():
    Z, Y, s = _problem()
    loss = SoftmaxLoss()
    value, R, curvature = loss.derivatives(Y, Z, s)
    ref_value, ref_R, P, _ = _reference(Z, Y, s)
    np.testing.assert_allclose(value, ref_value, rtol=1e-13)
    assert loss.value(Y, Z, s) == value  # the same rounding (the line search)
    np.testing.assert_allclose(R, ref_R, rtol=0, atol=1e-14)
    assert R.flags.c_contiguous
    np.testing.assert_allclose(loss.hessian_diagonal(curvature),
                               s[:, None] * P * (1 - P), rtol=0, atol=1e-14)



@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_confident_samples_keep_a_relative_precision(dtype):
    """A sample classified with margin ``m`` has loss and ``1 - p`` of ~exp(-m),
    to a relative precision: ``log(sum_k exp(z_k - max))`` and ``p - 1`` rounded
    them to 0 (an absolute ``eps`` per sample), which at large ``C`` hid the
    objective's decrease from the line search. Ties at the maximum and a label
    off it keep the textbook values."""
    Z = np.array([[40, 0, 0], [0, 60, 0], [30, 30, 0], [30, 30, 0], [0, 0, 5]],
                 dtype=dtype)
    labels = ClassLabels([0, 1, 0, 2, 0], 3)
    s = np.array([1.0, 2.0, 1.0, 1.0, 3.0], dtype=dtype)
    loss = SoftmaxLoss()
    value, R, _ = loss.derivatives(labels, Z, s)
    Z64 = Z.astype(np.float64)
    rows = np.arange(5)
    expected = logsumexp(Z64, axis=1) - Z64[rows, labels.labels]
    # the confident rows from the series of log1p, beyond logsumexp's precision
    expected[:2] = [2 * np.exp(-40.0), 2 * np.exp(-60.0)]
    expected_R = s[:, None] * (softmax(Z64, axis=1) - labels.toarray())
    expected_R[0, 0], expected_R[1, 1] = -2 * np.exp(-40.0), -4 * np.exp(-60.0)
    rtol = 10 * float(np.finfo(dtype).eps)
    total = float(s.astype(np.float64) @ expected)
    assert value == pytest.approx(total, rel=rtol, abs=0)
    assert loss.value(labels, Z, s) == value
    for row in range(2):  # the confident rows alone
        value_row = loss.value(labels[row:row + 1], Z[row:row + 1], s[row:row + 1])
        assert value_row == pytest.approx(s[row] * expected[row], rel=rtol, abs=0)
    np.testing.assert_allclose(R, expected_R, rtol=rtol, atol=0)

def test_hessian_product_is_the_derivative_of_the_residual():
    Z, Y, s = _problem()
    loss = SoftmaxLoss()
    _, _, curvature = loss.derivatives(Y, Z, s)
    D = np.random.default_rng(1).standard_normal(Z.shape)
    eps = 1e-6
    R_plus = loss.derivatives(Y, Z + eps * D, s)[1]
    R_minus = loss.derivatives(Y, Z - eps * D, s)[1]
    finite_difference = (R_plus - R_minus) / (2 * eps)
    product = loss.hessian_product(curvature, D)
    np.testing.assert_allclose(product, finite_difference, rtol=0, atol=1e-8)
    assert np.all(product[:5] == 0)  # weight 0
    # and exactly the dense formula s * (P * D - P * (P . D))
    _, _, P, _ = _reference(Z, Y, s)
    PD = P * D
    dense = s[:, None] * (PD - P * PD.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(product, dense, rtol=0, atol=1e-14)


@pytest.mark.parametrize("t", [1.0, 0.3], ids=["t=1", "t=0.3"])
def test_dual_value_is_the_entropy_of_the_mixture(t):
    Z, Y, s = _problem()
    _, _, P, Y_dense = _reference(Z, Y, s)
    expected = float(s @ entr(Y_dense + t * (P - Y_dense)).sum(axis=1))
    R = SoftmaxLoss().derivatives(Y, Z, s)[1]  # the dual point is read from R
    np.testing.assert_allclose(SoftmaxLoss().dual_value(Y, R, s, t), expected,
                               rtol=1e-13)


def test_dense_one_hot_targets_give_the_same_results():
    Z, Y, s = _problem()
    loss = SoftmaxLoss()
    value, R, _ = loss.derivatives(Y, Z, s)
    value_dense, R_dense, _ = loss.derivatives(Y.toarray(), Z, s)
    assert value == value_dense
    np.testing.assert_array_equal(R, R_dense)
    with pytest.raises(ValueError, match="one-hot"):
        loss.value(np.full(Z.shape, 0.5), Z, s)


def _lstsq_intercept_step(Z, Y, s):
    """The minimum-norm Newton step of the intercept, from the dense Hessian."""
    _, R, P, _ = _reference(Z, Y, s)
    H = np.diag(s @ P) - P.T @ (s[:, None] * P)
    return -np.linalg.lstsq(H, R.sum(axis=0), rcond=None)[0]


@pytest.mark.parametrize("n_classes", [7, 150], ids=["dense-solve", "cg"])
def test_intercept_step_is_the_minimum_norm_newton_step(n_classes):
    assert 7 <= _loss.INTERCEPT_DENSE_MAX_CLASSES < 150
    Z, Y, s = _problem(n_samples=400, n_classes=n_classes)
    Z *= 0.3  # the rows differ: the Hessian is not the one of a single row
    loss = SoftmaxLoss()
    _, R, curvature = loss.derivatives(Y, Z, s)
    step = loss.intercept_step(R, curvature)
    expected = _lstsq_intercept_step(Z, Y, s)
    assert abs(step.sum()) <= 1e-10 * np.abs(expected).max()  # centred
    np.testing.assert_allclose(step, expected, rtol=0,
                               atol=1e-8 * np.abs(expected).max())


def test_float32_stays_float32():
    Z, Y, s = _problem(n_classes=150, dtype=np.float32)
    loss = SoftmaxLoss()
    value, R, curvature = loss.derivatives(Y, Z, s)
    D = np.ones_like(Z)
    for array in (R, loss.hessian_diagonal(curvature), loss.hessian_product(
            curvature, D), loss.intercept_step(R, curvature)):
        assert array.dtype == np.float32
    ref_value, ref_R, _, _ = _reference(Z, Y, s)
    np.testing.assert_allclose(value, ref_value, rtol=1e-5)
    np.testing.assert_allclose(R, ref_R, rtol=0, atol=1e-6)


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0], ids=["l2", "l1"])
def test_fit_with_either_intercept_solver_agrees(monkeypatch, l1_ratio):
    """A 30-class fit with the intercept's Newton steps solved by CG equals the
    fit with the dense least-squares solve (L1: the gate polishes the intercept
    every round, for safe screening)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 8))
    y = rng.integers(0, 30, 300)
    params = dict(C=0.5, l1_ratio=l1_ratio, tol=1e-8)
    dense = ChinchillaClassifier(**params).fit(X, y)
    monkeypatch.setattr(_loss, "INTERCEPT_DENSE_MAX_CLASSES", 2)
    cg = ChinchillaClassifier(**params).fit(X, y)
    scale = np.abs(dense.coef_).max()
    np.testing.assert_allclose(cg.coef_, dense.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(cg.intercept_, dense.intercept_, rtol=0, atol=1e-6)
