"""BNCalibrator: exact average of batch statistics of the active subnet."""
import pytest
import torch
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import nn

from mmecmt.models.slimmable.bn_calibration import (BNCalibrator,
                                                    load_bn_state,
                                                    save_bn_state)
from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d)


class ToySupernet(BaseModel):
    """x (B, 2, 3, 3) -> plain BN(2) -> 1x1 DynamicConv(2 -> 4, active
    ``width``) -> Dropout(0.5) -> DynamicBN(4)."""

    def __init__(self):
        super().__init__(data_preprocessor=BaseDataPreprocessor())
        torch.manual_seed(0)
        self.in_bn = nn.BatchNorm2d(2)
        self.conv = DynamicConv2d(2, 4, 1, bias=False)
        self.dropout = nn.Dropout(0.5)
        self.bn = DynamicBatchNorm2d(4)
        self.subnet = 4

    def set_subnet(self, width):
        self.conv.active_out_channels = width
        self.subnet = width

    def features(self, x):
        """What ``self.bn`` normalises (no dropout): (B, width, 3, 3)."""
        return self.conv(x)

    def _forward(self, inputs, data_samples=None):
        return self.bn(self.dropout(self.conv(self.in_bn(inputs))))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self._forward(inputs)


def batches(n_batches=3, batch_size=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(batch_size, 2, 3, 3, generator=g) * 3 + 1)
            for _ in range(n_batches)]


def normalise_batch(model, x):
    """``model.in_bn`` in training mode: normalised by the batch's own
    statistics."""
    bn = model.in_bn
    return torch.nn.functional.batch_norm(x, None, None, bn.weight, bn.bias,
                                          True, 0.0, bn.eps)


def expected_stats(feats):
    """Average over batches of the per-batch mean and unbiased variance."""
    means = torch.stack([f.mean((0, 2, 3)) for f in feats])
    variances = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats])
    return means.mean(0), variances.mean(0)


pytestmark = pytest.mark.usefixtures('one_thread')


