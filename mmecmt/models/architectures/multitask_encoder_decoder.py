"""A shared encoder with one head per task: the multi-task baseline."""
import inspect
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import LabelData, PixelData
from torch import Tensor, nn

from mmecmt.registry import MODELS
from mmecmt.structures import (CLS_IGNORE_INDEX, IGNORE_INDEX,
                               MultiTaskDataSample, TaskSpec)

#: padding value of a dense target, by task kind (outside the image).
_TARGET_PAD = {
    'segmentation': IGNORE_INDEX,
    'edge': IGNORE_INDEX,
    'saliency': IGNORE_INDEX,
    'depth': 0.0,
    'normals': 0.0,
}


def stack_dense_targets(data_samples: Sequence[MultiTaskDataSample],
                        task: str, kind: str,
                        size: Tuple[int, int]) -> Tensor:
    """Stack one dense task's targets into a batch padded to ``size``.

    Args:
        data_samples: B samples, each with ``gt_<task>.data`` (C, h_i, w_i)
            where h_i <= size[0] and w_i <= size[1].
        task: task name; kind: its kind (decides the padding value).
        size: (H, W) of the batch input.

    Returns:
        Tensor (B, C, H, W); padding holds the kind's ignore/invalid value.
    """
    key = f'gt_{task}'
    targets = []
    for i, sample in enumerate(data_samples):
        if key not in sample:
            raise KeyError(
                f'sample {i} ({sample.metainfo.get("img_path", "?")}) has no '
                f'{key!r}; tasks in the sample: {sample.gt_tasks()}')
        gt = sample.get(key).data
        h, w = gt.shape[-2:]
        if h > size[0] or w > size[1]:
            raise ValueError(
                f'{key} of sample {i} has shape {tuple(gt.shape)}, larger '
                f'than the batch input {tuple(size)}')
        if (h, w) != tuple(size):
            gt = F.pad(gt, (0, size[1] - w, 0, size[0] - h),
                       value=_TARGET_PAD[kind])
        targets.append(gt)
    return torch.stack(targets)


def stack_cls_targets(data_samples: Sequence[MultiTaskDataSample],
                      task: str) -> Tensor:
    """Labels (B,) int64 of one classification task; -1 where absent."""
    key = f'gt_{task}'
    labels = []
    for sample in data_samples:
        if key in sample:
            labels.append(sample.get(key).label.reshape(-1)[:1])
        else:
            labels.append(torch.tensor([CLS_IGNORE_INDEX]))
    return torch.cat(labels).long()


