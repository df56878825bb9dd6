"""InterroGate: gates, the shared combination, the straight-through gate,
the MACs estimate (== the pruned model's exact MACs at hard gates), pruning
(outputs equal the hard-gated model's, MACs == fvcore), loading by key,
the sparsity regulariser, the family's plan, and the tools end to end
(2-process torchrun, deploy with ONNX, test on the export)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool, tiny_data_options
from mmecmt.deploy import InterroGateFamily, build_deployer, write_export
from mmecmt.models.gating import (GatePattern, GatePruner, gate_mix,
                                  gate_values, shared_combination)
from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d)
from mmecmt.registry import MODELS
from mmecmt.structures.request import InfeasibleBudget
from mmecmt.utils import register_all_modules
from mmecmt.utils.checkpoint import CheckpointError
from mmecmt.utils.flops import count_macs

register_all_modules()
pytestmark = pytest.mark.usefixtures('one_thread')

IG_TINY = osp.join(REPO, 'configs', 'interrogate', 'synthscenes_mbv2_tiny.py')
SHAPE = (48, 64)
TASKS = ('semseg', 'depth', 'normals')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(IG_TINY)


def head(in_channels, c1):
    return dict(type='DeepLabV3PlusTaskHead', in_channels=in_channels,
                in_index=(0, 1),
                channels=8, c1_channels=c1, dilations=(1, 2), separable=True)


def tasks_cfg(in_channels, c1):
    info = dict(semseg=dict(kind='segmentation', num_classes=4),
                depth=dict(kind='depth'),
                normals=dict(kind='normals'))
    return {t: dict(info[t], head=head(in_channels, c1)) for t in TASKS}


#: backbones covering every unit type: MobileNetV2 (conv-module stem,
#: inverted residuals with and without shortcut), mmseg ResNetV1c (deep
#: stem, basic blocks with identity / downsample shortcuts), mmpretrain
#: ResNet_CIFAR (stem without max-pool), and a stage-wise cut.
BACKBONES = {
    'mbv2_units': (dict(type='mmpretrain.MobileNetV2', widen_factor=0.25,
                        out_indices=(1, 6)), (8, 80), 8, 'units'),
    'mbv2_stages': (dict(type='mmpretrain.MobileNetV2', widen_factor=0.25,
                         out_indices=(1, 6)), (8, 80), 8, 'stages'),
    'r18v1c': (dict(type='mmseg.ResNetV1c', depth=18, stem_channels=8,
                    base_channels=8, out_indices=(0, 3)), (8, 64), 8,
               'units'),
    'r18cifar': (dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                      stem_channels=8, base_channels=8, out_indices=(0, 3)),
                 (8, 64), 8, 'units'),
}


def gated(name, **kwargs):
    backbone, channels, c1, units = BACKBONES[name]
    torch.manual_seed(0)
    model = MODELS.build(dict(type='GatedMultiTaskNet', backbone=backbone,
                              tasks=tasks_cfg(channels, c1), units=units,
                              **kwargs))
    with torch.no_grad():  # non-trivial BN statistics and mixing weights
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        model.share_logits.normal_()
    return model.eval()


def random_pattern(model, seed):
    g = torch.Generator().manual_seed(seed)
    masks = []
    for c in model.channels:
        mode = int(torch.randint(0, 4, (), generator=g))
        rate = float(torch.rand((), generator=g))
        mask = torch.rand(len(model.tasks), c, generator=g) < rate
        if mode == 0:  # whole units on or off
            mask = torch.rand(len(model.tasks), 1, generator=g).expand(
                -1, c) < 0.5
        masks.append(mask)
    return GatePattern(model.tasks, masks)


def images(n=2, seed=0):
    return torch.randn(n, 3, *SHAPE,
                       generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------
# gates
# ----------------------------------------------------------------------
def test_gate_mix_and_shared_combination():
    own = torch.arange(24.).view(1, 3, 2, 4)
    shared = -own
    gate = torch.tensor([1.0, 0.0, 0.25])
    out = gate_mix(gate, own, shared)
    assert torch.equal(out[:, 0], own[:, 0])
    assert torch.equal(out[:, 1], shared[:, 1])
    assert torch.allclose(out[:, 2], 0.25 * own[:, 2] - 0.75 * own[:, 2])
    with pytest.raises(ValueError, match='gate_mix'):
        gate_mix(gate[:2], own, shared)

    feats = [torch.full((1, 2), 1.0), torch.full((1, 2), 3.0)]
    logits = torch.log(torch.tensor([3.0, 1.0]))  # weights 0.75, 0.25
    assert torch.allclose(shared_combination(feats, logits),
                          torch.full((1, 2), 1.5))
    with pytest.raises(ValueError, match='logits'):
        shared_combination(feats, torch.zeros(3))


def test_straight_through_gate_value_and_gradient():
    logits = torch.tensor([-2.0, -0.1, 0.3, 4.0], requires_grad=True)
    hard = gate_values(logits, hard=True)
    assert hard.tolist() == [0.0, 0.0, 1.0, 1.0]
    (hard * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    sig = torch.sigmoid(logits.detach())
    expected = sig * (1 - sig) * torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert torch.allclose(logits.grad, expected)
    soft = gate_values(logits, hard=False)
    assert torch.allclose(soft, sig)


def test_forward_matches_hand_mix():
    """The gated forward equals the per-unit formula run by hand."""
    model = gated('mbv2_units')
    model.set_gate_pattern(random_pattern(model, 1))
    x = images()
    gates = model.gates()
    xs, s = [x] * 3, x
    for level in range(model.num_units):
        psi = model.shared_units[level](s)
        xs = [gates[level][k].view(1, -1, 1, 1) * model.task_units[t][level](
            xs[k]) + (1 - gates[level][k].view(1, -1, 1, 1)) * psi
            for k, t in enumerate(TASKS)]
        if level + 1 < model.num_units:
            w = model.share_logits[level].softmax(0)
            s = sum(w[k] * xs[k] for k in range(3))
        if level == model.tap_units[0]:
            low = list(xs)
    with torch.no_grad():
        feats = model.extract_task_feats(x)
    for k, t in enumerate(TASKS):
        assert torch.allclose(feats[t][0], low[k], atol=1e-6)
        assert torch.allclose(feats[t][1], xs[k], atol=1e-6)


# ----------------------------------------------------------------------
# MACs and pruning
# ----------------------------------------------------------------------
@pytest.mark.parametrize('name', list(BACKBONES))
def test_pruning_equal_outputs_and_macs(name):
    """On random gate patterns: the pruned model's outputs equal the
    hard-gated model's, its fvcore MACs equal the analytic ones, and the
    differentiable estimate equals them at hard gates."""
    model = gated(name)
    x = images()
    for seed in range(4):
        pattern = random_pattern(model, seed)
        model.set_gate_pattern(pattern)
        with torch.no_grad():
            ref = model._forward(x)
        pruned = GatePruner()(model)
        assert not any(isinstance(m, (DynamicConv2d, DynamicBatchNorm2d))
                       for m in pruned.modules())
        with torch.no_grad():
            out = pruned._forward(x)
        for t in TASKS:
            assert (out[t] - ref[t]).abs().max() <= 1e-5
        exact = model.pattern_macs(pattern, SHAPE)
        assert count_macs(pruned, SHAPE) == exact
        estimate = model.expected_macs(list(model.gate_logits), SHAPE)
        assert float(estimate.detach()) == exact
        assert pruned.gate_pattern() == pattern


def test_bounds_and_removed_units():
    model = gated('mbv2_units')
    low, high = model.macs_bounds(SHAPE)
    shared = GatePattern(model.tasks, [torch.zeros(3, c, dtype=torch.bool)
                                       for c in model.channels])
    special = GatePattern(model.tasks, [torch.ones(3, c, dtype=torch.bool)
                                        for c in model.channels])
    model.set_gate_pattern(shared)
    pruned = GatePruner()(model)
    assert all(u is None for t in TASKS for u in pruned.task_units[t])
    assert count_macs(pruned, SHAPE) == low
    model.set_gate_pattern(special)
    pruned = GatePruner()(model)
    assert all(u is None for u in pruned.shared_units)
    assert count_macs(pruned, SHAPE) == high
    branch = model.branch_macs(special, SHAPE)
    assert branch['shared'] == 0 and sum(branch.values()) == high


def test_pattern_roundtrip_and_errors():
    model = gated('mbv2_units')
    pattern = random_pattern(model, 3)
    data = json.loads(json.dumps(pattern.to_dict()))
    assert GatePattern.from_dict(data, model.channels) == pattern
    with pytest.raises(ValueError, match='units'):
        GatePattern.from_dict({t: v[:-1] for t, v in data.items()},
                              model.channels)
    with pytest.raises(ValueError, match='beyond'):
        GatePattern.from_dict(dict(data, semseg=['f' * 40] * len(
            model.channels)), model.channels)
    other = GatePattern(['a', 'b', 'c'], pattern.masks)
    with pytest.raises(ValueError, match='tasks'):
        model.set_gate_pattern(other)


def test_dynamic_ops_channel_index():
    conv = DynamicConv2d(6, 10, 3, padding=1)
    bn = DynamicBatchNorm2d(10).eval()
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 6, 5, 5)
    index = torch.tensor([7, 2, 5])
    full = bn(conv(x))
    conv.set_out_index(index)
    bn.set_index(index)
    assert torch.allclose(bn(conv(x)), full[:, index], atol=1e-6)
    plain = torch.nn.Sequential(conv.export(6), bn.export(3)).eval()
    assert torch.allclose(plain(x), full[:, index], atol=1e-6)
    with pytest.raises(ValueError, match=r'outside \[0, 9\]'):
        conv.set_out_index([3, 10])
    with pytest.raises(ValueError, match='repeats'):
        bn.set_index([1, 1])
    with pytest.raises(RuntimeError, match='eval mode only'):
        bn.train()(torch.randn(2, 3, 4, 4))


# ----------------------------------------------------------------------
# loading by key
# ----------------------------------------------------------------------
def test_loads_single_and_multi_task_checkpoints_by_key(tmp_path):
    backbone, channels, c1, units = BACKBONES['mbv2_units']
    torch.manual_seed(1)
    paths = {}
    for t in TASKS:
        stl = MODELS.build(dict(type='MultiTaskEncoderDecoder',
                                backbone=backbone,
                                tasks={t: tasks_cfg(channels, c1)[t]}))
        paths[t] = str(tmp_path / f'{t}.pth')
        torch.save(dict(state_dict=stl.state_dict()), paths[t])
    mtl = MODELS.build(dict(type='MultiTaskEncoderDecoder', backbone=backbone,
                            tasks=tasks_cfg(channels, c1)))
    paths['shared'] = str(tmp_path / 'mtl.pth')
    torch.save(dict(state_dict=mtl.state_dict()), paths['shared'])

    model = gated('mbv2_units', task_checkpoints={t: paths[t] for t in TASKS},
                  shared_checkpoint=paths['shared'])
    model.init_weights()
    mtl_state = torch.load(paths['shared'])['state_dict']
    for key, source in model.unit_source_keys.items():
        assert torch.equal(model.shared_units.state_dict()[key],
                           mtl_state[f'backbone.{source}'])
    for t in TASKS:
        state = torch.load(paths[t])['state_dict']
        for key, source in model.unit_source_keys.items():
            assert torch.equal(model.task_units[t].state_dict()[key],
                               state[f'backbone.{source}'])
        for key, value in model.heads[t].state_dict().items():
            assert torch.equal(value, state[f'heads.{t}.{key}'])
    # a checkpoint of another backbone is refused, naming the file
    other = MODELS.build(dict(type='MultiTaskEncoderDecoder',
                              backbone=dict(backbone, widen_factor=0.5),
                              tasks=tasks_cfg((16, 160), c1)))
    bad = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=other.state_dict()), bad)
    wrong = gated('mbv2_units', shared_checkpoint=bad)
    with pytest.raises(CheckpointError, match='other.pth'):
        wrong.init_weights()
    with pytest.raises(KeyError, match='unknown tasks'):
        gated('mbv2_units', task_checkpoints={'edge': paths['semseg']})


# ----------------------------------------------------------------------
# the regulariser
# ----------------------------------------------------------------------
def test_sparsity_regularizer_rate_mode_by_hand():
    reg = MODELS.build(dict(type='SparsityRegularizer', mode='rate',
                            rate=dict(semseg=0.5, depth=0.2, normals=1.0),
                            loss_weight=2.0))

    class Stub:
        tasks = list(TASKS)

    gates = [torch.tensor([[1., 1.], [0., 1.], [1., 1.]]),
             torch.tensor([[1., 0., 0., 0.], [0., 0., 0., 0.],
                           [1., 1., 1., 1.]])]
    # rates: semseg 3/6, depth 1/6, normals 1 -> hinge 0 + 0 + 0
    assert float(reg(Stub(), gates)['loss_sparsity']) == 0.0
    gates[0][1] = 1.0  # depth 2/6 -> 2 * (1/3 - 0.2)
    assert float(reg(Stub(), gates)['loss_sparsity']) == pytest.approx(
        2 * (1 / 3 - 0.2))
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        MODELS.build(dict(type='SparsityRegularizer', mode='rate', rate=1.5))
    with pytest.raises(ValueError, match='needs a budget'):
        MODELS.build(dict(type='SparsityRegularizer', mode='macs'))


def fit_gates(model, regularizer, lr, steps=60):
    """Train the gate logits on the regulariser alone; the exact MACs of
    the resulting pruned model."""
    opt = torch.optim.Adam(model.gate_logits.parameters(), lr=lr)
    for _ in range(steps):
        loss = regularizer(model, model.gates())['loss_sparsity']
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.pattern_macs(model.gate_pattern(), SHAPE)


def test_macs_hinge_moves_the_estimate_to_the_budget():
    """Gate logits trained on the hinge alone: the estimate starts above
    the budget and ends at or below it; a budget outside the model's range
    is refused with the range."""
    model = gated('mbv2_units', gate_init=0.9).train()
    model.hard_gates = 1.0
    low, high = model.macs_bounds(SHAPE)
    budget = int(low + 0.4 * (high - low))
    reg = MODELS.build(dict(type='SparsityRegularizer', mode='macs',
                            budget=budget, input_shape=SHAPE))
    start = float(model.expected_macs(list(model.gate_logits), SHAPE))
    assert start == high
    end = fit_gates(model, reg, lr=0.1)
    assert end <= budget < start
    assert end >= low
    # with a lower margin, a model below the band is pushed up into it
    model = gated('mbv2_units', gate_init=0.1).train()
    model.hard_gates = 1.0
    with torch.no_grad():  # channels that differ (a task loss's role)
        for logits in model.gate_logits:
            logits.add_(torch.randn(logits.shape,
                                    generator=torch.Generator().manual_seed(
                                        logits.numel())))
        for logits in model.gate_logits:
            logits.clamp_(max=-0.01)
    reg = MODELS.build(dict(type='SparsityRegularizer', mode='macs',
                            budget=budget, input_shape=SHAPE,
                            lower_margin=0.1))
    assert model.pattern_macs(model.gate_pattern(), SHAPE) == low
    end = fit_gates(model, reg, lr=0.02)
    assert 0.9 * budget <= end <= budget
    with pytest.raises(ValueError, match='lower_margin'):
        MODELS.build(dict(type='SparsityRegularizer', mode='rate', rate=0.5,
                          lower_margin=0.1))
    for text in (f'{low - 1}', f'{high + 1}'):
        reg = MODELS.build(dict(type='SparsityRegularizer', mode='macs',
                                budget=int(text), input_shape=SHAPE))
        with pytest.raises(ValueError, match='fully shared'):
            reg(model, model.gates())


# ----------------------------------------------------------------------
# the family on the deployment contract
# ----------------------------------------------------------------------
@pytest.fixture(scope='module')
def family_checkpoints(cfg, tmp_path_factory):
    """Three tiny gated models: fully shared, specialised up to unit 9,
    fully specialised."""
    root = tmp_path_factory.mktemp('ig_family')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    paths = []
    for i, specialised in enumerate((0, 9, model.num_units)):
        # units below `specialised` task-specific, the rest shared
        model.set_gate_pattern(GatePattern(model.tasks, [
            torch.full((3, c), level < specialised)
            for level, c in enumerate(model.channels)]))
        path = str(root / f'member{i}.pth')
        torch.save(dict(state_dict=model.state_dict()), path)
        paths.append(path)
    return paths


def test_family_plan_and_errors(cfg, family_checkpoints, tmp_path):
    cfg = cfg.copy()
    cfg.work_dir = str(tmp_path)
    family = build_deployer(cfg, family_checkpoints)
    assert isinstance(family, InterroGateFamily)
    macs = family.member_macs
    assert macs[0] < macs[1] < macs[2]
    assert family.macs_range() == (macs[0], macs[2])
    # scores given: the best weighted member within the budget
    family._scores = np.array([[0.0, 0.0, 0.0], [1.0, 0.3, 0.5],
                               [0.2, 1.0, 1.0]])
    semseg = dict(semseg=1.0, depth=0.0, normals=0.0)
    depth = dict(semseg=0.0, depth=1.0, normals=0.0)
    assert family.plan(semseg, macs[2]).spec.arch == dict(member=1)
    assert family.plan(depth, macs[2]).spec.arch == dict(member=2)
    assert family.plan(depth, macs[2] - 1).spec.arch == dict(member=1)
    assert family.plan(depth, macs[0]).spec.arch == dict(member=0)
    plan = family.plan(semseg, macs[2] * 2)
    assert plan.above_range and plan.spec.arch == dict(member=1)
    with pytest.raises(InfeasibleBudget, match='member'):
        family.plan(semseg, macs[0] - 1)
    with pytest.raises(ValueError, match='sums to 0.9'):
        family.plan(dict(semseg=0.5, depth=0.2, normals=0.2), macs[2])
    # a checkpoint of another model is refused, naming the file
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=gated('mbv2_units').state_dict()), other)
    with pytest.raises(CheckpointError, match='other.pth'):
        build_deployer(cfg, [other])


def test_family_scores_export_and_static_config(cfg, family_checkpoints,
                                                tiny_synth_root, tmp_path):
    cfg = cfg.copy()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = tiny_synth_root
    cfg.work_dir = str(tmp_path)
    family = build_deployer(cfg, family_checkpoints[1:])
    scores = family.member_scores()  # measured on the held-out split
    assert scores.shape == (2, 3) and scores.min() >= 0 and scores.max() <= 1
    assert any(p.name.startswith('family_') for p in tmp_path.iterdir())
    plan = family.plan(dict(semseg=0.2, depth=0.4, normals=0.4), '1.0x')
    meta = write_export(family, plan.spec, str(tmp_path / 'export'))
    assert meta['macs'] == plan.macs
    static_cfg = Config.fromfile(str(tmp_path / 'export' /
                                     'static_config.py'))
    rebuilt = MODELS.build(static_cfg.model)
    state = torch.load(str(tmp_path / 'export' / 'static_model.pth'),
                       weights_only=False)['state_dict']
    rebuilt.load_state_dict(state, strict=True)
    x = images()
    with torch.no_grad():
        ref = family.prepare(plan.spec)._forward(x)
        out = rebuilt.eval()._forward(x)
    for t in TASKS:
        assert torch.allclose(out[t], ref[t], atol=1e-6)


# ----------------------------------------------------------------------
# the tools, end to end
# ----------------------------------------------------------------------
def test_torchrun_train_deploy_and_test(tiny_synth_root, tmp_path):
    data = tiny_data_options(tiny_synth_root)
    work = str(tmp_path / 'train')
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29531', 'tools/train.py', IG_TINY, '--launcher',
        'pytorch', '--work-dir', work, '--cfg-options', *data])
    log = proc.stdout + proc.stderr
    assert 'loss_sparsity' in log and 'hard_gates' in log
    ckpt = osp.join(work, 'iter_4.pth')
    out = tmp_path / 'deploy'
    run_tool(['tools/deploy.py', IG_TINY, ckpt, '--preference',
              'semseg=0.5,depth=0.3,normals=0.2', '--budget', '1.0x',
              '--out-dir', str(out), '--onnx', '--work-dir',
              str(tmp_path / 'dw'), '--cfg-options', *data])
    result = json.loads((out / 'deploy_result.json').read_text())
    assert result['spec']['method'] == 'InterroGate'
    assert result['spec']['arch'] == dict(member=0)
    assert (out / 'export' / 'model.onnx').is_file()
    proc = run_tool(['tools/test.py', str(out / 'export' /
                                          'static_config.py'),
                     str(out / 'export' / 'static_model.pth'),
                     '--cfg-options', *data])
    assert 'semseg/mIoU' in proc.stdout + proc.stderr
    # the gate pattern figure and the MACs per branch
    gates = tmp_path / 'gates'
    proc = run_tool(['tools/analysis_tools/interrogate_gates.py', IG_TINY,
                     '--checkpoints', ckpt, '--out-dir', str(gates),
                     '--measure', '--stl-reference',
                     'semseg=0.2,depth=1.0,normals=30', '--cfg-options',
                     *data])
    result = json.loads((gates / 'gates.json').read_text())['models'][0]
    assert result['macs'] == sum(result['branch_macs'].values())
    assert set(result['primary']) == set(TASKS)
    assert result['metrics']['delta_m'] == pytest.approx(100 / 3 * (
        (result['primary']['semseg'] - 0.2) / 0.2
        - (result['primary']['depth'] - 1.0) / 1.0
        - (result['primary']['normals'] - 30) / 30), abs=1e-6)
    assert (gates / 'gate_patterns.png').is_file()
    table = (gates / 'gates.md').read_text()
    assert '| model | budget (M) |' in table and 'Delta_m (%)' in table
    bad = run_tool(['tools/analysis_tools/interrogate_gates.py', IG_TINY,
                    '--checkpoints', ckpt, ckpt], check=False)
    assert bad.returncode == 2 and '1 configs but 2 checkpoints' in bad.stderr
