"""Config loading and adjustments shared by the tools."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config

from .compat import cpu_ddp_wrapper_cfg, init_cpu_distributed


def prepare_runner_cfg(cfg: Config) -> Config:
    """Make ``cfg`` runnable on this machine before ``Runner.from_cfg``.

    With ``cfg.launcher != 'none'`` and no GPU, the gloo process group is
    started here (mmengine's own initialisation needs CUDA) and DDP gets
    ``device_ids=None``. Also sets the default scope to ``mmecmt``.
    """
    cfg.setdefault('default_scope', 'mmecmt')
    launcher = cfg.get('launcher', 'none')
    if launcher != 'none' and not torch.cuda.is_available():
        if launcher != 'pytorch':
            raise ValueError(
                f'launcher {launcher!r} is not supported on CPU; use '
                '"pytorch" (torchrun / tools/dist_train.sh)')
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        init_cpu_distributed('gloo', timeout)
        cfg.env_cfg = cfg.get('env_cfg', {})
        cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = cpu_ddp_wrapper_cfg(
                cfg.get('find_unused_parameters', False))
        else:
            cfg.model_wrapper_cfg.setdefault('device_ids', None)
    return cfg


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     work_dir: Optional[str] = None,
                     launcher: str = 'none') -> Config:
    """Load ``config`` as the tools do: apply ``--cfg-options``, set the
    launcher, and default the work dir to ``./work_dirs/<config name>``."""
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg
