"""The benchmark rows: which estimators to fit, how to fit them, how to score them.

A row is one (solver, penalty) pair. `run_rows` fits each row `repeat` times on the
same data, keeps the median time, and scores the last fit with the independent
objective and KKT check of `_measure`. Rows whose library is missing are kept in
the table as "not available" rather than dropped.
"""

import traceback
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from _measure import kkt_violation, median_time, objective

PENALTIES = {"l2": 0.0, "l1": 1.0, "en": 0.5}  # penalty name -> l1_ratio


@dataclass(frozen=True)
class Row:
    """One benchmark row: `make(C, l1_ratio, n_samples)` builds a fresh estimator."""

    solver: str
    penalty: str
    make: Callable = None
    note: str = ""
    unavailable: str = ""  # why the row cannot run ("" = it can)
    chinchilla: bool = False
    gate: bool = False


# ---------------------------------------------------------------- availability


def chinchilla_status():
    """(ChinchillaClassifier or None, reason it is not available)."""
    try:
        from chinchilla_sklearn import ChinchillaClassifier

        ChinchillaClassifier().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    except Exception as exc:  # any failure: report, keep benchmarking the rest
        return None, f"not available ({type(exc).__name__}: {exc})"[:120]
    return ChinchillaClassifier, ""


def skglm_status():
    """(skglm module or None, reason it is not available)."""
    try:
        import skglm
        from skglm import solvers  # noqa: F401  (numba compiles on first fit)
    except Exception as exc:
        return None, f"not available ({type(exc).__name__}: {exc})"[:120]
    return skglm, ""


# ---------------------------------------------------------------- row builders


def chinchilla_rows(penalty, tol, max_iter):
    """ChinchillaClassifier with the gate on and off."""
    cls, reason = chinchilla_status()
    rows = []
    for gate in (True, False):
        name = f"chinchilla gate={'on' if gate else 'off'}"

        def make(C, l1_ratio, n_samples, gate=gate):
            return cls(
                C=C,
                l1_ratio=l1_ratio,
                gate=gate,
                tol=tol,
                max_iter=max_iter,
                random_state=0,
            )

        rows.append(
            Row(name, penalty, make, unavailable=reason, chinchilla=True, gate=gate)
        )
    return rows


def sklearn_row(solver, penalty, tol, max_iter):
    """LogisticRegression with `solver`, penalty set through l1_ratio."""

    def make(C, l1_ratio, n_samples):
        return LogisticRegression(
            C=C,
            l1_ratio=l1_ratio,
            solver=solver,
            tol=tol,
            max_iter=max_iter,
            random_state=0,  # saga and liblinear shuffle
        )

    note = "penalises intercept" if solver == "liblinear" else ""
    return Row(f"sklearn {solver}", penalty, make, note=note)


def skglm_row(penalty, tol, max_iter, solver="ProxNewton"):
    """skglm on the same problem: its datafit is a mean, so alpha = 1 / (C n)."""
    skglm, reason = skglm_status()
    name = f"skglm {solver}"
    if skglm is None:
        return Row(name, penalty, unavailable=reason)
    from skglm import GeneralizedLinearEstimator, SparseLogisticRegression
    from skglm.datafits import Logistic
    from skglm.penalties import L1_plus_L2
    from skglm.solvers import AndersonCD, ProxNewton

    def make(C, l1_ratio, n_samples):
        alpha = 1.0 / (C * n_samples)
        if penalty == "l1" and solver == "ProxNewton":
            return SparseLogisticRegression(
                alpha=alpha, l1_ratio=1.0, tol=tol, max_iter=max_iter
            )
        solver_cls = ProxNewton if solver == "ProxNewton" else AndersonCD
        return GeneralizedLinearEstimator(
            datafit=Logistic(),
            penalty=L1_plus_L2(alpha, l1_ratio),
            solver=solver_cls(tol=tol, max_iter=max_iter, fit_intercept=True),
        )

    # skglm maps the two labels to {-1, 1} itself (its Logistic datafit needs it).
    return Row(name, penalty, make)


# ---------------------------------------------------------------- running


def _fit_once(row, C, l1_ratio, X, y):
    return row.make(C, l1_ratio, X.shape[0]).fit(X, y)


