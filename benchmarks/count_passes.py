"""Passes over the data of one fit, counted, and its time.

A pass is one ``X @ w`` plus one ``X.T @ r`` on all of X: every product of a
:class:`~chinchilla_sklearn._kernels.Block` adds its stored entries over
``2 nnz(X)`` (as notes/real_text_diagnosis.md counted them, with a fraction of the
instrumentation). The near-duplicate groups of the block-Jacobi preconditioner
(``chinchilla_sklearn._groups``) are counted the same way: MinHash signatures
as ``n_hashes`` reads per stored entry, pair products by their stored entries.
Time is measured in a second, uninstrumented fit (median of ``--repeat``).

    python benchmarks/count_passes.py --workload real-binary --C 10 --tol 1e-6
    python benchmarks/count_passes.py --workload real-binary --C 10 --block off

Several values of ``--C`` (comma-separated) fit each in turn and end with the
mean passes: a single fit's count is chaotic on the hard, nearly separable
ones (real binary L1 at C=10 moved from 414 to 520 passes on a change of the
starting gradient of 5e-12), so changes to the solver are judged on means:

    python benchmarks/count_passes.py --workload real-binary --tol 1e-4 \
        --C 5,6,7,8,9,10,11,12,13,15 --repeat 0
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import chinchilla_sklearn._gate as _gate  # noqa: E402
import chinchilla_sklearn._kernels as _kernels  # noqa: E402
import chinchilla_sklearn._solver as _solver  # noqa: E402
import numpy as np  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402

import _real_text  # noqa: E402
from _data import make_text_like  # noqa: E402

try:
    import chinchilla_sklearn._groups as _groups  # noqa: E402
except ImportError:  # a branch without the block preconditioner
    _groups = None

COUNTS = defaultdict(float)


def load(workload):
    if workload in _real_text.TASKS:
        X, y, _ = _real_text.load(workload, log=lambda *a: None)
        return X, y
    n, p = {"small": (20_000, 50_000), "large": (100_000, 500_000)}[workload]
    return make_text_like(n, p, random_state=0)


def _nnz(A):
    return A.nnz if hasattr(A, "nnz") else np.count_nonzero(A)


def install(nnz_X):
    """Wrap the products (at run time; the package is not changed)."""
    block = _kernels.Block
    for name in ("matmul", "rmatmul", "squared_rmatmul", "gram"):
        original = getattr(block, name)

        def wrapped(self, *a, original=original, name=name):
            COUNTS[f"passes:{name}"] += _nnz(self.X) / (2 * nnz_X)
            return original(self, *a)

        setattr(block, name, wrapped)
    cg = _solver._conjugate_gradient

    def conjugate_gradient(hessian_product, *a, **k):
        def product(*pa, **pk):
            COUNTS["CG iterations"] += 1
            return hessian_product(*pa, **pk)
        return cg(product, *a, **k)

    _solver._conjugate_gradient = conjugate_gradient
    if _groups is not None:
        for name, cost in getattr(_groups, "COUNTED", {}).items():
            original = getattr(_groups, name)

            def wrapped(*a, original=original, name=name, cost=cost, **k):
                COUNTS[f"passes:{name}"] += cost(*a, **k) / (2 * nnz_X)
                return original(*a, **k)

            setattr(_groups, name, wrapped)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="real-binary",
                        choices=[*_real_text.TASKS, "small", "large"])
    parser.add_argument("--C", default="10",
                        help="comma-separated: one fit each, then the mean")
    parser.add_argument("--l1-ratio", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--block", choices=["on", "off"], default="on",
                        help="the block-Jacobi preconditioner (where it exists)")
    parser.add_argument("--repeat", type=int, default=1, help="timed fits")
    parser.add_argument("--set", action="append", default=[],
                        help="module.NAME=value, e.g. _gate.NEAR_DUPLICATE_COSINE=0.9")
    args = parser.parse_args(argv)
    X, y = load(args.workload)
    if args.block == "off" and hasattr(_gate, "NEAR_DUPLICATE_COSINE"):
        _gate.NEAR_DUPLICATE_COSINE = None
    for assignment in args.set:
        target, value = assignment.split("=")
        module, name = target.split(".")
        module = {"_gate": _gate, "_solver": _solver, "_groups": _groups}[module]
        setattr(module, name, type(getattr(module, name))(value))

    Cs = [float(C) for C in args.C.split(",")]

    def fit(C):
        est = ChinchillaClassifier(C=C, l1_ratio=args.l1_ratio, tol=args.tol,
                                   max_iter=1000)
        start = time.perf_counter()
        est.fit(X, y)
        return est, time.perf_counter() - start

    # timed before the counters are installed (they stay installed)
    times = {C: sorted(fit(C)[1] for _ in range(args.repeat)) for C in Cs}
    install(X.nnz)
    all_passes = []
    for C in Cs:
        COUNTS.clear()
        est, _ = fit(C)
        passes = sum(v for k, v in COUNTS.items() if k.startswith("passes:"))
        all_passes.append(passes)
        report = est.gate_report_
        timed = (f"time {times[C][len(times[C]) // 2]:.2f} s (of {len(times[C])})"
                 if times[C] else "not timed")
        print(f"{args.workload} {X.shape[0]}x{X.shape[1]} C={C:g} "
              f"l1_ratio={args.l1_ratio:g} tol={args.tol:g} block={args.block}: "
              f"passes {passes:.1f}, CG {int(COUNTS['CG iterations'])}, {timed}, "
              f"n_iter {est.n_iter_}, gap {est.dual_gap_:.2e}, "
              f"nnz {np.count_nonzero(est.coef_)}, "
              f"screened {report['n_screened'][-1]}, "
              f"objective {est.loss_curve_[-1]:.12e}")
        print("   " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(COUNTS.items())))
    if len(Cs) > 1:
        print(f"mean passes over {len(Cs)} fits: {np.mean(all_passes):.1f} "
              f"(geometric {np.exp(np.mean(np.log(all_passes))):.1f})")


if __name__ == "__main__":
    main()
