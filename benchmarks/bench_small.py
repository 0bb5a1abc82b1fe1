"""Small problems: the CPU time of one fit, the cost a GridSearchCV loop repeats.

Breast cancer (569 x 30, standardised) and digits (1,797 x 64, 10 classes, scaled
to [0, 1]) at C=1, for L2, elastic net (l1_ratio=0.5) and L1. Every solver, ours
too, runs down a ladder of tolerances until its objective is within ``--target``
of the minimum (found by a chinchilla fit at tol=1e-13) and is timed at that rung:
the time to a ``--target`` objective gap, as ``bench_real_text.py`` measures it.
Chinchilla is also timed at ``--tol`` (a certified relative duality gap: its
objective is within it of the minimum whatever the data, which no rung of a
ladder says), the "certified" column. liblinear penalises the intercept (a
different problem): it is timed at its own tol=1e-6. CPU time of the process
(``time.process_time``), median of ``--repeat`` fits (a tenth of that on digits),
one BLAS thread. Run from the repository root::

    python benchmarks/bench_small.py
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from _measure import objective  # noqa: E402

LADDER = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def cpu_time(make, X, y, repeat):
    """Median CPU time of ``repeat`` fits of ``make()``, and the last estimator."""
    times = []
    for _ in range(repeat):
        estimator = make()
        start = time.process_time()
        estimator.fit(X, y)
        times.append(time.process_time() - start)
    return float(np.median(times)), estimator


def ladder_time(make, X, y, C, l1_ratio, best, target, repeat):
    """Time at the loosest tol of LADDER whose objective is within ``target``."""
    for tol in LADDER:
        _, estimator = cpu_time(lambda: make(tol), X, y, 1)
        value = objective(estimator.coef_, estimator.intercept_, X, y, C, l1_ratio)
        if (value - best) / abs(best) <= target:
            return cpu_time(lambda: make(tol), X, y, repeat)[0], tol
    return None, None


def peers(name, C, l1_ratio):
    """The peers of a penalty: ``{label: (make(tol), on the ladder)}``."""
    rows = {}
    if l1_ratio == 0:
        for solver in ("lbfgs", "newton-cg", "newton-cholesky"):
            rows[solver] = (lambda tol, s=solver: LogisticRegression(
                C=C, l1_ratio=0, solver=s, tol=tol, max_iter=10_000), True)
    else:
        rows["saga"] = (lambda tol: LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver="saga", tol=tol, max_iter=100_000), True)
        try:
            import skglm
        except ImportError:
            skglm = None
        if skglm is not None and name == "breast cancer":
            rows["skglm"] = (lambda tol: skglm.SparseLogisticRegression(
                alpha=1 / (C * 569), l1_ratio=l1_ratio, tol=tol, max_iter=1000), True)
    if name == "breast cancer" and l1_ratio in (0.0, 1.0):
        rows["liblinear (own problem)"] = (lambda tol: LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver="liblinear", tol=1e-6,
            max_iter=10_000), False)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--target", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    X_bc, y_bc = load_breast_cancer(return_X_y=True)
    X_digits, y_digits = load_digits(return_X_y=True)
    problems = (("breast cancer", StandardScaler().fit_transform(X_bc), y_bc,
                 args.repeat),
                ("digits", X_digits / 16.0, y_digits, max(args.repeat // 10, 3)))
    C = args.C
    print(f"CPU ms per fit (median), C={C}; peers at the loosest tol reaching a "
          f"{args.target:g} objective gap (tol in brackets)")
    for name, X, y, repeat in problems:
        for l1_ratio in (0.0, 0.5, 1.0):
            reference = ChinchillaClassifier(C=C, l1_ratio=l1_ratio, tol=1e-13,
                                             max_iter=1000).fit(X, y)
            best = objective(reference.coef_, reference.intercept_, X, y, C,
                             l1_ratio)
            certified, _ = cpu_time(lambda: ChinchillaClassifier(
                C=C, l1_ratio=l1_ratio, tol=args.tol), X, y, repeat)
            ours, our_tol = ladder_time(
                lambda tol: ChinchillaClassifier(C=C, l1_ratio=l1_ratio, tol=tol),
                X, y, C, l1_ratio, best, args.target, repeat)
            cells = [f"chinchilla {ours * 1e3:.1f} ({our_tol:g}), certified "
                     f"{certified * 1e3:.1f} ({args.tol:g})"]
            fastest = np.inf
            for label, (make, on_ladder) in peers(name, C, l1_ratio).items():
                if on_ladder:
                    seconds, tol = ladder_time(make, X, y, C, l1_ratio, best,
                                               args.target, repeat)
                else:
                    (seconds, _), tol = cpu_time(lambda: make(None), X, y,
                                                 repeat), 1e-6
                if seconds is None:
                    cells.append(f"{label} never")
                    continue
                fastest = min(fastest, seconds)
                cells.append(f"{label} {seconds * 1e3:.1f} ({tol:g})")
            print(f"{name:>13} l1_ratio={l1_ratio}: " + " | ".join(cells)
                  + f" | ours / fastest peer {ours / fastest:.2f}, certified "
                  f"{certified / fastest:.2f}", flush=True)


if __name__ == "__main__":
    main()
