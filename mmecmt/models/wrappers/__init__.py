"""Model wrappers (distributed training) of mmecmt."""
from .algorithm_ddp import AlgorithmDDP, SandwichDDP

__all__ = ['AlgorithmDDP', 'SandwichDDP']
