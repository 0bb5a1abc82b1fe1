"""The committed results file, benchmarks/results.json: written by the scripts, read by
the docs and the README.

``benchmarks/results/`` (gitignored) keeps every run's full JSON; this file keeps the
latest measurement of each row, so the README's tables and the docs' Benchmarks page
come from one measurement and no benchmark runs while the docs build. The
environment variable ``CHINCHILLA_BENCH_RESULTS`` names another file to write and
read instead (a smoke run's scratch copy). Schema (``SCHEMA_VERSION``)::

    {
      "schema_version": 1,
      "runs": {RUN: {"date": "YYYY-MM-DD", "machine": MACHINE, "command": str,
                     "versions": {...}, "data": {WORKLOAD: {...}}}},
      "rows": [ROW, ...]
    }

A ROW is a flat dict with these keys (None where not applicable):

=============  ========================================================================
``run``        the key of its run in ``runs`` (the rows of a run were measured together)
``benchmark``  ``"cv"`` (bench_cv.py: tuning C over a grid) or ``"solver"``
               (bench_real_text.py: one fit, time to a relative objective gap of 1e-6)
``workload``   e.g. ``"text 20,000 x 50,000, binary"``
``penalty``    ``"l1"``, ``"en"`` (l1_ratio=0.5) or ``"l2"``
``solver``     e.g. ``"ChinchillaClassifierCV"``, ``"LogisticRegressionCV(saga)"``,
               ``"chinchilla gate=on"``, ``"sklearn newton-cg"``
``n_jobs``     parallel jobs (1 = one process); one BLAS thread each
``time_s``     wall time in seconds; ``"solver"``: the median time of the rung of the
               ladder of tolerances that reached the 1e-6 gap, or, when no rung
               reached it (``reached`` false), the total time of the row's ladder
               (a lower bound: the row stopped at its time limit, its iteration cap
               or the ladder's end; the note gives the best gap)
``passes``     ``time_s`` divided by the time of one pass over the data
``ratio``      ``time_s`` over that of the ChinchillaClassifierCV (cv) / chinchilla
               gate=on (solver) row of the same workload, penalty and n_jobs
               (``t/t_chin``); ``"solver"``: None when gate on did not reach the gap
``date``       the run's date; ``machine``: the run's machine, in words
``note``       e.g. ``"max_iter=30, NOT CONVERGED"``,
               ``"gap 3e-05 not reached in 120 s"``; other keys are kept as given:
               ``C``, ``score`` (cv); ``C``, ``gap``, ``tol`` (the rung),
               ``reached`` (solver)
=============  ========================================================================
"""

import json
import os
import platform
import re
import sys
import time
from pathlib import Path

SCHEMA_VERSION = 1
RESULTS_FILE = Path(os.environ.get("CHINCHILLA_BENCH_RESULTS")
                    or Path(__file__).resolve().parent / "results.json")
ROW_KEYS = ("run", "benchmark", "workload", "penalty", "solver", "n_jobs", "time_s",
            "passes", "ratio", "date", "machine", "note")
# Rows with the same values of these keys replace each other.
IDENTITY = ("benchmark", "workload", "penalty", "solver", "n_jobs")
# The row every other row of its workload and penalty is compared with.
OURS = {"cv": "ChinchillaClassifierCV", "solver": "chinchilla gate=on"}
GATE_OFF = "chinchilla gate=off"
PENALTY_ORDER = {"l1": 0, "en": 1, "l2": 2}


def machine():
    """Return the machine in words: CPU model, logical CPUs, memory, system."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line.split()[1] for line in f
                           if line.startswith("MemTotal")))
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.system()}"


def new_run(name, command, versions):
    """Return ``(run key, run dict)`` for a run starting now."""
    date = time.strftime("%Y-%m-%d")
    key = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    return key, {"date": date, "machine": machine(), "command": command,
                 "versions": versions, "data": {}}


def load(path=RESULTS_FILE):
    """Return the results file's content (an empty one if there is no file)."""
    if not Path(path).exists():
        return {"schema_version": SCHEMA_VERSION, "runs": {}, "rows": []}
    content = json.loads(Path(path).read_text())
    if content.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {content.get('schema_version')}, "
                         f"expected {SCHEMA_VERSION}")
    return content


