"""The committed results file, benchmarks/results.json: written by the scripts, read by
the docs and the README.

``benchmarks/results/`` (gitignored) keeps every run's full JSON; this file keeps the
latest measurement of each row, so the README's tables and the docs' Benchmarks page
come from one measurement and no benchmark runs while the docs build. Schema
(``SCHEMA_VERSION``)::

    {
      "schema_version": 1,
      "runs": {RUN: {"date": "YYYY-MM-DD", "machine": MACHINE, "command": str,
                     "versions": {...}, "data": {WORKLOAD: {...}}}},
      "rows": [ROW, ...]
    }

A ROW is a flat dict with these keys (None where not applicable):

=============  ========================================================================
``run``        the key of its run in ``runs`` (the rows of a run were measured together)
``benchmark``  ``"cv"`` (bench_cv.py: tuning C over a grid) or ``"solver"`` (one fit)
``workload``   e.g. ``"text 20,000 x 50,000, binary"``
``penalty``    ``"l1"``, ``"en"`` (l1_ratio=0.5) or ``"l2"``
``solver``     e.g. ``"ChinchillaClassifierCV"``, ``"LogisticRegressionCV(saga)"``
``n_jobs``     parallel jobs (1 = one process); one BLAS thread each
``time_s``     wall time in seconds (``"solver"``: time to a relative gap of 1e-6)
``passes``     ``time_s`` divided by the time of one pass over the data
``ratio``      ``time_s`` over that of the ChinchillaClassifierCV (cv) / chinchilla
               (solver) row of the same workload, penalty and n_jobs (``t/t_chin``)
``date``       the run's date; ``machine``: the run's machine, in words
``note``       e.g. ``"max_iter=30, NOT CONVERGED"``; other keys (``C``, ``score``,
               ``gap``) are kept as given
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
RESULTS_FILE = Path(__file__).resolve().parent / "results.json"
ROW_KEYS = ("run", "benchmark", "workload", "penalty", "solver", "n_jobs", "time_s",
            "passes", "ratio", "date", "machine", "note")
# Rows with the same values of these keys replace each other.
IDENTITY = ("benchmark", "workload", "penalty", "solver", "n_jobs")


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


def readme_tables(content=None):
    """Return the README's benchmark section body: the cv tables, n_jobs 1 and 2."""
    content = load() if content is None else content
    rows = [r for r in content["rows"] if r["benchmark"] == "cv"]
    if not rows:
        return "(no cv results recorded yet)"
    dates = sorted({f"{r['date']}, {r['machine']}" for r in rows})
    parts = [f"Measured {'; '.join(dates)}; one BLAS thread, medians not taken "
             "(one fit of each search); ours / theirs is ChinchillaClassifierCV's "
             "time over the row's."]
    for n_jobs in sorted({r["n_jobs"] for r in rows}):
        parts += [f"\n`n_jobs={n_jobs}`:\n", cv_table(content, n_jobs)]
    return "\n".join(parts)


README = RESULTS_FILE.parent.parent / "README.md"
README_BLOCK = re.compile(
    r"(<!-- cv-tables:[^\n]*-->\n)(.*?)(\n<!-- end of cv-tables -->)", re.S)


def update_readme(path=README):
    """Replace the README's cv-tables block by :func:`readme_tables`' output."""
    text = Path(path).read_text()
    new, n = README_BLOCK.subn(lambda m: m.group(1) + readme_tables() + m.group(3),
                               text)
    if n != 1:
        raise ValueError(f"{path}: no cv-tables block")
    Path(path).write_text(new)


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-readme"]:
        update_readme()
    else:
        print(readme_tables())
