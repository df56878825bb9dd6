"""What can change in an ECMT supernet: the width choices, and subnets.

A :class:`SubnetSpec` is the explicit, serialisable description of one
subnet: a width ratio per encoder stage and per task decoder. The
:class:`SearchSpace` knows the valid choices; it samples, validates and
encodes specs, and knows nothing of tensors.

The search space's *entries* are its encoder stages, then its task
decoders, in that order (the order of :meth:`SearchSpace.encode`, of the
MACs tables, of the predictor's features and of the evolution genome); an
entry is named ``'encoder.<stage>'`` or ``'decoders.<task>'`` after the
:class:`SubnetSpec` field that holds it (:meth:`SearchSpace.entry_names`).
A width ratio *is* a choice when it lies within :data:`CHOICE_TOLERANCE` of
it (:func:`match_choice`, :func:`match_choices`).
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from mmecmt.utils.json_io import read_json_file

SAMPLE_MODES = ('max', 'min', 'random')
#: the :class:`SubnetSpec` fields of the entries, in entry order.
ENTRY_PARTS = ('encoder', 'decoders')
#: the largest distance at which a width ratio is still a given choice:
#: ratios that went through JSON, products such as ``0.5 * 3 / 2`` or a
#: float32 round trip differ from the choice in the last bits, while
#: distinct choices are orders of magnitude further apart.
CHOICE_TOLERANCE = 1e-9


def match_choice(choices: Sequence[float], ratio: float) -> Optional[int]:
    """Index of the choice ``ratio`` is (within :data:`CHOICE_TOLERANCE`),
    or None when it is none of them (NaN included)."""
    for i, c in enumerate(choices):
        if abs(c - ratio) <= CHOICE_TOLERANCE:
            return i
    return None


def match_choices(choices: Sequence[float], ratios) -> np.ndarray:
    """Vectorised :func:`match_choice`.

    Args:
        choices: ``(C,)`` width choices.
        ratios: ``(N,)`` width ratios.

    Returns:
        ``(N,)`` int64: the index of the choice each ratio is, -1 where it
        is none (NaN included).
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    dist = np.abs(ratios[..., None] -
                  np.asarray(choices, dtype=np.float64))  # (N, C)
    index = dist.argmin(axis=-1)
    nearest = np.take_along_axis(dist, index[..., None], axis=-1)[..., 0]
    return np.where(nearest <= CHOICE_TOLERANCE, index, -1)


@dataclass(frozen=True)
class SubnetSpec:
    """Width ratios of one subnet.

    Attributes:
        encoder: ``{stage name: width ratio}`` in encoder order.
        decoders: ``{task name: width ratio}``.
    """
    encoder: Dict[str, float] = field(default_factory=dict)
    decoders: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(encoder=dict(self.encoder), decoders=dict(self.decoders))

    @classmethod
    def from_dict(cls, data: Mapping) -> 'SubnetSpec':
        unknown = set(data) - {'encoder', 'decoders'}
        if unknown or 'encoder' not in data or 'decoders' not in data:
            raise ValueError(
                'a subnet spec is {"encoder": {stage: ratio}, "decoders": '
                f'{{task: ratio}}}}; got keys {sorted(data)}')
        return cls({k: float(v) for k, v in data['encoder'].items()},
                   {k: float(v) for k, v in data['decoders'].items()})

    def to_json(self, path: str) -> None:
        with open(path, 'w') as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def from_json(cls, path: str) -> 'SubnetSpec':
        data = read_json_file(path, 'subnet file')
        try:
            return cls.from_dict(data)
        except ValueError as e:
            raise ValueError(f'subnet file {path}: {e}') from None

    def key(self) -> tuple:
        """Hashable identity (for caches and de-duplication)."""
        return (tuple(self.encoder.items()), tuple(self.decoders.items()))


