"""SlimDeepLabV3PlusTaskHead and its concat-input dynamic ops."""
import pytest
import torch
from torch import nn

from mmecmt.models.heads import DeepLabV3PlusTaskHead
from mmecmt.models.heads.slim_deeplabv3plus_head import (
    ConcatInputDynamicBatchNorm2d, ConcatInputDynamicConv2d,
    SlimDeepLabV3PlusTaskHead)
from mmecmt.models.slimmable.dynamic_ops import DYNAMIC_OPS
from mmecmt.registry import MODELS

# full: low level 16 ch, high level 32 ch; ASPP / decoder 32, skip 16
HEAD_ARGS = dict(in_channels=(16, 32), out_channels=3, channels=32,
                 c1_channels=16, dilations=(1, 2), dropout_ratio=0.0)


def randomize_bn_(model: nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


def make_pair(separable: bool, norm_cfg=dict(type='BN')):
    """A fixed head with random weights and a slim head loading them."""
    torch.manual_seed(0)
    ref = DeepLabV3PlusTaskHead(separable=separable, norm_cfg=norm_cfg,
                                **HEAD_ARGS)
    nn.init.normal_(ref.conv_out.weight, std=0.5)  # not ~0 as initialised
    randomize_bn_(ref)
    for m in ref.modules():  # conv biases exist when norm_cfg is None
        if isinstance(m, nn.Conv2d) and m.bias is not None:
            nn.init.uniform_(m.bias, -0.5, 0.5)
    slim = SlimDeepLabV3PlusTaskHead(separable=separable, norm_cfg=norm_cfg,
                                     **HEAD_ARGS)
    slim.load_state_dict(ref.state_dict())
    return ref.eval(), slim.eval()


def feats(low_channels=16, high_channels=32, batch=2):
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(batch, low_channels, 8, 8, generator=gen),
            torch.randn(batch, high_channels, 4, 4, generator=gen)]


def gathered(tensor, dim, parts_full, parts_active):
    """The active channels of a concatenation along ``dim``: part k keeps
    its first ``parts_active[k]`` channels (written out by hand)."""
    pieces, start = [], 0
    for full, active in zip(parts_full, parts_active):
        pieces.append(tensor.narrow(dim, start, active))
        start += full
    return torch.cat(pieces, dim)


def static_equivalent(slim, c, c1, low_in, high_in, norm_cfg):
    """A fixed DeepLabV3PlusTaskHead of the reduced widths holding the
    slim head's active weights, sliced independently of the slim ops."""
    small = DeepLabV3PlusTaskHead(
        in_channels=(low_in, high_in), out_channels=3, channels=c,
        c1_channels=c1, dilations=(1, 2), dropout_ratio=0.0,
        separable=slim.separable, norm_cfg=norm_cfg).eval()
    full = slim.state_dict()
    num_parts = len(slim.dilations) + 1
    aspp_parts = ((32, ) * num_parts, (c, ) * num_parts)
    decoder_parts = ((32, 16), (c, c1))
    state = {}
    for key, value in small.state_dict().items():
        big = full[key]
        leading = big[tuple(slice(0, n) for n in value.shape)]
        parts = aspp_parts if key.startswith('aspp.bottleneck.') else \
            decoder_parts if key.startswith('decoder.0.') else None
        if parts is None or value.dim() == 0:
            state[key] = leading  # output side or not reading a concat
        elif slim.separable and '.depthwise_conv.' in key:
            state[key] = gathered(big, 0, *parts)  # filters / norm per input
        elif key.endswith('conv.conv.weight' if slim.separable else
                          'conv.weight'):
            state[key] = gathered(big[:value.shape[0]], 1, *parts)
        else:
            state[key] = leading  # the norm after the conv
    small.load_state_dict(state)
    return small


@pytest.mark.parametrize('separable', [False, True])
def test_full_width_equals_fixed_head(separable):
    ref, slim = make_pair(separable)
    assert list(slim.state_dict()) == list(ref.state_dict())
    for name, m in slim.named_modules():
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            assert isinstance(m, DYNAMIC_OPS), name
    x = feats()
    with torch.no_grad():
        expected, actual = ref(x), slim(x)
    assert actual.shape == (2, 3, 8, 8)
    assert (actual - expected).abs().max().item() < 1e-5
    assert expected.abs().max().item() > 0.1  # a non-trivial comparison


