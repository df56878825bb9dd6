"""tools/train_cdma.py: the steps of the CDMA pipeline, in order, skipping
the trained ones, and its errors (the training itself is faked here; the
real stages run in tests/test_cdma.py)."""
import json
import os
import os.path as osp
import sys
from types import SimpleNamespace

import pytest

from conftest import REPO

sys.path.insert(0, osp.join(REPO, 'tools'))
import train_cdma  # noqa: E402
from mmecmt.utils import pipeline  # noqa: E402

STAGE2 = 'configs/cdma/synthscenes_mbv2_stage2.py'


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run from an empty folder that sees the repository's configs."""
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fake_training(calls):
    def run(cmd, **kwargs):
        config = cmd[2]
        calls.append(config)
        from mmengine.config import Config
        cfg = Config.fromfile(config)
        if len(cmd) > 3:
            cfg.merge_from_dict(dict(
                kv.split('=', 1) for kv in cmd[cmd.index('--cfg-options')
                                               + 1:]))
        ckpt = pipeline.final_checkpoint(cfg)
        os.makedirs(osp.dirname(ckpt), exist_ok=True)
        open(ckpt, 'w').close()
        return SimpleNamespace(returncode=0, stderr='')
    return run


def test_trains_missing_steps_in_order_and_skips_done_ones(in_tmp, capsys,
                                                          monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline.subprocess, 'run', fake_training(calls))
    # one stream is already trained
    os.makedirs('work_dirs/synthscenes_mbv2_depth')
    open('work_dirs/synthscenes_mbv2_depth/iter_500.pth', 'w').close()
    train_cdma.main([STAGE2])
    out = capsys.readouterr().out
    assert calls == [f'configs/stl/synthscenes_mbv2_{t}.py'
                     for t in ('semseg', 'normals', 'edge', 'sal')] + [
                         'configs/cdma/synthscenes_mbv2.py', STAGE2]
    assert '[2/7] stream depth: done' in out
    assert '[6/7] stage 1 (edge hypernet): training' in out
    times = json.load(open(
        'work_dirs/cdma_synthscenes_mbv2_stage2/pipeline_times.json'))
    assert len(times) == 6
    # everything is trained now: a second run trains nothing
    calls.clear()
    train_cdma.main([STAGE2])
    assert calls == []
    assert '[7/7] stage 2 (weight hypernet): done' in capsys.readouterr().out


def test_dry_run_trains_nothing(in_tmp, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline.subprocess, 'run', fake_training(calls))
    train_cdma.main([STAGE2, '--dry-run'])
    assert calls == []
    assert capsys.readouterr().out.count(': training') == 7


def test_errors(in_tmp, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        train_cdma.main(['configs/cdma/synthscenes_mbv2.py'])
    assert exit_info.value.code == 2
    assert 'not a CDMA stage-2 config' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_cdma.main([STAGE2, '--cfg-options',
                         'load_from=work_dirs/elsewhere.pth'])
    assert 'is not the checkpoint stage 1 writes' in capsys.readouterr().err
    monkeypatch.setattr(pipeline.subprocess, 'run',
                        lambda cmd, **kw: SimpleNamespace(
                            returncode=1, stderr='boom\nKeyError: x'))
    with pytest.raises(SystemExit):
        train_cdma.main([STAGE2])
    err = capsys.readouterr().err
    assert 'stream semseg failed (exit code 1' in err and 'KeyError' in err
