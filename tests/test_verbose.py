"""The verbose output: a header, one aligned line per outer iteration, a summary."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from chinchilla_sklearn import ChinchillaClassifier

HEADER = ["iter", "objective", "gap", "violation", "ws", "screened", "kernel", "time",
          "[s]"]


def _problem():
    rng = np.random.default_rng(0)
    X = sp.random(200, 500, density=0.05, format="csr", random_state=0)
    w = np.zeros(500)
    w[:20] = 5 * rng.normal(size=20)
    y = (X @ w + 0.3 * rng.normal(size=200) > 0).astype(int)
    return X, y


def _fit_and_read(capsys, **params):
    X, y = _problem()
    clf = ChinchillaClassifier(l1_ratio=1.0, verbose=1, **params).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    return clf, lines


def test_verbose_prints_one_aligned_line_per_outer_iteration(capsys):
    clf, lines = _fit_and_read(capsys, C=5.0, tol=1e-6)
    assert clf.n_iter_ >= 2
    header, rows, summary = lines[0], lines[1:-1], lines[-1]
    assert header.split() == HEADER
    assert len(rows) == clf.n_iter_
    # aligned: every row as wide as the header, columns ending at the same place
    assert {len(row) for row in rows} == {len(header)}
    report = clf.gate_report_
    for k, row in enumerate(rows):
        fields = row.split()
        assert len(fields) == 8
        assert int(fields[0]) == k + 1
        np.testing.assert_allclose(float(fields[1]), clf.loss_curve_[k], rtol=1e-8)
        np.testing.assert_allclose(float(fields[2]), report["gap"][k], rtol=1e-3)
        np.testing.assert_allclose(float(fields[3]), report["violation"][k], rtol=1e-3)
        assert int(fields[4]) == report["working_set_size"][k]
        assert int(fields[5]) == report["n_screened"][k]
        assert fields[6] == report["kernel"][k]
        assert float(fields[7]) >= 0
    elapsed = [float(row.split()[7]) for row in rows]
    assert elapsed == sorted(elapsed)
    match = re.fullmatch(
        r"converged after (\d+) iterations: the relative duality gap is (\S+) "
        r"\(largest optimality violation (\S+)\), (\d+) non-zero weights",
        summary,
    )
    assert match is not None, summary
    assert float(match[2]) == pytest.approx(clf.dual_gap_, rel=1e-3)
    assert float(match[3]) == pytest.approx(report["violation"][-1], rel=1e-3)
    assert int(match[1]) == clf.n_iter_
    assert float(match[2]) <= clf.tol
    assert int(match[4]) == np.count_nonzero(clf.coef_)


def test_verbose_summary_says_stopped_without_convergence(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf, lines = _fit_and_read(capsys, C=5.0, tol=1e-12, max_iter=1)
    if clf.dual_gap_ <= 1e-12:
        pytest.skip("converged in one iteration")
    assert len(lines) == 3
    assert lines[-1].startswith("stopped after 1 iterations: the relative duality gap")


def test_verbose_zero_prints_nothing(capsys):
    X, y = _problem()
    ChinchillaClassifier(C=5.0, l1_ratio=1.0).fit(X, y)
    assert capsys.readouterr().out == ""