@pytest.mark.parametrize('separable', [False, True])
@pytest.mark.parametrize('norm_cfg', [dict(type='BN'), None])
def test_reduced_width_equals_static_head_with_sliced_weights(
        separable, norm_cfg):
    _, slim = make_pair(separable, norm_cfg)
    slim.set_width(0.5)  # channels 32 -> 16, c1 16 -> 8
    assert (slim.active_channels, slim.active_c1_channels) == (16, 8)
    x = feats(low_channels=8, high_channels=24)  # a slimmed encoder
    small = static_equivalent(slim, 16, 8, 8, 24, norm_cfg)
    with torch.no_grad():
        expected, actual = small(x), slim(x)
    assert actual.shape == (2, 3, 8, 8)
    assert (actual - expected).abs().max().item() < 1e-5


def test_width_rule_and_shapes():
    slim = SlimDeepLabV3PlusTaskHead(separable=True, **HEAD_ARGS).eval()
    # 32 * 0.3 = 9.6 -> 16 (8 would lose > 10%); 16 * 0.3 = 4.8 -> 8
    slim.set_width(0.3)
    assert (slim.active_channels, slim.active_c1_channels) == (16, 8)
    seen = {}
    for name in ('aspp', 'c1_bottleneck', 'decoder'):
        getattr(slim, name).register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, o.shape[1]))
    with torch.no_grad():
        out = slim(feats(low_channels=8, high_channels=16, batch=1))
    assert out.shape == (1, 3, 8, 8)  # conv_out keeps out_channels
    assert seen == {'aspp': 16, 'c1_bottleneck': 8, 'decoder': 16}
    slim.set_width(1.0)
    with torch.no_grad():
        slim(feats(batch=1))
    assert seen == {'aspp': 32, 'c1_bottleneck': 16, 'decoder': 32}


def test_training_updates_only_active_slices():
    slim = MODELS.build(dict(type='SlimDeepLabV3PlusTaskHead',
                             separable=True, **HEAD_ARGS))
    slim.train()
    slim.set_width(0.5)
    bn = slim.aspp.bottleneck.depthwise_conv.bn  # over the 3-part concat
    assert isinstance(bn, ConcatInputDynamicBatchNorm2d)
    mean_before = bn.running_mean.clone()
    out = slim(feats(low_channels=16, high_channels=8))
    out.sum().backward()
    grad = slim.conv_out.weight.grad  # (3, 32, 1, 1)
    assert grad[:, 16:].abs().sum() == 0 and grad[:, :16].abs().sum() > 0
    active = torch.zeros(96, dtype=torch.bool)
    for start in (0, 32, 64):
        active[start:start + 16] = True
    changed = bn.running_mean != mean_before
    assert changed[active].all() and not changed[~active].any()
    pointwise = slim.aspp.bottleneck.pointwise_conv.conv.weight.grad
    assert pointwise[:16, active].abs().sum() > 0
    assert pointwise[:, ~active].abs().sum() == 0


def test_concat_conv_hand_computed():
    conv = ConcatInputDynamicConv2d(4, 2, 1, bias=False, in_segments=(2, 2))
    with torch.no_grad():  # weight[o, i] = 10 * o + i
        conv.weight.copy_(torch.tensor([[0., 1, 2, 3], [10, 11, 12, 13]])
                          .view(2, 4, 1, 1))
    conv.set_active_in_segments((1, 1))  # input channels 0 and 2 active
    conv.active_out_channels = 1
    x = torch.tensor([1., 100.]).view(1, 2, 1, 1)
    assert conv(x).flatten().tolist() == [0 * 1 + 2 * 100]
    conv.active_out_channels = None
    assert conv(x).flatten().tolist() == [200., 10 + 1200.]
    exported = conv.export(2)
    assert type(exported) is nn.Conv2d
    assert exported.weight.flatten().tolist() == [0., 2, 10, 12]
    # only the last part reduced: the leading slice, channels 0, 1, 2
    conv.set_active_in_segments((2, 1))
    assert conv(torch.ones(1, 3, 1, 1)).flatten().tolist() == [3., 33.]
    with pytest.raises(ValueError, match=r'4 channels.*\(2, 1\) sum to 3'):
        conv(torch.ones(1, 4, 1, 1))
    with pytest.raises(ValueError, match='within the full parts'):
        conv.set_active_in_segments((3, 1))


