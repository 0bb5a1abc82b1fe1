"""Groups of near-duplicate columns, and the block-Jacobi preconditioner over them.

On text a bigram is nearly a copy of its words: two columns with a cosine near
1 leave the objective on an L1 face nearly flat along ``w_j - w_k``, and the
Jacobi preconditioner cannot see that direction (notes/real_text_diagnosis.md:
a finishing Newton system needs 306 CG iterations to a relative residual of
0.1 with Jacobi, 13 with the inverse of each group's Hessian block).

1. **Signatures** (:class:`ColumnSignatures`): ``N_HASHES`` MinHash values of
   each column's set of rows with a stored entry (multiply-shift hashes of the
   row index), made once per column as columns enter a working set and kept
   for the whole fit.
2. **Candidates**: columns that agree on all ``BAND_ROWS`` values of one of the
   ``N_HASHES / BAND_ROWS`` bands (locality-sensitive hashing of the Jaccard
   similarity); buckets of more than ``MAX_BUCKET`` columns (columns stored
   in nearly every row) are ignored.
3. **Groups** (:func:`near_duplicate_groups`): the connected components of the
   candidate pairs whose exact cosine is above a threshold, cut into pieces of
   at most ``MAX_GROUP`` columns; with them the products ``x_j * x_k`` of every
   pair of columns of a group, so each Hessian block costs one product with
   the curvature per Newton step.
4. **The preconditioner** (:meth:`NearDuplicates.preconditioner`): for each
   output, the inverse of each group's block of the weights' Hessian
   (``X_g.T @ diag(h_k) @ X_g`` plus the diagonal's ridge and damping) on the
   free weights; the other weights keep the Jacobi diagonal. The softmax's
   coupling of the classes and the group penalty's coupling of a row's
   outputs are left out, as the Jacobi preconditioner leaves them out.

References
----------
.. [1] Broder (1997). "On the resemblance and containment of documents".
   Compression and Complexity of Sequences (MinHash).
.. [2] Leskovec, Rajaraman, Ullman (2014). Mining of Massive Datasets, ch. 3
   (banding of MinHash signatures).
"""

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._kernels import Block

N_HASHES = 16
BAND_ROWS = 2
MAX_BUCKET = 64
MAX_GROUP = 16
# The Jacobi-scaled blocks (unit diagonal) get FLOOR added to their diagonal
# before inversion: an exact duplicate makes a singular block once the damping
# has vanished.
FLOOR = 1e-8
_MULTIPLIER_SEED = 0x5EED


class Grouper:
    """Makes the near-duplicate groups of a fit's working sets, once CG needs them.

    Grouping costs ``N_HASHES`` hashes per stored entry of each column once
    (its signature) and the pair products of each working set: on data
    without near duplicates that is pure overhead (generated 20,000 x 50,000
    elastic net: 10.4 passes without, 15.8 with). So the solver makes the
    groups only once one of its Newton systems needs many CG iterations
    (:meth:`for_block` gives it a callable); from then on every working set
    of the fit gets them at once.
    """

    def __init__(self, X, norms, threshold):
        self.X, self.norms, self.threshold = X, norms, threshold
        self.signatures = ColumnSignatures(X)
        self.wanted = False

    def of(self, columns):
        """Return the :class:`NearDuplicates` of ``columns`` (None if none)."""
        self.wanted = True
        return near_duplicate_groups(self.X, columns, self.signatures, self.norms,
                                     self.threshold)

    def for_block(self, columns):
        """Return the groups of ``columns`` once wanted, before: a callable."""
        return self.of(columns) if self.wanted else functools.partial(self.of, columns)


class ColumnSignatures:
    """MinHash signatures of the row sets of ``X``'s columns, made on demand.

    ``X`` is CSC or dense (a dense column's rows are those with a non-zero).
    """

    def __init__(self, X):
        self.X = X
        rng = np.random.default_rng(_MULTIPLIER_SEED)
        # odd multipliers: h(i) = (a * i + c) mod 2^64, top 32 bits
        self.a = rng.integers(1, 2**63, N_HASHES, dtype=np.uint64) * 2 + 1
        self.c = rng.integers(0, 2**63, N_HASHES, dtype=np.uint64)
        self.values = self.made = None  # made on first use

    def of(self, columns):
        """Return the signatures of ``columns`` (made for those not made yet)."""
        if self.values is None:
            self.values = np.zeros((self.X.shape[1], N_HASHES), dtype=np.uint64)
            self.made = np.zeros(self.X.shape[1], dtype=bool)
        new = columns[~self.made[columns]]
        if new.size:
            self.values[new] = minhash(self.X, new, self.a, self.c)
            self.made[new] = True
        return self.values[columns]


