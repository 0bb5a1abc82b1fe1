"""Targets of the objective: labels to ``Y``, weights to ``s``, and the loss.

Binary targets become one 0/1 column and the sigmoid loss; multiclass targets
the labels themselves (:class:`~chinchilla_sklearn._loss.ClassLabels`, never a
dense one-hot array) and the softmax loss; a multilabel 0/1 indicator matrix
one sigmoid per label. ``s`` holds each sample's weight times its class
weight, a new array (the caller's ``sample_weight`` is never written into).
"""

import numpy as np
from sklearn.utils import compute_class_weight
from sklearn.utils.multiclass import type_of_target

from ._loss import ClassLabels, SigmoidLoss, SoftmaxLoss


def encode_classes(y, sample_weight, class_weight, dtype):
    """Return the classes, targets, weights and loss of a binary or multiclass ``y``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,)
    class_weight : dict, "balanced" or None
    dtype : numpy dtype
        The dtype of ``X``, given to ``Y`` and ``s``.

    Returns
    -------
    classes, Y, s, loss
    """
    classes, y_encoded = np.unique(y, return_inverse=True)
    n_classes = classes.size
    if n_classes < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )
    if class_weight is None:  # all ones: a copy (the check of compute_class_weight,
        # that the labels are among the classes, cost 80 us a fit for nothing)
        s = sample_weight.copy()
    else:
        weights = compute_class_weight(
            class_weight, classes=classes, y=y, sample_weight=sample_weight,
        )
        s = sample_weight * weights[y_encoded].astype(dtype)
    if np.count_nonzero(np.bincount(y_encoded, weights=s)) < 2:
        raise ValueError(
            "The weights leave samples of only one class with positive weight; "
            "at least 2 classes are needed."
        )
    if n_classes == 2:
        Y = (y_encoded == 1).astype(dtype)[:, None]
        return classes, Y, s[:, None], SigmoidLoss()
    # the labels, not a one-hot (n_samples, n_classes) array: at 10,000
    # classes that would be 0.8 GB (and np.eye another n_classes^2)
    return classes, ClassLabels(y_encoded, n_classes), s, SoftmaxLoss()


def encode_labels(y, sample_weight, class_weight, dtype):
    """Return the targets, weights and loss of a multilabel indicator ``y``.

    ``class_weight`` weighs the 0s and 1s of each label: a dict ``{0: w0, 1:
    w1}`` for all labels, or "balanced" per label.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_labels)
    sample_weight : ndarray of shape (n_samples,)
    class_weight : dict, "balanced" or None
    dtype : numpy dtype

    Returns
    -------
    Y, s, loss
    """
    _check_indicator(y)
    Y = (y == 1).astype(dtype)
    positive = sample_weight @ Y
    one_class = (positive == 0) | (positive == sample_weight.sum())
    if np.any(one_class):
        raise ValueError(
            "Each label needs samples of both classes (0 and 1) with positive "
            f"weight; labels {np.flatnonzero(one_class).tolist()} have one class."
        )
    s = np.empty_like(Y)
    for j in range(Y.shape[1]):  # one weight per label and class, not per entry
        weights = compute_class_weight(
            class_weight, classes=np.array([0, 1]), y=Y[:, j].astype(int),
            sample_weight=sample_weight,
        )
        s[:, j] = sample_weight * weights[Y[:, j].astype(int)]
    return Y, s, SigmoidLoss()


def encode_online_classes(y, classes, sample_weight, class_weight, dtype):
    """Return the targets and weights of a binary or multiclass ``y`` in ``classes``.

    The classes are those of the first ``partial_fit`` call; ``class_weight``
    cannot be "balanced" in a stream.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
        Sorted.
    sample_weight : ndarray of shape (n_samples,)
    class_weight : dict or None
    dtype : numpy dtype

    Returns
    -------
    Y, s
    """
    n_classes = classes.size
    if n_classes < 2:
        raise ValueError(
            f"classes must hold at least 2 classes; got {classes.tolist()!r}."
        )
    y_encoded = np.searchsorted(classes, y)
    unknown = (y_encoded == n_classes) | (
        classes[np.minimum(y_encoded, n_classes - 1)] != y
    )
    if np.any(unknown):
        raise ValueError(
            "`y` has classes not in `self.classes_`. `self.classes_` has "
            f"{classes}. 'y' has {np.unique(y)}."
        )
    if class_weight is None:
        s = sample_weight.copy()  # scaled by C in place later
    else:
        weights = compute_class_weight(class_weight, classes=classes, y=classes)
        s = sample_weight * weights[y_encoded].astype(dtype)
    if n_classes == 2:
        return (y_encoded == 1).astype(dtype)[:, None], s[:, None]
    return ClassLabels(y_encoded, n_classes), s


def encode_online_labels(y, classes, sample_weight, class_weight, dtype):
    """Return the targets and weights of a multilabel indicator ``y``.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_labels)
    classes : ndarray
        Must be ``np.arange(n_labels)``.
    sample_weight : ndarray of shape (n_samples,)
    class_weight : dict or None
    dtype : numpy dtype

    Returns
    -------
    Y, s
    """
    _check_indicator(y)
    if not np.array_equal(classes, np.arange(y.shape[1])):
        raise ValueError(
            f"y has {y.shape[1]} labels; multilabel classes must be "
            f"np.arange(n_labels), got {classes.tolist()!r}."
        )
    Y = (y == 1).astype(dtype)
    weights = compute_class_weight(
        class_weight, classes=np.array([0, 1]), y=np.array([0, 1])
    ).astype(dtype)
    return Y, sample_weight[:, None] * weights[(y == 1).astype(int)]


def _check_indicator(y):
    """Raise unless the 2-D ``y`` holds only 0s and 1s."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(
            "A 2-D y must be a multilabel indicator matrix of 0s and 1s; got "
            f"targets of type {type_of_target(y)!r}."
        )
