"""
=================================
Saving and loading a fitted model
=================================

A fitted :class:`~chinchilla_sklearn.ChinchillaClassifier` (alone or in a
:class:`~sklearn.pipeline.Pipeline`) is saved with :func:`joblib.dump` and
loaded with :func:`joblib.load`, like any scikit-learn estimator, and predicts
exactly as before. This example makes the round trip, checks it, and says what
to watch for: a joblib (pickle) file runs code when it is loaded.

.. warning::

   **Load joblib or pickle files only from a source you trust.** Loading such
   a file can execute arbitrary code: a file crafted by someone else can take
   over your machine, whatever it claims to contain. To exchange models with
   people or systems you do not fully trust, use a format that does not run
   code on load, such as `skops <https://skops.readthedocs.io>`_
   (``skops.io.dump`` / ``skops.io.load``, which loads only the types you
   allow). Load a model with the same versions of scikit-learn and
   chinchilla-sklearn that saved it.
"""

# %%
# Fit a pipeline
# --------------
# The digits data set ships with scikit-learn: 1,797 images of 8x8 pixels, ten
# classes. An L1 penalty keeps a fraction of the pixels.
import os
import tempfile

import joblib
import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import chinchilla_sklearn
from chinchilla_sklearn import ChinchillaClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = make_pipeline(MinMaxScaler(), ChinchillaClassifier(C=0.05, l1_ratio=1.0))
pipe.fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.4f}")

# %%
# Save and load
# -------------
# Write the fitted pipeline with the versions that made it, so that whoever
# loads it can check them, then load it back.
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "digits_pipeline.joblib")
    joblib.dump(
        {
            "model": pipe,
            "versions": {
                "scikit-learn": sklearn.__version__,
                "chinchilla-sklearn": chinchilla_sklearn.__version__,
            },
        },
        path,
    )
    size = os.path.getsize(path)
    # Only because this script wrote the file a moment ago is it safe to load.
    saved = joblib.load(path)

reloaded = saved["model"]
print(f"file size: {size / 1024:.1f} KiB; saved with {saved['versions']}")

# %%
# The same predictions
# --------------------
# The loaded pipeline holds the same weights, so it predicts the same classes
# and the same probabilities, to the last bit.
same_labels = np.array_equal(reloaded.predict(X_test), pipe.predict(X_test))
same_proba = np.array_equal(
    reloaded.predict_proba(X_test), pipe.predict_proba(X_test)
)
print(f"identical predictions: {same_labels}; identical probabilities: {same_proba}")
assert same_labels and same_proba

# %%
# The fit's diagnostics travel too: ``n_iter_``, ``loss_curve_`` and
# ``gate_report_`` are ordinary attributes of the saved estimator.
clf = reloaded[-1]
print(f"outer iterations: {clf.n_iter_}; final objective: {clf.loss_curve_[-1]:.4f}")

# %%
# A smaller file with sparse weights
# ----------------------------------
# ``sparsify`` stores ``coef_`` as a sparse matrix. With most weights at zero
# the file shrinks, and so does the cost of prediction; the predictions stay the
# same.
sizes = {}
with tempfile.TemporaryDirectory() as folder:
    for label, sparse in [("dense coef_", False), ("sparse coef_", True)]:
        model = reloaded[-1]
        model.sparsify() if sparse else model.densify()
        path = os.path.join(folder, "model.joblib")
        joblib.dump(model, path)
        sizes[label] = os.path.getsize(path)
    assert np.array_equal(reloaded.predict(X_test), pipe.predict(X_test))
reloaded[-1].densify()
print(f"non-zero weights: {np.count_nonzero(clf.coef_)} of {clf.coef_.size}")
print({label: f"{size} bytes" for label, size in sizes.items()})

# %%
# The weights that were saved, as pictures: one 8x8 image per class (red:
# positive weight, blue: negative, white: zero).
vmax = np.abs(clf.coef_).max()
fig, axes = plt.subplots(2, 5, figsize=(8, 3.6), layout="constrained")
for ax, label, weights in zip(axes.ravel(), clf.classes_, clf.coef_):
    image = ax.imshow(weights.reshape(8, 8), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_title(f"class {label}")
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
fig.suptitle("Weights of the reloaded model")
plt.show()
