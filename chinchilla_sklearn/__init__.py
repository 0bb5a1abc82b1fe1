"""chinchilla-sklearn: a sparse, gated, exact linear-sigmoid classifier."""

from ._classifier import ChinchillaClassifier
from ._plot import GateDisplay

__all__ = ["ChinchillaClassifier", "GateDisplay"]
__version__ = "0.1.0.dev0"
