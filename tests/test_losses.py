"""Task losses against hand-computed values on tiny tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmecmt.models.losses import (DEFAULT_LOSS_WEIGHTS, BalancedBCELoss,
                                  ClsCrossEntropyLoss, DepthL1Loss,
                                  NormalsL1Loss, SegCrossEntropyLoss,
                                  WeightedBCEEdgeLoss, build_task_loss)
from mmecmt.registry import MODELS

LOG2, LOG3, LOG4 = math.log(2.0), math.log(3.0), math.log(4.0)


def assert_scalar_close(value, expected, tol=1e-6):
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, abs=tol, rel=tol)


def assert_zero_with_grad(loss, pred):
    assert loss.dim() == 0 and loss.item() == 0.0
    loss.backward()
    assert pred.grad is not None
    assert torch.equal(pred.grad, torch.zeros_like(pred))


# ---------------------------------------------------------------- segmentation
def seg_example():
    """2x2 map, 2 classes. Pixel CEs: log2 (label 0, logits 0/0), log4
    (label 1, logits log3/0), ignored, log(4/3) (label 0, logits log3/0)."""
    logits = torch.tensor([[[[0.0, LOG3], [7.0, LOG3]],
                            [[0.0, 0.0], [-2.0, 0.0]]]], requires_grad=True)
    target = torch.tensor([[[[0, 1], [255, 0]]]], dtype=torch.int64)
    return logits, target


def test_seg_ce_mean_over_non_ignored_pixels():
    logits, target = seg_example()
    expected = (LOG2 + LOG4 + math.log(4 / 3)) / 3
    assert_scalar_close(SegCrossEntropyLoss()(logits, target), expected)
    # (B, H, W) targets and the loss weight
    assert_scalar_close(
        SegCrossEntropyLoss(loss_weight=2.0)(logits, target[:, 0]),
        2 * expected)
    # agrees with PyTorch's ignore_index mean
    ref = F.cross_entropy(logits, target[:, 0], ignore_index=255)
    assert_scalar_close(SegCrossEntropyLoss()(logits, target), ref.item())


def test_seg_ce_class_weight_is_weighted_mean():
    logits, target = seg_example()
    loss = SegCrossEntropyLoss(class_weight=[1.0, 2.0])(logits, target)
    expected = (LOG2 + 2 * LOG4 + math.log(4 / 3)) / (1 + 2 + 1)
    assert_scalar_close(loss, expected)


def test_seg_ce_gradient_only_on_valid_pixels():
    logits, target = seg_example()
    SegCrossEntropyLoss()(logits, target).backward()
    # ignored pixel (1, 0): no gradient; pixel (0, 0): (softmax - onehot) / 3
    assert torch.equal(logits.grad[0, :, 1, 0], torch.zeros(2))
    expected = torch.tensor([0.5 - 1.0, 0.5]) / 3
    assert torch.allclose(logits.grad[0, :, 0, 0], expected)


def test_seg_ce_all_ignored_is_zero_with_grad():
    logits = torch.randn(2, 3, 2, 2, requires_grad=True)
    target = torch.full((2, 1, 2, 2), 255, dtype=torch.int64)
    assert_zero_with_grad(SegCrossEntropyLoss()(logits, target), logits)
    logits.grad = None
    weighted = SegCrossEntropyLoss(class_weight=[1.0, 2.0, 3.0])
    assert_zero_with_grad(weighted(logits, target), logits)


def test_seg_ce_errors():
    loss = SegCrossEntropyLoss()
    with pytest.raises(ValueError, match=r'\(1, 2, 2, 2\).*\(1, 1, 3, 3\)'):
        loss(torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 3, 3).long())
    with pytest.raises(ValueError, match=r'\[5\].*\[0, 1\]'):
        loss(torch.zeros(1, 2, 1, 1), torch.tensor([[[[5]]]]))
    with pytest.raises(ValueError, match='integer'):
        loss(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match='3 entries but .* 2 classes'):
        SegCrossEntropyLoss(class_weight=[1, 1, 1])(
            torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, 1).long())


# ----------------------------------------------------------------------- depth
def test_depth_l1_masks_zero_and_nonfinite_targets():
    pred = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    target = torch.tensor([[[[1.5, 0.0], [float('nan'), 2.0]]]])
    loss = DepthL1Loss()(pred, target)
    assert_scalar_close(loss, (0.5 + 2.0) / 2)
    loss.backward()
    assert torch.equal(pred.grad,
                       torch.tensor([[[[-0.5, 0.0], [0.0, 0.5]]]]))
    target_inf = torch.tensor([[[[1.5, -1.0], [float('inf'), 2.0]]]])
    assert_scalar_close(DepthL1Loss(loss_weight=3.0)(pred, target_inf), 3.75)


def test_depth_l1_all_invalid_is_zero_with_grad():
    pred = torch.randn(2, 1, 3, 3, requires_grad=True)
    target = torch.zeros(2, 1, 3, 3)
    target[0, 0, 0, 0] = float('nan')
    assert_zero_with_grad(DepthL1Loss()(pred, target), pred)


def test_depth_l1_shape_errors():
    with pytest.raises(ValueError, match=r'\(1, 1, 2, 2\).*\(1, 1, 2, 3\)'):
        DepthL1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        DepthL1Loss()(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2))


# --------------------------------------------------------------------- normals
def test_normals_l1_normalises_prediction_and_masks_zero_targets():
    # pixels (row-major): pred -> unit pred, target, summed |diff|
    #   (2, 0, 0)  -> (1, 0, 0),     (0, 1, 0): 2
    #   (0, 0, -3) -> (0, 0, -1),    zero: invalid
    #   (0, 3, 4)  -> (0, .6, .8),   (0, 0, 1): 0.8
    #   (0, 0, 5)  -> (0, 0, 1),     (0, 0, 1): 0
    pred = torch.tensor([[2., 0., 0., 0.], [0., 0., 3., 0.],
                         [0., -3., 4., 5.]]).reshape(1, 3, 2, 2)
    target = torch.tensor([[0., 0., 0., 0.], [1., 0., 0., 0.],
                           [0., 0., 1., 1.]]).reshape(1, 3, 2, 2)
    pred.requires_grad_(True)
    loss = NormalsL1Loss()(pred, target)
    assert_scalar_close(loss, 10.0 * (2.0 + 0.8 + 0.0) / 3, tol=1e-5)
    loss.backward()
    assert torch.equal(pred.grad[0, :, 0, 1], torch.zeros(3))
    assert torch.isfinite(pred.grad).all()
    assert_scalar_close(
        NormalsL1Loss(loss_weight=1.0)(pred, target), 2.8 / 3, tol=1e-5)


def test_normals_l1_all_invalid_is_zero_with_grad():
    pred = torch.randn(1, 3, 2, 2, requires_grad=True)
    assert_zero_with_grad(NormalsL1Loss()(pred, torch.zeros(1, 3, 2, 2)),
                          pred)


def test_normals_l1_shape_errors():
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        NormalsL1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r'\(1, 3, 2, 2\).*\(1, 3, 4, 4\)'):
        NormalsL1Loss()(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 4, 4))


# ------------------------------------------------------------ edge / saliency
def bce_example():
    """Pixel BCEs: positive x=0 -> log2, negative x=log3 -> log4,
    positive x=-log3 -> log4, ignored."""
    logits = torch.tensor([[[[0.0, LOG3], [-LOG3, 2.0]]]], requires_grad=True)
    target = torch.tensor([[[[1.0, 0.0], [1.0, 255.0]]]])
    return logits, target


def mtl_pytorch_balanced_bce(output, label, pos_weight=None):
    """Reference: BalancedCrossEntropyLoss(size_average=True) of
    Multi-Task-Learning-PyTorch, losses/loss_functions.py (no void pixels)."""
    labels = (label >= 0.5).float()
    if pos_weight is None:
        num_pos = labels.sum()
        num_neg = (1.0 - labels).sum()
        w = num_neg / (num_pos + num_neg)
    else:
        w = pos_weight
    gt_zero = (output >= 0).float()
    loss_val = output * (labels - gt_zero) - torch.log(
        1 + torch.exp(output - 2 * output * gt_zero))
    loss_pos = -(labels * loss_val).sum()
    loss_neg = -((1.0 - labels) * loss_val).sum()
    return (w * loss_pos + (1 - w) * loss_neg) / label.numel()


def test_balanced_bce_hand_computed():
    logits, target = bce_example()
    # P = 2, N = 1, T = 3: w_pos = 1/3, w_neg = 2/3
    expected = (1 / 3 * (LOG2 + LOG4) + 2 / 3 * LOG4) / 3
    assert_scalar_close(BalancedBCELoss()(logits, target), 5 * expected)
    assert_scalar_close(
        BalancedBCELoss(loss_weight=1.0)(logits, target), 7 / 9 * LOG2)


def test_weighted_bce_edge_hand_computed():
    logits, target = bce_example()
    expected = (0.95 * (LOG2 + LOG4) + 0.05 * LOG4) / 3
    assert_scalar_close(WeightedBCEEdgeLoss()(logits, target), 50 * expected)
    half = WeightedBCEEdgeLoss(loss_weight=1.0, pos_weight=0.5)
    assert_scalar_close(half(logits, target), 0.5 * (LOG2 + 2 * LOG4) / 3)


def test_bce_losses_match_mtl_pytorch_without_ignore():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 3, 3) * 3
    target = (torch.rand(2, 1, 3, 3) > 0.7).float()
    assert_scalar_close(
        BalancedBCELoss(loss_weight=1.0)(logits, target),
        mtl_pytorch_balanced_bce(logits, target).item(), tol=1e-5)
    assert_scalar_close(
        WeightedBCEEdgeLoss(loss_weight=1.0)(logits, target),
        mtl_pytorch_balanced_bce(logits, target, 0.95).item(), tol=1e-5)


@pytest.mark.parametrize('loss_type', [BalancedBCELoss, WeightedBCEEdgeLoss])
def test_bce_all_ignored_is_zero_with_grad(loss_type):
    logits = torch.randn(1, 1, 2, 2, requires_grad=True)
    target = torch.full((1, 1, 2, 2), 255.0)
    assert_zero_with_grad(loss_type()(logits, target), logits)


@pytest.mark.parametrize('loss_type', [BalancedBCELoss, WeightedBCEEdgeLoss])
def test_bce_errors(loss_type):
    with pytest.raises(ValueError, match=r'\(2, 1, 2, 2\).*\(2, 1, 3, 3\)'):
        loss_type()(torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match=r'\[0\.5\]'):
        loss_type()(torch.zeros(1, 1, 1, 2), torch.tensor([[[[0.5, 1.0]]]]))


def test_balanced_bce_single_class_batch():
    # only negatives: w_pos = 1, w_neg = 0 -> loss 0 (HED-style weighting)
    logits = torch.tensor([[[[1.0, -1.0]]]], requires_grad=True)
    loss = BalancedBCELoss()(logits, torch.zeros(1, 1, 1, 2))
    assert_scalar_close(loss, 0.0)


def test_edge_pos_weight_range():
    with pytest.raises(ValueError, match='pos_weight'):
        WeightedBCEEdgeLoss(pos_weight=1.5)


# -------------------------------------------------------------- classification
def test_cls_ce_ignores_minus_one():
    logits = torch.tensor([[0.0, 0.0], [LOG3, 0.0], [5.0, -5.0]],
                          requires_grad=True)
    target = torch.tensor([0, 1, -1])
    expected = (LOG2 + LOG4) / 2
    assert_scalar_close(ClsCrossEntropyLoss()(logits, target), expected)
    assert_scalar_close(
        ClsCrossEntropyLoss(loss_weight=0.5)(logits, target[:, None]),
        0.5 * expected)


def test_cls_ce_all_ignored_is_zero_with_grad():
    logits = torch.randn(3, 5, requires_grad=True)
    assert_zero_with_grad(
        ClsCrossEntropyLoss()(logits, torch.full((3, ), -1)), logits)


def test_cls_ce_errors():
    with pytest.raises(ValueError, match=r'\(3, 2\).*\(2,\)'):
        ClsCrossEntropyLoss()(torch.zeros(3, 2), torch.zeros(2).long())
    with pytest.raises(ValueError, match=r'\(B, K\)'):
        ClsCrossEntropyLoss()(torch.zeros(3, 2, 1, 1), torch.zeros(3).long())
    with pytest.raises(ValueError, match=r'\[2\]'):
        ClsCrossEntropyLoss()(torch.zeros(1, 2), torch.tensor([2]))


# -------------------------------------------------------------------- builder
@pytest.mark.parametrize('kind, loss_type, weight', [
    ('segmentation', SegCrossEntropyLoss, 1.0),
    ('depth', DepthL1Loss, 1.0),
    ('normals', NormalsL1Loss, 10.0),
    ('edge', WeightedBCEEdgeLoss, 50.0),
    ('saliency', BalancedBCELoss, 5.0),
    ('classification', ClsCrossEntropyLoss, 1.0),
])
def test_build_task_loss_defaults(kind, loss_type, weight):
    loss = build_task_loss(kind)
    assert type(loss) is loss_type
    assert loss.loss_weight == weight


def test_build_task_loss_overrides():
    parts = build_task_loss('segmentation',
                            dict(loss_weight=DEFAULT_LOSS_WEIGHTS['parts']))
    assert isinstance(parts, SegCrossEntropyLoss) and parts.loss_weight == 2.0
    edge = build_task_loss('edge', dict(pos_weight=0.9))
    assert edge.pos_weight == 0.9 and edge.loss_weight == 50.0
    other = build_task_loss('depth', dict(type='NormalsL1Loss'))
    assert isinstance(other, NormalsL1Loss)
    module = DepthL1Loss(loss_weight=4.0)
    assert build_task_loss('depth', module) is module
    with pytest.raises(ValueError, match="unknown task kind 'keypoints'"):
        build_task_loss('keypoints')


def test_default_loss_weights_and_registry():
    assert DEFAULT_LOSS_WEIGHTS['semseg'] == 1
    assert DEFAULT_LOSS_WEIGHTS['parts'] == 2
    assert DEFAULT_LOSS_WEIGHTS['sal'] == 5
    assert DEFAULT_LOSS_WEIGHTS['normals'] == 10
    assert DEFAULT_LOSS_WEIGHTS['depth'] == 1
    assert DEFAULT_LOSS_WEIGHTS['edge'] == 50
    assert DEFAULT_LOSS_WEIGHTS['classification'] == 1
    loss = MODELS.build(dict(type='mmecmt.BalancedBCELoss', loss_weight=1.0))
    assert isinstance(loss, BalancedBCELoss) and loss.loss_weight == 1.0
