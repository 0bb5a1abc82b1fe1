"""Where a gated fit's passes go, and what gap-safe screening could certify.

A diagnostic, not a benchmark: it wraps private functions of
``chinchilla_sklearn._gate``, ``_solver`` and ``_kernels`` (monkeypatching, at
run time only; the package is not changed) and prints, for one fit:

1. per outer round (and its finishing solve): working-set size, support,
   Newton steps, CG iterations, line-search trials, proximal fallbacks, face
   re-solves, and the passes over the data by kind of product (one pass =
   ``X @ w`` plus ``X.T @ r`` on all of X: a product on a block of columns
   counts its stored entries over 2 nnz(X));
2. per round, the gap-safe screening test as ``_gate._screen`` makes it: the
   rescaling ``t``, the duality gap, the radius, and how many zero features
   are how far (in units of the radius) from their dual constraint; then the
   same test with other dual points: the optimum's residual (an oracle: what
   the primal gap alone allows), the best dual point so far, and Celer's
   extrapolated one (Massias et al. 2018: the last K residuals of the
   Newton iterates);
3. the working-set choice: how much of the final support the round's
   working set holds, against a working set of the same size ranked by the
   distance to the dual constraint, ``(l1 - t |x_j^T R|) / ||x_j||``.

The optimum comes from a first, tight fit (``--reference-tol``). Binary only
(multinomial: rounds and passes, no dual points).

    python benchmarks/diagnose_gate.py --workload real-binary --C 10 --tol 1e-6
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
import scipy.sparse as sp  # noqa: E402
from chinchilla_sklearn import ChinchillaClassifier  # noqa: E402
from scipy.special import entr, expit  # noqa: E402

import _real_text  # noqa: E402
from _data import make_text_like  # noqa: E402

EXTRAPOLATION_K = 5  # residuals used by the extrapolation (Celer's default)
DISTANCES = (0.1, 0.5, 1.0, 2.0, 10.0)  # in units of the radius


class Trace:
    """Counters of one fit, grouped by the current context."""

    def __init__(self, nnz_X):
        self.nnz_X = nnz_X
        self.context = ["solver"]
        self.reset()
        self.rounds = []
        self.screens = []
        self.residuals = []  # R after each Newton step and round (extrapolation)

    def reset(self):
        self.passes = defaultdict(float)
        self.counts = defaultdict(int)
        self.start = time.perf_counter()

    def product(self, block_X, kind):
        nnz = block_X.nnz if hasattr(block_X, "nnz") else np.count_nonzero(block_X)
        self.passes[f"{self.context[-1]}:{kind}"] += nnz / (2 * self.nnz_X)

    def within(self, name, fn, *args, **kwargs):
        self.context.append(name)
        try:
            return fn(*args, **kwargs)
        finally:
            self.context.pop()


TRACE = None


def install():
    """Wrap the private functions of the gate, solver and kernels (at run time)."""
    block = _kernels.Block
    for name, kind in (("matmul", "X@w"), ("rmatmul", "X.T@r"),
                       ("squared_rmatmul", "(X*X).T@d")):
        original = getattr(block, name)

        def wrapped(self, A, original=original, kind=kind):
            TRACE.product(self.X, kind)
            return original(self, A)

        setattr(block, name, wrapped)

    def counted(name, fn, context=None):
        def wrapped(*args, **kwargs):
            TRACE.counts[name] += 1
            if context is None:
                return fn(*args, **kwargs)
            return TRACE.within(context, fn, *args, **kwargs)
        return wrapped

    cg = _solver._conjugate_gradient

    def conjugate_gradient(hessian_product, *args, **kwargs):
        def product(*a, **k):
            TRACE.counts["CG iterations"] += 1
            return hessian_product(*a, **k)
        TRACE.counts["CG solves"] += 1
        return TRACE.within("cg", cg, product, *args, **kwargs)

    _solver._conjugate_gradient = conjugate_gradient
    _solver._line_search = counted("Newton steps", _solver._line_search,
                                   "line_search")
    _solver._proximal_gradient_step = counted(
        "prox fallbacks", _solver._proximal_gradient_step, "prox")
    _solver._scores_in_range = counted("trials", _solver._scores_in_range)
    newton_init = _solver._NewtonSystem.__init__

    def init(self, *args, **kwargs):
        return TRACE.within("precondition", newton_init, self, *args, **kwargs)

    _solver._NewtonSystem.__init__ = init
    move = _solver.State.move

    def state_move(self, *args, **kwargs):
        move(self, *args, **kwargs)
        TRACE.residuals.append(self.R)
        del TRACE.residuals[:-EXTRAPOLATION_K - 1]

    _solver.State.move = state_move
    solve_round = _gate._solve_round

    def round_(problem, state, G_loss, ws, kernel, tol, max_steps, result, *,
               polish, exact=False, damping_unit=1.0):
        TRACE.reset()
        out = solve_round(problem, state, G_loss, ws, kernel, tol, max_steps,
                          result, polish=polish, exact=exact,
                          damping_unit=damping_unit)
        if not (ws is None and not polish):
            TRACE.passes["gate:X.T@r"] += 0.5  # the full gradient after the solve
        new_state = out[0]
        TRACE.residuals.append(new_state.R)
        del TRACE.residuals[:-EXTRAPOLATION_K - 1]
        TRACE.rounds.append({
            "finish": exact, "ws": out[3], "steps": out[2],
            "support": int(np.any(new_state.W != 0, axis=1).sum()),
            "ws_index": None if ws is None else np.asarray(ws),
            "passes": dict(TRACE.passes), "counts": dict(TRACE.counts),
            "time": time.perf_counter() - TRACE.start,
        })
        return out

    _gate._solve_round = round_
    screen = _gate._screen

    def screen_(problem, state, G_loss, norms):
        certified = screen(problem, state, G_loss, norms)
        if problem.Y.shape[1] == 1:
            TRACE.screens.append(screen_stats(problem, state, G_loss, norms,
                                              certified))
        return certified

    screen_.__wrapped__ = screen
    _gate._screen = screen_


# ---------------------------------------------------------------- what-if


PRECONDITIONER = {"blocks": None, "cache": {}, "gram_time": 0.0}


def near_duplicate_groups(block_X, threshold):
    """Labels of the connected components of "cosine > threshold" (block columns).

    Computed once per block (per round) from the exact Gram of the columns;
    its time is reported apart (a MinHash of the columns' row sets would find
    the same groups in about one pass).
    """
    from scipy.sparse.csgraph import connected_components

    cache = PRECONDITIONER["cache"]
    if id(block_X) not in cache:
        start = time.perf_counter()
        Xc = sp.csc_matrix(block_X)
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0))[0])
        Xn = sp.csc_matrix(Xc.multiply(1 / np.maximum(norms, 1e-300)))
        gram = sp.csr_matrix(Xn.T @ Xn)
        gram.data[gram.data <= threshold] = 0
        gram.eliminate_zeros()
        _, labels = connected_components(gram, directed=False)
        cache.clear()
        cache[id(block_X)] = (block_X, Xc, labels)  # holds block_X: id stays unique
        PRECONDITIONER["gram_time"] += time.perf_counter() - start
    return cache[id(block_X)][1:]


def install_block_jacobi(threshold=0.9, max_block=50):
    """What-if: block-Jacobi CG preconditioner over groups of near-duplicate columns.

    Replaces ``_solver._conjugate_gradient`` by a copy whose preconditioner
    inverts, besides the diagonal, the Hessian blocks of the free columns of
    each group (a component of the graph "cosine > threshold", at most
    ``max_block`` columns). Binary only.
    """
    solve = _solver._NewtonSystem.solve

    def solve_(self, V, gb, free, forcing, start=None):
        Xc, labels = near_duplicate_groups(self.block.X, threshold)
        mask = np.ones(V.shape[0], bool) if free is True else free[:, 0]
        h = self.state.curvature[:, 0].astype(np.float64)
        ridge = np.broadcast_to(self.ridge, V.shape)[:, 0]
        free_labels = np.where(mask, labels, -1)
        order = np.argsort(free_labels, kind="stable")
        bounds = np.flatnonzero(np.diff(free_labels[order])) + 1
        blocks = []
        for g in np.split(order, bounds):
            if 1 < g.size <= max_block and free_labels[g[0]] >= 0:
                Xg = Xc[:, g]
                TRACE.product(Xg, "(X*X).T@d")  # the block's Hessian: about once
                Hg = (Xg.T @ Xg.multiply(h[:, None])).toarray()
                Hg[np.diag_indices_from(Hg)] += ridge[g]
                blocks.append((g, np.linalg.inv(Hg)))
        PRECONDITIONER["blocks"] = blocks
        try:
            return solve(self, V, gb, free, forcing, start)
        finally:
            PRECONDITIONER["blocks"] = None

    _solver._NewtonSystem.solve = solve_
    _solver._conjugate_gradient = _block_conjugate_gradient


def _block_conjugate_gradient(hessian_product, rhs, inv_diag, forcing, start=None):
    """``_solver._conjugate_gradient`` with the block preconditioner (a copy)."""

    def dot(x, y):
        return float(np.vdot(x[0], y[0]) + np.vdot(x[1], y[1]))

    def precondition(out):
        for zi, ri, di in zip(out, r, inv_diag):
            np.multiply(ri, di, out=zi, casting="same_kind")
        for g, inverse in PRECONDITIONER["blocks"] or ():
            out[0][g, 0] = inverse @ r[0][g, 0]
        return out

    r = rhs
    q = precondition(tuple(np.empty_like(ri) for ri in r))
    rz = dot(r, q)
    stop = forcing**2 * rz
    if start is None:
        x = tuple(np.zeros_like(ri) for ri in r)
    else:
        x = start
        hessian_product(*x, out=q)
        for ri, qi in zip(r, q):
            ri -= qi
        rz = dot(r, precondition(q))
    p = tuple(qi.copy() for qi in q)
    for _ in range(_solver.MAX_CG_ITER):
        if rz <= stop:
            break
        hessian_product(*p, out=q)
        curvature = dot(p, q)
        if not curvature > 0:
            break
        alpha = rz / curvature
        for xi, ri, pi, qi in zip(x, r, p, q):
            qi *= alpha
            ri -= qi
            np.multiply(pi, alpha, out=qi)
            xi += qi
        precondition(q)
        rz, rz_old = dot(r, q), rz
        for pi, qi in zip(p, q):
            pi *= rz / rz_old
            pi += qi
    if not np.any(x[0]) and not np.any(x[1]):
        return precondition(q)
    return x


def set_constants(assignments):
    """What-if: ``module.NAME=value`` assignments, e.g. ``_gate.NEW_PER_SUPPORT=1``."""
    modules = {"_gate": _gate, "_solver": _solver, "_kernels": _kernels}
    for assignment in assignments:
        target, value = assignment.split("=")
        module, name = target.split(".")
        old = getattr(modules[module], name)
        setattr(modules[module], name, type(old)(value))
        print(f"what-if: {target} = {value} (was {old})")


# ---------------------------------------------------------------- the dual


def dual_value(problem, theta):
    """D(theta) = sum_i s_i H(y_i - theta_i / s_i) - conj(X^T theta) (binary).

    ``theta`` must be dual feasible (``q`` in [0, 1], ``sum theta = 0``); the
    penalty's conjugate is added by the caller. ``theta = -t R`` gives
    ``q = y + t (p - y)``, as ``_loss.SigmoidLoss.dual_value``.
    """
    s, y = problem.s[:, 0], problem.Y[:, 0]  # both (n_samples, 1) here
    q = np.clip(y - theta / s, 0.0, 1.0)
    return float(s @ (entr(q) + entr(1 - q)))


def rescaled(problem, r, XTr):
    """The dual point ``-t r``, ``t`` rescaling into the constraint (and its value)."""
    penalty = problem.penalty
    corr = np.abs(XTr)
    t = 1.0
    if penalty.l2 == 0:
        t = min(1.0, penalty.l1 / max(corr.max(), 1e-300))
    value = dual_value(problem, -t * r) - penalty.conjugate(t * XTr[:, None])
    return t, value, t * corr


def extrapolate(residuals):
    """Celer's extrapolation of the last residuals (None if ill-posed)."""
    if len(residuals) < EXTRAPOLATION_K + 1:
        return None
    R = np.stack([r[:, 0] for r in residuals[-EXTRAPOLATION_K - 1:]])
    U = np.diff(R, axis=0)
    try:
        z = np.linalg.solve(U @ U.T, np.ones(EXTRAPOLATION_K))
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(z).all() or z.sum() == 0:
        return None
    c = z / z.sum()
    return (c @ R[1:])[:, None]


