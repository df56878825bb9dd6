"""BatchNorm recalibration of one subnet of a slimmable supernet.

The BN layers are shared by all subnets (their affine parameters and
running statistics are sliced like the convs), so the running statistics
collected while training the sandwich members fit no particular subnet.
Before evaluating a subnet its statistics are re-estimated as the exact
average of the batch statistics over N training images with the subnet
active (Universally Slimmable Networks): reset, ``momentum=None``
(cumulative average), forward N images without gradients.
"""
import contextlib
import copy
import logging
import math
import random
import sys
import time
from typing import Dict, Iterable, Mapping, Optional, Union

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

BNState = Dict[str, Dict[str, Tensor]]

#: training images averaged over per recalibration when a config says
#: nothing (Universally Slimmable Networks use a few batches; ours).
DEFAULT_CALIB_IMAGES = 1024


def batch_norms(model: nn.Module) -> Dict[str, _BatchNorm]:
    """The BN layers of ``model`` that track running statistics."""
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats
    }


def save_bn_state(model: nn.Module) -> BNState:
    """Copies of every BN layer's ``running_mean`` / ``running_var`` /
    ``num_batches_tracked``, by module name."""
    return {
        name: dict(running_mean=bn.running_mean.detach().clone(),
                   running_var=bn.running_var.detach().clone(),
                   num_batches_tracked=bn.num_batches_tracked.detach()
                   .clone())
        for name, bn in batch_norms(model).items()
    }


def load_bn_state(model: nn.Module, state: BNState) -> None:
    """Write back statistics saved by :func:`save_bn_state`."""
    bns = batch_norms(model)
    missing = sorted(set(bns) - set(state))
    if missing:
        raise KeyError(f'saved BN state has no entry for {missing}')
    with torch.no_grad():
        for name, bn in bns.items():
            for key, value in state[name].items():
                getattr(bn, key).copy_(value)


class BNCalibrator:
    """Re-estimate the BN running statistics of a subnet on training images.

    Args:
        model: the supernet (``set_subnet``, ``data_preprocessor``,
            ``_forward``), possibly inside a model wrapper or a training
            algorithm (its architecture is calibrated).
        dataloader: an iterable of training batches (before preprocessing),
            e.g. a DataLoader over the training set with the training
            pipeline; its batches are used in order.
        num_images: images to average over. Whole batches are used, so
            ``ceil(num_images / batch_size)`` batches run; a batch of one
            image is skipped (BN cannot take batch statistics of a single
            value per channel in a pooled branch).
        show_progress: show progress (main process only): a progress bar
            when stdout is a terminal; otherwise (a log file, a pipe) one
            log line per calibration, since the bar's carriage returns
            would turn a log into one long line.
        seed: the calibration batches are drawn with the global random
            generators seeded with it (:func:`fixed_rng`; their states are
            restored afterwards), so every calibration sees the same
            augmented images, in any process and after anything; None: the
            generators as they are.

    Under distributed training the ``num_images`` are split over the ranks
    (``ceil(num_images / world_size)`` each, from each rank's shard of the
    data); each rank averages over its own batches and the statistics are
    then averaged over the ranks (equal batch counts make this the average
    over all batches).

    Every :meth:`calibrate` iterates ``dataloader`` from its start, so each
    subnet is calibrated on the same images when the loader's order is
    fixed (a ``DefaultSampler`` without ``set_epoch``); an
    ``InfiniteSampler`` is rejected (it cannot restart).
    """

    def __init__(self,
                 model: nn.Module,
                 dataloader: Iterable,
                 num_images: int = DEFAULT_CALIB_IMAGES,
                 show_progress: bool = True,
                 seed: Optional[int] = 0):
        if int(num_images) != num_images or num_images < 1:
            raise ValueError(
                f'num_images must be an integer >= 1, got {num_images!r}')
        from mmecmt.models.algorithms import architecture_of
        self.model = architecture_of(model)
        sampler = getattr(dataloader, 'sampler', None)
        if isinstance(sampler, InfiniteSampler):
            raise ValueError(
                'BNCalibrator: the dataloader uses an InfiniteSampler, which '
                'cannot be iterated again after a calibration stops early; '
                "use sampler=dict(type='DefaultSampler', shuffle=True)")
        self.dataloader = dataloader
        self.num_images = int(num_images)
        self.show_progress = show_progress
        self.seed = seed

    @torch.no_grad()
    def calibrate(self, spec: Union[None, Mapping, object] = None) -> int:
        """Activate ``spec`` (None: keep the active subnet) and recompute
        the running statistics of every BN layer.

        Only the BN layers run in training mode (dropout and the rest stay
        in eval mode); the model's mode and the BN momenta are restored.

        Returns:
            The number of images the statistics were averaged over (on
            this rank).
        """
        model = self.model
        if spec is not None:
            model.set_subnet(spec)
        bns = list(batch_norms(model).values())
        if not bns:
            return 0
        was_training = model.training
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        model.eval()
        for bn in bns:
            bn.train()
        # the images are split over the ranks
        per_rank = math.ceil(self.num_images / get_world_size())
        show = self.show_progress and is_main_process()
        progress = ProgressBar(per_rank, file=sys.stdout) \
            if show and stdout_is_terminal() else None
        seen = 0
        t0 = time.perf_counter()
        try:
            for inputs, samples in self.batches(per_rank):
                model._forward(inputs, samples)
                seen += inputs.shape[0]
                if progress is not None:
                    progress.update(min(inputs.shape[0],
                                        per_rank - progress.completed))
        finally:
            for bn, momentum in zip(bns, momenta):
                bn.momentum = momentum
            model.train(was_training)
        if progress is not None:
            print(file=sys.stdout)  # end the progress bar's line
        elif show:
            print_log(f'BN calibration: {seen} images, '
                      f'{time.perf_counter() - t0:.1f} s', logger='current')
        check_images_seen(seen, per_rank, 'BNCalibrator')
        self._average_over_ranks(bns)
        return seen

    def batches(self, num_images: int):
        """The preprocessed calibration batches ``(inputs (N, 3, H, W),
        data samples)``: whole batches from the start of the dataloader
        until ``num_images`` images, batches of one image skipped, drawn
        under :func:`fixed_rng` with :attr:`seed` (the generators are given
        back their states when the iteration ends)."""
        model = self.model
        seen = 0
        with fixed_rng(self.seed):
            for data in self.dataloader:
                data = model.data_preprocessor(data, True)
                inputs = data['inputs']
                if inputs.shape[0] < 2:
                    print_log('BNCalibrator: skipped a batch of one image',
                              logger='current')
                    continue
                yield inputs, data.get('data_samples')
                seen += inputs.shape[0]
                if seen >= num_images:
                    return

    @staticmethod
    def _average_over_ranks(bns) -> None:
        if get_world_size() < 2:
            return
        for bn in bns:
            all_reduce(bn.running_mean, op='mean')
            all_reduce(bn.running_var, op='mean')


