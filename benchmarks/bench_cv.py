"""Tuning C in one call: ChinchillaClassifierCV against a grid search and
LogisticRegressionCV, on the same grid and folds, in the same run.

For each workload (a generated 20,000 x 50,000 binary text-like problem and a
20-class one), each penalty (L1, elastic net with l1_ratio=0.5) and each n_jobs:

1. ``ChinchillaClassifierCV(Cs=20, l1_ratios=[r], cv=folds)``: one warm-started
   path per fold, the refit at the chosen C; its grid ``Cs_`` is used by all rows;
2. ``GridSearchCV(ChinchillaClassifier(), {"C": Cs_, "l1_ratio": [r]}, cv=folds)``:
   100 fits from zero and the refit;
3. ``LogisticRegressionCV(Cs=Cs_, l1_ratios=[r], cv=folds)`` with liblinear
   (binary L1 only; it penalises the intercept) and saga (epochs capped by
   ``--saga-max-iter``, reported).

Every search runs at its default tol, 1e-4 (``--tol`` for the chinchilla rows:
a certified relative duality gap; ``--sklearn-tol`` for LogisticRegressionCV,
whose liblinear and saga stop on criteria of their own), with the same 5
stratified folds and scoring (accuracy). One BLAS thread; n_jobs processes. The
table gives each row's time, its time over ChinchillaClassifierCV's
(``t/t_chin``), the chosen C and its mean score. ``--record`` writes the rows to
the committed ``benchmarks/results.json`` (read by the docs' Benchmarks page and
the README).

    python benchmarks/bench_cv.py --quick                      # ~1 min smoke run
    python benchmarks/bench_cv.py --workloads binary --record  # the binary rows
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse
import sys

import numpy as np
from chinchilla_sklearn import ChinchillaClassifier, ChinchillaClassifierCV
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from _data import make_multiclass_text_like, make_text_like
from _measure import time_one_pass, timed_fit
from _results import new_run, record
from _workflow import save_json, versions

PENALTIES = {"l1": 1.0, "en": 0.5}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="binary,multiclass")
    parser.add_argument("--penalties", default="l1,en")
    parser.add_argument("--n-jobs", default="1,2", help="comma-separated")
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=50_000)
    parser.add_argument("--n-classes", type=int, default=20)
    parser.add_argument("--n-Cs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-4,
                        help="tol of ChinchillaClassifierCV and GridSearchCV's fits "
                        "(the default: a certified relative duality gap)")
    parser.add_argument("--sklearn-tol", type=float, default=1e-4,
                        help="tol of LogisticRegressionCV (its default)")
    parser.add_argument("--max-iter", type=int, default=1000,
                        help="chinchilla (outer iterations) and liblinear")
    parser.add_argument("--saga-max-iter", type=int, default=20, help="epochs cap")
    parser.add_argument("--peers", default="grid,liblinear,saga",
                        help="which of grid,liblinear,saga to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="2,000 x 5,000, 5 classes, 8 Cs, 3 folds")
    parser.add_argument("--record", action="store_true",
                        help="write the rows to benchmarks/results.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.n_features, args.n_classes = 2_000, 5_000, 5
        args.n_Cs, args.folds = 8, 3
    for name in ("workloads", "penalties", "peers"):
        setattr(args, name, [v for v in getattr(args, name).split(",") if v])
    args.n_jobs = [int(v) for v in args.n_jobs.split(",")]
    return args


def make_workload(name, args):
    """Return (label, X, y) of the binary or the multiclass workload."""
    shape = f"{args.n_samples:,} x {args.n_features:,}"
    if name == "binary":
        X, y = make_text_like(args.n_samples, args.n_features,
                              random_state=args.seed)
        return f"text {shape}, binary", X, y
    X, y = make_multiclass_text_like(args.n_samples, args.n_features,
                                     args.n_classes, random_state=args.seed)
    return f"text {shape}, {args.n_classes} classes", X, y


def fit_with_note(estimator, X, y):
    """Fit; return (seconds, estimator, note) with the convergence warnings."""
    seconds, converged = timed_fit(estimator, X, y)
    return seconds, estimator, "" if converged else "NOT CONVERGED"


def candidates(args, workload, r, folds, n_jobs):
    """Yield (solver name, estimator factory taking the grid of C, peer)."""
    yield "GridSearchCV(ChinchillaClassifier)", lambda Cs: GridSearchCV(
        ChinchillaClassifier(tol=args.tol, max_iter=args.max_iter),
        {"C": Cs, "l1_ratio": [r]}, cv=folds, n_jobs=n_jobs), "grid"
    common = dict(l1_ratios=[r], cv=folds, tol=args.sklearn_tol, n_jobs=n_jobs,
                  scoring="accuracy", use_legacy_attributes=False)
    if workload == "binary" and r == 1.0:
        yield "LogisticRegressionCV(liblinear)", lambda Cs: LogisticRegressionCV(
            Cs=Cs, solver="liblinear", max_iter=args.max_iter, **common), "liblinear"
    yield "LogisticRegressionCV(saga)", lambda Cs: LogisticRegressionCV(
        Cs=Cs, solver="saga", max_iter=args.saga_max_iter, random_state=0,
        **common), "saga"


def chosen(estimator):
    """Return (chosen C, its mean score) of any of the three searches."""
    if isinstance(estimator, GridSearchCV):
        return estimator.best_params_["C"], estimator.best_score_
    if isinstance(estimator, ChinchillaClassifierCV):
        return estimator.C_, estimator.best_score_
    scores = estimator.scores_.mean(axis=0)[0]  # (n_Cs,) of the one l1_ratio
    return estimator.C_, float(scores.max())


def warm_up(n_jobs, X, y):
    """Start joblib's worker processes and import the package in them, untimed.

    The first Parallel call of a size starts its workers (seconds: Python,
    numpy, scipy, scikit-learn); later calls reuse them. Without this the first
    row of each n_jobs would pay for it.
    """
    if n_jobs == 1:
        return
    rows = np.r_[np.flatnonzero(y == y[0])[:20], np.flatnonzero(y != y[0])[:20]]
    ChinchillaClassifierCV(Cs=2, cv=2, n_jobs=n_jobs).fit(X[rows], y[rows] == y[0])


def run_setting(args, workload, label, X, y, penalty, n_jobs, one_pass, log):
    """Time ours and the peers on one workload, penalty and n_jobs; the rows."""
    r = PENALTIES[penalty]
    folds = list(StratifiedKFold(args.folds, shuffle=True,
                                 random_state=args.seed).split(X, y))
    warm_up(n_jobs, X, y)
    ours = ChinchillaClassifierCV(Cs=args.n_Cs, l1_ratios=[r], cv=folds,
                                  tol=args.tol, max_iter=args.max_iter,
                                  n_jobs=n_jobs)
    seconds, ours, note = fit_with_note(ours, X, y)
    base = dict(benchmark="cv", workload=label, penalty=penalty, n_jobs=n_jobs)
    rows = [dict(base, solver="ChinchillaClassifierCV", time_s=seconds, note=note)]
    log_row(rows[0], ours, rows[0]["time_s"], one_pass, log)
    for name, make, peer in candidates(args, workload, r, folds, n_jobs):
        if peer not in args.peers:
            continue
        seconds, estimator, note = fit_with_note(make(ours.Cs_), X, y)
        if peer == "saga":
            note = ", ".join(filter(None, [f"max_iter={args.saga_max_iter}", note]))
        rows.append(dict(base, solver=name, time_s=seconds, note=note))
        log_row(rows[-1], estimator, rows[0]["time_s"], one_pass, log)
    return rows


def log_row(row, estimator, ours, one_pass, log):
    """Complete ``row`` (passes, ratio, choice) and print it."""
    row["passes"] = row["time_s"] / one_pass
    row["ratio"] = row["time_s"] / ours
    row["C"], row["score"] = (float(v) for v in chosen(estimator))
    log(f"{row['workload']:>32} {row['penalty']:>3} n_jobs={row['n_jobs']} "
        f"{row['solver']:>36} {row['time_s']:9.2f} s {row['passes']:9.0f} passes "
        f"t/t_chin {row['ratio']:6.2f}  C={row['C']:.4g} "
        f"score={row['score']:.4f} {row['note']}", flush=True)


def main(argv=None, log=print):
    """Run the settings; print and save the rows (and record them with --record)."""
    args = parse_arguments(argv)
    run_key, run = new_run("bench_cv", " ".join(sys.argv), versions())
    run["args"] = vars(args)
    log(f"{run['machine']}\n")
    rows = []
    for workload in args.workloads:
        label, X, y = make_workload(workload, args)
        one_pass = time_one_pass(X)
        run["data"][label] = {"nnz": int(X.nnz), "one_pass_s": one_pass,
                              "n_classes": int(np.unique(y).size)}
        log(f"{label}: nnz={X.nnz:,}, one pass {one_pass * 1e3:.2f} ms")
        for penalty in args.penalties:
            for n_jobs in args.n_jobs:
                rows += run_setting(args, workload, label, X, y, penalty, n_jobs,
                                    one_pass, log)
    save_json("bench_cv", {"run_key": run_key, "run": run, "rows": rows}, log=log)
    if args.record:
        log(f"recorded in {record(run_key, run, rows)}")
    return rows


if __name__ == "__main__":
    main()
