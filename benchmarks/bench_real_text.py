"""Time to a 1e-6 relative objective gap, on real documents and on generated data.

Workloads (``--workload``):

- ``real-binary``: docstrings of the installed third-party packages (see
  _real_text.py), numpy/scipy against the rest; about 28,600 x 271,000
- ``real-multiclass``: the same documents, the 20 largest packages, at most 400
  documents each, labelled by package; about 7,400 x 71,000
- ``small`` / ``large``: bench_gate.py's generated binary workloads
  (20,000 x 50,000 and 100,000 x 500,000, _data.make_text_like)
- ``multiclass``: bench_multiclass.py's generated 20-class workload
  (4,500 x 130,000, _data.make_multiclass_text_like)

Rows, for L1 and elastic net (l1_ratio=0.5): chinchilla gate on and off, skglm
(binary), liblinear (binary L1), saga (capped); for L2 (``--penalties l2``,
l1_ratio=0, C from ``--C-l2``): chinchilla gate on and off, newton-cg and lbfgs
(scikit-learn's LogisticRegression). Each row runs down a ladder of
tolerances until its objective is within ``--target`` (1e-6) of the best
objective of the run, relative (_ladder.py), then the rung that got there is
timed again, the rows taking turns, and the median is reported, with passes
over the data (time / one ``X @ w`` plus ``X.T @ r``) and the ratios to the
fastest peer (the non-chinchilla rows) and gate on / gate off.

C is chosen like bench_gate.py does (1-5% of the weights non-zero; multiclass:
searched with chinchilla) unless given with ``--C-l1`` / ``--C-en`` (issue 13's
setting: ``--C-l1 10``); L2 uses ``--C-l2`` (1, bench_gate.py's).

``--record`` writes the rows to the committed ``benchmarks/results.json`` as
"solver" rows (read by the docs' Benchmarks page and the README; the schema is in
_results.py): the median time of the rung that reached the gap, or, for a row that
did not reach it, its ladder's total time with ``reached`` false and the best gap
in the note.

    python benchmarks/bench_real_text.py --workload real-binary --penalties l1
    python benchmarks/bench_real_text.py --workload real-binary --C-l1 10
    python benchmarks/bench_real_text.py --workload real-multiclass --C-l1 10
    python benchmarks/bench_real_text.py --workload large --penalties l1,en,l2 --record
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import _real_text  # noqa: E402
from _data import make_multiclass_text_like  # noqa: E402
from _ladder import (  # noqa: E402
    DEFAULT_TOLS,
    Best,
    chinchilla_ladder_rows,
    finish,
    fit_and_score,
    retime,
    run_ladder,
    skglm_ladder_row,
    sklearn_ladder_row,
)
from _measure import median_time, time_one_pass  # noqa: E402
from _results import GATE_OFF, OURS, new_run, record, seconds  # noqa: E402
from _solvers import PENALTIES, chinchilla_status  # noqa: E402
from _workflow import (  # noqa: E402
    generate,
    pick_Cs,
    save_json,
    select_rows,
    versions,
)

GENERATED = {
    "small": (20_000, 50_000, None),
    "large": (100_000, 500_000, None),
    "multiclass": (4_500, 130_000, 20),
}
WORKLOADS = (*_real_text.TASKS, *GENERATED)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS, default="real-binary")
    parser.add_argument("--penalties", default="l1,en", help="subset of l1,en,l2")
    parser.add_argument("--C-l1", type=float, default=None, help="C of the l1 rows")
    parser.add_argument("--C-en", type=float, default=None, help="C of the en rows")
    parser.add_argument("--C-l2", type=float, default=1.0, help="C of the l2 rows")
    parser.add_argument("--target", type=float, default=1e-6,
                        help="relative objective gap to reach")
    parser.add_argument("--tols", default=",".join(f"{t:g}" for t in DEFAULT_TOLS),
                        help="the ladder of tolerances, loose to tight")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fits at the rung that reached the target (median)")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="a row stops its ladder after a fit this long [s]")
    parser.add_argument("--retime-limit", type=float, default=200.0,
                        help="rows whose fit took longer are not fitted again")
    parser.add_argument("--saga-max-iter", type=int, default=300)
    parser.add_argument("--sklearn-max-iter", type=int, default=10_000,
                        help="liblinear, newton-cg and lbfgs")
    parser.add_argument("--skglm-max-iter", type=int, default=50)
    parser.add_argument("--skglm-solver", choices=["ProxNewton", "AndersonCD"],
                        default="ProxNewton")
    parser.add_argument(
        "--liblinear-intercept-scaling", default="1",
        help="comma-separated: one liblinear row each (its intercept's penalty is "
        "l1 |b| / scaling)")
    parser.add_argument("--chinchilla-max-iter", type=int, default=1000)
    parser.add_argument("--reference-tol", type=float, default=1e-10,
                        help="tol of the chinchilla fit that gives the reference")
    parser.add_argument("--seed", type=int, default=0, help="generated workloads")
    parser.add_argument("--solvers", default="",
                        help="only rows whose name contains one of these")
    parser.add_argument("--record", action="store_true",
                        help="write the rows to benchmarks/results.json (or to "
                        "$CHINCHILLA_BENCH_RESULTS)")
    args = parser.parse_args(argv)
    args.penalties = [p.strip() for p in args.penalties.split(",") if p.strip()]
    if set(args.penalties) - set(PENALTIES):
        parser.error("--penalties: a subset of l1,en,l2")
    if args.record and args.target != 1e-6:
        parser.error("--record: the results file's solver rows are times to a "
                     "1e-6 gap (--target 1e-6)")
    args.tols = [float(t) for t in args.tols.split(",")]
    return args


# ---------------------------------------------------------------- data


def load_workload(args, log=print):
    """(X, y, info) of ``args.workload``, with the time of one pass."""
    if args.workload in _real_text.TASKS:
        X, y, info = _real_text.load(args.workload, log)
        log(f"data: {args.workload}, {X.shape[0]} x {X.shape[1]} CSR, nnz={X.nnz} "
            f"({info['nnz_per_row_mean']:.1f}/row), {len(info['classes'])} "
            f"classes {info['class_counts']}; cache {info['cache']} "
            f"(built now: {info['built_now']}, collect {info['collect_time']:.0f} s, "
            f"vectorize {info['vectorize_time']:.1f} s)")
        log("packages: " + ", ".join(f"{d} {v}" for d, v in
                                     info["package_versions"].items()))
        info["one_pass_time"] = _one_pass(X, len(info["classes"]))
    else:
        n_samples, n_features, n_classes = GENERATED[args.workload]
        if n_classes is None:
            X, y, info = generate(n_samples, n_features, args.seed, log=log)
            return X, y, info
        start = time.perf_counter()
        X, y = make_multiclass_text_like(n_samples, n_features, n_classes,
                                         random_state=args.seed)
        info = {"n_samples": n_samples, "n_features": n_features,
                "n_classes": n_classes, "nnz": int(X.nnz),
                "generation_time": time.perf_counter() - start,
                "one_pass_time": _one_pass(X, n_classes)}
        log(f"data: {n_samples} x {n_features}, {n_classes} classes, nnz={X.nnz}")
    log(f"one pass over the data (X @ W + X.T @ R, one column per class when "
        f"multiclass): {info['one_pass_time'] * 1e3:.2f} ms")
    return X, y, info


def _one_pass(X, n_classes):
    """Time of one pass: ``X @ W`` plus ``X.T @ R`` with the fit's output columns.

    Binary: `_measure.time_one_pass` (vectors). Multinomial fits multiply X with
    one column per class, so their pass is timed with ``n_classes`` columns.
    """
    if n_classes <= 2:
        return time_one_pass(X)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((X.shape[1], n_classes))
    R = rng.standard_normal((X.shape[0], n_classes))

    def one_pass():
        X @ W
        X.T @ R

    one_pass()
    return median_time(one_pass, 7).median


# ---------------------------------------------------------------- choice of C


def _c_min_multiclass(X, y, l1_ratio):
    """Smallest C with all weights zero (multinomial, intercepts free)."""
    classes = np.unique(y)
    Y = (np.asarray(y)[:, None] == classes).astype(np.float64)
    return l1_ratio / np.abs(X.T @ (Y - Y.mean(axis=0))).max()


def _choose_C_from(c_min, fit_nnz_share, target=(0.01, 0.05), max_steps=14):
    """`_solvers.choose_C` from a given ``c_min`` (the multinomial one)."""
    low, high = target
    C, path = c_min, []
    for _ in range(max_steps):
        C *= 2.0
        path.append((C, fit_nnz_share(C)))
        if path[-1][1] > high:
            break
    inside = [(c, s) for c, s in path if low <= s <= high] or path
    middle = np.log(np.sqrt(low * high))
    return min(inside, key=lambda cs: abs(np.log(max(cs[1], 1e-12)) - middle))[0], path


def pick_Cs_multiclass(X, y, penalties, log=print):
    """C per penalty so that 1-5% of the weights are non-zero, with chinchilla."""
    cls, _ = chinchilla_status()
    Cs, searches = {}, {}
    for penalty in penalties:
        l1_ratio = PENALTIES[penalty]

        def share(C, l1_ratio=l1_ratio):
            tol = 0.01 * l1_ratio / (C * X.shape[0])
            est = cls(C=C, l1_ratio=l1_ratio, tol=tol, max_iter=1000)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return np.count_nonzero(est.fit(X, y).coef_) / est.coef_.size

        start = time.perf_counter()
        c_min = _c_min_multiclass(X, y, l1_ratio)
        C, path = _choose_C_from(c_min, share)
        log(f"C for {penalty}: {C:.6g}   [searched with chinchilla in "
            f"{time.perf_counter() - start:.1f} s; C:share = "
            + ", ".join(f"{c:.4g}:{s:.2%}" for c, s in path) + "]")
        Cs[penalty], searches[penalty] = C, {"c_min": c_min, "path": path}
    return Cs, searches


def pick_C(args, X, y, multiclass, log=print):
    given = {"l1": args.C_l1, "en": args.C_en, "l2": args.C_l2}
    search = [p for p in args.penalties if given[p] is None]
    Cs, searches = {p: given[p] for p in args.penalties if given[p] is not None}, {}
    if search:
        found, searches = (pick_Cs_multiclass(X, y, search, log) if multiclass
                           else pick_Cs(X, y, search, 1.0, log=log))
        Cs.update({p: found[p] for p in search})
    return Cs, searches


# ---------------------------------------------------------------- run


def build_rows(args, penalty, multiclass):
    rows = chinchilla_ladder_rows(penalty, args.chinchilla_max_iter)
    if penalty == "l2":  # bench_gate.py's L2 peers
        rows += [sklearn_ladder_row(solver, penalty, args.sklearn_max_iter,
                                    multiclass) for solver in ("newton-cg", "lbfgs")]
    else:
        rows.append(skglm_ladder_row(penalty, args.skglm_max_iter, multiclass,
                                     args.skglm_solver))
        for scaling in args.liblinear_intercept_scaling.split(","):
            rows.append(sklearn_ladder_row("liblinear", penalty,
                                           args.sklearn_max_iter, multiclass,
                                           float(scaling)))
        rows.append(sklearn_ladder_row("saga", penalty, args.saga_max_iter,
                                       multiclass))
    return select_rows(rows, args.solvers)


def run_penalty(args, penalty, C, X, y, multiclass, one_pass, log=print):
    l1_ratio = PENALTIES[penalty]
    log(f"\n== {penalty} (l1_ratio={l1_ratio}), C={C:.6g}")
    best = Best()
    reference = chinchilla_ladder_rows(penalty, 10 * args.chinchilla_max_iter)[0]
    ref, est = fit_and_score(reference, C, l1_ratio, X, y, args.reference_tol)
    best.update(ref["objective"])
    log(f"  reference: chinchilla tol={args.reference_tol:g}: objective "
        f"{ref['objective']:.12e}, KKT {ref['kkt']:.1e}, nnz {ref['nnz']} "
        f"({ref['nnz'] / est.coef_.size:.2%}), {ref['time']:.2f} s")
    rows = build_rows(args, penalty, multiclass)
    gate_on = None
    for row in rows:
        tols = args.tols
        if row.solver == GATE_OFF and gate_on is not None:
            # gate on and off stop on the same rule: gate off starts at the
            # rung where gate on reached the target, so its slow loose rungs
            # do not use up the time limit
            tols = [t for t in tols if t <= gate_on["tol"]]
        run_ladder(row, C, l1_ratio, X, y, tols, args.target, best,
                   args.time_limit, log=log)
        if row.solver == OURS["solver"]:
            gate_on = row.reached
    retime(rows, C, l1_ratio, X, y, args.repeat, log=log,
           time_limit=args.retime_limit)
    finish(rows, best, args.target)
    table = summarise(rows, one_pass)
    log(format_summary(table, args.target))
    return {"C": C, "l1_ratio": l1_ratio, "reference": ref, "best": best(),
            "rows": [row_payload(r) for r in rows], "table": table}


def summarise(rows, one_pass):
    out = []
    for row in rows:
        line = {"solver": row.solver, "note": row.note or row.unavailable,
                "peer": row.peer}
        if row.reached is not None:
            r = row.reached
            line.update(tol=r["tol"], time=r["median_time"],
                        passes=r["median_time"] / one_pass, gap=r["gap"],
                        nnz=r["nnz"], n_iter=r["n_iter"], times=row.times)
            if "gate" in r:
                line.update(ws=r["gate"]["working_set_size"][-1],
                            screened=r["gate"]["n_screened"][-1])
        elif row.rungs:
            last = row.rungs[-1]
            line.update(tol=last["tol"], gap=min(g["gap"] for g in row.rungs),
                        nnz=last["nnz"], n_iter=last["n_iter"],
                        not_reached=sum(g["time"] for g in row.rungs))
        out.append(line)
    peers = [r["time"] for r in out if r["peer"] and "time" in r]
    fastest = min(peers) if peers else None
    on = [r for r in out if r["solver"] == OURS["solver"] and "time" in r]
    for r in out:
        if "time" in r and fastest:
            r["vs_peer"] = r["time"] / fastest
        if "time" in r and on:
            r["vs_chin"] = r["time"] / on[0]["time"]
    return out


def format_summary(table, target):
    head = (f"{'solver':<30} {'tol':>7} {'time [s]':>9} {'passes':>7} "
            f"{'gap':>8} {'nnz':>7} {'n_iter':>6} {'t/peer':>7} {'t/t_chin':>8}"
            f"  note")
    lines = [f"\ntime to a {target:g} relative objective gap (median of the "
             "rung that reached it)", head, "-" * len(head)]
    for r in table:
        def f(key, fmt):
            return fmt.format(r[key]) if r.get(key) is not None else "-"
        time_text = f("time", "{:.3f}")
        note = r["note"]
        if "not_reached" in r:
            time_text = f">{r['not_reached']:.0f}"
            note = (f"gap {r['gap']:.1e} not reached (ladder total)"
                    + ("; " + note if note else ""))
        if "ws" in r:
            note = f"final ws {r['ws']}, screened {r['screened']}" + (
                "; " + note if note else "")
        lines.append(
            f"{r['solver']:<30} {f('tol', '{:.0e}'):>7} {time_text:>9} "
            f"{f('passes', '{:.0f}'):>7} {f('gap', '{:.1e}'):>8} "
            f"{f('nnz', '{}'):>7} {f('n_iter', '{}'):>6} "
            f"{f('vs_peer', '{:.2f}'):>7} {f('vs_chin', '{:.2f}'):>8}  {note}")
    on = [r for r in table if r["solver"] == OURS["solver"] and "time" in r]
    off = [r for r in table if r["solver"] == GATE_OFF and "time" in r]
    if on and off:
        lines.append(f"gate off / gate on: {off[0]['time'] / on[0]['time']:.2f} "
                     f"(time), {off[0]['passes'] / on[0]['passes']:.2f} (passes)")
    return "\n".join(lines)


def result_rows(label, penalty, C, table, one_pass):
    """The "solver" rows of results.json (_results.py's schema) from `summarise`'s.

    A row that reached the gap gives the median time of its rung; one that did not
    (its ladder stopped: time limit, iteration cap, end of the ladder, failure)
    gives its ladder's total time, ``reached`` false and the best gap in the note.
    Rows that never fitted (n/a, or failed at the first rung) are left out.
    """
    ours = [r for r in table if r["solver"] == OURS["solver"] and "time" in r]
    rows = []
    for line in table:
        reached = "time" in line
        if not reached and "not_reached" not in line:
            continue
        time_s = line["time"] if reached else line["not_reached"]
        notes = [] if reached else [f"gap {line['gap']:.0e} not reached in "
                                    f"{seconds(time_s)} s"]
        notes += [line["note"]] if line["note"] else []
        rows.append({
            "benchmark": "solver", "workload": label, "penalty": penalty,
            "solver": line["solver"], "n_jobs": 1, "time_s": time_s,
            "passes": time_s / one_pass,
            "ratio": time_s / ours[0]["time"] if ours else None,
            "note": "; ".join(notes), "C": C, "gap": line["gap"],
            "tol": line["tol"], "reached": reached,
        })
    return rows


def workload_label(args, X, n_classes):
    """The workload in words, as bench_cv.py names its own ("text 20,000 x ...")."""
    kind = "real text" if args.workload in _real_text.TASKS else "text"
    classes = "binary" if n_classes <= 2 else f"{n_classes} classes"
    return f"{kind} {X.shape[0]:,} x {X.shape[1]:,}, {classes}"


def row_payload(row):
    return {"solver": row.solver, "penalty": row.penalty, "note": row.note,
            "unavailable": row.unavailable, "rungs": row.rungs,
            "reached": row.reached, "times": row.times}


def main(argv=None):
    args = parse_args(argv)
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"bench_real_text: {vars(args)}\nthreads: {threads}")
    run_key, run = new_run("bench_real_text", " ".join(sys.argv), versions())
    run["args"] = vars(args)
    X, y, info = load_workload(args)
    n_classes = np.unique(y).size
    multiclass = n_classes > 2
    label = workload_label(args, X, n_classes)
    Cs, searches = pick_C(args, X, y, multiclass)
    run["data"][label] = {
        "workload": args.workload, "nnz": int(X.nnz), "n_classes": int(n_classes),
        "one_pass_s": info["one_pass_time"], "C": Cs,
        **{k: info[k] for k in ("package_versions", "seed") if k in info},
    }
    results, recorded = {}, []
    for penalty in args.penalties:
        results[penalty] = run_penalty(args, penalty, Cs[penalty], X, y,
                                       multiclass, info["one_pass_time"])
        rows = result_rows(label, penalty, Cs[penalty], results[penalty]["table"],
                           info["one_pass_time"])
        recorded += rows
        if args.record:  # after each penalty: a later crash keeps these rows
            print(f"recorded {len(rows)} rows in {record(run_key, run, rows)}")
    print("\nnotes: passes = time / one pass (X @ w + X.T @ r); gap = (objective - "
          "best of the run) / |best|, objective as in DESIGN.md; t/peer = time / "
          "fastest non-chinchilla row that reached the target; liblinear "
          "penalises the intercept (its objective under our formula is higher).")
    save_json(f"bench_real_text-{args.workload}", {
        "benchmark": "bench_real_text", "args": vars(args), "versions": versions(),
        "data": info, "C": Cs, "C_search": searches, "results": results,
        "run_key": run_key, "run": run, "rows": recorded,
    })


if __name__ == "__main__":
    main()