def record(run_key, run, rows, path=RESULTS_FILE):
    """Add a run and its rows, replacing older rows of the same identity."""
    content = load(path)
    new = {tuple(row[k] for k in IDENTITY) for row in rows}
    content["rows"] = [row for row in content["rows"]
                       if tuple(row[k] for k in IDENTITY) not in new]
    content["rows"] += [{**{k: None for k in ROW_KEYS}, **row,
                         "run": run_key, "date": run["date"],
                         "machine": run["machine"]} for row in rows]
    content["runs"][run_key] = run
    used = {row["run"] for row in content["rows"]}
    content["runs"] = {k: v for k, v in content["runs"].items() if k in used}
    Path(path).write_text(json.dumps(content, indent=1) + "\n")
    return path


def cv_table(content, n_jobs=1):
    """Return the Markdown table of the cv rows: one line per workload and penalty.

    The README's table is this function's output (tests/test_benchmark_results.py
    checks that they agree).
    """
    rows = [r for r in content["rows"] if r["benchmark"] == "cv"
            and r["n_jobs"] == n_jobs]
    keys = list(dict.fromkeys((r["workload"], r["penalty"]) for r in rows))
    lines = ["| workload | penalty | ChinchillaClassifierCV | GridSearchCV "
             "(ours / theirs) | LogisticRegressionCV (ours / theirs) |",
             "| --- | --- | --- | --- | --- |"]
    for workload, penalty in keys:
        group = {r["solver"]: r for r in rows
                 if (r["workload"], r["penalty"]) == (workload, penalty)}
        ours = group.get("ChinchillaClassifierCV")
        if ours is None:
            continue
        grid = group.get("GridSearchCV(ChinchillaClassifier)")
        peers = [r for name, r in group.items()
                 if name.startswith("LogisticRegressionCV")]
        lines.append(
            f"| {workload} | {penalty} | {ours['time_s']:.1f} s | "
            f"{_time_and_ratio(grid)} | "
            f"{'; '.join(_peer(r) for r in peers) or '-'} |"
        )
    return "\n".join(lines)


def _time_and_ratio(row):
    if row is None:
        return "-"
    return f"{row['time_s']:.1f} s ({1 / row['ratio']:.2f}x)"


def _peer(row):
    name = row["solver"][len("LogisticRegressionCV"):].strip("()")
    note = f", {row['note']}" if row.get("note") else ""
    return f"{name} {_time_and_ratio(row)}{note}"


def solver_rows(content):
    """Return the solver rows grouped: ``{(workload, penalty): {solver: row}}``.

    Workloads in the order of the file, penalties in the order l1, en, l2; groups
    without a chinchilla gate=on row are left out (every other row is compared
    with it).
    """
    groups = {}
    for row in content["rows"]:
        if row["benchmark"] == "solver":
            key = (row["workload"], row["penalty"])
            groups.setdefault(key, {})[row["solver"]] = row
    workloads = list(dict.fromkeys(workload for workload, _ in groups))
    order = sorted(groups, key=lambda key: (workloads.index(key[0]),
                                            PENALTY_ORDER.get(key[1], 9), key[1]))
    return {key: groups[key] for key in order if OURS["solver"] in groups[key]}


def reached(row):
    """Whether a solver row reached the gap (False: ``time_s`` is a lower bound)."""
    return row.get("reached", True) is not False


def seconds(value):
    """Three significant digits: ``"0.270"``, ``"4.82"``, ``"11.6"``, ``"245"``."""
    return f"{value:.0f}" if value >= 100 else f"{value:#.3g}"


def solver_time(row):
    """``"0.197 s"``, or ``">120 s"`` for a row that did not reach the gap."""
    return f"{'' if reached(row) else '>'}{seconds(row['time_s'])} s"


