"""MultiTaskMetric end to end: process over batches == the whole set."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import LabelData, PixelData

from mmecmt.evaluation import MultiTaskMetric
from mmecmt.evaluation.functional import (ClassificationAccumulator,
                                          DepthAccumulator, EdgeAccumulator,
                                          NormalsAccumulator,
                                          SaliencyAccumulator,
                                          SegmentationAccumulator)
from mmecmt.registry import METRICS
from mmecmt.structures import MultiTaskDataSample

TASKS = dict(
    semseg=dict(kind='segmentation', num_classes=3),
    depth=dict(kind='depth'),
    normals=dict(kind='normals'),
    edge=dict(kind='edge'),
    sal=dict(kind='saliency'),
    cls=dict(kind='classification', num_classes=4),
)
H, W = 6, 8


def _make_sample(rng, skip=()):
    """One MultiTaskDataSample with random gt / pred in canonical formats."""
    gt_seg = rng.integers(0, 3, size=(1, H, W))
    gt_seg[0, 0, :2] = 255
    gt_depth = rng.uniform(0.5, 5, size=(1, H, W)) * (rng.random(
        (1, H, W)) > 0.2)
    gt_n = rng.normal(size=(3, H, W))
    gt_n /= np.linalg.norm(gt_n, axis=0, keepdims=True)
    gt_n[:, 1, :3] = 0
    gt_edge = (rng.random((1, H, W)) < 0.2).astype(np.float32)
    gt_edge[0, 5, 5] = 255
    gt_sal = (rng.random((1, H, W)) < 0.4).astype(np.float32)
    gt_sal[0, 2, 2] = 255
    pred_n = rng.normal(size=(3, H, W))
    pred_n /= np.linalg.norm(pred_n, axis=0, keepdims=True)
    fields = dict(
        semseg=(rng.integers(0, 3, size=(1, H, W)), gt_seg),
        depth=(rng.uniform(0.5, 5, size=(1, H, W)), gt_depth),
        normals=(pred_n, gt_n),
        edge=(rng.random((1, H, W)), gt_edge),
        sal=(rng.random((1, H, W)), gt_sal),
    )
    sample = MultiTaskDataSample()
    for name, (pred, gt) in fields.items():
        if name in skip:
            continue
        dtype = torch.int64 if name == 'semseg' else torch.float32
        sample.set_field(PixelData(data=torch.as_tensor(pred, dtype=dtype)),
                         f'pred_{name}')
        sample.set_field(PixelData(data=torch.as_tensor(gt, dtype=dtype)),
                         f'gt_{name}')
    score = torch.softmax(torch.as_tensor(rng.normal(size=4)), 0)
    sample.pred_cls = LabelData(score=score, label=score.argmax().view(1))
    sample.gt_cls = LabelData(label=torch.tensor([int(rng.integers(-1, 4))]))
    return sample


def _reference(samples):
    """Dataset-level metrics from the functional accumulators."""
    accs = dict(semseg=SegmentationAccumulator(3),
                depth=DepthAccumulator(),
                normals=NormalsAccumulator(),
                edge=EdgeAccumulator(),
                sal=SaliencyAccumulator(),
                cls=ClassificationAccumulator())
    for s in samples:
        for name, acc in accs.items():
            if f'gt_{name}' not in s:
                continue
            if name == 'cls':
                acc.update(s.pred_cls.label.numpy(), s.gt_cls.label.numpy())
            else:
                acc.update(
                    s.get(f'pred_{name}').data.numpy(),
                    s.get(f'gt_{name}').data.numpy())
    return {
        f'{n}/{k}': v
        for n, acc in accs.items()
        for k, v in acc.compute().items()
    }


def test_two_batches_equal_whole_set():
    rng = np.random.default_rng(0)
    samples = [_make_sample(rng) for _ in range(4)]
    samples.append(_make_sample(rng, skip=('depth', 'edge')))

    metric = MultiTaskMetric(tasks=TASKS)
    metric.process(None, [s.to_dict() for s in samples[:2]])
    metric.process(None, [s.to_dict() for s in samples[2:]])
    batched = metric.compute_metrics(metric.results)

    whole = MultiTaskMetric(tasks=TASKS)
    whole.process(None, [s.to_dict() for s in samples])
    assert whole.compute_metrics(whole.results) == batched

    expected = _reference(samples)
    assert set(batched) == set(expected)
    for key, value in expected.items():
        assert batched[key] == pytest.approx(value, nan_ok=True), key
    assert all(isinstance(v, float) for v in batched.values())
    for key in ('semseg/mIoU', 'semseg/aAcc', 'depth/rmse', 'depth/abs_rel',
                'depth/delta1', 'normals/mean', 'normals/median',
                'normals/within_11.25', 'normals/within_22.5',
                'normals/within_30', 'edge/odsF', 'sal/maxF', 'sal/IoU',
                'cls/top1'):
        assert key in batched


def test_dataset_level_not_mean_of_images():
    # image 1: depth error 2 on 1 pixel; image 2: error 1 on 3 pixels
    samples = []
    for pred, gt in ((np.array([[[3.0]]]), np.array([[[1.0]]])), (np.full(
        (1, 1, 3), 2.0), np.ones((1, 1, 3)))):
        s = MultiTaskDataSample()
        s.pred_depth = PixelData(data=torch.as_tensor(pred))
        s.gt_depth = PixelData(data=torch.as_tensor(gt))
        samples.append(s.to_dict())
    metric = MultiTaskMetric(tasks=dict(depth=dict(kind='depth')))
    metric.process(None, samples[:1])
    metric.process(None, samples[1:])
    out = metric.compute_metrics(metric.results)
    # pooled over the 4 pixels; the mean of per-image values would give
    # rmse (2 + 1) / 2 = 1.5 and abs_rel (2 + 1) / 2 = 1.5
    assert out['depth/rmse'] == pytest.approx(np.sqrt(7 / 4))
    assert out['depth/abs_rel'] == pytest.approx(5 / 4)


def test_hand_values_and_delta_m_through_evaluator():
    s = MultiTaskDataSample()
    s.pred_semseg = PixelData(data=torch.tensor([[[0, 1], [1, 1]]]))
    s.gt_semseg = PixelData(data=torch.tensor([[[0, 1], [0, 255]]]))
    s.pred_cls = LabelData(label=torch.tensor([2]),
                           score=torch.tensor([0.1, 0.2, 0.7]))
    s.gt_cls = LabelData(label=torch.tensor([2]))
    metric = METRICS.build(
        dict(type='MultiTaskMetric', stl_reference=dict(semseg=0.5, cls=0.8)))
    evaluator = Evaluator(metric)
    # tasks come from the dataset meta, as the Runner sets it
    evaluator.dataset_meta = dict(
        tasks=dict(semseg=dict(kind='segmentation', num_classes=2),
                   cls=dict(kind='classification', num_classes=3)))
    evaluator.process([s])  # a MultiTaskDataSample: the evaluator to_dict()s
    out = evaluator.evaluate(1)
    # IoU0 = 1 / 2, IoU1 = 1 / 2 -> mIoU 0.5; aAcc 2 / 3; top1 1
    assert out['semseg/mIoU'] == pytest.approx(0.5)
    assert out['semseg/aAcc'] == pytest.approx(2 / 3)
    assert out['cls/top1'] == 1.0
    # Delta_m = (0 + (1 - 0.8) / 0.8) / 2 = 12.5 %
    assert out['delta_m'] == pytest.approx(12.5)


def test_missing_tasks_and_references_raise():
    metric = MultiTaskMetric()
    with pytest.raises(ValueError, match="'tasks'"):
        metric.process(None, [{}])
    metric = MultiTaskMetric(tasks=dict(depth=dict(kind='depth')),
                             stl_reference=dict(semseg=0.4))
    s = MultiTaskDataSample()
    s.pred_depth = PixelData(data=torch.ones(1, 2, 2))
    s.gt_depth = PixelData(data=torch.ones(1, 2, 2))
    metric.process(None, [s.to_dict()])
    with pytest.raises(KeyError, match="task 'depth'"):
        metric.compute_metrics(metric.results)
    bad = MultiTaskDataSample()
    bad.pred_depth = PixelData(data=torch.ones(1, 2, 2))
    bad.gt_depth = PixelData(data=torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match="task 'depth'.*shape"):
        metric.process(None, [bad.to_dict()])


def test_results_are_small_statistics():
    rng = np.random.default_rng(1)
    metric = MultiTaskMetric(tasks=TASKS)
    metric.process(None, [_make_sample(rng).to_dict()])
    record = metric.results[0]
    assert set(record) == set(TASKS)
    assert record['semseg']['confmat'].shape == (3, 3)
    assert record['edge']['matched_pred'].shape == (99, )
    assert record['sal']['tp'].shape == (19, )
    # nothing of image size is stored except the sparse angle histogram
    assert record['normals']['hist_bins'].size <= H * W - 3
