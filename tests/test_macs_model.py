"""MacsModel: analytic MACs of subnets against hand counts and fvcore."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d, DynamicLinear)
from mmecmt.search import MacsModel, SearchSpace, SubnetSpec
from mmecmt.search.macs import benchmark_macs_model, compare_with_fvcore
from mmecmt.utils.flops import count_macs
from toy_slimmable_models import TinySlimMultiTask

INPUT = (32, 32)



@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """One intra-op thread: tiny convs only lose to thread contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def toy():
    model = TinySlimMultiTask(seed=0).eval()
    return model, MacsModel(model, model.search_space, INPUT,
                            trace_on_meta=False)


# ----------------------------------------------------------------------
# a micro network counted by hand
# ----------------------------------------------------------------------
class MicroNet(nn.Module):
    """1x1 conv 3->c1 + BN, 1x1 conv c1->c2, bilinear x2 (4x4 input).

    MACs = 3*c1*16 (conv) + 2*c1*16 (BN) + c1*c2*16 (conv) + 4*c2*64.
    """

    def __init__(self, fail_on_meta=False):
        super().__init__()
        self.stem = DynamicConv2d(3, 8, 1, bias=False)
        self.bn = DynamicBatchNorm2d(8)
        self.head = DynamicConv2d(8, 4, 1)
        self.fail_on_meta = fail_on_meta
        self.search_space = SearchSpace(encoder={'stem': (0.5, 1.0)},
                                        decoders={'head': (0.5, 1.0)})

    def set_subnet(self, spec):
        self.stem.active_out_channels = int(8 * spec.encoder['stem'])
        self.head.active_out_channels = int(4 * spec.decoders['head'])
        self.subnet = spec

    def _forward(self, x):
        if self.fail_on_meta:
            bool((x > 0).any())  # data-dependent: impossible on meta
        y = self.head(self.bn(self.stem(x)))
        return {'out': F.interpolate(y, scale_factor=2, mode='bilinear')}


def micro_macs(c1, c2):
    return 3 * c1 * 16 + 2 * c1 * 16 + c1 * c2 * 16 + 4 * c2 * 64


@pytest.mark.parametrize('on_meta', [True, False])
def test_micro_net_matches_hand_count(on_meta):
    model = MicroNet()
    macs = MacsModel(model, model.search_space, (4, 4),
                     trace_on_meta=on_meta)
    for stem, c1 in ((0.5, 4), (1.0, 8)):
        for head, c2 in ((0.5, 2), (1.0, 4)):
            spec = SubnetSpec({'stem': stem}, {'head': head})
            assert macs(spec) == micro_macs(c1, c2)
            assert macs.macs(spec.to_dict()) == micro_macs(c1, c2)
    # max: 384 + 256 + 512 + 1024
    assert macs.macs_range() == (micro_macs(4, 2), 2176)
    assert micro_macs(4, 2) == 192 + 128 + 128 + 512
    # the cross term c1*c2 lives in one pair table
    assert len(macs._pairs) == 1


def test_meta_failure_falls_back_to_a_real_copy():
    model = MicroNet(fail_on_meta=True)
    with pytest.warns(UserWarning, match='meta device'):
        macs = MacsModel(model, model.search_space, (4, 4))
    assert macs(model.search_space.sample('max')) == 2176


def test_model_is_left_untouched(toy):
    model, _ = toy
    before = {n: m.active_out_channels for n, m in model.named_modules()
              if isinstance(m, DynamicConv2d)}
    model.set_subnet(model.search_space.sample('min'))
    MacsModel(model, None, INPUT)  # search space from the model, on meta
    assert model.subnet == model.search_space.sample('min')
    assert model.backbone.stem[0].active_out_channels == 8
    model.set_subnet(model.search_space.sample('max'))
    after = {n: m.active_out_channels for n, m in model.named_modules()
             if isinstance(m, DynamicConv2d)}
    assert before == after
    assert not model.training


# ----------------------------------------------------------------------
# the toy multi-task network against fvcore
# ----------------------------------------------------------------------
def test_equals_fvcore_on_exported_subnets(toy):
    model, macs = toy
    space = model.search_space
    rng = np.random.default_rng(0)
    specs = {s.key(): s for s in (space.sample('max'), space.sample('min'))}
    while len(specs) < 22:  # max, min and 20 distinct random subnets
        spec = space.sample('random', rng)
        specs.setdefault(spec.key(), spec)
    rows = compare_with_fvcore(model, macs, list(specs.values()))
    for spec, analytic, fvcore_macs in rows:
        assert isinstance(analytic, int)
        assert analytic == fvcore_macs, spec
    # the supernet itself at max is counted the same by fvcore
    model.set_subnet(space.sample('max'))
    assert macs(space.sample('max')) == count_macs(model, INPUT) == 2022760