def project_box(problem, r):
    """Project the residual ``r`` onto the logistic dual's domain.

    Each ``r_i / s_i`` must lie in its label's box ([-1, 0] for y=1, [0, 1]
    for y=0: ``q = y + r / s`` in [0, 1]) and ``sum r = 0`` (the intercept);
    the projection clips ``r / s - c`` into the boxes with the shift ``c``
    that makes the sum vanish (bisection: the sum falls as ``c`` grows).
    Extrapolated residuals leave the boxes where ``p`` is near ``y``.
    """
    if r is None:
        return None
    s, y = problem.s[:, 0], problem.Y[:, 0]
    a = r[:, 0] / s
    low, high = np.where(y == 1, -1.0, 0.0), np.where(y == 1, 0.0, 1.0)

    def total(c):
        return float(s @ np.clip(a - c, low, high))

    lo, hi = -2.0, 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if total(mid) > 0 else (lo, mid)
    return (s * np.clip(a - 0.5 * (lo + hi), low, high))[:, None]


REFERENCE = {}


def screen_stats(problem, state, G_loss, norms, certified):
    """The screening test with the gate's dual point and with others."""
    X, penalty, loss = problem.X, problem.penalty, problem.loss
    L = loss.curvature_bound * float(problem.s.max())
    primal = _gate.objective_value(problem, state.loss_value, state.W)
    zero = ~np.any(state.W != 0, axis=1)
    g = G_loss[:, 0]
    out = {"primal_gap": (primal - REFERENCE["objective"]) / abs(primal),
           "certified": int(certified.sum()), "zero": int(zero.sum())}
    candidates = {"gate": (state.R, g)}
    accel = project_box(problem, extrapolate(TRACE.residuals))
    if accel is not None:
        candidates["extrapolated"] = (accel, np.asarray(X.T @ accel)[:, 0])
    candidates["oracle"] = (REFERENCE["R"], REFERENCE["XTR"])
    best = REFERENCE.get("best_dual")
    for name, (r, XTr) in candidates.items():
        t, dual, corr = rescaled(problem, r[:, 0], XTr)
        gap = max(primal - dual, 0.0)
        radius = np.sqrt(2 * gap * L)
        distance = (penalty.l1 - corr) / np.maximum(norms, 1e-300)  # to the boundary
        n_zero_safe = int(((distance > radius) & zero).sum())
        # theta - theta* sums to zero (intercept), so the column's mean can go
        centred = (penalty.l1 - corr) / np.maximum(REFERENCE["centred_norms"], 1e-300)
        stats = {"t": t, "gap": gap / abs(primal), "radius": radius,
                 "screened": n_zero_safe,
                 "centred": int(((centred > radius) & zero).sum())}
        stats["within"] = [int(((distance <= k * radius) & zero).sum())
                           for k in DISTANCES]
        out[name] = stats
        if name != "oracle" and (best is None or dual > best[0]):
            best = (dual, t, r, XTr)
        if name == "gate":
            out["distance"] = distance
    REFERENCE["best_dual"] = best
    dual, t, r, XTr = best
    gap = max(primal - dual, 0.0)
    radius = np.sqrt(2 * gap * L)
    distance = (penalty.l1 - t * np.abs(XTr)) / np.maximum(norms, 1e-300)
    out["best so far"] = {"t": t, "gap": gap / abs(primal), "radius": radius,
                          "screened": int(((distance > radius) & zero).sum())}
    out["best_distance"] = distance
    return out


