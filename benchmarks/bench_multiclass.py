"""Sparse multinomial L1: ChinchillaClassifier beside scikit-learn's saga.

A generated 20-class text-like problem the size of 20 newsgroups (about
4,500 x 130,000), L1 at a C that leaves about 0.03% of the weights non-zero
(searched with chinchilla, which is cheap). Prints fit time, objective and
non-zero weights of each solver, in one run, on one thread.

    python benchmarks/bench_multiclass.py [--n-samples 4500 --n-features 130000]
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from _data import make_multiclass_text_like  # noqa: E402
from _measure import objective, timed_fit  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4_500)
    parser.add_argument("--n-features", type=int, default=130_000)
    parser.add_argument("--n-classes", type=int, default=20)
    parser.add_argument("--target-share", type=float, default=3e-4)
    parser.add_argument("--saga-max-iter", type=int, default=1000)
    args = parser.parse_args()
    X, y = make_multiclass_text_like(args.n_samples, args.n_features, args.n_classes)
    print(f"data: {X.shape[0]} x {X.shape[1]}, {args.n_classes} classes, "
          f"nnz={X.nnz}")
    C = 0.5
    for _ in range(40):  # grow C by sqrt(2) until the share of non-zeros is reached
        fitted = ChinchillaClassifier(C=C, l1_ratio=1.0, tol=1e-6).fit(X, y)
        share = np.mean(fitted.coef_ != 0)
        if share >= args.target_share:
            break
        C *= np.sqrt(2)
    print(f"C={C:g}: share of non-zero weights {share:.2e}")
    rows = []
    for name, est in [
        ("chinchilla tol=1e-4", ChinchillaClassifier(C=C, l1_ratio=1.0)),
        ("chinchilla tol=1e-6", ChinchillaClassifier(C=C, l1_ratio=1.0, tol=1e-6)),
        ("sklearn saga 100 epochs", LogisticRegression(
            C=C, l1_ratio=1.0, solver="saga", max_iter=100, random_state=0)),
        (f"sklearn saga {args.saga_max_iter} ep.", LogisticRegression(
            C=C, l1_ratio=1.0, solver="saga", max_iter=args.saga_max_iter,
            tol=1e-8, random_state=0)),
    ]:
        elapsed, converged = timed_fit(est, X, y)
        f = objective(est.coef_, est.intercept_, X, y, C, 1.0)
        rows.append((name, elapsed, f, np.count_nonzero(est.coef_), converged))
    best = min(r[2] for r in rows)
    t_chin = rows[0][1]
    print(f"{'solver':24} {'time [s]':>9} {'objective':>16} {'rel. gap':>9} "
          f"{'nnz':>7} {'t/t_chin':>9}  note")
    for name, elapsed, f, nnz, converged in rows:
        print(f"{name:24} {elapsed:9.2f} {f:16.8e} {(f - best) / abs(best):9.1e} "
              f"{nnz:7d} {elapsed / t_chin:9.1f}  "
              f"{'' if converged else 'NOT CONVERGED'}")


if __name__ == "__main__":
    main()
