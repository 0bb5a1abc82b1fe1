"""Scale-out with Dask (the optional extra ``dask``): searches and streams on a cluster.

A real ``distributed.LocalCluster`` (two worker processes) runs a ``GridSearchCV``
and the folds of a ``ChinchillaClassifierCV`` through joblib's dask backend, and
``dask_ml.wrappers.Incremental`` streams the blocks of a chunked dask array, dense
or of scipy.sparse blocks, through ``partial_fit``. Skipped when the extra is not
installed.
"""

import logging

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV

from chinchilla_sklearn import ChinchillaClassifier, ChinchillaClassifierCV

REASON = "the dask extra is not installed (pip install -e '.[dask]')"
da = pytest.importorskip("dask.array", reason=REASON)
distributed = pytest.importorskip("distributed", reason=REASON)
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason=REASON)

N_TRAIN, N_TEST, BLOCK = 20_000, 5_000, 1_000


@pytest.fixture(scope="module")
def client():
    """A cluster of two single-threaded worker processes on this machine."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def _workers(client):
    """The addresses of the cluster's workers, asked of the scheduler now.

    Not ``client.scheduler_info()["workers"]``: the client's periodic refresh
    (``_update_scheduler_info(n_workers=0)`` in distributed 2026.8) rewrites that
    cache with totals only, and when it lands between the call's own refresh and
    its return the set is empty (a CI run failed on it).
    """
    return set(client.nthreads())


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(N_TRAIN + N_TEST, 20, n_informative=5,
                               random_state=3)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def test_grid_search_on_the_cluster(client, data):
    X, y, _, _ = data
    X, y = X[:3000], y[:3000]
    grid = {"C": [0.1, 1.0], "l1_ratio": [0.0, 1.0]}
    local = GridSearchCV(ChinchillaClassifier(), grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(ChinchillaClassifier(), grid, cv=3, n_jobs=-1)
            search.fit(X, y)
    assert len(tasks.data) >= 12  # 4 candidates x 3 folds ran on the workers
    assert {task["worker"] for task in tasks.data} <= _workers(client)
    assert_allclose(search.cv_results_["mean_test_score"],
                    local.cv_results_["mean_test_score"])
    assert search.best_params_ == local.best_params_
    assert_array_equal(search.predict(X), local.predict(X))


def test_cv_folds_on_the_cluster(client, data):
    """One path per fold and l1_ratio runs on the workers; the same results."""
    X, y, _, _ = data
    X, y = sp.csr_matrix(X[:3000]), y[:3000]
    params = dict(Cs=4, l1_ratios=[0.5, 1.0], cv=3)
    local = ChinchillaClassifierCV(**params).fit(X, y)
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_backend("dask"):
            search = ChinchillaClassifierCV(**params, n_jobs=-1).fit(X, y)
    assert len(tasks.data) >= 6  # 3 folds x 2 l1_ratios ran on the workers
    assert {task["worker"] for task in tasks.data} <= _workers(client)
    assert_allclose(search.cv_results_["mean_test_score"],
                    local.cv_results_["mean_test_score"])
    assert (search.C_, search.l1_ratio_) == (local.C_, local.l1_ratio_)
    assert_array_equal(search.predict(X), local.predict(X))


def _stream_through_incremental(estimator, X, y):
    """Return ``estimator`` fitted by ``Incremental`` on blocks of BLOCK rows, in order.

    ``asarray=False`` keeps scipy.sparse blocks (dask would densify them).
    """
    X_blocks = da.from_array(X, chunks=(BLOCK, X.shape[1]), asarray=False)
    y_blocks = da.from_array(y, chunks=BLOCK)
    assert isinstance(X_blocks.blocks[0].compute(), type(X))
    online = dask_ml_wrappers.Incremental(estimator, scoring="accuracy",
                                          shuffle_blocks=False)
    online.fit(X_blocks, y_blocks, classes=[0, 1])
    return online.estimator_


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_incremental_streams_like_partial_fit(client, data, fmt):
    """One pass over blocks of 1,000 rows on the cluster: the model of the same
    partial_fit calls made here, and as accurate as SGDClassifier's stream.

    The accuracy bound comes from the test set: on the same n_test samples the
    difference of two accuracies has standard error sqrt(q / n_test), q the
    share of samples where one model is right and the other wrong (McNemar); the
    stream must not be worse than SGDClassifier's by 3 of them.
    """
    X, y, X_test, y_test = data
    if fmt == "csr":
        X, X_test = sp.csr_matrix(X), sp.csr_matrix(X_test)
    model = _stream_through_incremental(ChinchillaClassifier(), X, y)
    assert model.n_iter_ == N_TRAIN // BLOCK  # one partial_fit call per block
    local = ChinchillaClassifier()
    for start in range(0, N_TRAIN, BLOCK):
        local.partial_fit(X[start:start + BLOCK], y[start:start + BLOCK],
                          classes=[0, 1])
    assert_allclose(model.coef_, local.coef_, rtol=1e-12, atol=1e-15)
    assert_allclose(model.intercept_, local.intercept_, rtol=1e-12, atol=1e-15)
    sgd = _stream_through_incremental(
        SGDClassifier(loss="log_loss", alpha=1.0 / N_TRAIN, random_state=0), X, y)
    ours, theirs = model.predict(X_test) == y_test, sgd.predict(X_test) == y_test
    standard_error = np.sqrt(np.mean(ours != theirs) / y_test.size)
    assert ours.mean() >= theirs.mean() - 3 * standard_error
