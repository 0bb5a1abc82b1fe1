"""PathDisplay: the weights and the cross-validated score against C."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import make_data
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from chinchilla_sklearn import ChinchillaClassifierCV, PathDisplay, regularization_path

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

FOLDS = StratifiedKFold(3, shuffle=True, random_state=0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    X, y = make_data("multiclass", "csr")
    cv = ChinchillaClassifierCV(Cs=6, l1_ratios=[0.5, 1.0], cv=FOLDS).fit(X, y)
    return cv, X, y


def test_from_estimator_draws_the_path_and_the_scores(fitted):
    cv, X, y = fitted
    display = PathDisplay.from_estimator(cv, X, y)
    assert len(display.axes_) == 2
    path = regularization_path(X, y, Cs=cv.Cs_, l1_ratio=cv.l1_ratio_)
    assert_allclose(display.coefs, path.coefs)
    drawn = np.column_stack([line.get_ydata() for line in display.lines_["coefs"]])
    flat = path.coefs.reshape(len(cv.Cs_), -1)
    assert_allclose(drawn, flat[:, np.any(flat, axis=0)])
    assert_allclose(display.lines_["coefs"][0].get_xdata(), cv.Cs_)
    rows = cv.cv_results_["param_l1_ratio"] == cv.l1_ratio_
    score_line = display.lines_["score"].lines[0]
    assert_allclose(score_line.get_ydata(), cv.cv_results_["mean_test_score"][rows])
    assert [line.get_xdata()[0] for line in display.lines_["chosen"]] == [cv.C_] * 2
    assert display.axes_[0].get_xscale() == "log"
    assert "C" in display.axes_[1].get_xlabel()


def test_error_bars_are_one_standard_error(fitted):
    cv, X, y = fitted
    display = PathDisplay.from_estimator(cv, X, y)
    bars = display.lines_["score"].lines[2][0].get_segments()
    half_widths = np.array([(top[1] - bottom[1]) / 2 for bottom, top in bars])
    rows = cv.cv_results_["param_l1_ratio"] == cv.l1_ratio_
    expected = cv.cv_results_["std_test_score"][rows] / np.sqrt(3 - 1)
    assert_allclose(half_widths, expected, atol=1e-12)


def test_other_l1_ratio_has_no_chosen_line_unless_chosen(fitted):
    cv, X, y = fitted
    other = [r for r in cv.l1_ratios_ if r != cv.l1_ratio_][0]
    display = PathDisplay.from_estimator(cv, X, y, l1_ratio=other)
    assert "chosen" not in display.lines_
    with pytest.raises(ValueError, match="not one of l1_ratios_"):
        PathDisplay.from_estimator(cv, X, y, l1_ratio=0.3)


def test_from_path_draws_one_axes():
    X, y = make_data("binary")
    display = PathDisplay.from_path(regularization_path(X, y, Cs=5))
    assert len(display.axes_) == 1 and "score" not in display.lines_


def test_pipeline_and_given_axes():
    X, y = make_data("binary", "csr")
    pipe = make_pipeline(MaxAbsScaler(), ChinchillaClassifierCV(
        Cs=4, l1_ratios=[1.0], cv=FOLDS)).fit(X, y)
    _, axes = plt.subplots(1, 2)
    display = PathDisplay.from_estimator(pipe, X, y, ax=axes)
    assert list(display.axes_) == list(axes)
    with pytest.raises(ValueError, match="2 Axes"):
        PathDisplay.from_estimator(pipe, X, y, ax=axes[0])


def test_unfitted_estimator_raises():
    X, y = make_data("binary")
    with pytest.raises(NotFittedError):
        PathDisplay.from_estimator(ChinchillaClassifierCV(), X, y)


def test_the_package_does_not_import_matplotlib():
    code = "import sys, chinchilla_sklearn; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"
