"""Validation / test of several subnets of an ECMT supernet.

For every listed subnet: activate it, recalibrate its BN statistics on
training images
(:class:`~mmecmt.models.slimmable.bn_calibration.BNCalibrator`), evaluate it
on the whole val/test set and prefix its metrics with the subnet's name
(``max/semseg/mIoU``, ``min/depth/rmse`` ...). Afterwards the subnet that
was active and every BN buffer are restored, so a validation in
the middle of training leaves the training state untouched.
"""
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.runner import TestLoop, ValLoop
from mmengine.runner.loops import _parse_losses
from torch.utils.data import DataLoader

from mmecmt.models.algorithms import architecture_of
from mmecmt.models.slimmable.bn_calibration import (
    DEFAULT_CALIB_IMAGES, BNCalibrator, calibration_dataloader_cfg,
    load_bn_state, save_bn_state)
from mmecmt.registry import LOOPS
from mmecmt.search.space import SubnetSpec

#: what ``subnets`` entries may be (see :func:`parse_subnet_entry`).
SubnetEntry = Union[str, Mapping, SubnetSpec]


def parse_subnet_entry(entry: SubnetEntry, index: int
                       ) -> Tuple[str, Union[str, SubnetSpec]]:
    """``(name, source)`` of one ``subnets`` entry.

    Entries:
        ``'max'`` / ``'min'``: the largest / smallest subnet (name as is);
        ``'random:<seed>'``: ``search_space.sample('random', seed)``, named
        ``random<seed>``;
        ``'<path>.json'``: a saved :class:`SubnetSpec`, named by the file
        stem;
        ``{'encoder': ..., 'decoders': ...}`` or a SubnetSpec: named
        ``subnet<index>``;
        ``{'name': ..., 'spec': <any entry above>}``: explicitly named.

    The source is ``'max'``, ``'min'``, ``'random:<seed>'`` (resolved against
    the model's search space later) or a SubnetSpec.
    """
    if isinstance(entry, Mapping) and set(entry) == {'name', 'spec'}:
        _, source = parse_subnet_entry(entry['spec'], index)
        name = str(entry['name'])
    elif isinstance(entry, SubnetSpec):
        name, source = f'subnet{index}', entry
    elif isinstance(entry, Mapping):
        name, source = f'subnet{index}', SubnetSpec.from_dict(entry)
    elif isinstance(entry, str) and entry in ('max', 'min'):
        name, source = entry, entry
    elif isinstance(entry, str) and entry.startswith('random:'):
        seed = entry[len('random:'):]
        if not seed.isdigit():
            raise ValueError(
                f'subnets[{index}] = {entry!r}: the seed after "random:" '
                'must be a non-negative integer')
        name, source = f'random{seed}', entry
    elif isinstance(entry, str) and entry.endswith('.json'):
        name = osp.splitext(osp.basename(entry))[0]
        source = SubnetSpec.from_json(entry)
    else:
        raise ValueError(
            f'subnets[{index}] = {entry!r} is not a subnet: use "max", '
            '"min", "random:<seed>", a .json path, a spec dict '
            '{"encoder": ..., "decoders": ...} or {"name": ..., "spec": ...}')
    if not name or '/' in name:
        raise ValueError(f'subnets[{index}]: name {name!r} must be non-empty '
                         'and contain no "/" (it prefixes metric keys)')
    return name, source


def resolve_subnet(source: Union[str, SubnetSpec], search_space
                   ) -> SubnetSpec:
    """The :class:`SubnetSpec` of a parsed entry, validated."""
    if isinstance(source, SubnetSpec):
        return search_space.validate(source)
    if source in ('max', 'min'):
        return search_space.sample(source)
    return search_space.sample('random', int(source.split(':', 1)[1]))


