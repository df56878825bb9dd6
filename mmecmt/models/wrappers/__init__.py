"""Model wrappers (distributed training) of mmecmt."""
from .sandwich_ddp import SandwichDDP

__all__ = ['SandwichDDP']
