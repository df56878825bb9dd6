"""ECMT: the supernet's search space and set_subnet, SandwichSampler, and
SandwichAlgorithm's train step with CI-KD (single process and through
AlgorithmDDP)."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from torch import nn

from mmecmt.registry import MODELS
from mmecmt.search.sampler import SandwichSampler
from mmecmt.search.space import SearchSpace, SubnetSpec
from mmecmt.structures import MultiTaskDataSample
from mmecmt.utils import register_all_modules
from toy_slimmable_models import ToyStageBackbone  # noqa: F401 (registers)

register_all_modules()

H = W = 16


pytestmark = pytest.mark.usefixtures('one_thread')


SEARCH_SPACE = dict(
    encoder=dict(choices=(0.5, 1.0), per_stage=dict(stage1=(0.5, 0.75, 1.0))),
    decoder=dict(choices=(0.25, 0.5, 1.0)))


CIKD = dict(loss=dict(type='CIKDLoss', distance='mse'))


def arch_cfg(search_space=SEARCH_SPACE, **kwargs):
    """The toy supernet's config (two stages, semseg + depth heads);
    ``kwargs`` override or add entries."""
    cfg = dict(
        type='SlimMultiTaskEncoderDecoder',
        backbone=dict(type='ToyStageBackbone'),
        tasks=dict(
            semseg=dict(kind='segmentation', num_classes=3,
                        head=dict(type='ToyStageHead')),
            depth=dict(kind='depth', head=dict(type='ToyStageHead'))),
        search_space=search_space,
        data_preprocessor=dict(type='MultiTaskDataPreProcessor'))
    cfg.update(kwargs)
    return cfg


def build_arch(**kwargs):
    """The bare toy supernet (the architecture)."""
    torch.manual_seed(0)
    return MODELS.build(arch_cfg(**kwargs))


def build_model(distiller=CIKD, num_random=2, seed=0, **kwargs):
    """SandwichAlgorithm around the toy supernet (same weights as
    ``build_arch``)."""
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='SandwichAlgorithm',
        architecture=arch_cfg(**kwargs),
        sampler=dict(num_random=num_random, seed=seed),
        distiller=distiller))


def make_batch(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        s = MultiTaskDataSample(metainfo=dict(img_shape=(H, W),
                                              ori_shape=(H, W)))
        s.gt_semseg = PixelData(data=torch.randint(0, 3, (1, H, W),
                                                   generator=g))
        s.gt_depth = PixelData(data=torch.rand(1, H, W, generator=g) + 0.5)
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def set_iteration(i):
    MessageHub.get_current_instance().update_info('iter', i)


MAX = SubnetSpec({'stem': 1.0, 'stage1': 1.0}, {'semseg': 1.0, 'depth': 1.0})
MIN = SubnetSpec({'stem': 0.5, 'stage1': 0.5},
                 {'semseg': 0.25, 'depth': 0.25})


# ----------------------------------------------------------------------
# search space and set_subnet
# ----------------------------------------------------------------------
def test_search_space_from_config():
    model = build_arch()
    assert model.search_space.to_dict() == dict(
        encoder=dict(stem=[0.5, 1.0], stage1=[0.5, 0.75, 1.0]),
        decoders=dict(semseg=[0.25, 0.5, 1.0], depth=[0.25, 0.5, 1.0]))
    assert model.subnet == MAX
    # only some stages searched: the others stay at full width
    model = build_arch(search_space=dict(encoder=dict(stages=('stage1', ))))
    assert list(model.search_space.encoder) == ['stage1']
    assert model.search_space.encoder['stage1'] == \
        (0.5, 0.625, 0.75, 0.875, 1.0)
    assert model.search_space.decoders['depth'] == (0.25, 0.5, 0.75, 1.0)
    with pytest.raises(ValueError, match=r"unknown stages \['layer9'\]"):
        build_arch(search_space=dict(encoder=dict(stages=('layer9', ))))
    with pytest.raises(ValueError, match=r"unknown tasks \['edge'\]"):
        build_arch(search_space=dict(decoder=dict(
            per_task=dict(edge=(1.0, )))))
    with pytest.raises(ValueError, match='does not support a neck'):
        build_arch(neck=dict(type='ToyStageHead', out_channels=1))
    # training settings are the algorithm's, not the architecture's
    with pytest.raises(TypeError, match='sandwich'):
        build_arch(sandwich=dict(num_random=2))


def test_non_slimmable_parts_are_clear_errors():
    with pytest.raises(TypeError, match='not slimmable'):
        MODELS.build(dict(
            type='SlimMultiTaskEncoderDecoder',
            backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.5,
                          out_indices=(6, )),
            tasks=dict(depth=dict(kind='depth',
                                  head=dict(type='ToyStageHead')))))
    fixed_head = dict(type='FCNTaskHead', in_channels=16, channels=8,
                      in_index=1)
    tasks = dict(depth=dict(kind='depth', head=fixed_head))
    with pytest.raises(TypeError, match=r"task 'depth'.*no `set_width"):
        MODELS.build(dict(type='SlimMultiTaskEncoderDecoder',
                          backbone=dict(type='ToyStageBackbone'),
                          tasks=tasks))
    # a fixed head is fine when its only width choice is 1.0
    model = MODELS.build(dict(
        type='SlimMultiTaskEncoderDecoder',
        backbone=dict(type='ToyStageBackbone'), tasks=tasks,
        search_space=dict(decoder=dict(per_task=dict(depth=(1.0, ))))))
    model.set_subnet(model.min_subnet)
    assert model.subnet.decoders == {'depth': 1.0}


def test_set_subnet_applies_widths_and_validates():
    model = build_arch()
    model.set_subnet('min')
    assert model.subnet == MIN
    assert model.backbone.stem[0].active_out_channels == 4
    assert model.backbone.stage1[0].active_out_channels == 8
    assert model.heads['semseg'].conv.active_out_channels == 2
    feats = model.eval().extract_feat(torch.zeros(1, 3, H, W))
    assert [f.shape[1] for f in feats] == [4, 8]
    model.set_subnet(dict(encoder=dict(stem=1.0, stage1=0.75),
                          decoders=dict(semseg=0.5, depth=1.0)))
    assert model.backbone.stage1[0].active_out_channels == 12
    assert model.heads['semseg'].conv.active_out_channels == 4
    assert model.heads['depth'].conv.active_out_channels == 8
    with pytest.raises(ValueError, match=r"encoder\['stage1'\] = 0.6 is not "
                       r'a valid width; choices are \[0.5, 0.75, 1.0\]'):
        model.set_subnet(dict(encoder=dict(stem=1.0, stage1=0.6),
                              decoders=dict(semseg=0.5, depth=1.0)))
    with pytest.raises(ValueError, match=r"missing \['depth'\]"):
        model.set_subnet(dict(encoder=dict(stem=1.0, stage1=1.0),
                              decoders=dict(semseg=0.5)))
    with pytest.raises(ValueError, match='not "max" or "min"'):
        model.set_subnet('medium')


# ----------------------------------------------------------------------
# SandwichSampler
# ----------------------------------------------------------------------
def _space():
    return SearchSpace(encoder=dict(a=(0.25, 0.5, 0.75, 1.0),
                                    b=(0.5, 1.0)),
                       decoders=dict(t=(0.25, 0.5, 1.0)))


def test_sampler_members_and_determinism():
    space = _space()
    sampler = SandwichSampler(space, num_random=3, seed=7)
    members = sampler.sample(iteration=4)
    assert [name for name, _ in members] == \
        ['max', 'min', 'rand0', 'rand1', 'rand2']
    assert list(sampler.member_names) == [name for name, _ in members]
    assert members[0][1] == space.sample('max')
    assert members[1][1] == space.sample('min')
    # the random members are exactly space.sample('random') with the
    # generator seeded by (seed, iteration)
    rng = np.random.default_rng([7, 4])
    assert [spec for _, spec in members[2:]] == \
        [space.sample('random', rng) for _ in range(3)]
    # the same on another instance (another rank) and on a repeated call
    other = SandwichSampler(_space(), num_random=3, seed=7)
    for it in range(6):
        assert other.sample(it) == sampler.sample(it)
    # and it changes with the iteration and the seed
    draws = {tuple(s.key() for _, s in sampler.sample(it)[2:])
             for it in range(10)}
    assert len(draws) > 1
    assert SandwichSampler(space, 3, seed=8).sample(4) != members


def test_sampler_reads_iteration_from_message_hub():
    sampler = SandwichSampler(_space(), num_random=2, seed=0)
    set_iteration(5)
    try:
        assert sampler.sample() == sampler.sample(5)
    finally:
        MessageHub.get_current_instance().runtime_info.pop('iter', None)
    # outside a Runner: a call counter (deterministic)
    fresh = SandwichSampler(_space(), num_random=2, seed=0)
    assert [fresh.sample() for _ in range(3)] == \
        [sampler.sample(i) for i in range(3)]


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match='num_random'):
        SandwichSampler(_space(), num_random=-1)
    with pytest.raises(TypeError, match='SearchSpace'):
        SandwichSampler(dict(encoder={}), num_random=1)


# ----------------------------------------------------------------------
# the sandwich step
# ----------------------------------------------------------------------
def expected_member_grads(model, data, members):
    """Sum over members of d(member loss)/d(params), member by member on a
    copy of the model; also the members' CI-KD values."""
    model = copy.deepcopy(model)
    data = model.data_preprocessor(data, True)
    params = dict(model.named_parameters())
    grads = {n: torch.zeros_like(p) for n, p in params.items()}
    teacher, cikd = None, {}
    for name, spec in members:
        model.set_subnet(spec)
        losses, feats = model.member_loss(data['inputs'],
                                          data['data_samples'], teacher)
        if teacher is None:
            teacher = tuple(f.detach() for f in feats)
        cikd[name] = losses['loss_cikd'].item()
        total = sum(losses.values())
        names = [n for n, p in params.items() if p.requires_grad]
        member = torch.autograd.grad(total, [params[n] for n in names],
                                     allow_unused=True)
        for n, g in zip(names, member):
            if g is not None:
                grads[n] += g
    return grads, cikd