def test_running_stats_are_the_average_of_batch_statistics():
    model = ToySupernet().eval()
    data = batches(3)
    calibrator = BNCalibrator(model, data, num_images=4, show_progress=False)
    used = calibrator.calibrate(2)  # width 2: the first 2 of 4 channels
    assert used == 4
    assert model.subnet == 2

    # input BN: statistics of the raw inputs of the first two batches
    mean, var = expected_stats([b['inputs'] for b in data[:2]])
    assert torch.allclose(model.in_bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(model.in_bn.running_var, var, atol=1e-5)
    # dynamic BN: its active slice holds the statistics of the 2 active
    # channels (dropout stayed off); the inactive ones are reset
    with torch.no_grad():
        feats = [model.features(normalise_batch(model, b['inputs']))
                 for b in data[:2]]
    assert feats[0].shape[1] == 2
    mean, var = expected_stats(feats)
    assert torch.allclose(model.bn.running_mean[:2], mean, atol=1e-5)
    assert torch.allclose(model.bn.running_var[:2], var, atol=1e-5)
    assert torch.equal(model.bn.running_mean[2:], torch.zeros(2))
    assert torch.equal(model.bn.running_var[2:], torch.ones(2))
    assert int(model.bn.num_batches_tracked) == 2
    # momentum and mode restored
    assert model.bn.momentum == 0.1 and model.in_bn.momentum == 0.1
    assert not model.training and not model.bn.training
    model.train()
    calibrator.calibrate()
    assert model.training and model.dropout.training


def test_calibration_replaces_old_statistics():
    model = ToySupernet().eval()
    with torch.no_grad():
        model.bn.running_mean.fill_(7.0)
        model.bn.running_var.fill_(9.0)
        model.bn.num_batches_tracked.fill_(100)
    data = batches(2)
    BNCalibrator(model, data, num_images=4, show_progress=False).calibrate(4)
    with torch.no_grad():
        feats = [model.features(normalise_batch(model, b['inputs']))
                 for b in data]
    mean, var = expected_stats(feats)
    assert torch.allclose(model.bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(model.bn.running_var, var, atol=1e-5)


def test_whole_batches_single_image_batches_and_short_loaders():
    model = ToySupernet()
    # 3 images requested, batches of 2: two whole batches run
    data = batches(3)
    assert BNCalibrator(model, data, 3, False).calibrate() == 4
    assert int(model.bn.num_batches_tracked) == 2
    # a batch of one image is skipped
    data = batches(1, batch_size=1) + batches(1, seed=1)
    assert BNCalibrator(model, data, 8, False).calibrate() == 2
    mean, _ = expected_stats([batches(1, seed=1)[0]['inputs']])
    assert torch.allclose(model.in_bn.running_mean, mean, atol=1e-5)
    # nothing usable
    with pytest.raises(RuntimeError, match='no batch of two or more'):
        BNCalibrator(model, batches(1, batch_size=1), 8, False).calibrate()
    with pytest.raises(ValueError, match='num_images'):
        BNCalibrator(model, data, 0)


def test_save_and_load_bn_state():
    model = ToySupernet()
    state = save_bn_state(model)
    assert set(state) == {'in_bn', 'bn'}
    BNCalibrator(model, batches(2), 4, False).calibrate(2)
    assert not torch.equal(model.bn.running_var, state['bn']['running_var'])
    load_bn_state(model, state)
    for name, bn in (('in_bn', model.in_bn), ('bn', model.bn)):
        for key, value in state[name].items():
            assert torch.equal(getattr(bn, key), value)
    with pytest.raises(KeyError, match=r"\['in_bn'\]"):
        load_bn_state(model, {'bn': state['bn']})


def test_progress_bar_on_a_terminal_one_line_in_a_log(capfd, monkeypatch):
    from mmecmt.models.slimmable import bn_calibration
    logged = []
    monkeypatch.setattr(bn_calibration, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    model = ToySupernet()
    monkeypatch.setattr(bn_calibration, 'stdout_is_terminal', lambda: True)
    BNCalibrator(model, batches(2), 4, show_progress=True).calibrate()
    assert '4/4' in capfd.readouterr().out and not logged
    # not a terminal (a log file): no bar, no carriage return, one line
    monkeypatch.setattr(bn_calibration, 'stdout_is_terminal', lambda: False)
    BNCalibrator(model, batches(2), 4, show_progress=True).calibrate()
    out = capfd.readouterr().out
    assert '\r' not in out and '4/4' not in out
    assert len(logged) == 1 and logged[0].startswith(
        'BN calibration: 4 images, ') and '\n' not in logged[0]
    BNCalibrator(model, batches(2), 4, show_progress=False).calibrate()
    assert len(logged) == 1 and '4/4' not in capfd.readouterr().out


def test_stdout_is_terminal_survives_odd_streams(monkeypatch):
    import io
    import sys
    from mmecmt.models.slimmable.bn_calibration import stdout_is_terminal
    monkeypatch.setattr(sys, 'stdout', io.StringIO())
    assert stdout_is_terminal() is False
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, 'stdout', closed)
    assert stdout_is_terminal() is False


# ----------------------------------------------------------------------
# several subnets in one pass
# ----------------------------------------------------------------------
def _state_equal(a, b):
    assert set(a) == set(b)
    for name in a:
        for key, value in a[name].items():
            assert torch.equal(value, b[name][key]), (name, key)


@pytest.mark.parametrize('data_fn,num_images', [
    (lambda: batches(4), 6),
    # a batch of one image (skipped) and a loader shorter than asked
    (lambda: batches(1, batch_size=1) + batches(2, seed=5), 16),
])
def test_calibrate_subnets_equals_one_calibration_per_subnet(
        data_fn, num_images):
    from mmecmt.models.slimmable.multi_bn_calibration import \
        calibrate_subnets
    widths = [2, 4, 3, 2]
    model = ToySupernet().eval()
    with torch.no_grad():  # distinctive buffers, as after training
        model.bn.running_mean.fill_(5.0)
        model.in_bn.running_var.fill_(3.0)
    model.set_subnet(3)
    before = save_bn_state(model)
    data = data_fn()
    calibrator = BNCalibrator(model, data, num_images, show_progress=False)
    states = calibrate_subnets(calibrator, widths)
    # the model is left as it was
    assert model.subnet == 3 and not model.training
    _state_equal(save_bn_state(model), before)
    assert model.bn.momentum == 0.1 and model.in_bn.momentum == 0.1
    # each state equals (bit for bit) a calibration of that subnet alone
    for width, state in zip(widths, states):
        alone = ToySupernet().eval()
        BNCalibrator(alone, data, num_images, False).calibrate(width)
        _state_equal(state, save_bn_state(alone))
    # different subnets really got different statistics
    assert not torch.equal(states[0]['bn']['running_mean'],
                           states[1]['bn']['running_mean'])
    # the data were read once: a one-pass iterable suffices
    once = iter(data_fn())
    states_once = calibrate_subnets(
        BNCalibrator(model, once, num_images, False), widths)
    for a, b in zip(states, states_once):
        _state_equal(a, b)


def test_calibrate_subnets_errors():
    from mmecmt.models.slimmable.multi_bn_calibration import \
        calibrate_subnets
    model = ToySupernet()
    before = save_bn_state(model)
    with pytest.raises(ValueError, match='at least one subnet'):
        calibrate_subnets(BNCalibrator(model, batches(1), 2, False), [])
    with pytest.raises(RuntimeError, match='no batch of two or more'):
        calibrate_subnets(BNCalibrator(model, batches(1, batch_size=1), 2,
                                       False), [2, 4])
    _state_equal(save_bn_state(model), before)  # restored after the error


def test_fixed_rng_seeds_the_block_and_restores_the_caller():
    """Calibration batches are drawn under fixed_rng: the same random draws
    in every call, and the caller's generators continue as if untouched."""
    import random

    import numpy as np

    from mmecmt.models.slimmable.bn_calibration import fixed_rng

    def draw():
        return (random.random(), float(np.random.rand()),
                float(torch.rand(())))

    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    expected_after = draw()
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    with fixed_rng(0):
        inside1 = draw()
    with fixed_rng(0):
        inside2 = draw()
    assert inside1 == inside2
    assert draw() == expected_after
    with fixed_rng(None):  # no seed: the generators as they are
        assert draw() != inside1