def test_meta_and_device_traces_agree(toy):
    model, macs = toy
    on_meta = MacsModel(model, model.search_space, INPUT)
    grid = np.indices([len(c) for c in list(
        model.search_space.encoder.values()) + list(
            model.search_space.decoders.values())]).reshape(6, -1).T
    assert np.array_equal(on_meta.macs_of_indices(grid),
                          macs.macs_of_indices(grid))


def test_hand_count_of_the_stem_and_cls_head(toy):
    """Change one entry: the difference is the hand count of its ops."""
    model, macs = toy
    space = model.search_space
    full = space.sample('max')
    half = SubnetSpec(full.encoder, dict(full.decoders, cls=0.5))
    # fc1: 32 -> 20 (full) vs 32 -> 12; fc2: 20 -> 10 vs 12 -> 10
    assert macs(full) - macs(half) == (32 * 20 + 20 * 10) - (32 * 12 +
                                                              12 * 10)
    stem = SubnetSpec(dict(full.encoder, stem=0.5), full.decoders)
    # stem conv 3x3 3->16 on 16x16, its BN, layer1's depthwise 3x3 and its
    # BN, and layer1's 1x1 conv 16->24: 8 fewer channels each
    per_channel = 3 * 9 * 256 + 2 * 256 + 9 * 256 + 2 * 256 + 24 * 256
    assert macs(full) - macs(stem) == 8 * per_channel


def test_monotonic_in_every_entry(toy):
    model, macs = toy
    space = model.search_space
    rng = np.random.default_rng(1)
    for _ in range(10):
        base = space.sample('random', rng)
        for part in ('encoder', 'decoders'):
            for name, choices in getattr(space, part).items():
                values = []
                for choice in choices:
                    d = base.to_dict()
                    d[part][name] = choice
                    values.append(macs(d))
                assert all(a < b for a, b in zip(values, values[1:])), \
                    (part, name, values)
    assert macs.is_monotonic()


def test_range_batch_and_encoded(toy):
    model, macs = toy
    space = model.search_space
    sizes = [len(c) for c in list(space.encoder.values()) +
             list(space.decoders.values())]
    grid = np.indices(sizes).reshape(len(sizes), -1).T
    all_macs = macs.macs_of_indices(grid)
    assert len(all_macs) == space.num_subnets() == 216
    assert macs.macs_range() == (all_macs.min(), all_macs.max()) == (
        macs(space.sample('min')), macs(space.sample('max')))
    rng = np.random.default_rng(2)
    specs = [space.sample('random', rng) for _ in range(50)]
    one_by_one = np.array([macs(s) for s in specs])
    assert macs.batch(specs).dtype == np.int64
    assert np.array_equal(macs.batch(specs), one_by_one)
    encoded = np.stack([space.encode(s) for s in specs])
    assert np.array_equal(macs.batch(encoded), one_by_one)
    assert macs.batch([]).shape == (0, )


def test_op_dependences(toy):
    _, macs = toy
    ops = {(op.module, op.kind): op for op in macs.ops}
    assert ops[('heads.cls.fc1', 'linear')].entries == (
        'encoder.layer2', 'decoders.cls')
    assert ops[('heads.cls.fc1', 'linear')].macs_max == 32 * 20
    assert ops[('backbone.layer1.3', 'conv')].entries == (
        'encoder.stem', 'encoder.layer1')
    # the backbone's tail never reaches an output: not counted, as by fvcore
    assert not [op for op in macs.ops if op.module.startswith(
        'backbone.tail')]
    # the final resize of the depth map to the input does not vary
    resize = [op for op in macs.ops if op.module == '']
    assert [op.macs_max for op in resize] == [4 * 5 * 32 * 32,
                                              4 * 1 * 32 * 32]
    assert all(op.entries == () for op in resize)


def test_invalid_specs(toy):
    model, macs = toy
    spec = model.search_space.sample('max').to_dict()
    spec['decoders']['seg'] = 0.6
    with pytest.raises(ValueError, match=r"decoders\['seg'\] = 0.6"):
        macs(spec)
    del spec['decoders']['seg']
    with pytest.raises(ValueError, match="missing \\['seg'\\]"):
        macs(spec)
    with pytest.raises(ValueError, match='shape \\(n, 6\\)'):
        macs.batch(np.zeros((2, 3)))
    with pytest.raises(ValueError, match='not a valid width'):
        macs.batch(np.full((1, 6), 0.3))
    # a ratio equal to a choice up to float noise is accepted
    spec = model.search_space.sample('max').to_dict()
    spec['encoder']['stem'] = 0.75 + 1e-12
    assert macs(spec) == macs(
        SubnetSpec(dict(spec['encoder'], stem=0.75), spec['decoders']))


# ----------------------------------------------------------------------
# what cannot be represented
# ----------------------------------------------------------------------
class MaxOfTwo(nn.Module):
    """A conv whose width is max(width of a, width of b): not additive."""

    def __init__(self):
        super().__init__()
        self.conv = DynamicConv2d(3, 8, 1)
        self.search_space = SearchSpace(encoder={'a': (0.5, 1.0),
                                                 'b': (0.5, 1.0)},
                                        decoders={})

    def set_subnet(self, spec):
        self.conv.active_out_channels = int(
            8 * max(spec.encoder['a'], spec.encoder['b']))

    def _forward(self, x):
        return self.conv(x)