class StepRecorder:
    """Wraps ``optimizer.step`` to count calls and copy the gradients."""

    def __init__(self, optim_wrapper, model):
        self.calls = 0
        self.grads = None
        self._step = optim_wrapper.optimizer.step
        self._model = model
        optim_wrapper.optimizer.step = self

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.grads = {n: p.grad.clone() if p.grad is not None else None
                      for n, p in self._model.named_parameters()}
        return self._step(*args, **kwargs)


def test_sandwich_step_members_grads_and_one_step():
    model = build_model()
    members = model.sampler.sample(3)
    set_iteration(3)
    expected_grads, expected_cikd = expected_member_grads(
        model, make_batch(), members)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    calls = []
    arch = model.architecture
    set_subnet = arch.set_subnet
    arch.set_subnet = lambda spec: calls.append(spec) or set_subnet(spec)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    recorder = StepRecorder(optim, model)
    log_vars = model.train_step(make_batch(), optim)

    # members in order max, min, rand0, rand1, then the max restored
    assert calls == [spec for _, spec in members] + [MAX]
    assert model.subnet == arch.subnet == MAX
    assert arch.backbone.stage1[0].active_out_channels == 16
    assert arch.heads['depth'].conv.active_out_channels == 8
    # one optimizer step, after the gradients of every member accumulated
    assert recorder.calls == 1
    for name, grad in recorder.grads.items():
        assert torch.allclose(grad, expected_grads[name], atol=1e-5), name
    # SGD: p_new = p_old - lr * grad, and the grads were zeroed after it
    for name, p in model.named_parameters():
        assert torch.allclose(p, before[name] - 0.1 * expected_grads[name],
                              atol=1e-6), name
        assert p.grad is None or not p.grad.any()

    # log vars: prefixed task losses and CI-KD per member, totals
    names = ['max', 'min', 'rand0', 'rand1']
    for m in names:
        for key in ('loss_semseg', 'loss_depth', 'loss_cikd'):
            assert f'{m}.{key}' in log_vars
    assert log_vars['max.loss_cikd'].item() == 0.0
    for m in names[1:]:
        assert log_vars[f'{m}.loss_cikd'].item() == \
            pytest.approx(expected_cikd[m], rel=1e-5)
    assert log_vars['min.loss_cikd'].item() > 0
    assert log_vars['loss_cikd'].item() == pytest.approx(
        sum(log_vars[f'{m}.loss_cikd'].item() for m in names), rel=1e-6)
    member_terms = [v.item() for k, v in log_vars.items() if '.' in k]
    assert log_vars['loss'].item() == pytest.approx(sum(member_terms),
                                                    rel=1e-6)
    assert all(not v.requires_grad for v in log_vars.values())


