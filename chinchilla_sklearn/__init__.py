"""chinchilla-sklearn: a sparse, gated, exact linear-sigmoid classifier."""

from ._classifier import ChinchillaClassifier

__all__ = ["ChinchillaClassifier"]
__version__ = "0.1.0.dev0"
