"""Schedule of the CI-KD loss weight of ECMT's sandwich training."""
from mmecmt.registry import HOOKS
from .scheduled_value_hook import ScheduledValueHook

CIKD_SCHEDULES = ('constant', 'linear')


@HOOKS.register_module()
class CIKDHook(ScheduledValueHook):
    """Set ``distill_weight`` of the
    :class:`~mmecmt.models.algorithms.SandwichAlgorithm` before every
    training iteration (a :class:`ScheduledValueHook`).

    Schedules, at iteration ``i`` (0-based):

    - ``'constant'``: ``weight`` from iteration ``warmup_iters`` on, 0 before
      (distillation starts once the largest subnet has trained a little);
    - ``'linear'``: ``weight * min(1, i / warmup_iters)``, a ramp from 0 to
      ``weight`` over the first ``warmup_iters`` iterations.

    With ``warmup_iters=0`` both are ``weight`` throughout. The value is also
    logged as ``train/cikd_weight``. ``weight=0`` (or ``distiller=None`` in
    the algorithm and no hook) is the plain sandwich rule.

    Before training it checks that the algorithm has a distiller (unless
    ``weight=0``) and, under DDP, that the wrapper runs the algorithm's step
    (:class:`~mmecmt.models.wrappers.AlgorithmDDP`): mmengine's own DDP
    wrapper would train the largest subnet only.

    Args:
        weight: the CI-KD weight lambda after warm-up (>= 0).
        schedule: ``'constant'`` or ``'linear'``.
        warmup_iters: iterations of the warm-up (>= 0).
    """

    def __init__(self, weight: float = 1.0, schedule: str = 'constant',
                 warmup_iters: int = 0):
        if weight < 0:
            raise ValueError(f'CIKDHook: weight must be >= 0, got {weight}')
        if schedule not in CIKD_SCHEDULES:
            raise ValueError(f'CIKDHook: unknown schedule {schedule!r}; '
                             f'valid: {CIKD_SCHEDULES}')
        super().__init__(
            name='distill_weight',
            value=weight,
            schedule=schedule,
            warmup_iters=warmup_iters,
            log_name='cikd_weight')

    @property
    def weight(self) -> float:
        """The CI-KD weight lambda after warm-up."""
        return self.value

    def weight_at(self, iteration: int) -> float:
        """The CI-KD weight at 0-based training iteration ``iteration``."""
        return self.value_at(iteration)

    def target(self, runner):
        from mmecmt.models.algorithms import algorithm_of
        model = algorithm_of(runner.model)
        if not hasattr(model, 'distill_weight'):
            raise TypeError(
                'CIKDHook needs a training algorithm with `distill_weight` '
                f'(SandwichAlgorithm), got {type(model).__name__}')
        return model, 'distill_weight'

    def before_train(self, runner) -> None:
        from mmengine.model import is_model_wrapper
        model, _ = self.target(runner)
        if getattr(model, 'distiller', None) is None and self.weight > 0:
            raise ValueError(
                'CIKDHook is configured but the algorithm has distiller=None,'
                ' so there is no CI-KD loss to weight; remove the hook or '
                "set model.distiller=dict(loss=dict(type='CIKDLoss', ...))")
        wrapper = runner.model
        if is_model_wrapper(wrapper):
            from mmecmt.models.wrappers import AlgorithmDDP
            if not isinstance(wrapper, AlgorithmDDP):
                raise TypeError(
                    f'the algorithm is wrapped in {type(wrapper).__name__}, '
                    'whose train_step trains only the current subnet; set '
                    'model_wrapper_cfg=dict(type='
                    "'mmecmt.models.wrappers.AlgorithmDDP', ...)")
