"""Where a dense block of working-set columns beats sparse products.

For a block of ``n_samples x n_columns`` at a range of densities, times one
``X @ W`` plus one ``X.T @ R`` (the products the solver makes) with the block
stored as CSC and as a dense array, on one thread, and prints the ratio. The
crossover density is the gate's ``DENSE_MIN_DENSITY``.

    OMP_NUM_THREADS=1 python benchmarks/bench_kernel.py
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def _time_products(X, n_outputs, repeat):
    W = np.ones((X.shape[1], n_outputs))
    R = np.ones((X.shape[0], n_outputs))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        X @ W
        X.T @ R
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-columns", type=int, default=500)
    parser.add_argument("--n-outputs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"block {args.n_samples} x {args.n_columns}, {args.n_outputs} output(s)")
    print(f"{'density':>8} {'sparse [ms]':>12} {'dense [ms]':>11} {'sparse/dense':>13}")
    for density in (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
        X = sp.random(args.n_samples, args.n_columns, density=density, format="csc",
                      random_state=rng)
        sparse = _time_products(X, args.n_outputs, args.repeat)
        dense = _time_products(X.toarray(), args.n_outputs, args.repeat)
        print(f"{density:>8.2f} {1e3 * sparse:>12.2f} {1e3 * dense:>11.2f} "
              f"{sparse / dense:>13.2f}")


if __name__ == "__main__":
    main()
