"""SubnetValLoop / SubnetTestLoop on a tiny supernet and a tiny fake
dataset with the real MultiTaskMetric, and a short Runner-based ECMT run
(sandwich + CI-KD hook + subnet validation)."""
import copy
import json
import uuid

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.structures import PixelData
from torch import nn
from torch.utils.data import Dataset

from mmecmt.models.slimmable.bn_calibration import (BNCalibrator,
                                                    save_bn_state)
from mmecmt.engine.loops import parse_subnet_entry, resolve_subnet
from mmecmt.registry import DATASETS, METRICS
from mmecmt.search.space import SearchSpace, SubnetSpec
from mmecmt.structures import MultiTaskDataSample
from mmecmt.utils import register_all_modules
from toy_slimmable_models import ToyStageBackbone  # noqa: F401 (registers)

register_all_modules()

H = W = 16
TASKS = dict(semseg=dict(kind='segmentation', num_classes=3),
             depth=dict(kind='depth'))


pytestmark = pytest.mark.usefixtures('one_thread')


@DATASETS.register_module(name='LoopToyDataset', force=True)
class ToyDataset(Dataset):
    """``n`` random 16 x 16 images with semseg (3 classes) and depth."""

    def __init__(self, n=8, seed=0):
        self.n, self.seed = n, seed

    @property
    def metainfo(self):
        return dict(tasks=TASKS)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(self.seed * 1000 + i)
        sample = MultiTaskDataSample(metainfo=dict(
            img_shape=(H, W), ori_shape=(H, W), img_path=f'toy_{i}.png'))
        sample.gt_semseg = PixelData(
            data=torch.randint(0, 3, (1, H, W), generator=g))
        sample.gt_depth = PixelData(data=torch.rand(1, H, W, generator=g) + 1)
        image = torch.randint(0, 256, (3, H, W), generator=g,
                              dtype=torch.uint8)
        return dict(inputs=image, data_samples=sample)


MODEL = dict(
    type='SandwichAlgorithm',
    architecture=dict(
        type='SlimMultiTaskEncoderDecoder',
        backbone=dict(type='ToyStageBackbone'),
        tasks={
            t: dict(TASKS[t], head=dict(type='ToyStageHead', in_index=None))
            for t in TASKS
        },
        search_space=dict(encoder=dict(choices=(0.5, 1.0)),
                          decoder=dict(choices=(0.25, 1.0))),
        data_preprocessor=dict(type='MultiTaskDataPreProcessor')),
    sampler=dict(num_random=1, seed=0),
    distiller=dict(loss=dict(type='CIKDLoss', distance='mse')))


def loader(n, seed):
    return dict(dataset=dict(type='LoopToyDataset', n=n, seed=seed),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2, num_workers=0)


def make_runner(tmp_path, loop='SubnetValLoop', **kwargs):
    loop_cfg = dict(type=loop, subnets=('max', 'min'),
                    calibrate_bn=dict(num_images=4, show_progress=False),
                    log_macs=kwargs.pop('log_macs', False))
    cfg = dict(
        model=copy.deepcopy(MODEL),
        work_dir=str(tmp_path),
        experiment_name=f'subnet_loop_{uuid.uuid4().hex[:8]}',
        train_dataloader=loader(8, seed=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=3, val_interval=3),
        val_dataloader=loader(4, seed=1),
        val_evaluator=dict(type='MultiTaskMetric'),
        val_cfg=loop_cfg,
        test_dataloader=loader(4, seed=1),
        test_evaluator=dict(type='MultiTaskMetric'),
        test_cfg=dict(loop_cfg, type='SubnetTestLoop'),
        default_hooks=dict(checkpoint=None, logger=dict(
            type='LoggerHook', interval=1)),
        default_scope='mmecmt',
        log_level='WARNING',
        randomness=dict(seed=0))
    cfg.update(kwargs)
    return Runner(**cfg)


