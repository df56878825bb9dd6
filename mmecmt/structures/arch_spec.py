"""The architecture spec every method's ``plan`` answers with.

An :class:`ArchSpec` is what a deployment request turns into: one network
of one trained model, named well enough to rebuild it anywhere. It holds

* ``method``: the deployer that made it (``'ECMT'``, ``'StaticFamily'``,
  ...), which is also the one that can run, count and export it;
* ``checkpoint``: the sha256 of the checkpoint it belongs to (a spec of
  another checkpoint is refused);
* ``arch``: the method's own JSON description of the network: ECMT's is the
  width spec ``{"encoder": {stage: ratio}, "decoders": {task: ratio}}``
  (:class:`~mmecmt.search.space.SubnetSpec`), a family's is ``{"member":
  index}``, a CDMA tree is a parent per task and block;
* ``input_shape``: ``(H, W)`` at which its MACs are counted.

The tools, the measurement caches and the controllability report only ever
see this neutral form; they know nothing of widths, trees or gates.
"""
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

from mmecmt.utils.json_io import read_json_file

SPEC_KEYS = ('method', 'checkpoint', 'arch', 'input_shape')


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(',', ':'))


@dataclass(frozen=True)
class ArchSpec:
    """One network of one trained model (see the module docstring).

    Attributes:
        method: name of the deployer that made the spec.
        checkpoint: sha256 (hex) of the checkpoint (for a family, of its
            members' sha256s: :func:`mmecmt.deploy.checkpoints_sha256`).
        arch: JSON-serialisable description of the network.
        input_shape: ``(H, W)`` of the MACs count.
    """
    method: str
    checkpoint: str
    arch: Dict[str, Any] = field(default_factory=dict)
    input_shape: Tuple[int, int] = (0, 0)

    def __post_init__(self):
        if not isinstance(self.method, str) or not self.method:
            raise ValueError(f'ArchSpec.method must be a non-empty string, '
                             f'got {self.method!r}')
        if not isinstance(self.arch, Mapping):
            raise ValueError(f'ArchSpec.arch must be a mapping, got '
                             f'{type(self.arch).__name__}')
        try:
            _canonical(self.arch)
        except (TypeError, ValueError) as err:
            raise ValueError(f'ArchSpec.arch is not JSON-serialisable: '
                             f'{err}') from None
        object.__setattr__(self, 'arch', json.loads(_canonical(self.arch)))
        object.__setattr__(self, 'input_shape',
                           tuple(int(v) for v in self.input_shape))

    def to_dict(self) -> dict:
        return dict(method=self.method, checkpoint=self.checkpoint,
                    arch=json.loads(_canonical(self.arch)),
                    input_shape=list(self.input_shape))

    @classmethod
    def from_dict(cls, data: Mapping, source: str = 'spec') -> 'ArchSpec':
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: not a mapping with exactly :data:`SPEC_KEYS` (the
                message names ``source``, e.g. the file).
        """
        if not isinstance(data, Mapping) or set(data) != set(SPEC_KEYS):
            keys = sorted(data) if isinstance(data, Mapping) else \
                type(data).__name__
            raise ValueError(
                f'{source}: an architecture spec is a JSON object with keys '
                f'{list(SPEC_KEYS)}; got {keys}')
        shape = data['input_shape']
        if not (isinstance(shape, (list, tuple)) and len(shape) == 2):
            raise ValueError(f'{source}: input_shape must be [H, W], got '
                             f'{shape!r}')
        return cls(str(data['method']), str(data['checkpoint']),
                   dict(data['arch']), tuple(shape))

    def to_json(self, path: str) -> None:
        with open(path, 'w') as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def from_json(cls, path: str) -> 'ArchSpec':
        """Read a spec file.

        Raises:
            FileNotFoundError / ValueError: missing file, invalid JSON or
                not a spec (the file is named).
        """
        data = read_json_file(path, 'spec file')
        return cls.from_dict(data, source=f'spec file {path}')

    def key(self) -> str:
        """Canonical JSON: the identity of the network in caches."""
        return _canonical(self.to_dict())

    def short_id(self) -> str:
        """12 hex digits of the key's sha256 (file names)."""
        return hashlib.sha256(self.key().encode()).hexdigest()[:12]


__all__ = ['ArchSpec', 'SPEC_KEYS']
