"""Slimmable image-classification task head: global pool -> hidden linear
layer whose width is searched -> ReLU -> linear to the classes."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmecmt.models.slimmable.convert import (check_divisor, check_width_ratio,
                                             scale_channels)
from mmecmt.models.slimmable.dynamic_ops import DynamicLinear
from mmecmt.registry import MODELS
from .utils import Feats, check_head_args, init_output_layer


@MODELS.register_module()
class SlimClsTaskHead(BaseModule):
    """Global average pool of one (possibly slimmed) level -> ``fc_hidden``
    (``channels`` units at full width) -> ReLU -> dropout -> ``fc`` logits.

    :meth:`set_width` sets the active hidden units to
    ``scale_channels(channels, ratio, divisor)``; the input width follows the
    encoder's active width and the logits always keep ``num_classes``.

    Args:
        in_channels: full channels of the selected level.
        num_classes: number of classes (logits).
        channels: hidden units at full width (default 256).
        in_index: index of the level in ``feats`` (default: the last one).
        dropout_ratio: dropout before the output layer (0 disables it).
        divisor: active hidden units are multiples of it (default 8).
        init_cfg: mmengine init config; by default the output layer is
            N(0, 0.01) with zero bias.

    Shapes:
        feats: sequence of (B, C_i, H_i, W_i) or pooled (B, C_i), the
        selected level with 1 <= C <= in_channels.
        output: (B, num_classes) logits.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 channels: int = 256,
                 in_index: int = -1,
                 dropout_ratio: float = 0.0,
                 divisor: int = 8,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if not isinstance(in_index, int):
            raise ValueError(f'{name}: in_index must be an int, got '
                             f'{in_index!r}')
        check_head_args(name, dropout_ratio, in_channels=in_channels,
                        num_classes=num_classes, channels=channels)
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.channels = int(channels)
        self.in_index = in_index
        self.divisor = check_divisor(divisor, name)
        self.fc_hidden = DynamicLinear(self.in_channels, self.channels)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.fc = DynamicLinear(self.channels, self.num_classes)
        init_output_layer(self.fc)
        self.set_width(1.0)

    @property
    def out_channels(self) -> int:
        """Alias of ``num_classes`` (the dense heads' name for it)."""
        return self.num_classes

    def set_width(self, ratio: float) -> None:
        """Run ``scale_channels(channels, ratio, divisor)`` hidden units.

        Raises:
            ValueError: ``ratio`` is not in (0, 1].
        """
        ratio = check_width_ratio(ratio, type(self).__name__)
        self.active_channels = scale_channels(self.channels, ratio,
                                              self.divisor)
        self.fc_hidden.active_out_features = self.active_channels

    def forward(self, feats: Feats) -> Tensor:
        """Map a feature pyramid to (B, num_classes) logits."""
        name = type(self).__name__
        if isinstance(feats, Tensor):
            feats = [feats]
        if not -len(feats) <= self.in_index < len(feats):
            raise ValueError(
                f'{name}: in_index {self.in_index} is out of range for '
                f'{len(feats)} input levels (valid: {-len(feats)} to '
                f'{len(feats) - 1})')
        x = feats[self.in_index]
        if x.dim() not in (2, 4) or not 1 <= x.shape[1] <= self.in_channels:
            raise ValueError(
                f'{name}: input level {self.in_index} has shape '
                f'{tuple(x.shape)}, expected (B, C, H, W) or (B, C) with '
                f'1 <= C <= {self.in_channels} (in_channels)')
        if x.dim() == 4:
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = F.relu(self.fc_hidden(x))
        return self.fc(self.dropout(x))