def test_cikd_compares_backbone_outputs_on_leading_channels():
    # by default the levels the heads read: in_index (-1,) -> level 1 of 2
    assert build_arch().decoder_levels() == (-1, )
    assert build_model().distiller.level_indices(2) == (1, )
    # a head without in_index: every level
    undeclared = build_model(tasks=dict(depth=dict(
        kind='depth', head=dict(type='ToyStageHead', in_index=None))))
    assert undeclared.distiller.level_indices(2) == (0, 1)
    model = build_model(distiller=dict(CIKD, levels=(0, 1)))
    assert model.distiller.level_indices(2) == (0, 1)
    with pytest.raises(IndexError, match=r'\[2\] out of range for 2'):
        build_model(distiller=dict(CIKD, levels=(0, 2))
                    ).distiller.level_indices(2)
    with pytest.raises(ValueError, match='levels=\\(\\) distils nothing'):
        build_model(distiller=dict(CIKD, levels=()))
    data = model.data_preprocessor(make_batch(), True)
    model.set_subnet('max')
    _, teacher = model.member_loss(data['inputs'], data['data_samples'])
    model.set_subnet('min')
    model.distill_weight = 0.5
    losses, student = model.member_loss(
        data['inputs'], data['data_samples'], [t.detach() for t in teacher])
    expected = 0.5 * (F.mse_loss(student[0], teacher[0][:, :4]) +
                      F.mse_loss(student[1], teacher[1][:, :8])) / 2
    assert [f.shape[1] for f in student] == [4, 8]
    assert losses['loss_cikd'].item() == pytest.approx(expected.item(),
                                                       rel=1e-6)
    model.distill_weight = 0.0
    losses, _ = model.member_loss(data['inputs'], data['data_samples'],
                                  teacher)
    assert losses['loss_cikd'].item() == 0.0


