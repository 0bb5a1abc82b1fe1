"""Link and loss: values, residuals and Hessian products of the three models.

Every loss works on the linear predictor ``Z = X @ W + b`` of shape
(n_samples, n_outputs), a target ``Y`` of the same shape (0/1 indicators; for
the softmax a :class:`ClassLabels`, the labels standing for the one-hot matrix) and
weights ``s`` (which already contain ``C``): per sample and output, of shape
(n_samples, n_outputs) or (n_samples, 1), for the sigmoid loss; per sample,
of shape (n_samples,), for the softmax. The residual
``R = d loss / d Z`` gives the gradient ``X.T @ R``; the curvature returned by
:meth:`derivatives` gives Hessian products ``X.T @ hessian_product(curv, X @ D)``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import entr, expit


def log1pexp(z):
    """Return ``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _log1pexp_tail(z, out):
    """Write ``log1p(exp(-|z|))`` (``log1pexp(z) - max(z, 0)``) into ``out``."""
    np.abs(z, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    return np.log1p(out, out=out)


def log_softmax(Z):
    """Return ``Z - logsumexp(Z, axis=1)``, shifted by the row maximum for stability."""
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _columns(s):
    """Return per-sample weights as a column, to broadcast against ``Z``."""
    return s[:, None] if s.ndim == 1 else s


# Row-wise reductions (softmax loss values, the dual) run over chunks of rows
# with at most this many entries, so their temporaries stay small whatever the
# number of classes.
CHUNK_ENTRIES = 2**17


def _row_chunks(n_rows, n_columns):
    """Yield slices of rows covering ``n_rows``, each of <= CHUNK_ENTRIES entries."""
    step = max(1, CHUNK_ENTRIES // max(n_columns, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


class SigmoidLoss:
    """One sigmoid per output, losses summed (binary and multilabel models).

    ``loss(y, z) = log(1 + exp(z)) - y * z``, weighted entrywise by ``s``
    (broadcast against ``Z``). Its second derivative is at most 1/4, the
    smoothness constant used by safe screening.
    """

    curvature_bound = 0.25

    def value(self, Y, Z, s):
        """Return ``sum_ik s_ik loss(Y_ik, Z_ik)``.

        With ``Y`` in {0, 1} the loss is ``log1pexp(M)`` of the signed score
        ``M = (1 - 2 Y) * Z``: no ``Z`` is added and subtracted, so a sample
        classified with margin ``m`` has its loss ``~exp(-m)`` to a relative
        precision, not to ``eps * m`` (``log1pexp(Z) - Y * Z`` lost it: at
        scores of ~800 and C=1e4 the objective's rounding error grew to 1e-11
        and hid a Newton step's decrease from the line search). Made in place
        in two temporaries of the shape of ``Z``.
        """
        dtype = np.result_type(Z, Y)
        signed = np.multiply(Y, -2, out=np.empty_like(Z, dtype=dtype))
        signed += 1
        signed *= Z
        losses = _log1pexp_tail(signed, out=np.empty_like(signed))
        np.maximum(signed, 0, out=signed)
        losses += signed  # log1pexp(M)
        del signed
        losses *= _columns(s)
        return float(losses.sum())

    def derivatives(self, Y, Z, s, value=None):
        """Return the loss value, the residual ``R`` and the curvature.

        ``R = s * (P - Y)`` and ``curvature = s * P * (1 - P)``, ``P =
        expit(Z)``, made in place (one temporary). ``value``, the loss value
        at ``Z`` if known (a line search's accepted point), is not computed
        again.
        """
        s = _columns(s)
        if value is None:
            value = self.value(Y, Z, s)
        R = expit(Z)  # P
        curvature = np.multiply(s, R)
        temporary = np.subtract(1, R)
        curvature *= temporary
        del temporary
        R -= Y
        R *= s
        return value, R, curvature

    def hessian_product(self, curvature, Zd):
        """Return ``d R / d Z`` applied to a direction ``Zd``, written into ``Zd``."""
        return np.multiply(curvature, Zd, out=Zd)

    def hessian_diagonal(self, curvature):
        """Return per-sample weights of the diagonal of ``X.T @ H @ X``."""
        return curvature

    def target_mass(self, Y, s):
        """Return ``sum_i s_i y_ik`` and ``sum_i s_i`` per output, in float64."""
        s = _columns(s)  # (einsum broadcasts a column itself)
        return (np.einsum("ik,ik->k", s, Y, dtype=np.float64),
                s.sum(axis=0, dtype=np.float64))

    def null_intercept(self, Y, s):
        """Return the intercept that minimises the loss at zero weights, or None.

        Each output's log-odds ``log(sum_i s_i y_i / sum_i s_i (1 - y_i))``;
        None when an output has weight on one class only (the minimum is then
        at infinity).
        """
        positive, total = self.target_mass(Y, s)
        negative = total - positive
        if not (np.all(positive > 0) and np.all(negative > 0)):
            return None
        return np.log(positive) - np.log(negative)

    def intercept_step(self, R, curvature):
        """Return the Newton step on the intercept alone."""
        return -R.sum(axis=0) / np.maximum(curvature.sum(axis=0), 1e-300)

    def intercept_mix(self, R, mass):
        """Return ``(a, u)``: the dual point ``q = (1 - a) * p + a * u`` balanced.

        With an intercept the dual point ``theta = s * (q - y)`` must sum to
        zero over the samples (per output); ``R = s * (p - y)`` sums to the
        intercept gradient ``g``. For each output the smallest ``a`` in [0, 1]
        and a ``u`` in [0, 1] that balance it: ``u = 0``, ``a = g / sum_i s_i
        p_i`` when ``g > 0`` (the probabilities shrink), ``u = 1``, ``a = -g /
        sum_i s_i (1 - p_i)`` when ``g < 0``; so ``q`` stays in [0, 1].
        ``mass`` is :meth:`target_mass` of the targets and weights.
        """
        g = R.sum(axis=0, dtype=np.float64)
        targets, total = mass
        positive = g + targets  # sum_i s_i p_i
        shrinking = np.where(g > 0, positive, total - positive)
        a = np.minimum(np.abs(g) / np.maximum(shrinking, np.finfo(np.float64).tiny),
                       1.0)
        return a, (g < 0).astype(np.float64)

    def dual_value(self, Y, R, s, t, mix=None):
        """Return ``-sum_i F_i*(-theta_i)`` at the dual point ``theta = t * R``.

        The conjugate of ``s * loss(y, .)`` at ``-theta`` is ``-s * H(q)``, ``H``
        the binary entropy and ``q = y + t * (p - y)`` in [0, 1], ``p = y + R /
        s`` (``y`` where ``s = 0``: those samples count 0); with ``mix = (a,
        u)`` (:meth:`intercept_mix`), ``p`` is first replaced by ``(1 - a) * p
        + a * u``. Computed in float64, a chunk of rows at a time.
        """
        a, u = (0.0, 0.0) if mix is None else mix
        s = _columns(s)
        if s.shape != R.shape:  # (np.broadcast_to costs 4 us a call: only if needed)
            s = np.broadcast_to(s, R.shape)
        scale, shift = t * (1 - a), t * a * u  # q = scale * p + shift + (1 - t) y
        value = 0.0
        for rows in _row_chunks(*R.shape):
            s_rows = s[rows]
            Q = np.divide(R[rows], s_rows, out=np.zeros(s_rows.shape),
                          where=s_rows > 0)  # in float64
            Q += Y[rows]  # p
            Q *= scale
            Q += shift
            if t != 1:
                Q += (1 - t) * Y[rows]
            entropy = entr(Q)
            np.subtract(1, Q, out=Q)
            entropy += entr(Q)
            value += float(np.vdot(s_rows, entropy))
        return value


# Up to this many classes the intercept's Newton step solves the (n_classes,
# n_classes) Hessian directly (O(n_samples n_classes^2 + n_classes^3)); above,
# by conjugate gradients on Hessian products (O(n_samples n_classes) each),
# which never form it: at 10,000 classes it would hold 0.8 GB and take minutes.
INTERCEPT_DENSE_MAX_CLASSES = 100
INTERCEPT_CG_TOL = 1e-10
INTERCEPT_CG_MAX_ITER = 200


class ClassLabels:
    """Multiclass targets as integer labels: the one-hot ``Y`` without its zeros.

    Stands for the (n_samples, n_classes) 0/1 matrix with a one at
    ``(i, labels[i])``, in O(n_samples) memory: :class:`SoftmaxLoss` reads the
    labels, code that only needs ``Y.shape`` or rows ``Y[rows]`` sees no
    difference.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
    """

    ndim = 2

    def __init__(self, labels, n_classes):
        self.labels = np.asarray(labels, dtype=np.intp)
        self.n_classes = int(n_classes)

    @property
    def shape(self):
        """Return ``(n_samples, n_classes)``, the shape of the one-hot matrix."""
        return (self.labels.size, self.n_classes)

    def __len__(self):
        return self.labels.size

    def __getitem__(self, rows):
        """Return the targets of ``rows`` (a slice or an index array)."""
        return ClassLabels(self.labels[rows], self.n_classes)

    def tosparse(self, weights):
        """Return the one-hot matrix with row ``i`` scaled by ``weights[i]`` (CSR)."""
        n_samples = self.labels.size
        return sp.csr_array((weights, self.labels, np.arange(n_samples + 1)),
                            shape=self.shape)

    def toarray(self, dtype=np.float64):
        """Return the dense one-hot matrix."""
        Y = np.zeros(self.shape, dtype=dtype)
        Y[np.arange(self.labels.size), self.labels] = 1
        return Y


def _class_labels(Y):
    """Return the label of each row of multiclass targets.

    ``Y`` is :class:`ClassLabels` or, for callers that still build it, a dense
    one-hot array.
    """
    if isinstance(Y, ClassLabels):
        return Y.labels
    Y = np.asarray(Y)
    if not (np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)):
        raise ValueError("SoftmaxLoss needs one-hot targets (one 1 per row).")
    return Y.argmax(axis=1)


def _shifted_exp(Z):
    """Return ``exp(Z - row_max)``, the column of each row's maximum and the maxima.

    The entry at that column is exactly 1. A new array in C order whatever the
    layout of ``Z`` (a broadcast intercept is F-ordered): ``X.T @ R`` would
    copy an F-ordered ``R``.
    """
    at_max = Z.argmax(axis=1)
    row_max = Z[np.arange(at_max.size), at_max]
    out = np.subtract(Z, row_max[:, None], out=np.empty(Z.shape, dtype=Z.dtype))
    return np.exp(out, out=out), at_max, row_max


def _softmax_loss_rows(Z, labels, shifted, at_max, row_max):
    """Return ``logsumexp(Z_i) - Z_i[y_i]`` and ``sum_k exp(Z_ik - row_max) - 1``.

    ``shifted`` is ``exp(Z - row_max)`` (:func:`_shifted_exp`), whose entry at
    ``at_max`` is 1: the other entries are summed without it (``rest``) and
    the log taken by ``log1p``, so a sample classified with margin ``m`` has
    its loss ``~exp(-m)`` to a relative precision, not to ``eps``:
    ``log(sum_k shifted_k)`` lost it, and at C=1.4e3, pure L1 (41 samples, 3
    classes) the objective's rounding error of ~1e-12 hid the last Newton
    steps' decrease (~1e-14) from the line search, which stalled at a gap of
    7e-8. Written once, so that :meth:`SoftmaxLoss.value` and
    :meth:`SoftmaxLoss.derivatives` round alike (the line search compares them).
    """
    rows = np.arange(labels.size)
    shifted[rows, at_max] = 0
    rest = shifted.sum(axis=1)
    shifted[rows, at_max] = 1
    return np.log1p(rest) - (Z[rows, labels] - row_max), rest


class SoftmaxLoss:
    """Multinomial model: ``loss(y, z) = logsumexp(z) - z[y]``.

    The targets are :class:`ClassLabels` (or a dense one-hot array). Every
    method allocates at most one (n_samples, n_classes) array: the residual
    ``R = s * (P - Y)`` is the only one a state keeps, and the curvature is
    read from it (``s * P = R + s * Y``), so a fit with many classes holds a
    few such arrays, not a dozen.

    The Hessian ``diag(p) - p p^T`` has norm at most 1/2, the smoothness
    constant used by safe screening.
    """

    curvature_bound = 0.5

    def value(self, Y, Z, s):
        """Return ``sum_i s_i (logsumexp(Z_i) - Z_i . Y_i)``."""
        labels = _class_labels(Y)
        loss = np.empty(Z.shape[0], dtype=Z.dtype)
        for rows in _row_chunks(*Z.shape):  # small temporaries, chunk by chunk
            Zc = Z[rows]
            shifted, at_max, row_max = _shifted_exp(Zc)
            loss[rows] = _softmax_loss_rows(Zc, labels[rows], shifted, at_max,
                                            row_max)[0]
        return float(s @ loss)

    def derivatives(self, Y, Z, s, value=None):
        """Return the loss value, the residual ``R`` and the curvature.

        ``R = s * (P - Y)`` is built in one array, in place: ``exp(Z - max)``,
        normalised to ``P``, scaled by ``s``, then ``s * (p - 1)`` at the labels.
        The curvature holds ``R`` itself (no copy), ``s`` and the labels.
        ``value`` is accepted for :class:`SigmoidLoss`'s signature: the value
        comes out of the same pass here, so it is recomputed.
        """
        labels = _class_labels(Y)
        rows = np.arange(labels.size)
        R, at_max, row_max = _shifted_exp(Z)
        losses, rest = _softmax_loss_rows(Z, labels, R, at_max, row_max)
        value = float(s @ losses)
        del losses
        total = rest + 1
        # p - 1 at the label is minus the other classes' share, summed without
        # the label: to a relative precision where p is near 1 (1 - p lost it)
        others = R[rows, labels]
        np.subtract(total, others, out=others)
        others[labels == at_max] = rest[labels == at_max]
        R /= total[:, None]  # P
        R *= s[:, None]
        R[rows, labels] = -s * (others / total)
        inv_s = np.divide(1, s, out=np.zeros_like(s), where=s > 0)
        return value, R, (R, s, labels, inv_s)

    def hessian_product(self, curvature, Zd):
        """Return ``d R / d Z`` applied to a direction ``Zd``.

        Row ``i`` is ``s_i p_i * (Zd_i - c_i)`` with ``c_i = p_i . Zd_i``; from
        ``R``: ``c_i = R_i . Zd_i / s_i + Zd_i[y_i]``, ``s_i p_i = R_i`` off the
        label and ``R_i[y_i] + s_i`` at it, where ``Zd_i[y_i] - c_i = -R_i .
        Zd_i / s_i``. Rows of weight 0 give 0.
        """
        R, s, labels, inv_s = curvature
        rows = np.arange(labels.size)
        label_gap = np.einsum("ij,ij->i", R, Zd)
        label_gap *= -inv_s  # Zd_i[y_i] - c_i
        T = Zd - (Zd[rows, labels] - label_gap)[:, None]
        T *= R
        T[rows, labels] += s * label_gap
        return T

    def hessian_diagonal(self, curvature):
        """Return per-sample weights of the diagonal of ``X.T @ H @ X``.

        ``s p (1 - p)``: ``R (1 - R / s)`` off the label, ``(R + s) (-R / s)``
        at it.
        """
        R, s, labels, inv_s = curvature
        rows = np.arange(labels.size)
        h = R * inv_s[:, None]
        np.subtract(1, h, out=h)
        h *= R
        r_label = R[rows, labels]
        h[rows, labels] = (r_label + s) * (-r_label * inv_s)
        return h

    def target_mass(self, Y, s):
        """Return the weight ``sum_i s_i y_ik`` of each class and ``sum_i s_i``."""
        s = s.astype(np.float64, copy=False)
        return (np.bincount(_class_labels(Y), weights=s, minlength=Y.shape[1]),
                float(s.sum()))

    def null_intercept(self, Y, s):
        """Return the intercept that minimises the loss at zero weights, or None.

        The log of each class's weight, centred; None when a class has no
        weight (its intercept's minimum is at minus infinity).
        """
        counts, _ = self.target_mass(Y, s)
        if not np.all(counts > 0):
            return None
        b = np.log(counts)
        return b - b.mean()

    def intercept_step(self, R, curvature):
        """Return the Newton step on the intercept alone (minimum-norm solution).

        The intercept's Hessian is ``H = diag(a) - P^T diag(s) P``, ``a = s @
        P``. Up to ``INTERCEPT_DENSE_MAX_CLASSES`` classes it is formed and
        solved by least squares; above, the system is solved by conjugate
        gradients on products with ``H`` (:func:`_intercept_step_cg`).
        """
        _, s, labels, inv_s = curvature
        g = R.sum(axis=0)
        if R.shape[1] <= INTERCEPT_DENSE_MAX_CLASSES:
            P = R * inv_s[:, None]
            P[np.arange(labels.size), labels] += 1
            H = np.diag(s @ P) - P.T @ (s[:, None] * P)
            step = np.linalg.lstsq(H, g, rcond=None)[0]
            # H is singular along 1 (a common shift of the intercepts); in
            # float32, lstsq can keep a large component along it, which moves
            # Z away from 0 and costs its precision: the centred step is the
            # minimum-norm one
            step -= step.mean()
        else:
            step = _intercept_step_cg(R, curvature, g)
        return -step.astype(R.dtype)

    def intercept_mix(self, R, mass):
        """Return ``(a, u)``: the dual point ``q = (1 - a) * p + a * u`` balanced.

        With an intercept the dual point ``theta = s * (q - y)`` must sum to
        zero over the samples; ``R = s * (p - y)`` sums to the intercept
        gradient ``g`` (whose entries sum to zero). With ``n = sum_i s_i y_i``
        and ``S = sum_i s_i``, ``u = (n - (1 - a) / a * g) / S`` balances it
        for any ``a``; the smallest ``a`` that keeps ``u`` a distribution is
        ``1 / (1 + rho)``, ``rho = min_{k: g_k > 0} n_k / g_k``. ``mass`` is
        :meth:`target_mass` of the targets and weights.
        """
        g = R.sum(axis=0, dtype=np.float64)
        counts, total = mass
        positive = g > 0
        if not positive.any():
            return 0.0, np.zeros(g.size)
        rho = float((counts[positive] / g[positive]).min())
        u = np.maximum(counts - rho * g, 0) / total
        return 1 / (1 + rho), u

    def dual_value(self, Y, R, s, t, mix=None):
        """Return ``-sum_i F_i*(-theta_i)`` at the dual point ``theta = t * R``.

        The conjugate is ``-s * H(q)``, ``H`` the entropy of the distribution
        ``q = y + t * (p - y)``, ``p = y + R / s`` (``y`` where ``s = 0``: those
        samples count 0); with ``mix = (a, u)`` (:meth:`intercept_mix`), ``p``
        is first replaced by ``(1 - a) * p + a * u``. Computed in float64, a
        chunk of rows at a time.
        """
        labels = _class_labels(Y)
        a, u = (0.0, 0.0) if mix is None else mix
        inv_s = np.divide(1.0, s, out=np.zeros(s.shape), where=s > 0)
        entropy = np.empty(R.shape[0], dtype=np.float64)
        for rows in _row_chunks(*R.shape):
            Q = R[rows] * inv_s[rows, None]  # p - y, in float64
            at_label = (np.arange(Q.shape[0]), labels[rows])
            Q[at_label] += 1  # p; then q = t ((1 - a) p + a u) + (1 - t) y
            Q *= t * (1 - a)
            Q += t * a * u
            Q[at_label] += 1 - t
            entropy[rows] = entr(Q).sum(axis=1)
        return float(s @ entropy)


def _intercept_step_cg(R, curvature, g):
    """Solve ``H x = g`` for the intercept's Hessian ``H`` by Jacobi-preconditioned CG.

    ``H v = a * v - P^T (s * (P v))`` with ``s * P = R + s * Y``: ``P v = R v / s
    + v[y]`` and ``P^T (s * u) = R^T u + bincount(y, s * u)``, two passes over
    ``R``, no (n_samples, n_classes) temporary. The diagonal ``a - sum_i s_i
    p_i^2`` preconditions. ``H`` is singular along ``1`` (a common shift of
    the intercepts) and ``g`` is orthogonal to it, so the system is consistent;
    the solution is centred (minimum norm).
    """
    _, s, labels, inv_s = curvature
    n_classes = R.shape[1]
    s64 = s.astype(np.float64)
    counts = np.bincount(labels, weights=s64, minlength=n_classes)
    a = g.astype(np.float64) + counts  # s @ P
    # sum_i s_i p_ik^2 = sum_i R_ik^2 / s_i + sum_{i: y_i = k} (2 R_ik + s_i)
    r_label = R[np.arange(labels.size), labels].astype(np.float64)
    squares = np.einsum("ij,ij,i->j", R, R, inv_s, dtype=np.float64)
    squares += np.bincount(labels, weights=2 * r_label + s64, minlength=n_classes)
    diagonal = a - squares
    inv_diag = 1 / np.maximum(diagonal, 1e-12 * max(diagonal.max(), 1e-300))

    def hessian_product(v):
        Pv = (R @ v.astype(R.dtype)).astype(np.float64) * inv_s + v[labels]
        u = s64 * Pv
        PTsu = (R.T @ (Pv.astype(R.dtype))).astype(np.float64) + np.bincount(
            labels, weights=u, minlength=n_classes)
        return a * v - PTsu

    b = g.astype(np.float64)
    b -= b.mean()  # orthogonal to 1 (it is, up to rounding)
    x = np.zeros(n_classes)
    r = b.copy()
    z = r * inv_diag
    p = z.copy()
    rz = float(r @ z)
    stop = INTERCEPT_CG_TOL**2 * rz
    for _ in range(INTERCEPT_CG_MAX_ITER):
        if rz <= stop:
            break
        Hp = hessian_product(p)
        curvature_p = float(p @ Hp)
        if curvature_p <= 0:
            break
        alpha = rz / curvature_p
        x += alpha * p
        r -= alpha * Hp
        z = r * inv_diag
        rz, rz_old = float(r @ z), rz
        p = z + rz / rz_old * p
    return x - x.mean()
