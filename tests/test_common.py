"""scikit-learn's estimator checks (project-template style)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from chinchilla_sklearn import ChinchillaClassifier


@parametrize_with_checks(
    [
        ChinchillaClassifier(),
        ChinchillaClassifier(l1_ratio=1.0),
        ChinchillaClassifier(l1_ratio=0.5),
    ]
)
def test_estimators(estimator, check):
    """Check the compatibility with scikit-learn's API."""
    check(estimator)