def perturb_bn(model):
    """Make every BN buffer distinctive (as after some training)."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g)
                                    + 0.5)


def manual_metrics(runner, model, spec):
    """Calibrate + evaluate ``spec`` by hand on a copy of the model."""
    model = copy.deepcopy(model)
    model.set_subnet(spec)
    # the loop's default: the training set, reshuffled with the run's seed
    calib_cfg = dict(loader(8, seed=0),
                     sampler=dict(type='DefaultSampler', shuffle=True))
    calib = Runner.build_dataloader(calib_cfg, seed=runner.seed)
    BNCalibrator(model, calib, num_images=4, show_progress=False).calibrate()
    metric = METRICS.build(dict(type='MultiTaskMetric', tasks=TASKS))
    model.eval()
    val = Runner.build_dataloader(loader(4, seed=1))
    with torch.no_grad():
        for batch in val:
            metric.process(batch, model.val_step(batch))
    return metric.evaluate(len(val.dataset))


def assert_bn_equal(state, model):
    now = save_bn_state(model)
    for name in state:
        for key, value in state[name].items():
            assert torch.equal(now[name][key], value), (name, key)


def test_val_loop_metrics_per_subnet_and_restored_state(tmp_path):
    runner = make_runner(tmp_path)
    model = runner.model
    perturb_bn(model)
    bn_before = save_bn_state(model)
    expected = {name: manual_metrics(runner, model, name)
                for name in ('max', 'min')}
    model.set_subnet(dict(encoder=dict(stem=0.5, stage1=1.0),
                          decoders=dict(semseg=1.0, depth=0.25)))
    active = model.subnet

    metrics = runner.val()

    keys = {f'{s}/{k}' for s in ('max', 'min') for k in expected[s]}
    assert set(metrics) == keys
    assert 'max/semseg/mIoU' in keys and 'min/depth/rmse' in keys
    for name in ('max', 'min'):
        for key, value in expected[name].items():
            assert metrics[f'{name}/{key}'] == pytest.approx(value,
                                                             rel=1e-5), key
    # the two subnets really are different networks
    assert metrics['max/depth/rmse'] != metrics['min/depth/rmse']
    # the active subnet and every BN buffer are back
    assert model.subnet == active
    assert_bn_equal(bn_before, model)


def test_test_loop_with_macs_and_named_subnets(tmp_path):
    spec = dict(encoder=dict(stem=1.0, stage1=0.5),
                decoders=dict(semseg=0.25, depth=1.0))
    path = tmp_path / 'mine.json'
    path.write_text(json.dumps(spec))
    runner = make_runner(tmp_path, log_macs=True)
    runner._test_loop = dict(
        type='SubnetTestLoop', subnets=('min', str(path), 'random:3',
                                        dict(name='explicit', spec=spec)),
        calibrate_bn=None, macs_input_shape=(H, W))
    metrics = runner.test()
    names = ('min', 'mine', 'random3', 'explicit')
    for name in names:
        assert f'{name}/semseg/mIoU' in metrics
        assert f'{name}/macs' in metrics
    assert metrics['mine/depth/rmse'] == metrics['explicit/depth/rmse']
    from mmecmt.search.macs import MacsModel
    macs = MacsModel(runner.model, input_shape=(H, W))
    assert metrics['min/macs'] == macs.macs(runner.model.min_subnet)
    assert metrics['mine/macs'] == macs.macs(SubnetSpec.from_dict(spec))
    assert metrics['min/macs'] < metrics['mine/macs']


class BNWatchHook(Hook):
    """Checks that validation leaves the BN buffers and subnet unchanged."""

    def __init__(self):
        self.checked = 0

    def before_val(self, runner):
        self.state = save_bn_state(runner.model)
        self.subnet = runner.model.subnet

    def after_val(self, runner):
        assert_bn_equal(self.state, runner.model)
        assert runner.model.subnet == self.subnet
        self.checked += 1


def test_runner_trains_sandwich_with_cikd_and_validates_subnets(tmp_path):
    watch = BNWatchHook()
    runner = make_runner(
        tmp_path,
        custom_hooks=[
            dict(type='CIKDHook', weight=2.0, schedule='linear',
                 warmup_iters=2), watch
        ])
    runner.train()
    hub = runner.message_hub
    # the hook's weights at iterations 0, 1, 2: 0, 1, 2
    assert [v for v in hub.get_scalar('train/cikd_weight').data[0]] == \
        [0.0, 1.0, 2.0]
    for key in ('loss', 'loss_cikd', 'max.loss_semseg', 'min.loss_depth',
                'rand0.loss_cikd', 'max.loss_cikd'):
        assert len(hub.get_scalar(f'train/{key}').data[0]) == 3, key
    # CI-KD at weight 0 in iteration 0, then positive for non-max members
    cikd = hub.get_scalar('train/min.loss_cikd').data[0]
    assert cikd[0] == 0.0 and cikd[1] > 0 and cikd[2] > 0
    assert set(hub.get_scalar('train/max.loss_cikd').data[0]) == {0.0}
    # subnet validation ran once, with prefixed metrics
    assert watch.checked == 1
    for key in ('max/semseg/mIoU', 'min/semseg/mIoU', 'max/depth/rmse',
                'min/depth/abs_rel'):
        assert hub.get_scalar(f'val/{key}') is not None
    assert runner.model.subnet == runner.model.max_subnet


def test_parse_subnet_entries(tmp_path):
    space = SearchSpace(encoder=dict(a=(0.5, 1.0)), decoders=dict(t=(0.25,
                                                                     1.0)))
    assert parse_subnet_entry('max', 0) == ('max', 'max')
    name, source = parse_subnet_entry('random:12', 1)
    assert name == 'random12'
    assert resolve_subnet(source, space) == space.sample('random', 12)
    spec = dict(encoder=dict(a=0.5), decoders=dict(t=1.0))
    assert parse_subnet_entry(spec, 2) == ('subnet2',
                                           SubnetSpec.from_dict(spec))
    assert parse_subnet_entry(dict(name='x', spec='min'), 0) == ('x', 'min')
    with pytest.raises(ValueError, match='is not a subnet'):
        parse_subnet_entry('biggest', 0)
    with pytest.raises(ValueError, match='non-negative integer'):
        parse_subnet_entry('random:a', 0)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        parse_subnet_entry(str(tmp_path / 'missing.json'), 0)
    with pytest.raises(ValueError, match='must be non-empty'):
        parse_subnet_entry(dict(name='a/b', spec='max'), 0)
    with pytest.raises(ValueError, match=r"encoder\['a'\] = 0.75"):
        resolve_subnet(SubnetSpec({'a': 0.75}, {'t': 1.0}), space)


def test_bad_loop_arguments(tmp_path):
    runner = make_runner(tmp_path)
    runner._val_loop = dict(type='SubnetValLoop', subnets=('max', 'max'))
    with pytest.raises(ValueError, match=r"duplicate names \['max'\]"):
        runner.val_loop
    runner._val_loop = dict(type='SubnetValLoop',
                            calibrate_bn=dict(images=4))
    with pytest.raises(ValueError, match=r"unknown keys \['images'\]"):
        runner.val_loop


# ----------------------------------------------------------------------
# logging: the short table after the loop; the quiet subnet evaluator
# ----------------------------------------------------------------------
def test_loop_logs_a_short_table_of_subnets_macs_and_metrics(tmp_path,
                                                            monkeypatch):
    from mmecmt.engine.loops import subnet_val_loop
    logged = []
    monkeypatch.setattr(subnet_val_loop, 'print_log',
                        lambda msg, **kwargs: logged.append(str(msg)))
    runner = make_runner(tmp_path, log_macs=True)
    runner._test_loop = dict(type='SubnetTestLoop', subnets=('max', 'min'),
                             calibrate_bn=None, macs_input_shape=(H, W))
    metrics = runner.test()
    tables = [m for m in logged if m.startswith('Subnets evaluated')]
    assert len(tables) == 1
    lines = tables[0].splitlines()
    assert lines[0] == f'Subnets evaluated (MACs at {H}x{W}):'
    assert max(len(line) for line in lines) < 120
    header = next(line for line in lines if 'subnet' in line)
    assert 'MACs' in header and 'semseg mIoU' in header
    assert 'depth rmse (lower better)' in header
    from mmecmt.search.budget import format_macs
    for name in ('max', 'min'):
        row = next(line for line in lines if line.startswith(f'| {name} '))
        assert format_macs(metrics[f'{name}/macs']) in row
        assert f'{metrics[f"{name}/semseg/mIoU"]:.4f}' in row
        assert f'{metrics[f"{name}/depth/rmse"]:.4f}' in row


class _Records:
    """Collects the records of mmengine's current logger at INFO level."""

    def __enter__(self):
        import logging
        from mmengine.logging import MMLogger
        self.logger = MMLogger.get_current_instance()
        self.level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.records = []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.records.append(
            record.getMessage())
        self.logger.addHandler(self.handler)
        return self.records

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def test_subnet_evaluator_many_at_once_equals_one_by_one(tmp_path):
    from mmecmt.models.algorithms import architecture_of
    from mmecmt.search.subnet_evaluator import SubnetEvaluator
    runner = make_runner(tmp_path)
    model = architecture_of(runner.model)
    perturb_bn(model)
    model.set_subnet('max')
    bn_before = save_bn_state(model)
    calib = Runner.build_dataloader(
        dict(loader(8, seed=0),
             sampler=dict(type='DefaultSampler', shuffle=True)), seed=0)
    val = Runner.build_dataloader(loader(4, seed=1))
    space = model.search_space
    specs = [space.sample('min'), space.sample('random', 1),
             space.sample('max'), space.sample('random', 2)]
    evaluator = SubnetEvaluator(
        model, val, dict(type='MultiTaskMetric', tasks=TASKS),
        BNCalibrator(model, calib, num_images=4, show_progress=False))
    with _Records() as records:
        many = evaluator.evaluate_many(specs)
    assert not any('semseg' in r for r in records)  # no metrics table
    one_by_one = [evaluator.evaluate(s) for s in specs]
    assert many == one_by_one  # exactly
    assert many[0] != many[2]
    assert evaluator.scores_many(specs)[1] == evaluator.scores(specs[1])
    assert model.subnet == space.sample('max')
    assert_bn_equal(bn_before, model)
    # quiet=False keeps the metric's table
    loud = SubnetEvaluator(model, val, dict(type='MultiTaskMetric',
                                            tasks=TASKS), quiet=False)
    with _Records() as records:
        loud.evaluate(specs[0])
    assert any('semseg' in r and 'mIoU' in r for r in records)
    with pytest.raises(ValueError, match='no subnets'):
        evaluator.evaluate_many([])
