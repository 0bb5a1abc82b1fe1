"""Why each Newton step costs so many CG iterations on real text.

A diagnostic (monkeypatching at run time, the package unchanged): it fits
once, keeps the Newton systems the solver builds in chosen rounds (the
working-set block, the curvature, the right-hand side, the free weights and
the damping), and afterwards, on each kept system:

1. runs Jacobi-preconditioned CG (the solver's) to relative residuals of
   0.1, 1e-2 and 1e-3 and counts the iterations;
2. measures the spectrum of the Jacobi-scaled Hessian on the free weights
   (dense eigenvalues): condition number and small eigenvalues;
3. counts near-duplicate free columns (cosine similarity above 0.9 and 0.99);
4. times an exact solve: forming the free block's Hessian
   ``X_F^T diag(h) X_F`` (sparse product) and a dense Cholesky factorisation,
   in passes over the data (one ``X @ w`` plus ``X.T @ r`` on all of X).

    python benchmarks/diagnose_newton.py --workload real-binary --C 10
"""

import _one_thread  # noqa: F401  (one thread: before numpy is imported)

# isort: split
import argparse  # noqa: E402
import time  # noqa: E402

import chinchilla_sklearn._gate as _gate  # noqa: E402
import chinchilla_sklearn._solver as _solver  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402

import _real_text  # noqa: E402
from _data import make_text_like  # noqa: E402
from _measure import time_one_pass  # noqa: E402

KEPT = []
ROUND = {"index": 0, "finish": False}


def install(keep_rounds, max_per_round):
    solve_round = _gate._solve_round

    def round_(*args, **kwargs):
        ROUND["finish"] = kwargs.get("exact", False)
        if not ROUND["finish"]:
            ROUND["index"] += 1
        return solve_round(*args, **kwargs)

    _gate._solve_round = round_
    solve = _solver._NewtonSystem.solve

    def solve_(self, V, gb, free, forcing, start=None):
        tag = "finish" if ROUND["finish"] else ROUND["index"]
        same = [k for k in KEPT if k["round"] == tag]
        if tag in keep_rounds and start is None and len(same) < max_per_round:
            mask = np.ones(V.shape[0], bool) if free is True else free[:, 0].copy()
            KEPT.append({
                "round": tag, "block": self.block.X, "h": self.state.curvature.copy(),
                "ridge": np.broadcast_to(self.ridge, V.shape)[:, 0].copy(),
                "V": V[:, 0].copy(), "gb": gb.copy(), "free": mask,
                "inv_diag": self.inv_diagonal[0][:, 0].copy(),
                "inv_b": self.inv_diagonal[1].copy(), "forcing": forcing,
            })
        return solve(self, V, gb, free, forcing, start)

    _solver._NewtonSystem.solve = solve_


def system_matrix(k):
    """The dense Hessian on the free weights and the intercept, and the rhs."""
    XF = sp.csc_matrix(k["block"])[:, k["free"]]
    h = k["h"][:, 0]
    start = time.perf_counter()
    H = (XF.T @ sp.diags(h) @ XF).toarray()
    form = time.perf_counter() - start
    H[np.diag_indices_from(H)] += k["ridge"][k["free"]]
    hb = np.asarray(XF.T @ h).ravel()
    A = np.block([[H, hb[:, None]], [hb[None, :], np.array([[h.sum()]])]])
    rhs = -np.concatenate([k["V"][k["free"]], k["gb"]])
    return A, rhs, XF, form


def pcg_iterations(A, rhs, inv_diag, targets, max_iter=5000):
    """Jacobi-PCG from zero; iterations to each relative (preconditioned) residual."""
    x, r = np.zeros_like(rhs), rhs.copy()
    z = r * inv_diag
    p, rz0 = z.copy(), r @ z
    rz, found, it = rz0, {}, 0
    while it < max_iter and len(found) < len(targets):
        for t in targets:
            if t not in found and rz <= t**2 * rz0:
                found[t] = it
        if len(found) == len(targets):
            break
        q = A @ p
        alpha = rz / (p @ q)
        x += alpha * p
        r -= alpha * q
        z = r * inv_diag
        rz, rz_old = r @ z, rz
        p = z + rz / rz_old * p
        it += 1
    return [found.get(t, f">{max_iter}") for t in targets]


