"""A hard gate pattern: which channels each task reads from its own unit.

:class:`GatePattern` holds, per gated unit ``l``, a boolean (T, C_l) mask:
``mask[t, c]`` is True when task ``t`` reads channel ``c`` from its own
(task-specific) unit, False when it reads the shared unit's. From it follow
what pruning keeps:

- task ``t``'s unit ``l`` keeps channels ``mask[t]`` (removed when none);
- the shared unit ``l`` keeps the channels some task reads from it,
  ``~mask.all(0)`` (removed when every task reads its own).

It serialises to ``{task: [hex mask of unit 0, ...]}`` (a config-friendly
form, channel ``c`` is bit ``c``), so an exported model's config names its
pattern.
"""
from typing import Dict, List, Mapping, Sequence

import torch
from torch import Tensor


def _to_hex(mask: Tensor) -> str:
    value = 0
    for c in torch.nonzero(mask, as_tuple=False).flatten().tolist():
        value |= 1 << c
    return format(value, 'x')


def _from_hex(text: str, channels: int, where: str) -> Tensor:
    try:
        value = int(text, 16)
    except (TypeError, ValueError):
        raise ValueError(f'{where}: {text!r} is not a hex channel mask') \
            from None
    if value >> channels:
        raise ValueError(f'{where}: mask {text!r} sets channels beyond the '
                         f'unit\'s {channels}')
    return torch.tensor([bool(value >> c & 1) for c in range(channels)])


class GatePattern:
    """Hard gates of every unit: ``masks[l]`` is a bool (T, C_l) tensor.

    Args:
        tasks: the task names (rows).
        masks: one (T, C_l) mask per unit.
    """

    def __init__(self, tasks: Sequence[str], masks: Sequence[Tensor]):
        self.tasks = list(tasks)
        self.masks: List[Tensor] = []
        for level, mask in enumerate(masks):
            mask = torch.as_tensor(mask).detach().to('cpu', torch.bool)
            if mask.dim() != 2 or mask.size(0) != len(self.tasks):
                raise ValueError(
                    f'gate mask of unit {level} has shape '
                    f'{tuple(mask.shape)}; expected ({len(self.tasks)}, C)')
            self.masks.append(mask)

    @classmethod
    def from_logits(cls, tasks: Sequence[str],
                    logits: Sequence[Tensor]) -> 'GatePattern':
        """The hard gates ``logit > 0`` of (T, C_l) gate logits."""
        return cls(tasks, [a.detach() > 0 for a in logits])

    @property
    def num_units(self) -> int:
        return len(self.masks)

    @property
    def channels(self) -> List[int]:
        return [m.size(1) for m in self.masks]

    def task_keep(self, level: int, task: int) -> Tensor:
        """Bool (C,): channels task ``task`` reads from its own unit."""
        return self.masks[level][task]

    def shared_keep(self, level: int) -> Tensor:
        """Bool (C,): channels some task reads from the shared unit."""
        return ~self.masks[level].all(0)

    def specific_fraction(self) -> Tensor:
        """(L + 1, T): the fraction of task-specific channels per unit and
        task (the paper's Figure 5)."""
        return torch.stack([m.float().mean(1) for m in self.masks])

    def to_dict(self) -> Dict[str, List[str]]:
        """``{task: [hex mask per unit]}``."""
        return {t: [_to_hex(m[k]) for m in self.masks]
                for k, t in enumerate(self.tasks)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[str]],
                  channels: Sequence[int]) -> 'GatePattern':
        """Inverse of :meth:`to_dict` for units of ``channels``.

        Raises:
            ValueError: a task with another number of units, or a mask
                that is not hex or names a channel beyond its unit's.
        """
        tasks = list(data)
        rows = []
        for task in tasks:
            hexes = list(data[task])
            if len(hexes) != len(channels):
                raise ValueError(
                    f'gate pattern of task {task!r} has {len(hexes)} units;'
                    f' the model has {len(channels)}')
            rows.append([_from_hex(h, c, f'task {task!r} unit {i}')
                         for i, (h, c) in enumerate(zip(hexes, channels))])
        masks = [torch.stack([rows[k][level] for k in range(len(tasks))])
                 for level in range(len(channels))]
        return cls(tasks, masks)

    def __eq__(self, other) -> bool:
        return isinstance(other, GatePattern) and \
            self.tasks == other.tasks and \
            len(self.masks) == len(other.masks) and \
            all(torch.equal(a, b) for a, b in zip(self.masks, other.masks))

    def __repr__(self) -> str:
        frac = self.specific_fraction().mean(0).tolist()
        rates = ', '.join(f'{t}: {r:.2f}' for t, r in zip(self.tasks, frac))
        return (f'GatePattern({self.num_units} units; task-specific '
                f'fraction {rates})')


__all__ = ['GatePattern']