# ---------------------------------------------------------------- run


def load(args):
    if args.workload in _real_text.TASKS:
        X, y, _ = _real_text.load(args.workload)
    else:
        n, p = {"small": (20_000, 50_000), "large": (100_000, 500_000)}[args.workload]
        X, y = make_text_like(n, p, random_state=0)
    return X, y


def reference(X, y, args):
    est = ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio,
                               tol=args.reference_tol, max_iter=10_000).fit(X, y)
    if est.coef_.shape[0] > 1:  # multinomial: the optimum only
        from _measure import objective

        return {"objective": objective(est.coef_, est.intercept_, X, y, args.C,
                                       args.l1_ratio),
                "support": np.flatnonzero(np.any(est.coef_ != 0, axis=0)),
                "XTR": np.zeros(X.shape[1])}
    w, b = est.coef_[0], est.intercept_[0]
    z = X @ w + b
    s = args.C * np.ones(X.shape[0])
    R = s * (expit(z) - (y == y.max()))
    loss = float(s @ (np.logaddexp(0, z) - (y == y.max()) * z))
    objective = loss + (1 - args.l1_ratio) / 2 * w @ w + args.l1_ratio * np.abs(w).sum()
    support = np.flatnonzero(w)
    Xc = X.tocsc()
    norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0))[0])
    means = np.asarray(Xc.sum(axis=0))[0] / X.shape[0]
    centred = np.sqrt(np.maximum(norms**2 - X.shape[0] * means**2, 0))
    return {"objective": objective, "R": R[:, None], "XTR": X.T @ R,
            "support": support, "w": w, "centred_norms": centred, "norms": norms}