def model_curve(A, rhs, inv_diag, checkpoints=(10, 25, 50, 100, 250),
                max_iter=3000):
    """The CG model decrease ``q(x_i) / q(x*)`` at the checkpoints, and the
    iterations at which Nash and Sofer's rule ``i (q_{i-1} - q_i) / |q_i| <= c``
    stops for c = 0.5 and 0.1 (with the ratio reached there)."""
    q_star = -0.5 * rhs @ np.linalg.solve(A, rhs)
    x, r = np.zeros_like(rhs), rhs.copy()
    z = r * inv_diag
    p, rz = z.copy(), r @ z
    q_prev, curve, stops = 0.0, {}, {}
    for i in range(1, max_iter + 1):
        Ap = A @ p
        alpha = rz / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        q = -0.5 * (rhs + r) @ x  # 1/2 x'Ax - b'x with Ax = b - r
        if i in checkpoints:
            curve[i] = q / q_star
        for c in (0.5, 0.1):
            if c not in stops and i * (q_prev - q) <= c * abs(q):
                stops[c] = (i, q / q_star)
        if len(stops) == 2 and i >= max(checkpoints):
            break
        q_prev = q
        z = r * inv_diag
        rz, rz_old = r @ z, rz
        p = z + rz / rz_old * p
    return curve, stops


def block_jacobi(A, cos, threshold=0.9, max_block=200):
    """Inverse of the block diagonal of ``A`` over the connected components of
    the graph "cosine > threshold" of the free columns (the intercept alone);
    components larger than ``max_block`` fall back to their diagonal."""
    from scipy.sparse.csgraph import connected_components

    n = A.shape[0] - 1
    _, labels = connected_components(sp.csr_matrix(cos > threshold), directed=False)
    blocks = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    inverse = []
    for b in blocks:
        if 1 < b.size <= max_block:
            inverse.append((b, np.linalg.inv(A[np.ix_(b, b)])))
        else:
            inverse.extend((np.array([j]), 1 / A[j, j, None, None]) for j in b)
    inverse.append((np.array([n]), 1 / A[n, n, None, None]))
    sizes = np.array([b.size for b in blocks])

    def apply(r):
        z = np.empty_like(r)
        for b, inv in inverse:
            z[b] = inv @ r[b]
        return z

    return apply, sizes


def pcg_general(A, rhs, precondition, targets, max_iter=5000):
    x, r = np.zeros_like(rhs), rhs.copy()
    z = precondition(r)
    p, rz0 = z.copy(), r @ z
    rz, found, it = rz0, {}, 0
    while it < max_iter:
        for t in targets:
            if t not in found and rz <= t**2 * rz0:
                found[t] = it
        if len(found) == len(targets):
            break
        q = A @ p
        alpha = rz / (p @ q)
        x += alpha * p
        r -= alpha * q
        z = precondition(r)
        rz, rz_old = r @ z, rz
        p = z + rz / rz_old * p
        it += 1
    return [found.get(t, f">{max_iter}") for t in targets]


def variants(A, rhs, inv_diag, cos):
    """CG iterations with other preconditioners and with a damping floor."""
    targets = (0.1, 1e-2)
    apply, sizes = block_jacobi(A, cos)
    big = sizes[sizes > 1]
    print(f"   block-Jacobi (cosine > 0.9 components: {big.size} blocks of "
          f"2-{big.max(initial=0)} columns, {big.sum()} columns): iterations to "
          "0.1 / 1e-2: " + " / ".join(map(str, pcg_general(A, rhs, apply,
                                                          targets))))
    q_star = -0.5 * rhs @ np.linalg.solve(A, rhs)
    n = A.shape[0] - 1
    for mu in (1e-4, 1e-3, 1e-2):
        Ad = A.copy()
        Ad[np.arange(n), np.arange(n)] *= 1 + mu
        step = np.linalg.solve(Ad, rhs)
        q = 0.5 * step @ A @ step - rhs @ step  # the undamped model at it
        its = pcg_iterations(Ad, rhs, 1 / np.diag(Ad), targets)
        print(f"   damping floor {mu:g} x diagonal: iterations to 0.1 / 1e-2: "
              f"{' / '.join(map(str, its))}; its exact step keeps "
              f"{q / q_star:.3f} of the Newton model decrease")


