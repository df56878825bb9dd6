"""What can change in an ECMT supernet: the width choices, and subnets.

A :class:`SubnetSpec` is the explicit, serialisable description of one
subnet: a width ratio per encoder stage and per task decoder. The
:class:`SearchSpace` knows the valid choices; it samples, validates and
encodes specs, and knows nothing of tensors.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, Mapping, Sequence, Union

import numpy as np

SAMPLE_MODES = ('max', 'min', 'random')


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
        try:
            with open(path) as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f'subnet file {path} does not exist')
        except json.JSONDecodeError as e:
            raise ValueError(f'subnet file {path} is not valid JSON: {e}')
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

    def validate(self, spec: SubnetSpec) -> SubnetSpec:
        """Return ``spec`` if every entry is a valid choice, else raise a
        ValueError naming the bad entry and its valid choices."""
        for part, space, given in (('encoder', self.encoder, spec.encoder),
                                   ('decoders', self.decoders,
                                    spec.decoders)):
            missing = [k for k in space if k not in given]
            extra = [k for k in given if k not in space]
            if missing or extra:
                raise ValueError(
                    f'subnet {part}: missing {missing}, unknown {extra}; '
                    f'expected exactly {list(space)}')
            for name, ratio in given.items():
                if not any(abs(ratio - c) < 1e-9 for c in space[name]):
                    raise ValueError(
                        f'subnet {part}[{name!r}] = {ratio} is not a valid '
                        f'width; choices are {list(space[name])}')
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
