"""Dynamic ops against plain modules at full and reduced width."""
import pytest
import torch
from torch import nn

from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d, DynamicLinear,
                                                 make_divisible)


def test_make_divisible():
    assert make_divisible(32 * 0.5) == 16
    assert make_divisible(24 * 0.35) == 8
    assert make_divisible(30, 8) == 32
    assert make_divisible(11, 8) == 16  # 8 would lose > 10%
    assert make_divisible(3, 8) == 8


@pytest.mark.parametrize('out_active', [None, 5])
def test_dynamic_conv_equals_plain_slice(out_active):
    torch.manual_seed(0)
    dyn = DynamicConv2d(8, 12, 3, stride=2, padding=1, bias=True)
    dyn.active_out_channels = out_active
    x = torch.randn(2, 6, 9, 9)
    y = dyn(x)
    out = out_active or 12
    plain = dyn.export(6)
    assert isinstance(plain, nn.Conv2d) and type(plain) is nn.Conv2d
    assert plain.weight.shape == (out, 6, 3, 3)
    assert torch.equal(plain.weight, dyn.weight[:out, :6])
    assert y.shape == (2, out, 5, 5)
    assert torch.allclose(y, plain(x), atol=1e-6)
    ref = nn.functional.conv2d(x, dyn.weight[:out, :6], dyn.bias[:out], 2, 1)
    assert torch.allclose(y, ref)


def test_dynamic_depthwise_conv_follows_input():
    dyn = DynamicConv2d(16, 16, 3, padding=1, groups=16, bias=False)
    x = torch.randn(1, 8, 5, 5)
    y = dyn(x)
    plain = dyn.export(8)
    assert plain.groups == 8 and plain.weight.shape == (8, 1, 3, 3)
    assert torch.allclose(y, plain(x), atol=1e-6)


def test_dynamic_conv_errors():
    dyn = DynamicConv2d(4, 4, 1)
    with pytest.raises(ValueError, match='more than the full 4'):
        dyn(torch.randn(1, 5, 2, 2))
    dyn.active_out_channels = 9
    with pytest.raises(ValueError, match=r'active_out_channels=9 is not in'):
        dyn(torch.randn(1, 4, 2, 2))
    with pytest.raises(ValueError, match='groups=2'):
        DynamicConv2d(4, 8, 1, groups=2)


def test_dynamic_bn_slices_stats_and_updates_in_place():
    bn = DynamicBatchNorm2d(8, momentum=None)
    with torch.no_grad():
        bn.weight.copy_(torch.arange(1., 9.))
        bn.bias.copy_(torch.arange(8.) / 10)
    x = torch.randn(4, 5, 3, 3) * 2 + 1
    bn.train()
    y = bn(x)
    # cumulative average after one batch = that batch's statistics
    assert torch.allclose(bn.running_mean[:5], x.mean((0, 2, 3)), atol=1e-6)
    assert torch.allclose(bn.running_var[:5],
                          x.var((0, 2, 3), unbiased=True), atol=1e-5)
    assert torch.equal(bn.running_mean[5:], torch.zeros(3))
    bn.eval()
    plain = bn.export(5)
    assert type(plain) is nn.BatchNorm2d and plain.num_features == 5
    assert torch.allclose(bn(x), plain.eval()(x), atol=1e-6)
    ref = (x - bn.running_mean[:5, None, None]) / torch.sqrt(
        bn.running_var[:5, None, None] + bn.eps) * bn.weight[:5, None, None] \
        + bn.bias[:5, None, None]
    assert torch.allclose(bn(x), ref, atol=1e-5)
    assert y.shape == x.shape


def test_dynamic_bn_full_width_equals_plain_bn():
    torch.manual_seed(0)
    dyn, plain = DynamicBatchNorm2d(4), nn.BatchNorm2d(4)
    x = torch.randn(3, 4, 2, 2)
    assert torch.allclose(dyn(x), plain(x))
    assert torch.allclose(dyn.running_mean, plain.running_mean)


def test_dynamic_linear():
    torch.manual_seed(0)
    lin = DynamicLinear(10, 6)
    lin.active_out_features = 4
    x = torch.randn(3, 7)
    plain = lin.export(7)
    assert plain.weight.shape == (4, 7)
    assert torch.allclose(lin(x), plain(x), atol=1e-6)
    lin.active_out_features = None
    assert lin(torch.randn(2, 10)).shape == (2, 6)


def test_inference_slice_cache_follows_widths_and_weights():
    torch.manual_seed(0)
    dyn = DynamicConv2d(8, 8, 3, padding=1)
    x = torch.randn(1, 6, 5, 5)
    with torch.no_grad():
        dyn.active_out_channels = 4
        y1 = dyn(x)
        weight, _ = dyn.active_weight(4, 6)
        assert weight.is_contiguous() and weight.shape == (4, 6, 3, 3)
        assert dyn.active_weight(4, 6)[0] is weight  # reused
        dyn.weight.mul_(2)  # an optimizer step / checkpoint load
        y2 = dyn(x)
        dyn.active_out_channels = 5
        y3 = dyn(x)
    ref = nn.functional.conv2d(x, dyn.weight[:5, :6], dyn.bias[:5], padding=1)
    assert torch.allclose(y3, ref, atol=1e-6)
    assert torch.allclose(y2 - dyn.bias[:4, None, None],
                          2 * (y1 - dyn.bias[:4, None, None]), atol=1e-5)
    # with autograd the live slice is used (gradients reach the weight)
    dyn(x).sum().backward()
    assert dyn.weight.grad is not None


def test_bn_inference_cache_follows_widths_and_statistics():
    torch.manual_seed(0)
    bn = DynamicBatchNorm2d(8).eval()
    x = torch.randn(2, 6, 4, 4)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(8))
        y1 = bn(x)
        params = bn.active_params(6)
        assert all(a is b for a, b in zip(params, bn.active_params(6)))
        bn.running_mean.add_(1.0)  # a recalibration changes the stats
        y2 = bn(x)
        y3 = bn(x[:, :4])
    scale = bn.weight[:6, None, None] / torch.sqrt(
        bn.running_var[:6, None, None] + bn.eps)
    assert torch.allclose(y1 - y2, scale.expand_as(y1), atol=1e-5)
    ref = nn.functional.batch_norm(x[:, :4], bn.running_mean[:4],
                                   bn.running_var[:4], bn.weight[:4],
                                   bn.bias[:4], False, 0.0, bn.eps)
    assert torch.allclose(y3, ref, atol=1e-6)
    # training mode: statistics are updated through views, never cached
    bn.train()
    before = bn.running_mean.clone()
    with torch.no_grad():
        bn(x)
    assert not torch.equal(bn.running_mean[:6], before[:6])
    assert torch.equal(bn.running_mean[6:], before[6:])
