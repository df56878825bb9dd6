"""tools/train_interrogate.py: the references first (each once), then the
budgets, skipping the trained ones, and its errors (the training itself is
faked here; a real run is in tests/test_interrogate.py)."""
import json
import os
import os.path as osp
import sys

import pytest
from test_tools_train_cdma import fake_training, in_tmp  # noqa: F401

from conftest import REPO
from mmecmt.utils import pipeline

sys.path.insert(0, osp.join(REPO, 'tools'))
import train_interrogate  # noqa: E402

BUDGETS = [f'configs/interrogate/synthscenes_mbv2_{b}m.py'
           for b in (150, 200, 250)]


def test_trains_references_once_then_budgets(in_tmp, capsys,  # noqa: F811
                                             monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline.subprocess, 'run', fake_training(calls))
    os.makedirs('work_dirs/synthscenes_mbv2_depth')
    open('work_dirs/synthscenes_mbv2_depth/iter_500.pth', 'w').close()
    train_interrogate.main(BUDGETS)
    out = capsys.readouterr().out
    assert calls == [f'configs/stl/synthscenes_mbv2_{t}.py'
                     for t in ('semseg', 'normals', 'edge', 'sal')] + [
                         'configs/mtl/synthscenes_mbv2_baseline.py'] + BUDGETS
    assert '[2/9] single-task depth: done' in out
    assert '[8/9] InterroGate 200M: training' in out
    times = json.load(open('work_dirs/interrogate_pipeline_times.json'))
    assert len(times) == 8
    calls.clear()
    train_interrogate.main(BUDGETS[:1])
    assert calls == []
    assert '[7/7] InterroGate 150M: done' in capsys.readouterr().out


def test_errors(in_tmp, capsys, monkeypatch):  # noqa: F811
    with pytest.raises(SystemExit) as exit_info:
        train_interrogate.main(['configs/mtl/synthscenes_mbv2_baseline.py'])
    assert exit_info.value.code == 2
    assert 'not an InterroGate config' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_interrogate.main([BUDGETS[0], '--cfg-options',
                                'model.shared_checkpoint=elsewhere.pth'])
    err = capsys.readouterr().err
    assert 'writes work_dirs/synthscenes_mbv2_baseline/iter_500.pth' in err
    assert 'elsewhere.pth' in err
