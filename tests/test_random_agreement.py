"""Randomised agreement with scikit-learn on small problems with extreme settings.

Each seed draws a problem: 20-200 samples, 2-30 features of mixed scales (0.1, 1,
10), dense or sparse (10-60% stored), 2, 3 or 5 classes, ``C`` log-uniform in
[1e-4, 1e4], ``l1_ratio`` in {0, 0.3, 0.7, 1}, sample weights, "balanced" class
weights and ``fit_intercept`` at random, the gate on or off. Our fit (tol 1e-8)
must reach an objective no worse than ``LogisticRegression``'s (newton-cg for L2,
saga for the rest, run tightly) within 1e-7 relative, with no warning. Large
``C`` on separable draws is where the solvers are pushed hardest: seeds 418 and
581 stalled at a violation of ~1e-4 until trial points were allowed scores past
log(1 / tiny) with a penalty (600 seeds were run when that was found; these 30
keep watch in CI). Seed 154 (3 classes, elastic net at C = 6e3) zig-zagged at a
violation of 2.5e-6 for 500 iterations: one entering weight whose Newton step
pointed out of its orthant was zeroed, and what was left of the step was no
longer a Newton step (curvature along it 800 times the model's); such weights
now leave the face and the step is solved again without them.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import objective
from sklearn.linear_model import LogisticRegression

from chinchilla_sklearn import ChinchillaClassifier

SEEDS = [154, 418, 581, *range(300, 328)]


def _draw(seed):
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(20, 200)), int(rng.integers(2, 30))
    n_classes = int(rng.choice([2, 2, 3, 5]))
    X = rng.standard_normal((n, p)) * rng.choice([1, 0.1, 10], p)
    if rng.random() < 0.5:
        X *= rng.random((n, p)) < rng.uniform(0.1, 0.6)
    W = rng.standard_normal((p, n_classes)) * (rng.random((p, n_classes)) < 0.3)
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    params = dict(
        C=float(10 ** rng.uniform(-4, 4)),
        l1_ratio=float(rng.choice([0, 0.3, 0.7, 1.0])),
    )
    sample_weight = rng.uniform(0.2, 3, n) if rng.random() < 0.4 else None
    params["class_weight"] = "balanced" if rng.random() < 0.3 else None
    params["fit_intercept"] = bool(rng.random() < 0.7)
    sparse = rng.random() < 0.5
    gate = bool(rng.random() < 0.7)
    return X, y, sample_weight, params, sparse, gate


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_no_worse_than_scikit_learn(seed):
    X, y, sample_weight, params, sparse, gate = _draw(seed)
    if np.unique(y).size < 2:
        pytest.skip("one class drawn")
    smooth = params["l1_ratio"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saga may stop at its cap at large C
        reference = LogisticRegression(
            solver="newton-cg" if smooth else "saga",
            tol=1e-12 if smooth else 1e-10,
            max_iter=1000 if smooth else 20_000,
            random_state=0,
            **params,
        ).fit(X, y, sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = ChinchillaClassifier(tol=1e-8, max_iter=500, gate=gate, **params).fit(
            sp.csr_matrix(X) if sparse else X, y, sample_weight=sample_weight
        )
    kwargs = dict(C=params["C"], l1_ratio=params["l1_ratio"],
                  sample_weight=sample_weight, class_weight=params["class_weight"],
                  classes=reference.classes_)
    ours = objective(est.coef_, est.intercept_, X, y, **kwargs)
    theirs = objective(reference.coef_, reference.intercept_, X, y, **kwargs)
    assert ours <= theirs + 1e-7 * abs(theirs)
