# Mixing OpenMMLab parts: mmseg's ResNetV1c-18 encoder (output stride 16),
# mmseg's ASPPHead for semseg and depth (a regression head: num_classes =
# out_channels = 1), mmseg's FCNHead for normals, edges and saliency.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synthscenes import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

norm_cfg = dict(type='BN', requires_grad=True)
aspp_head = dict(
    type='mmseg.ASPPHead', in_channels=512, in_index=3, channels=64,
    dilations=(1, 2, 4), dropout_ratio=0.0, norm_cfg=norm_cfg,
    align_corners=False)
fcn_head = dict(
    type='mmseg.FCNHead', in_channels=(128, 512), in_index=(1, 3),
    input_transform='resize_concat', channels=64, num_convs=1,
    concat_input=False, dropout_ratio=0.0, norm_cfg=norm_cfg,
    align_corners=False)
model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=dict(
        type='MultiTaskDataPreProcessor', bgr_to_rgb=True, size_divisor=32),
    backbone=dict(
        type='mmseg.ResNetV1c', depth=18, num_stages=4,
        out_indices=(0, 1, 2, 3), strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2), norm_cfg=norm_cfg, contract_dilation=True),
    # num_classes / out_channels of the mmseg heads come from each task.
    tasks=dict(
        semseg=dict(synth_task_info['semseg'], head=aspp_head),
        depth=dict(synth_task_info['depth'], head=aspp_head),
        normals=dict(synth_task_info['normals'], head=fcn_head),
        edge=dict(synth_task_info['edge'], head=fcn_head),
        sal=dict(synth_task_info['sal'], head=fcn_head),
    ))
