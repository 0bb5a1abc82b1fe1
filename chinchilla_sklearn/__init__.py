"""chinchilla-sklearn: a sparse, gated, exact linear-sigmoid classifier."""

from ._classifier import ChinchillaClassifier
from ._cv import ChinchillaClassifierCV
from ._path import regularization_path
from ._plot import GateDisplay

__all__ = [
    "ChinchillaClassifier",
    "ChinchillaClassifierCV",
    "GateDisplay",
    "regularization_path",
]
__version__ = "0.1.0.dev0"
