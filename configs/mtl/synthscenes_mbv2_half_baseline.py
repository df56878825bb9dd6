# The SynthScenes multi-task baseline with a half-width MobileNetV2
# (widen_factor 0.5: 16 ch @ stride 4, 160 @ 32) and the same DeepLabv3+
# heads: the equal-MACs setting of the method comparison
# (docs/results/comparison.md), whose CDMA streams and InterroGate branches
# are half-width so that their MACs ranges overlap ECMT's.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_baseline import *  # noqa: F401,F403

half_head = dict(dense_head, in_channels=(16, 160))
model.backbone.update(widen_factor=0.5)
model.tasks = {
    task: dict(synth_task_info[task], head=half_head)
    for task in synth_tasks
}
