"""Training algorithms: how an architecture is trained (the sandwich rule,
distillation), apart from what the architecture is."""
from .base import BaseAlgorithm, algorithm_of, architecture_of
from .cdma import CDMAAlgorithm
from .cikd_distiller import CIKDDistiller
from .sandwich import SandwichAlgorithm

__all__ = ['BaseAlgorithm', 'SandwichAlgorithm', 'CIKDDistiller', 'CDMAAlgorithm',
           'architecture_of', 'algorithm_of']
