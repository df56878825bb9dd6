"""DDP wrapper running the sandwich rule of a slimmable supernet."""
from typing import Dict, Union

from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch import Tensor

from mmecmt.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class SandwichDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose ``train_step`` is the sandwich rule
    of the wrapped :class:`~mmecmt.models.SlimMultiTaskEncoderDecoder`.

    Every member (max, min, K random) runs its forward through this wrapper
    and its own backward, so DDP all-reduces each member's gradients into the
    accumulated ``.grad``; one optimizer step follows (the pattern of
    mmrazor's BigNAS DDP wrapper). The members are identical on every rank
    without communication: the sampler seeds its generator with
    ``(seed, iteration)``. Use ``find_unused_parameters=True``: members may
    leave parts of the supernet unused.

    Args:
        module: the supernet (needs ``sandwich_step``).
        **kwargs: as :class:`MMDistributedDataParallel` (``device_ids=None``
            on CPU, ``broadcast_buffers``, ``find_unused_parameters`` ...).
    """

    def __init__(self, module, **kwargs):
        if not callable(getattr(module, 'sandwich_step', None)):
            raise TypeError(
                f'SandwichDDP wraps a slimmable supernet with `sandwich_step`'
                f' (SlimMultiTaskEncoderDecoder), got {type(module).__name__}')
        super().__init__(module=module, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One sandwich-rule iteration; returns the supernet's log vars."""
        return self.module.sandwich_step(
            data, optim_wrapper, runner_model=self)
