"""Slimmable encoders: SlimMobileNetV2 (vs mmpretrain's MobileNetV2) and
SlimResNet (vs mmseg's ResNetV1c), plus the conversion / width-rule helpers."""
import pytest
import torch
from mmpretrain.models import MobileNetV2, ResNet_CIFAR
from mmseg.models.backbones import ResNetV1c
from torch import nn

from mmecmt.models.backbones import (SlimMobileNetV2, SlimResNet,
                                     SlimResNetCIFAR)
from mmecmt.models.slimmable.convert import (convert_to_dynamic_,
                                             scale_channels)
from mmecmt.models.slimmable.dynamic_ops import (DYNAMIC_OPS,
                                                 DynamicBatchNorm2d,
                                                 DynamicConv2d)
from mmecmt.registry import MODELS


def randomize_bn_(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN affine parameters and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


def output_channels_of(model: nn.Module, module: nn.Module, x):
    """Channels that ``module`` produces during ``model(x)``."""
    seen = []
    handle = module.register_forward_hook(
        lambda mod, inp, out: seen.append(out.shape[1]))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0]


def assert_all_dynamic(model: nn.Module) -> None:
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            assert isinstance(m, DYNAMIC_OPS), name


# ---------------------------------------------------------------- helpers
def test_scale_channels_width_rule():
    assert scale_channels(96, 0.5) == 48
    assert scale_channels(96, 1.0) == 96
    assert scale_channels(35, 1.0) == 35  # full, though not a multiple of 8
    assert scale_channels(24, 0.25) == 8  # at least the divisor
    assert scale_channels(4, 0.5) == 4  # never above full
    # 32 * 0.3 = 9.6 -> 8 would lose > 10% -> 16
    assert scale_channels(32, 0.3) == 16
    assert scale_channels(32, 0.3, divisor=4) == 12


def test_convert_shares_tensors_and_modes():
    conv, bn = nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6)
    bn.eval()
    conv.weight.requires_grad_(False)
    model = nn.Sequential(conv, bn, nn.Sequential(nn.Linear(6, 2)))
    convert_to_dynamic_(model)
    assert isinstance(model[0], DynamicConv2d)
    assert isinstance(model[1], DynamicBatchNorm2d)
    assert model[0].weight is conv.weight  # shared, not copied
    assert model[1].running_var is bn.running_var
    assert not model[0].weight.requires_grad
    assert model[0].training and not model[1].training
    assert_all_dynamic(model)
    assert list(model.state_dict()) == [
        '0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var',
        '1.num_batches_tracked', '2.0.weight', '2.0.bias']


def test_convert_rejects_layers_without_dynamic_twin():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.GroupNorm(2, 4))
    with pytest.raises(TypeError, match=r'1 is a GroupNorm'):
        convert_to_dynamic_(model)
    with pytest.raises(TypeError, match=r'0 is a SyncBatchNorm'):
        convert_to_dynamic_(nn.Sequential(nn.SyncBatchNorm(4)))


# ------------------------------------------------------------ MobileNetV2
MBV2_OUT = (0, 1, 2, 3, 4, 5, 6, 7)


def make_mbv2_pair(block_widths=False, **kwargs):
    torch.manual_seed(0)
    ref = MobileNetV2(widen_factor=0.5, out_indices=MBV2_OUT, **kwargs)
    randomize_bn_(ref)
    slim = SlimMobileNetV2(widen_factor=0.5, out_indices=MBV2_OUT,
                           block_widths=block_widths, **kwargs)
    slim.load_state_dict(ref.state_dict())
    ref.eval()  # (the OpenMMLab backbones' train() returns None)
    return ref, slim.eval()


def test_mbv2_keys_and_full_width_output_equal_mmpretrain():
    ref, slim = make_mbv2_pair()
    assert list(slim.state_dict()) == list(ref.state_dict())
    assert_all_dynamic(slim)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected, actual = ref(x), slim(x)
    assert len(actual) == len(expected) == 8
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        assert (a - e).abs().max().item() < 1e-6
    # explicit full widths give the same model
    slim.set_stage_widths({name: 1.0 for name in slim.stage_names})
    with torch.no_grad():
        again = slim(x)
    assert all(torch.equal(a, b) for a, b in zip(again, actual))


