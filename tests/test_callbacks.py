"""scikit-learn's callback API (1.9+): one task for the fit, one per outer iteration."""

import numpy as np
import pytest
from conftest import make_data

from chinchilla_sklearn import ChinchillaClassifier

callback = pytest.importorskip("sklearn.callback")


class Recorder:
    """A FitCallback that records the tasks it is told about."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", None))

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.events.append(("end", context.task_name))
        return False


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_callbacks_see_fit_and_each_outer_iteration(l1_ratio):
    X, y = make_data("binary", "csr")
    recorder = Recorder()
    assert isinstance(recorder, callback.FitCallback)
    clf = ChinchillaClassifier(l1_ratio=l1_ratio, tol=1e-8)
    clf.set_callbacks(recorder).fit(X, y)
    tasks = [event for event in recorder.events if event[0] in ("begin", "end")]
    iterations = [("begin", "outer iteration"), ("end", "outer iteration")]
    assert tasks == [("begin", "fit"), *iterations * clf.n_iter_, ("end", "fit")]
    assert recorder.events[0] == ("setup", None)
    assert recorder.events[-1] == ("teardown", None)


def test_callbacks_when_max_iter_stops_the_fit():
    X, y = make_data("multiclass", "dense")
    recorder = Recorder()
    # gate off: one Newton step per outer iteration (gated, these 10 features
    # are one working set, whose second round is solved to a gap of exactly 0)
    clf = ChinchillaClassifier(l1_ratio=1.0, tol=0.0, max_iter=2, gate=False)
    with pytest.warns(Warning):
        clf.set_callbacks(recorder).fit(X, y)
    begins = [e for e in recorder.events if e == ("begin", "outer iteration")]
    ends = [e for e in recorder.events if e == ("end", "outer iteration")]
    assert len(begins) == len(ends) == clf.n_iter_ == 2
    assert np.all(np.isfinite(clf.coef_))
