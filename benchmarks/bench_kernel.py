"""The products of the kernels: compiled sparse products beside scipy's, and dense.

``--products`` (the default): on the 20-class text-like workload
(``_data.make_multiclass_text_like``, 16,000 x 50,000), times ``X @ W`` and
``X.T @ R`` with ``K`` dense columns for scipy's products and the compiled
kernels (a gather: ``X @ W`` from CSR, ``X.T @ R`` from CSC; a scatter: the
other two), and for ``_kernels.Block``, which takes the faster of each case,
from CSR and from CSC, taking turns product by product, best of ``--repeat``;
a pass is one ``X @ W`` plus one ``X.T @ R``, and the last column compares each
layout's pass with scipy's faster layout.

``--densities``: for a block of ``n_samples x n_columns`` at a range of
densities, one pass with the block stored as CSC (the compiled kernels) and as
a dense array: the crossover is the gate's ``DENSE_MIN_DENSITY``.

    python benchmarks/bench_kernel.py                  # products, K = 1, 4, 20, 100
    python benchmarks/bench_kernel.py --densities
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from chinchilla_sklearn import _kernels_fast  # noqa: E402
from chinchilla_sklearn._kernels import Block  # noqa: E402

from _data import make_multiclass_text_like  # noqa: E402


def _best(function, repeat):
    """Return the best wall time of ``repeat`` calls of ``function``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _products(X_csr, n_outputs, repeat, seed=0):
    """Return the best time of each (implementation, layout, product), in turns."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((X_csr.shape[1], n_outputs)).astype(X_csr.dtype)
    R = rng.standard_normal((X_csr.shape[0], n_outputs)).astype(X_csr.dtype)
    X_csc = X_csr.tocsc()
    cases = {}
    for layout, X in (("CSR", X_csr), ("CSC", X_csc)):
        block = Block(X)
        cases[("scipy", layout, "X @ W")] = lambda X=X: X @ W
        cases[("scipy", layout, "X.T @ R")] = lambda X=X: X.T @ R
        cases[("compiled", layout, "X @ W")] = lambda X=X: _compiled(X, W, False)
        cases[("compiled", layout, "X.T @ R")] = lambda X=X: _compiled(X, R, True)
        cases[("Block", layout, "X @ W")] = lambda block=block: block.matmul(W)
        cases[("Block", layout, "X.T @ R")] = lambda block=block: block.rmatmul(R)
    for (_, layout, product), function in cases.items():  # same answers
        reference = X_csr @ W if product == "X @ W" else X_csr.T @ R
        assert np.allclose(function(), reference, rtol=1e-4, atol=1e-6)
    best = dict.fromkeys(cases, np.inf)
    for _ in range(repeat):  # in turns, so load changes slow all alike
        for key, function in cases.items():
            best[key] = min(best[key], _best(function, 1))
    return best


def _compiled(X, B, transpose):
    """Return ``X @ B`` or ``X.T @ B`` with the compiled gather or scatter."""
    out = np.zeros((X.shape[1] if transpose else X.shape[0], B.shape[1]), B.dtype)
    kernel = (_kernels_fast.gather if (X.format == "csr") != transpose
              else _kernels_fast.scatter)
    kernel(X.data, X.indices, X.indptr, B, out)
    return out


def products(args):
    """Print the products' table for each K of ``args.outputs``."""
    X, _ = make_multiclass_text_like(args.n_samples, args.n_features, 20,
                                     random_state=args.seed)
    X = sp.csr_array(X)
    print(f"X: {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz:,} stored entries, "
          f"{X.dtype}, one thread, best of {args.repeat} [ms]")
    header = (f"{'K':>5} {'implementation':>15} {'layout':>6} {'X @ W':>8} "
              f"{'X.T @ R':>8} {'pass':>8} {'scipy best / pass':>18}")
    print(header)
    print("-" * len(header))
    for n_outputs in args.outputs:
        best = _products(X, n_outputs, args.repeat)
        passes = {(impl, layout): best[(impl, layout, "X @ W")]
                  + best[(impl, layout, "X.T @ R")]
                  for impl in ("scipy", "compiled", "Block")
                  for layout in ("CSR", "CSC")}
        scipy_best = min(passes[("scipy", "CSR")], passes[("scipy", "CSC")])
        for impl, layout in passes:
            print(f"{n_outputs:>5} {impl:>15} {layout:>6} "
                  f"{1e3 * best[(impl, layout, 'X @ W')]:>8.2f} "
                  f"{1e3 * best[(impl, layout, 'X.T @ R')]:>8.2f} "
                  f"{1e3 * passes[(impl, layout)]:>8.2f} "
                  f"{scipy_best / passes[(impl, layout)]:>18.2f}")


def densities(args):
    """Print sparse (CSC) against dense blocks by density."""
    rng = np.random.default_rng(args.seed)
    n_samples, n_columns = args.block_samples, args.block_columns
    print(f"block {n_samples} x {n_columns}, {args.outputs[0]} output(s)")
    print(f"{'density':>8} {'sparse [ms]':>12} {'dense [ms]':>11} {'sparse/dense':>13}")
    for density in (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
        X = sp.random(n_samples, n_columns, density=density, format="csc",
                      random_state=rng)
        W = np.ones((n_columns, args.outputs[0]))
        R = np.ones((n_samples, args.outputs[0]))
        times = {}
        for name, block in (("sparse", Block(X)), ("dense", Block(X.toarray()))):
            times[name] = _best(lambda block=block: (block.matmul(W),
                                                     block.rmatmul(R)), args.repeat)
        print(f"{density:>8.2f} {1e3 * times['sparse']:>12.2f} "
              f"{1e3 * times['dense']:>11.2f} "
              f"{times['sparse'] / times['dense']:>13.2f}")


def main():
    """Parse the arguments and run the chosen comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--densities", action="store_true",
                        help="sparse against dense blocks by density")
    parser.add_argument("--n-samples", type=int, default=16_000)
    parser.add_argument("--n-features", type=int, default=50_000)
    parser.add_argument("--outputs", type=lambda text: [int(k) for k in
                                                        text.split(",")],
                        default=None, help="comma-separated K (1,4,20,100; "
                        "densities: 1)")
    parser.add_argument("--block-samples", type=int, default=20_000)
    parser.add_argument("--block-columns", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.densities:
        args.outputs = args.outputs or [1]
        densities(args)
    else:
        args.outputs = args.outputs or [1, 4, 20, 100]
        products(args)


if __name__ == "__main__":
    main()
