"""Runner hooks of mmecmt."""
from .cikd_hook import CIKDHook
from .visualization_hook import MultiTaskVisualizationHook

__all__ = ['MultiTaskVisualizationHook', 'CIKDHook']
