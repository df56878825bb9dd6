"""One pass over a val loader: metrics and mean task losses of a model.

Every measurement of the project goes through :func:`evaluate_model`,
whichever method made the network: a subnet of a supernet prepared by its
deployer, an exported static model, a fixed multi-task model, a member of a
trained family. It runs the model's data preprocessor and forward once per
batch, feeds the predictions to the metrics (``MultiTaskMetric``) and, on
request, averages each task's loss over the batches (for CDMA's uniformity
metric, :mod:`mmecmt.evaluation.control.uniformity`).
"""
import contextlib
import logging
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger

EvaluatorLike = Union[Evaluator, dict, list]


@contextlib.contextmanager
def quiet_info_logs():
    """Drop INFO (and lower) records of mmengine's current logger inside the
    block, e.g. the per-task metrics table ``MultiTaskMetric`` logs after
    each evaluation; warnings and errors still pass."""
    logger = MMLogger.get_current_instance()

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def build_evaluator(evaluator_cfg: EvaluatorLike, dataloader) -> Evaluator:
    """An ``Evaluator`` from a config (``val_evaluator``) with the loader's
    dataset meta."""
    evaluator = evaluator_cfg if isinstance(evaluator_cfg, Evaluator) \
        else Evaluator(evaluator_cfg)
    dataset = getattr(dataloader, 'dataset', None)
    if dataset is not None and hasattr(dataset, 'metainfo'):
        evaluator.dataset_meta = dataset.metainfo
    return evaluator


def unweighted_task_losses(model, outputs, data_samples) -> Dict[str, float]:
    """``{task: loss}`` of one batch without the loss weights (``L_t``, not
    ``w_t L_t``): the model's task losses divided by their
    ``loss_weight`` where the loss module has one."""
    losses = model.compute_task_losses(outputs, data_samples)
    out = {}
    for task in model.task_specs:
        value = float(losses[f'loss_{task}'].detach())
        weight = float(getattr(model.task_losses[task], 'loss_weight', 1.0))
        out[task] = value / weight if weight else value
    return out


@torch.no_grad()
def evaluate_model(model, dataloader, evaluator: EvaluatorLike,
                   with_losses: bool = False, quiet: bool = True
                   ) -> Tuple[Dict[str, float], Optional[Dict[str, float]]]:
    """Metrics (and mean unweighted task losses) of ``model`` on
    ``dataloader``.

    Args:
        model: a multi-task model in eval mode (``data_preprocessor``,
            ``_forward``, ``postprocess``; ``compute_task_losses`` and
            ``task_losses`` when ``with_losses``).
        dataloader: val batches (``{'inputs': [...], 'data_samples':
            [...]}``).
        evaluator: an ``Evaluator`` or a ``val_evaluator`` config.
        with_losses: also average each task's loss over the batches.
        quiet: no INFO logs of the metrics (their per-evaluation table):
            tools that measure many networks print their own summaries.

    Returns:
        ``(metrics, losses)``: e.g. ``{'semseg/mIoU': ...}``, and
        ``{task: mean loss}`` or None.
    """
    evaluator = build_evaluator(evaluator, dataloader)
    num, batches = 0, 0
    loss_sums: Dict[str, float] = {}
    for batch in dataloader:
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        outputs = model._forward(inputs)
        if with_losses:
            for task, value in unweighted_task_losses(model, outputs,
                                                      samples).items():
                loss_sums[task] = loss_sums.get(task, 0.0) + value
            batches += 1
        predictions = model.postprocess(outputs, samples)
        evaluator.process(data_samples=predictions, data_batch=batch)
        num += len(predictions)
    with quiet_info_logs() if quiet else contextlib.nullcontext():
        metrics = dict(evaluator.evaluate(num))
    losses = {t: v / batches for t, v in loss_sums.items()} \
        if with_losses and batches else None
    return metrics, losses


__all__ = ['evaluate_model', 'build_evaluator', 'unweighted_task_losses',
           'quiet_info_logs']
