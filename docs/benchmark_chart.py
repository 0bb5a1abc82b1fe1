"""The Benchmarks page's charts, drawn at build time from benchmarks/results.json.

Run by the ``plot`` directive of ``benchmarks.rst`` (matplotlib's
``plot_directive``); it reads the committed results and runs no benchmark.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# the plot directive runs this file without __file__, in docs/ (conf.py's
# plot_working_directory)
_HERE = Path(globals().get("__file__", "benchmark_chart.py")).resolve().parent
sys.path.insert(0, str(_HERE.parent / "benchmarks"))
from _results import (  # noqa: E402
    OURS,
    load,
    reached,
    short_name,
    solver_ratio,
    solver_rows,
    solver_time,
)

PENALTY_NAMES = {"l1": "L1", "en": "elastic net", "l2": "L2"}


def cv_chart(content=None):
    """Draw one panel per workload: the time of each tuning method, by n_jobs."""
    content = load() if content is None else content
    rows = [row for row in content["rows"] if row["benchmark"] == "cv"]
    return _panels(rows, _workload_panel,
                   "wall time [s], log scale; (ours / theirs)")


def solver_chart(content=None):
    """Draw one panel per workload: each solver's time to a 1e-6 gap, by penalty.

    Chinchilla gate on is drawn solid, the other rows lighter, rows that did not
    reach the gap hatched (their bar is the ladder's total time, a lower bound).
    """
    content = load() if content is None else content
    rows = [row for group in solver_rows(content).values() for row in group.values()]
    return _panels(rows, _solver_panel,
                   "time to a 1e-6 relative objective gap [s], log scale; "
                   "(ours / theirs)")


def _panels(rows, draw, xlabel):
    """One panel per workload of ``rows``, drawn by ``draw(axis, rows)``."""
    workloads = list(dict.fromkeys(row["workload"] for row in rows))
    if not workloads:
        figure, axis = plt.subplots(figsize=(6.4, 1.5))
        axis.text(0.5, 0.5, "no results recorded yet", ha="center")
        axis.set_axis_off()
        return figure
    heights = [len({(r["penalty"], r["solver"]) for r in rows
                    if r["workload"] == w}) for w in workloads]
    figure, axes = plt.subplots(
        len(workloads), 1, squeeze=False, layout="constrained",
        figsize=(8.0, 0.55 * sum(heights) + 1.2 * len(workloads)),
        gridspec_kw={"height_ratios": heights},
    )
    for axis, workload in zip(axes[:, 0], workloads):
        draw(axis, [r for r in rows if r["workload"] == workload])
        axis.set_title(workload, loc="left", fontsize="medium")
    axes[-1, 0].set_xlabel(xlabel)
    dates = sorted({(r["date"], r["machine"]) for r in rows})
    figure.suptitle("; ".join(f"{date}: {machine}" for date, machine in dates),
                    fontsize="small")
    return figure


def _solver_panel(axis, rows):
    """Horizontal bars: one per (penalty, solver), coloured by penalty."""
    penalties = list(dict.fromkeys(r["penalty"] for r in rows))
    for i, row in enumerate(rows):
        ours = row["solver"] == OURS["solver"]
        axis.barh(i, row["time_s"], height=0.8,
                  color=f"C{penalties.index(row['penalty'])}",
                  alpha=1.0 if ours else 0.55,
                  hatch=None if reached(row) else "//",
                  edgecolor="white" if reached(row) else "black")
        label = f" {solver_time(row)}"
        ratio = solver_ratio(row)
        if not ours and ratio:
            label += f" ({ratio})"
        if not reached(row):
            label += "  gap not reached"
        axis.text(row["time_s"], i, label, va="center", fontsize="x-small")
    axis.set_yticks(np.arange(len(rows)))
    axis.set_yticklabels([f"{PENALTY_NAMES.get(r['penalty'], r['penalty'])}: "
                          f"{short_name(r['solver'])}" for r in rows],
                         fontsize="small")
    axis.invert_yaxis()
    axis.set_xscale("log")
    times = [r["time_s"] for r in rows]
    # the shortest bar visible; room for the labels on the right
    axis.set_xlim(min(times) / 3, max(times) * 30)


def _workload_panel(axis, rows):
    """Horizontal bars: one group per (penalty, solver), one bar per n_jobs."""
    groups = list(dict.fromkeys((r["penalty"], r["solver"]) for r in rows))
    all_jobs = sorted({r["n_jobs"] for r in rows})
    height = 0.8 / len(all_jobs)
    for k, n_jobs in enumerate(all_jobs):
        for i, (penalty, solver) in enumerate(groups):
            match = [r for r in rows if (r["penalty"], r["solver"], r["n_jobs"])
                     == (penalty, solver, n_jobs)]
            if not match:
                continue
            row = match[0]
            y = i + (k - (len(all_jobs) - 1) / 2) * height
            ours = solver == "ChinchillaClassifierCV"
            axis.barh(y, row["time_s"], height=height * 0.9,
                      color=f"C{k}", alpha=1.0 if ours else 0.55,
                      label=f"n_jobs={n_jobs}" if i == 0 else None)
            label = f" {row['time_s']:.1f} s"
            if not ours:
                label += f" ({1 / row['ratio']:.2f}x)"
            if row.get("note"):
                label += f"  {row['note']}"
            axis.text(row["time_s"], y, label, va="center", fontsize="x-small")
    axis.set_yticks(np.arange(len(groups)))
    axis.set_yticklabels([f"{PENALTY_NAMES.get(p, p)}: {s}" for p, s in groups],
                         fontsize="small")
    axis.invert_yaxis()
    axis.set_xscale("log")
    left, right = axis.get_xlim()
    axis.set_xlim(left, right * 30)  # room for the labels
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
