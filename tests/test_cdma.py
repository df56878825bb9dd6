"""CDMA: tree execution, MACs == fvcore, export equality, the budget-to-c
mapping of the deployer, the Gumbel temperature schedule, and the
tools end to end (2-process torchrun stage 1, stage 2, deploy, test)."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool, tiny_data_options
from mmecmt.deploy import CDMADeployer, build_deployer
from mmecmt.engine.hooks import ScheduledValueHook
from mmecmt.models.tree import BranchingTree, run_relaxed
from mmecmt.registry import MODELS
from mmecmt.structures.arch_spec import ArchSpec
from mmecmt.structures.request import InfeasibleBudget
from mmecmt.utils import register_all_modules
from mmecmt.utils.checkpoint import CheckpointError, read_state_dict
from mmecmt.utils.flops import count_macs

register_all_modules()
pytestmark = pytest.mark.usefixtures('one_thread')

CDMA_TINY = osp.join(REPO, 'configs', 'cdma', 'synthscenes_mbv2_tiny.py')
SHAPE = (48, 64)


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(CDMA_TINY)


@pytest.fixture(scope='module')
def net(cfg):
    """The tiny CDMANet (random streams) with non-zero BN changes."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).architecture
    model.anchor.init_weights()
    with torch.no_grad():
        model.weight_hypernet.out.bias.normal_(0, 0.2)
        for m in model.anchor.modules():  # non-trivial BN statistics
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def images(n=2, seed=0):
    return torch.randn(n, 3, *SHAPE,
                       generator=torch.Generator().manual_seed(seed))


def hand_built(net, tree, x, deltas=None):
    """Each task's path run node by node on its own (no sharing)."""
    anchor = net.anchor
    out = {}
    for t, task in enumerate(net.tasks):
        path = tree.path(t)
        h, taps = x, {}
        for level, node in enumerate(path):
            module = copy.deepcopy(anchor.node(level, node))
            for name, (dg, db) in ((deltas or {}).get((level, node))
                                   or {}).items():
                bn = module.get_submodule(name)
                bn.weight.data += dg
                bn.bias.data += db
            h = module(h)
            taps[level] = h
        feats = tuple(taps[lv] for lv in anchor.tap_levels)
        out[task] = anchor.decode(t, feats, x.shape[-2:])
    return out


TREES = {
    'full': BranchingTree.full(3, 7),
    'shared': BranchingTree.shared(3, 7, root=1),
    'mixed': BranchingTree([[0, 0, 0], [1, 1, 1], [1, 1, 2], [2, 1, 2],
                            [0, 1, 2], [2, 2, 0], [0, 1, 2]]),
}


@pytest.mark.parametrize('name', sorted(TREES))
def test_tree_execution_equals_hand_built_network(net, name):
    tree = TREES[name]
    x = images()
    deltas = net.bn_deltas(None, 0.5)
    with torch.no_grad():
        expected = hand_built(net, tree, x, deltas)
        net.set_tree(tree, deltas)
        got = net._forward(x)
        edges = torch.nn.functional.one_hot(torch.tensor(tree.parents),
                                            3).float()
        relaxed = net.relaxed_forward(x, edges, deltas)
    for task in net.tasks:
        assert torch.allclose(got[task], expected[task], atol=1e-6), task
        assert torch.allclose(relaxed[task], expected[task], atol=1e-6)


def test_tree_structure():
    tree = TREES['mixed']
    # worked by hand from the parents above (node levels 0..7)
    assert tree.path(0) == [0, 1, 2, 2, 2, 2, 0, 0]
    assert tree.path(1) == [0, 1, 2, 2, 2, 2, 1, 1]
    assert tree.path(2) == [0, 1, 2, 2, 0, 0, 2, 2]
    assert [sorted(u) for u in tree.used_nodes()] == \
        [[0], [1], [2], [2], [0, 2], [0, 2], [0, 1, 2], [0, 1, 2]]
    assert tree.num_used_nodes() == 14
    assert [tree.branch_level(t) for t in range(3)] == [6, 6, 4]
    assert tree.own_stream_levels(0) == 3
    assert TREES['full'].branch_level(0) == 0
    assert TREES['shared'].branch_level(2) == 7
    assert TREES['full'].own_stream_levels(1) == 8
    with pytest.raises(ValueError, match='not a stream index'):
        BranchingTree([[0, 3, 0]])
    with pytest.raises(ValueError, match='one per stream'):
        BranchingTree([[0, 1, 2], [0, 1]])
    with pytest.raises(ValueError, match='this anchor net has'):
        BranchingTree.from_list([[0, 1, 2]], 3, 7)


