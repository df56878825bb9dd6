"""mmecmt: controllable multi-task dense prediction for OpenMMLab."""
from .version import __version__  # noqa: F401