def stdout_is_terminal() -> bool:
    """Whether ``sys.stdout`` is an interactive terminal (progress bars,
    which redraw their line with ``\\r``, only go there)."""
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False




@contextlib.contextmanager
def fixed_rng(seed: Optional[int]):
    """Run the block with Python's, NumPy's and torch's global generators
    seeded with ``seed``, and give them back their states afterwards (None:
    leave them alone). Calibration batches come from the training pipeline,
    whose augmentation draws from these generators: with a fixed seed every
    calibration sees the same augmented images, whatever ran before it (a
    predictor build's process and grouping, a deployment's earlier
    requests), and the caller's own random sequence (e.g. training's) is
    not disturbed."""
    if seed is None:
        yield
        return
    states = (random.getstate(), np.random.get_state(),
              torch.get_rng_state())
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def check_images_seen(seen: int, wanted: int, who: str) -> None:
    """After a calibration pass over ``seen`` of the ``wanted`` images (of
    this rank): raise when none was usable (no batch of two or more), warn
    when the loader ran out early."""
    if seen == 0:
        raise RuntimeError(
            f'{who}: the dataloader gave no batch of two or more images; no '
            'statistics were collected')
    if seen < wanted:
        print_log(
            f'{who}: the dataloader ran out after {seen} of {wanted} images '
            f'(of this rank); statistics average over {seen}',
            logger='current', level=logging.WARNING)


def calib_images_of(cfg) -> int:
    """The config's ``val_cfg.calibrate_bn.num_images``, else
    :data:`DEFAULT_CALIB_IMAGES`: the one default of every tool and loop."""
    calibrate = (cfg.get('val_cfg') or {}).get('calibrate_bn') or {}
    return int(calibrate.get('num_images', DEFAULT_CALIB_IMAGES))


def calibration_dataloader_cfg(train_dataloader_cfg: Mapping) -> dict:
    """A dataloader config for BN calibration from the training one.

    Every calibration iterates the loader afresh and stops early, so the
    training ``InfiniteSampler`` becomes a shuffling ``DefaultSampler`` (the
    same order each time when built with a fixed seed: every subnet sees the
    same images) and workers are not persistent.
    """
    cfg = copy.deepcopy(dict(train_dataloader_cfg))
    cfg['sampler'] = dict(type='DefaultSampler', shuffle=True)
    cfg['persistent_workers'] = False
    return cfg


__all__ = ['BNCalibrator', 'save_bn_state', 'load_bn_state',
           'batch_norms', 'stdout_is_terminal', 'fixed_rng',
           'check_images_seen', 'calib_images_of', 'DEFAULT_CALIB_IMAGES']
