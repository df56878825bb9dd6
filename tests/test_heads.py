"""Task heads: output shapes on a MobileNetV2-like pyramid, gradients,
hand-computed outputs of the light heads, and the mmseg call convention."""
import pytest
import torch
import torch.nn as nn

from mmecmt.models.heads import (ClsTaskHead, DeepLabV3PlusTaskHead,
                                 FCNTaskHead)
from mmecmt.registry import MODELS
from mmecmt.structures.tasks import DENSE_KINDS, TaskSpec

#: MobileNetV2-like pyramid of a 64 x 96 input: (channels, stride).
PYRAMID = ((24, 4), (32, 8), (96, 16), (320, 32))


def make_feats(batch=2, height=64, width=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, c, height // s, width // s, generator=gen)
        for c, s in PYRAMID
    ]


def small_deeplab(out_channels, separable=False, **kwargs):
    return DeepLabV3PlusTaskHead(
        in_channels=(24, 320), in_index=(0, 3), channels=16, c1_channels=8,
        dilations=(1, 2, 4), out_channels=out_channels, separable=separable,
        **kwargs)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------ DeepLabv3+
@pytest.mark.parametrize('kind', DENSE_KINDS)
@pytest.mark.parametrize('separable', [False, True])
def test_deeplab_output_shape_per_kind(kind, separable):
    spec = TaskSpec('t', kind, 40 if kind == 'segmentation' else None)
    head = small_deeplab(spec.out_channels, separable)
    out = head(make_feats())
    # stride-4 map of the 64 x 96 input
    assert out.shape == (2, spec.out_channels, 16, 24)


def test_deeplab_structure_and_init():
    torch.manual_seed(0)
    head = small_deeplab(3)
    # 1x1 branch for dilation 1, atrous 3x3 for the others
    dilations = [b.conv.dilation for b in head.aspp.branches]
    kernels = [b.conv.kernel_size for b in head.aspp.branches]
    assert dilations == [(1, 1), (2, 2), (4, 4)]
    assert kernels == [(1, 1), (3, 3), (3, 3)]
    assert head.c1_bottleneck.conv.out_channels == 8
    assert head.decoder[0].conv.in_channels == 16 + 8
    assert head.conv_out.in_channels == 16 and head.conv_out.out_channels == 3
    assert torch.equal(head.conv_out.bias, torch.zeros(3))
    assert head.conv_out.weight.abs().max() < 0.06  # N(0, 0.01), 48 draws


def test_deeplab_separable_is_smaller_and_uses_depthwise_convs():
    dense, separable = small_deeplab(1), small_deeplab(1, separable=True)
    assert num_params(separable) < num_params(dense)
    depthwise = separable.aspp.branches[1].depthwise_conv.conv
    assert depthwise.groups == 320 and depthwise.dilation == (2, 2)


def test_deeplab_uses_both_levels_and_gradients_flow():
    torch.manual_seed(0)
    head = small_deeplab(1, dropout_ratio=0.0)
    feats = make_feats()
    out = head(feats)
    out.square().mean().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
    head.eval()
    with torch.no_grad():
        ref = head(feats)
        assert torch.equal(head(feats), ref)  # deterministic in eval mode
        for level in (0, 3):
            changed = list(feats)
            changed[level] = changed[level] + 1.0
            assert not torch.allclose(head(changed), ref)
        # levels the head does not select do not matter
        changed = list(feats)
        changed[1] = changed[1] * 0
        assert torch.equal(head(changed), ref)


def test_deeplab_errors():
    with pytest.raises(ValueError, match='pairs'):
        DeepLabV3PlusTaskHead(in_channels=(24, 32, 320), in_index=(0, 3),
                              out_channels=1)
    head = small_deeplab(1)
    feats = make_feats()
    with pytest.raises(ValueError, match='level 3 .*320 channels'):
        head(feats[:3] + [torch.zeros(2, 10, 2, 3)])
    with pytest.raises(ValueError, match='in_index 3 is out of range'):
        head(feats[:3])


# ------------------------------------------------------------------------ FCN
@pytest.mark.parametrize('in_index, in_channels, size', [
    (-1, 320, (2, 3)),
    (2, 96, (4, 6)),
    ((0, 1, 2, 3), (24, 32, 96, 320), (16, 24)),
    ((3, 1), (320, 32), (8, 12)),
])
def test_fcn_output_shape(in_index, in_channels, size):
    head = FCNTaskHead(in_channels=in_channels, in_index=in_index,
                       channels=8, out_channels=3)
    assert head(make_feats()).shape == (2, 3) + size


