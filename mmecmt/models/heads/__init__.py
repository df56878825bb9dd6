"""Task heads: ``head(feats) -> (B, out_channels, h, w)`` dense maps or
``(B, num_classes)`` logits. Heads select their inputs with ``in_index`` (as
mmseg decode heads do) and compute no loss."""
from .cls_head import ClsTaskHead
from .deeplabv3plus_head import ASPP, DeepLabV3PlusTaskHead
from .fcn_head import FCNTaskHead
from .slim_cls_head import SlimClsTaskHead
from .slim_deeplabv3plus_head import SlimDeepLabV3PlusTaskHead

__all__ = [
    'ASPP', 'DeepLabV3PlusTaskHead', 'FCNTaskHead', 'ClsTaskHead',
    'SlimClsTaskHead', 'SlimDeepLabV3PlusTaskHead'
]
