"""Fixes for the known problems of the pinned stack (docs/get_started.md).

Both are applied by :func:`mmecmt.utils.register_all_modules`, so a user
never has to know about them:

1. **Resuming on torch >= 2.6.** mmengine 0.10.7 loads checkpoints with
   ``torch.load(filename, map_location=...)``; torch 2.6 made
   ``weights_only=True`` the default, and a checkpoint's message hub holds
   ``mmengine.logging.HistoryBuffer`` objects, so resuming fails with
   ``Unsupported global``. We re-register mmengine's loader for local paths
   with ``weights_only=False``: local checkpoints are the user's own training
   artefacts, which is what mmengine assumed before torch 2.6.
2. **CPU distributed training.** mmengine's ``init_dist`` calls
   ``torch.cuda.set_device`` and the Runner gives DDP
   ``device_ids=[LOCAL_RANK]``; both fail without a GPU.
   :func:`init_cpu_distributed` starts the gloo process group before the
   Runner does (the Runner then skips its own initialisation) and
   :func:`cpu_ddp_wrapper_cfg` gives DDP ``device_ids=None``.
"""
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.runner.checkpoint import CheckpointLoader

_APPLIED = False


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local checkpoint loader, with ``weights_only=False``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def apply_stack_fixes() -> None:
    """Patch the stack once per process (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    _APPLIED = True


def init_cpu_distributed(backend: str = 'gloo',
                         timeout_s: Optional[int] = None) -> None:
    """Initialise a torch.distributed process group from torchrun's env.

    Reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` (set
    by ``torchrun``); does nothing when a group already exists.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        return
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the environment variables {missing} '
            '(start the script with torchrun or tools/dist_train.sh)')
    kwargs = {}
    if timeout_s is not None:
        import datetime
        kwargs['timeout'] = datetime.timedelta(seconds=timeout_s)
    torch_dist.init_process_group(
        backend=backend,
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs)


def destroy_distributed() -> None:
    """Destroy the default process group, if any, before the process exits.

    Without it, Gloo's worker threads can outlive the interpreter's
    finalisation and abort the process (``terminate called without an
    active exception``, exit code -6) after a run that succeeded.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def cpu_ddp_wrapper_cfg(find_unused_parameters: bool = False) -> dict:
    """DDP wrapper config for CPU modules (``device_ids=None``)."""
    return dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=find_unused_parameters)
