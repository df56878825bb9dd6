# InterroGate over half-width branches at a 85 MMACs budget (see
# synthscenes_mbv2_half_105m.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_half_105m import *  # noqa: F401,F403

model.sparsity.budget = '85M'
work_dir = 'work_dirs/interrogate_synthscenes_mbv2_half_85m'
