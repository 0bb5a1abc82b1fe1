"""Time to a target relative objective gap: each solver on a ladder of tolerances.

Solvers stop on different criteria (chinchilla and skglm on a scaled KKT
violation, liblinear on its own relative one, saga on the change of the
weights), so the same ``tol`` buys different accuracies. The fair measure is
the time to reach the same accuracy: the relative objective gap
``(objective - best) / |best|``, with ``best`` the lowest objective any fit of
the run reached (a tight reference fit first, so ``best`` is the optimum to
far below the target).

For each row `run_ladder` fits at ``tols[0]``, ``tols[1]``, ... (loose to
tight), one fit each, until a fit reaches the target gap, or a fit takes
longer than ``time_limit`` seconds, or stops at its iteration cap (a
``ConvergenceWarning``: tighter tolerances would stop at the same cap), or the
ladder ends. `retime` then fits the
rows that reached it again at their rung, round-robin (the rows take turns,
so a busy machine slows them alike), and reports the median time.
"""

import statistics
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression

from _measure import kkt_violation, objective, timed_fit
from _solvers import chinchilla_status, skglm_status

DEFAULT_TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


@dataclass
class LadderRow:
    """A solver whose ``make(C, l1_ratio, n_samples, tol)`` builds an estimator."""

    solver: str
    penalty: str
    make: Callable = None
    peer: bool = True  # counts for "fastest peer" (not chinchilla)
    note: str = ""
    unavailable: str = ""
    rungs: list = field(default_factory=list)  # one dict per fit of the ladder
    reached: dict = None  # the first rung at the target gap
    times: list = field(default_factory=list)  # fits at that rung (retime)


# ---------------------------------------------------------------- rows


def chinchilla_ladder_rows(penalty, max_iter):
    cls, reason = chinchilla_status()
    rows = []
    for gate in (True, False):
        def make(C, l1_ratio, n_samples, tol, gate=gate):
            return cls(C=C, l1_ratio=l1_ratio, gate=gate, tol=tol,
                       max_iter=max_iter, random_state=0)

        rows.append(LadderRow(f"chinchilla gate={'on' if gate else 'off'}",
                              penalty, make, peer=False, unavailable=reason))
    return rows


def sklearn_ladder_row(solver, penalty, max_iter, multiclass,
                       intercept_scaling=1.0):
    name = f"sklearn {solver}"
    if solver == "liblinear":
        if multiclass:
            return LadderRow(name, penalty, unavailable="n/a (no multinomial)")
        if penalty == "en":
            return LadderRow(name, penalty, unavailable="n/a (no elastic net)")
        name += f" is={intercept_scaling:g}"

    def make(C, l1_ratio, n_samples, tol):
        return LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver=solver, tol=tol, max_iter=max_iter,
            random_state=0, intercept_scaling=intercept_scaling,
        )

    note = ""
    if solver == "liblinear":
        note = f"penalises intercept (/{intercept_scaling:g})"
    elif solver == "saga":
        note = f"max_iter={max_iter}"
    return LadderRow(name, penalty, make, note=note)


def skglm_ladder_row(penalty, max_iter, multiclass, solver="ProxNewton"):
    """skglm (alpha = 1 / (C n), its datafit is a mean), as in _solvers.skglm_row."""
    name = f"skglm {solver}"
    skglm, reason = skglm_status()
    if multiclass:
        return LadderRow(name, penalty, unavailable="n/a (no multinomial datafit)")
    if skglm is None:
        return LadderRow(name, penalty, unavailable=reason)
    from skglm import GeneralizedLinearEstimator, SparseLogisticRegression
    from skglm.datafits import Logistic
    from skglm.penalties import L1_plus_L2
    from skglm.solvers import AndersonCD, ProxNewton

    def make(C, l1_ratio, n_samples, tol):
        alpha = 1.0 / (C * n_samples)
        if penalty == "l1" and solver == "ProxNewton":
            return SparseLogisticRegression(alpha=alpha, l1_ratio=1.0, tol=tol,
                                            max_iter=max_iter)
        solver_cls = ProxNewton if solver == "ProxNewton" else AndersonCD
        return GeneralizedLinearEstimator(
            datafit=Logistic(), penalty=L1_plus_L2(alpha, l1_ratio),
            solver=solver_cls(tol=tol, max_iter=max_iter, fit_intercept=True),
        )

    return LadderRow(name, penalty, make, note=f"max_iter={max_iter}")