def minhash(X, columns, a, c):
    """Return the MinHash values (len(columns), len(a)) of the columns' row sets.

    An empty column gets values no other column has (``2^63 +`` its index).
    """
    if sp.issparse(X):
        block = X[:, columns]
        rows = block.indices.astype(np.uint64)
        starts = block.indptr[:-1]
        empty = np.diff(block.indptr) == 0
    else:
        nonzero = X[:, columns] != 0
        column, rows = np.nonzero(nonzero.T)  # column by column
        starts = np.searchsorted(column, np.arange(columns.size))
        rows = rows.astype(np.uint64)
        empty = ~nonzero.any(axis=0)
    out = np.empty((columns.size, a.size), dtype=np.uint64)
    if rows.size == 0:
        out[:] = 0
    else:
        safe = np.minimum(starts, rows.size - 1)
        for k in range(a.size):  # one hash function at a time: nnz values each
            hashed = (rows * a[k] + c[k]) >> np.uint64(32)
            out[:, k] = np.minimum.reduceat(hashed, safe)
    out[empty] = (np.uint64(2**63)
                  + np.asarray(columns)[empty].astype(np.uint64))[:, None]
    return out


def candidate_pairs(signatures):
    """Return pairs ``(i, j)``, ``i < j``, of rows that agree on a band."""
    n = signatures.shape[0]
    found = []
    for band in range(signatures.shape[1] // BAND_ROWS):
        part = signatures[:, band * BAND_ROWS:(band + 1) * BAND_ROWS]
        key = part[:, 0].copy()
        for k in range(1, BAND_ROWS):  # combine (wrapping arithmetic)
            key = key * np.uint64(0x9E3779B97F4A7C15) ^ part[:, k]
        order = np.argsort(key, kind="stable")
        key = key[order]
        start = np.r_[True, key[1:] != key[:-1]]
        run = np.cumsum(start) - 1
        first = np.flatnonzero(start)
        length = np.diff(np.r_[first, n])[run]
        keep = ~start & (length <= MAX_BUCKET)
        # each member of a bucket is paired with its first member
        found.append(np.stack([order[first[run[keep]]], order[keep]]))
    if not found:
        return np.empty((2, 0), dtype=np.intp)
    pairs = np.sort(np.concatenate(found, axis=1), axis=0)
    codes = np.unique(pairs[0].astype(np.int64) * n + pairs[1])
    return np.stack([codes // n, codes % n]).astype(np.intp)


def pair_products(X, first, second):
    """Return ``X[:, first] * X[:, second]`` (entrywise, float64, CSC or dense)."""
    if sp.issparse(X):
        A = X[:, first].astype(np.float64)
        return sp.csc_matrix(A.multiply(X[:, second]))
    return X[:, first].astype(np.float64) * X[:, second]


def _pair_cost(X, first, second):
    """Stored entries read by :func:`pair_products` (the pass counters)."""
    if sp.issparse(X):
        nnz = np.diff(X.indptr)
        return float(nnz[first].sum() + nnz[second].sum())
    return float(2 * X.shape[0] * len(first))


def _minhash_cost(X, columns, a, c):
    """Values hashed by :func:`minhash` (the pass counters)."""
    nnz = np.diff(X.indptr)[columns].sum() if sp.issparse(X) else (
        X.shape[0] * len(columns))
    return float(nnz * len(a))


# what benchmarks/count_passes.py counts, in stored entries read
COUNTED = {"minhash": _minhash_cost, "pair_products": _pair_cost}


@dataclass(frozen=True)
class NearDuplicates:
    """Groups of near-duplicate columns of a block, by size.

    ``members[m]`` (n_groups, m) holds the block's column indices of the
    groups of ``m`` columns; ``products`` the entrywise products of every
    pair of columns of a group, ``np.triu_indices(m, 1)`` group by group, the
    sizes in increasing order.
    """

    members: dict
    products: object

    @property
    def n_grouped(self):
        return sum(g.size for g in self.members.values())

    def preconditioner(self, h, inv_diagonal, free):
        """Return the :class:`BlockJacobi` of the system with curvature ``h``.

        ``inv_diagonal`` (n_columns, n_outputs) is the Jacobi preconditioner
        (the inverse diagonal with its ridge and damping); ``free`` the mask
        of the free weights (True: all).
        """
        off = Block(self.products).rmatmul(np.asarray(h, dtype=np.float64))
        root = np.sqrt(inv_diagonal)  # D^-1/2: the blocks are scaled to unit diagonal
        n_out = inv_diagonal.shape[1]
        rows, cols, values = [], [], []
        start = 0
        for m, groups in self.members.items():
            upper = np.triu_indices(m, 1)
            n_pairs = groups.shape[0] * upper[0].size
            # 1. the scaled blocks, (n_groups, n_outputs, m, m)
            coupling = off[start:start + n_pairs].reshape(groups.shape[0], -1, n_out)
            start += n_pairs
            scale_a = root[groups[:, upper[0]]]
            scale_b = root[groups[:, upper[1]]]
            coupling = coupling * scale_a * scale_b
            if free is not True:
                coupling *= free[groups[:, upper[0]]] & free[groups[:, upper[1]]]
            S = np.zeros((groups.shape[0], n_out, m, m))
            S[:, :, upper[0], upper[1]] = coupling.transpose(0, 2, 1)
            S += S.transpose(0, 1, 3, 2)
            S[:, :, np.arange(m), np.arange(m)] = 1 + FLOOR
            # 2. their inverses; a block that cannot be inverted keeps Jacobi
            with np.errstate(all="ignore"):
                try:
                    inverse = np.linalg.inv(S)
                except np.linalg.LinAlgError:
                    inverse = np.broadcast_to(np.eye(m), S.shape).copy()
            bad = ~np.isfinite(inverse).all(axis=(2, 3))
            inverse[bad] = np.eye(m)
            # 3. back to the weights' scale: D^-1/2 S^-1 D^-1/2, flat indices
            scale = root[groups].transpose(0, 2, 1)  # (n_groups, n_outputs, m)
            inverse *= scale[:, :, :, None] * scale[:, :, None, :]
            flat = groups[:, None, :] * n_out + np.arange(n_out)[None, :, None]
            rows.append(np.broadcast_to(flat[:, :, :, None], inverse.shape).ravel())
            cols.append(np.broadcast_to(flat[:, :, None, :], inverse.shape).ravel())
            values.append(inverse.ravel())
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        grouped = np.unique(rows)
        size = inv_diagonal.size
        matrix = sp.csr_matrix((np.concatenate(values),
                                (np.searchsorted(grouped, rows), cols)),
                               shape=(grouped.size, size))
        return BlockJacobi(grouped, matrix)


@dataclass(frozen=True)
class BlockJacobi:
    """The group blocks of a block-Jacobi preconditioner (flat weight indices)."""

    grouped: np.ndarray
    matrix: object

    def apply(self, r, z):
        """Overwrite the grouped entries of ``z`` with the blocks' inverses @ ``r``."""
        z.reshape(-1)[self.grouped] = self.matrix @ r.reshape(-1)


def near_duplicate_groups(X, columns, signatures, norms, threshold):
    """Return the :class:`NearDuplicates` of ``X[:, columns]``, or None if none.

    Parameters
    ----------
    X : {ndarray, CSC matrix} of shape (n_samples, n_features)
    columns : ndarray of int
        The block's columns of ``X``, sorted.
    signatures : ColumnSignatures
    norms : ndarray of shape (n_features,)
        Column norms of ``X``.
    threshold : float
        Smallest cosine of two columns of one group's candidate pairs.
    """
    pairs = candidate_pairs(signatures.of(columns))
    if pairs.shape[1] == 0:
        return None
    # 1. the candidates' exact cosines
    first, second = columns[pairs[0]], columns[pairs[1]]
    dots = np.asarray(pair_products(X, first, second).sum(axis=0)).ravel()
    cosine = dots / np.maximum(norms[first] * norms[second], 1e-300)
    pairs = pairs[:, cosine > threshold]
    if pairs.shape[1] == 0:
        return None
    # 2. connected components, cut into pieces of at most MAX_GROUP columns
    n = columns.size
    graph = sp.coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])),
                          shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    labels = labels[order]
    start = np.r_[True, labels[1:] != labels[:-1]]
    position = np.arange(n) - np.maximum.accumulate(np.where(start, np.arange(n), 0))
    piece = np.cumsum(start | (position % MAX_GROUP == 0)) - 1
    sizes = np.bincount(piece)
    size = sizes[piece]
    members = {}
    for m in np.unique(size[size > 1]):
        members[int(m)] = order[size == m].reshape(-1, m)
    if not members:
        return None
    # 3. the entrywise products of every pair of a group's columns
    first, second = [], []
    for m, groups in members.items():
        upper = np.triu_indices(m, 1)
        first.append(groups[:, upper[0]].ravel())
        second.append(groups[:, upper[1]].ravel())
    products = pair_products(X, columns[np.concatenate(first)],
                             columns[np.concatenate(second)])
    return NearDuplicates(members, products)
