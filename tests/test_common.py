"""scikit-learn's estimator checks (project-template style).

The CV instances use 3 folds (``check_sparsify_coefficients`` fits 9 samples, 3
per class, as scikit-learn's own instance of LogisticRegressionCV does) and a
smaller ``tol``: ``check_sample_weight_equivalence_*`` compares the refits of
weighted and repeated data to 1e-7, and the grids refit at ``C`` up to 1e4 (L2)
or 1e4 times ``C_min`` (L1), where the default ``tol`` certifies the weights to
about 1e-5 only. (Not 1e-8 for L1: a pure-L1 fit with class weights 1000 and
1e-4 at C=1e4, in ``check_class_weight_classifiers``, stalls at a violation of
3.5e-7, with the classifier as well.)
"""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from chinchilla_sklearn import ChinchillaClassifier, ChinchillaClassifierCV

# These checks compare two fits (weighted against repeated rows) to rtol=1e-7 on
# the decision function. The default tol=1e-4 certifies the objective to 1e-4
# relative, which bounds the weights only to about sqrt(1e-4) of their scale, so
# they run with tol=1e-12, as scikit-learn's own suite does for its iterative
# solvers (PER_ESTIMATOR_CHECK_PARAMS in sklearn/utils/_test_common).
TIGHT_TOL_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
}


@parametrize_with_checks(
    [
        ChinchillaClassifier(),
        ChinchillaClassifier(l1_ratio=1.0),
        ChinchillaClassifier(l1_ratio=0.5),
        ChinchillaClassifierCV(Cs=3, cv=3, tol=1e-8),
        ChinchillaClassifierCV(Cs=3, cv=3, l1_ratios=(0.5, 1.0), tol=1e-6),
    ]
)
def test_estimators(estimator, check):
    """Check the compatibility with scikit-learn's API."""
    if getattr(check, "func", check).__name__ in TIGHT_TOL_CHECKS:
        estimator = clone(estimator).set_params(tol=1e-12)
    check(estimator)
