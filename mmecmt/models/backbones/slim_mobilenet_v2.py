"""Slimmable MobileNetV2: mmpretrain's MobileNetV2 running on dynamic ops."""
from typing import Dict

from mmpretrain.models import MobileNetV2

from mmecmt.registry import MODELS
from .slim_base import SlimBackboneMixin


@MODELS.register_module()
class SlimMobileNetV2(SlimBackboneMixin, MobileNetV2):
    """mmpretrain's ``MobileNetV2`` whose stages can run at reduced widths.

    Built by mmpretrain's constructor, then every Conv2d / BatchNorm2d is
    swapped in place for a dynamic op sharing its tensors, so the state-dict
    keys are mmpretrain's (its checkpoints load unchanged) and the inherited
    forward runs as is; at full width the output equals mmpretrain's.

    Stages (``stage_names``): ``conv1`` (stem), ``layer1`` ... ``layer7``
    (inverted-residual stages), ``conv2`` (the final 1x1 conv). Width rule
    for a stage at ratio r (``scaled(c) = min(c, make_divisible(c * r,
    divisor))``):

    * ``conv1`` / ``conv2``: ``scaled(full out channels)``;
    * each inverted residual block of ``layerN``: output channels
      ``scaled(full block out)``, hidden (expanded) channels
      ``scaled(full hidden)`` (blocks with expand ratio 1 have no expansion:
      the hidden width is their input width); the depthwise conv follows its
      input.
    * a block with an identity shortcut keeps its output width equal to its
      input width, so residual adds always match. Inside a stage this is the
      stage rule itself (all blocks share the ratio); it only overrides the
      rule for a stage's first block when that block has a shortcut (which
      happens only when ``widen_factor`` makes both stages 8 channels wide).

    ``out_indices`` index ``layer1``..``layer7`` (0..6) and ``conv2`` (7), as
    in mmpretrain.

    Block-wise hidden widths (``block_widths=True``, ours, a finer search
    space in the spirit of Once-for-All's per-block expand ratios): every
    block with an expansion conv becomes a width unit of its own, named
    ``'{stage}.{index}'`` (``layer2.0`` ... ``layer7.0``: 16 units at the
    standard arch), appended to ``stage_names``. Its ratio sets that block's
    hidden (expanded) channels, ``scaled(full hidden)``; the stage's ratio
    then sets only the output channels of its blocks. The state dict, the
    full-width output and every stage-level rule are unchanged.

    Args:
        widen_factor, out_indices, frozen_stages, conv_cfg, norm_cfg,
        act_cfg, norm_eval, with_cp, init_cfg: as mmpretrain's
            ``MobileNetV2``. ``norm_cfg`` must build ``nn.BatchNorm2d``
            (``type='BN'``) and ``conv_cfg`` ``nn.Conv2d``.
        divisor: active channels are multiples of it (default 8).
        block_widths: give every expanding block its own hidden-width unit
            (see above; default False: the stage ratio sets it).

    Shapes:
        input (B, 3, H, W) -> tuple of (B, C_i, H / s_i, W / s_i), one per
        ``out_indices``, C_i the active width of that stage
        (``active_stage_channels``).
    """

    stage_names = ('conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5',
                   'layer6', 'layer7', 'conv2')

    def __init__(self,
                 widen_factor: float = 1.,
                 out_indices=(7, ),
                 frozen_stages: int = -1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU6'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(
                         type='Constant',
                         val=1,
                         layer=['_BatchNorm', 'GroupNorm'])
                 ],
                 divisor: int = 8,
                 block_widths: bool = False):
        super().__init__(
            widen_factor=widen_factor,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        self.block_widths = bool(block_widths)
        if self.block_widths:
            self.stage_names = type(self).stage_names + tuple(
                self._block_unit(stage, index)
                for stage in type(self).stage_names[1:-1]
                for index, block in enumerate(getattr(self, stage))
                if self._expands(block))
        self.make_slimmable_(divisor)

    @staticmethod
    def _expands(block) -> bool:
        """Whether an inverted residual block has a 1x1 expansion conv
        (``conv`` = expand, depthwise, project; expand ratio 1 has none)."""
        return len(block.conv) == 3

    @staticmethod
    def _block_unit(stage: str, index: int) -> str:
        """Name of block ``index`` of ``stage`` as a hidden-width unit."""
        return f'{stage}.{index}'

    def _apply_stage_ratios(self, ratios: Dict[str, float]) -> Dict[str, int]:
        """Write every conv's ``active_out_channels``; return the active
        output channels of each stage."""
        stage_channels = {}
        conv1 = self.conv1.conv
        channels = self.scaled(conv1.out_channels, ratios['conv1'])
        conv1.active_out_channels = channels
        stage_channels['conv1'] = channels
        for stage in type(self).stage_names[1:-1]:  # layer1 ... layer7
            ratio = ratios[stage]
            for index, block in enumerate(getattr(self, stage)):
                project = block.conv[-1]
                if self._expands(block):  # 1x1 expansion: the hidden width
                    conv = block.conv[0].conv
                    hidden_ratio = ratios[self._block_unit(stage, index)] \
                        if self.block_widths else ratio
                    conv.active_out_channels = self.scaled(
                        conv.out_channels, hidden_ratio)
                # the depthwise conv follows its input (no setting)
                if block.use_res_connect:
                    out_channels = channels
                else:
                    out_channels = self.scaled(
                        project.conv.out_channels, ratio)
                project.conv.active_out_channels = out_channels
                channels = out_channels
            stage_channels[stage] = channels
        conv2 = self.conv2.conv
        conv2.active_out_channels = self.scaled(conv2.out_channels,
                                                ratios['conv2'])
        stage_channels['conv2'] = conv2.active_out_channels
        return stage_channels