def final_screen(est, X, y, args):
    """The screening test at the returned solution (after the finishing solve)."""
    from types import SimpleNamespace

    problem = ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio)._problem(
        X, y, None)
    problem = _gate.replace(problem, X=X.tocsc())
    W = est.coef_.T.copy()
    Z = np.asarray(X @ W) + est.intercept_
    loss_value, R, _ = problem.loss.derivatives(problem.Y, Z, problem.s)
    state = SimpleNamespace(W=W, Z=Z, R=R, loss_value=loss_value)
    norms = _kernels.column_norms(problem.X)
    G_loss = np.asarray(X.T @ R)
    certified = _gate._screen.__wrapped__(problem, state, G_loss, norms)
    TRACE.screens.append(screen_stats(problem, state, G_loss, norms, certified))
    TRACE.screens[-1]["final"] = True


def certificate_ladder(X, y, args, tols):
    """Per tol: the primal gap, the violation, and the gap the gate's dual certifies.

    Without instrumentation (call before `install`). The certified gap is the
    relative duality gap of the rescaled residual ``-t R`` (``_gate._screen``'s
    dual point); ``1 - t`` is the largest violation relative to ``l1``.
    """
    problem = ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio)._problem(
        X, y, None)
    L = problem.loss.curvature_bound * float(problem.s.max())
    norms = _kernels.column_norms(X.tocsc())
    print("\n== the gate's dual point at the returned solution, by tol")
    print(f"{'tol':>7} {'time':>6} {'primal gap':>10} {'1 - t':>9} {'violators':>9} "
          f"{'certified':>9} {'radius':>8} {'screened':>9} {'oracle scr.':>11} "
          f"{'||w||_1/P':>9}")
    for tol in tols:
        start = time.perf_counter()
        est = ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio, tol=tol,
                                   max_iter=1000).fit(X, y)
        elapsed = time.perf_counter() - start
        W = est.coef_.T.copy()
        Z = np.asarray(X @ W) + est.intercept_
        loss_value, R, _ = problem.loss.derivatives(problem.Y, Z, problem.s)
        g = np.asarray(X.T @ R)[:, 0]
        primal = _gate.objective_value(problem, loss_value, W)
        t, dual, corr = rescaled(problem, R[:, 0], g)
        gap = max(primal - dual, 0.0)
        radius = np.sqrt(2 * gap * L)
        zero = W[:, 0] == 0
        screened = int((((problem.penalty.l1 - corr) / norms > radius) & zero).sum())
        oracle_radius = np.sqrt(2 * max(primal - REFERENCE["objective"], 0) * L)
        oracle = int((((problem.penalty.l1 - np.abs(REFERENCE["XTR"])) / norms
                       > oracle_radius) & zero).sum())
        violators = int(((np.abs(g) > problem.penalty.l1) & zero).sum())
        print(f"{tol:>7.0e} {elapsed:>6.2f} "
              f"{(primal - REFERENCE['objective']) / abs(primal):>10.2e} "
              f"{1 - t:>9.2e} {violators:>9} {gap / abs(primal):>9.2e} "
              f"{radius:>8.2e} {screened:>9} {oracle:>11} "
              f"{np.abs(W).sum() / primal:>9.3f}")


