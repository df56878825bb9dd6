"""Image-classification task head: global average pool + linear layer."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmecmt.registry import MODELS
from .utils import (Feats, check_head_args, init_output_layer,
                    select_levels)


@MODELS.register_module()
class ClsTaskHead(BaseModule):
    """Global average pool of one level -> dropout -> linear -> logits.

    Args:
        in_channels: channels of the selected level.
        num_classes: number of classes (logits).
        in_index: index of the level in ``feats`` (default: the last one).
        dropout_ratio: dropout before the linear layer (0 disables it).
        init_cfg: mmengine init config; by default the linear layer is
            N(0, 0.01) with zero bias.

    Shapes:
        feats: sequence of (B, C_i, H_i, W_i); the selected level may also be
        already pooled, (B, in_channels).
        output: (B, num_classes) logits.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 in_index: int = -1,
                 dropout_ratio: float = 0.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if not isinstance(in_index, int):
            raise ValueError(f'{name}: in_index must be an int, got '
                             f'{in_index!r}')
        check_head_args(name, dropout_ratio, in_channels=in_channels,
                        num_classes=num_classes)
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.in_index = in_index
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.fc = nn.Linear(self.in_channels, self.num_classes)
        init_output_layer(self.fc)

    @property
    def out_channels(self) -> int:
        """Alias of ``num_classes`` (the dense heads' name for it)."""
        return self.num_classes

    def forward(self, feats: Feats) -> Tensor:
        """Map a feature pyramid to (B, num_classes) logits."""
        (x, ) = select_levels(
            type(self).__name__, feats, (self.in_index, ),
            (self.in_channels, ), dense=False)
        if x.dim() == 4:
            x = self.pool(x).flatten(1)
        return self.fc(self.dropout(x))
