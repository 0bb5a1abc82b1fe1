"""Link and loss: values, residuals and Hessian products of the three models.

Every loss works on the linear predictor ``Z = X @ W + b`` of shape
(n_samples, n_outputs), a target ``Y`` of the same shape (0/1 indicators) and
weights ``s`` (which already contain ``C``): per sample and output, of shape
(n_samples, n_outputs) or (n_samples, 1), for the sigmoid loss; per sample,
of shape (n_samples,), for the softmax. The residual
``R = d loss / d Z`` gives the gradient ``X.T @ R``; the curvature returned by
:meth:`derivatives` gives Hessian products ``X.T @ hessian_product(curv, X @ D)``.
"""

import numpy as np
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


class SigmoidLoss:
    """One sigmoid per output, losses summed (binary and multilabel models).

    ``loss(y, z) = log(1 + exp(z)) - y * z``, weighted entrywise by ``s``
    (broadcast against ``Z``). Its second derivative is at most 1/4, the
    smoothness constant used by safe screening.
    """

    curvature_bound = 0.25

    def value(self, Y, Z, s):
        """Return ``sum_ik s_ik loss(Y_ik, Z_ik)``.

        Made in place in two temporaries of the shape of ``Z``.
        """
        losses = _log1pexp_tail(Z, out=np.empty_like(Z, dtype=np.result_type(Z, Y)))
        temporary = np.maximum(Z, 0, out=np.empty_like(losses))
        losses += temporary  # log1pexp(Z)
        np.multiply(Y, Z, out=temporary)
        losses -= temporary
        del temporary
        losses *= _columns(s)
        return float(losses.sum())

    def derivatives(self, Y, Z, s):
        """Return the loss value, the residual ``R`` and the curvature.

        ``R = s * (P - Y)`` and ``curvature = s * P * (1 - P)``, ``P =
        expit(Z)``, made in place (one temporary).
        """
        s = _columns(s)
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

    def intercept_step(self, R, curvature):
        """Return the Newton step on the intercept alone."""
        return -R.sum(axis=0) / np.maximum(curvature.sum(axis=0), 1e-300)

    def probabilities(self, Z):
        """Return the probabilities of the outputs."""
        return expit(Z)

    def dual_value(self, Y, P, s, t):
        """Return ``-sum_i F_i*(-theta_i)`` at the dual point ``theta = -t * R``.

        The conjugate of ``s * loss(y, .)`` at ``-theta`` is ``-s * H(q)``, ``H``
        the binary entropy and ``q = y + t * (p - y)`` in [0, 1].
        """
        Q = Y + t * (P - Y)
        return float((_columns(s) * (entr(Q) + entr(1 - Q))).sum())


class SoftmaxLoss:
    """Multinomial model: ``loss(y, z) = logsumexp(z) - z[y]``.

    The Hessian ``diag(p) - p p^T`` has norm at most 1/2, the smoothness
    constant used by safe screening.
    """

    curvature_bound = 0.5

    def value(self, Y, Z, s):
        """Return ``sum_i s_i (logsumexp(Z_i) - Z_i . Y_i)``."""
        return float(-(s @ (Y * log_softmax(Z)).sum(axis=1)))

    def derivatives(self, Y, Z, s):
        """Return the loss value, the residual ``R`` and the curvature."""
        log_P = log_softmax(Z)
        P = np.exp(log_P)
        value = float(-(s @ (Y * log_P).sum(axis=1)))
        return value, s[:, None] * (P - Y), (P, s)

    def hessian_product(self, curvature, Zd):
        """Return ``d R / d Z`` applied to a direction ``Zd``."""
        P, s = curvature
        PZd = P * Zd
        return s[:, None] * (PZd - P * PZd.sum(axis=1, keepdims=True))

    def hessian_diagonal(self, curvature):
        """Return per-sample weights of the diagonal of ``X.T @ H @ X``."""
        P, s = curvature
        return s[:, None] * P * (1 - P)

    def intercept_step(self, R, curvature):
        """Return the Newton step on the intercept alone (minimum-norm solution)."""
        P, s = curvature
        H = np.diag(s @ P) - P.T @ (s[:, None] * P)
        return -np.linalg.lstsq(H, R.sum(axis=0), rcond=None)[0].astype(R.dtype)

    def probabilities(self, Z):
        """Return the class probabilities."""
        return np.exp(log_softmax(Z))

    def dual_value(self, Y, P, s, t):
        """Return ``-sum_i F_i*(-theta_i)`` at the dual point ``theta = -t * R``.

        The conjugate is ``-s * H(q)``, ``H`` the entropy of the distribution
        ``q = y + t * (p - y)``.
        """
        return float(s @ entr(Y + t * (P - Y)).sum(axis=1))
