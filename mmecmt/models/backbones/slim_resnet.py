"""Slimmable ResNets on dynamic ops: mmseg's ResNetV1c (deep stem) and
mmpretrain's ResNet_CIFAR (3x3 stem for 32x32 images)."""
from typing import Dict

from mmpretrain.models.backbones import ResNet_CIFAR
from mmseg.models.backbones import ResNetV1c

from mmecmt.models.slimmable.dynamic_ops import DynamicConv2d
from mmecmt.registry import MODELS
from .slim_base import SlimBackboneMixin


@MODELS.register_module()
class SlimResNet(SlimBackboneMixin, ResNetV1c):
    """mmseg's ``ResNetV1c`` whose stages can run at reduced widths.

    Built by mmseg's constructor, then every Conv2d / BatchNorm2d is swapped
    in place for a dynamic op sharing its tensors: state-dict keys equal
    ``mmseg.ResNetV1c``'s (its checkpoints, e.g. ``open-mmlab://resnet50_v1c``,
    load unchanged) and at full width the output equals it. Output stride
    8 / 16 / 32 comes from ``strides`` / ``dilations`` as in mmseg (e.g.
    ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)`` for stride 8).

    Stages (``stage_names``): ``stem`` (three 3x3 convs) and ``layer1`` ...
    ``layer{num_stages}``. Width rule for a stage at ratio r
    (``scaled(c) = min(c, make_divisible(c * r, divisor))``):

    * ``stem``: every conv ``scaled(its full out channels)``
      (``stem_channels / 2``, ``stem_channels / 2``, ``stem_channels``);
    * each block of ``layerN``: inner width ``scaled(planes)`` (BasicBlock
      ``conv1``; Bottleneck ``conv1`` and ``conv2``) and output width
      ``scaled(planes * expansion)`` (the last conv and the downsample
      projection);
    * a block without a downsample projection (identity shortcut) keeps its
      output width equal to its input width, so residual adds always match.
      Inside a stage that is the stage rule itself; it overrides it for the
      first block of ``layer1`` in ResNet-18/34, whose output therefore
      follows the ``stem`` width (``layer1``'s ratio still sets its inner
      width).

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels, stem_channels, base_channels, num_stages, strides,
        dilations, out_indices, style, frozen_stages, conv_cfg, norm_cfg,
        norm_eval, multi_grid, contract_dilation, with_cp,
        zero_init_residual, pretrained, init_cfg: as mmseg's ``ResNet``
            (no ``dcn`` / ``plugins``: they are not slimmable). ``norm_cfg``
            must build ``nn.BatchNorm2d`` and ``conv_cfg`` ``nn.Conv2d``.
        divisor: active channels are multiples of it (default 8).

    Shapes:
        input (B, in_channels, H, W) -> tuple of (B, C_i, H / s_i, W / s_i),
        one per ``out_indices``, C_i the active width of ``layer{i+1}``
        (``active_stage_channels``).
    """

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 base_channels: int = 64,
                 num_stages: int = 4,
                 strides=(1, 2, 2, 2),
                 dilations=(1, 1, 1, 1),
                 out_indices=(0, 1, 2, 3),
                 style: str = 'pytorch',
                 frozen_stages: int = -1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 multi_grid=None,
                 contract_dilation: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 pretrained=None,
                 init_cfg=None,
                 divisor: int = 8):
        super().__init__(
            depth=depth,
            in_channels=in_channels,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            style=style,
            frozen_stages=frozen_stages,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            multi_grid=multi_grid,
            contract_dilation=contract_dilation,
            with_cp=with_cp,
            zero_init_residual=zero_init_residual,
            pretrained=pretrained,
            init_cfg=init_cfg)
        self.stage_names = ('stem', ) + tuple(self.res_layers)
        self.make_slimmable_(divisor)

    def _apply_stage_ratios(self, ratios: Dict[str, float]) -> Dict[str, int]:
        """Write every conv's ``active_out_channels``; return the active
        output channels of each stage."""
        stage_channels = {}
        for conv in self.stem.modules():
            if isinstance(conv, DynamicConv2d):
                conv.active_out_channels = self.scaled(conv.out_channels,
                                                       ratios['stem'])
                channels = conv.active_out_channels
        stage_channels['stem'] = channels
        stage_channels.update(
            apply_res_layer_ratios(self, channels, ratios))
        return stage_channels


