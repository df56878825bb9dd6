"""Training algorithm vs architecture: BaseAlgorithm's delegation and
default step, architecture_of, SandwichAlgorithm's step against the numbers
of the pre-split supernet, and checkpoints of an algorithm loaded into the
bare architecture."""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.runner import load_checkpoint, save_checkpoint
from torch import nn

from mmecmt.models.algorithms import (BaseAlgorithm, SandwichAlgorithm,
                                      algorithm_of, architecture_of)
from mmecmt.models.architectures import (SlimMultiTaskEncoderDecoder,
                                         unwrap_model)
from mmecmt.utils import register_all_modules
from mmecmt.utils.checkpoint import CheckpointError, load_trained
from test_sandwich import arch_cfg, build_arch, build_model, make_batch

register_all_modules()

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))

pytestmark = pytest.mark.usefixtures('one_thread')


def set_iteration(i):
    MessageHub.get_current_instance().update_info('iter', i)


# ----------------------------------------------------------------------
# architecture_of and delegation
# ----------------------------------------------------------------------
def test_architecture_of_unwraps_wrappers_and_algorithms():
    algorithm = build_model()
    arch = algorithm.architecture
    assert isinstance(arch, SlimMultiTaskEncoderDecoder)
    assert architecture_of(arch) is arch
    assert architecture_of(algorithm) is arch
    wrapped = nn.DataParallel(algorithm)  # a registered model wrapper
    assert architecture_of(wrapped) is arch
    assert architecture_of(nn.DataParallel(arch)) is arch
    assert algorithm_of(wrapped) is algorithm
    assert algorithm_of(arch) is arch
    # nested algorithms, and the older name
    outer = BaseAlgorithm(algorithm)
    assert architecture_of(nn.DataParallel(outer)) is arch
    assert unwrap_model(wrapped) is arch
    linear = nn.Linear(1, 1)
    assert architecture_of(linear) is linear


def test_base_algorithm_delegates_to_its_architecture():
    algorithm = BaseAlgorithm(arch_cfg())
    arch = algorithm.architecture
    assert algorithm.data_preprocessor is arch.data_preprocessor
    assert algorithm.tasks == arch.tasks == ['semseg', 'depth']
    assert algorithm.task_specs is arch.task_specs
    assert algorithm.search_space is arch.search_space
    assert algorithm.max_subnet == arch.max_subnet
    algorithm.set_subnet('min')
    assert arch.subnet == algorithm.subnet == algorithm.min_subnet
    # the checkpoint is the architecture's, under `architecture.`
    keys = list(algorithm.state_dict())
    assert keys == [f'architecture.{k}' for k in arch.state_dict()]
    # val / test / predict: the architecture's
    algorithm.eval()
    batch = make_batch()
    with torch.no_grad():
        got = algorithm.val_step(batch)
        expected = arch.val_step(batch)
        assert torch.equal(got[0].pred_depth.data,
                           expected[0].pred_depth.data)
        got = algorithm.test_step(batch)
        assert torch.equal(got[1].pred_semseg.data,
                           expected[1].pred_semseg.data)
        data = algorithm.data_preprocessor(batch, False)
        tensors = algorithm(**data, mode='tensor')
        assert torch.equal(tensors['depth'], arch._forward(data['inputs'])
                           ['depth'])


def test_base_algorithm_data_preprocessor_is_a_default_for_the_arch():
    # the Runner passes the config's data_preprocessor to the algorithm
    cfg = arch_cfg()
    del cfg['data_preprocessor']
    given = dict(type='MultiTaskDataPreProcessor', mean=[1., 2., 3.],
                 std=[2., 2., 2.])
    algorithm = BaseAlgorithm(cfg, data_preprocessor=given)
    assert algorithm.data_preprocessor is \
        algorithm.architecture.data_preprocessor
    assert algorithm.data_preprocessor.mean.flatten().tolist() == \
        [1., 2., 3.]
    # the architecture's own wins when it has one
    algorithm = BaseAlgorithm(arch_cfg(), data_preprocessor=given)
    assert algorithm.data_preprocessor.mean.flatten().tolist() == \
        pytest.approx([123.675, 116.28, 103.53])
    with pytest.raises(ValueError, match='brings its own data_preprocessor'):
        BaseAlgorithm(build_arch(), data_preprocessor=given)
    with pytest.raises(TypeError, match='got Linear'):
        BaseAlgorithm(nn.Linear(1, 1))


