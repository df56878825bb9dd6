"""The ECMT supernet: a slimmable shared encoder and slimmable task decoders,
trained once with the sandwich rule and CI-KD."""
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from mmecmt.registry import MODELS
from mmecmt.search.sampler import MAX_MEMBER, SandwichSampler
from mmecmt.search.space import SearchSpace, SubnetSpec
from .multitask_encoder_decoder import MultiTaskEncoderDecoder

#: ECMT's default width ratios (REFERENCE.md §1).
DEFAULT_ENCODER_CHOICES = (0.5, 0.625, 0.75, 0.875, 1.0)
DEFAULT_DECODER_CHOICES = (0.25, 0.5, 0.75, 1.0)


def _check_keys(where: str, given: Mapping, valid: Sequence[str]) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(f'{where}: unknown keys {unknown}; valid keys are '
                         f'{list(valid)}')


@MODELS.register_module()
class SlimMultiTaskEncoderDecoder(MultiTaskEncoderDecoder):
    """Multi-task supernet whose encoder stages and task decoders are
    slimmable; one :class:`SubnetSpec` selects a subnet.

    The backbone follows the slimmable protocol (``stage_names``,
    ``set_stage_widths(widths)``) and every head has ``set_width(ratio)``; a
    head without ``set_width`` is allowed only when its task's only width
    choice is 1.0.

    Training (:meth:`train_step`, or :class:`~mmecmt.models.wrappers.
    SandwichDDP` under DDP) follows the sandwich rule: per iteration the
    largest subnet, the smallest and ``num_random`` random ones, one forward
    and one backward each (gradients accumulate), then ONE optimizer step.
    Each member's loss is its weighted task losses plus, for every member but
    the largest, ``cikd_weight * CIKDLoss(student feats, teacher feats)``:
    the member's backbone outputs (by default those the decoders read),
    pulled towards the detached ones of the largest subnet of the same step.
    ``cikd_weight`` (default 1.0) is set every iteration by
    :class:`~mmecmt.engine.hooks.CIKDHook` when one is configured.

    Args:
        backbone, tasks, data_preprocessor, align_corners, init_cfg: as
            :class:`MultiTaskEncoderDecoder` (a neck is not supported: its
            input width would change with the subnet).
        search_space: ``dict(encoder=dict(choices=..., stages=None,
            per_stage={stage: choices}), decoder=dict(choices=...,
            per_task={task: choices}))``. ``stages=None``: every stage in
            ``backbone.stage_names``; stages left out of the space always run
            at full width. Missing entries take the ECMT defaults
            (encoder 0.5 ... 1.0 in steps of 0.125, decoders 0.25 ... 1.0).
        sandwich: ``dict(num_random=2, seed=0)``, see
            :class:`~mmecmt.search.sampler.SandwichSampler`.
        distill: CI-KD loss config (``dict(type='CIKDLoss', distance='mse')``)
            with an optional ``levels`` entry (indices into the backbone
            outputs; None = the levels the decoders consume: the union of
            the heads' ``in_index``, or every output when a head has no
            ``in_index``);
            None trains the plain sandwich rule without distillation (no
            ``loss_cikd`` at all).

    Attributes:
        search_space (SearchSpace): the width choices.
        sampler (SandwichSampler): the members of each training step.
        subnet (SubnetSpec): the active subnet; the largest after building
            and after every training step.
        cikd_weight (float): multiplier of the CI-KD loss.
    """

    def __init__(self,
                 backbone: dict,
                 tasks: Dict[str, dict],
                 search_space: Optional[dict] = None,
                 sandwich: Optional[dict] = None,
                 distill: Optional[dict] = dict(
                     type='CIKDLoss', distance='mse'),
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        if neck is not None:
            raise ValueError(
                'SlimMultiTaskEncoderDecoder does not support a neck: its '
                'input width changes with the subnet; give neck=None')
        super().__init__(
            backbone=backbone,
            tasks=tasks,
            neck=None,
            data_preprocessor=data_preprocessor,
            align_corners=align_corners,
            init_cfg=init_cfg)
        self.search_space = self._build_search_space(search_space or {})
        self._check_slimmable()
        sandwich = dict(sandwich or {})
        _check_keys('sandwich', sandwich, ('num_random', 'seed'))
        self.sampler = SandwichSampler(self.search_space, **sandwich)
        self.cikd_levels: Optional[Tuple[int, ...]] = None
        if distill is not None:
            distill = dict(distill)
            levels = distill.pop('levels', None)
            self.cikd_levels = self._decoder_levels() if levels is None \
                else tuple(int(i) for i in levels)
            self.distill_loss: Optional[nn.Module] = MODELS.build(distill)
        else:
            self.distill_loss = None
        self.cikd_weight = 1.0
        self.subnet: Optional[SubnetSpec] = None
        self.set_subnet(self.max_subnet)

    # ------------------------------------------------------------------
    # search space and subnets
    # ------------------------------------------------------------------
    def _build_search_space(self, cfg: Mapping) -> SearchSpace:
        _check_keys('search_space', cfg, ('encoder', 'decoder'))
        enc = dict(cfg.get('encoder', {}))
        dec = dict(cfg.get('decoder', {}))
        _check_keys('search_space.encoder', enc,
                    ('choices', 'stages', 'per_stage'))
        _check_keys('search_space.decoder', dec, ('choices', 'per_task'))

        all_stages = tuple(getattr(self.backbone, 'stage_names', ()))
        if not all_stages:
            raise TypeError(
                f'backbone {type(self.backbone).__name__} is not slimmable: '
                'it needs `stage_names` and `set_stage_widths(widths)` '
                '(e.g. SlimMobileNetV2, SlimResNet)')
        stages = enc.get('stages')
        stages = all_stages if stages is None else tuple(stages)
        unknown = [s for s in stages if s not in all_stages]
        if unknown:
            raise ValueError(
                f'search_space.encoder.stages: unknown stages {unknown}; the '
                f'backbone\'s stages are {list(all_stages)}')
        per_stage = dict(enc.get('per_stage') or {})
        unknown = [s for s in per_stage if s not in stages]
        if unknown:
            raise ValueError(
                f'search_space.encoder.per_stage: stages {unknown} are not '
                f'in the searched stages {list(stages)}')
        enc_choices = enc.get('choices', DEFAULT_ENCODER_CHOICES)
        encoder = {s: per_stage.get(s, enc_choices) for s in stages}

        per_task = dict(dec.get('per_task') or {})
        unknown = [t for t in per_task if t not in self.task_specs]
        if unknown:
            raise ValueError(
                f'search_space.decoder.per_task: unknown tasks {unknown}; '
                f'tasks are {self.tasks}')
        dec_choices = dec.get('choices', DEFAULT_DECODER_CHOICES)
        decoders = {t: per_task.get(t, dec_choices) for t in self.tasks}
        return SearchSpace(encoder=encoder, decoders=decoders)

    def _check_slimmable(self) -> None:
        if not callable(getattr(self.backbone, 'set_stage_widths', None)):
            raise TypeError(
                f'backbone {type(self.backbone).__name__} has no '
                '`set_stage_widths(widths)`: it is not slimmable')
        for task, choices in self.search_space.decoders.items():
            head = self.heads[task]
            if not callable(getattr(head, 'set_width', None)) \
                    and choices != (1.0, ):
                raise TypeError(
                    f'head of task {task!r} ({type(head).__name__}) has no '
                    f'`set_width(ratio)` but its width choices are '
                    f'{choices}; use a slimmable head or '
                    f'search_space.decoder.per_task={{{task!r}: (1.0, )}}')

    @property
    def max_subnet(self) -> SubnetSpec:
        return self.search_space.sample('max')

    @property
    def min_subnet(self) -> SubnetSpec:
        return self.search_space.sample('min')

    def set_subnet(self, spec: Union[SubnetSpec, Mapping, str]) -> SubnetSpec:
        """Activate a subnet: encoder stage widths and decoder widths.

        Args:
            spec: a :class:`SubnetSpec`, its dict form
                (``{'encoder': {...}, 'decoders': {...}}``) or ``'max'`` /
                ``'min'``.

        Returns:
            The validated spec, also stored as ``self.subnet``.

        Raises:
            ValueError: an entry is missing, unknown or not a valid choice.
        """
        if isinstance(spec, str):
            if spec not in ('max', 'min'):
                raise ValueError(
                    f'subnet name {spec!r} is not "max" or "min"; give a '
                    'SubnetSpec or its dict for other subnets')
            spec = self.search_space.sample(spec)
        elif isinstance(spec, Mapping):
            spec = SubnetSpec.from_dict(spec)
        elif not isinstance(spec, SubnetSpec):
            raise TypeError('set_subnet expects a SubnetSpec, a dict or '
                            f'"max"/"min", got {type(spec).__name__}')
        self.search_space.validate(spec)
        self.backbone.set_stage_widths(dict(spec.encoder))
        for task, ratio in spec.decoders.items():
            head = self.heads[task]
            if callable(getattr(head, 'set_width', None)):
                head.set_width(ratio)
        self.subnet = spec
        return spec

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples=None,
                mode: str = 'tensor',
                teacher_feats: Optional[Sequence[Tensor]] = None):
        """Modes of :class:`MultiTaskEncoderDecoder` plus ``'sandwich'``:
        the losses of one sandwich member, see :meth:`member_loss`.

        (A mode, not a plain method call, so that under DDP the member's
        forward runs through the wrapper and its backward is reduced.)
        """
        if mode == 'sandwich':
            return self.member_loss(inputs, data_samples, teacher_feats)
        return super().forward(inputs, data_samples, mode)

    def _decoder_levels(self) -> Optional[Tuple[int, ...]]:
        """Union of the heads' ``in_index`` (None if a head has none)."""
        levels = set()
        for head in self.heads.values():
            in_index = getattr(head, 'in_index', None)
            if in_index is None:
                return None
            levels.update(int(i) for i in (
                in_index if isinstance(in_index, (list, tuple)) else
                (in_index, )))
        return tuple(sorted(levels))

    def cikd_level_indices(self, num_levels: int) -> Tuple[int, ...]:
        """Indices of the backbone outputs CI-KD compares, for a backbone
        with ``num_levels`` outputs (negative indices resolved)."""
        if self.cikd_levels is None:
            return tuple(range(num_levels))
        bad = [i for i in self.cikd_levels
               if not -num_levels <= i < num_levels]
        if bad:
            raise IndexError(
                f'CI-KD levels {list(self.cikd_levels)}: {bad} out of range '
                f'for {num_levels} backbone outputs')
        return tuple(sorted({i % num_levels for i in self.cikd_levels}))

    def cikd_feats(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The backbone outputs CI-KD compares."""
        return tuple(feats[i] for i in self.cikd_level_indices(len(feats)))

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
            ``loss_cikd`` when ``distill`` is None --, backbone outputs at
            the active widths).
        """
        feats = self.extract_feat(inputs)
        outputs = self.decode_heads(feats, inputs.shape[-2:])
        losses = self.compute_task_losses(outputs, data_samples)
        if self.distill_loss is not None:
            if teacher_feats is None or self.cikd_weight == 0:
                losses['loss_cikd'] = feats[0].new_zeros(())
            else:
                losses['loss_cikd'] = self.cikd_weight * self.distill_loss(
                    self.cikd_feats(feats), self.cikd_feats(teacher_feats))
        return losses, feats

    # ------------------------------------------------------------------
    # training: the sandwich rule
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One sandwich-rule iteration (single process)."""
        return self.sandwich_step(data, optim_wrapper, runner_model=self)

    def sandwich_step(self, data: Union[dict, tuple, list],
                      optim_wrapper: OptimWrapper,
                      runner_model: Optional[nn.Module] = None
                      ) -> Dict[str, Tensor]:
        """Train every sandwich member on ``data``, then step once.

        Args:
            data: a batch from the dataloader (before preprocessing).
            optim_wrapper: one backward per member, one ``step()`` and
                ``zero_grad()`` at the end.
            runner_model: what runs each member's forward: this model, or
                the DDP wrapper around it (so that DDP reduces the gradients
                of every member's backward).

        Returns:
            log vars: ``loss`` (sum over members), ``loss_cikd`` (sum over
            members, when distilling) and ``<member>.loss_<task>`` /
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
        with optim_wrapper.optim_context(runner_model):
            data = self.data_preprocessor(data, True)
        log_vars: Dict[str, Tensor] = OrderedDict()
        total_loss = None
        total_cikd = None
        teacher_feats = None
        try:
            for name, spec in members:
                self.set_subnet(spec)
                with optim_wrapper.optim_context(runner_model):
                    losses, feats = runner_model(
                        **data, mode='sandwich', teacher_feats=teacher_feats)
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
            self.set_subnet(self.max_subnet)
        head = OrderedDict(loss=total_loss)
        if total_cikd is not None:
            head['loss_cikd'] = total_cikd
        head.update(log_vars)
        return head


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside an mmengine model wrapper (DDP ...), else itself."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


__all__ = ['SlimMultiTaskEncoderDecoder', 'unwrap_model',
           'DEFAULT_ENCODER_CHOICES',
           'DEFAULT_DECODER_CHOICES']