def apply_res_layer_ratios(backbone: SlimBackboneMixin, channels: int,
                           ratios: Dict[str, float]) -> Dict[str, int]:
    """Set the widths of a ResNet's residual stages (``backbone.res_layers``,
    mmseg's or mmpretrain's Basic/Bottleneck blocks) after a stem of
    ``channels`` active outputs; return ``{stage: active out channels}``.

    Inner convs run ``scaled(planes)``; the last conv and the downsample
    projection ``scaled(planes * expansion)``; a block with an identity
    shortcut keeps its input width so that the residual add matches.
    """
    stage_channels = {}
    for stage in backbone.res_layers:
        ratio = ratios[stage]
        for block in getattr(backbone, stage):
            inner_convs = [block.conv1]
            last_conv = block.conv2
            if hasattr(block, 'conv3'):  # Bottleneck
                inner_convs.append(block.conv2)
                last_conv = block.conv3
            for conv in inner_convs:
                conv.active_out_channels = backbone.scaled(
                    conv.out_channels, ratio)
            if block.downsample is None:  # identity shortcut
                out_channels = channels
            else:
                out_channels = backbone.scaled(last_conv.out_channels, ratio)
                block.downsample[0].active_out_channels = out_channels
            last_conv.active_out_channels = out_channels
            channels = out_channels
        stage_channels[stage] = channels
    return stage_channels


@MODELS.register_module()
class SlimResNetCIFAR(SlimBackboneMixin, ResNet_CIFAR):
    """mmpretrain's ``ResNet_CIFAR`` (3x3 stride-1 stem, no max-pool: for
    32x32 images) whose stages can run at reduced widths.

    Built by mmpretrain's constructor, then converted in place to dynamic ops
    like :class:`SlimResNet`: state-dict keys equal
    ``mmpretrain.ResNet_CIFAR``'s and at full width the output equals it.

    Stages (``stage_names``): ``stem`` (``conv1``, ``scaled(stem_channels)``
    outputs) and ``layer1`` ... ``layer{num_stages}``, with the block rule of
    :class:`SlimResNet`.

    Args:
        depth: 18, 34, 50, 101 or 152.
        divisor: active channels are multiples of it (default 8).
        **kwargs: the other arguments of ``mmpretrain.ResNet_CIFAR``
            (``out_indices`` defaults to ``(3, )``, the last stage); the
            norm layers must be ``nn.BatchNorm2d`` and the convs
            ``nn.Conv2d`` (no ``avg_down``).

    Shapes:
        input (B, 3, H, W) -> tuple of (B, C_i, H / s_i, W / s_i), one per
        ``out_indices`` (s = 1, 2, 4, 8 for layer1 ... layer4).
    """

    def __init__(self, depth: int, divisor: int = 8, **kwargs):
        if kwargs.get('avg_down'):
            raise ValueError('SlimResNetCIFAR: avg_down=True is not '
                             'slimmable (its shortcut starts with a pool)')
        super().__init__(depth, **kwargs)
        self.stage_names = ('stem', ) + tuple(self.res_layers)
        self.make_slimmable_(divisor)

    def _apply_stage_ratios(self, ratios: Dict[str, float]) -> Dict[str, int]:
        """Write every conv's ``active_out_channels``; return the active
        output channels of each stage."""
        channels = self.scaled(self.conv1.out_channels, ratios['stem'])
        self.conv1.active_out_channels = channels
        stage_channels = dict(stem=channels)
        stage_channels.update(
            apply_res_layer_ratios(self, channels, ratios))
        return stage_channels
