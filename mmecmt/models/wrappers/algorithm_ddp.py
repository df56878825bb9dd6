"""DDP wrapper of a training algorithm: every forward of its step runs
through DDP."""
from typing import Dict, Union

from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch import Tensor

from mmecmt.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class AlgorithmDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose ``train_step`` is the wrapped
    algorithm's, with this wrapper running each forward.

    mmengine's DDP ``train_step`` runs one forward and one backward. An
    algorithm's step may run several (ECMT's sandwich rule: max, min and K
    random subnets, each with its own backward, then one optimizer step);
    the wrapper calls ``module.train_step(data, optim_wrapper,
    runner_model=self)`` so that every forward goes through DDP and DDP
    all-reduces every backward's gradients (the pattern of mmrazor's BigNAS
    DDP wrapper, without copying the algorithm's step). The sandwich members
    are identical on every rank without communication: the sampler seeds its
    generator with ``(seed, iteration)``. Use ``find_unused_parameters=True``
    when members leave parts of the network unused.

    Registered also as ``SandwichDDP`` (its older name). In a config use the
    import path, ``type='mmecmt.models.wrappers.AlgorithmDDP'``: the Runner
    looks wrapper types up in mmengine's root registry.

    Args:
        module: a training algorithm
            (:class:`~mmecmt.models.algorithms.BaseAlgorithm`).
        **kwargs: as :class:`MMDistributedDataParallel` (``device_ids=None``
            on CPU, ``broadcast_buffers``, ``find_unused_parameters`` ...).
    """

    def __init__(self, module, **kwargs):
        from mmecmt.models.algorithms import BaseAlgorithm
        if not isinstance(module, BaseAlgorithm):
            raise TypeError(
                'AlgorithmDDP wraps a training algorithm (BaseAlgorithm, '
                f'e.g. SandwichAlgorithm), got {type(module).__name__}; wrap '
                'a bare architecture in MMDistributedDataParallel')
        super().__init__(module=module, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """The algorithm's training step, its forwards through DDP."""
        return self.module.train_step(data, optim_wrapper, runner_model=self)


#: the older name, for configs written before the algorithm split.
SandwichDDP = AlgorithmDDP
MODEL_WRAPPERS.register_module(name='SandwichDDP', module=AlgorithmDDP)

__all__ = ['AlgorithmDDP', 'SandwichDDP']
