# ECMT on SynthScenes with a finer encoder search space (ours): as
# `synthscenes_mbv2.py`, plus one hidden-width unit per expanding
# inverted-residual block (SlimMobileNetV2(block_widths=True): 16 units,
# `layer2.0` ... `layer7.0`). A stage's ratio then sets only its blocks'
# output channels. 24 encoder entries of 5 choices instead of 8; the largest
# and the smallest subnet are those of `synthscenes_mbv2.py`.
#   python tools/train.py configs/ecmt/synthscenes_mbv2_blockwise.py
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

# the expanding blocks of MobileNetV2's standard arch (layer1 has none)
mbv2_blocks = dict(layer2=2, layer3=3, layer4=4, layer5=3, layer6=3,
                   layer7=1)
model.architecture.backbone.update(block_widths=True)
model.architecture.search_space.encoder.update(
    stages=tuple(search_space['encoder']['stages']) + tuple(
        f'{stage}.{index}' for stage, num in mbv2_blocks.items()
        for index in range(num)))
# 24 + 5 widths give 464 ridge features, more than the evaluated subnets:
# the ridge weight is chosen per task by leave-one-out (AccuracyPredictor).
predictor = dict(alpha='auto')
