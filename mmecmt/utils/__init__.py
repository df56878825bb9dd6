from .compat import (apply_stack_fixes, cpu_ddp_wrapper_cfg,
                     init_cpu_distributed)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'apply_stack_fixes', 'init_cpu_distributed',
    'cpu_ddp_wrapper_cfg'
]
