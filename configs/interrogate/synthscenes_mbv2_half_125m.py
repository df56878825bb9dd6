# InterroGate over half-width branches at a 125 MMACs budget (see
# synthscenes_mbv2_half_105m.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_half_105m import *  # noqa: F401,F403

model.sparsity.budget = '125M'
work_dir = 'work_dirs/interrogate_synthscenes_mbv2_half_125m'