def _warm_up(row, C, l1_ratio, X, y, n_rows=300):
    """One small fit first, so JIT compilation (numba) is not timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _fit_once(row, C, l1_ratio, X[:n_rows], y[:n_rows])
        except Exception:
            pass  # the timed fit reports the error


def gate_summary(est):
    """Iterations, final working set, screened, skipped share of a chinchilla fit."""
    report = getattr(est, "gate_report_", None) or {}

    def last(key):
        values = report.get(key) or [None]
        return values[-1]

    return {
        "n_iter": int(np.max(est.n_iter_)) if hasattr(est, "n_iter_") else None,
        "working_set_size": last("working_set_size"),
        "n_screened": last("n_screened"),
        "kernel": last("kernel"),
        "skipped_share": report.get("skipped_share"),
        "loss_curve_len": len(getattr(est, "loss_curve_", []) or []),
    }


def run_row(row, X, y, C, l1_ratio, repeat, one_pass):
    """Fit one row `repeat` times; a result dict for the table and the JSON."""
    result = {"solver": row.solver, "penalty": row.penalty, "C": C, "note": row.note}
    if row.unavailable:
        result["note"] = row.unavailable
        return result
    _warm_up(row, C, l1_ratio, X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            timing = median_time(lambda: _fit_once(row, C, l1_ratio, X, y), repeat)
        except Exception as exc:
            result["note"] = f"FAILED: {type(exc).__name__}: {exc}"[:160]
            result["traceback"] = traceback.format_exc()
            return result
    est = timing.result
    coef, intercept = np.asarray(est.coef_), np.asarray(est.intercept_)
    not_converged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    notes = [row.note] if row.note else []
    if not_converged:
        notes.insert(0, "NOT CONVERGED")
        result["warning"] = str(not_converged[-1].message)[:300]
    result.update(
        time=timing.median,
        times=timing.times,
        passes=timing.median / one_pass,
        n_iter=int(np.max(est.n_iter_)),
        objective=objective(coef, intercept, X, y, C, l1_ratio),
        kkt=kkt_violation(coef, intercept, X, y, C, l1_ratio),
        nnz=int(np.count_nonzero(coef)),
        converged=not not_converged,
        note="; ".join(notes),
    )
    if row.chinchilla:
        result["gate"] = gate_summary(est)
    return result


def add_relative_columns(results):
    """Relative objective gap to the best of the run, time ratio to chinchilla."""
    for penalty in {r["penalty"] for r in results}:
        same = [r for r in results if r["penalty"] == penalty and "objective" in r]
        if not same:
            continue
        best = min(r["objective"] for r in same)
        chin = [r for r in same if r["solver"] == "chinchilla gate=on"]
        for r in same:
            r["rel_gap"] = (r["objective"] - best) / abs(best)
            if chin:
                r["vs_chinchilla"] = r["time"] / chin[0]["time"]
    return results


def run_rows(rows, X, y, C_of_penalty, repeat, one_pass, log=print):
    """Run all rows, printing a progress line per row; results with gaps added."""
    results = []
    for row in rows:
        C = C_of_penalty[row.penalty]
        result = run_row(row, X, y, C, PENALTIES[row.penalty], repeat, one_pass)
        status = f"{result['time']:.3f} s" if "time" in result else result["note"]
        log(f"  {row.penalty:<3} {row.solver:<26} {status}", flush=True)
        results.append(result)
    return add_relative_columns(results)


# ---------------------------------------------------------------- choosing C


def c_min(X, y, l1_ratio):
    """Smallest C with an all-zero solution (weights; the intercept is free)."""
    y01 = (np.asarray(y) == np.max(y)).astype(np.float64)
    return l1_ratio / np.max(np.abs(X.T @ (y01 - y01.mean())))


def choose_C(X, y, fit_nnz_share, l1_ratio, target=(0.01, 0.05), max_steps=14):
    """Walk C up from `c_min` by factors of 2 until the support share is in target.

    `fit_nnz_share(C)` fits at C and returns the share of non-zero weights. Returns
    the first C in the target range that is closest (in log) to its geometric
    middle, and the path [(C, share), ...] tried.
    """
    low, high = target
    middle = np.sqrt(low * high)
    C, path = c_min(X, y, l1_ratio), []
    for _ in range(max_steps):
        C *= 2.0
        share = fit_nnz_share(C)
        path.append((C, share))
        if share > high:
            break
    inside = [(C, s) for C, s in path if low <= s <= high]
    candidates = inside or path
    best = min(candidates, key=lambda cs: abs(np.log(max(cs[1], 1e-12) / middle)))
    return best[0], path