def test_relaxed_forward_reaches_the_edge_logits(net):
    logits = net.edge_logits(None, 0.3).detach().requires_grad_(True)
    edges = torch.nn.functional.gumbel_softmax(logits, tau=1.0, hard=True)
    out = net.relaxed_forward(images(), edges)
    sum(v.square().mean() for v in out.values()).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.anchor.parameters())


def test_macs_equal_fvcore_on_the_export(net):
    rng = np.random.default_rng(0)
    trees = [BranchingTree.full(3, 7), BranchingTree.shared(3, 7)] + [
        BranchingTree.random(3, 7, rng) for _ in range(20)]
    seen = set()
    for tree in trees:
        static = _export(net, tree)
        assert count_macs(static, SHAPE) == \
            net.anchor.tree_macs(tree, SHAPE), tree.parents
        seen.add(net.anchor.tree_macs(tree, SHAPE))
    assert len(seen) > 5
    low, high = net.anchor.macs_bounds(SHAPE)
    assert low == net.anchor.tree_macs(BranchingTree.shared(3, 7), SHAPE)
    assert high == net.anchor.tree_macs(BranchingTree.full(3, 7), SHAPE)


def _export(net, tree, deltas=None):
    return MODELS.build(dict(type='TreeMultiTaskNet', anchor=net.anchor,
                             tree=tree, bn_deltas=deltas)).eval()


def test_export_equals_the_dynamic_tree_with_bn_changes(net):
    x = images(seed=1)
    deltas = net.bn_deltas({'semseg': 0.5, 'depth': 0.3, 'normals': 0.2},
                           0.8)
    for tree in TREES.values():
        static = _export(net, tree, deltas)
        net.set_tree(tree, deltas)
        with torch.no_grad():
            dynamic = net._forward(x)
            exported = static._forward(x)
            net.set_tree(tree, None)
            unchanged = net._forward(x)
        for task in net.tasks:
            assert (exported[task] - dynamic[task]).abs().max() <= 1e-5
        # the BN changes matter: the export is not the plain anchor's tree
        assert any((unchanged[t] - dynamic[t]).abs().max() > 1e-3
                   for t in net.tasks)
        assert not any('bn' in k and 'delta' in k
                       for k in static.state_dict())


def test_gumbel_temperature_schedule_of_the_config(cfg):
    from mmengine.config import Config as C
    full = C.fromfile(osp.join(REPO, 'configs', 'cdma', 'synthscenes_mbv2.py'))
    hook_cfg = [h for h in full.custom_hooks
                if h['type'] == 'ScheduledValueHook'][0]
    hook = ScheduledValueHook(**{k: v for k, v in hook_cfg.items()
                                 if k != 'type'})
    steps = full.max_iters // 100
    assert hook.name == 'temperature'
    assert hook.value_at(0) == 5.0
    assert hook.value_at(steps) == pytest.approx(5.0 * 0.97)
    assert hook.value_at(full.max_iters - 1) == pytest.approx(
        5.0 * 0.97**99)
    # the hook sets the algorithm's temperature, which the step uses
    algo = MODELS.build(cfg.model)
    from types import SimpleNamespace
    runner = SimpleNamespace(model=algo, iter=steps * 3,
                             message_hub=__import__(
                                 'mmengine').logging.MessageHub.
                             get_current_instance())
    hook.before_train_iter(runner, batch_idx=0)
    assert algo.temperature == pytest.approx(5.0 * 0.97**3)


# ----------------------------------------------------------------------
# the deployer: budget -> c
# ----------------------------------------------------------------------
@pytest.fixture(scope='module')
def deployer(cfg, net, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('cdma_ckpt') / 'cdma.pth')
    torch.save(dict(state_dict=net.state_dict()), path)
    cfg = cfg.copy()
    cfg.work_dir = osp.dirname(path)
    d = build_deployer(cfg, [path], cost_grid=11)
    assert isinstance(d, CDMADeployer)
    return d


MID = BranchingTree([[0, 0, 0], [0, 0, 0], [0, 1, 1], [0, 1, 2],
                     [0, 1, 2], [0, 1, 2], [0, 1, 2]])


