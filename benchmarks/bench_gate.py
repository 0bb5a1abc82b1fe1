"""Benchmark of the gate: ChinchillaClassifier gate on/off against other solvers.

Workloads (text-like data, see _data.py):

- small: 20,000 x 50,000
- large: 100,000 x 500,000

Rows, for each penalty:

- l2: chinchilla (gate on, gate off), sklearn lbfgs, sklearn newton-cg
- l1: chinchilla (gate on, gate off), sklearn liblinear, sklearn saga, skglm
- en (l1_ratio=0.5): chinchilla (gate on, gate off), sklearn saga, skglm

skglm rows (if skglm imports): its Logistic datafit is a mean over samples with
labels in {-1, 1} (skglm maps the labels itself), so alpha = 1 / (C * n_samples)
gives the same optimum; SparseLogisticRegression for l1, GeneralizedLinearEstimator
(Logistic(), L1_plus_L2(alpha, l1_ratio), ProxNewton or AndersonCD) for en.
After the tables, the gate_report_ summary of the chinchilla rows: iterations,
final working set, features screened, share of column passes skipped.

    python benchmarks/bench_gate.py --workload small
    python benchmarks/bench_gate.py --workload large --repeat 3
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import os

from _solvers import (  # noqa: E402
    chinchilla_status,
    skglm_row,
    skglm_status,
)
from _workflow import (  # noqa: E402
    add_common_arguments,
    build_rows,
    finish_arguments,
    run_benchmark,
)

# saga is capped harder on the large workload (one epoch there takes about a second).
WORKLOADS = {
    "small": {"n_samples": 20_000, "n_features": 50_000, "saga_max_iter": 100},
    "large": {"n_samples": 100_000, "n_features": 500_000, "saga_max_iter": 30},
}
SKLEARN_SOLVERS = {
    "l2": ["lbfgs", "newton-cg"],
    "l1": ["liblinear", "saga"],
    "en": ["saga"],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="small")
    parser.add_argument(
        "--skglm-solver", choices=["ProxNewton", "AndersonCD"], default="ProxNewton"
    )
    add_common_arguments(parser, saga_max_iter=None)
    args = parser.parse_args(argv)
    workload = WORKLOADS[args.workload]
    args.n_samples, args.n_features = workload["n_samples"], workload["n_features"]
    if args.saga_max_iter is None:
        args.saga_max_iter = workload["saga_max_iter"]
    return finish_arguments(parser, args)


def skglm_rows(args):
    """The skglm row of each penalty with an L1 part."""
    def rows(penalty):
        if penalty in ("l1", "en"):
            return [skglm_row(penalty, args.tol, 50, args.skglm_solver)]
        return []
    return rows


def main(argv=None):
    args = parse_args(argv)
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"bench_gate: {vars(args)}\nthreads: {threads}")
    for name, status in (
        ("chinchilla_sklearn", chinchilla_status),
        ("skglm", skglm_status),
    ):
        _, reason = status()
        print(f"{name}: {reason or 'available'}")

    rows = build_rows(args, SKLEARN_SOLVERS, skglm_rows(args))
    run_benchmark(f"bench_gate-{args.workload}", args, rows)


if __name__ == "__main__":
    main()
