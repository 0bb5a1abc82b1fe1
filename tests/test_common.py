"""scikit-learn's estimator checks (project-template style)."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from chinchilla_sklearn import ChinchillaClassifier

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
    ]
)
def test_estimators(estimator, check):
    """Check the compatibility with scikit-learn's API."""
    if getattr(check, "func", check).__name__ in TIGHT_TOL_CHECKS:
        estimator = clone(estimator).set_params(tol=1e-12)
    check(estimator)
