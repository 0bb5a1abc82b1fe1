"""Many classes on a small sparse problem: fit time and peak memory.

The problem of ``tests/test_extremes.py``'s many-class tests: ``n_per_class``
samples per class, 10 features, 10% of the entries stored (``scipy.sparse.random``,
seed 0), default ``C=1``, ``tol=1e-2``. Every softmax array is dense of shape
(n_samples, n_classes): 0.8 GB in float64 at 10,000 x 10,000. Each case runs in
its own process, on one thread, and reports the fit time, tracemalloc's peak,
the peak RSS increase, the outer iterations and whether the test's checks pass
(finite weights and log-probabilities, probabilities in [0, 1] summing to 1, no
warnings but scikit-learn's own about y having more classes than half the samples).

    python benchmarks/bench_many_classes.py                     # 1,000 and 10,000
    python benchmarks/bench_many_classes.py --cases 1000x2 --l1-ratio 1
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

CHILD = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc, warnings
    import numpy as np, scipy.sparse as sp
    from chinchilla_sklearn import ChinchillaClassifier

    n_classes, n_per_class = int(sys.argv[1]), int(sys.argv[2])
    l1_ratio, dtype = float(sys.argv[3]), np.dtype(sys.argv[4])
    X = sp.random(n_classes * n_per_class, 10, density=0.1, format="csr",
                  random_state=0, dtype=dtype)
    y = np.repeat(np.arange(n_classes), n_per_class)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        est = ChinchillaClassifier(tol=1e-2, l1_ratio=l1_ratio).fit(X, y)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss
        proba = est.predict_proba(X[:50])
        log_proba = est.predict_log_proba(X[:50])
    valid = bool(
        np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
        and np.all((proba >= 0) & (proba <= 1))
        and np.allclose(proba.sum(axis=1), 1.0, rtol=0,
                        atol=1e-12 if dtype == np.float64 else 1e-6)
        and np.all(np.isfinite(log_proba))
    )
    # scikit-learn's own warning when classes outnumber half the samples
    sklearn_warning = "The number of unique classes is greater than 50%"
    others = {f"{w.category.__name__}: {w.message}"[:100] for w in caught
              if not str(w.message).startswith(sklearn_warning)}
    print(json.dumps({
        "seconds": seconds, "peak": peak, "rss": rss, "n_iter": est.n_iter_,
        "valid": valid, "warnings": sorted(others),
        "sklearn_warning": len(others) < len(caught),
    }))
""")


def _run(n_classes, n_per_class, l1_ratio, dtype):
    """Fit one case in a fresh process; return its measurements (or the error)."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(n_classes), str(n_per_class),
         str(l1_ratio), dtype],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", default="1000x2,10000x1",
        help="comma-separated n_classes x samples per class (default: the tests')",
    )
    parser.add_argument("--l1-ratio", type=float, default=0.0)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    print(f"10 features, density 0.1, C=1, l1_ratio={args.l1_ratio}, tol=1e-2, "
          f"{args.dtype}, one thread")
    print(f"{'classes':>8} {'samples':>8} {'time [s]':>9} {'peak [MiB]':>11} "
          f"{'RSS+ [MiB]':>11} {'n_iter':>6}  checks")
    for case in args.cases.split(","):
        n_classes, n_per_class = map(int, case.split("x"))
        m = _run(n_classes, n_per_class, args.l1_ratio, args.dtype)
        if "error" in m:
            print(f"{n_classes:8d} {n_classes * n_per_class:8d}  FAILED: {m['error']}")
            continue
        checks = "pass" if m["valid"] and not m["warnings"] else "FAIL"
        note = "; ".join(m["warnings"])
        if m["sklearn_warning"]:
            note += " (and scikit-learn's '>50% unique classes' UserWarning)"
        print(f"{n_classes:8d} {n_classes * n_per_class:8d} {m['seconds']:9.2f} "
              f"{m['peak'] / 2**20:11.0f} {m['rss'] / 2**20:11.0f} "
              f"{m['n_iter']:6d}  {checks} {note}")


if __name__ == "__main__":
    main()
