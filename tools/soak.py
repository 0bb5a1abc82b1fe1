"""Randomised soak: many small random problems, each checked against a reference.

Not part of ``make test`` (minutes, not seconds); ``make soak`` runs it. Each
check draws one problem per seed and prints the seeds that fail, with their
settings, so a failure can be replayed and turned into a test (as
``tests/test_random_agreement.py`` and ``tests/test_solver.py`` were):

- ``agreement``: our objective (tol 1e-8) is no worse than scikit-learn's
  ``LogisticRegression`` (newton-cg for L2, saga otherwise, run tightly) within
  1e-7 relative; ``C`` in [1e-4, 1e4], all penalties, 2-5 classes, dense or
  sparse, sample and class weights, with or without intercept, gate on or off;
- ``warm-start``: a warm start from the solution at another ``C`` equals a cold
  fit within 1e-7 relative in objective;
- ``gate``: on sparse problems with 200-3,000 features (working sets smaller
  than the feature count), gate on and off agree within 1e-8 in objective,
  for thresholds 0-1, with weights and shared support;
- ``multilabel``: a multilabel fit equals one binary fit per label.

Every fit runs with warnings as errors. Usage::

    python tools/soak.py                       # all checks, seeds 0-99
    python tools/soak.py agreement --seeds 0:600
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from chinchilla_sklearn import ChinchillaClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import objective  # noqa: E402  (the objective, from scratch)


def _small_problem(rng, scales=(1, 0.1, 10)):
    """20-200 samples, 2-30 features of mixed scale, maybe sparse, 2-5 classes."""
    n, p = int(rng.integers(20, 200)), int(rng.integers(2, 30))
    n_classes = int(rng.choice([2, 2, 3, 5]))
    X = rng.standard_normal((n, p)) * rng.choice(scales, p)
    if rng.random() < 0.5:
        X *= rng.random((n, p)) < rng.uniform(0.1, 0.6)
    W = rng.standard_normal((p, n_classes)) * (rng.random((p, n_classes)) < 0.3)
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def _fit(X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return ChinchillaClassifier(**params).fit(X, y, sample_weight=sample_weight)


def check_agreement(seed):
    """Ours no worse than scikit-learn's objective (1e-7 relative)."""
    rng = np.random.default_rng(seed)
    X, y = _small_problem(rng)
    if np.unique(y).size < 2:
        return None
    params = dict(C=float(10 ** rng.uniform(-4, 4)),
                  l1_ratio=float(rng.choice([0, 0.3, 0.7, 1.0])))
    sample_weight = rng.uniform(0.2, 3, len(y)) if rng.random() < 0.4 else None
    params["class_weight"] = "balanced" if rng.random() < 0.3 else None
    params["fit_intercept"] = bool(rng.random() < 0.7)
    X_fit = sp.csr_matrix(X) if rng.random() < 0.5 else X
    gate = bool(rng.random() < 0.7)
    smooth = params["l1_ratio"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LogisticRegression(
            solver="newton-cg" if smooth else "saga", tol=1e-12 if smooth else 1e-10,
            max_iter=1000 if smooth else 20_000, random_state=0, **params,
        ).fit(X, y, sample_weight=sample_weight)
    est = _fit(X_fit, y, sample_weight, tol=1e-8, max_iter=500, gate=gate, **params)
    kwargs = dict(C=params["C"], l1_ratio=params["l1_ratio"],
                  sample_weight=sample_weight, class_weight=params["class_weight"],
                  classes=reference.classes_)
    ours = objective(est.coef_, est.intercept_, X, y, **kwargs)
    theirs = objective(reference.coef_, reference.intercept_, X, y, **kwargs)
    return (ours - theirs) / abs(theirs) <= 1e-7, {**params, "gate": gate}


def check_warm_start(seed):
    """A warm start from another C equals a cold fit (1e-7 relative)."""
    rng = np.random.default_rng(seed)
    X, y = _small_problem(rng)
    if np.unique(y).size < 2:
        return None
    C_before, C_after = (float(10 ** rng.uniform(-3, 3)) for _ in range(2))
    params = dict(l1_ratio=float(rng.choice([0, 0.5, 1.0])), tol=1e-8, max_iter=500)
    X_fit = sp.csr_matrix(X) if rng.random() < 0.5 else X
    warm = _fit(X_fit, y, C=C_before, warm_start=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm.set_params(C=C_after).fit(X_fit, y)
    cold = _fit(X_fit, y, C=C_after, **params)
    kwargs = dict(C=C_after, l1_ratio=params["l1_ratio"], classes=cold.classes_)
    values = [objective(e.coef_, e.intercept_, X, y, **kwargs) for e in (warm, cold)]
    ok = abs(values[0] - values[1]) <= 1e-7 * abs(values[1])
    return ok, {"C_before": C_before, "C_after": C_after, **params}


def check_gate(seed):
    """Gate on and off agree (1e-8 relative) with working sets below n_features."""
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(100, 600)), int(rng.integers(200, 3000))
    n_classes = int(rng.choice([2, 2, 3]))
    X = sp.random(n, p, density=rng.uniform(0.005, 0.05), random_state=seed,
                  format="csr")
    X.data = rng.exponential(1, X.nnz) * rng.choice([1, 10], X.nnz)
    W = np.zeros((p, n_classes))
    W[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal((20, n_classes))
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    if np.unique(y).size < 2:
        return None
    params = dict(C=float(10 ** rng.uniform(-1, 3)),
                  l1_ratio=float(rng.choice([0.5, 1.0])),
                  gate_threshold=float(rng.choice([0.0, 0.25, 0.5, 1.0])),
                  shared_support=bool(rng.random() < 0.3),
                  fit_intercept=bool(rng.random() < 0.8), tol=1e-9, max_iter=500)
    sample_weight = rng.uniform(0.2, 3, n) if rng.random() < 0.3 else None
    fits = [_fit(X, y, sample_weight, gate=gate, **params) for gate in (True, False)]
    values = [_objective_with_sharing(e, X, y, sample_weight, params) for e in fits]
    return abs(values[0] - values[1]) <= 1e-8 * abs(values[1]), params


def _objective_with_sharing(est, X, y, sample_weight, params):
    """The objective, with the group penalty when classes share features."""
    C, l1_ratio = params["C"], params["l1_ratio"]
    if not (params["shared_support"] and est.coef_.shape[0] > 1):
        return objective(est.coef_, est.intercept_, X, y, C=C, l1_ratio=l1_ratio,
                         sample_weight=sample_weight, classes=est.classes_)
    W = est.coef_
    Z = X @ W.T + est.intercept_
    Z -= Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    loss = -(s * log_p[np.arange(len(y)), np.searchsorted(est.classes_, y)]).sum()
    return (C * loss + (1 - l1_ratio) / 2 * (W**2).sum()
            + l1_ratio * np.sqrt((W**2).sum(axis=0)).sum())


def check_multilabel(seed):
    """A multilabel fit equals one binary fit per label (1e-5)."""
    rng = np.random.default_rng(seed)
    X, _ = _small_problem(rng)
    n_labels = int(rng.integers(2, 5))
    W = rng.standard_normal((X.shape[1], n_labels)) * (rng.random((X.shape[1],
                                                                    n_labels)) < 0.3)
    Y = (X @ W + rng.logistic(size=(len(X), n_labels)) > 0).astype(int)
    if np.any(Y.all(axis=0)) or np.any((1 - Y).all(axis=0)):
        return None
    params = dict(C=float(10 ** rng.uniform(-2, 3)),
                  l1_ratio=float(rng.choice([0, 0.5, 1.0])), tol=1e-9)
    sample_weight = rng.uniform(0.2, 3, len(X)) if rng.random() < 0.4 else None
    joint = _fit(X, Y, sample_weight, **params)
    single = [_fit(X, Y[:, j], sample_weight, **params) for j in range(n_labels)]
    coef = np.vstack([e.coef_ for e in single])
    scale = max(1.0, np.abs(coef).max())
    return np.allclose(joint.coef_, coef, rtol=1e-5, atol=1e-5 * scale), params


CHECKS = {
    "agreement": check_agreement,
    "warm-start": check_warm_start,
    "gate": check_gate,
    "multilabel": check_multilabel,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checks", nargs="*",
                        help=f"some of {', '.join(CHECKS)} (default: all)")
    parser.add_argument("--seeds", default="0:100", help="first:last (exclusive)")
    args = parser.parse_args(argv)
    unknown = set(args.checks) - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks {sorted(unknown)}")
    first, last = map(int, args.seeds.split(":"))
    n_failed = 0
    for name in args.checks or CHECKS:
        ran = failed = 0
        for seed in range(first, last):
            try:
                outcome = CHECKS[name](seed)
            except Exception as error:  # a warning (as error) or a crash
                outcome = (False, {"error": repr(error)[:200]})
            if outcome is None:
                continue
            ran += 1
            if not outcome[0]:
                failed += 1
                print(f"{name} seed {seed} FAILED: {outcome[1]}")
        print(f"{name}: {ran} problems, {failed} failed")
        n_failed += failed
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