def solver_ratio(row):
    """Ours over the row's time: ``"0.45x"``, ``"<0.01x"`` (not reached) or ``""``."""
    if row.get("ratio") is None:
        return ""
    share = 1 / row["ratio"]
    text = f"{share:.2f}" if share >= 0.1 else f"{share:.2g}"
    return f"{'' if reached(row) else '<'}{text}x"


def _solver_peer(row, name=True):
    ratio = solver_ratio(row)
    text = (f"{short_name(row['solver'])} " if name else "") + solver_time(row)
    text += f" ({ratio})" if ratio else ""
    return text + (f", {row['note']}" if row.get("note") else "")


def short_name(solver):
    """A solver row's name without the library prefix ("sklearn saga" -> "saga")."""
    return solver.removeprefix("sklearn ")


def solver_table(content):
    """Return the Markdown table of the solver rows: one line per workload and penalty.

    Chinchilla with the gate on (time and passes), then each peer's time and ours /
    theirs, then chinchilla with the gate off. The README's table is this function's
    output (tests/test_benchmark_results.py checks that they agree).
    """
    lines = ["| workload | penalty | chinchilla gate on | peers (ours / theirs) "
             "| gate off (ours / theirs) |",
             "| --- | --- | --- | --- | --- |"]
    for (workload, penalty), group in solver_rows(content).items():
        ours = group[OURS["solver"]]
        peers = [row for name, row in group.items()
                 if name not in (OURS["solver"], GATE_OFF)]
        off = group.get(GATE_OFF)
        lines.append(
            f"| {workload} | {penalty} | {solver_time(ours)}, "
            f"{ours['passes']:,.0f} passes"
            + (f", {ours['note']}" if ours.get("note") else "")
            + f" | {'; '.join(_solver_peer(r) for r in peers) or '-'} | "
            f"{_solver_peer(off, name=False) if off else '-'} |"
        )
    return "\n".join(lines)


def _measured(rows):
    return "; ".join(sorted({f"{r['date']}, {r['machine']}" for r in rows}))


def readme_tables(content=None):
    """Return the README's benchmark block: the solver table, the cv tables."""
    content = load() if content is None else content
    solver = [row for group in solver_rows(content).values()
              for row in group.values()]
    cv = [r for r in content["rows"] if r["benchmark"] == "cv"]
    parts = ["Time to a 1e-6 relative objective gap (`bench_real_text.py`, one fit):"]
    if solver:
        parts += [
            f"measured {_measured(solver)}; one BLAS thread, the median time of the "
            "rung of the ladder of tolerances that reached the gap; ours / theirs is "
            "chinchilla gate on's time over the row's; `>T`: the row did not reach "
            "the gap, T is its ladder's total time.\n",
            solver_table(content),
        ]
    else:
        parts.append("(no solver results recorded yet)")
    parts.append("\nTuning C (`bench_cv.py`, 20 values of C x 5 folds):")
    if cv:
        parts.append(
            f"measured {_measured(cv)}; one BLAS thread, medians not taken (one fit "
            "of each search); ours / theirs is ChinchillaClassifierCV's time over "
            "the row's.")
        for n_jobs in sorted({r["n_jobs"] for r in cv}):
            parts += [f"\n`n_jobs={n_jobs}`:\n", cv_table(content, n_jobs)]
    else:
        parts.append("(no cv results recorded yet)")
    return "\n".join(parts)


README = Path(__file__).resolve().parent.parent / "README.md"
README_BLOCK = re.compile(
    r"(<!-- benchmark-tables:[^\n]*-->\n)(.*?)(\n<!-- end of benchmark-tables -->)",
    re.S)


def update_readme(path=README):
    """Replace the README's benchmark-tables block by :func:`readme_tables`' output."""
    text = Path(path).read_text()
    new, n = README_BLOCK.subn(lambda m: m.group(1) + readme_tables() + m.group(3),
                               text)
    if n != 1:
        raise ValueError(f"{path}: no benchmark-tables block")
    Path(path).write_text(new)


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-readme"]:
        update_readme()
    else:
        print(readme_tables())
