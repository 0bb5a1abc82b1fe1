"""chinchilla-sklearn: a sparse, gated, exact linear-sigmoid classifier."""

from ._classifier import ChinchillaClassifier
from ._cv import ChinchillaClassifierCV
from ._path import regularization_path
from ._path_display import PathDisplay
from ._plot import GateDisplay

__all__ = [
    "ChinchillaClassifier",
    "ChinchillaClassifierCV",
    "GateDisplay",
    "PathDisplay",
    "regularization_path",
]
__version__ = "0.1.0.dev0"
