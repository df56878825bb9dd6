"""MultiTaskEncoderDecoder: losses, predictions, mmseg/mmpretrain parts."""
import pytest
import torch
from mmengine.structures import LabelData, PixelData

from mmecmt.registry import MODELS
from mmecmt.structures import MultiTaskDataSample
from mmecmt.utils import register_all_modules

register_all_modules()

H, W = 32, 48


def _fcn(out_channels, in_index=3, in_channels=160):
    return dict(
        type='mmseg.FCNHead', in_channels=in_channels, in_index=in_index,
        channels=16, num_convs=1, concat_input=False,
        num_classes=max(out_channels, 1), out_channels=out_channels)


def build_model(cls_task=False, backbone=None):
    tasks = dict(
        semseg=dict(kind='segmentation', num_classes=4, head=_fcn(4)),
        depth=dict(kind='depth', head=_fcn(1)),
        normals=dict(kind='normals', head=_fcn(3)),
        edge=dict(kind='edge', head=_fcn(1)),
        sal=dict(kind='saliency', head=_fcn(1)),
    )
    if cls_task:
        tasks['cls_a'] = dict(
            kind='classification', num_classes=5,
            head=dict(type='ClsTaskHead', in_channels=160, num_classes=5,
                      in_index=3))
    backbone = backbone or dict(
        type='mmpretrain.MobileNetV2', widen_factor=0.5,
        out_indices=(1, 2, 4, 6))
    return MODELS.build(
        dict(type='MultiTaskEncoderDecoder', backbone=backbone, tasks=tasks,
             data_preprocessor=dict(type='MultiTaskDataPreProcessor',
                                    size_divisor=32)))


def make_sample(seed, h=H, w=W, cls_label=None):
    g = torch.Generator().manual_seed(seed)
    sample = MultiTaskDataSample(
        metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    sample.gt_semseg = PixelData(
        data=torch.randint(0, 4, (1, h, w), generator=g))
    sample.gt_depth = PixelData(data=torch.rand(1, h, w, generator=g) + 0.5)
    normals = torch.nn.functional.normalize(
        torch.randn(3, h, w, generator=g), dim=0)
    sample.gt_normals = PixelData(data=normals)
    sample.gt_edge = PixelData(
        data=(torch.rand(1, h, w, generator=g) > 0.9).float())
    sample.gt_sal = PixelData(
        data=(torch.rand(1, h, w, generator=g) > 0.5).float())
    if cls_label is not None:
        sample.gt_cls_a = LabelData(label=torch.tensor([cls_label]))
    return sample


def make_batch(n=2, **kw):
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs,
                data_samples=[make_sample(i, **kw) for i in range(n)])