class SubnetEvaluationMixin:
    """The per-subnet evaluation shared by :class:`SubnetValLoop` and
    :class:`SubnetTestLoop` (which differ in hooks and ``*_step``)."""

    def _init_subnets(self, subnets: Sequence[SubnetEntry],
                      calibrate_bn: Optional[dict], log_macs: bool,
                      macs_input_shape: Optional[Sequence[int]]) -> None:
        if isinstance(subnets, (str, Mapping, SubnetSpec)):
            subnets = [subnets]
        if not subnets:
            raise ValueError('subnets: give at least one subnet')
        self.subnets: List[Tuple[str, Union[str, SubnetSpec]]] = [
            parse_subnet_entry(entry, i) for i, entry in enumerate(subnets)
        ]
        names = [name for name, _ in self.subnets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f'subnets: duplicate names {duplicates}; name '
                             'them with {"name": ..., "spec": ...}')
        if calibrate_bn is not None:
            calibrate_bn = dict(calibrate_bn)
            unknown = sorted(
                set(calibrate_bn) -
                {'num_images', 'dataloader', 'show_progress'})
            if unknown:
                raise ValueError(
                    f'calibrate_bn: unknown keys {unknown}; valid keys are '
                    "['num_images', 'dataloader', 'show_progress']")
        self.calibrate_bn = calibrate_bn
        self._calibrator: Optional[BNCalibrator] = None
        self.log_macs = bool(log_macs)
        self.macs_input_shape = None if macs_input_shape is None else tuple(
            int(v) for v in macs_input_shape)
        self._macs_model = None

    # ------------------------------------------------------------------
    def supernet(self):
        model = architecture_of(self.runner.model)
        if not callable(getattr(model, 'set_subnet', None)):
            raise TypeError(
                f'{type(self).__name__} evaluates subnets of a slimmable '
                'supernet (SlimMultiTaskEncoderDecoder); got '
                f'{type(model).__name__}')
        return model

    def calibration_dataloader(self):
        """``calibrate_bn['dataloader']``, by default the runner's training
        dataloader config with a shuffling ``DefaultSampler`` (seeded by the
        runner's seed) and no persistent workers; built once."""
        cfg = self.calibrate_bn.get('dataloader')
        if cfg is None:
            cfg = getattr(self.runner, '_train_dataloader', None)
            if cfg is None:
                raise ValueError(
                    f'{type(self).__name__}: BN calibration needs training '
                    'images but the runner has no train_dataloader; give '
                    'calibrate_bn=dict(dataloader=...) or calibrate_bn=None')
            if isinstance(cfg, Mapping):
                cfg = calibration_dataloader_cfg(cfg)
        if isinstance(cfg, Mapping):
            cfg = self.runner.build_dataloader(cfg, seed=self.runner.seed)
        return cfg

    def calibrator(self) -> Optional[BNCalibrator]:
        if self.calibrate_bn is None:
            return None
        if self._calibrator is None:
            self._calibrator = BNCalibrator(
                self.supernet(), self.calibration_dataloader(),
                num_images=self.calibrate_bn.get('num_images',
                                                 DEFAULT_CALIB_IMAGES),
                show_progress=self.calibrate_bn.get('show_progress', True))
        return self._calibrator

    def subnet_macs(self, model, spec: SubnetSpec) -> Optional[int]:
        """MACs of ``spec`` at the input size of the first evaluation batch
        (or ``macs_input_shape``), from :class:`mmecmt.search.macs.MacsModel`
        (built once); None when ``log_macs`` is off or MacsModel is not
        available or cannot model this supernet (logged once)."""
        if not self.log_macs:
            return None
        if self._macs_model is None:
            try:
                from mmecmt.search.macs import load_or_build_macs_model
            except ImportError as err:
                self._disable_macs(f'mmecmt.search.macs: {err}')
                return None
            shape = self.macs_input_shape
            if shape is None:
                batch = model.data_preprocessor(next(iter(self.dataloader)),
                                                False)
                shape = tuple(batch['inputs'].shape[-2:])
            try:
                self._macs_model = load_or_build_macs_model(
                    model, shape, self.runner.work_dir)
            except (NotImplementedError, RuntimeError, ValueError) as err:
                self._disable_macs(f'{type(err).__name__}: {err}')
                return None
        return int(self._macs_model.macs(spec))

    def _disable_macs(self, reason: str) -> None:
        self.log_macs = False
        print_log(f'{type(self).__name__}: subnet MACs are not logged '
                  f'({reason})', logger='current', level=logging.WARNING)

    def evaluate_subnets(self, loss_buffer: dict, loss_prefix: str
                         ) -> Dict[str, float]:
        """Evaluate every subnet; return the prefixed metrics."""
        model = self.supernet()
        active = model.subnet
        bn_state = save_bn_state(model)
        all_metrics: Dict[str, float] = OrderedDict()
        try:
            for name, source in self.subnets:
                spec = resolve_subnet(source, model.search_space)
                model.set_subnet(spec)
                print_log(f'Evaluating subnet {name!r}: {spec.to_dict()}',
                          logger='current')
                calibrator = self.calibrator()
                if calibrator is not None:
                    calibrator.calibrate()
                metrics = self.evaluate_active_subnet(loss_buffer,
                                                      loss_prefix)
                macs = self.subnet_macs(model, spec)
                if macs is not None:
                    metrics['macs'] = macs
                for key, value in metrics.items():
                    all_metrics[f'{name}/{key}'] = value
        finally:
            model.set_subnet(active)
            load_bn_state(model, bn_state)
        self.log_summary(model, all_metrics)
        return all_metrics

    def log_summary(self, model, metrics: Mapping[str, float]) -> None:
        """Log one short table of the evaluated subnets: a row per subnet,
        its MACs and every task's primary metric (``max/semseg/mIoU``
        ...), what the long one-line metric log of mmengine hides."""
        from mmecmt.evaluation.functional.delta_m import (
            PRIMARY_METRICS, primary_metric, task_kind)
        from mmecmt.search.budget import format_macs, macs_unit
        metric = self.evaluator.metrics[0] if self.evaluator.metrics else None
        matching = getattr(metric, 'edge_matching', 'one_to_one')
        columns = []  # (task, metric key, header)
        for task, spec in getattr(model, 'task_specs', {}).items():
            try:
                kind = task_kind(task, spec)
                key = primary_metric(kind, matching)
            except ValueError:
                continue
            arrow = '(lower better)' if PRIMARY_METRICS[kind][1] else ''
            columns.append((task, key, f'{task} {key} {arrow}'.strip()))
        header = ['subnet', 'MACs'] + [c[2] for c in columns]
        rows = []
        all_macs = [metrics[f'{n}/macs'] for n, _ in self.subnets
                    if metrics.get(f'{n}/macs') is not None]
        unit = macs_unit(min(all_macs)) if all_macs else None
        for name, _ in self.subnets:
            macs = metrics.get(f'{name}/macs')
            row = [name, '-' if macs is None else format_macs(macs, unit)]
            for task, key, _ in columns:
                value = metrics.get(f'{name}/{task}/{key}')
                row.append('-' if value is None else f'{value:.4f}')
            rows.append(row)
        if not columns and all(r[1] == '-' for r in rows):
            return
        try:
            from prettytable import PrettyTable
            table = PrettyTable(header)
            table.align = 'r'
            table.align['subnet'] = 'l'
            for row in rows:
                table.add_row(row)
            text = table.get_string()
        except ImportError:  # pragma: no cover - prettytable comes with mmseg
            text = '\n'.join(' | '.join(r) for r in [header] + rows)
        shape = self.macs_input_shape or getattr(self._macs_model,
                                                 'input_shape', None)
        where = f' (MACs at {shape[-2]}x{shape[-1]})' if shape else ''
        print_log(f'Subnets evaluated{where}:\n' + text, logger='current')

    def evaluate_active_subnet(self, loss_buffer: dict,
                               loss_prefix: str) -> Dict[str, float]:
        self.runner.model.eval()
        loss_buffer.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if loss_buffer:
            metrics.update(_parse_losses(loss_buffer, loss_prefix))
        return dict(metrics)


