"""BN recalibration of several subnets in one pass over the images.

:class:`~mmecmt.models.slimmable.bn_calibration.BNCalibrator` re-estimates
one subnet's BN statistics as the exact average of the batch statistics of
N training images. Calibrating k subnets one after the other loads and
preprocesses the same N images k times. :func:`calibrate_subnets` loads them
once: every batch is forwarded through the k subnets in turn, and before
subnet ``j`` runs, *its own* copy of every BN buffer (reset at the start) is
copied into the model and copied back out afterwards. The cumulative
averages (``momentum=None``) of subnet ``j`` therefore see exactly the
batches, in the same order, that ``BNCalibrator.calibrate(spec_j)`` would
feed it: the statistics are equal, not approximately equal.
"""
import copy
import math
import time
from typing import List, Mapping, Sequence

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.logging import print_log
from torch.nn.modules.batchnorm import _BatchNorm

from .bn_calibration import (BNCalibrator, BNState, batch_norms,
                             check_images_seen, save_bn_state)


def _copy_into_bns(bns: Mapping[str, _BatchNorm], state: BNState) -> None:
    """``state`` -> the BN buffers, in place."""
    for name, bn in bns.items():
        for key, value in state[name].items():
            getattr(bn, key).copy_(value)


def _copy_from_bns(bns: Mapping[str, _BatchNorm], state: BNState) -> None:
    """The BN buffers -> ``state``, in place."""
    for name, bn in bns.items():
        for key, value in state[name].items():
            value.copy_(getattr(bn, key))


@torch.no_grad()
def calibrate_subnets(calibrator: BNCalibrator,
                      specs: Sequence) -> List[BNState]:
    """The BN statistics ``calibrator.calibrate(spec)`` would give each of
    ``specs``, from one pass over ``calibrator.dataloader``.

    The same rules as :meth:`BNCalibrator.calibrate`: only BN layers in
    training mode, whole batches until ``calibrator.num_images`` images
    (per rank) are seen, batches of one image skipped, statistics averaged
    over the ranks. The model's active subnet, mode, BN momenta and BN
    buffers are left as they were.

    Args:
        calibrator: gives the supernet, the dataloader and ``num_images``.
        specs: k >= 1 subnets (anything the model's ``set_subnet`` takes).

    Returns:
        k BN states in :func:`save_bn_state` layout (``{bn name: {
        'running_mean': (C,), 'running_var': (C,), 'num_batches_tracked':
        ()}}``), in ``specs`` order; load one with
        :func:`~mmecmt.models.slimmable.bn_calibration.load_bn_state` before
        running that subnet.

    Raises:
        ValueError: ``specs`` is empty.
        RuntimeError: the dataloader gave no batch of two or more images.
    """
    specs = list(specs)
    if not specs:
        raise ValueError('calibrate_subnets: give at least one subnet')
    model = calibrator.model
    named = batch_norms(model)
    if not named:
        return [{} for _ in specs]
    bns = list(named.values())
    active = getattr(model, 'subnet', None)
    saved = save_bn_state(model)
    was_training = model.training
    momenta = [bn.momentum for bn in bns]
    per_rank = math.ceil(calibrator.num_images / get_world_size())
    seen = 0
    t0 = time.perf_counter()
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        reset = save_bn_state(model)
        states = [copy.deepcopy(reset) for _ in specs]
        model.eval()
        for bn in bns:
            bn.train()
        for inputs, samples in calibrator.batches(per_rank):
            for spec, state in zip(specs, states):
                model.set_subnet(spec)
                _copy_into_bns(named, state)
                model._forward(inputs, samples)
                _copy_from_bns(named, state)
            seen += inputs.shape[0]
        if seen and get_world_size() > 1:
            for state in states:
                for bn_state in state.values():
                    all_reduce(bn_state['running_mean'], op='mean')
                    all_reduce(bn_state['running_var'], op='mean')
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        model.train(was_training)
        if active is not None:
            model.set_subnet(active)
        _copy_into_bns(named, saved)
    check_images_seen(seen, per_rank, 'calibrate_subnets')
    if calibrator.show_progress and is_main_process():
        print_log(f'BN calibration of {len(specs)} subnets in one pass: '
                  f'{seen} images, {time.perf_counter() - t0:.1f} s',
                  logger='current')
    return states


__all__ = ['calibrate_subnets']
