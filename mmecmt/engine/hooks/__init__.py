"""Runner hooks of mmecmt."""
from .visualization_hook import MultiTaskVisualizationHook

__all__ = ['MultiTaskVisualizationHook']
