"""The ECMT supernet: a slimmable shared encoder and slimmable task decoders.

What the network is (search space, subnets, forward and loss of the active
subnet); how it is trained (the sandwich rule, CI-KD) is the algorithm's:
:class:`~mmecmt.models.algorithms.SandwichAlgorithm`."""
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from mmecmt.registry import MODELS
from mmecmt.search.space import SearchSpace, SubnetSpec
from .multitask_encoder_decoder import MultiTaskEncoderDecoder

#: ECMT's default width ratios: non-uniform, one choice per encoder stage and
#: per task decoder.
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

    Training with the sandwich rule and CI-KD is
    :class:`~mmecmt.models.algorithms.SandwichAlgorithm`, which holds this
    network as its ``architecture``; on its own the network trains only the
    active subnet (mmengine's default ``train_step``), and it is what the
    deployment tools load (:func:`~mmecmt.utils.checkpoint.load_trained`
    reads an algorithm's checkpoint into it).

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

    Attributes:
        search_space (SearchSpace): the width choices.
        subnet (SubnetSpec): the active subnet; the largest after building.
    """

    def __init__(self,
                 backbone: dict,
                 tasks: Dict[str, dict],
                 search_space: Optional[dict] = None,
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
    def decoder_levels(self) -> Optional[Tuple[int, ...]]:
        """The backbone outputs the decoders read: the sorted union of the
        heads' ``in_index`` (None when a head declares none)."""
        levels = set()
        for head in self.heads.values():
            in_index = getattr(head, 'in_index', None)
            if in_index is None:
                return None
            levels.update(int(i) for i in (
                in_index if isinstance(in_index, (list, tuple)) else
                (in_index, )))
        return tuple(sorted(levels))

    def loss_and_feats(self, inputs: Tensor, data_samples
                       ) -> Tuple[Dict[str, Tensor], Tuple[Tensor, ...]]:
        """Task losses of the active subnet and its backbone features (what
        a distiller compares).

        Args:
            inputs: (B, 3, H, W) preprocessed images.
            data_samples: B samples with the task ground truths.

        Returns:
            (``{'loss_<task>': scalar}`` (weighted), backbone outputs at the
            active widths, (B, C_l, H_l, W_l) per level).
        """
        feats = self.extract_feat(inputs)
        outputs = self.decode_heads(feats, inputs.shape[-2:])
        return self.compute_task_losses(outputs, data_samples), feats

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Task losses of the active subnet."""
        return self.loss_and_feats(inputs, data_samples)[0]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The architecture inside model wrappers (DDP ...) and training
    algorithms; the older name of
    :func:`mmecmt.models.algorithms.architecture_of`."""
    from mmecmt.models.algorithms import architecture_of
    return architecture_of(model)


__all__ = ['SlimMultiTaskEncoderDecoder', 'unwrap_model',
           'DEFAULT_ENCODER_CHOICES',
           'DEFAULT_DECODER_CHOICES']