# ---------------------------------------------------------------- fitting


def fit_and_score(row, C, l1_ratio, X, y, tol):
    """Fit once at ``tol``; a dict with the time, objective, KKT violation, ..."""
    est = row.make(C, l1_ratio, X.shape[0], tol)
    elapsed, converged = timed_fit(est, X, y)
    coef, intercept = np.asarray(est.coef_), np.asarray(est.intercept_)
    out = {
        "tol": tol,
        "time": elapsed,
        "objective": objective(coef, intercept, X, y, C, l1_ratio),
        "kkt": kkt_violation(coef, intercept, X, y, C, l1_ratio),
        "nnz": int(np.count_nonzero(coef)),
        "n_iter": int(np.max(getattr(est, "n_iter_", -1))),
        "converged": converged,
    }
    report = getattr(est, "gate_report_", None)
    if report:
        out["gate"] = {k: report[k] for k in ("working_set_size", "n_screened")}
        out["gate"]["skipped_share"] = report["skipped_share"]
    return out, est


def warm_up(row, C, l1_ratio, X, y, n_rows=300):
    """One small fit, so JIT compilation (numba: skglm) is not timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            row.make(C, l1_ratio, n_rows, 1e-4).fit(X[:n_rows], y[:n_rows])
        except Exception:
            pass


def run_ladder(row, C, l1_ratio, X, y, tols, target, best, time_limit, log=print):
    """Fit ``row`` down the ladder of ``tols`` until its gap to ``best()`` <= target.

    ``best`` is a callable (the best objective so far, updated by every fit
    through ``best.update``).
    """
    if row.unavailable:
        return row
    warm_up(row, C, l1_ratio, X, y)
    for tol in tols:
        try:
            rung, _ = fit_and_score(row, C, l1_ratio, X, y, tol)
        except Exception as exc:
            row.note = f"FAILED at tol={tol:g}: {type(exc).__name__}: {exc}"[:160]
            break
        best.update(rung["objective"])
        rung["gap"] = (rung["objective"] - best()) / abs(best())
        row.rungs.append(rung)
        log(f"    {row.solver:<28} tol={tol:<7.0e} {rung['time']:8.3f} s  "
            f"gap {rung['gap']:.1e}  nnz {rung['nnz']}", flush=True)
        if rung["gap"] <= target:
            row.reached = rung
            row.times = [rung["time"]]
            break
        if rung["time"] > time_limit or not rung["converged"]:
            break  # too slow, or stopped by its iteration cap: tighter tols
            # would stop at the same cap
    return row


class Best:
    """The lowest objective seen in a run (callable: returns it)."""

    def __init__(self, value=np.inf):
        self.value = value

    def __call__(self):
        return self.value

    def update(self, value):
        self.value = min(self.value, value)


def retime(rows, C, l1_ratio, X, y, repeat, log=print, time_limit=np.inf):
    """Fit each row that reached the target ``repeat - 1`` more times, in turns.

    Rows whose fit at that rung took longer than ``time_limit`` keep their one
    time (noted).
    """
    ready = [r for r in rows if r.reached is not None
             and r.reached["time"] <= time_limit]
    for row in rows:
        if row.reached is not None and row not in ready:
            row.note = (row.note + "; " if row.note else "") + "one fit (slow)"
    for turn in range(max(repeat - 1, 0)):
        for row in ready:
            rung, _ = fit_and_score(row, C, l1_ratio, X, y, row.reached["tol"])
            row.times.append(rung["time"])
        log(f"    retimed, turn {turn + 1} of {repeat - 1}", flush=True)


def finish(rows, best, target):
    """Recompute the gaps against the final best; the median times."""
    for row in rows:
        for rung in row.rungs:
            rung["gap"] = (rung["objective"] - best()) / abs(best())
        if row.reached is not None:
            row.reached["median_time"] = statistics.median(row.times)
            if row.reached["gap"] > target:
                row.note = (row.note + "; " if row.note else "") + (
                    "gap above target against the final best")
    return rows