@MODELS.register_module()
class MultiTaskEncoderDecoder(BaseModel):
    """Shared backbone (+ optional neck) and one head and loss per task.

    ``tasks`` maps each task name to ``dict(kind=..., num_classes=...,
    head=<head config>, loss=<loss config>)``; a head config without
    ``out_channels`` / ``num_classes`` gets them from the task (see
    :meth:`complete_head_cfg`), and a missing ``loss`` is the kind's default
    (the loss weights of MTI-Net / ATRC / Multi-Task-Learning-PyTorch, see
    :mod:`mmecmt.models.losses.task_loss_builder`). A head is called as
    ``head(feats)`` on the backbone's (or neck's) multi-level features and
    returns (B, C, h, w) for a dense task or (B, C) for classification; so the
    plugin's heads, mmseg decode heads (``mmseg.ASPPHead`` ...) and mmpretrain
    backbones all fit. Dense outputs are upsampled bilinearly to the input
    size before the loss and before post-processing.

    Args:
        backbone: backbone config (``'mmpretrain.MobileNetV2'``,
            ``'mmseg.ResNetV1c'``, or the plugin's).
        tasks: per-task configs as above.
        neck: optional neck config.
        data_preprocessor: defaults to ``MultiTaskDataPreProcessor``.
        align_corners: for the bilinear upsampling of head outputs.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 tasks: Dict[str, dict],
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiTaskDataPreProcessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not tasks:
            raise ValueError('MultiTaskEncoderDecoder needs at least one task')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.align_corners = align_corners
        self.task_specs: Dict[str, TaskSpec] = {}
        self.heads = nn.ModuleDict()
        self.task_losses = nn.ModuleDict()
        for name, task_cfg in tasks.items():
            task_cfg = dict(task_cfg)
            if 'head' not in task_cfg:
                raise KeyError(f'task {name!r} has no "head" config')
            head_cfg = task_cfg.pop('head')
            loss_cfg = task_cfg.pop('loss', None)
            spec = TaskSpec.from_cfg(name, task_cfg)
            self.task_specs[name] = spec
            self.heads[name] = MODELS.build(
                self.complete_head_cfg(head_cfg, spec))
            self.task_losses[name] = self._build_loss(spec, loss_cfg)

    @staticmethod
    def complete_head_cfg(head_cfg: dict, spec: TaskSpec) -> dict:
        """Fill the head's output size from the task when the config leaves
        it out: whichever of ``out_channels`` / ``num_classes`` the head's
        constructor takes (mmseg decode heads take both)."""
        head_cfg = dict(head_cfg)
        if 'out_channels' in head_cfg or 'num_classes' in head_cfg:
            return head_cfg
        head_type = head_cfg.get('type')
        head_cls = MODELS.get(head_type) if isinstance(head_type,
                                                       str) else head_type
        if head_cls is None:
            raise KeyError(f'task {spec.name!r}: head type {head_type!r} is '
                           'not registered')
        # constructor arguments, including those a subclass passes on
        # through **kwargs (mmseg's ASPPHead -> BaseDecodeHead)
        params = set()
        for klass in head_cls.__mro__:
            if klass is nn.Module:
                break
            if '__init__' in vars(klass):
                params |= set(inspect.signature(klass.__init__).parameters)
        filled = False
        for key in ('out_channels', 'num_classes'):
            if key in params:
                head_cfg[key] = spec.out_channels
                filled = True
        if not filled:
            raise ValueError(
                f'task {spec.name!r}: cannot tell {head_cls.__name__} its '
                f'output size ({spec.out_channels}); set it in the head '
                'config')
        return head_cfg

    @staticmethod
    def _build_loss(spec: TaskSpec, loss_cfg: Optional[dict]) -> nn.Module:
        from mmecmt.models.losses import build_task_loss
        return build_task_loss(spec.kind, loss_cfg)

    @property
    def tasks(self) -> List[str]:
        return list(self.task_specs)

    # ------------------------------------------------------------------
    # forward pieces
    # ------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) -> tuple of multi-level features."""
        feats = self.backbone(inputs)
        if isinstance(feats, Tensor):
            feats = (feats, )
        if self.neck is not None:
            feats = self.neck(feats)
            if isinstance(feats, Tensor):
                feats = (feats, )
        return tuple(feats)

    def decode_heads(self, feats: Tuple[Tensor, ...],
                     input_size: Tuple[int, int]) -> Dict[str, Tensor]:
        """Run every head; dense outputs are resized to ``input_size``.

        Returns:
            {task: (B, C_t, H, W) for dense tasks, (B, C_t) otherwise}.
        """
        return {
            name: self.decode_head(name, feats, input_size)
            for name in self.task_specs
        }

    def decode_head(self, name: str, feats: Tuple[Tensor, ...],
                    input_size: Tuple[int, int]) -> Tensor:
        """Run task ``name``'s head on ``feats``: (B, C_t, H, W) at
        ``input_size`` for a dense task, (B, C_t) otherwise."""
        spec = self.task_specs[name]
        out = self.heads[name](feats)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        self._check_output(spec, out)
        if spec.is_dense and tuple(out.shape[-2:]) != tuple(input_size):
            out = F.interpolate(
                out, size=input_size, mode='bilinear',
                align_corners=self.align_corners)
        return out

    @staticmethod
    def _check_output(spec: TaskSpec, out: Tensor) -> None:
        expected_dim = 4 if spec.is_dense else 2
        if out.dim() != expected_dim or out.shape[1] != spec.out_channels:
            raise ValueError(
                f'head of task {spec.name!r} ({spec.kind}) returned shape '
                f'{tuple(out.shape)}; expected {expected_dim}-D with '
                f'{spec.out_channels} channels (set the head\'s out_channels '
                '/ num_classes)')

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """Raw outputs of every task head at input resolution."""
        return self.decode_heads(self.extract_feat(inputs), inputs.shape[-2:])

    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(
            f'Invalid mode "{mode}"; only "loss", "predict" and "tensor" '
            'are supported')

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def compute_task_losses(self, outputs: Dict[str, Tensor],
                            data_samples: Sequence[MultiTaskDataSample],
                            prefix: str = '') -> Dict[str, Tensor]:
        """Task losses ``{f'{prefix}loss_{task}': scalar}`` (weighted)."""
        losses = {}
        for name, spec in self.task_specs.items():
            out = outputs[name]
            if spec.is_dense:
                target = stack_dense_targets(data_samples, name, spec.kind,
                                             out.shape[-2:]).to(out.device)
            else:
                target = stack_cls_targets(data_samples, name).to(out.device)
            losses[f'{prefix}loss_{name}'] = self.task_losses[name](out,
                                                                    target)
        return losses

    def loss(self, inputs: Tensor,
             data_samples: Sequence[MultiTaskDataSample]) -> Dict[str, Tensor]:
        outputs = self._forward(inputs)
        return self.compute_task_losses(outputs, data_samples)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict(self, inputs: Tensor,
                data_samples: Optional[List[MultiTaskDataSample]] = None
                ) -> List[MultiTaskDataSample]:
        """Predict every task; dense predictions at each image's ori_shape."""
        outputs = self._forward(inputs)
        if data_samples is None:
            data_samples = [
                MultiTaskDataSample(
                    metainfo=dict(
                        img_shape=tuple(inputs.shape[-2:]),
                        ori_shape=tuple(inputs.shape[-2:])))
                for _ in range(inputs.shape[0])
            ]
        return self.postprocess(outputs, data_samples)

    def postprocess(self, outputs: Dict[str, Tensor],
                    data_samples: List[MultiTaskDataSample]
                    ) -> List[MultiTaskDataSample]:
        """Crop padding, resize to ``ori_shape`` (undoing a flip) and turn raw
        outputs into predictions (labels, unit normals, probabilities)."""
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            for name, spec in self.task_specs.items():
                out = outputs[name][i:i + 1]
                if spec.is_dense:
                    out = self._restore_geometry(out, meta, spec)
                    sample.set_field(
                        PixelData(**self._dense_prediction(spec, out[0])),
                        f'pred_{name}')
                else:
                    score = out[0].softmax(dim=0)
                    sample.set_field(
                        LabelData(score=score, label=score.argmax(0, True)),
                        f'pred_{name}')
        return data_samples

    def _restore_geometry(self, out: Tensor, meta: dict,
                          spec: TaskSpec) -> Tensor:
        """(1, C, H_pad, W_pad) -> (1, C, H_ori, W_ori)."""
        img_h, img_w = meta.get('img_shape', out.shape[-2:])[:2]
        out = out[..., :img_h, :img_w]
        if meta.get('flip', False):
            direction = meta.get('flip_direction', 'horizontal')
            if direction != 'horizontal':
                raise ValueError(f'unsupported flip_direction {direction!r}')
            out = out.flip(-1)
            if spec.kind == 'normals':  # mirrored x axis
                out = torch.cat([-out[:, :1], out[:, 1:]], dim=1)
        ori_shape = tuple(meta.get('ori_shape', (img_h, img_w))[:2])
        if tuple(out.shape[-2:]) != ori_shape:
            out = F.interpolate(
                out, size=ori_shape, mode='bilinear',
                align_corners=self.align_corners)
        return out

    @staticmethod
    def _dense_prediction(spec: TaskSpec, out: Tensor) -> dict:
        """(C, H, W) raw output -> fields of the ``pred_<task>`` PixelData."""
        if spec.kind == 'segmentation':
            return dict(data=out.argmax(0, keepdim=True), logits=out)
        if spec.kind == 'normals':
            return dict(data=F.normalize(out, dim=0, eps=1e-12))
        if spec.kind in ('edge', 'saliency'):
            return dict(data=out.sigmoid())
        return dict(data=out)  # depth in metres
