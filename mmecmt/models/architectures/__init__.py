from .multitask_encoder_decoder import (MultiTaskEncoderDecoder,
                                        stack_cls_targets,
                                        stack_dense_targets)

__all__ = [
    'MultiTaskEncoderDecoder', 'stack_dense_targets', 'stack_cls_targets'
]
