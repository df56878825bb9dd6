"""tools/deploy.py: one request end to end (spec, MACs, measure, export,
ONNX, the exported model tested in its own work dir) and every bad input
as a one-line error with exit code 2."""
import json
import os.path as osp

import pytest
import torch
from conftest import ECMT_TINY, REPO, TINY_CONFIG, run_tool, tiny_data_options

from mmecmt.utils.checkpoint import file_sha256

CKPT = osp.join(REPO, 'tests', 'data', 'ecmt_pre_refactor', 'tiny_ecmt.pth')
PREF = 'semseg=0.4,depth=0.3,normals=0.1,edge=0.1,sal=0.1'


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    return tmp_path_factory.mktemp('deploy_tool')


def _deploy(root, work, *args, config=ECMT_TINY, ckpts=(CKPT, ),
            check=True):
    # a 4-subnet predictor keeps the first request short
    return run_tool(['tools/deploy.py', config, *ckpts, '--work-dir',
                     str(work), *args, '--cfg-options',
                     'deploy.predictor_subnets=4',
                     *tiny_data_options(root)], check=check)


def test_deploy_one_request(tiny_synth_root, work):
    out = work / 'out'
    proc = _deploy(tiny_synth_root, work, '--preference', PREF, '--budget',
                   '0.7x', '--out-dir', str(out), '--onnx', '--measure')
    result = json.load(open(out / 'deploy_result.json'))
    spec = result['spec']
    assert spec['method'] == 'ECMT'
    assert spec['checkpoint'] == file_sha256(CKPT)
    assert spec['input_shape'] == [64, 64]  # 48 x 64 padded to 32
    assert json.load(open(out / 'spec.json')) == spec
    assert result['min_macs'] <= result['macs'] <= result['budget']
    assert result['above_range'] is False and result['note'] is None
    assert 'semseg/mIoU' in result['measured']
    export = result['export']
    assert export['macs'] == result['macs']
    assert export['onnx_max_abs_diff']['max'] <= 1e-4
    assert 'max |onnxruntime - PyTorch|' in proc.stdout + proc.stderr
    saved = torch.load(out / 'export' / 'static_model.pth',
                       weights_only=False)
    assert saved['meta']['spec'] == spec
    # the exported model is tested in its own work dir
    run_tool(['tools/test.py', str(out / 'export' / 'static_config.py'),
              str(out / 'export' / 'static_model.pth'), '--cfg-options',
              *tiny_data_options(tiny_synth_root)])
    assert osp.isdir(out / 'export' / 'test')
    assert not osp.isdir(out / 'test')

    # above the range: the largest subnet, and the output says so
    proc = _deploy(tiny_synth_root, work, '--preference', PREF, '--budget',
                   '1G', '--out-dir', str(work / 'above'))
    above = json.load(open(work / 'above' / 'deploy_result.json'))
    assert above['above_range'] is True
    assert above['macs'] == above['max_macs']
    assert 'above the largest subnet' in above['note']
    assert 'above the largest subnet' in proc.stdout + proc.stderr


def test_deploy_a_fixed_model(tiny_synth_root, work):
    """A fixed multi-task model is deployed as a family of one."""
    from mmecmt.registry import MODELS
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(load_tool_config(TINY_CONFIG).model)
    path = str(work / 'fixed.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    out = work / 'fixed_out'
    run_tool(['tools/deploy.py', TINY_CONFIG, path, '--preference', PREF,
              '--budget', '1G', '--out-dir', str(out), '--export',
              '--cfg-options', *tiny_data_options(tiny_synth_root)])
    result = json.load(open(out / 'deploy_result.json'))
    assert result['spec']['method'] == 'StaticFamily'
    assert result['spec']['arch'] == dict(member=0)
    assert result['min_macs'] == result['max_macs'] == result['macs']
    assert result['export']['macs'] == result['macs']


@pytest.mark.parametrize('args, message', [
    (('--preference', 'semseg=0.5,depth=0.3,normals=0.1,edge=0.1,sal=0.1',
      '--budget', '0.7x'), '--preference: preference'),
    (('--preference', 'semseg=0.4,depth=0.3,normals=0.1,edge=0.1,parts=0.1',
      '--budget', '0.7x'), "unknown tasks ['parts']"),
    (('--preference', PREF, '--budget', '1M'),
     'below the smallest subnet'),
    (('--preference', PREF, '--budget', 'lots'), "budget 'lots' is not "
     'understood'),
    (('--preference', PREF, '--budget', '0.7x', '--method', 'CDMAish'),
     "unknown deployer 'CDMAish'"),
])
def test_deploy_bad_requests(tiny_synth_root, work, args, message):
    proc = _deploy(tiny_synth_root, work, *args, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and 'Traceback' not in proc.stderr
    if 'below' in message:
        assert 'feasible range' in proc.stderr


def test_deploy_bad_checkpoints(tiny_synth_root, work):
    garbage = work / 'garbage.pth'
    garbage.write_bytes(b'\x00not a checkpoint')
    state = torch.load(CKPT, map_location='cpu')['state_dict']
    state.pop(next(iter(state)))
    torch.save(dict(state_dict=state), str(work / 'other.pth'))
    for ckpt, message in ((work / 'missing.pth', 'missing.pth does not '
                           'exist'),
                          (garbage, 'garbage.pth is not a checkpoint'),
                          (work / 'other.pth', 'other.pth does not fit')):
        proc = _deploy(tiny_synth_root, work, '--preference', PREF,
                       '--budget', '0.7x', ckpts=(str(ckpt), ), check=False)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert message in proc.stderr and 'Traceback' not in proc.stderr
