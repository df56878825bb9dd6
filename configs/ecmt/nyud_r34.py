# ECMT on NYUD-v2 (semseg, depth, normals) with a slimmable ResNet-34
# encoder (mmseg ResNetV1c keys, output stride 16).
from mmengine.config import read_base

with read_base():
    from .nyud_mbv2 import *  # noqa: F401,F403
    from .._base_.models.ecmt_r34_deeplabv3plus import *  # noqa: F401,F403

# (assigned, not `update(...)`: update would merge the new backbone into the
# MobileNetV2 one)
model.architecture.backbone = backbone
model.architecture.tasks = {
    task: dict(nyud_task_info[task], head=real_data_head)
    for task in ecmt_tasks
}
model.architecture.search_space = search_space