def analyse(k, one_pass, nnz_X, extra):
    A, rhs, XF, form = system_matrix(k)
    inv_diag = np.concatenate([k["inv_diag"][k["free"]], k["inv_b"]])
    iterations = pcg_iterations(A, rhs, inv_diag, (0.1, 1e-2, 1e-3))
    d = np.sqrt(inv_diag)
    eig = np.linalg.eigvalsh(d[:, None] * A * d[None, :])
    cols = sp.csc_matrix(XF.multiply(
        1 / np.maximum(np.sqrt(XF.multiply(XF).sum(axis=0)), 1e-300)))
    cos = (cols.T @ cols).toarray()
    np.fill_diagonal(cos, 0)
    start = time.perf_counter()
    scipy.linalg.cho_factor(A, overwrite_a=False, check_finite=False)
    chol = time.perf_counter() - start
    n_free = int(k["free"].sum())
    print(f"round {k['round']}: block {k['block'].shape[1]} columns, {n_free} free "
          f"({XF.nnz / nnz_X:.1%} of nnz(X): one CG iteration = "
          f"{XF.nnz / nnz_X:.2f} passes); solver forcing {k['forcing']:.0e}")
    print("   Jacobi-PCG iterations to 0.1 / 1e-2 / 1e-3: "
          + " / ".join(map(str, iterations)))
    print(f"   Jacobi-scaled spectrum: max {eig[-1]:.3g}, min {eig[0]:.3g}, "
          f"condition {eig[-1] / max(eig[0], 1e-300):.3g}; eigenvalues below "
          f"1e-2 max: {(eig < 1e-2 * eig[-1]).sum()}, 1e-4: "
          f"{(eig < 1e-4 * eig[-1]).sum()}, 1e-6: {(eig < 1e-6 * eig[-1]).sum()}")
    print(f"   near-duplicate free columns: pairs with cosine > 0.9: "
          f"{int((cos > 0.9).sum() // 2)}, > 0.99: {int((cos > 0.99).sum() // 2)}; "
          f"columns with a partner > 0.9: {int((cos > 0.9).any(axis=0).sum())}")
    curve, stops = model_curve(A, rhs, inv_diag)
    print("   CG model decrease q_i / q*: " + ", ".join(
        f"{i} it. {v:.3f}" for i, v in curve.items()) + "; Nash-Sofer stops: "
        + ", ".join(f"c={c}: {i} it. ({v:.3f})" for c, (i, v) in stops.items()))
    print(f"   exact solve: Hessian {form:.3f} s + Cholesky {chol:.3f} s = "
          f"{(form + chol) / one_pass:.0f} passes (one pass {one_pass * 1e3:.1f} ms)")
    if extra:
        variants(A, rhs, inv_diag, cos)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="real-binary",
                        choices=[*_real_text.TASKS, "small"])
    parser.add_argument("--C", type=float, default=10.0)
    parser.add_argument("--l1-ratio", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--rounds", default="4,5,finish",
                        help="rounds whose Newton systems are analysed")
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--variants", action="store_true",
                        help="also block-Jacobi and damping floors")
    args = parser.parse_args(argv)
    if args.workload == "small":
        X, y = make_text_like(20_000, 50_000, random_state=0)
    else:
        X, y, _ = _real_text.load(args.workload)
    keep = {r if r == "finish" else int(r) for r in args.rounds.split(",")}
    install(keep, args.per_round)
    ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio, tol=args.tol,
                         max_iter=1000).fit(X, y)
    one_pass = time_one_pass(X)
    print(f"{args.workload}: {X.shape[0]} x {X.shape[1]}, C={args.C}, "
          f"l1_ratio={args.l1_ratio}, tol={args.tol}")
    for k in KEPT:
        analyse(k, one_pass, X.nnz, args.variants)


if __name__ == "__main__":
    main()