class ThreeWidths(nn.Module):
    """bmm of (1, a, b) by (1, b, c) with a, b, c set by three entries."""

    def __init__(self, einsum=False):
        super().__init__()
        self.fcs = nn.ModuleList(DynamicLinear(3, 8) for _ in range(3))
        self.einsum = einsum
        self.search_space = SearchSpace(
            encoder={n: (0.5, 1.0) for n in 'abc'}, decoders={})

    def set_subnet(self, spec):
        for fc, n in zip(self.fcs, 'abc'):
            fc.active_out_features = int(8 * spec.encoder[n])

    def _forward(self, x):
        v = x.mean((2, 3))
        a, b, c = (fc(v) for fc in self.fcs)
        left = a[:, :, None] * b[:, None, :]
        right = b[:, :, None] * c[:, None, :]
        if self.einsum:
            return torch.einsum('nij,njk->nik', left, right)
        return torch.bmm(left, right)


def test_non_additive_width_raises_naming_the_op():
    model = MaxOfTwo()
    with pytest.raises(NotImplementedError,
                       match=r"op #0 conv in module 'conv'.*non-additive"):
        MacsModel(model, model.search_space, (4, 4))


def test_three_width_factors_raise():
    model = ThreeWidths()
    with pytest.raises(NotImplementedError,
                       match=r'op #3 bmm .* 3 width-dependent factors'):
        MacsModel(model, model.search_space, (4, 4))
    model = ThreeWidths(einsum=True)
    with pytest.raises(NotImplementedError, match='einsum'):
        MacsModel(model, model.search_space, (4, 4))


def test_benchmark_reports_microseconds(toy, capsys):
    _, macs = toy
    result = benchmark_macs_model(macs, num_specs=200, repeats=1)
    assert set(result) == {'us_per_call', 'us_per_spec_batch', 'num_specs'}
    assert result['num_specs'] == 200 and result['us_per_call'] > 0
    assert 'us/call' in capsys.readouterr().out


def test_model_without_set_subnet():
    with pytest.raises(TypeError, match='set_subnet'):
        MacsModel(nn.Conv2d(3, 3, 1), SearchSpace({'a': (1.0, )}, {}),
                  (4, 4))
    with pytest.raises(ValueError, match='input_shape'):
        MacsModel(MicroNet())


# ----------------------------------------------------------------------
# the real slimmable modules
# ----------------------------------------------------------------------
def build_slim_model(backbone: str):
    """A small SlimMultiTaskEncoderDecoder (two DeepLabv3+ tasks)."""
    from mmecmt.registry import MODELS
    from mmecmt.utils import register_all_modules
    register_all_modules()
    if backbone.startswith('mbv2'):
        backbone_cfg = dict(type='SlimMobileNetV2', widen_factor=0.5,
                            out_indices=(1, 2, 4, 6),
                            block_widths=backbone == 'mbv2_blocks')
        in_channels = (16, 160)
    else:
        backbone_cfg = dict(type='SlimResNet', depth=18, base_channels=16,
                            stem_channels=16)
        in_channels = (16, 128)
    head = dict(type='SlimDeepLabV3PlusTaskHead', in_channels=in_channels,
                in_index=(0, 3), channels=16, c1_channels=8, dilations=(1, 2),
                separable=True, dropout_ratio=0.0)
    model = MODELS.build(
        dict(type='SlimMultiTaskEncoderDecoder', backbone=backbone_cfg,
             tasks=dict(semseg=dict(kind='segmentation', num_classes=4,
                                    head=head),
                        depth=dict(kind='depth', head=head)),
             search_space=dict(encoder=dict(choices=(0.5, 0.75, 1.0)),
                               decoder=dict(choices=(0.25, 0.5, 1.0)))))
    return model.eval()


@pytest.mark.parametrize('backbone', ['mbv2', 'mbv2_blocks', 'r18'])
def test_real_slim_model_equals_fvcore(backbone):
    model = build_slim_model(backbone)
    macs = MacsModel(model, None, (64, 64))
    space = model.search_space
    rng = np.random.default_rng(0)
    specs = [space.sample('max'), space.sample('min'),
             space.sample('random', rng), space.sample('random', rng)]
    for spec, analytic, fvcore_macs in compare_with_fvcore(model, macs,
                                                           specs):
        assert analytic == fvcore_macs, spec
    assert macs.macs_range() == (macs(specs[1]), macs(specs[0]))
    if backbone == 'mbv2_blocks':  # the block units are searched
        assert 'layer4.3' in space.encoder
    if backbone.startswith('mbv2'):
        # MobileNetV2's conv2 (after out_indices' last level) is dropped
        assert not [op for op in macs.ops
                    if op.module.startswith('backbone.conv2')]
