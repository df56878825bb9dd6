"""Training algorithm vs architecture: the base class of the algorithms.

An *architecture* is the network a method deploys (e.g. ECMT's
:class:`~mmecmt.models.architectures.SlimMultiTaskEncoderDecoder`: search
space, ``set_subnet``, forward and loss of the active subnet). An
*algorithm* is how it is trained (e.g. the sandwich rule with CI-KD): it
holds the architecture as ``self.architecture``, adds what only training
needs (a sampler, a distiller, scheduled weights) and overrides
``train_step``. Validation, test and prediction are the architecture's.
This is the split of mmrazor (``BaseAlgorithm`` / architecture / mutator).

A checkpoint of an algorithm holds the architecture's weights under the
``architecture.`` prefix; :func:`mmecmt.utils.checkpoint.load_trained`
strips it when a tool loads the checkpoint into the bare architecture.
"""
from typing import Dict, List, Optional, Union

from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from mmecmt.registry import MODELS

#: prefix of the architecture's weights in an algorithm's state dict.
ARCHITECTURE_KEY = 'architecture'


@MODELS.register_module()
class BaseAlgorithm(BaseModel):
    """Train ``architecture`` with mmengine's default step (one forward and
    loss of the architecture as it is, one optimizer step); subclasses
    override :meth:`train_step`.

    Every forward of a training step runs through ``runner_model``: the
    algorithm itself, or the DDP wrapper around it
    (:class:`~mmecmt.models.wrappers.AlgorithmDDP` passes itself), so that
    DDP reduces the gradients of every backward.

    Args:
        architecture: config (built from ``MODELS``) or a built
            :class:`~mmengine.model.BaseModel`.
        data_preprocessor: a default for the architecture's config when it
            has none (the Runner passes the config's top-level
            ``data_preprocessor`` here); the algorithm always preprocesses
            with the architecture's preprocessor, so the two never differ.
        init_cfg: mmengine init config of the algorithm's own modules.

    Attributes:
        architecture (BaseModel): the trained network.
    """

    def __init__(self,
                 architecture: Union[dict, BaseModel],
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(architecture, dict):
            architecture = dict(architecture)
            if data_preprocessor is not None:
                architecture.setdefault('data_preprocessor',
                                        data_preprocessor)
            architecture = MODELS.build(architecture)
        elif data_preprocessor is not None and \
                data_preprocessor is not getattr(architecture,
                                                 'data_preprocessor', None):
            raise ValueError(
                f'{type(self).__name__}: a built architecture brings its own '
                'data_preprocessor; give data_preprocessor=None (or put it '
                'in the architecture\'s config)')
        if not isinstance(architecture, BaseModel):
            raise TypeError(
                f'{type(self).__name__}: architecture must be a config dict '
                'or an mmengine BaseModel, got '
                f'{type(architecture).__name__}')
        super().__init__(
            data_preprocessor=architecture.data_preprocessor,
            init_cfg=init_cfg)
        self.architecture = architecture
        self._register_bare_state_dict_hook()

    # ------------------------------------------------------------------
    # what the tools and loops see: the architecture's
    # ------------------------------------------------------------------
    @property
    def search_space(self):
        """The architecture's search space."""
        return self.architecture.search_space

    @property
    def subnet(self):
        """The architecture's active subnet."""
        return self.architecture.subnet

    @property
    def max_subnet(self):
        return self.architecture.max_subnet

    @property
    def min_subnet(self):
        return self.architecture.min_subnet

    def set_subnet(self, spec):
        """Activate a subnet of the architecture (its ``set_subnet``)."""
        return self.architecture.set_subnet(spec)

    @property
    def tasks(self) -> List[str]:
        return self.architecture.tasks

    @property
    def task_specs(self) -> Dict:
        return self.architecture.task_specs

    # ------------------------------------------------------------------
    # forward: the architecture's
    # ------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples=None,
                mode: str = 'tensor'):
        """The architecture's forward in ``mode`` (``'loss'``,
        ``'predict'``, ``'tensor'``)."""
        return self.architecture(inputs, data_samples, mode=mode)

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        return self.architecture.loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples=None):
        return self.architecture.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples=None):
        return self.architecture._forward(inputs, data_samples)

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.architecture.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.architecture.test_step(data)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper,
                   runner_model: Optional[nn.Module] = None
                   ) -> Dict[str, Tensor]:
        """mmengine's default step: preprocess, the loss of the
        architecture as it is, ``optim_wrapper.update_params``.

        Args:
            data: a batch from the dataloader (before preprocessing).
            optim_wrapper: the optimizer wrapper.
            runner_model: what runs the forward: None (this algorithm) or
                the DDP wrapper around it.

        Returns:
            The parsed log vars (``loss`` and the architecture's losses).
        """
        runner_model = self if runner_model is None else runner_model
        with optim_wrapper.optim_context(runner_model):
            data = self.data_preprocessor(data, True)
            losses = self.run_forward(runner_model, data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed)
        return log_vars

    @staticmethod
    def run_forward(runner_model: nn.Module, data: Union[dict, tuple, list],
                    **kwargs):
        """``runner_model(**data, **kwargs)`` (or ``*data`` for a
        sequence), as mmengine's ``_run_forward``."""
        if isinstance(data, dict):
            return runner_model(**data, **kwargs)
        if isinstance(data, (list, tuple)):
            return runner_model(*data, **kwargs)
        raise TypeError('the preprocessed data must be a dict, list or '
                        f'tuple, got {type(data).__name__}')

    # ------------------------------------------------------------------
    # state dicts of the bare architecture
    # ------------------------------------------------------------------
    def _register_bare_state_dict_hook(self) -> None:
        """Let a state dict of the bare architecture (no ``architecture.``
        prefix: a checkpoint of the architecture alone) load into the
        algorithm: its keys get the prefix before loading. (A bound method,
        so that a deep copy of the algorithm hooks its own copy.)"""
        self._register_load_state_dict_pre_hook(self._add_architecture_prefix)

    def _add_architecture_prefix(self, state_dict, prefix, *args) -> None:
        own = [k for k in state_dict if k.startswith(prefix)]
        arch_prefix = prefix + ARCHITECTURE_KEY + '.'
        if not own or any(k.startswith(arch_prefix) for k in own):
            return
        arch_keys = self.architecture.state_dict().keys()
        if not any(k[len(prefix):] in arch_keys for k in own):
            return
        for key in own:
            state_dict[arch_prefix + key[len(prefix):]] = state_dict.pop(key)

def architecture_of(model: nn.Module) -> nn.Module:
    """The architecture inside ``model``: model wrappers (DDP ...) and
    training algorithms (:class:`BaseAlgorithm`) are unwrapped, in any
    nesting; any other module is returned as it is."""
    while True:
        if is_model_wrapper(model):
            model = model.module
        elif isinstance(model, BaseAlgorithm):
            model = model.architecture
        else:
            return model


def algorithm_of(model: nn.Module) -> nn.Module:
    """``model`` without its model wrappers (DDP ...): the algorithm, or
    the architecture when it is trained without one."""
    while is_model_wrapper(model):
        model = model.module
    return model


__all__ = ['BaseAlgorithm', 'architecture_of', 'algorithm_of',
           'ARCHITECTURE_KEY']
