"""Schedule of the CI-KD loss weight of an ECMT supernet."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmecmt.registry import HOOKS

CIKD_SCHEDULES = ('constant', 'linear')


@HOOKS.register_module()
class CIKDHook(Hook):
    """Set ``model.cikd_weight`` before every training iteration.

    Schedules, at iteration ``i`` (0-based):

    - ``'constant'``: ``weight`` from iteration ``warmup_iters`` on, 0 before
      (distillation starts once the largest subnet has trained a little);
    - ``'linear'``: ``weight * min(1, i / warmup_iters)``, a ramp from 0 to
      ``weight`` over the first ``warmup_iters`` iterations.

    With ``warmup_iters=0`` both are ``weight`` throughout. The value is also
    logged as ``train/cikd_weight``. ``weight=0`` (or ``distill=None`` in the
    model and no hook) is the plain sandwich rule.

    Args:
        weight: the CI-KD weight lambda after warm-up (>= 0).
        schedule: ``'constant'`` or ``'linear'``.
        warmup_iters: iterations of the warm-up (>= 0).
    """

    priority = 'NORMAL'

    def __init__(self, weight: float = 1.0, schedule: str = 'constant',
                 warmup_iters: int = 0):
        if weight < 0:
            raise ValueError(f'CIKDHook: weight must be >= 0, got {weight}')
        if schedule not in CIKD_SCHEDULES:
            raise ValueError(f'CIKDHook: unknown schedule {schedule!r}; '
                             f'valid: {CIKD_SCHEDULES}')
        if int(warmup_iters) != warmup_iters or warmup_iters < 0:
            raise ValueError('CIKDHook: warmup_iters must be an integer >= '
                             f'0, got {warmup_iters!r}')
        self.weight = float(weight)
        self.schedule = schedule
        self.warmup_iters = int(warmup_iters)

    def weight_at(self, iteration: int) -> float:
        """The CI-KD weight at 0-based training iteration ``iteration``."""
        if iteration >= self.warmup_iters:
            return self.weight
        if self.schedule == 'constant':
            return 0.0
        return self.weight * iteration / self.warmup_iters

    @staticmethod
    def _supernet(runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'cikd_weight'):
            raise TypeError(
                f'CIKDHook needs a supernet with `cikd_weight` '
                f'(SlimMultiTaskEncoderDecoder), got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._supernet(runner)
        if getattr(model, 'distill_loss', None) is None and self.weight > 0:
            raise ValueError(
                'CIKDHook is configured but the model has distill=None, so '
                'there is no CI-KD loss to weight; remove the hook or set '
                "model.distill=dict(type='CIKDLoss', ...)")
        wrapper = runner.model
        if is_model_wrapper(wrapper):
            from mmecmt.models.wrappers import SandwichDDP
            if not isinstance(wrapper, SandwichDDP):
                raise TypeError(
                    f'the supernet is wrapped in {type(wrapper).__name__}, '
                    'whose train_step trains only the current subnet; set '
                    'model_wrapper_cfg=dict(type='
                    "'mmecmt.models.wrappers.SandwichDDP', ...)")

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        weight = self.weight_at(runner.iter)
        self._supernet(runner).cikd_weight = weight
        runner.message_hub.update_scalar('train/cikd_weight', weight)
