"""Text-like data with near-duplicate columns: screening, the gate, block Jacobi.

A bigram is nearly a copy of its words: these problems hold exact and near
copies of columns (issue 13). Screening must stay safe and certify most zero
features at a tight fit; the gate and the block-Jacobi preconditioner
(``_groups.py``) change the cost of a fit, never its answer.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import objective

import chinchilla_sklearn._gate as _gate
import chinchilla_sklearn._solver as _solver
from chinchilla_sklearn import ChinchillaClassifier
from chinchilla_sklearn._gate import _screen, run_gate
from chinchilla_sklearn._groups import (
    FLOOR,
    ColumnSignatures,
    NearDuplicates,
    near_duplicate_groups,
)
from chinchilla_sklearn._kernels import column_norms
from chinchilla_sklearn._loss import SigmoidLoss
from chinchilla_sklearn._objective import Problem, TargetCorrelations, dual_point
from chinchilla_sklearn._penalty import Penalty
from chinchilla_sklearn._solver import State

TOL = 1e-6
TIGHT_TOL = 1e-9


def _near_duplicates(n_samples=400, n_base=600, n_copies=80, n_classes=2, seed=0):
    """Sparse non-negative X: base columns, exact copies and near copies of some.

    Near copies keep about 90% of the column's entries, each scaled by a factor
    in [0.9, 1.1]. The labels follow a sparse truth on frequent base columns.
    """
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(n_base) + 2.0) ** 1.1
    cols = rng.choice(n_base, size=(n_samples, 20), p=p / p.sum())
    rows = np.repeat(np.arange(n_samples), 20)
    base = sp.csc_matrix((rng.random(rows.size) + 0.1, (rows, cols.ravel())),
                         shape=(n_samples, n_base))
    base.sum_duplicates()
    copied = rng.choice(60, size=n_copies, replace=True)  # frequent columns
    near = base[:, copied].tocsc(copy=True)
    near.data *= rng.uniform(0.9, 1.1, near.data.size)
    near.data[rng.random(near.data.size) < 0.1] = 0
    near.eliminate_zeros()
    X = sp.hstack([base, base[:, copied[: n_copies // 2]], near]).tocsr()
    W = np.zeros((n_base, n_classes))
    W[rng.choice(40, size=8, replace=False)] = rng.normal(0, 3, size=(8, n_classes))
    Z = base @ W + rng.gumbel(size=(n_samples, n_classes))
    y = Z.argmax(axis=1) if n_classes > 2 else (Z[:, 0] > Z[:, 1]).astype(int)
    return X, y


def _fit(X, y, **params):
    return ChinchillaClassifier(**{"tol": TOL, "max_iter": 300, **params}).fit(X, y)


def test_screening_is_safe_and_effective():
    """Every screened feature is zero at a tight optimum (that of the gate off,
    and the gate's own), and a tight L1 fit screens at least half of the
    features that end at zero; the report counts them."""
    X, y = _near_duplicates()
    Y = y[:, None].astype(float)
    s = np.full(X.shape[0], 2.0)  # C = 2
    problem = Problem(X, Y, s, SigmoidLoss(), Penalty(1.0, 0.0), True)
    W0, b0 = np.zeros((X.shape[1], 1)), np.zeros(1)
    gated = run_gate(problem, W0, b0, gate=True, gate_threshold=0.5, tol=TIGHT_TOL,
                     max_iter=300)
    reference = run_gate(problem, W0, b0, gate=False, gate_threshold=0.5,
                         tol=1e-11, max_iter=300)
    assert gated.converged and reference.converged
    zero = reference.W[:, 0] == 0
    assert np.all(reference.W[gated.screened] == 0)
    assert np.all(gated.W[gated.screened] == 0)
    assert gated.screened.sum() >= 0.5 * zero.sum() > 0
    assert gated.records[-1].n_screened == gated.screened.sum()
    # the last check screens too: all its certificate allows is screened
    Z = X @ gated.W + gated.b
    state = State.at(problem, gated.W, gated.b, Z)
    dual = dual_point(problem, state, X.T @ state.R, TargetCorrelations.of(problem))
    assert np.all(gated.screened[_screen(problem, state, dual, column_norms(X))])
    clf = _fit(X, y, C=2.0, l1_ratio=1.0, tol=TIGHT_TOL)
    assert clf.gate_report_["n_screened"][-1] >= 0.5 * np.sum(clf.coef_ == 0)
    assert np.all(np.diff(clf.gate_report_["n_screened"]) >= 0)


def test_certified_gap_never_rises_between_rounds():
    """The gate keeps the best dual point: its certified gap is monotone."""
    X, y = _near_duplicates(seed=1)
    clf = _fit(X, y, C=2.0, l1_ratio=1.0, tol=TIGHT_TOL)
    gaps = np.array(clf.gate_report_["gap"])
    assert gaps[-1] <= TIGHT_TOL
    # a gap may only rise through the primal (objective) rounding
    assert np.all(np.diff(gaps) <= 1e-12)


@pytest.mark.parametrize("fmt", ["csr", "dense"])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0], ids=["en", "l1"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_gate_on_off_same_objective(n_classes, l1_ratio, fmt):
    """Both fits certify their objective within TOL of the minimum (relative), so
    the objectives agree within TOL: the duplicates make the L1 minimiser
    non-unique, so the weights need not."""
    X, y = _near_duplicates(n_classes=n_classes)
    X = X.toarray() if fmt == "dense" else X
    C = 2.0
    on = _fit(X, y, C=C, l1_ratio=l1_ratio, gate=True)
    off = _fit(X, y, C=C, l1_ratio=l1_ratio, gate=False)
    assert on.dual_gap_ <= TOL and off.dual_gap_ <= TOL
    f_on = objective(on.coef_, on.intercept_, X, y, C=C, l1_ratio=l1_ratio)
    f_off = objective(off.coef_, off.intercept_, X, y, C=C, l1_ratio=l1_ratio)
    assert f_on == pytest.approx(f_off, rel=TOL)


def test_near_duplicate_groups_hold_the_copies():
    """Exact copies have equal signatures, so each lands in its original's group."""
    X, _ = _near_duplicates()
    X = X.tocsc()
    columns = np.arange(X.shape[1])
    found = near_duplicate_groups(X, columns, ColumnSignatures(X), column_norms(X),
                                  0.7)
    group = np.full(X.shape[1], -1)
    label = 0
    for members in found.members.values():
        for g in members:
            group[g] = label
            label += 1
    dense = X.toarray()
    for j in range(600, 640):  # the exact copies
        original = np.flatnonzero(np.all(dense[:, :600] == dense[:, [j]], axis=0))
        assert group[j] >= 0 and group[j] in group[original]


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_block_jacobi_inverts_each_group_block(n_outputs):
    """The preconditioner applies the inverse of each group's Hessian block (free
    weights only) and the Jacobi diagonal elsewhere."""
    X, _ = _near_duplicates()
    X = X.tocsc()
    columns = np.arange(X.shape[1])
    groups = near_duplicate_groups(X, columns, ColumnSignatures(X), column_norms(X),
                                   0.7)
    rng = np.random.default_rng(0)
    h = rng.uniform(0.05, 0.25, size=(X.shape[0], n_outputs))
    ridge = 1e-3
    diagonal = X.multiply(X).T @ h + ridge
    free = rng.random((X.shape[1], n_outputs)) < 0.9
    blocks = groups.preconditioner(h, 1 / diagonal, free)
    r = np.where(free, rng.standard_normal(free.shape), 0)
    z = r / diagonal
    blocks.apply(r, z)
    dense = X.toarray()
    for m, members in groups.members.items():
        for g in members:
            for k in range(n_outputs):
                f = g[free[g, k]]
                H = dense[:, f].T @ (h[:, [k]] * dense[:, f])
                H[np.diag_indices_from(H)] += ridge
                # the floor that keeps an exact duplicate's block invertible
                H[np.diag_indices_from(H)] *= 1 + FLOOR
                np.testing.assert_allclose(z[f, k], np.linalg.solve(H, r[f, k]),
                                           rtol=1e-5, atol=1e-8)
                np.testing.assert_array_equal(z[g[~free[g, k]], k], 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["csr", "dense"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_block_preconditioner_same_answer(n_classes, fmt, dtype, monkeypatch):
    """Block Jacobi and the Jacobi diagonal certify the same objective. The
    groups are made from the first Newton step on, and every system is solved
    by CG (none directly), so the block preconditioner is used."""
    X, y = _near_duplicates(n_classes=n_classes, seed=2)
    X = (X.toarray() if fmt == "dense" else X).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else TOL
    monkeypatch.setattr(_solver, "GROUPS_AFTER_CG", -1)
    monkeypatch.setattr(_solver, "DIRECT_MAX_FLOPS", 0)
    made = []
    preconditioner = NearDuplicates.preconditioner

    def counted(self, *args):
        made.append(self.n_grouped)
        return preconditioner(self, *args)

    monkeypatch.setattr(NearDuplicates, "preconditioner", counted)
    fits = {}
    for cosine in (None, 0.7):
        monkeypatch.setattr(_gate, "NEAR_DUPLICATE_COSINE", cosine)
        fits[cosine] = _fit(X, y, C=2.0, l1_ratio=1.0, tol=tol)
        assert fits[cosine].dual_gap_ <= tol
        # dense X is never grouped (its columns' row sets are all alike)
        assert bool(made) == (cosine is not None and fmt != "dense")
    f = [objective(e.coef_, e.intercept_, X.astype(np.float64), y, C=2.0,
                   l1_ratio=1.0) for e in fits.values()]
    assert f[0] == pytest.approx(f[1], rel=2 * tol)