def cached_reference(X, y, args):
    """`reference`, kept in the benchmark cache (keyed by the problem)."""
    key = f"{args.workload}-{X.shape[0]}x{X.shape[1]}-{X.nnz}-C{args.C:g}-" \
          f"l1{args.l1_ratio:g}-tol{args.reference_tol:g}"
    path = _real_text.cache_root() / f"diagnose-reference-{key}.npz"
    if path.exists():
        with np.load(path) as saved:
            return {k: (float(v) if v.ndim == 0 else v) for k, v in saved.items()}
    ref = reference(X, y, args)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **ref)
    return ref


def print_rounds(trace, support):
    kinds = sorted({k for r in trace.rounds for k in r["passes"]})
    print("\n== rounds: passes over the data by product, and solver counts")
    head = (f"{'rnd':>4} {'ws':>6} {'supp':>5} {'in S*':>6} {'steps':>5} "
            f"{'CG':>5} {'trials':>6} {'prox':>4} {'time':>6} {'passes':>7}  by kind")
    print(head)
    totals = defaultdict(float)
    for i, r in enumerate(trace.rounds):
        c = r["counts"]
        in_final = "-" if r["ws_index"] is None else str(
            np.intersect1d(r["ws_index"], support).size)
        total = sum(r["passes"].values())
        for k, v in r["passes"].items():
            totals[k] += v
        by_kind = ", ".join(f"{k} {r['passes'][k]:.1f}" for k in kinds
                            if r["passes"].get(k, 0) >= 0.05)
        tag = "f" if r["finish"] else str(i + 1 - sum(x["finish"] for x in
                                                     trace.rounds[:i]))
        print(f"{tag:>4} {r['ws']:>6} {r['support']:>5} {in_final:>6} "
              f"{r['steps']:>5} {c.get('CG iterations', 0):>5} "
              f"{c.get('trials', 0):>6} {c.get('prox fallbacks', 0):>4} "
              f"{r['time']:>6.2f} {total:>7.1f}  {by_kind}")
    print(f"total passes {sum(totals.values()):.1f}: " + ", ".join(
        f"{k} {v:.1f}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1])))


def print_screens(trace, support, n_features):
    print("\n== screening, per round (before the round's solve); distances to the "
          "dual constraint in units of the radius")
    for i, s in enumerate(trace.screens):
        tag = "at the solution" if s.get("final") else f"round {i + 1}"
        print(f"{tag}: primal gap {s['primal_gap']:.2e}, zero features "
              f"{s['zero']}, certified by _screen {s['certified']}")
        for name in ("gate", "extrapolated", "best so far", "oracle"):
            if name not in s:
                continue
            v = s[name]
            within = ""
            if "within" in v:
                within = "  zero feats within " + ", ".join(
                    f"{k:g}r: {n}" for k, n in zip(DISTANCES, v["within"]))
            centred = f" ({v['centred']} centred)" if "centred" in v else ""
            print(f"   {name:<13} t={v['t']:.6f} gap {v['gap']:.2e} "
                  f"radius {v['radius']:.3e} screened {v['screened']}{centred}"
                  f"{within}")


def print_selection(trace, support, args):
    print("\n== working sets: final support held, by violation (the gate) and by "
          "the distance to the dual constraint (same size)")
    rounds = [r for r in trace.rounds if not r["finish"]]
    screens = [s for s in trace.screens if not s.get("final")]
    norms = REFERENCE["norms"]
    oracle_distance = (args.l1_ratio - np.abs(REFERENCE["XTR"])) / np.maximum(
        norms, 1e-300)
    for i, (r, s) in enumerate(zip(rounds, screens)):
        if r["ws_index"] is None:
            continue
        size = r["ws"]
        by_distance = np.argsort(s["distance"], kind="stable")[:size]
        by_best = np.argsort(s["best_distance"], kind="stable")[:size]
        by_oracle = np.argsort(oracle_distance, kind="stable")[:size]
        by_oracle_corr = np.argsort(-np.abs(REFERENCE["XTR"]), kind="stable")[:size]
        held = np.intersect1d(r["ws_index"], support).size
        print(f"round {i + 1}: ws {size}: holds {held} of {support.size} (gate), "
              f"{np.intersect1d(by_distance, support).size} (distance, gate's dual), "
              f"{np.intersect1d(by_best, support).size} (distance, best dual), "
              f"{np.intersect1d(by_oracle, support).size} (distance, optimal dual), "
              f"{np.intersect1d(by_oracle_corr, support).size} "
              "(|x_j^T theta*|, optimal dual)")


def main(argv=None):
    global TRACE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="real-binary",
                        choices=[*_real_text.TASKS, "small", "large"])
    parser.add_argument("--C", type=float, default=10.0)
    parser.add_argument("--l1-ratio", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--gate", choices=["on", "off"], default="on")
    parser.add_argument("--reference-tol", type=float, default=1e-10)
    parser.add_argument("--set", action="append", default=[],
                        help="what-if: module.NAME=value, e.g. _gate.NEW_PER_SUPPORT=1")
    parser.add_argument("--precondition", choices=["jacobi", "block"],
                        default="jacobi", help="what-if: block-Jacobi over "
                        "near-duplicate columns (binary)")
    parser.add_argument("--block-threshold", type=float, default=0.9)
    parser.add_argument("--certify", default="",
                        help="comma-separated tols: only the certificate ladder")
    args = parser.parse_args(argv)
    X, y = load(args)
    print(f"{args.workload}: {X.shape[0]} x {X.shape[1]}, nnz {X.nnz}; C={args.C}, "
          f"l1_ratio={args.l1_ratio}, tol={args.tol}, gate={args.gate}")
    start = time.perf_counter()
    REFERENCE.update(cached_reference(X, y, args))
    print(f"reference (tol={args.reference_tol:g}, {time.perf_counter() - start:.1f}"
          f" s): objective {REFERENCE['objective']:.12e}, features used "
          f"{REFERENCE['support'].size}, max |x_j^T R*| = "
          f"{np.abs(REFERENCE['XTR']).max():.9f}, empty columns "
          f"{int((np.diff(X.tocsc().indptr) == 0).sum())}")
    if args.certify:
        certificate_ladder(X, y, args, [float(t) for t in args.certify.split(",")])
        return
    set_constants(args.set)
    if args.precondition == "block":
        install_block_jacobi(args.block_threshold)
    install()
    TRACE = Trace(X.nnz)
    est = ChinchillaClassifier(C=args.C, l1_ratio=args.l1_ratio, tol=args.tol,
                               gate=args.gate == "on", max_iter=1000)
    start = time.perf_counter()
    est.fit(X, y)
    elapsed = time.perf_counter() - start
    objective = REFERENCE["objective"]
    from _measure import objective as measure

    f = measure(est.coef_, est.intercept_, X, y, args.C, args.l1_ratio)
    print(f"fit: {elapsed:.2f} s (instrumented), n_iter {est.n_iter_}, relative gap "
          f"{(f - objective) / abs(objective):.2e}, nnz {np.count_nonzero(est.coef_)}")
    if est.coef_.shape[0] == 1:
        final_screen(est, X, y, args)
    if args.precondition == "block":
        print(f"block-Jacobi: Gram of the working sets (not counted in passes) "
              f"{PRECONDITIONER['gram_time']:.2f} s")
    print_rounds(TRACE, REFERENCE["support"])
    if TRACE.screens:
        print_screens(TRACE, REFERENCE["support"], X.shape[1])
        print_selection(TRACE, REFERENCE["support"], args)


if __name__ == "__main__":
    main()
