"""The deployment contract: one interface, implemented once per method.

Every method family answers the same question: given a task preference ``r``
and a compute budget ``b`` in MACs, which network of my trained model should
run? A :class:`DeployableModel` answers it for one trained model (one
checkpoint, or a family of checkpoints), so that ``tools/deploy.py`` and
``tools/evaluate_control.py`` never need to know which method they talk to::

    request (r, b)  -> plan(r, b)      -> Plan(spec: ArchSpec, macs, ...)
    spec            -> macs(spec)      -> exact MACs (== fvcore on export)
    spec            -> prepare(spec)   -> the model running as the spec
    spec            -> export(spec)    -> static nn.Module of plain layers
    spec            -> measure(spec)   -> val metrics (+ task losses)

Budgets are always MACs, counted at :attr:`DeployableModel.input_shape`
(the padded batch shape the network runs,
:func:`mmecmt.utils.input_shape.macs_input_shape`). A method whose own knob
is something else (a cost coefficient, a sparsity target, a family member)
maps the budget to it inside :meth:`DeployableModel._plan`. A budget below
:meth:`DeployableModel.macs_range` raises
:class:`~mmecmt.structures.request.InfeasibleBudget` naming the range; one
above it is answered by :meth:`DeployableModel._largest` and the plan says
so (``above_range``, ``note``).

Implementations register in :data:`mmecmt.registry.DEPLOYERS`; a config
names its deployer with ``deploy = dict(type='ECMTDeployer', ...)`` (see
:func:`build_deployer`, which also infers it from the model when the config
has none).
"""
import hashlib
import time
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.runner import Runner
from torch import nn

from mmecmt.evaluation.val_pass import evaluate_model
from mmecmt.structures.arch_spec import ArchSpec
from mmecmt.structures.request import (above_range_note, check_feasible,
                                       format_macs, macs_unit, parse_budget,
                                       validate_preference)
from mmecmt.utils.checkpoint import file_sha256
from mmecmt.utils.input_shape import format_shape, macs_input_shape


def checkpoints_sha256(paths: Sequence[str]) -> str:
    """The sha256 a spec names: the checkpoint's own for one file; for a
    family, the sha256 of its members' sha256s in order."""
    shas = [file_sha256(p) for p in paths]
    if len(shas) == 1:
        return shas[0]
    return hashlib.sha256(','.join(shas).encode()).hexdigest()


@dataclass
class Plan:
    """One answered request.

    Attributes:
        spec: the chosen network.
        macs: its exact MACs at ``spec.input_shape``.
        budget: the requested budget (MACs).
        preference: the validated preference.
        above_range: the budget exceeds the largest network; the answer is
            the largest network.
        note: a sentence for the user when something is worth saying (e.g.
            the above-range answer), else None.
        seconds: planning time (after :meth:`DeployableModel.warm_up`).
        info: method-specific facts (fitness, predicted scores, the chosen
            member, ...), JSON-serialisable.
    """
    spec: ArchSpec
    macs: int
    budget: int
    preference: Dict[str, float]
    above_range: bool = False
    note: Optional[str] = None
    seconds: float = 0.0
    info: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(spec=self.spec.to_dict(), macs=int(self.macs),
                    budget=int(self.budget), preference=self.preference,
                    above_range=self.above_range, note=self.note,
                    input_shape=list(self.spec.input_shape),
                    plan_seconds=self.seconds, info=self.info)