def test_concat_depthwise_conv_and_bn_hand_computed():
    dw = ConcatInputDynamicConv2d(4, 4, 1, groups=4, bias=False,
                                  in_segments=(2, 2))
    with torch.no_grad():
        dw.weight.copy_(torch.tensor([1., 2, 3, 4]).view(4, 1, 1, 1))
    dw.set_active_in_segments((1, 1))
    assert dw(torch.ones(1, 2, 1, 1)).flatten().tolist() == [1., 3.]

    bn = ConcatInputDynamicBatchNorm2d(4, momentum=0.5, in_segments=(2, 2))
    bn.set_active_in_segments((1, 1))
    x = torch.tensor([[1., 10.], [3., 30.]]).view(2, 2, 1, 1)
    bn(x)  # batch means 2 and 20, unbiased variances 2 and 200
    assert bn.running_mean.tolist() == [1., 0., 10., 0.]
    assert bn.running_var.tolist() == [1.5, 1., 100.5, 1.]
    bn.eval()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1., 1., 2., 1.]))
    y = bn(torch.tensor([1., 10.5]).view(1, 2, 1, 1)).flatten()
    assert torch.allclose(y, torch.tensor([0., 2 * 0.5 / 100.5 ** 0.5]),
                          atol=1e-5)
    exported = bn.export(2)
    assert exported.running_var.tolist() == [1.5, 100.5]


def test_invalid_width_and_inputs():
    slim = SlimDeepLabV3PlusTaskHead(**HEAD_ARGS)
    for bad in (0, 1.01, -1, None):
        with pytest.raises(ValueError, match=r'\(0, 1\]'):
            slim.set_width(bad)
    with pytest.raises(ValueError, match=r'level 0 has shape \(2, 17, 8, 8\)'
                       r'.*C <= 16'):
        slim(feats(low_channels=17))
    with pytest.raises(ValueError, match='in_index 0 is out of range for 0'):
        slim([])


# ------------------------------------------------------- classification head
def test_slim_cls_head_widths_and_errors():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='SlimClsTaskHead', in_channels=32,
                             num_classes=5, channels=16))
    x = torch.randn(2, 32, 4, 4)
    full = head([x])
    assert full.shape == (2, 5)
    # full width equals the plain computation
    hidden = torch.relu(x.mean((2, 3)) @ head.fc_hidden.weight.T
                        + head.fc_hidden.bias)
    expected = hidden @ head.fc.weight.T + head.fc.bias
    assert torch.allclose(full, expected, atol=1e-6)
    # half width, slimmed input: the leading slices of both layers
    head.set_width(0.5)
    assert head.active_channels == 8
    xs = x[:, :24]
    hidden = torch.relu(xs.mean((2, 3)) @ head.fc_hidden.weight[:8, :24].T
                        + head.fc_hidden.bias[:8])
    expected = hidden @ head.fc.weight[:, :8].T + head.fc.bias
    assert torch.allclose(head([xs]), expected, atol=1e-6)
    assert head([xs.mean((2, 3))]).shape == (2, 5)  # pooled input
    with pytest.raises(ValueError, match=r'1 <= C <= 32'):
        head([torch.randn(2, 40, 4, 4)])
    with pytest.raises(ValueError, match=r'in_index -1 is out of range'):
        head([])
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        head.set_width(1.5)
    with pytest.raises(ValueError, match='channels must be >= 1'):
        MODELS.build(dict(type='SlimClsTaskHead', in_channels=8,
                          num_classes=5, channels=0))
