"""InterroGate's gated multi-task network (Bejnordi et al., "InterroGate:
Learning to Share, Specialize, and Prune Representations for Multi-task
Learning", arXiv 2402.16848).

The backbone is cut into gated units ``0..L``
(:func:`~mmecmt.models.tree.split_backbone`: the stem, then every residual
block with ``units='units'`` or every stage with ``'stages'``). Every unit
exists once per task and once shared. At unit ``l``, with ``x_t`` task
``t``'s input and ``s`` the shared input (both the image at ``l = 0``)::

    phi_t = unit_t(x_t),  psi = unit_shared(s)
    x_t  <- g_t * phi_t + (1 - g_t) * psi          (gates per channel)
    s    <- sum_t softmax(beta_l)_t * x_t          (the next shared input)

(:mod:`mmecmt.models.gating.gates`). Task ``t``'s head reads its ``x_t``
after the tapped units. Task units start from the single-task checkpoints,
the shared units from the multi-task baseline's, loaded by key
(``backbone.<name>``) in :meth:`GatedMultiTaskNet.init_weights`.

MACs (:meth:`GatedMultiTaskNet.unit_macs`): a unit pruned to ``k`` of its
``C`` output channels costs ``a_l + b_l * k`` exactly (only its output
layers shrink); the pruned model costs the heads plus every kept unit
(:meth:`pattern_macs`), and :meth:`expected_macs` is the differentiable
estimate of the same sum from the gates, equal to it at hard gates.

After :class:`~mmecmt.models.gating.GatePruner` the model is static: no
gates, unused units removed, output layers holding only the kept channels,
and a channel gather where a task mixes its own and shared channels.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmecmt.models.gating.gates import (gate_mix, gate_values,
                                        shared_combination, straight_through)
from mmecmt.models.gating.pattern import GatePattern
from mmecmt.models.gating.units import (run_unit, set_unit_out_index,
                                        unit_out_channels)
from mmecmt.models.slimmable.convert import convert_to_dynamic_
from mmecmt.models.tree import split_backbone
from mmecmt.registry import MODELS
from mmecmt.utils.checkpoint import load_mapped
from mmecmt.utils.flops import count_call_macs, count_module_macs
from .multitask_encoder_decoder import MultiTaskEncoderDecoder


def _source_keys(units: Sequence[nn.Module],
                 backbone: nn.Module) -> Dict[str, str]:
    """``{'<unit>.<name>': '<backbone name>'}`` of every tensor of the
    units (matched by identity: the units hold the backbone's modules)."""
    names = {id(t): n for n, t in
             backbone.state_dict(keep_vars=True).items()}
    keys = {}
    for i, unit in enumerate(units):
        for name, tensor in unit.state_dict(keep_vars=True).items():
            keys[f'{i}.{name}'] = names[id(tensor)]
    return keys


class _UnitRun(nn.Module):
    """``run_unit(unit, x, index)`` as a module (for MACs counting)."""

    def __init__(self, unit: nn.Module, index: Optional[Tensor]):
        super().__init__()
        self.unit, self.index = unit, index

    def forward(self, x: Tensor) -> Tensor:
        return run_unit(self.unit, x, self.index)


@MODELS.register_module()
class GatedMultiTaskNet(MultiTaskEncoderDecoder):
    """T task branches and a shared branch of one backbone, gated per
    channel (see the module docstring).

    Args:
        backbone: the backbone config (mmpretrain ``MobileNetV2``, mmseg /
            mmpretrain ResNets with basic blocks), built T + 1 times.
        tasks: per-task configs, as :class:`MultiTaskEncoderDecoder`.
        units: ``'units'`` (a gated unit per residual block, default) or
            ``'stages'``.
        gate_init: the initial gate ``sigmoid(alpha)`` of every channel, in
            (0, 1) (default 0.9: start close to the task branches, i.e. the
            single-task models).
        hard_gates: 0 (soft gates, the warm-up) or 1 (straight-through hard
            gates); set by a ``ScheduledValueHook``. Eval mode is always
            hard.
        sparsity: a :class:`~mmecmt.models.losses.SparsityRegularizer`
            config (None: task losses only).
        task_checkpoints: ``{task: single-task checkpoint}``; task ``t``'s
            units and head load from its ``backbone.*`` / ``heads.<t>.*``.
        shared_checkpoint: the multi-task baseline's checkpoint; the shared
            units load from its ``backbone.*``, and the heads of tasks
            without a single-task checkpoint from its ``heads.*``.
        data_preprocessor / align_corners / init_cfg: as
            :class:`MultiTaskEncoderDecoder`.

    Attributes:
        tap_units (tuple): the units whose outputs the heads read.
        channels (list): C_l, the output channels of every unit.
        pattern (GatePattern or None): set by pruning; then the model is
            static.
    """

    def __init__(self,
                 backbone: dict,
                 tasks: Dict[str, dict],
                 units: str = 'units',
                 gate_init: float = 0.9,
                 hard_gates: float = 0.0,
                 sparsity: Optional[dict] = None,
                 task_checkpoints: Optional[Mapping[str, str]] = None,
                 shared_checkpoint: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, tasks, None, data_preprocessor,
                         align_corners, init_cfg)
        if not 0.0 < float(gate_init) < 1.0:
            raise ValueError(f'gate_init must be in (0, 1), got {gate_init}')
        unknown = set(task_checkpoints or {}) - set(self.tasks)
        if unknown:
            raise KeyError(f'task_checkpoints: unknown tasks '
                           f'{sorted(unknown)}; valid: {self.tasks}')
        self.units = units
        self.task_checkpoints = dict(task_checkpoints or {})
        self.shared_checkpoint = shared_checkpoint
        shared = self.backbone
        del self.backbone
        self.backbone = None
        stem, blocks, taps = split_backbone(shared, units)
        self.shared_units = nn.ModuleList([stem] + list(blocks))
        self.unit_source_keys = _source_keys(self.shared_units, shared)
        self.tap_units: Tuple[int, ...] = tuple(taps)
        self.task_units = nn.ModuleDict()
        for task in self.tasks:
            stem, blocks, _ = split_backbone(MODELS.build(backbone), units)
            self.task_units[task] = nn.ModuleList([stem] + list(blocks))
        self.channels: List[int] = [unit_out_channels(u)
                                    for u in self.shared_units]
        logit = float(torch.logit(torch.tensor(float(gate_init))))
        self.gate_logits = nn.ParameterList([
            nn.Parameter(torch.full((len(self.tasks), c), logit))
            for c in self.channels
        ])
        # beta: the shared input of units 1..L
        self.share_logits = nn.Parameter(
            torch.zeros(len(self.channels) - 1, len(self.tasks)))
        self.hard_gates = float(hard_gates)
        self.sparsity = MODELS.build(sparsity) if sparsity else None
        self.pattern: Optional[GatePattern] = None
        self._macs_cache: Dict[Tuple[int, int], tuple] = {}

    @property
    def num_units(self) -> int:
        return len(self.channels)

    # ------------------------------------------------------------------
    # weights
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Initialise, then load the task units and heads from the
        single-task checkpoints and the shared units from the multi-task
        one (strictly: every unit tensor must be in the file, with its
        shape)."""
        super().init_weights()
        if self.pattern is not None:
            return
        from mmengine.logging import print_log
        units_keys = {k: f'backbone.{v}'
                      for k, v in self.unit_source_keys.items()}
        for task, path in self.task_checkpoints.items():
            load_mapped(self.task_units[task], path, units_keys)
            load_mapped(self.heads[task], path, self._head_keys(task))
            print_log(f'GatedMultiTaskNet: task {task!r} branch and head '
                      f'loaded from {path}', logger='current')
        if self.shared_checkpoint:
            load_mapped(self.shared_units, self.shared_checkpoint, units_keys)
            for task in self.tasks:
                if task not in self.task_checkpoints:
                    load_mapped(self.heads[task], self.shared_checkpoint,
                                self._head_keys(task))
            print_log('GatedMultiTaskNet: shared branch loaded from '
                      f'{self.shared_checkpoint}', logger='current')

    def _head_keys(self, task: str) -> Dict[str, str]:
        return {k: f'heads.{task}.{k}' for k in self.heads[task].state_dict()}

    # ------------------------------------------------------------------
    # gates
    # ------------------------------------------------------------------
    def gates(self) -> List[Tensor]:
        """The gate values of every unit, (T, C_l) each: soft during the
        warm-up, straight-through hard after it and in eval mode."""
        if self.pattern is not None:
            raise RuntimeError('a pruned model has fixed gates: see its '
                               '`pattern`')
        return [gate_values(a, self._hard()) for a in self.gate_logits]

    def _hard(self) -> bool:
        return (not self.training) or self.hard_gates >= 0.5

    def gate_pattern(self) -> GatePattern:
        """The hard gates (``alpha > 0``) as a :class:`GatePattern` (the
        pruned model's, once pruned)."""
        if self.pattern is not None:
            return self.pattern
        return GatePattern.from_logits(self.tasks, list(self.gate_logits))

    def set_gate_pattern(self, pattern: GatePattern,
                         magnitude: float = 4.0) -> None:
        """Set the gate logits to ``+-magnitude`` so that the hard gates
        are ``pattern`` (tests, the static config's model)."""
        self._check_pattern(pattern)
        with torch.no_grad():
            for logits, mask in zip(self.gate_logits, pattern.masks):
                logits.copy_(torch.where(mask, magnitude, -magnitude))

    def _check_pattern(self, pattern: GatePattern) -> None:
        if pattern.tasks != self.tasks or pattern.channels != self.channels:
            raise ValueError(
                f'gate pattern of tasks {pattern.tasks} and unit channels '
                f'{pattern.channels}; this model has {self.tasks} and '
                f'{self.channels}')

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def extract_task_feats(self, inputs: Tensor,
                           gates: Optional[Sequence[Tensor]] = None
                           ) -> Dict[str, Tuple[Tensor, ...]]:
        """``{task: tap features}`` (each a tuple of (B, C, h, w)), with
        ``gates`` (default :meth:`gates`), or the pruned model's."""
        if self.pattern is not None:
            return self._pruned_task_feats(inputs)
        gates = self.gates() if gates is None else gates
        xs = [inputs] * len(self.tasks)
        shared_in = inputs
        taps: Dict[str, list] = {t: [] for t in self.tasks}
        for level, shared_unit in enumerate(self.shared_units):
            psi = shared_unit(shared_in)
            xs = [gate_mix(gates[level][k], self.task_units[t][level](xs[k]),
                           psi) for k, t in enumerate(self.tasks)]
            self._tap(level, xs, taps)
            if level + 1 < self.num_units:
                shared_in = shared_combination(xs, self.share_logits[level])
        return {t: tuple(f) for t, f in taps.items()}

    def extract_feat(self, inputs: Tensor):
        raise TypeError('a gated network has features per task: use '
                        'extract_task_feats(inputs)')

    def _tap(self, level: int, xs: Sequence[Tensor], taps: dict) -> None:
        if level in self.tap_units:
            for k, t in enumerate(self.tasks):
                taps[t].append(xs[k])

    def _pruned_task_feats(self, inputs: Tensor
                           ) -> Dict[str, Tuple[Tensor, ...]]:
        xs = [inputs] * len(self.tasks)
        shared_in = inputs
        taps: Dict[str, list] = {t: [] for t in self.tasks}
        for level, shared_unit in enumerate(self.shared_units):
            psi = None
            if shared_unit is not None:
                psi = run_unit(shared_unit, shared_in,
                               self._index('shared', level))
            new = []
            for k, task in enumerate(self.tasks):
                unit = self.task_units[task][level]
                if unit is None:  # every channel from the shared unit
                    new.append(psi)
                    continue
                phi = run_unit(unit, xs[k], self._index(task, level))
                order = self._index(f'mix_{task}', level)
                new.append(phi if order is None else
                           torch.cat([phi, psi], 1).index_select(1, order))
            xs = new
            self._tap(level, xs, taps)
            if level + 1 < self.num_units and \
                    self.shared_units[level + 1] is not None:
                shared_in = shared_combination(xs, self.share_logits[level])
        return {t: tuple(f) for t, f in taps.items()}

    def _index(self, name: str, level: int) -> Optional[Tensor]:
        return getattr(self, f'keep_{name}_{level}', None)

    def _forward(self, inputs: Tensor, data_samples=None,
                 gates: Optional[Sequence[Tensor]] = None
                 ) -> Dict[str, Tensor]:
        feats = self.extract_task_feats(inputs, gates)
        size = inputs.shape[-2:]
        return {t: self.decode_head(t, feats[t], size) for t in self.tasks}

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Task losses, the sparsity regulariser's loss and (logged only)
        the gate rate and the MACs estimate."""
        gates = self.gates()
        outputs = self._forward(inputs, gates=gates)
        losses = self.compute_task_losses(outputs, data_samples)
        if self.sparsity is not None:
            losses.update(self.sparsity(self, gates, self._hard()))
        losses['gate_rate'] = torch.cat(
            [(g.detach() > 0.5).float().flatten() for g in gates]).mean()
        return losses

    # ------------------------------------------------------------------
    # MACs
    # ------------------------------------------------------------------
    def unit_macs(self, input_shape: Sequence[int]
                  ) -> Tuple[List[Tuple[int, int]], int]:
        """``([(a_l, b_l) per unit], heads)`` at input (H, W), batch 1: a
        unit keeping ``k`` output channels costs ``a_l + b_l * k`` MACs;
        ``heads`` is every task head's MACs (with its resize). Counted by
        fvcore on the shared units (cached per shape)."""
        key = tuple(int(s) for s in input_shape)
        if key in self._macs_cache:
            return self._macs_cache[key]
        if self.pattern is not None:
            raise RuntimeError('count the MACs table on the unpruned model')
        import copy
        x = torch.zeros(1, 3, *key, device=self.share_logits.device)
        table, taps = [], []
        with torch.no_grad():
            for level, unit in enumerate(self.shared_units):
                full = count_module_macs(unit, (x, ))
                one_unit = convert_to_dynamic_(copy.deepcopy(unit)).eval()
                index = torch.tensor([0], device=x.device)
                set_unit_out_index(one_unit, index)
                one = count_module_macs(_UnitRun(one_unit, index), (x, ))
                c = self.channels[level]
                per_channel, rest = divmod(full - one, c - 1)
                if rest:
                    raise RuntimeError(f'MACs of unit {level} are not '
                                       'affine in its kept channels')
                table.append((int(one - per_channel), int(per_channel)))
                x = unit.eval()(x)
                if level in self.tap_units:
                    taps.append(x)
            heads = sum(
                count_call_macs(
                    lambda feats, t=t: self.decode_head(t, feats, key),
                    (tuple(taps), ), self.heads[t])
                for t in self.tasks)
        self._macs_cache[key] = (table, int(heads))
        return self._macs_cache[key]

    def pattern_macs(self, pattern: GatePattern,
                     input_shape: Sequence[int]) -> int:
        """Exact MACs of the model pruned to ``pattern`` (== fvcore on the
        pruned model)."""
        return int(sum(self.branch_macs(pattern, input_shape).values()))

    def expected_macs(self, logits: Sequence[Tensor],
                      input_shape: Sequence[int],
                      hard: bool = True) -> Tensor:
        """A differentiable estimate of the pruned model's MACs from the
        gate logits (T, C_l) per unit.

        The relaxation, with ``p = sigmoid(logits)``, per unit:
        ``sum_t (a u_t + b sum_c p_tc) + a u_s + b sum_c r_c``, where
        ``r_c = 1 - prod_t p_tc`` (some task reads channel c from the shared
        unit) and ``u = 1 - prod_c (1 - p_c)`` (the unit is kept; its
        gradient is taken as that of the unit's mean gate, since the
        product's vanishes once any channel is on, so the fixed cost ``a``
        pulls on every channel). With ``hard`` (after the warm-up) the
        value is the relaxation at the hard gates ``1[logits > 0]``, i.e.
        exactly :meth:`pattern_macs`, and the gradient the soft
        relaxation's: at the hard gates alone the gradient is zero wherever
        every other task reads its own channel (moving one task to the
        shared channel costs that channel).
        """
        soft = self._relaxed_macs([torch.sigmoid(a) for a in logits],
                                  input_shape)
        if not hard:
            return soft
        with torch.no_grad():
            value = self._relaxed_macs([(a > 0).double() for a in logits],
                                       input_shape)
        return straight_through(value, soft)

    def _relaxed_macs(self, probs: Sequence[Tensor],
                      input_shape: Sequence[int]) -> Tensor:
        table, heads = self.unit_macs(input_shape)
        # float64: MACs of hundreds of millions are exact integers in it
        total = probs[0].new_tensor(float(heads), dtype=torch.float64)
        for (a, b), p in zip(table, probs):
            p = p.double()
            for kept in list(p) + [1 - p.prod(0)]:
                used = 1 - (1 - kept).prod()
                mean = kept.mean()
                used = used.detach() + mean - mean.detach()
                total = total + a * used + b * kept.sum()
        return total

    def macs_bounds(self, input_shape: Sequence[int]) -> Tuple[int, int]:
        """MACs of the fully shared model (every gate 0) and of the fully
        specialised one (every gate 1)."""
        table, heads = self.unit_macs(input_shape)
        full = sum(a + b * c for (a, b), c in zip(table, self.channels))
        return int(heads + full), int(heads + len(self.tasks) * full)

    def branch_macs(self, pattern: GatePattern,
                    input_shape: Sequence[int]) -> Dict[str, int]:
        """``{task or 'shared': MACs of its kept units}`` of ``pattern``
        (heads apart, under ``'heads'``)."""
        self._check_pattern(pattern)
        table, heads = self.unit_macs(input_shape)
        out = {t: 0 for t in self.tasks}
        out['shared'] = 0
        for level, (a, b) in enumerate(table):
            for k, t in enumerate(self.tasks):
                kept = int(pattern.task_keep(level, k).sum())
                out[t] += (a + b * kept) if kept else 0
            kept = int(pattern.shared_keep(level).sum())
            out['shared'] += (a + b * kept) if kept else 0
        out['heads'] = heads
        return {k: int(v) for k, v in out.items()}


@MODELS.register_module(name='PrunedGatedNet')
def build_pruned_gated_net(gated: Mapping, pattern: Mapping[str, Sequence[str]],
                           data_preprocessor: Optional[Mapping] = None
                           ) -> nn.Module:
    """The static (pruned) model of a gated network config and a gate
    pattern (``GatePattern.to_dict()``), weights uninitialised: the config
    an exported InterroGate model is tested with (load its checkpoint).

    Args:
        gated: the :class:`GatedMultiTaskNet` config (its checkpoints are
            not loaded).
        pattern: ``{task: [hex mask per unit]}``.
        data_preprocessor: the Runner's default (used when ``gated`` has
            none).
    """
    from mmecmt.models.gating.pruner import GatePruner
    gated = dict(gated, task_checkpoints=None, shared_checkpoint=None,
                 sparsity=None)
    if data_preprocessor is not None:
        gated.setdefault('data_preprocessor', data_preprocessor)
    model = MODELS.build(gated)
    return GatePruner()(model, GatePattern.from_dict(pattern,
                                                     model.channels))


__all__ = ['GatedMultiTaskNet', 'build_pruned_gated_net']