def test_mbv2_reduced_widths():
    _, slim = make_mbv2_pair()
    assert slim.stage_names == ('conv1', 'layer1', 'layer2', 'layer3',
                                'layer4', 'layer5', 'layer6', 'layer7',
                                'conv2')
    # full widths at widen_factor 0.5: 16, 8, 16, 16, 32, 48, 80, 160, 1280
    slim.set_stage_widths({'conv1': 0.5, 'layer2': 0.5, 'layer4': 0.5,
                           'layer5': 0.25, 'conv2': 0.25})
    expected = {'conv1': 8, 'layer1': 8, 'layer2': 8, 'layer3': 16,
                'layer4': 16, 'layer5': 16, 'layer6': 80, 'layer7': 160,
                'conv2': 320}
    assert slim.active_stage_channels == expected
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        outs = slim(x)
    assert [tuple(o.shape) for o in outs] == [
        (1, 8, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4), (1, 16, 2, 2),
        (1, 16, 2, 2), (1, 80, 1, 1), (1, 160, 1, 1), (1, 320, 1, 1)]
    # hidden width of layer4's first block: round(16 * 6) = 96 -> 48
    assert output_channels_of(slim, slim.layer4[0].conv[0], x) == 48
    # the depthwise conv follows it
    assert output_channels_of(slim, slim.layer4[0].conv[1], x) == 48
    # layer1 (expand ratio 1) has no expansion: hidden = its input (8)
    assert output_channels_of(slim, slim.layer1[0].conv[0], x) == 8


def test_mbv2_identity_shortcut_follows_input_width():
    # widen_factor 0.25: conv1 and layer1 are both 8 wide, so layer1's
    # block has an identity shortcut across the stage boundary.
    slim = SlimMobileNetV2(widen_factor=0.25, out_indices=(0, 1),
                           divisor=4).eval()
    assert slim.layer1[0].use_res_connect
    slim.set_stage_widths({'conv1': 0.5, 'layer1': 1.0, 'layer2': 0.5})
    assert slim.active_stage_channels['layer1'] == 4
    with torch.no_grad():
        out1, out2 = slim(torch.randn(1, 3, 16, 16))
    assert out1.shape == (1, 4, 8, 8)
    assert out2.shape == (1, 4, 4, 4)  # scale_channels(8, 0.5, 4)


def test_mbv2_train_mode_and_gradients_at_reduced_width():
    slim = SlimMobileNetV2(widen_factor=0.5, out_indices=(2, ))
    slim.set_stage_widths({'layer3': 0.5})
    (out, ) = slim(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 8, 4, 4)
    out.sum().backward()
    grad = slim.layer3[2].conv[2].conv.weight.grad  # (16, 96, 1, 1)
    assert grad[8:].abs().sum() == 0  # inactive output filters untouched
    assert grad[:8, :48].abs().sum() > 0
    assert grad[:, 48:].abs().sum() == 0  # inactive hidden channels


def test_mbv2_invalid_widths():
    slim = SlimMobileNetV2(widen_factor=0.5)
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['layer8'\]"
                       r".*'conv1'.*'conv2'"):
        slim.set_stage_widths({'layer8': 0.5})
    for bad in (0.0, 1.5, -0.25, True, 'half'):
        with pytest.raises(ValueError, match=r"stage 'layer2'.*\(0, 1\]"):
            slim.set_stage_widths({'layer2': bad})
    with pytest.raises(TypeError, match='mapping'):
        slim.set_stage_widths([0.5])
    with pytest.raises(ValueError, match='divisor'):
        SlimMobileNetV2(widen_factor=0.5, divisor=0)


