"""GateDisplay: one point per outer iteration, labelled axes, the ax it is given."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

from chinchilla_sklearn import ChinchillaClassifier, GateDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    """An L1 fit on a small sparse problem, with several outer iterations."""
    rng = np.random.default_rng(0)
    X = sp.random(300, 2000, density=0.02, format="csr", random_state=0)
    w = np.zeros(2000)
    w[:40] = 5 * rng.normal(size=40)
    y = (X @ w + 0.3 * rng.normal(size=300) > 0).astype(int)
    clf = ChinchillaClassifier(C=5.0, l1_ratio=1.0, tol=1e-6).fit(X, y)
    assert clf.n_iter_ >= 2
    return clf, X, y


def test_from_estimator_draws_one_point_per_outer_iteration(fitted):
    clf, _, _ = fitted
    display = GateDisplay.from_estimator(clf)
    report = clf.gate_report_
    iterations = np.arange(1, clf.n_iter_ + 1)
    expected = {
        "objective": clf.loss_curve_,
        "violation": report["violation"],
        "working_set_size": report["working_set_size"],
        "n_screened": report["n_screened"],
        "gap": report["gap"],
    }
    for key, values in expected.items():
        line = display.lines_[key]
        np.testing.assert_array_equal(line.get_xdata(), iterations)
        np.testing.assert_allclose(line.get_ydata(), values)
    np.testing.assert_allclose(display.lines_["tol"].get_ydata(), clf.tol)


def test_from_estimator_labels_its_axes(fitted):
    clf, _, _ = fitted
    display = GateDisplay.from_estimator(clf)
    assert display.axes_.shape == (3,)
    assert [ax.get_ylabel() for ax in display.axes_] == [
        "objective",
        "gap, violation",
        "features",
    ]
    assert display.axes_[-1].get_xlabel() == "outer iteration"
    assert display.axes_[1].get_yscale() == "log"
    assert display.axes_[2].get_yscale() == "symlog"  # counts span decades, hold 0
    assert display.figure_ is display.axes_[0].figure
    assert "ChinchillaClassifier" in display.figure_.get_suptitle()


def test_plot_accepts_three_axes():
    fig, axes = plt.subplots(1, 3)
    display = GateDisplay([3.0, 2.0, 1.5], [1e-1, 1e-3, 1e-6], [10, 20, 15])
    assert display.plot(ax=axes) is display
    assert list(display.axes_) == list(axes)
    assert display.figure_ is fig
    assert not {"n_screened", "gap", "tol"} & set(display.lines_)
    for ax in axes:
        assert ax.get_xlabel() == "outer iteration"
        assert len(ax.get_lines()) == 1


def test_from_estimator_splits_one_axes(fitted):
    clf, _, _ = fitted
    fig, (left, right) = plt.subplots(1, 2)
    display = GateDisplay.from_estimator(clf, ax=right)
    assert display.figure_ is fig
    assert not right.axison
    assert all(ax.figure is fig and ax is not right for ax in display.axes_)
    # the three new axes lie inside the area of the one they replace
    box = right.get_position()
    for ax in display.axes_:
        inner = ax.get_position()
        assert box.x0 - 1e-9 <= inner.x0 and inner.x1 <= box.x1 + 1e-9


def test_from_estimator_reads_a_pipeline(fitted):
    _, X, y = fitted
    pipe = make_pipeline(MaxAbsScaler(), ChinchillaClassifier(C=5.0, l1_ratio=1.0))
    pipe.fit(X, y)
    display = GateDisplay.from_estimator(pipe)
    assert len(display.lines_["objective"].get_xdata()) == pipe[-1].n_iter_


def test_from_estimator_unfitted_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        GateDisplay.from_estimator(ChinchillaClassifier())


def test_from_estimator_without_gate_report_raises(fitted):
    clf, _, _ = fitted
    clf = copy.deepcopy(clf)
    del clf.gate_report_  # as after partial_fit, which does not run the gate
    with pytest.raises(ValueError, match="partial_fit does not run the gate"):
        GateDisplay.from_estimator(clf)


@pytest.mark.parametrize(
    "ax", [[None, None, None], "axes", 3], ids=["nones", "string", "int"]
)
def test_plot_rejects_a_bad_ax(ax):
    with pytest.raises(ValueError, match="ax must be"):
        GateDisplay([1.0], [1e-5], [3]).plot(ax=ax)


def test_plot_rejects_lengths_that_differ():
    with pytest.raises(ValueError, match="one entry per outer iteration"):
        GateDisplay([1.0, 0.5], [1e-5], [3, 4]).plot()


def test_package_import_does_not_import_matplotlib():
    code = "import sys, chinchilla_sklearn; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_from_estimator_without_penalty_draws_no_gap():
    """C=inf has no dual: the violation is what stops the fit, and no gap line."""
    X, y = load_breast_cancer(return_X_y=True)
    clf = ChinchillaClassifier(C=np.inf).fit(StandardScaler().fit_transform(X), y)
    assert np.isnan(clf.dual_gap_)
    display = GateDisplay.from_estimator(clf)
    assert "gap" not in display.lines_ and "violation" in display.lines_