def test_loss_has_every_task_and_backpropagates():
    model = build_model(cls_task=True)
    data = model.data_preprocessor(make_batch(cls_label=2), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {f'loss_{t}' for t in
                           ('semseg', 'depth', 'normals', 'edge', 'sal',
                            'cls_a')}
    total = sum(losses.values())
    total.backward()
    grad = model.backbone.conv1.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_padding_is_ignored_in_targets():
    """A 30x45 sample padded to 32x64 pads labels with 255, depth with 0."""
    from mmecmt.models.architectures import stack_dense_targets
    s = make_sample(0, h=30, w=45)
    seg = stack_dense_targets([s], 'semseg', 'segmentation', (32, 64))
    depth = stack_dense_targets([s], 'depth', 'depth', (32, 64))
    assert seg.shape == (1, 1, 32, 64)
    assert (seg[..., 30:, :] == 255).all() and (seg[..., 45:] == 255).all()
    assert (depth[..., 30:, :] == 0).all()
    assert torch.equal(seg[0, :, :30, :45], s.gt_semseg.data)
    with pytest.raises(ValueError, match='larger than the batch input'):
        stack_dense_targets([s], 'semseg', 'segmentation', (16, 16))


def test_predict_outputs_at_ori_shape_with_valid_ranges():
    model = build_model(cls_task=True).eval()
    batch = make_batch(cls_label=1)
    # second image was resized from 64x96 for the network: restore it.
    batch['data_samples'][1].set_metainfo(dict(ori_shape=(64, 96)))
    with torch.no_grad():
        data = model.data_preprocessor(batch, training=False)
        assert data['inputs'].shape == (2, 3, 32, 64)  # padded to /32
        out = model(**data, mode='predict')
    a, b = out
    assert a.pred_semseg.data.shape == (1, H, W)
    assert a.pred_semseg.data.dtype == torch.int64
    assert b.pred_depth.data.shape == (1, 64, 96)
    norms = a.pred_normals.data.norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    assert 0 <= a.pred_edge.data.min() and a.pred_sal.data.max() <= 1
    assert a.pred_cls_a.score.shape == (5, )
    assert torch.isclose(a.pred_cls_a.score.sum(), torch.tensor(1.0))


def test_flipped_prediction_negates_normals_x():
    model = build_model().eval()
    batch = make_batch(n=1)
    with torch.no_grad():
        data = model.data_preprocessor(batch, training=False)
        raw = model(data['inputs'], mode='tensor')
        s = data['data_samples'][0]
        s.set_metainfo(dict(flip=True, flip_direction='horizontal'))
        pred = model.postprocess(raw, [s])[0].pred_normals.data
    ref = torch.nn.functional.normalize(raw['normals'][0, :, :H, :W], dim=0)
    assert torch.allclose(pred[0], -ref[0].flip(-1), atol=1e-6)
    assert torch.allclose(pred[1:], ref[1:].flip(-1), atol=1e-6)


def test_wrong_head_channels_is_a_clear_error():
    model = MODELS.build(dict(
        type='MultiTaskEncoderDecoder',
        backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.5,
                      out_indices=(1, 2, 4, 6)),
        tasks=dict(normals=dict(kind='normals', head=_fcn(1)))))
    with pytest.raises(ValueError, match="task 'normals'.*3 channels"):
        model.eval()(torch.zeros(1, 3, 32, 32), mode='tensor')


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown kind'):
        MODELS.build(dict(
            type='MultiTaskEncoderDecoder',
            backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.5,
                          out_indices=(1, 2, 4, 6)),
            tasks=dict(x=dict(kind='optical_flow', head=_fcn(2)))))


def test_mmseg_resnet_backbone_with_aspp_head():
    backbone = dict(type='mmseg.ResNetV1c', depth=18, num_stages=4,
                    out_indices=(0, 1, 2, 3), strides=(1, 2, 2, 2),
                    dilations=(1, 1, 1, 1), norm_cfg=dict(type='BN'))
    tasks = dict(depth=dict(kind='depth', head=dict(
        type='mmseg.ASPPHead', in_channels=512, in_index=3, channels=16,
        dilations=(1, 2), num_classes=1, out_channels=1)))
    model = MODELS.build(dict(type='MultiTaskEncoderDecoder',
                              backbone=backbone, tasks=tasks))
    out = model(torch.zeros(2, 3, 32, 32), mode='tensor')
    assert out['depth'].shape == (2, 1, 32, 32)


def test_head_output_size_is_filled_from_the_task():
    from mmecmt.models.architectures import MultiTaskEncoderDecoder as M
    from mmecmt.structures import TaskSpec
    seg = TaskSpec('semseg', 'segmentation', 7)
    normals = TaskSpec('normals', 'normals')
    assert M.complete_head_cfg(dict(type='FCNTaskHead'), seg) == dict(
        type='FCNTaskHead', out_channels=7)
    assert M.complete_head_cfg(dict(type='mmseg.ASPPHead'), normals) == dict(
        type='mmseg.ASPPHead', num_classes=3, out_channels=3)
    cls_task = TaskSpec('c', 'classification', 5)
    assert M.complete_head_cfg(
        dict(type='mmpretrain.LinearClsHead'), cls_task) == dict(
            type='mmpretrain.LinearClsHead', num_classes=5)
    assert M.complete_head_cfg(dict(type='ClsTaskHead'), cls_task) == dict(
        type='ClsTaskHead', num_classes=5)
    # explicit values win
    assert M.complete_head_cfg(dict(type='X', out_channels=2),
                               seg)['out_channels'] == 2
    with pytest.raises(KeyError, match='not registered'):
        M.complete_head_cfg(dict(type='NoSuchHead'), seg)