@LOOPS.register_module()
class SubnetValLoop(SubnetEvaluationMixin, ValLoop):
    """Validation of several subnets, each after BN recalibration.

    Args:
        runner, dataloader, evaluator, fp16: as mmengine's ``ValLoop``.
        subnets: the subnets to evaluate, see :func:`parse_subnet_entry`
            (default: the largest and the smallest).
        calibrate_bn: ``dict(num_images=1024, dataloader=None,
            show_progress=True)``; ``dataloader`` None = the runner's
            training dataloader config. None: no recalibration (the shared
            running statistics are used as they are).
        log_macs: also output ``{subnet}/macs`` (exact MACs from
            :class:`mmecmt.search.macs.MacsModel`, built once per loop; it
            traces the supernet, a few seconds for a MobileNetV2 supernet).
        macs_input_shape: (H, W) the MACs are counted at; None = the input
            size of the first evaluation batch.

    Returns (``run``): ``{f'{subnet}/{metric}': value}``, e.g.
    ``max/semseg/mIoU``, ``min/macs``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator,
                 subnets: Sequence[SubnetEntry] = ('max', 'min'),
                 calibrate_bn: Optional[dict] = dict(
                     num_images=DEFAULT_CALIB_IMAGES),
                 log_macs: bool = True,
                 macs_input_shape: Optional[Sequence[int]] = None,
                 fp16: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        self._init_subnets(subnets, calibrate_bn, log_macs, macs_input_shape)

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        metrics = self.evaluate_subnets(self.val_loss, 'val')
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics


@LOOPS.register_module()
class SubnetTestLoop(SubnetEvaluationMixin, TestLoop):
    """Test of several subnets, each after BN recalibration; arguments and
    output as :class:`SubnetValLoop`."""

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator,
                 subnets: Sequence[SubnetEntry] = ('max', 'min'),
                 calibrate_bn: Optional[dict] = dict(
                     num_images=DEFAULT_CALIB_IMAGES),
                 log_macs: bool = True,
                 macs_input_shape: Optional[Sequence[int]] = None,
                 fp16: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        self._init_subnets(subnets, calibrate_bn, log_macs, macs_input_shape)

    def run(self) -> dict:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        metrics = self.evaluate_subnets(self.test_loss, 'test')
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics
