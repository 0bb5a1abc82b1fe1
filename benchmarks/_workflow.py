"""Steps shared by the benchmark scripts: data, choice of C, report, JSON."""

import json
import platform
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression

from _data import make_text_like
from _measure import format_table, median_time, time_one_pass
from _solvers import (
    PENALTIES,
    chinchilla_rows,
    chinchilla_status,
    choose_C,
    run_rows,
    skglm_status,
    sklearn_row,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def generate(n_samples, n_features, seed, log=print):
    """Generate the problem, timing it; (X, y, info dict)."""
    timing = median_time(
        lambda: make_text_like(
            n_samples, n_features, random_state=seed, return_truth=True
        ),
        repeat=1,
    )
    X, y, truth = timing.result
    nnz_row = np.diff(X.indptr)
    info = {
        "n_samples": n_samples,
        "n_features": n_features,
        "seed": seed,
        "nnz": int(X.nnz),
        "nnz_per_row_mean": float(nnz_row.mean()),
        "density": X.nnz / (n_samples * n_features),
        "features_used": int(np.count_nonzero(np.bincount(X.indices))),
        "positive_share": float(np.mean(y)),
        "bayes_accuracy": truth["bayes_accuracy"],
        "true_nnz": int(np.count_nonzero(truth["coef"])),
        "generation_time": timing.median,
    }
    log(
        f"data: {n_samples} x {n_features} CSR, nnz={X.nnz} "
        f"({info['nnz_per_row_mean']:.1f}/row, density {info['density']:.2e}), "
        f"{info['features_used']} features used, "
        f"positives {info['positive_share']:.3f}, "
        f"Bayes accuracy {info['bayes_accuracy']:.3f}, "
        f"{info['true_nnz']} true non-zeros; generated in {timing.median:.2f} s"
    )
    one_pass = time_one_pass(X)
    info["one_pass_time"] = one_pass
    log(f"one pass over the data (X @ w + X.T @ r): {one_pass * 1e3:.2f} ms")
    return X, y, info


def add_common_arguments(parser, saga_max_iter=100):
    """Options every benchmark script takes."""
    parser.add_argument("--repeat", type=int, default=3, help="fits per row (median)")
    parser.add_argument("--penalties", default="l2,l1,en", help="subset of l2,l1,en")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--C-l2", type=float, default=1.0, help="C of the l2 rows")
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="tol of every solver (chinchilla, lbfgs, newton-cg, skglm: scaled "
        "KKT / gradient; liblinear, saga: their own criteria)",
    )
    parser.add_argument("--max-iter", type=int, default=10000, help="sklearn solvers")
    parser.add_argument(
        "--saga-max-iter", type=int, default=saga_max_iter, help="epochs cap of saga"
    )
    parser.add_argument("--chinchilla-max-iter", type=int, default=1000)
    parser.add_argument(
        "--solvers", default="", help="only rows whose name contains one of these"
    )


def finish_arguments(parser, args):
    """Split --penalties and check them."""
    args.penalties = [p.strip() for p in args.penalties.split(",") if p.strip()]
    unknown = set(args.penalties) - set(PENALTIES)
    if unknown:
        parser.error(f"unknown penalties {sorted(unknown)}; use l2, l1, en")
    return args


def build_rows(args, sklearn_solvers, extra_rows=None):
    """The rows of a benchmark, in table order, kept by ``args.solvers``.

    For each penalty: chinchilla (gate on, off), the scikit-learn solvers of
    ``sklearn_solvers[penalty]`` (saga capped at ``args.saga_max_iter``
    epochs), then ``extra_rows(penalty)`` if given.
    """
    rows = []
    for penalty in args.penalties:
        rows += chinchilla_rows(penalty, args.tol, args.chinchilla_max_iter)
        for solver in sklearn_solvers[penalty]:
            max_iter = args.saga_max_iter if solver == "saga" else args.max_iter
            rows.append(sklearn_row(solver, penalty, args.tol, max_iter))
        if extra_rows is not None:
            rows += extra_rows(penalty)
    return select_rows(rows, args.solvers)


def select_rows(rows, solvers):
    """Keep rows whose solver name contains one of the comma-separated `solvers`."""
    if not solvers:
        return rows
    wanted = [s.strip() for s in solvers.split(",")]
    return [r for r in rows if any(w in r.solver for w in wanted)]


NOTES = (
    "notes: passes = fit time / one pass over the data (X @ w + X.T @ r); rel. gap = "
    "(objective - best objective of the run) / |best|, objective as in DESIGN.md; "
    "KKT viol. scaled by 1/(C n_samples), intercept included; t/t_chin = time / "
    "time of chinchilla gate=on; liblinear penalises the intercept, so its objective "
    "and KKT (intercept gradient) under our formula differ."
)


def _liblinear_share(X, y):
    def share(C):
        est = LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", tol=1e-4)
        return np.count_nonzero(est.fit(X, y).coef_) / X.shape[1]

    return share


def _elastic_net_share(X, y, l1_ratio):
    """Support share at C for elastic net: skglm, else chinchilla, else saga.

    The scaled KKT tolerance must be well below the scaled L1 threshold
    ``l1_ratio / (C * n_samples)``, or the solver stops before the support settles
    (at tol=1e-4 skglm reports ~1% non-zeros where the optimum has ~30%); so
    skglm and chinchilla get ``tol = 0.01 * l1_ratio / (C * n_samples)``.
    """
    skglm, _ = skglm_status()
    cls, _ = chinchilla_status()
    n_samples = X.shape[0]

    def tol_at(C):
        return 0.01 * l1_ratio / (C * n_samples)

    if skglm is not None:
        from skglm import GeneralizedLinearEstimator
        from skglm.datafits import Logistic
        from skglm.penalties import L1_plus_L2
        from skglm.solvers import ProxNewton

        def make(C):
            penalty = L1_plus_L2(1.0 / (C * n_samples), l1_ratio)
            solver = ProxNewton(tol=tol_at(C), max_iter=50)
            return GeneralizedLinearEstimator(Logistic(), penalty, solver)

        name = "skglm ProxNewton, tol=0.01*l1_ratio/(C n)"
    elif cls is not None:

        def make(C):
            return cls(C=C, l1_ratio=l1_ratio, tol=tol_at(C), max_iter=1000)

        name = "chinchilla, tol=0.01*l1_ratio/(C n)"
    else:

        def make(C):
            return LogisticRegression(
                C=C, l1_ratio=l1_ratio, solver="saga", tol=1e-4, max_iter=100
            )

        name = "sklearn saga tol=1e-4 max_iter=100"

    def share(C):
        return np.count_nonzero(make(C).fit(X, y).coef_) / X.shape[1]

    return share, name


def pick_Cs(X, y, penalties, C_l2, target=(0.01, 0.05), log=print):
    """C per penalty: given for l2; searched for l1 / en so that 1-5% weights != 0."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    Cs, searches = {"l2": C_l2}, {}
    for penalty in penalties:
        if penalty == "l2":
            continue
        l1_ratio = PENALTIES[penalty]
        if penalty == "l1":
            share, name = _liblinear_share(X, y), "sklearn liblinear tol=1e-4"
        else:
            share, name = _elastic_net_share(X, y, l1_ratio)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            C, path = choose_C(X, y, share, l1_ratio, target)
        path_text = ", ".join(f"{c:.4g}:{s:.2%}" for c, s in path)
        log(
            f"C for {penalty} (l1_ratio={l1_ratio}): {C:.6g}   [searched with {name} "
            f"in {time.perf_counter() - start:.1f} s; C:share of non-zero weights = "
            f"{path_text}]"
        )
        Cs[penalty] = C
        searches[penalty] = {"searched_with": name, "path": path}
    return Cs, searches


def print_tables(results, penalties, log=print):
    """One results table per penalty, then the gate summary of chinchilla rows."""
    for penalty in penalties:
        rows = [r for r in results if r["penalty"] == penalty]
        if not rows:
            continue
        C = rows[0]["C"]
        log(f"\n== penalty {penalty} (l1_ratio={PENALTIES[penalty]}, C={C:.6g})")
        log(format_table(rows))
    gated = [r for r in results if "gate" in r]
    if gated:
        log("\n== gate_report_ summary (chinchilla rows)")
        log(
            f"{'solver':<26}  {'penalty':<7}  {'n_iter':>6}  {'final ws':>9}  "
            f"{'screened':>9}  {'kernel':>6}  {'skipped_share':>13}"
        )
        for r in gated:
            g = r["gate"]
            skipped = g["skipped_share"]
            log(
                f"{r['solver']:<26}  {r['penalty']:<7}  {_s(g['n_iter']):>6}  "
                f"{_s(g['working_set_size']):>9}  {_s(g['n_screened']):>9}  "
                f"{_s(g['kernel']):>6}  "
                f"{'-' if skipped is None else f'{skipped:.3f}':>13}"
            )
    failed = [r for r in results if "traceback" in r]
    for r in failed:
        log(f"\n== traceback of {r['solver']} ({r['penalty']})\n{r['traceback']}")


def _s(value):
    return "-" if value is None else str(value)


def versions():
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
    }
    skglm, _ = skglm_status()
    if skglm is not None:
        import numba

        out["skglm"] = getattr(skglm, "__version__", "?")
        out["numba"] = numba.__version__
    cls, _ = chinchilla_status()
    if cls is not None:
        import chinchilla_sklearn

        out["chinchilla_sklearn"] = getattr(chinchilla_sklearn, "__version__", "?")
    return out


def save_json(name, payload, log=print):
    """Write results to benchmarks/results/<name>-<timestamp>.json (gitignored)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=1, default=_to_json))
    log(f"\nresults written to {path}")
    return path


def _to_json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def run_benchmark(name, args, rows, log=print):
    """Generate the data, pick C, fit ``rows``, print the tables and save JSON."""
    X, y, info = generate(args.n_samples, args.n_features, args.seed, log=log)
    Cs, searches = pick_Cs(X, y, args.penalties, args.C_l2, log=log)
    log(f"\nfitting (median of {args.repeat} fits per row):")
    results = run_rows(rows, X, y, Cs, args.repeat, info["one_pass_time"])
    print_tables(results, args.penalties, log=log)
    log("\n" + NOTES)
    payload = {
        "benchmark": name.split("-")[0],
        "args": vars(args),
        "versions": versions(),
        "data": info,
        "C": Cs,
        "C_search": searches,
        "results": results,
    }
    save_json(name, payload, log=log)
    return results