def test_base_algorithm_default_step_is_the_architectures():
    """BaseAlgorithm.train_step = mmengine's step of the architecture as it
    is (the active subnet only)."""
    algorithm = BaseAlgorithm(build_arch())
    arch = copy.deepcopy(algorithm.architecture)
    algorithm.set_subnet('min')
    arch.set_subnet('min')
    logs = []
    for model in (algorithm, arch):
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        logs.append(model.train_step(make_batch(), optim))
    assert list(logs[0]) == list(logs[1]) == \
        ['loss', 'loss_semseg', 'loss_depth']
    for key in logs[0]:
        assert logs[0][key].item() == logs[1][key].item(), key
    for (name, p), q in zip(algorithm.architecture.named_parameters(),
                            arch.parameters()):
        assert torch.equal(p, q), name


# ----------------------------------------------------------------------
# SandwichAlgorithm
# ----------------------------------------------------------------------
#: log vars of one step at iteration 3 of the seeded toy supernet (seed 0,
#: 2 random members, CI-KD mse, SGD lr 0.1), measured with the supernet of
#: before the algorithm split (the step inside SlimMultiTaskEncoderDecoder).
PRE_SPLIT_LOG = {
    'loss': 8.801633834838867, 'loss_cikd': 0.25798797607421875,
    'max.loss_semseg': 1.175065279006958,
    'max.loss_depth': 0.9350454211235046, 'max.loss_cikd': 0.0,
    'min.loss_semseg': 1.1236190795898438,
    'min.loss_depth': 1.0204646587371826,
    'min.loss_cikd': 0.25798797607421875,
    'rand0.loss_semseg': 1.175065279006958,
    'rand0.loss_depth': 0.9350454211235046, 'rand0.loss_cikd': 0.0,
    'rand1.loss_semseg': 1.1532260179519653,
    'rand1.loss_depth': 1.0261149406433105, 'rand1.loss_cikd': 0.0,
}
#: parameter sums after that step (same run).
PRE_SPLIT_PARAM_SUMS = {
    'backbone.stem.0.weight': -2.0053318,
    'backbone.stage1.0.weight': 0.3238708,
    'heads.semseg.conv.weight': 0.2814326,
    'heads.semseg.conv_out.bias': 0.3573952,
    'heads.depth.conv_out.weight': 0.8314345,
}


def test_sandwich_step_equals_the_pre_split_supernet():
    model = build_model()
    members = model.sampler.sample(3)
    assert [n for n, _ in members] == ['max', 'min', 'rand0', 'rand1']
    assert members[3][1] not in (model.max_subnet, model.min_subnet)
    set_iteration(3)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(make_batch(), optim)
    assert list(log) == list(PRE_SPLIT_LOG)
    for key, value in PRE_SPLIT_LOG.items():
        assert log[key].item() == pytest.approx(value, rel=1e-5, abs=1e-7), \
            key
    params = dict(model.architecture.named_parameters())
    for name, value in PRE_SPLIT_PARAM_SUMS.items():
        assert params[name].sum().item() == pytest.approx(value, abs=2e-5), \
            name
    assert model.subnet == model.max_subnet


def test_sandwich_algorithm_bad_arguments():
    fixed = dict(type='MultiTaskEncoderDecoder',
                 backbone=dict(type='ToyStageBackbone'),
                 tasks=dict(depth=dict(kind='depth',
                                       head=dict(type='ToyStageHead'))))
    with pytest.raises(TypeError, match=r"MultiTaskEncoderDecoder has no "
                       r"\['search_space', 'set_subnet', 'max_subnet', "
                       r"'loss_and_feats'\]"):
        SandwichAlgorithm(fixed)
    with pytest.raises(ValueError, match=r"sampler: unknown keys \['k'\]"):
        SandwichAlgorithm(arch_cfg(), sampler=dict(k=2))
    with pytest.raises(ValueError, match='num_random'):
        SandwichAlgorithm(arch_cfg(), sampler=dict(num_random=-1))
    with pytest.raises(TypeError, match='distiller must be a config dict, '
                       'an nn.Module or None, got str'):
        SandwichAlgorithm(arch_cfg(), distiller='cikd')
    # the default: CI-KD with mse, weight 1
    model = SandwichAlgorithm(arch_cfg())
    assert type(model.distiller).__name__ == 'CIKDDistiller'
    assert model.distiller.loss.distance == 'mse'
    assert model.distill_weight == 1.0


# ----------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------
def trained_algorithm():
    model = build_model(num_random=1)
    set_iteration(0)
    model.train_step(make_batch(),
                     OptimWrapper(torch.optim.SGD(model.parameters(),
                                                  lr=0.1)))
    return model.eval()


def test_algorithm_checkpoint_loads_into_the_bare_architecture(tmp_path):
    algorithm = trained_algorithm()
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint(algorithm.state_dict(), path)  # as the Runner: no wrap
    arch = load_trained(build_arch(), path)
    assert not arch.training
    trained = algorithm.architecture.state_dict()
    assert set(arch.state_dict()) == set(trained)
    for key, value in arch.state_dict().items():
        assert torch.equal(value, trained[key]), key
    data = arch.data_preprocessor(make_batch(), False)
    for spec in ('max', 'min'):
        arch.set_subnet(spec)
        algorithm.set_subnet(spec)
        with torch.no_grad():
            got = arch._forward(data['inputs'])
            expected = algorithm(**data, mode='tensor')
        for task in got:
            assert torch.equal(got[task], expected[task]), (spec, task)
    # an algorithm checkpoint of another architecture is refused
    other = BaseAlgorithm(arch_cfg(tasks=dict(depth=dict(
        kind='depth', head=dict(type='ToyStageHead', channels=4)))))
    other_path = str(tmp_path / 'other.pth')
    save_checkpoint(other.state_dict(), other_path)
    with pytest.raises(CheckpointError, match='other.pth does not fit'):
        load_trained(build_arch(), other_path)


def test_bare_architecture_state_dict_loads_into_the_algorithm(tmp_path):
    """A checkpoint written before the split (the supernet's own keys)
    still loads into the algorithm, e.g. by tools/test.py's Runner."""
    arch = trained_algorithm().architecture
    path = str(tmp_path / 'bare.pth')
    save_checkpoint(arch.state_dict(), path)
    for load in ('torch', 'mmengine'):
        algorithm = build_model()
        algorithm.architecture.backbone.stem[0].weight.data.zero_()
        if load == 'torch':
            algorithm.load_state_dict(arch.state_dict(), strict=True)
        else:
            load_checkpoint(algorithm, path, map_location='cpu',
                            strict=True, logger='silent')
        for key, value in arch.state_dict().items():
            assert torch.equal(algorithm.architecture.state_dict()[key],
                               value), (load, key)
    # and a deep copy keeps its own hook (loads into the copy)
    copied = copy.deepcopy(build_model())
    copied.load_state_dict(arch.state_dict())
    assert torch.equal(copied.architecture.backbone.stem[0].weight,
                       arch.backbone.stem[0].weight)


# ----------------------------------------------------------------------
# the tools' view
# ----------------------------------------------------------------------
def test_tools_get_the_architecture_of_an_ecmt_config(tmp_path):
    from mmecmt.models.architectures import build_static_subnet
    from mmecmt.utils.tool_cli import build_supernet
    config = osp.join(REPO, 'configs', 'ecmt', 'synthscenes_mbv2_tiny.py')
    cfg, model = build_supernet(config, None, str(tmp_path))
    assert cfg.model.type == 'SandwichAlgorithm'
    assert isinstance(model, SlimMultiTaskEncoderDecoder)
    # the static subnet of an algorithm config is its architecture's
    static = build_static_subnet(arch_cfg(), dict(
        encoder=dict(stem=0.5, stage1=0.5),
        decoders=dict(semseg=0.25, depth=0.25)), example_shape=(16, 16))
    from_algorithm = build_static_subnet(
        dict(type='SandwichAlgorithm', architecture=arch_cfg()),
        dict(encoder=dict(stem=0.5, stage1=0.5),
             decoders=dict(semseg=0.25, depth=0.25)),
        example_shape=(16, 16))
    assert list(from_algorithm.state_dict()) == list(static.state_dict())
    # export_static of an algorithm exports its architecture
    from mmecmt.models.slimmable import export_static
    algorithm = build_model()
    exported = export_static(algorithm, algorithm.min_subnet,
                             example_input=torch.zeros(2, 3, 16, 16))
    assert list(exported.state_dict()) == list(static.state_dict())


def test_train_tool_gives_algorithms_the_algorithm_ddp_wrapper():
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    train_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_tool)
    assert train_tool.is_algorithm_cfg(dict(type='SandwichAlgorithm'))
    assert train_tool.is_algorithm_cfg(dict(type=SandwichAlgorithm))
    assert not train_tool.is_algorithm_cfg(
        dict(type='SlimMultiTaskEncoderDecoder'))
    assert not train_tool.is_algorithm_cfg(dict(type='NoSuchModel'))
    from mmengine.config import Config

    def config(**changes):
        cfg = dict(model=dict(type='SandwichAlgorithm'), launcher='pytorch',
                   find_unused_parameters=True)
        cfg.update(changes)
        return Config(cfg)

    cfg = config()
    train_tool.default_algorithm_wrapper(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='mmecmt.models.wrappers.AlgorithmDDP', broadcast_buffers=False,
        find_unused_parameters=True)
    # a configured wrapper, one process, or a bare architecture: untouched
    for changes in (dict(model_wrapper_cfg=dict(type='X')),
                    dict(launcher='none'),
                    dict(model=dict(type='SlimMultiTaskEncoderDecoder'))):
        cfg = config(**changes)
        train_tool.default_algorithm_wrapper(cfg)
        assert cfg.get('model_wrapper_cfg') == \
            changes.get('model_wrapper_cfg'), changes