def test_plain_sandwich_without_cikd_has_no_cikd_loss():
    model = build_model(distiller=None, num_random=1)
    assert model.distiller is None
    set_iteration(0)
    log_vars = model.train_step(
        make_batch(), OptimWrapper(torch.optim.SGD(model.parameters(),
                                                   lr=0.1)))
    assert not any('cikd' in key for key in log_vars)
    assert sorted(log_vars) == sorted(
        ['loss'] + [f'{m}.loss_{t}' for m in ('max', 'min', 'rand0')
                    for t in ('semseg', 'depth')])


def test_gradient_accumulation_is_rejected():
    model = build_model()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                         accumulative_counts=2)
    with pytest.raises(ValueError, match='accumulative_counts=2'):
        model.train_step(make_batch(), optim)
    assert model.subnet == MAX


def test_algorithm_ddp_equals_single_process(tmp_path):
    """AlgorithmDDP on a one-process gloo group: the same log vars and the
    same update as the plain algorithm."""
    import torch.distributed as dist
    from mmengine.registry import MODEL_WRAPPERS as ROOT_WRAPPERS

    from mmecmt.models.wrappers import AlgorithmDDP, SandwichDDP
    from mmecmt.registry import MODEL_WRAPPERS
    # the older name: an alias, registered and importable (old configs)
    assert SandwichDDP is AlgorithmDDP
    assert MODEL_WRAPPERS.get('SandwichDDP') is AlgorithmDDP
    assert ROOT_WRAPPERS.get('mmecmt.models.wrappers.SandwichDDP') is \
        AlgorithmDDP
    assert not dist.is_initialized()
    dist.init_process_group(
        'gloo', init_method=f'file://{osp.join(tmp_path, "pg")}', rank=0,
        world_size=1)
    try:
        plain = build_model()
        wrapped = AlgorithmDDP(copy.deepcopy(plain), device_ids=None,
                               broadcast_buffers=False,
                               find_unused_parameters=True)
        set_iteration(2)
        outs = []
        for model in (plain, wrapped):
            optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
            outs.append(model.train_step(make_batch(), optim))
        assert list(outs[0]) == list(outs[1])
        for key in outs[0]:
            assert outs[0][key].item() == pytest.approx(
                outs[1][key].item(), rel=1e-5), key
        for (n, p), q in zip(plain.named_parameters(),
                             wrapped.module.parameters()):
            assert torch.allclose(p, q, atol=1e-6), n
        assert wrapped.module.subnet == MAX
        with pytest.raises(TypeError, match='wraps a training algorithm'):
            AlgorithmDDP(nn.Linear(2, 2), device_ids=None)
        with pytest.raises(TypeError, match='got SlimMultiTaskEncoderDecoder'):
            AlgorithmDDP(build_arch(), device_ids=None)
        # CIKDHook refuses a plain DDP wrapper (it would train max only)
        from types import SimpleNamespace

        from mmengine.model import MMDistributedDataParallel

        from mmecmt.engine.hooks import CIKDHook
        CIKDHook().before_train(SimpleNamespace(model=wrapped))
        plain_ddp = MMDistributedDataParallel(
            copy.deepcopy(plain), device_ids=None,
            find_unused_parameters=True)
        with pytest.raises(TypeError, match='wrappers.AlgorithmDDP'):
            CIKDHook().before_train(SimpleNamespace(model=plain_ddp))
    finally:
        dist.destroy_process_group()