def fake_controller(frugal: bool):
    """A controller whose tree is full for c < 0.3, MID for c < 0.7 and
    the shared tree above (``frugal``; else full for every c)."""
    def most_likely_tree(preference, cost):
        if not frugal or cost < 0.3:
            return BranchingTree.full(3, 7)
        return MID if cost < 0.7 else BranchingTree.shared(3, 7)
    return most_likely_tree


def test_plan_maps_the_budget_to_c(deployer, monkeypatch):
    monkeypatch.setattr(deployer.model, 'most_likely_tree',
                        fake_controller(True))
    deployer._trees.clear()
    macs = {name: deployer.tree_macs(t) for name, t in
            dict(full=BranchingTree.full(3, 7), mid=MID,
                 shared=BranchingTree.shared(3, 7)).items()}
    assert macs['shared'] < macs['mid'] < macs['full']
    pref = dict(semseg=0.6, depth=0.3, normals=0.1)
    cases = [(macs['full'], 0.0, 'full'), (macs['full'] - 1, 0.3, 'mid'),
             (macs['mid'], 0.3, 'mid'), (macs['mid'] - 1, 0.7, 'shared'),
             (macs['shared'], 0.7, 'shared')]
    for budget, cost, name in cases:
        plan = deployer.plan(pref, budget)
        assert plan.info['cost'] == pytest.approx(cost), budget
        assert plan.macs == macs[name] and plan.macs <= budget
        assert plan.spec.arch['preference'] == [0.6, 0.3, 0.1]
    with pytest.raises(InfeasibleBudget, match='feasible range'):
        deployer.plan(pref, macs['shared'] - 1)
    # above the range: the largest tree, said so
    plan = deployer.plan(pref, macs['full'] * 2)
    assert plan.above_range and plan.macs == macs['full']


def test_infeasible_for_a_preference_names_its_range(deployer, monkeypatch):
    monkeypatch.setattr(deployer.model, 'most_likely_tree',
                        fake_controller(False))
    deployer._trees.clear()
    full = deployer.tree_macs(BranchingTree.full(3, 7))
    low, _ = deployer.macs_range()
    assert low < full - 1  # feasible for the method, not for this request
    with pytest.raises(InfeasibleBudget, match='for preference'):
        deployer.plan([0.2, 0.4, 0.4], full - 1)
    deployer._trees.clear()


def test_saved_spec_reexports_the_same_model(deployer, tmp_path):
    deployer._trees.clear()
    plan = deployer.plan([0.5, 0.25, 0.25], '1.0x')
    path = tmp_path / 'spec.json'
    path.write_text(json.dumps(plan.spec.to_dict()))
    spec = ArchSpec.from_dict(json.loads(path.read_text()))
    first = deployer.export(plan.spec).state_dict()
    again = deployer.export(spec).state_dict()
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert deployer.macs(spec) == plan.macs
    with pytest.raises(ValueError, match='keys tree, cost'):
        deployer.macs(deployer.spec(dict(tree=spec.arch['tree'], c=0.1)))
    with pytest.raises(ValueError, match='outside'):
        deployer.export(deployer.spec(dict(spec.arch, cost=1.5)))


