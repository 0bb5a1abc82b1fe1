"""Penalties on the weights ``W`` (n_features, n_outputs): value, optimality, prox.

The penalty is split as ``l2 / 2 * ||W||_2^2`` (smooth, handled with the loss)
plus ``l1 * h(W)`` (non-smooth), where ``h`` is either the L1 norm of all
entries or, with ``group=True``, the sum of the Euclidean norms of the rows of
``W`` (one row per feature: the feature is kept for all outputs or dropped for
all). A group of one output is plain L1.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Penalty:
    """Elastic-net or group elastic-net penalty.

    Parameters
    ----------
    l1 : float
        Weight of the non-smooth part (``l1_ratio``; 0 when ``C=inf``).
    l2 : float
        Weight of the ridge part (``1 - l1_ratio``; 0 when ``C=inf``).
    group : bool
        Sum of row norms (shared support) instead of the entrywise L1 norm.
    """

    l1: float
    l2: float
    group: bool = False

    def value(self, W):
        """Return ``l2 / 2 * ||W||^2 + l1 * h(W)``."""
        value = 0.5 * self.l2 * float(np.vdot(W, W))
        if self.l1 > 0:
            value += self.l1 * float(self.row_norms(W).sum() if self.group
                                     else np.abs(W).sum())
        return value

    def row_norms(self, A):
        """Return the Euclidean norm of each row of ``A``."""
        return np.sqrt((A * A).sum(axis=1))

    def feature_norms(self, A):
        """Return the dual norm of each row: max-abs (L1) or Euclidean (group)."""
        if A.shape[1] == 1:
            return np.abs(A[:, 0])
        return self.row_norms(A) if self.group else np.abs(A).max(axis=1)

    def pseudo_gradient(self, W, G):
        """Return the minimum-norm element of ``G + l1 * subdifferential h(W)``.

        ``G`` is the gradient of the smooth part. The result is zero exactly
        where the optimality (KKT) conditions hold; its feature norms are the
        violations the gate scores and the solver stops on.
        """
        if self.l1 == 0:
            return G
        if self.group:
            norms_W = self.row_norms(W)[:, None]
            norms_G = self.row_norms(G)[:, None]
            at_zero = G * np.maximum(1 - self.l1 / np.maximum(norms_G, 1e-300), 0)
            away = G + self.l1 * W / np.where(norms_W > 0, norms_W, 1)
            return np.where(norms_W > 0, away, at_zero)
        at_zero = np.sign(G) * np.maximum(np.abs(G) - self.l1, 0)
        return np.where(W != 0, G + self.l1 * np.sign(W), at_zero)

    def orthant(self, W, V):
        """Return the face the Newton step may move in: sign (L1) or direction (group).

        Non-zero weights keep their sign (their row direction); zero weights
        that violate optimality move against their pseudo-gradient ``V``; the
        others stay at zero (their entry is 0).
        """
        if self.group:
            nonzero = self.row_norms(W)[:, None] > 0
            return np.where(nonzero, W, -V)
        return np.where(W != 0, np.sign(W), -np.sign(V))

    def free(self, orthant):
        """Return the mask of the entries the Newton step may change."""
        if self.group:
            return np.broadcast_to(self.row_norms(orthant)[:, None] > 0, orthant.shape)
        return orthant != 0

    def leaving(self, W, orthant, D):
        """Return the entering entries (rows) whose step ``D`` leaves their orthant.

        A weight entering the model must move against its pseudo-gradient;
        otherwise the projection would undo its step, so such a step is
        zeroed. The mask has the shape of ``W`` (L1), or one column (group
        rows) that broadcasts against it.
        """
        if self.group:
            return ((self.row_norms(W) == 0)
                    & ((D * orthant).sum(axis=1) < 0))[:, None]
        return (W == 0) & (D * orthant < 0)

    def breakpoint(self, W, orthant, D):
        """Return the first step along ``D`` where a non-zero weight reaches zero.

        Also returns the mask of the weights that reach zero there. The step is
        ``inf`` (and the mask None) when no non-zero weight leaves its orthant
        along ``D``, and always for the group penalty: a row leaves its face
        where it turns perpendicular to its direction, not at zero, so setting
        it to zero there would move the scores.
        """
        if self.group:
            return np.inf, None
        inside, rate = W * orthant, D * orthant
        leaving = (inside > 0) & (rate < 0)
        if not leaving.any():
            return np.inf, None
        steps = np.where(leaving, inside, 0) / np.where(leaving, -rate, 1)
        first = steps[leaving].min()
        return float(first), leaving & (steps <= first)

    def project(self, W, orthant):
        """Set to zero the entries (rows) of ``W`` that left their orthant."""
        if self.l1 == 0:
            return W
        if self.group:
            keep = (W * orthant).sum(axis=1, keepdims=True) > 0
        else:
            keep = W * orthant > 0
        return np.where(keep, W, 0).astype(W.dtype, copy=False)

    def curvature(self, W):
        """Return the diagonal bound of the non-smooth part's Hessian (group rows)."""
        if not (self.group and self.l1 > 0):
            return 0
        norms = self.row_norms(W)[:, None]
        return np.where(norms > 0, self.l1 / np.where(norms > 0, norms, 1), 0)

    def hessian_product(self, W, D):
        """Return the Hessian of ``l1 * h`` at non-zero rows of ``W`` applied to ``D``.

        Zero for L1 (linear on an orthant); for a group row ``w != 0`` it is
        ``l1 / ||w|| * (I - u u^T) d`` with ``u = w / ||w||``.
        """
        if not (self.group and self.l1 > 0):
            return 0
        norms = self.row_norms(W)[:, None]
        U = W / np.where(norms > 0, norms, 1)
        product = D - U * (U * D).sum(axis=1, keepdims=True)
        return np.where(norms > 0, self.l1 * product / np.where(norms > 0, norms, 1), 0)

    def prox(self, W, step):
        """Return the proximal operator of ``step * l1 * h`` at ``W``."""
        if self.l1 == 0:
            return W
        threshold = step * self.l1
        if self.group:
            norms = self.row_norms(W)[:, None]
            return W * np.maximum(1 - threshold / np.maximum(norms, 1e-300), 0)
        return np.sign(W) * np.maximum(np.abs(W) - threshold, 0)

    def conjugate(self, U, scale=1.0):
        """Return the conjugate of the penalty at ``scale * U``, dual feasible.

        ``sum_j max(||u_j|| - l1, 0)^2 / (2 l2)`` (entrywise norms for L1), and
        0 when ``l2 = 0`` (then feasibility means ``||u_j|| <= l1``). In float64
        (squares of float32 gradients can overflow float32), with one
        temporary of the shape of ``U``.
        """
        if self.l2 == 0:
            return 0.0
        if self.group:
            excess = self.row_norms(np.asarray(U, dtype=np.float64))
        else:
            excess = np.abs(U, dtype=np.float64)
        if scale != 1:
            excess *= scale
        if self.l1 > 0:  # (else nothing to subtract: |U| >= 0)
            excess -= self.l1
            np.maximum(excess, 0, out=excess)
        return float(np.vdot(excess, excess) / (2 * self.l2))