def test_real_ecmt_config_builds_and_trains_one_step():
    """configs/ecmt/synthscenes_mbv2.py with SlimMobileNetV2 and
    SlimDeepLabV3PlusTaskHead: one sandwich step on a 32 x 32 batch."""
    from mmengine.config import Config

    from mmecmt.models.algorithms import SandwichAlgorithm
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', 'configs', 'ecmt',
                 'synthscenes_mbv2.py'))
    assert cfg.model_wrapper_cfg.type == \
        'mmecmt.models.wrappers.AlgorithmDDP'
    assert cfg.val_cfg.type == 'SubnetValLoop'
    # half width (as the tiny baseline config) to keep the test quick
    arch = cfg.model.architecture
    arch.backbone.widen_factor = 0.5
    for task in arch.tasks.values():
        task.head.update(in_channels=(16, 160), channels=16, c1_channels=8)
    arch.tasks.semseg.num_classes = 3
    cfg.model.sampler.num_random = 1
    model = MODELS.build(cfg.model)
    assert isinstance(model, SandwichAlgorithm)
    assert list(model.search_space.encoder) == [
        'conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5', 'layer6',
        'layer7'
    ]
    assert model.search_space.decoders['sal'] == (0.25, 0.5, 0.75, 1.0)
    # CI-KD on the levels the DeepLabv3+ heads read (in_index (0, 3))
    assert model.distiller.level_indices(4) == (0, 3)
    model.set_subnet('min')
    feats = model.eval().architecture.extract_feat(torch.zeros(1, 3, 32, 32))
    # half-width MobileNetV2 outputs 16, 16, 48, 160 channels; at ratio 0.5
    # (divisor 8): 8, 8, 24, 80
    assert [f.shape[1] for f in feats] == [8, 8, 24, 80]

    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        s = MultiTaskDataSample(metainfo=dict(img_shape=(32, 32),
                                              ori_shape=(32, 32)))
        s.gt_semseg = PixelData(data=torch.randint(0, 3, (1, 32, 32),
                                                   generator=g))
        s.gt_depth = PixelData(data=torch.rand(1, 32, 32, generator=g) + 1)
        s.gt_normals = PixelData(data=F.normalize(
            torch.randn(3, 32, 32, generator=g), dim=0))
        s.gt_edge = PixelData(
            data=(torch.rand(1, 32, 32, generator=g) > 0.9).float())
        s.gt_sal = PixelData(
            data=(torch.rand(1, 32, 32, generator=g) > 0.5).float())
        samples.append(s)
    batch = dict(inputs=[torch.randint(0, 256, (3, 32, 32), generator=g,
                                       dtype=torch.uint8)
                         for _ in range(2)], data_samples=samples)
    set_iteration(0)
    log_vars = model.train().train_step(
        batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    for member in ('max', 'min', 'rand0'):
        for task in ('semseg', 'depth', 'normals', 'edge', 'sal', 'cikd'):
            assert torch.isfinite(log_vars[f'{member}.loss_{task}'])
    assert log_vars['max.loss_cikd'].item() == 0.0
    assert log_vars['min.loss_cikd'].item() > 0.0
    assert model.subnet == model.max_subnet


def test_ecmt_configs_and_wrapper_cfg_survive_runner_setup(monkeypatch):
    """The no-CI-KD ablation differs only in distillation, and
    prepare_runner_cfg keeps the AlgorithmDDP wrapper type on CPU."""
    from mmengine.config import Config

    import mmecmt.utils.runner_setup as runner_setup
    config_dir = osp.join(osp.dirname(__file__), '..', 'configs', 'ecmt')
    full = Config.fromfile(osp.join(config_dir, 'synthscenes_mbv2.py'))
    plain = Config.fromfile(osp.join(config_dir,
                                     'synthscenes_mbv2_no_cikd.py'))
    assert plain.model.distiller is None and plain.custom_hooks == []
    assert full.model.type == plain.model.type == 'SandwichAlgorithm'
    assert full.model.distiller.loss.type == 'CIKDLoss'
    assert full.model.distiller.levels is None
    assert [h.type for h in full.custom_hooks] == ['CIKDHook']
    for key in ('architecture', 'sampler'):
        assert plain.model[key] == full.model[key], key
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_cfg', 'model_wrapper_cfg'):
        assert plain[key] == full[key], key
    # same data and schedule as the fixed baseline
    base = Config.fromfile(osp.join(config_dir, '..', 'mtl',
                                    'synthscenes_mbv2_baseline.py'))
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg',
                'optim_wrapper', 'param_scheduler'):
        assert full[key] == base[key], key

    if torch.cuda.is_available():
        pytest.skip('the CPU DDP path of prepare_runner_cfg')
    monkeypatch.setattr(runner_setup, 'init_cpu_distributed',
                        lambda *args, **kwargs: None)
    full.launcher = 'pytorch'
    runner_setup.prepare_runner_cfg(full)
    assert full.model_wrapper_cfg == dict(
        type='mmecmt.models.wrappers.AlgorithmDDP', broadcast_buffers=False,
        find_unused_parameters=True, device_ids=None)


def test_torchrun_two_processes_train_ecmt(tiny_synth_root, tmp_path):
    """tools/train.py with the tiny ECMT config on two CPU processes:
    AlgorithmDDP trains, SubnetValLoop validates max and min."""
    from conftest import run_tool, tiny_data_options
    work = str(tmp_path / 'work')
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29533', 'tools/train.py',
        'configs/ecmt/synthscenes_mbv2_tiny.py', '--launcher', 'pytorch',
        '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
        *tiny_data_options(tiny_synth_root)])
    log = proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'Iter(train) [2/2]' in log
    for key in ('cikd_weight: 1.0000', 'max.loss_cikd: 0.0000',
                'min.loss_cikd', 'rand1.loss_semseg', 'max/semseg/mIoU',
                'min/semseg/mIoU', 'min/sal/maxF'):
        assert key in log, key
