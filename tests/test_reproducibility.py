"""Reproducibility, persistence and thread safety.

- The same data and ``random_state`` give bit-identical ``coef_`` in two fresh
  processes (with different hash seeds) and in this one.
- A model saved with joblib predicts bit-identically when loaded in a fresh
  process. A joblib (pickle) file runs code when it is loaded: load only files
  from a trusted source.
- With skops installed, a model round-trips through ``skops.io`` trusting only
  the project's own types.
- Concurrent ``predict_proba`` calls on one fitted model, from several threads,
  give the serial results.
"""

import inspect
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from chinchilla_sklearn import ChinchillaClassifier

REPO = Path(__file__).resolve().parents[1]


def _run_python(code, *, env=None, timeout=120):
    """Run ``code`` in a fresh interpreter (the test's own) and return stdout."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO),
                                                      env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fingerprints():
    """Fit a few seeded models; return the sha256 of each one's coef_/intercept_.

    Self-contained (it runs in fresh processes through its source).
    """
    import hashlib
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from chinchilla_sklearn import ChinchillaClassifier

    rng = np.random.default_rng(42)
    X = rng.standard_normal((120, 30))
    X[rng.random(X.shape) < 0.6] = 0.0
    w = rng.standard_normal((30, 3)) * (rng.random((30, 3)) < 0.3)
    codes = (X @ w + rng.gumbel(size=(120, 3))).argmax(axis=1)
    labels = np.array(["spam", "ham", "eggs"], dtype=object)[codes]
    Y = (X @ w + rng.logistic(size=(120, 3)) > 0).astype(int)
    cases = {
        "binary_dense_l1": (X, codes == 0, dict(l1_ratio=1.0, C=0.5)),
        "multiclass_csr_enet": (sp.csr_matrix(X), codes,
                                dict(l1_ratio=0.5, shared_support=True)),
        "strings_csc_weights": (sp.csc_matrix(X), labels,
                                dict(class_weight={"spam": 2.0, "eggs": 0.5})),
        "multilabel_l2": (X, Y, dict(C=0.3)),
        "float32_gate_off": (X.astype(np.float32), codes,
                             dict(l1_ratio=0.9, gate=False)),
    }
    out = {}
    for name, (X_, y_, params) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # float32 resolves violations to ~1e-7 (its eps), not 1e-8
            tol = 1e-6 if X_.dtype == np.float32 else 1e-8
            est = ChinchillaClassifier(random_state=0, tol=tol, **params)
            est.fit(X_, y_)
        digest = hashlib.sha256()
        for array in (est.coef_, est.intercept_):
            digest.update(str(array.dtype).encode() + np.ascontiguousarray(
                array).tobytes())
        out[name] = digest.hexdigest()
    return out


def test_bit_identical_coef_across_processes():
    code = textwrap.dedent(inspect.getsource(_fingerprints))
    code += "\nimport json\nprint(json.dumps(_fingerprints()))\n"
    first = json.loads(_run_python(code, env={"PYTHONHASHSEED": "1"}))
    second = json.loads(_run_python(code, env={"PYTHONHASHSEED": "2"}))
    here = _fingerprints()
    assert first == second == here


# ---------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------


def _models():
    """(name, fitted model, X to predict on) for the persistence tests."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 8))
    X[rng.random(X.shape) < 0.5] = 0.0
    y = np.array(["a", "b", "c"])[np.arange(60) % 3]
    Y = (X[:, :2] + rng.standard_normal((60, 2)) > 0).astype(int)
    X_new = rng.standard_normal((25, 8))
    sparsified = ChinchillaClassifier(l1_ratio=1.0, C=0.5).fit(X, y == "a")
    return [
        ("binary_dense", ChinchillaClassifier(C=0.5).fit(X, y == "a"), X_new),
        ("multiclass_csr", ChinchillaClassifier(l1_ratio=0.5).fit(
            sp.csr_matrix(X), y), sp.csr_matrix(X_new)),
        ("multilabel", ChinchillaClassifier().fit(X, Y), X_new),
        ("sparsified", sparsified.sparsify(), X_new),
    ]


METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _outputs(est, X):
    return {m: getattr(est, m)(X) for m in METHODS}


def test_joblib_round_trip_in_fresh_process(tmp_path):
    expected = {}
    for name, est, X_new in _models():
        joblib.dump(est, tmp_path / f"{name}.joblib")
        joblib.dump(X_new, tmp_path / f"{name}.X.joblib")
        expected[name] = _outputs(est, X_new)
    code = textwrap.dedent(f"""
        import joblib, numpy as np
        from pathlib import Path
        folder = Path({str(tmp_path)!r})
        for name in {list(expected)!r}:
            est = joblib.load(folder / f"{{name}}.joblib")
            X = joblib.load(folder / f"{{name}}.X.joblib")
            joblib.dump({{m: getattr(est, m)(X) for m in {METHODS!r}}},
                        folder / f"{{name}}.out.joblib")
    """)
    _run_python(code)
    for name, outputs in expected.items():
        loaded = joblib.load(tmp_path / f"{name}.out.joblib")
        for method, value in outputs.items():
            assert loaded[method].dtype == value.dtype, (name, method)
            assert_array_equal(loaded[method], value, err_msg=f"{name}.{method}")


@pytest.mark.parametrize(
    "name",
    ["binary_dense", "multiclass_csr", "multilabel", "sparsified"],
)
def test_skops_round_trip_trusting_only_project_types(name, tmp_path):
    sio = pytest.importorskip("skops.io")
    est, X_new = {n: (e, X) for n, e, X in _models()}[name]
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    allowed = ("chinchilla_sklearn.",)
    if name == "sparsified":
        # coef_ is a scipy.sparse matrix after sparsify(), as in scikit-learn;
        # skops does not trust scipy's sparse types by default
        allowed += ("scipy.sparse.",)
    assert all(t.startswith(allowed) for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    expected = _outputs(est, X_new)
    for method, value in _outputs(loaded, X_new).items():
        assert value.dtype == expected[method].dtype
        assert_array_equal(value, expected[method], err_msg=method)


# ---------------------------------------------------------------------------
# Thread safety
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["binary_dense", "multiclass_csr", "sparsified"])
def test_concurrent_predict_proba_equals_serial(name):
    est = {n: e for n, e, _ in _models()}[name]
    rng = np.random.default_rng(11)
    batches = [rng.standard_normal((rng.integers(1, 400), 8)) for _ in range(24)]
    if name == "multiclass_csr":
        batches = [sp.csr_matrix(B * (rng.random(B.shape) < 0.5)) for B in batches]
    serial = [est.predict_proba(B) for B in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            concurrent = list(pool.map(est.predict_proba, batches))
            for got, want in zip(concurrent, serial):
                assert_array_equal(got, want)
            # other methods interleaved with predict_proba on the same model
            mixed = list(pool.map(lambda i: (est.predict(batches[i]),
                                             est.predict_proba(batches[i])),
                                  range(len(batches))))
            for (labels, proba), want in zip(mixed, serial):
                assert_array_equal(proba, want)
                assert_array_equal(labels, est.classes_[want.argmax(axis=1)])
