"""Benchmark of online learning: ChinchillaClassifier.partial_fit beside SGDClassifier.

Both estimators get the same pre-sliced mini-batches of 1,000 rows of a generated
text-like problem (_data.make_text_like: TF-IDF-like rows of unit norm, ~90 stored
entries per row, 100,000 features), one ``partial_fit`` call per batch, in the same
order, on one thread, taking turns call by call (so load changes slow both
alike). They minimise the same objective: SGDClassifier's
``alpha = 1 / (C * n_train)`` is ChinchillaClassifier's ``C`` (log loss, L2).
The table gives the samples per second of the first epoch and the median epoch
(partial_fit calls only: the batches are sliced beforehand; wall clock), of the
median and the 10th percentile call in CPU time (the process's time, which other
jobs on a shared machine do not inflate), and the test accuracy after one and
after five epochs; the last line is an in-memory ``fit`` at the same C for
reference. Run from the repository root::

    python benchmarks/bench_online.py            # ~40 s
    python benchmarks/bench_online.py --quick    # ~10 s
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import os
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402

from _data import make_text_like  # noqa: E402

QUICK = {"n_train": 20_000, "n_test": 5_000, "n_features": 20_000}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-test", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help=f"smaller: {QUICK}")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def stream(make_models, batches, X_test, y_test, epochs):
    """Run ``epochs`` epochs of partial_fit on every model, call by call.

    The models take turns on each batch, so a change of the machine's load
    during the run slows them alike. Returns, per model, the seconds of each
    epoch (partial_fit calls only), the CPU seconds of each call (the
    process's time: waiting for other jobs does not count) and the test
    accuracy after each epoch.
    """
    models = [make() for make in make_models]
    seconds = [[] for _ in models]
    cpu = [[] for _ in models]
    accuracy = [[] for _ in models]
    for _ in range(epochs):
        spent = [0.0] * len(models)
        for X_batch, y_batch in batches:
            for k, model in enumerate(models):
                start, start_cpu = time.perf_counter(), time.process_time()
                model.partial_fit(X_batch, y_batch, classes=[0, 1])
                cpu[k].append(time.process_time() - start_cpu)
                spent[k] += time.perf_counter() - start
        for k, model in enumerate(models):
            seconds[k].append(spent[k])
            accuracy[k].append(model.score(X_test, y_test))
    return seconds, cpu, accuracy


def main(argv=None):
    args = parse_args(argv)
    print(f"python {'.'.join(map(str, os.sys.version_info[:3]))}, numpy "
          f"{np.__version__}, scipy {scipy.__version__}, scikit-learn "
          f"{sklearn.__version__}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    start = time.perf_counter()
    X, y = make_text_like(args.n_train + args.n_test, args.n_features,
                          dtype=np.dtype(args.dtype).type, random_state=args.seed)
    X_train, y_train = X[:args.n_train], y[:args.n_train]
    X_test, y_test = X[args.n_train:], y[args.n_train:]
    batches = [(X_train[i:i + args.batch], y_train[i:i + args.batch])
               for i in range(0, args.n_train, args.batch)]
    print(f"data: {args.n_train:,} train + {args.n_test:,} test rows, "
          f"{args.n_features:,} features, {X.nnz / X.shape[0]:.1f} stored entries "
          f"per row, {args.dtype}, {len(batches)} batches of {args.batch:,} rows "
          f"({time.perf_counter() - start:.1f} s to generate)\n")

    alpha = 1.0 / (args.C * args.n_train)
    models = {
        f"ChinchillaClassifier(C={args.C:g}).partial_fit":
            lambda: ChinchillaClassifier(C=args.C),
        f"SGDClassifier(log_loss, alpha={alpha:.0e}).partial_fit":
            lambda: SGDClassifier(loss="log_loss", alpha=alpha, random_state=0),
    }
    rows = []
    all_seconds, all_cpu, all_accuracy = stream(list(models.values()), batches,
                                                X_test, y_test, args.epochs)
    for name, seconds, cpu, accuracy in zip(models, all_seconds, all_cpu,
                                            all_accuracy):
        rows.append((name, args.n_train / seconds[0],
                     args.n_train / statistics.median(seconds),
                     args.batch / statistics.median(cpu),
                     args.batch / np.percentile(cpu, 10), accuracy[0],
                     accuracy[-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        fitted = ChinchillaClassifier(C=args.C).fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start

    width = max(len(row[0]) for row in rows)
    header = (f"{'estimator':<{width}}  {'samples/s (1st epoch)':>21}  "
              f"{'samples/s (median)':>18}  {'CPU: median call':>16}  "
              f"{'p10 call':>10}  {'acc 1 epoch':>11}  "
              f"{f'acc {args.epochs} epochs':>12}")
    print(header)
    print("-" * len(header))
    for name, first, median, cpu_median, cpu_p10, acc_1, acc_last in rows:
        print(f"{name:<{width}}  {first:>21,.0f}  {median:>18,.0f}  "
              f"{cpu_median:>16,.0f}  {cpu_p10:>10,.0f}  {acc_1:>11.4f}  "
              f"{acc_last:>12.4f}")
    print(f"\nin-memory ChinchillaClassifier(C={args.C:g}).fit: test accuracy "
          f"{fitted.score(X_test, y_test):.4f} in {fit_seconds:.1f} s")
    ours, sgd = rows
    print(f"partial_fit speed relative to SGDClassifier: {ours[2] / sgd[2]:.2f} "
          f"(median epoch, wall clock); {ours[3] / sgd[3]:.2f} (median call, CPU "
          f"time), {ours[4] / sgd[4]:.2f} (10th percentile call, CPU time)")


if __name__ == "__main__":
    main()