class DeployableModel(metaclass=ABCMeta):
    """A trained model that answers (preference, budget) requests.

    Args:
        cfg: the model's config (``model``, ``train_dataloader``,
            ``val_dataloader``, ``val_evaluator``, ``work_dir``).
        checkpoints: its checkpoint file(s).
        input_shape: (H, W) of the MACs count before padding (default: the
            training crop), padded to the preprocessor's divisor.

    Attributes:
        method (str): the name written into every spec.
        checkpoint_sha (str): :func:`checkpoints_sha256` of ``checkpoints``.
        input_shape (tuple): (H, W) of every MACs figure.
    """

    #: the name written into specs (``ArchSpec.method``).
    method: str = ''
    #: what one network is called in messages (``'subnet'``, ``'member'``).
    network_name: str = 'network'

    def __init__(self, cfg, checkpoints: Sequence[str],
                 input_shape: Optional[Sequence[int]] = None):
        if not checkpoints:
            raise ValueError(f'{type(self).__name__} needs at least one '
                             'checkpoint')
        self.cfg = cfg
        self.checkpoints = [str(c) for c in checkpoints]
        self.checkpoint_sha = checkpoints_sha256(self.checkpoints)
        self.input_shape: Tuple[int, int] = macs_input_shape(cfg,
                                                             input_shape)
        self.seed = int(cfg.get('randomness', {}).get('seed', 0))
        self._val_loader = None

    # ------------------------------------------------------------------
    # what a method implements
    # ------------------------------------------------------------------
    @property
    @abstractmethod
    def task_specs(self) -> Dict[str, Any]:
        """``{task: TaskSpec}`` of the model, in its task order."""

    @property
    def tasks(self) -> List[str]:
        """The tasks, in the model's order."""
        return list(self.task_specs)

    @abstractmethod
    def macs_range(self) -> Tuple[int, int]:
        """MACs of the smallest and of the largest network."""

    @abstractmethod
    def _plan(self, preference: Dict[str, float],
              budget: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """``(arch, info)`` for a feasible, in-range request."""

    @abstractmethod
    def _largest(self, preference: Dict[str, float]
                 ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """``(arch, info)`` of the answer to a budget above the range."""

    @abstractmethod
    def _macs(self, arch: Mapping[str, Any]) -> int:
        """Exact MACs of ``arch`` (already checked to be this model's)."""

    @abstractmethod
    def _prepare(self, arch: Mapping[str, Any]) -> nn.Module:
        """The model running as ``arch``, in eval mode, for evaluation."""

    @abstractmethod
    def _export(self, arch: Mapping[str, Any]) -> nn.Module:
        """A static copy of ``arch`` of plain layers, eval mode."""

    def warm_up(self) -> None:
        """Build what planning needs once (ECMT: load or build the accuracy
        predictor); :meth:`plan` calls it before timing the request."""

    def static_config(self, spec: ArchSpec):
        """A config whose model builds the exported ``spec`` (weights
        uninitialised), so that ``tools/test.py`` evaluates the export.
        Default: the model's own config (a static model is its own
        export)."""
        self.check_spec(spec)
        return self.cfg.copy()

    def exported_config(self, model: dict, drop_hooks=None):
        """A copy of the config whose model is ``model`` (an export's
        builder): plain val / test loops, deployed as a fixed model, without
        the training-only entries (model wrapper, ``load_from``, ``resume``)
        and without the custom hooks of the types in ``drop_hooks`` (all of
        them when None)."""
        static = self.cfg.copy()
        static.model = model
        static.val_cfg = dict(type='ValLoop')
        static.test_cfg = dict(type='TestLoop')
        static.deploy = dict(type='StaticFamily')  # a fixed model now
        for key in ('model_wrapper_cfg', 'load_from', 'resume'):
            static.pop(key, None)
        static.custom_hooks = [] if drop_hooks is None else [
            h for h in static.get('custom_hooks', [])
            if h['type'] not in drop_hooks
        ]
        return static

    # ------------------------------------------------------------------
    # the contract
    # ------------------------------------------------------------------
    def spec(self, arch: Mapping[str, Any]) -> ArchSpec:
        """``arch`` of this model as an :class:`ArchSpec`."""
        return ArchSpec(self.method, self.checkpoint_sha, dict(arch),
                        self.input_shape)

    def check_spec(self, spec: ArchSpec) -> ArchSpec:
        """Return ``spec`` if it belongs to this model, else raise a
        ValueError naming the field that differs."""
        if not isinstance(spec, ArchSpec):
            raise TypeError(f'expected an ArchSpec, got {type(spec).__name__}')
        if spec.method != self.method:
            raise ValueError(f'spec of method {spec.method!r}; this model '
                             f'is deployed by {self.method!r}')
        if spec.checkpoint != self.checkpoint_sha:
            raise ValueError(
                f'spec of checkpoint sha256 {spec.checkpoint[:12]}...; this '
                f'model\'s checkpoint is {self.checkpoint_sha[:12]}...')
        if tuple(spec.input_shape) != tuple(self.input_shape):
            raise ValueError(
                f'spec counted at input {format_shape(spec.input_shape)}; '
                f'this model counts at {format_shape(self.input_shape)}')
        return spec

    def budget(self, text) -> int:
        """``'350M'``, ``'0.5x'`` (of the largest network) or MACs, in MACs
        (not checked against the range: :meth:`plan` does)."""
        return parse_budget(text, self.macs_range()[1])

    def plan(self, preference, budget) -> Plan:
        """Answer one request.

        Args:
            preference: ``{task: r}`` (or a sequence in task order), a
                distribution over exactly :attr:`tasks`.
            budget: MACs (int) or a budget text (``'0.5x'``, ``'120M'``).

        Raises:
            ValueError: a preference that is not a distribution over the
                tasks, an unparsable budget.
            InfeasibleBudget: a budget below :meth:`macs_range` (the message
                states the range).
        """
        pref = validate_preference(preference, self.tasks)
        if not isinstance(budget, int):
            budget = self.budget(budget)
        lo, hi = self.macs_range()
        check_feasible(budget, lo, hi, self.network_name)
        self.warm_up()
        t0 = time.perf_counter()
        note = above_range_note(budget, hi, self.network_name)
        if note is None:
            arch, info = self._plan(pref, budget)
        else:
            arch, info = self._largest(pref)
        spec = self.spec(arch)
        macs = self._macs(spec.arch)
        if macs > budget:
            raise RuntimeError(
                f'{type(self).__name__} planned {format_macs(macs)} for a '
                f'budget of {format_macs(budget)}: a bug of the method')
        return Plan(spec, macs, budget, pref, above_range=note is not None,
                    note=note, seconds=time.perf_counter() - t0, info=info)

    def macs(self, spec: ArchSpec) -> int:
        """Exact MACs of ``spec`` at :attr:`input_shape`."""
        return int(self._macs(self.check_spec(spec).arch))

    def prepare(self, spec: ArchSpec) -> nn.Module:
        """The trained model running as ``spec`` (eval mode), ready for its
        ``val_step``; valid until the next :meth:`prepare`."""
        return self._prepare(self.check_spec(spec).arch)

    def export(self, spec: ArchSpec) -> nn.Module:
        """A static model of plain layers, output-equal to
        :meth:`prepare`'s (eval mode)."""
        return self._export(self.check_spec(spec).arch)

    # ------------------------------------------------------------------
    # measurement
    # ------------------------------------------------------------------
    def val_dataloader(self):
        """The config's val loader (built once)."""
        if self._val_loader is None:
            cfg = dict(self.cfg.val_dataloader, persistent_workers=False)
            self._val_loader = Runner.build_dataloader(cfg, seed=self.seed)
        return self._val_loader

    def measure(self, spec: ArchSpec, evaluator_cfg=None,
                with_losses: bool = False
                ) -> Tuple[Dict[str, float], Optional[Dict[str, float]]]:
        """``(metrics, losses)`` of ``spec`` on the val set
        (:func:`~mmecmt.evaluation.val_pass.evaluate_model`), scored by
        ``evaluator_cfg`` (default: the config's ``val_evaluator``)."""
        model = self.prepare(spec)
        return evaluate_model(model, self.val_dataloader(),
                              evaluator_cfg or self.cfg.val_evaluator,
                              with_losses=with_losses)

    def describe(self) -> str:
        """One line: method, tasks, MACs range and input size."""
        lo, hi = self.macs_range()
        unit = macs_unit(lo)
        return (f'{self.method}: tasks {self.tasks}, networks '
                f'{format_macs(lo, unit).split()[0]} - '
                f'{format_macs(hi, unit)} at input '
                f'{format_shape(self.input_shape)}')

    def log(self, message: str) -> None:
        print_log(message, logger='current')


__all__ = ['DeployableModel', 'Plan', 'checkpoints_sha256']
