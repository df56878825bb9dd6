# MobileNetV2 encoder (mmpretrain's; 24 ch @ stride 4, 32 @ 8, 96 @ 16,
# 320 @ 32) and a light DeepLabv3+ head shape shared by every dense task.
norm_cfg = dict(type='BN')
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=(123.675, 116.28, 103.53),
    std=(58.395, 57.12, 57.375),
    bgr_to_rgb=True,
    size_divisor=32)
backbone = dict(
    type='mmpretrain.MobileNetV2',
    widen_factor=1.0,
    out_indices=(1, 2, 4, 6),
    norm_cfg=norm_cfg)
# out_channels is filled from each task (MultiTaskEncoderDecoder).
dense_head = dict(
    type='DeepLabV3PlusTaskHead',
    in_channels=(24, 320),
    in_index=(0, 3),
    channels=64,
    c1_channels=24,
    dilations=(1, 2, 4),
    separable=True,
    dropout_ratio=0.0,
    norm_cfg=norm_cfg)
# mmpretrain's MobileNetV2 always runs its last 1x1 conv (`conv2`, 1280 ch),
# whose output no head uses: DDP must tolerate those unused parameters.
find_unused_parameters = True
# The literature's DeepLabv3+ head width for real-resolution data
# (NYUD-v2, PASCAL-Context).
real_data_head = dict(dense_head, channels=256, c1_channels=48,
                      dilations=(1, 6, 12, 18), dropout_ratio=0.1)
