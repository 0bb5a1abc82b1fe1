"""The dynamic-adjustment gate changes the cost of a fit, never its answer."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import make_data, objective

from chinchilla_sklearn import ChinchillaClassifier
from chinchilla_sklearn._gate import run_gate
from chinchilla_sklearn._loss import ClassLabels, SigmoidLoss, SoftmaxLoss
from chinchilla_sklearn._objective import Problem, TargetCorrelations
from chinchilla_sklearn._penalty import Penalty
from chinchilla_sklearn._solver import State

TOL = 1e-6
TIGHT_TOL = 1e-12


def _text_like(n_samples, n_features, nnz_per_row, seed):
    """A small sparse problem with Zipf-like feature frequencies and sparse truth."""
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(n_features) + 2.0) ** 1.1
    cols = rng.choice(n_features, size=(n_samples, nnz_per_row), p=p / p.sum())
    rows = np.repeat(np.arange(n_samples), nnz_per_row)
    X = sp.csr_matrix(
        (rng.random(rows.size) + 0.1, (rows, cols.ravel())),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    w = np.zeros(n_features)
    w[rng.choice(50, size=10, replace=False)] = rng.normal(0, 3, size=10)
    y = (X @ w + rng.logistic(size=n_samples) > 0).astype(int)
    return X, y


def _fit(X, y, **params):
    return ChinchillaClassifier(**{"tol": TOL, "max_iter": 300, **params}).fit(X, y)


@pytest.mark.parametrize("gate_threshold", [0.0, 0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("name", ["binary", "multiclass"])
def test_gate_on_off_same_answer(name, fmt, l1_ratio, gate_threshold):
    """Both fits certify their objective within TOL of the minimum (relative), so
    the two objectives are within TOL of each other; at a tight tol the weights
    agree too (the minimiser is unique: a ridge part, or L1 on data in general
    position)."""
    X, y = make_data(name, fmt)
    C = 0.2
    fits = {}
    for tol in (TOL, TIGHT_TOL):
        off = _fit(X, y, C=C, l1_ratio=l1_ratio, gate=False, tol=tol)
        on = _fit(X, y, C=C, l1_ratio=l1_ratio, gate=True, tol=tol,
                  gate_threshold=gate_threshold)
        assert on.dual_gap_ <= tol and off.dual_gap_ <= tol
        fits[tol] = on, off
    on, off = fits[TOL]
    f_off = objective(off.coef_, off.intercept_, X, y, C=C, l1_ratio=l1_ratio)
    f_on = objective(on.coef_, on.intercept_, X, y, C=C, l1_ratio=l1_ratio)
    assert f_on == pytest.approx(f_off, rel=TOL)
    on, off = fits[TIGHT_TOL]
    np.testing.assert_allclose(on.coef_, off.coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(on.intercept_, off.intercept_, rtol=0, atol=1e-5)


def test_gate_report_layout():
    X, y = make_data("multiclass", "csr")
    clf = _fit(X, y, C=0.2, l1_ratio=1.0)
    report = clf.gate_report_
    n_iter = clf.n_iter_
    assert n_iter == len(clf.loss_curve_) >= 1
    for key in ("working_set_size", "n_screened", "violation", "gap", "kernel"):
        assert len(report[key]) == n_iter, key
    assert set(report["kernel"]) <= {"sparse", "dense"}
    assert all(0 <= size <= X.shape[1] for size in report["working_set_size"])
    assert np.all(np.diff(report["n_screened"]) >= 0)  # screened features stay out
    assert 0.0 <= report["skipped_share"] < 1.0
    off = _fit(X, y, C=0.2, l1_ratio=1.0, gate=False)
    assert off.gate_report_["skipped_share"] == 0.0
    assert set(off.gate_report_["working_set_size"]) == {X.shape[1]}


def test_pure_l2_uses_all_features():
    X, y = make_data("binary", "csr")
    clf = _fit(X, y, C=1.0, l1_ratio=0.0)
    assert set(clf.gate_report_["working_set_size"]) == {X.shape[1]}
    assert clf.gate_report_["n_screened"][-1] == 0


def test_working_sets_stay_small_on_sparse_l1_problem():
    X, y = _text_like(2000, 20_000, 30, seed=0)
    clf = ChinchillaClassifier(C=0.5, l1_ratio=1.0, tol=1e-6).fit(X, y)
    n_nonzero = np.count_nonzero(clf.coef_)
    assert 0 < n_nonzero < 0.01 * X.shape[1]
    assert max(clf.gate_report_["working_set_size"]) < 0.1 * X.shape[1]
    assert clf.gate_report_["skipped_share"] > 0.5
    assert clf.gate_report_["n_screened"][-1] > 0


@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_screened_features_are_zero_at_the_optimum(l1_ratio):
    X, y = _text_like(400, 3000, 20, seed=1)
    Y = y[:, None].astype(float)
    s = np.full(X.shape[0], 0.5)  # C = 0.5
    problem = Problem(X, Y, s, SigmoidLoss(), Penalty(l1_ratio, 1 - l1_ratio), True)
    W0, b0 = np.zeros((X.shape[1], 1)), np.zeros(1)
    gated = run_gate(problem, W0, b0, gate=True, gate_threshold=0.5, tol=1e-10,
                     max_iter=200)
    assert gated.converged
    assert gated.screened.sum() > 0
    reference = run_gate(problem, W0, b0, gate=False, gate_threshold=0.5,
                         tol=1e-10, max_iter=200)
    assert reference.converged
    assert np.all(reference.W[gated.screened] == 0)
    assert np.all(gated.W[gated.screened] == 0)


def test_dense_kernel_for_dense_working_set():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    X[:, 10:][rng.random((200, 20)) < 0.95] = 0.0  # few dense, many sparse columns
    y = (X[:, :3].sum(axis=1) > 0).astype(int)
    clf = _fit(sp.csc_matrix(X), y, C=0.05, l1_ratio=1.0)
    assert "dense" in clf.gate_report_["kernel"]
    dense_fit = _fit(X, y, C=0.05, l1_ratio=1.0)
    np.testing.assert_allclose(clf.coef_, dense_fit.coef_, atol=10 * TOL)


def test_verbose_prints_the_record(capsys):
    X, y = make_data("binary", "csr")
    clf = _fit(X, y, C=0.2, l1_ratio=1.0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows, summary = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["iter", "objective", "gap", "violation", "ws",
                              "screened", "kernel", "time", "[s]"]
    assert len(rows) == clf.n_iter_
    for i, row in enumerate(rows):
        fields = row.split()
        assert int(fields[0]) == i + 1
        assert float(fields[1]) == pytest.approx(clf.loss_curve_[i], rel=1e-8)
        assert float(fields[2]) == pytest.approx(clf.gate_report_["gap"][i], rel=1e-2)
        assert float(fields[3]) == pytest.approx(
            clf.gate_report_["violation"][i], rel=1e-2
        )
        assert int(fields[4]) == clf.gate_report_["working_set_size"][i]
        assert fields[6] == clf.gate_report_["kernel"][i]
    assert summary.startswith("converged after")


def test_working_set_already_below_its_target_still_makes_progress():
    """An elastic net from W = 0 whose duality gap comes from many slightly
    violating features outside the working set: the working set's own gap is
    already below the round's target, and the gate used to take no step and
    loop until max_iter (tools/soak.py, gate seed 45)."""
    rng = np.random.default_rng(45)
    n, p = 562, 1804
    X = sp.random(n, p, density=0.03, random_state=45, format="csr")
    X.data = rng.exponential(1, X.nnz) * rng.choice([1, 10], X.nnz)
    W = np.zeros((p, 3))
    W[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal((20, 3))
    y = np.argmax(X @ W + rng.gumbel(size=(n, 3)), axis=1)
    params = dict(C=13.8, l1_ratio=0.5, gate_threshold=1.0, fit_intercept=False,
                  tol=1e-9, max_iter=100)
    on = _fit(X, y, **params)
    assert on.dual_gap_ <= 1e-9 and on.n_iter_ < 50
    off = _fit(X, y, gate=False, **params)
    assert on.loss_curve_[-1] == pytest.approx(off.loss_curve_[-1], rel=1e-9)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize("outputs", ["binary", "multilabel", "multinomial"])
def test_start_correlations_come_from_the_target_correlations(fmt, outputs):
    """At zero weights ``X.T @ R`` is ``weights * P - targets`` (no pass over
    ``X``): equal to the product itself, for any intercept and sample weights
    (zeros among them), one output or several."""
    rng = np.random.default_rng(0)
    X = sp.random(60, 25, density=0.3, random_state=1, format="csr")
    X = {"dense": X.toarray(), "csr": X, "csc": X.tocsc()}[fmt]
    s = rng.uniform(0, 3, 60)
    s[:5] = 0
    if outputs == "multinomial":
        Y, loss, k = ClassLabels(rng.integers(0, 4, 60), 4), SoftmaxLoss(), 4
    else:
        k = 1 if outputs == "binary" else 3
        Y, loss = rng.integers(0, 2, (60, k)).astype(float), SigmoidLoss()
    problem = Problem(X, Y, s, loss, Penalty(1.0, 0.5), True)
    targets = TargetCorrelations.of(problem)
    for b in (np.zeros(k), rng.normal(size=k)):
        state = State.at(problem, np.zeros((25, k)), b, np.broadcast_to(b, (60, k)))
        expected = np.asarray(X.T @ state.R)
        np.testing.assert_allclose(targets.of_constant(state.R), expected,
                                   rtol=1e-12, atol=1e-12)


def test_trust_radius_goes_on_from_round_to_round(monkeypatch):
    """The gate passes the solver's trust radius on to the next round's solve; a
    fit's first round, and a settled working set's solve, start without one."""
    import chinchilla_sklearn._gate as gate_module

    calls = []
    solve = gate_module.solve_working_set

    def record(*args, **kwargs):
        out = solve(*args, **kwargs)
        calls.append((kwargs["radius"], out.radius))
        return out

    monkeypatch.setattr(gate_module, "solve_working_set", record)
    X, y = _text_like(400, 2000, 15, seed=3)
    _fit(X, y, C=30.0, l1_ratio=1.0, tol=1e-8)
    assert len(calls) > 2
    assert calls[0][0] == np.inf
    assert any(np.isfinite(given) for given, _ in calls[1:])
    for (_, returned), (given, _) in zip(calls, calls[1:]):
        assert given in (returned, np.inf)
