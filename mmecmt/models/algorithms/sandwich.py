"""ECMT's training algorithm: the sandwich rule with CI-KD.

Per iteration the largest subnet, the smallest and K random ones
(Universally Slimmable Networks; BigNAS) are trained on the same batch, one
forward and one backward each (gradients accumulate), then ONE optimizer
step. Every member but the largest also pulls its encoder features towards
the largest subnet's (CI-KD, the ECMT paper).
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from mmecmt.models.architectures.slim_multitask_encoder_decoder import \
    _check_keys
from mmecmt.registry import MODELS
from mmecmt.search.sampler import MAX_MEMBER, SandwichSampler
from .base import BaseAlgorithm

#: the forward mode that returns one member's losses and features.
MEMBER_MODE = 'member'


@MODELS.register_module()
class SandwichAlgorithm(BaseAlgorithm):
    """Sandwich-rule training of a slimmable architecture, with CI-KD.

    Each member's loss is its weighted task losses plus, for every member
    but the largest, ``distill_weight * distiller(student feats, teacher
    feats)`` (``loss_cikd``): the member's backbone outputs pulled towards
    the detached ones of the largest subnet of the same step.
    ``distill_weight`` (default 1.0) is set every iteration by
    :class:`~mmecmt.engine.hooks.CIKDHook` when one is configured. Under DDP
    wrap the algorithm in :class:`~mmecmt.models.wrappers.AlgorithmDDP`.

    Config::

        model = dict(
            type='SandwichAlgorithm',
            architecture=dict(type='SlimMultiTaskEncoderDecoder', ...),
            sampler=dict(num_random=2, seed=0),
            distiller=dict(loss=dict(type='CIKDLoss', distance='mse'),
                           levels=None))

    Args:
        architecture: a slimmable architecture (``search_space``,
            ``set_subnet``, ``max_subnet`` and ``loss_and_feats``), config
            or built.
        sampler: ``dict(num_random=2, seed=0)``, see
            :class:`~mmecmt.search.sampler.SandwichSampler`.
        distiller: config of :class:`CIKDDistiller` (the default type) or
            another registered distiller, or a built one. None: the plain
            sandwich rule (no ``loss_cikd`` at all).
        data_preprocessor, init_cfg: see :class:`BaseAlgorithm`.

    Attributes:
        sampler (SandwichSampler): the members of each training step.
        distiller (CIKDDistiller | None): the CI-KD loss and its levels.
        distill_weight (float): multiplier of the CI-KD loss.
    """

    def __init__(self,
                 architecture: Union[dict, BaseModel],
                 sampler: Optional[dict] = None,
                 distiller: Optional[Union[dict, nn.Module]] = dict(
                     loss=dict(type='CIKDLoss', distance='mse')),
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(architecture, data_preprocessor, init_cfg)
        missing = [name for name in ('search_space', 'set_subnet',
                                     'max_subnet', 'loss_and_feats')
                   if not hasattr(self.architecture, name)]
        if missing:
            raise TypeError(
                f'SandwichAlgorithm trains a slimmable architecture (e.g. '
                f'SlimMultiTaskEncoderDecoder); '
                f'{type(self.architecture).__name__} has no {missing}')
        sampler = dict(sampler or {})
        _check_keys('sampler', sampler, ('num_random', 'seed'))
        self.sampler = SandwichSampler(self.architecture.search_space,
                                       **sampler)
        if isinstance(distiller, dict):
            distiller = dict(distiller)
            distiller.setdefault('type', 'CIKDDistiller')
            distiller = MODELS.build(distiller)
        if distiller is not None:
            if not isinstance(distiller, nn.Module):
                raise TypeError('SandwichAlgorithm: distiller must be a '
                                'config dict, an nn.Module or None, got '
                                f'{type(distiller).__name__}')
            prepare = getattr(distiller, 'prepare', None)
            if callable(prepare):
                prepare(self.architecture)
        self.distiller: Optional[nn.Module] = distiller
        self.distill_weight = 1.0
        self.architecture.set_subnet(self.architecture.max_subnet)

    # ------------------------------------------------------------------
    # one member
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples=None,
                mode: str = 'tensor',
                teacher_feats: Optional[Sequence[Tensor]] = None):
        """The architecture's modes plus ``'member'``: the losses of one
        sandwich member, see :meth:`member_loss`.

        (A mode, not a plain method call, so that under DDP the member's
        forward runs through the wrapper and its backward is reduced.)
        """
        if mode == MEMBER_MODE:
            return self.member_loss(inputs, data_samples, teacher_feats)
        return super().forward(inputs, data_samples, mode)

    def member_loss(self,
                    inputs: Tensor,
                    data_samples,
                    teacher_feats: Optional[Sequence[Tensor]] = None
                    ) -> Tuple[Dict[str, Tensor], Tuple[Tensor, ...]]:
        """Losses of the active subnet and its backbone features.

        Args:
            inputs: (B, 3, H, W) preprocessed images.
            data_samples: B samples with the task ground truths.
            teacher_feats: the detached backbone outputs of the largest
                subnet, (B, C_l, H_l, W_l) per level; None for the largest
                subnet itself (its ``loss_cikd`` is 0).

        Returns:
            (``{'loss_<task>': scalar, ..., 'loss_cikd': scalar}`` -- no
            ``loss_cikd`` without a distiller --, backbone outputs at the
            active widths, (B, C_l, H_l, W_l) per level).
        """
        losses, feats = self.architecture.loss_and_feats(inputs,
                                                         data_samples)
        if self.distiller is not None:
            if teacher_feats is None or self.distill_weight == 0:
                losses['loss_cikd'] = feats[0].new_zeros(())
            else:
                losses['loss_cikd'] = self.distill_weight * self.distiller(
                    feats, teacher_feats)
        return losses, feats

    # ------------------------------------------------------------------
    # the sandwich rule
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper,
                   runner_model: Optional[nn.Module] = None
                   ) -> Dict[str, Tensor]:
        """Train every sandwich member on ``data``, then step once.

        Args:
            data: a batch from the dataloader (before preprocessing).
            optim_wrapper: one backward per member, one ``step()`` and
                ``zero_grad()`` at the end.
            runner_model: what runs each member's forward: None (this
                algorithm) or the DDP wrapper around it (so that DDP reduces
                the gradients of every member's backward).

        Returns:
            log vars: ``loss`` (sum over members), ``loss_cikd`` (sum over
            members, with a distiller) and ``<member>.loss_<task>`` /
            ``<member>.loss_cikd`` for each member (``max``, ``min``,
            ``rand0`` ...); all detached.
        """
        runner_model = self if runner_model is None else runner_model
        accumulative_counts = getattr(optim_wrapper, '_accumulative_counts',
                                      1)
        if accumulative_counts != 1:
            raise ValueError(
                'sandwich training already accumulates the gradients of its '
                'members into one step per iteration; optim_wrapper '
                f'accumulative_counts={accumulative_counts} is not supported')
        members = self.sampler.sample()
        if members[0][0] != MAX_MEMBER:
            raise RuntimeError('the sandwich sampler must yield the largest '
                               f'subnet first, got {members[0][0]!r}')
        architecture = self.architecture
        with optim_wrapper.optim_context(runner_model):
            data = self.data_preprocessor(data, True)
        log_vars: Dict[str, Tensor] = OrderedDict()
        total_loss = None
        total_cikd = None
        teacher_feats = None
        try:
            for name, spec in members:
                architecture.set_subnet(spec)
                with optim_wrapper.optim_context(runner_model):
                    losses, feats = self.run_forward(
                        runner_model, data, mode=MEMBER_MODE,
                        teacher_feats=teacher_feats)
                member_loss, member_log = self.parse_losses(losses)
                optim_wrapper.backward(member_loss)
                if teacher_feats is None:
                    teacher_feats = tuple(f.detach() for f in feats)
                del feats
                member_loss = member_loss.detach()
                total_loss = member_loss if total_loss is None \
                    else total_loss + member_loss
                for key, value in member_log.items():
                    if key == 'loss':
                        continue
                    log_vars[f'{name}.{key}'] = value.detach()
                if 'loss_cikd' in losses:
                    cikd = losses['loss_cikd'].detach()
                    total_cikd = cikd if total_cikd is None \
                        else total_cikd + cikd
            optim_wrapper.step()
            optim_wrapper.zero_grad()
        finally:
            architecture.set_subnet(architecture.max_subnet)
        head = OrderedDict(loss=total_loss)
        if total_cikd is not None:
            head['loss_cikd'] = total_cikd
        head.update(log_vars)
        return head


__all__ = ['SandwichAlgorithm', 'MEMBER_MODE']
