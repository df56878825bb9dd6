"""Hooks, loops and BN recalibration."""
from .bn_calibration import BNCalibrator
from .hooks import *  # noqa: F401,F403
from .loops import *  # noqa: F401,F403
