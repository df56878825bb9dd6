"""export_static: a plain-module copy of one subnet of a slimmable model."""
import numpy as np
import pytest
import torch
from torch import nn

from mmecmt.models.slimmable import DYNAMIC_OPS, DynamicConv2d, export_static
from mmecmt.search import SubnetSpec
from toy_slimmable_models import TinySlimMultiTask



@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """One intra-op thread: tiny convs only lose to thread contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def model():
    return TinySlimMultiTask(seed=0).eval()


def specs_to_check(space):
    rng = np.random.default_rng(0)
    return [space.sample('max'), space.sample('min')] + [
        space.sample('random', rng) for _ in range(4)
    ]


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_outputs_equal_the_dynamic_subnet(model):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 32, 24)
    for spec in specs_to_check(model.search_space):
        static = export_static(model, spec)
        model.set_subnet(spec)
        with torch.no_grad():
            expected = model._forward(x)
            got = static.eval()._forward(x)
        assert set(got) == {'seg', 'depth', 'cls'}
        for task in expected:
            assert got[task].shape == expected[task].shape
            assert (got[task] - expected[task]).abs().max() <= 1e-5, task
    model.set_subnet(model.search_space.sample('max'))


def test_plain_modules_with_the_active_shapes(model):
    spec = SubnetSpec(
        {'stem': 0.5, 'layer1': 1.0, 'layer2': 0.25},
        {'seg': 0.5, 'depth': 1.0, 'cls': 0.5})
    static = export_static(model, spec)
    assert type(static) is TinySlimMultiTask
    assert not any(isinstance(m, DYNAMIC_OPS) for m in static.modules())
    convs = [m for m in static.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 14 and all(type(m) is nn.Conv2d for m in convs)
    assert all(type(m) in (nn.BatchNorm2d, nn.Linear, nn.Conv2d)
               for m in static.modules()
               if isinstance(m, (nn.BatchNorm2d, nn.Linear)))
    bb, seg, cls = static.backbone, static.heads.seg, static.heads.cls
    assert bb.stem[0].weight.shape == (8, 3, 3, 3)
    assert bb.layer1[0].groups == 8 and bb.layer1[0].weight.shape == (
        8, 1, 3, 3)
    assert bb.layer1[3].weight.shape == (24, 8, 1, 1)
    assert bb.layer2[0].weight.shape == (8, 24, 3, 3)
    assert bb.layer2[0].bias is None and seg.conv_out.bias.shape == (5, )
    assert bb.layer2[1].num_features == 8 and not bb.layer2[1].affine
    # seg at 0.5: 8 channels, skip 4; the pooling and 1x1 branches concat
    assert seg.bottleneck[0].weight.shape == (8, 16, 3, 3)
    assert seg.fuse[0].groups == 12
    assert seg.conv_out.weight.shape == (5, 8, 1, 1)  # output kept full
    assert cls.fc1.weight.shape == (12, 8) and cls.fc2.weight.shape == (10,
                                                                        12)
    # sliced weights and statistics of the supernet
    assert torch.equal(bb.stem[0].weight, model.backbone.stem[0].weight[:8])
    assert torch.equal(bb.stem[1].running_var,
                       model.backbone.stem[1].running_var[:8])
    assert torch.equal(cls.fc1.weight, model.heads.cls.fc1.weight[:12, :8])
    assert static.exported_subnet == spec.to_dict()
    assert num_params(static) < num_params(model)
    # the static model cannot switch to another subnet
    assert static.set_subnet(spec.to_dict()) == spec
    with pytest.raises(ValueError, match='static export of subnet'):
        static.set_subnet(model.search_space.sample('max'))


def test_exported_model_pickles(tmp_path, model):
    spec = model.search_space.sample('min')
    static = export_static(model, spec)
    torch.save(static, tmp_path / 'static.pth')
    loaded = torch.load(tmp_path / 'static.pth', weights_only=False)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded._forward(x)['seg'],
                           static._forward(x)['seg'])
    assert loaded.set_subnet(spec) == spec


def test_parameter_counts(model):
    space = model.search_space
    at_max = export_static(model, space.sample('max'))
    assert num_params(at_max) == num_params(model)
    at_min = export_static(model, space.sample('min'))
    assert num_params(at_min) < num_params(model)
    # stem conv 3x3 3->8 instead of 3->16, BN 8 instead of 16
    assert at_min.backbone.stem[0].weight.numel() == 8 * 27
    assert at_min.backbone.stem[1].weight.numel() == 8


def test_supernet_is_untouched_and_mode_kept(model):
    model.set_subnet(model.search_space.sample('max'))
    model.train()
    model.backbone.stem[0].weight.requires_grad_(False)
    try:
        static = export_static(model, model.search_space.sample('min'))
    finally:
        model.backbone.stem[0].weight.requires_grad_(True)
        model.eval()
    assert static.training
    assert all(m.training for m in static.modules())
    assert not static.backbone.stem[0].weight.requires_grad
    assert static.backbone.stem[1].weight.requires_grad
    assert model.subnet == model.search_space.sample('max')
    assert isinstance(model.backbone.stem[0], DynamicConv2d)
    assert model.backbone.stem[0].active_out_channels == 16


def test_dict_spec_and_shared_modules():
    model = TinySlimMultiTask(seed=3).eval()
    model.extra_ref = nn.ModuleList([model.backbone.stem[0]])  # shared
    spec = model.search_space.sample('min').to_dict()
    static = export_static(model, spec, torch.zeros(1, 3, 16, 16))
    assert static.extra_ref[0] is static.backbone.stem[0]
    assert type(static.extra_ref[0]) is nn.Conv2d


def test_errors(model):
    bad = model.search_space.sample('max').to_dict()
    bad['encoder']['stem'] = 0.3
    with pytest.raises(ValueError, match=r"encoder\['stem'\] = 0.3"):
        export_static(model, bad)
    with pytest.raises(TypeError, match='set_subnet'):
        export_static(nn.Conv2d(3, 3, 1), SubnetSpec({}, {}))
    unreached = TinySlimMultiTask(seed=0).eval()
    unreached.spare = DynamicConv2d(4, 4, 1)
    with pytest.raises(ValueError, match=r"\['spare'\] are not reached"):
        export_static(unreached, unreached.search_space.sample('max'))


@pytest.mark.parametrize('backbone', ['mbv2', 'mbv2_blocks', 'r18'])
def test_real_slim_model_export(backbone):
    from test_macs_model import build_slim_model
    model = build_slim_model(backbone)
    torch.manual_seed(0)
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    space = model.search_space
    x = torch.randn(2, 3, 64, 64)
    for spec in specs_to_check(space)[:4]:
        static = export_static(model, spec, x[:1])
        assert type(static) is type(model)
        assert not any(isinstance(m, DYNAMIC_OPS) for m in static.modules())
        assert all(type(m) is nn.Conv2d for m in static.modules()
                   if isinstance(m, nn.Conv2d))
        model.set_subnet(spec)
        with torch.no_grad():
            expected = model._forward(x)
            got = static._forward(x)
            predictions = static.predict(x)
        for task in expected:
            assert (got[task] - expected[task]).abs().max() <= 1e-5
        assert predictions[0].pred_depth.data.shape == (1, 64, 64)
        assert predictions[1].pred_semseg.data.shape == (1, 64, 64)
        if spec != space.sample('max'):
            assert num_params(static) < num_params(model)
        else:
            assert static.set_subnet('max') == spec
    model.set_subnet('max')