class SearchSpace:
    """Width choices per encoder stage and per task decoder.

    Args:
        encoder: ``{stage: ascending width ratios}``, e.g.
            ``{'layer1': (0.5, 0.75, 1.0), ...}``.
        decoders: ``{task: ascending width ratios}``.
    """

    def __init__(self, encoder: Mapping[str, Sequence[float]],
                 decoders: Mapping[str, Sequence[float]]):
        self.encoder = {k: self._check_choices(f'encoder stage {k!r}', v)
                        for k, v in encoder.items()}
        self.decoders = {k: self._check_choices(f'decoder {k!r}', v)
                         for k, v in decoders.items()}
        if not self.encoder and not self.decoders:
            raise ValueError('a search space needs at least one choice')

    @staticmethod
    def _check_choices(name: str, choices: Sequence[float]) -> tuple:
        choices = tuple(float(c) for c in choices)
        if not choices:
            raise ValueError(f'{name}: no width choices')
        if any(not 0 < c <= 1 for c in choices):
            raise ValueError(
                f'{name}: width ratios must lie in (0, 1], got {choices}')
        if list(choices) != sorted(set(choices)):
            raise ValueError(
                f'{name}: width ratios must be strictly ascending, got '
                f'{choices}')
        return choices

    # ------------------------------------------------------------------
    def sample(self, mode: str = 'random',
               rng: Union[np.random.Generator, int, None] = None
               ) -> SubnetSpec:
        """The largest, the smallest or a uniformly random subnet."""
        if mode not in SAMPLE_MODES:
            raise ValueError(
                f'unknown sample mode {mode!r}; valid: {SAMPLE_MODES}')
        if mode == 'random':
            rng = np.random.default_rng(rng)

        def pick(choices):
            if mode == 'max':
                return choices[-1]
            if mode == 'min':
                return choices[0]
            return choices[int(rng.integers(len(choices)))]

        return SubnetSpec({k: pick(v) for k, v in self.encoder.items()},
                          {k: pick(v) for k, v in self.decoders.items()})

    # ------------------------------------------------------------------
    # entries
    # ------------------------------------------------------------------
    def entries(self) -> List[Tuple[str, str, Tuple[float, ...]]]:
        """``(part, name, choices)`` of every entry in :meth:`encode`
        order: the encoder stages (part ``'encoder'``), then the task
        decoders (part ``'decoders'``)."""
        return ([('encoder', k, v) for k, v in self.encoder.items()] +
                [('decoders', k, v) for k, v in self.decoders.items()])

    def entry_names(self) -> Tuple[str, ...]:
        """``('encoder.<stage>', ..., 'decoders.<task>', ...)`` in
        :meth:`encode` order."""
        return tuple(f'{part}.{name}' for part, name, _ in self.entries())

    def choices_of(self, entry: str) -> Tuple[float, ...]:
        """The choices of the entry named ``entry`` (``'encoder.<stage>'``
        or ``'decoders.<task>'``); ValueError naming the valid entries."""
        part, _, name = entry.partition('.')
        choices = getattr(self, part).get(name) if part in ENTRY_PARTS \
            else None
        if choices is None:
            raise ValueError(f'unknown search-space entry {entry!r}; the '
                             f'entries are {list(self.entry_names())}')
        return choices

    def choice_index(self, entry: str, ratio: float) -> int:
        """Index of ``ratio`` among the choices of ``entry`` (an entry name,
        see :meth:`entry_names`), within :data:`CHOICE_TOLERANCE`.

        Raises:
            ValueError: an unknown entry, or a ratio that is not one of its
                choices (naming both and the valid choices).
        """
        choices = self.choices_of(entry)
        index = match_choice(choices, ratio)
        if index is None:
            part, _, name = entry.partition('.')
            raise ValueError(f'subnet {part}[{name!r}] = {ratio} is not a '
                             f'valid width; choices are {list(choices)}')
        return index

    def indices_of(self, spec: SubnetSpec) -> List[int]:
        """Choice index of every entry of ``spec``, in :meth:`entries`
        order; ValueError naming the first missing, unknown or invalid
        entry."""
        for part, space, given in (('encoder', self.encoder, spec.encoder),
                                   ('decoders', self.decoders,
                                    spec.decoders)):
            missing = [k for k in space if k not in given]
            extra = [k for k in given if k not in space]
            if missing or extra:
                raise ValueError(
                    f'subnet {part}: missing {missing}, unknown {extra}; '
                    f'expected exactly {list(space)}')
        return [self.choice_index(f'{part}.{name}',
                                  getattr(spec, part)[name])
                for part, name, _ in self.entries()]

    def spec_at(self, indices: Sequence[int]) -> SubnetSpec:
        """The subnet whose entry ``e`` takes its choice ``indices[e]``
        (:meth:`entries` order; the inverse of :meth:`indices_of`).

        Raises:
            ValueError: not one index per entry, or an index out of its
                entry's range.
        """
        entries = self.entries()
        if len(indices) != len(entries):
            raise ValueError(f'spec_at needs {len(entries)} choice indices '
                             f'(one per entry), got {len(indices)}')
        values = {part: {} for part in ENTRY_PARTS}
        for (part, name, choices), i in zip(entries, indices):
            if not 0 <= i < len(choices):
                raise ValueError(
                    f'{part}[{name!r}]: choice index {i} out of range '
                    f'[0, {len(choices) - 1}]')
            values[part][name] = choices[i]
        return SubnetSpec(values['encoder'], values['decoders'])

    def validate(self, spec: SubnetSpec) -> SubnetSpec:
        """Return ``spec`` if every entry is a valid choice, else raise a
        ValueError naming the bad entry and its valid choices."""
        self.indices_of(spec)
        return spec

    def encode(self, spec: SubnetSpec) -> np.ndarray:
        """Feature vector (n_stages + n_tasks,) of the width ratios."""
        self.validate(spec)
        return np.array(
            [spec.encoder[k] for k in self.encoder] +
            [spec.decoders[k] for k in self.decoders], dtype=np.float64)

    def num_subnets(self) -> int:
        n = 1
        for choices in list(self.encoder.values()) + list(
                self.decoders.values()):
            n *= len(choices)
        return n

    def to_dict(self) -> dict:
        return dict(encoder={k: list(v) for k, v in self.encoder.items()},
                    decoders={k: list(v) for k, v in self.decoders.items()})
