# InterroGate on SynthScenes at a 250 MMACs budget (see synthscenes_mbv2_200m.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_200m import *  # noqa: F401,F403

model.sparsity.budget = '250M'
work_dir = 'work_dirs/interrogate_synthscenes_mbv2_250m'
