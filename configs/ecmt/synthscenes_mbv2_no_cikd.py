# Ablation of `synthscenes_mbv2.py`: the plain sandwich rule without CI-KD
# (distiller=None: no distillation loss; no CIKDHook); everything else is
# identical.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

model.distiller = None
custom_hooks = []
