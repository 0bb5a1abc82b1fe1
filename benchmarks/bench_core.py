"""Benchmark of the exact core: ChinchillaClassifier against LogisticRegression.

One run fits every solver on the same generated text-like problem (see _data.py),
for each penalty:

- l2: chinchilla (gate on, gate off), sklearn lbfgs, sklearn newton-cg
- l1: chinchilla (gate on, gate off), sklearn liblinear, sklearn saga
- en (l1_ratio=0.5): chinchilla (gate on, gate off), sklearn saga

C is given for l2 (--C-l2) and searched for l1 / en so that 1-5% of the weights are
non-zero. Every fit is scored with the same objective and KKT check (_measure.py).
Run from the repository root, on one thread (set below unless already set)::

    python benchmarks/bench_core.py --quick
    python benchmarks/bench_core.py --n-samples 20000 --n-features 50000 --repeat 3
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import os

from _solvers import chinchilla_status  # noqa: E402
from _workflow import (  # noqa: E402
    add_common_arguments,
    build_rows,
    finish_arguments,
    run_benchmark,
)

QUICK = {"n_samples": 2000, "n_features": 5000, "repeat": 1, "saga_max_iter": 50}
SKLEARN_SOLVERS = {
    "l2": ["lbfgs", "newton-cg"],
    "l1": ["liblinear", "saga"],
    "en": ["saga"],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=50000)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small smoke run (under a minute): {QUICK}, overriding those options",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return finish_arguments(parser, args)


def main(argv=None):
    args = parse_args(argv)
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"bench_core: {vars(args)}\nthreads: {threads}")
    _, reason = chinchilla_status()
    print(f"chinchilla_sklearn: {reason or 'available'}")

    tag = "quick" if args.quick else f"{args.n_samples}x{args.n_features}"
    run_benchmark(f"bench_core-{tag}", args, build_rows(args, SKLEARN_SOLVERS))


if __name__ == "__main__":
    main()