def test_fcn_fusion_hand_computed():
    """num_convs=0: conv_out sees [level a, level b upsampled]."""
    head = FCNTaskHead(in_channels=(1, 1), in_index=(0, 1), channels=4,
                       out_channels=1, num_convs=0, dropout_ratio=0.0)
    with torch.no_grad():
        head.conv_out.weight.copy_(torch.tensor([1.0, 10.0]).view(1, 2, 1, 1))
        head.conv_out.bias.fill_(0.5)
    fine = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    coarse = torch.full((1, 1, 1, 1), 3.0)  # constant -> 3 after resize
    out = head([fine, coarse])
    assert torch.allclose(out, fine + 30.0 + 0.5)


def test_fcn_gradients_and_conv_stack():
    head = FCNTaskHead(in_channels=(96, 320), in_index=(2, 3), channels=8,
                       out_channels=40, num_convs=2, kernel_size=3)
    assert head.convs[0].conv.in_channels == 96 + 320
    assert head.convs[1].conv.in_channels == 8
    feats = [f.requires_grad_() for f in make_feats()]
    out = head(feats)
    out.square().mean().backward()
    assert feats[2].grad.abs().sum() > 0 and feats[3].grad.abs().sum() > 0
    assert feats[0].grad is None
    assert all(p.grad is not None for p in head.parameters())


def test_fcn_errors():
    with pytest.raises(ValueError, match='same length'):
        FCNTaskHead(in_channels=(24, 32), in_index=0, channels=8,
                    out_channels=1)
    with pytest.raises(ValueError, match='kernel_size'):
        FCNTaskHead(in_channels=24, channels=8, out_channels=1, kernel_size=2)
    head = FCNTaskHead(in_channels=24, in_index=0, channels=8, out_channels=1)
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        head([torch.zeros(2, 24)])


# ------------------------------------------------------------- classification
def test_cls_head_pools_and_projects():
    head = ClsTaskHead(in_channels=2, num_classes=3)
    assert head.out_channels == 3
    assert torch.equal(head.fc.bias, torch.zeros(3))
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0],
                                           [1.0, -1.0]]))
        head.fc.bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    level = torch.tensor([[[[1.0, 3.0], [5.0, 7.0]],
                           [[0.0, 0.0], [0.0, 8.0]]]])  # means 4 and 2
    expected = torch.tensor([[4.0, 2.0, 3.0]])
    assert torch.allclose(head([torch.zeros(1, 5, 4, 4), level]), expected)
    # an already pooled (B, C) level is accepted as is
    assert torch.allclose(head([torch.tensor([[4.0, 2.0]])]), expected)


def test_cls_head_mobilenet_pyramid_and_gradients():
    head = ClsTaskHead(in_channels=320, num_classes=5, dropout_ratio=0.2)
    out = head(make_feats())
    assert out.shape == (2, 5)
    out.sum().backward()
    assert head.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='320 channels'):
        ClsTaskHead(in_channels=320, num_classes=5, in_index=2)(make_feats())


# ----------------------------------------------- registry and mmseg convention
def test_heads_build_from_registry():
    head = MODELS.build(
        dict(type='DeepLabV3PlusTaskHead', in_channels=(24, 320),
             in_index=(0, 3), channels=8, c1_channels=4, dilations=(1, 2),
             out_channels=1, separable=True))
    assert isinstance(head, DeepLabV3PlusTaskHead)
    head = MODELS.build(
        dict(type='mmecmt.FCNTaskHead', in_channels=96, in_index=2,
             channels=8, out_channels=1))
    assert isinstance(head, FCNTaskHead)
    head = MODELS.build(dict(type='ClsTaskHead', in_channels=320,
                             num_classes=4))
    assert isinstance(head, ClsTaskHead)


@pytest.mark.parametrize('cfg, size', [
    (dict(type='mmseg.ASPPHead', in_channels=320, in_index=3, channels=8,
          dilations=(1, 2, 4)), (2, 3)),
    (dict(type='mmseg.FCNHead', in_channels=96, in_index=2, channels=8,
          num_convs=1), (4, 6)),
])
@pytest.mark.filterwarnings('ignore::UserWarning')  # mmseg's loss_decode
def test_mmseg_heads_follow_the_same_call_convention(cfg, size):
    # the 'mmseg.' scope resolves through the parent registry, no import
    head = MODELS.build(
        dict(cfg, num_classes=1, out_channels=1, threshold=0.5))
    out = head.forward(make_feats())
    assert out.shape == (2, 1) + size
    ours = FCNTaskHead(in_channels=cfg['in_channels'],
                       in_index=cfg['in_index'], channels=8, out_channels=1)
    assert ours(make_feats()).shape == out.shape
    assert isinstance(head, nn.Module)
