"""CIKDLoss (hand-computed distances) and the CIKDHook weight schedule."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from mmecmt.engine.hooks import CIKDHook
from mmecmt.models.losses import CIKDLoss


def t(values):
    return torch.tensor(values, dtype=torch.float32)


def test_mse_uses_leading_teacher_channels_and_averages_levels():
    # level 0: student (1, 1, 1, 2) vs teacher channel 0 -> ((1-0)^2 +
    # (2-4)^2) / 2 = 2.5; teacher channel 1 (9s) is ignored.
    s0 = t([[[[1., 2.]]]])
    t0 = t([[[[0., 4.]], [[9., 9.]]]])
    # level 1: equal -> 0
    s1 = t([[[[3.]], [[5.]]]])
    t1 = s1.clone()
    loss = CIKDLoss('mse')
    assert loss([s0], [t0]).item() == pytest.approx(2.5)
    assert loss([s0, s1], [t0, t1]).item() == pytest.approx(1.25)
    assert CIKDLoss('mse', loss_weight=2.0)([s0], [t0]).item() == \
        pytest.approx(5.0)


def test_cosine_distance_over_channels_mean_over_pixels():
    # pixel 0: [1, 0] vs [0, 1] (teacher [0, 1, 5] sliced) -> 1 - 0 = 1
    # pixel 1: [1, 1] vs [2, 2] -> 1 - 1 = 0; mean 0.5
    student = t([[[[1., 1.]], [[0., 1.]]]])  # (1, 2, 1, 2)
    teacher = t([[[[0., 2.]], [[1., 2.]], [[5., -7.]]]])  # (1, 3, 1, 2)
    assert CIKDLoss('cosine')([student], [teacher]).item() == \
        pytest.approx(0.5, abs=1e-6)


def test_attention_transfer_distance():
    # student channels c0 = [1, 0], c1 = [1, 2] -> sum of squares [2, 4]
    # -> normalised [2, 4] / sqrt(20); teacher slice c0 = [0, 3],
    # c1 = [0, 4] -> [0, 25] -> [0, 1]; the third teacher channel is ignored.
    student = t([[[[1., 0.]], [[1., 2.]]]])
    teacher = t([[[[0., 3.]], [[0., 4.]], [[100., 100.]]]])
    a = 2 / math.sqrt(20)
    b = 4 / math.sqrt(20)
    expected = (a**2 + (b - 1)**2) / 2
    assert CIKDLoss('attention')([student], [teacher]).item() == \
        pytest.approx(expected, rel=1e-5)


def test_gradient_reaches_student_only():
    student = torch.randn(2, 3, 4, 4, requires_grad=True)
    teacher = torch.randn(2, 5, 4, 4)
    loss = CIKDLoss('mse')([student], [teacher])
    loss.backward()
    expected = 2 * (student - teacher[:, :3]) / student.numel()
    assert torch.allclose(student.grad, expected.detach(), atol=1e-6)


def test_bad_inputs_are_clear_errors():
    loss = CIKDLoss()
    with pytest.raises(ValueError, match='level 0.*student channels <= '
                       'teacher channels'):
        loss([torch.zeros(1, 4, 2, 2)], [torch.zeros(1, 3, 2, 2)])
    with pytest.raises(ValueError, match='level 0'):
        loss([torch.zeros(1, 2, 2, 2)], [torch.zeros(1, 3, 4, 4)])
    with pytest.raises(ValueError, match='1 student and 2 teacher'):
        loss([torch.zeros(1, 2, 2, 2)], [torch.zeros(1, 2, 2, 2)] * 2)
    with pytest.raises(ValueError, match="unknown distance 'l1'"):
        CIKDLoss('l1')


# ----------------------------------------------------------------------
# CIKDHook
# ----------------------------------------------------------------------
def test_hook_schedules():
    const = CIKDHook(weight=2.0, schedule='constant', warmup_iters=2)
    assert [const.weight_at(i) for i in range(4)] == [0.0, 0.0, 2.0, 2.0]
    linear = CIKDHook(weight=2.0, schedule='linear', warmup_iters=4)
    assert [linear.weight_at(i) for i in (0, 1, 2, 3, 4, 10)] == \
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    plain = CIKDHook(weight=0.5)
    assert plain.weight_at(0) == plain.weight_at(100) == 0.5
    with pytest.raises(ValueError, match="unknown schedule 'cosine'"):
        CIKDHook(schedule='cosine')
    with pytest.raises(ValueError, match='weight must be >= 0'):
        CIKDHook(weight=-1)


def test_hook_sets_model_weight_and_logs_it():
    model = SimpleNamespace(distill_weight=1.0, distiller=object())
    hub = MessageHub.get_instance('test_cikd_hook')
    hook = CIKDHook(weight=3.0, schedule='linear', warmup_iters=3)
    runner = SimpleNamespace(model=model, iter=1, message_hub=hub)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=0)
    assert model.distill_weight == pytest.approx(1.0)
    assert hub.get_scalar('train/cikd_weight').current() == \
        pytest.approx(1.0)
    runner.iter = 5
    hook.before_train_iter(runner, batch_idx=0)
    assert model.distill_weight == pytest.approx(3.0)


def test_hook_rejects_a_model_without_distillation():
    hook = CIKDHook(weight=1.0)
    runner = SimpleNamespace(
        model=SimpleNamespace(distill_weight=1.0, distiller=None))
    with pytest.raises(ValueError, match='distiller=None'):
        hook.before_train(runner)
    # weight 0 needs no distiller
    CIKDHook(weight=0.0).before_train(runner)
    with pytest.raises(TypeError, match='distill_weight'):
        hook.before_train(SimpleNamespace(model=torch.nn.Linear(1, 1)))


def test_hook_is_a_scheduled_value_hook_of_distill_weight():
    from mmecmt.engine.hooks import ScheduledValueHook
    hook = CIKDHook(weight=2.0, schedule='linear', warmup_iters=4)
    assert isinstance(hook, ScheduledValueHook)
    assert (hook.name, hook.log_name) == ('distill_weight', 'cikd_weight')
    assert hook.weight == 2.0
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        CIKDHook(schedule='step')
    with pytest.raises(ValueError, match='warmup_iters must be an integer'):
        CIKDHook(warmup_iters=-2)


# ----------------------------------------------------------------------
# CIKDDistiller
# ----------------------------------------------------------------------
def test_distiller_picks_levels_and_compares_leading_channels():
    from mmecmt.models.algorithms import CIKDDistiller
    student = [t([[[[1., 2.]]]]), t([[[[0., 0.]]]])]
    teacher = [t([[[[0., 4.]], [[9., 9.]]]]), t([[[[1., 1.]], [[5., 5.]]]])]
    # level 0: ((1-0)^2 + (2-4)^2) / 2 = 2.5; level 1: (1 + 1) / 2 = 1
    only_last = CIKDDistiller(levels=(-1, ))
    assert only_last.level_indices(2) == (1, )
    assert only_last(student, teacher).item() == pytest.approx(1.0)
    # levels=None: the architecture's decoder levels ...
    by_decoders = CIKDDistiller()
    by_decoders.prepare(SimpleNamespace(decoder_levels=lambda: (0, )))
    assert by_decoders(student, teacher).item() == pytest.approx(2.5)
    # ... or every level when the architecture does not say
    every = CIKDDistiller(loss=dict(type='CIKDLoss', loss_weight=2.0))
    every.prepare(SimpleNamespace(decoder_levels=lambda: None))
    assert every.level_indices(3) == (0, 1, 2)
    assert every(student, teacher).item() == pytest.approx(2 * 1.75)
    with pytest.raises(ValueError, match='student has 1 backbone outputs, '
                       'the teacher 2'):
        every(student[:1], teacher)
    with pytest.raises(ValueError, match='levels must be integers'):
        CIKDDistiller(levels=(0.5, ))
