"""Invariances of the model on small random problems (property-based, hypothesis).

Each property fits two models that must be the same and compares ``coef_`` and
``intercept_``: permuted samples, permuted features (``coef_`` permuted), sample
weights times k against C times k, integer sample weights against repeated rows,
dense against sparse input, gate on against gate off. One more property checks
the predictions of any fitted model: probabilities sum to 1, ``predict`` is their
argmax, ``predict_log_proba`` is their log.

The tolerance, derived. Each fit reports the largest entry of the minimum-norm
subgradient of its objective, divided by ``sum(s)`` (``s = C * sample_weight``),
in ``gate_report_["violation"][-1]`` (``v``). With ``l1_ratio < 1`` the ridge part
makes the objective ``(1 - l1_ratio)``-strongly convex in the weights, so a point
whose subgradient ``g`` has ``|g|_inf <= v * sum(s)`` lies within
``|g|_2 / (1 - l1_ratio) <= sqrt(d) * v * sum(s) / (1 - l1_ratio)`` of the optimum
(``d`` weights and intercepts; the unpenalised intercept gets its curvature from
the loss, assumed no smaller). Two fits of one problem are twice that apart, plus
rounding. That is the ``atol`` of each comparison, and it must be at most 1e-6
for the comparison to mean something. The fits stop on the relative duality gap
(``tol``), which bounds the objective, not ``v``: a gap ``tol`` allows ``v`` of
about ``sqrt(tol)`` of the gradient's scale. So they run at ``tol = 1e-13``, a
hundred times above the gap's rounding floor (~1e-15), where the Newton steps
bring ``v`` to ~1e-12 and the ``atol`` used is ~1e-9 (~1e-7 with sample weights
times 100). The gap gives a second bound, ``|w - w*|_2 <= sqrt(2 * gap / (1 -
l1_ratio))`` (``gap`` absolute, plus the objective's rounding; strong convexity
again), and the smaller of the two is used. Pure L1 (``l1_ratio = 1``) has no
such bound, and its minimiser need not be unique, so it is left to the
objective comparisons of ``test_gate.py``.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from chinchilla_sklearn import ChinchillaClassifier

TOL = 1e-13
ATOL_MAX = 1e-6

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def problems(draw, l1_ratios=(0.0, 0.5, 0.9)):
    """A small seeded problem and parameters: (X, y, sample_weight, params)."""
    n_classes = draw(st.integers(2, 3))
    n_features = draw(st.integers(1, 6))
    n_samples = draw(st.integers(max(3 * n_features, 8), 30))
    density = draw(st.sampled_from([0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    params = {
        "C": draw(st.sampled_from([0.1, 1.0, 10.0])),
        "l1_ratio": draw(st.sampled_from(l1_ratios)),
        "fit_intercept": draw(st.booleans()),
        "shared_support": draw(st.booleans()),
        "tol": TOL,
    }
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    X *= rng.random(X.shape) < density
    y = rng.permutation(np.arange(n_samples) % n_classes)  # every class present
    sample_weight = rng.uniform(0.5, 2.0, n_samples)
    return X, y, sample_weight, params


def _fit(X, y, sample_weight=None, convergence_warnings="error", **params):
    with warnings.catch_warnings():
        warnings.simplefilter(convergence_warnings, ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        return ChinchillaClassifier(**params).fit(X, y, sample_weight=sample_weight)


def _assert_same_model(a, b, *, sum_s, l1_ratio, coef_b=None):
    """Compare two fits of one problem at the tolerance derived above."""
    coef_b = b.coef_ if coef_b is None else coef_b
    assert a.dual_gap_ <= TOL and b.dual_gap_ <= TOL
    v = max(a.gate_report_["violation"][-1], b.gate_report_["violation"][-1])
    # the gap is known to the rounding of the objective (~eps * |P|)
    gap = max((fit.dual_gap_ + 16 * np.finfo(np.float64).eps) * abs(fit.loss_curve_[-1])
              for fit in (a, b))
    d = a.coef_.size + a.intercept_.size
    scale = 1.0 + max(np.abs(a.coef_).max(), np.abs(a.intercept_).max())
    atol = 2 * min(np.sqrt(d) * v * sum_s / (1 - l1_ratio),
                   np.sqrt(2 * gap / (1 - l1_ratio)))
    # rounding: the gradient is known to ~eps * sum_s * scale, an error the
    # curvature (1 - l1_ratio) turns into a coefficient error like a violation
    atol += 64 * np.finfo(np.float64).eps * scale * max(1.0, sum_s / (1 - l1_ratio))
    assert atol <= ATOL_MAX, f"the fits are too loose to compare: atol={atol:.2e}"
    assert_allclose(a.coef_, coef_b, rtol=0, atol=atol)
    assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=atol)


@SETTINGS
@given(problem=problems(), data=st.data())
def test_permuting_samples_keeps_model(problem, data):
    X, y, sample_weight, params = problem
    perm = np.array(data.draw(st.permutations(range(len(y)))))
    a = _fit(X, y, sample_weight, **params)
    b = _fit(X[perm], y[perm], sample_weight[perm], **params)
    _assert_same_model(a, b, sum_s=params["C"] * sample_weight.sum(),
                       l1_ratio=params["l1_ratio"])


@SETTINGS
@given(problem=problems(), data=st.data())
def test_permuting_features_permutes_coef(problem, data):
    X, y, sample_weight, params = problem
    perm = np.array(data.draw(st.permutations(range(X.shape[1]))))
    a = _fit(X[:, perm], y, sample_weight, **params)
    b = _fit(X, y, sample_weight, **params)
    _assert_same_model(a, b, sum_s=params["C"] * sample_weight.sum(),
                       l1_ratio=params["l1_ratio"], coef_b=b.coef_[:, perm])


@SETTINGS
@given(problem=problems(), k=st.sampled_from([0.01, 0.3, 4.0, 100.0]))
def test_scaling_sample_weight_is_scaling_C(problem, k):
    X, y, sample_weight, params = problem
    a = _fit(X, y, k * sample_weight, **params)
    b = _fit(X, y, sample_weight, **{**params, "C": k * params["C"]})
    _assert_same_model(a, b, sum_s=k * params["C"] * sample_weight.sum(),
                       l1_ratio=params["l1_ratio"])


@SETTINGS
@given(problem=problems(), data=st.data())
def test_integer_sample_weight_is_repeated_rows(problem, data):
    X, y, _, params = problem
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(y),
                                         max_size=len(y))))
    first_of_each_class = [np.flatnonzero(y == k)[0] for k in np.unique(y)]
    counts[first_of_each_class] = np.maximum(counts[first_of_each_class], 1)
    a = _fit(X, y, counts.astype(float), **params)
    b = _fit(np.repeat(X, counts, axis=0), np.repeat(y, counts), **params)
    _assert_same_model(a, b, sum_s=params["C"] * counts.sum(),
                       l1_ratio=params["l1_ratio"])


@SETTINGS
@given(problem=problems(), fmt=st.sampled_from(["csr", "csc"]))
def test_dense_and_sparse_give_same_model(problem, fmt):
    X, y, sample_weight, params = problem
    a = _fit(X, y, sample_weight, **params)
    b = _fit(getattr(sp, f"{fmt}_matrix")(X), y, sample_weight, **params)
    _assert_same_model(a, b, sum_s=params["C"] * sample_weight.sum(),
                       l1_ratio=params["l1_ratio"])


@SETTINGS
@given(problem=problems(l1_ratios=(0.5, 0.9)), sparse=st.booleans(),
       gate_threshold=st.sampled_from([0.0, 0.5, 1.0]))
def test_gate_on_and_off_give_same_model(problem, sparse, gate_threshold):
    # with l1_ratio = 0 the gate does not run (every weight is non-zero)
    X, y, sample_weight, params = problem
    X = sp.csr_matrix(X) if sparse else X
    a = _fit(X, y, sample_weight, gate=True, gate_threshold=gate_threshold,
             **params)
    b = _fit(X, y, sample_weight, gate=False, **params)
    _assert_same_model(a, b, sum_s=params["C"] * sample_weight.sum(),
                       l1_ratio=params["l1_ratio"])


@SETTINGS
@given(problem=problems(l1_ratios=(0.0, 0.5, 1.0)),
       C=st.sampled_from([0.1, 10.0, np.inf]))
def test_probabilities_sum_to_one_and_predict_is_argmax(problem, C):
    X, y, sample_weight, params = problem
    # not about convergence (C=inf on separable data may stop at max_iter)
    est = _fit(X, y, sample_weight, convergence_warnings="ignore",
               **{**params, "C": C, "tol": 1e-4})
    X_new = np.random.default_rng(0).standard_normal((20, X.shape[1])) * 3
    for Z in (X, X_new):
        proba = est.predict_proba(Z)
        assert proba.shape == (len(Z), len(est.classes_))
        assert np.all((proba >= 0) & (proba <= 1))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert_array_equal(est.predict(Z), est.classes_[proba.argmax(axis=1)])
        assert_allclose(np.exp(est.predict_log_proba(Z)), proba, rtol=1e-12,
                        atol=1e-300)
        scores = est.decision_function(Z)
        if len(est.classes_) == 2:
            assert_array_equal(est.predict(Z), est.classes_[(scores > 0).astype(int)])
        else:
            assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))


# ---------------------------------------------------------------------------
# A counterexample found by the properties above (at max_examples=300): safe
# screening at W = 0, b = 0 with unequal classes dropped features that are zero
# only without an intercept; the gate now fits the intercept first
# ---------------------------------------------------------------------------

def _unequal_classes(case):
    if case == "tiny":
        X = np.array([[-0.72497939], [-0.24971614], [0.3281167]])
        return X, np.array([0, 1, 1]), {"C": 1.0, "l1_ratio": 0.5}
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 15))
    y = (X[:, 0] + rng.standard_normal(60) > 1.0).astype(int)  # 25% positive
    return X, y, {"C": 0.05, "l1_ratio": 0.5}


@pytest.mark.parametrize("case", ["tiny", "imbalanced"])
def test_gate_on_and_off_with_unequal_classes(case):
    X, y, params = _unequal_classes(case)
    on = _fit(X, y, convergence_warnings="ignore", tol=TOL, **params)
    off = _fit(X, y, gate=False, tol=TOL, **params)
    assert_allclose(on.coef_, off.coef_, rtol=0, atol=ATOL_MAX)
    assert on.dual_gap_ <= TOL
