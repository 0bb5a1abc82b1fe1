"""Helpers of the estimator: sparse input without copies, rollback on error."""

import functools

import scipy.sparse as sp


def as_sparse_array(X):
    """Return a scipy.sparse matrix as the sparse array on the same arrays.

    scipy's sparse *matrix* classes downcast int64 indices to int32 whenever the
    values fit, in every constructor, transpose (``X.T``) and conversion: an
    int32 copy of the indices in each gradient pass. The sparse *array* classes
    keep the index dtype, so wrapping (no copy) keeps int64 indices end to end.
    """
    if isinstance(X, sp.spmatrix):
        array = sp.csr_array if X.format == "csr" else sp.csc_array
        return array((X.data, X.indices, X.indptr), shape=X.shape, copy=False)
    return X


def unchanged_on_error(method):
    """Restore the estimator's attributes when ``method`` raises.

    A failed fit or partial_fit leaves the estimator as it was: unfitted, or
    fitted to the previous data, whatever step of the validation failed.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        before = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    return wrapper