# ----------------------------------------------------------------------
# the tools, end to end
# ----------------------------------------------------------------------
def test_stage1_torchrun_stage2_deploy_and_test(tiny_synth_root, tmp_path):
    data = tiny_data_options(tiny_synth_root)
    stage1 = str(tmp_path / 'stage1')
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29527', 'tools/train.py', CDMA_TINY, '--launcher',
        'pytorch', '--work-dir', stage1, '--cfg-options', *data])
    log = proc.stdout + proc.stderr
    assert 'loss_branch_active' in log and 'temperature' in log
    assert osp.isfile(osp.join(stage1, 'task_affinity.json'))
    assert osp.isfile(osp.join(stage1, 'task_affinity.png'))
    ckpt1 = osp.join(stage1, 'iter_4.pth')
    stage2 = str(tmp_path / 'stage2')
    run_tool(['tools/train.py', CDMA_TINY, '--work-dir', stage2,
              '--cfg-options', 'model.stage=2', f'load_from={ckpt1}',
              'custom_hooks=[]', *data])
    ckpt2 = osp.join(stage2, 'iter_4.pth')
    s1, s2 = read_state_dict(ckpt1), read_state_dict(ckpt2)
    edge = [k for k in s1 if '.edge_hypernet.' in k]
    weight = [k for k in s1 if '.weight_hypernet.' in k]
    anchor = [k for k in s1 if '.anchor.' in k]
    assert all(torch.equal(s1[k], s2[k]) for k in edge + anchor)
    assert any(not torch.equal(s1[k], s2[k]) for k in weight)

    out = tmp_path / 'deploy'
    proc = run_tool(['tools/deploy.py', CDMA_TINY, ckpt2, '--preference',
                     'semseg=0.5,depth=0.3,normals=0.2', '--budget', '1.0x',
                     '--out-dir', str(out), '--onnx', '--work-dir',
                     str(tmp_path / 'dw'), '--cfg-options', *data])
    result = json.loads((out / 'deploy_result.json').read_text())
    assert result['spec']['method'] == 'CDMA'
    assert set(result['spec']['arch']) == {'tree', 'cost', 'preference', 'bn'}
    assert (out / 'export' / 'model.onnx').is_file()
    proc = run_tool(['tools/test.py', str(out / 'export' /
                                          'static_config.py'),
                     str(out / 'export' / 'static_model.pth'),
                     '--cfg-options', *data])
    assert 'semseg/mIoU' in proc.stdout + proc.stderr
    # the controller's answers over preferences and c
    ctrl = tmp_path / 'controller'
    proc = run_tool(['tools/analysis_tools/cdma_controller.py', CDMA_TINY,
                     ckpt2, '--num-preferences', '2', '--costs', '3',
                     '--out-dir', str(ctrl), '--cfg-options', *data])
    result = json.loads((ctrl / 'cdma_controller.json').read_text())
    assert len(result['preferences']) == 2 + 3 + 1
    assert len(result['mean_macs']) == 3
    assert (ctrl / 'cdma_controller.png').is_file()
    assert 'Spearman(c, mean MACs)' in proc.stdout
    # a checkpoint of another model is refused, naming the file
    bad = run_tool(['tools/deploy.py', CDMA_TINY, ckpt1.replace(
        'iter_4', 'task_affinity').replace('.pth', '.json'), '--preference',
        'semseg=0.5,depth=0.3,normals=0.2', '--budget', '1.0x'], check=False)
    assert bad.returncode == 2 and 'task_affinity.json' in bad.stderr


def test_checkpoint_of_another_model_is_refused(cfg, tmp_path):
    other = MODELS.build(dict(cfg.model.architecture.anchor.streams.semseg
                              .model))
    path = str(tmp_path / 'stl.pth')
    torch.save(dict(state_dict=other.state_dict()), path)
    with pytest.raises(CheckpointError, match='stl.pth'):
        build_deployer(cfg, [path])


@pytest.mark.parametrize('blocks', ['stages', 'units'])
def test_full_tree_is_each_single_task_model(cfg, blocks):
    """The full anchor net reproduces every stream's own single-task model,
    whatever the cut (stages, or residual units)."""
    anchor_cfg = copy.deepcopy(cfg.model.architecture.anchor)
    anchor_cfg['blocks'] = blocks
    torch.manual_seed(1)
    anchor = MODELS.build(anchor_cfg)
    assert anchor.num_levels == {'stages': 7, 'units': 17}[blocks]
    x = images()
    full = BranchingTree.full(anchor.num_streams, anchor.num_levels)
    with torch.no_grad():
        feats = anchor.forward_tree(x, full)
        for k, task in enumerate(anchor.tasks):
            own = anchor.streams[k]._forward(x)[task]
            got = anchor.decode(k, feats[k], x.shape[-2:])
            assert torch.equal(own, got), (blocks, task)


def test_anchor_errors(cfg):
    streams = copy.deepcopy(cfg.model.architecture.anchor.streams)
    with pytest.raises(ValueError, match='single-task model of task'):
        MODELS.build(dict(type='AnchorNet', streams=dict(
            depth=streams['semseg'])))
    with pytest.raises(KeyError, match='exactly one of'):
        MODELS.build(dict(type='AnchorNet', streams=dict(
            semseg=dict(checkpoint=None))))
    with pytest.raises(ValueError, match='unknown block granularity'):
        MODELS.build(dict(type='AnchorNet', streams=streams,
                          blocks='layers'))
    wide = copy.deepcopy(streams)
    wide['depth']['model']['backbone']['widen_factor'] = 1.0
    with pytest.raises(ValueError, match='the streams differ'):
        MODELS.build(dict(type='AnchorNet', streams=wide))