def test_mbv2_block_widths_units_and_hidden_channels():
    ref, slim = make_mbv2_pair(block_widths=True)
    # the stage units, then one unit per block with an expansion conv
    assert slim.stage_names[:9] == SlimMobileNetV2.stage_names
    assert slim.stage_names[9:] == (
        'layer2.0', 'layer2.1', 'layer3.0', 'layer3.1', 'layer3.2',
        'layer4.0', 'layer4.1', 'layer4.2', 'layer4.3', 'layer5.0',
        'layer5.1', 'layer5.2', 'layer6.0', 'layer6.1', 'layer6.2',
        'layer7.0')
    assert list(slim.state_dict()) == list(ref.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():  # full width: still mmpretrain's output
        for a, e in zip(slim(x), ref(x)):
            assert (a - e).abs().max().item() < 1e-6
    # layer4 at 0.5 sets its output (32 -> 16); each block's hidden width
    # follows its own unit (full 192 hidden at widen 0.5 for layer4.1..3)
    slim.set_stage_widths({'layer4': 0.5, 'layer4.0': 1.0, 'layer4.1': 0.5,
                           'layer4.2': 0.75})
    assert slim.active_stage_channels['layer4'] == 16
    assert output_channels_of(slim, slim.layer4[0].conv[0], x) == 96
    assert output_channels_of(slim, slim.layer4[1].conv[0], x) == 96
    assert output_channels_of(slim, slim.layer4[2].conv[0], x) == 144
    assert output_channels_of(slim, slim.layer4[3].conv[0], x) == 192
    assert output_channels_of(slim, slim.layer4[2].conv[2], x) == 16
    # without block_widths the unit names are unknown
    _, plain = make_mbv2_pair()
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['layer4.1'\]"):
        plain.set_stage_widths({'layer4.1': 0.5})
    with pytest.raises(ValueError, match=r"stage 'layer2.1'.*\(0, 1\]"):
        slim.set_stage_widths({'layer2.1': 1.5})


def test_mbv2_frozen_stages_and_registry():
    slim = MODELS.build(dict(type='SlimMobileNetV2', widen_factor=0.5,
                             frozen_stages=1, out_indices=(1, )))
    assert isinstance(slim, SlimMobileNetV2)
    slim.train()
    assert not slim.conv1.conv.weight.requires_grad
    assert not slim.layer1[0].conv[0].bn.training
    assert slim.layer2[0].conv[0].bn.training


# ----------------------------------------------------------------- ResNet
def make_resnet_pair(depth, ref_cls=ResNetV1c, slim_cls=SlimResNet,
                     **kwargs):
    torch.manual_seed(0)
    ref = ref_cls(depth=depth, **kwargs)
    randomize_bn_(ref)
    slim = slim_cls(depth=depth, **kwargs)
    slim.load_state_dict(ref.state_dict())
    ref.eval()  # (the OpenMMLab backbones' train() returns None)
    return ref, slim.eval()


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('ref_cls, slim_cls', [(ResNetV1c, SlimResNet),
                                               (ResNet_CIFAR, SlimResNetCIFAR)])
def test_resnet_keys_and_full_width_output_equal_openmmlab(
        depth, ref_cls, slim_cls):
    """SlimResNet vs mmseg's ResNetV1c, SlimResNetCIFAR vs mmpretrain's
    ResNet_CIFAR."""
    ref, slim = make_resnet_pair(depth, ref_cls, slim_cls, base_channels=16,
                                 stem_channels=16, out_indices=(2, 3))
    assert list(slim.state_dict()) == list(ref.state_dict())
    assert_all_dynamic(slim)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected, actual = ref(x), slim(x)
    assert len(actual) == len(expected) == 2
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        assert (a - e).abs().max().item() < 1e-5 * max(
            1.0, e.abs().max().item())


def test_resnet_keys_equal_mmseg_at_default_width():
    ref = ResNetV1c(depth=18)
    slim = SlimResNet(depth=18)
    assert list(slim.state_dict()) == list(ref.state_dict())
    assert {k: v.shape for k, v in slim.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}


def test_resnet18_reduced_widths():
    slim = SlimResNet(depth=18).eval()
    assert slim.stage_names == ('stem', 'layer1', 'layer2', 'layer3',
                                'layer4')
    slim.set_stage_widths({'stem': 0.5, 'layer1': 0.25, 'layer2': 0.25,
                           'layer4': 0.75})
    # layer1's blocks have identity shortcuts: its output follows the stem
    assert slim.active_stage_channels == {
        'stem': 32, 'layer1': 32, 'layer2': 32, 'layer3': 256,
        'layer4': 384}
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        outs = slim(x)
    assert [tuple(o.shape) for o in outs] == [
        (1, 32, 8, 8), (1, 32, 4, 4), (1, 256, 2, 2), (1, 384, 1, 1)]
    assert output_channels_of(slim, slim.stem[0], x) == 16
    # layer1's ratio sets its inner width: scale_channels(64, 0.25) = 16
    assert output_channels_of(slim, slim.layer1[0].conv1, x) == 16


def test_resnet50_reduced_widths_and_dilation():
    slim = SlimResNet(depth=50, base_channels=16, stem_channels=16,
                      strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)).eval()
    # full: stem 16, layers 64, 128, 256, 512 (Bottleneck, planes 16..128)
    slim.set_stage_widths({'stem': 0.5, 'layer1': 0.5, 'layer3': 0.25})
    assert slim.active_stage_channels == {
        'stem': 8, 'layer1': 32, 'layer2': 128, 'layer3': 64,
        'layer4': 512}
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        outs = slim(x)
    # output stride 8: layers 3 and 4 keep the 4x4 map
    assert [tuple(o.shape) for o in outs] == [
        (1, 32, 8, 8), (1, 128, 4, 4), (1, 64, 4, 4), (1, 512, 4, 4)]
    # Bottleneck inner width: scale_channels(64, 0.25) = 16
    assert output_channels_of(slim, slim.layer3[1].conv2, x) == 16
    assert slim.layer4[0].conv2.dilation == (4, 4)


