"""
===============================================
Parameter sharing: which pixels each digit uses
===============================================

With more than two classes, an L1 penalty lets every class pick its own
features: the weights are sparse, but the classes together may still use many
features. ``shared_support=True`` replaces the L1 term by a group penalty on
each feature's weights across all classes,

.. math::

   \\rho \\sum_j \\lVert W_{j,:} \\rVert_2 ,

so a feature is kept for all classes or dropped for all: whole columns of
``coef_`` are zero together. This is the project's *parameter sharing*: the
classes share one set of selected features.

This example fits both models on the digits data set (bundled with
scikit-learn: 8x8 images, ten classes) at a ``C`` that leaves few pixels, and
draws which pixels each class uses.
"""

# %%
# Data
# ----
# Pixel values run from 0 to 16; divided by 16 they lie in [0, 1].
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from chinchilla_sklearn import ChinchillaClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

# %%
# Two multinomial L1 models at the same C
# ---------------------------------------
# The same ``C`` and ``l1_ratio=1``; only the shape of the L1 term differs.
C = 0.05
models = {
    "L1 (own pixels per class)": ChinchillaClassifier(C=C, l1_ratio=1.0),
    "shared_support=True": ChinchillaClassifier(
        C=C, l1_ratio=1.0, shared_support=True
    ),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    used = model.coef_ != 0  # (n_classes, n_features)
    print(
        f"{name:>26}: accuracy {model.score(X_test, y_test):.3f}, "
        f"{used.sum():3d} non-zero weights, "
        f"pixels used by some class: {used.any(axis=0).sum():2d}, "
        f"per class: {used.sum(axis=1).min()}-{used.sum(axis=1).max()}"
    )

# %%
# The weights as images
# ---------------------
# One 8x8 image per class and model: red pixels raise the score of the class,
# blue ones lower it, white ones are not used. With plain L1 each digit draws on
# its own few pixels; with shared support every digit draws on the same set of
# pixels, and the pixels outside it are white in every image.
n_classes = 10
vmax = max(np.abs(model.coef_).max() for model in models.values())
fig, axes = plt.subplots(2, n_classes, figsize=(12, 3.2), layout="constrained")
for row, (name, model) in zip(axes, models.items()):
    for ax, label, weights in zip(row, model.classes_, model.coef_):
        image = ax.imshow(weights.reshape(8, 8), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{label}", fontsize="small")
    row[0].set_ylabel(name.split(" (")[0], fontsize="small")
fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
fig.suptitle(f"Weights per class (C={C:g}): plain L1 above, shared support below")
plt.show()

# %%
# Which pixels each class uses
# ----------------------------
# Left: a map of classes (rows) against the pixels that either model uses
# (columns), black where the weight is non-zero. With plain L1 the pattern is
# scattered; with shared support every used column is full. Right: for each
# pixel of the image, how many classes use it: with shared support a pixel is
# used by all ten classes or by none.
used = {name: model.coef_ != 0 for name, model in models.items()}
columns = np.flatnonzero(np.logical_or(*used.values()).any(axis=0))
fig, axes = plt.subplots(
    2, 2, figsize=(11, 5.5), layout="constrained", width_ratios=[3, 1]
)
for (ax_map, ax_count), (name, mask) in zip(axes, used.items()):
    ax_map.imshow(mask[:, columns], cmap="Greys", aspect="auto", vmin=0, vmax=1)
    ax_map.set_yticks(range(n_classes))
    ax_map.set_ylabel("class")
    ax_map.set_xticks(range(columns.size))
    ax_map.set_xticklabels(columns, fontsize=6, rotation=90)
    ax_map.set_xlabel("pixel (index in the 8x8 image, row by row)")
    ax_map.set_title(f"{name}: {mask.any(axis=0).sum()} pixels used")
    counts = ax_count.imshow(
        mask.sum(axis=0).reshape(8, 8), cmap="viridis", vmin=0, vmax=n_classes
    )
    ax_count.set_xticks([])
    ax_count.set_yticks([])
    ax_count.set_title("classes using each pixel", fontsize="small")
fig.colorbar(counts, ax=axes[:, 1], shrink=0.8, label="number of classes")
plt.show()

# %%
# Sharing pays when reading a feature is what costs (a sensor, a measurement, a
# lookup): a model that reads a pixel for one class may as well use it for all.
# At the same ``C`` the two models read about as many pixels in all, but the
# plain L1 model spends them on a few per class, while the shared model gives
# every class every pixel it reads.
