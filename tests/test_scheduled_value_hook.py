"""ScheduledValueHook: the schedules, where the value is set, logging and
the errors."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

from mmecmt.engine.hooks import ScheduledValueHook


def test_constant_schedule_with_and_without_warmup():
    hook = ScheduledValueHook('tau', 2.0)
    assert [hook.value_at(i) for i in (0, 1, 1000)] == [2.0, 2.0, 2.0]
    warm = ScheduledValueHook('tau', 2.0, warmup_iters=3)
    assert [warm.value_at(i) for i in range(5)] == [0, 0, 0, 2.0, 2.0]
    gate = ScheduledValueHook('tau', 1.0, warmup_iters=2, warmup_value=0.5)
    assert [gate.value_at(i) for i in range(3)] == [0.5, 0.5, 1.0]


def test_linear_ramp():
    ramp = ScheduledValueHook('w', 2.0, schedule='linear', warmup_iters=4)
    assert [ramp.value_at(i) for i in (0, 1, 2, 3, 4, 9)] == \
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    down = ScheduledValueHook('w', 1.0, schedule='linear', warmup_iters=2,
                              warmup_value=3.0)
    assert [down.value_at(i) for i in range(4)] == [3.0, 2.0, 1.0, 1.0]
    assert ScheduledValueHook('w', 0.7, schedule='linear').value_at(0) == 0.7


def test_step_schedule_is_cdmas_gumbel_temperature():
    tau = ScheduledValueHook('temperature', 5.0, schedule='step',
                             gamma=0.97, step_iters=300)
    assert tau.value_at(0) == tau.value_at(299) == 5.0
    assert tau.value_at(300) == pytest.approx(5.0 * 0.97)
    assert tau.value_at(899) == pytest.approx(5.0 * 0.97**2)
    assert tau.value_at(3000) == pytest.approx(5.0 * 0.97**10)


@pytest.mark.parametrize('kwargs, message', [
    (dict(schedule='cosine'), "unknown schedule 'cosine'"),
    (dict(warmup_iters=-1), 'warmup_iters must be an integer >= 0, got -1'),
    (dict(warmup_iters=1.5), 'warmup_iters must be an integer >= 0'),
    (dict(value=float('nan')), 'value must be a finite number, got nan'),
    (dict(warmup_value='0'), "warmup_value must be a finite number, got '0'"),
    (dict(schedule='step', gamma=0.9), "'step' needs gamma and step_iters"),
    (dict(schedule='step', gamma=0, step_iters=3),
     'gamma must be a number > 0, got 0'),
    (dict(schedule='step', gamma=0.9, step_iters=0),
     'step_iters must be an integer >= 1, got 0'),
    (dict(schedule='step', gamma=0.9, step_iters=3, warmup_iters=2),
     'has no warm-up; got warmup_iters=2'),
    (dict(schedule='linear', gamma=0.9),
     "for the 'step' schedule only; schedule 'linear' got gamma=0.9"),
    (dict(name='a b'), "name must be an attribute name.*got 'a b'"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = dict(name='tau', value=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ScheduledValueHook(**args)
    with pytest.raises(ValueError, match='iteration must be an integer'):
        ScheduledValueHook('tau', 1.0).value_at(-1)


class Architecture(BaseModel):

    def __init__(self):
        super().__init__()
        self.gate_warmup = 1.0
        self.controller = torch.nn.Module()
        self.controller.tau = 5.0

    def forward(self, *args, **kwargs):
        raise NotImplementedError


def make_algorithm():
    from mmecmt.models.algorithms import BaseAlgorithm
    algorithm = BaseAlgorithm(Architecture())
    algorithm.distill_weight = 1.0
    return algorithm


def test_sets_the_algorithm_then_the_architecture_and_logs():
    algorithm = make_algorithm()
    hub = MessageHub.get_instance('test_scheduled_value_hook')
    runner = SimpleNamespace(model=algorithm, iter=0, message_hub=hub)
    hooks = [
        ScheduledValueHook('distill_weight', 2.0, schedule='linear',
                           warmup_iters=2),
        ScheduledValueHook('gate_warmup', 0.0, warmup_iters=1,
                           warmup_value=1.0),
        ScheduledValueHook('controller.tau', 5.0, schedule='step',
                           gamma=0.5, step_iters=1, log_name='tau'),
    ]
    for hook in hooks:
        hook.before_train(runner)
    seen = []
    for it in range(3):
        runner.iter = it
        for hook in hooks:
            hook.before_train_iter(runner, batch_idx=it)
        seen.append((algorithm.distill_weight,
                     algorithm.architecture.gate_warmup,
                     algorithm.architecture.controller.tau))
    assert seen == [(0.0, 1.0, 5.0), (1.0, 0.0, 2.5), (2.0, 0.0, 1.25)]
    assert not hasattr(algorithm.architecture, 'distill_weight')
    assert hub.get_scalar('train/distill_weight').data[0].tolist() == \
        [0.0, 1.0, 2.0]
    assert hub.get_scalar('train/gate_warmup').current() == 0.0
    assert hub.get_scalar('train/tau').current() == 1.25


def test_missing_attribute_is_named_before_training():
    runner = SimpleNamespace(model=make_algorithm())
    with pytest.raises(TypeError, match='`temperature`, but BaseAlgorithm '
                       'or its architecture Architecture has no such'):
        ScheduledValueHook('temperature', 5.0).before_train(runner)
    with pytest.raises(TypeError, match='`controller.beta`'):
        ScheduledValueHook('controller.beta', 1.0).before_train(runner)
    bare = SimpleNamespace(model=torch.nn.Linear(1, 1))
    with pytest.raises(TypeError, match='but Linear has no such attribute'):
        ScheduledValueHook('tau', 1.0).before_train(bare)
