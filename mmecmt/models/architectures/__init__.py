from .multitask_encoder_decoder import (MultiTaskEncoderDecoder,
                                        stack_cls_targets,
                                        stack_dense_targets)
from .anchor_net import AnchorNet
from .cdma_net import CDMANet
from .gated_multitask_net import GatedMultiTaskNet, build_pruned_gated_net
from .static_subnet import build_static_subnet
from .slim_multitask_encoder_decoder import (SlimMultiTaskEncoderDecoder,
                                             unwrap_model)
from .tree_multitask_net import TreeMultiTaskNet, fold_bn_deltas

__all__ = [
    'MultiTaskEncoderDecoder', 'stack_dense_targets', 'stack_cls_targets',
    'SlimMultiTaskEncoderDecoder', 'unwrap_model', 'build_static_subnet',
    'AnchorNet', 'CDMANet', 'TreeMultiTaskNet', 'fold_bn_deltas',
    'GatedMultiTaskNet', 'build_pruned_gated_net'
]
