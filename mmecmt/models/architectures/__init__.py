from .multitask_encoder_decoder import (MultiTaskEncoderDecoder,
                                        stack_cls_targets,
                                        stack_dense_targets)
from .static_subnet import build_static_subnet
from .slim_multitask_encoder_decoder import (SlimMultiTaskEncoderDecoder,
                                             unwrap_model)

__all__ = [
    'MultiTaskEncoderDecoder', 'stack_dense_targets', 'stack_cls_targets',
    'SlimMultiTaskEncoderDecoder', 'unwrap_model', 'build_static_subnet'
]