def test_resnet_train_mode_and_errors():
    slim = MODELS.build(dict(type='SlimResNet', depth=18, base_channels=16,
                             stem_channels=16, out_indices=(3, )))
    slim.set_stage_widths({'layer4': 0.5})
    (out, ) = slim(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 64, 1, 1)
    out.sum().backward()
    assert slim.layer4[1].conv2.weight.grad[64:].abs().sum() == 0
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['conv1'\]"
                       r".*'stem'"):
        slim.set_stage_widths({'conv1': 0.5})
    with pytest.raises(ValueError, match=r"stage 'stem'.*\(0, 1\]"):
        slim.set_stage_widths({'stem': 0})


# ------------------------------------------------------------ ResNet_CIFAR
def test_resnet_cifar_reduced_widths_and_errors():
    slim = MODELS.build(dict(type='SlimResNetCIFAR', depth=18,
                             out_indices=(0, 3))).eval()
    assert slim.stage_names == ('stem', 'layer1', 'layer2', 'layer3',
                                'layer4')
    slim.set_stage_widths({'stem': 0.5, 'layer1': 0.25, 'layer4': 0.625})
    # layer1 keeps the stem's width (identity shortcuts)
    assert slim.active_stage_channels == {
        'stem': 32, 'layer1': 32, 'layer2': 128, 'layer3': 256,
        'layer4': 320}
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        outs = slim(x)
    # stride-1 stem, no max-pool: layer1 at 32x32, layer4 at 4x4
    assert [tuple(o.shape) for o in outs] == [(1, 32, 32, 32),
                                              (1, 320, 4, 4)]
    assert output_channels_of(slim, slim.layer1[0].conv1, x) == 16
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['conv1'\]"):
        slim.set_stage_widths({'conv1': 0.5})
    with pytest.raises(ValueError, match='avg_down'):
        SlimResNetCIFAR(depth=18, avg_down=True)
