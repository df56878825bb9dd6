"""Set a scheduled value (a loss weight, a temperature, a gate warm-up) on
the trained model before every training iteration."""
import math
import numbers
from typing import Optional

from mmengine.hooks import Hook

from mmecmt.registry import HOOKS

SCHEDULES = ('constant', 'linear', 'step')


def _resolve(obj, path: str):
    """``(owner, attribute)`` of a dotted ``path`` below ``obj``, or None
    when a part of it is missing."""
    *parents, attr = path.split('.')
    for part in parents:
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return (obj, attr) if hasattr(obj, attr) else None


@HOOKS.register_module()
class ScheduledValueHook(Hook):
    """Set the attribute ``name`` of the trained model to a scheduled value
    before every training iteration and log it as ``train/<log_name>``.

    The attribute is looked up on the model without its DDP wrapper (the
    training algorithm, e.g. ``distill_weight`` of
    :class:`~mmecmt.models.algorithms.SandwichAlgorithm`), then on its
    ``architecture``; ``name`` may be a dotted path (``'controller.tau'``).

    Schedules, at 0-based training iteration ``i``:

    - ``'constant'``: ``value`` from iteration ``warmup_iters`` on,
      ``warmup_value`` before (e.g. a loss switched on after a warm-up);
    - ``'linear'``: a ramp from ``warmup_value`` to ``value`` over the first
      ``warmup_iters`` iterations, ``warmup_value + (value - warmup_value) *
      min(1, i / warmup_iters)``;
    - ``'step'``: ``value * gamma ** (i // step_iters)``, e.g. CDMA's Gumbel
      temperature ``value=5.0, gamma=0.97, step_iters=300``
      (``warmup_iters`` must be 0).

    With ``warmup_iters=0`` the ``'constant'`` and ``'linear'`` schedules
    are ``value`` throughout.

    Args:
        name: the attribute set (it must exist before training).
        value: the value after warm-up (``'step'``: at iteration 0).
        schedule: ``'constant'``, ``'linear'`` or ``'step'``.
        warmup_iters: iterations of the warm-up (>= 0).
        warmup_value: the value before / at the start of the warm-up.
        gamma: the factor of the ``'step'`` schedule (> 0); only for it.
        step_iters: iterations between two factors of ``'step'`` (>= 1);
            only for it.
        log_name: the logged name (default: ``name``).
    """

    priority = 'NORMAL'

    def __init__(self,
                 name: str,
                 value: float,
                 schedule: str = 'constant',
                 warmup_iters: int = 0,
                 warmup_value: float = 0.0,
                 gamma: Optional[float] = None,
                 step_iters: Optional[int] = None,
                 log_name: Optional[str] = None):
        owner = type(self).__name__
        if not isinstance(name, str) or not name or \
                not all(part.isidentifier() for part in name.split('.')):
            raise ValueError(f'{owner}: name must be an attribute name (or a '
                             f'dotted path of them), got {name!r}')
        if schedule not in SCHEDULES:
            raise ValueError(f'{owner}: unknown schedule {schedule!r}; '
                             f'valid: {SCHEDULES}')
        for key, number in (('value', value), ('warmup_value', warmup_value)):
            if not isinstance(number, numbers.Real) or isinstance(
                    number, bool) or not math.isfinite(number):
                raise ValueError(
                    f'{owner}: {key} must be a finite number, got {number!r}')
        if isinstance(warmup_iters, bool) or int(warmup_iters) != \
                warmup_iters or warmup_iters < 0:
            raise ValueError(f'{owner}: warmup_iters must be an integer >= '
                             f'0, got {warmup_iters!r}')
        if schedule == 'step':
            if gamma is None or step_iters is None:
                raise ValueError(
                    f"{owner}: schedule 'step' needs gamma and step_iters, "
                    f'got gamma={gamma!r}, step_iters={step_iters!r}')
            if not isinstance(gamma, numbers.Real) or not math.isfinite(
                    gamma) or gamma <= 0:
                raise ValueError(
                    f'{owner}: gamma must be a number > 0, got {gamma!r}')
            if isinstance(step_iters, bool) or int(step_iters) != \
                    step_iters or step_iters < 1:
                raise ValueError(f'{owner}: step_iters must be an integer '
                                 f'>= 1, got {step_iters!r}')
            if warmup_iters != 0:
                raise ValueError(
                    f"{owner}: schedule 'step' has no warm-up; got "
                    f'warmup_iters={warmup_iters!r}, give 0')
        elif gamma is not None or step_iters is not None:
            raise ValueError(
                f'{owner}: gamma and step_iters are for the \'step\' '
                f'schedule only; schedule {schedule!r} got gamma={gamma!r}, '
                f'step_iters={step_iters!r}')
        self.name = name
        self.value = float(value)
        self.schedule = schedule
        self.warmup_iters = int(warmup_iters)
        self.warmup_value = float(warmup_value)
        self.gamma = None if gamma is None else float(gamma)
        self.step_iters = None if step_iters is None else int(step_iters)
        self.log_name = name if log_name is None else str(log_name)

    def value_at(self, iteration: int) -> float:
        """The value at 0-based training iteration ``iteration``."""
        if int(iteration) != iteration or iteration < 0:
            raise ValueError(f'{type(self).__name__}: iteration must be an '
                             f'integer >= 0, got {iteration!r}')
        if self.schedule == 'step':
            return self.value * self.gamma**(int(iteration) //
                                             self.step_iters)
        if iteration >= self.warmup_iters:
            return self.value
        if self.schedule == 'constant':
            return self.warmup_value
        return self.warmup_value + (self.value - self.warmup_value) * \
            iteration / self.warmup_iters

    # ------------------------------------------------------------------
    def target(self, runner):
        """``(owner, attribute)``: where the value is set.

        Raises:
            TypeError: neither the model nor its architecture has ``name``.
        """
        from mmecmt.models.algorithms import algorithm_of
        model = algorithm_of(runner.model)
        found = _resolve(model, self.name)
        architecture = getattr(model, 'architecture', None)
        if found is None and architecture is not None:
            found = _resolve(architecture, self.name)
        if found is None:
            where = type(model).__name__ + (
                '' if architecture is None else
                f' or its architecture {type(architecture).__name__}')
            raise TypeError(
                f'{type(self).__name__} sets `{self.name}`, but {where} has '
                'no such attribute')
        return found

    def before_train(self, runner) -> None:
        self.target(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        value = self.value_at(runner.iter)
        owner, attr = self.target(runner)
        setattr(owner, attr, value)
        runner.message_hub.update_scalar(f'train/{self.log_name}', value)


__all__ = ['ScheduledValueHook', 'SCHEDULES']
