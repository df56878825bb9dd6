"""ECMT through the tools: train the tiny supernet, test its max / min
subnets, export a subnet and evaluate the static model with tools/test.py."""
import json
import os.path as osp
import re

import torch
from conftest import ECMT_TINY, REPO, run_tool, tiny_data_options


def test_train_test_export_static_subnet(tiny_synth_root,
                                         tiny_ecmt_checkpoint, tmp_path):
    work = str(tmp_path / 'work')
    data = tiny_data_options(tiny_synth_root)
    ckpt = tiny_ecmt_checkpoint
    assert osp.isfile(ckpt)

    proc = run_tool(['tools/test.py', ECMT_TINY, ckpt, '--work-dir', work,
                     '--cfg-options', *data])
    log = proc.stdout + proc.stderr
    for prefix in ('max', 'min'):
        assert f'{prefix}/semseg/mIoU' in log and f'{prefix}/edge/odsF' in log

    subnet = tmp_path / 'small.json'
    subnet.write_text(json.dumps(dict(
        encoder={s: 0.5 for s in ('conv1', 'layer1', 'layer2', 'layer3',
                                  'layer4', 'layer5', 'layer6', 'layer7')},
        decoders={t: 0.25 for t in ('semseg', 'depth', 'normals', 'edge',
                                    'sal')})))
    out = str(tmp_path / 'export')
    proc = run_tool(['tools/export_subnet.py', ECMT_TINY, ckpt, '--subnet',
                     str(subnet), '--out-dir', out, '--calib-images', '8',
                     '--cfg-options', *data])
    log = proc.stdout + proc.stderr
    assert re.search(r'MMACs at 64x64 \(fvcore == analytic\)', log)
    saved = torch.load(osp.join(out, 'static_model.pth'), weights_only=False)
    assert saved['meta']['spec']['arch']['decoders']['sal'] == 0.25
    assert not any('Dynamic' in k for k in saved['state_dict'])
    assert json.load(open(osp.join(out, 'spec.json')))['arch'] == json.loads(
        subnet.read_text())

    # the exported model is tested in its own work dir (out/test)
    proc = run_tool(['tools/test.py', osp.join(out, 'static_config.py'),
                     osp.join(out, 'static_model.pth'), '--cfg-options',
                     *data])
    log = proc.stdout + proc.stderr
    assert 'semseg/mIoU' in log and 'max/semseg' not in log
    assert osp.isdir(osp.join(out, 'test'))

    # bad input: one line on stderr, exit code 2
    bad = tmp_path / 'bad.json'
    bad.write_text('{"encoder": {}')
    wide = tmp_path / 'wide.json'
    wide.write_text(subnet.read_text().replace('0.25', '0.3'))
    for args, message in (
            (['--subnet', str(tmp_path / 'none.json')], 'none.json'),
            (['--subnet', str(bad)], 'not valid JSON'),
            (['--subnet', str(wide)], 'is not a valid width')):
        proc = run_tool(['tools/export_subnet.py', ECMT_TINY, ckpt, *args,
                         '--out-dir', str(tmp_path / 'bad_out'),
                         '--cfg-options', *data], check=False)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert message in proc.stderr and 'Traceback' not in proc.stderr
    proc = run_tool(['tools/export_subnet.py', ECMT_TINY,
                     str(tmp_path / 'missing.pth'), '--subnet', 'max',
                     '--cfg-options', *data], check=False)
    assert proc.returncode == 2 and 'missing.pth does not exist' in \
        proc.stderr and 'Traceback' not in proc.stderr

    # the benchmark scripts run and print their figures
    proc = run_tool(['tools/benchmarks/width_ladder.py', ECMT_TINY, ckpt,
                     '--levels', '2', '--work-dir', str(tmp_path / 'ladder'),
                     '--cfg-options', *data])
    assert 'semseg' in proc.stdout
    proc = run_tool(['tools/benchmarks/ecmt_speed.py', '--ecmt-config',
                     ECMT_TINY, '--baseline-config',
                     osp.join(REPO, 'configs', 'mtl',
                              'synthscenes_mbv2_tiny.py'),
                     '--subnets', '1', '--train-iters', '1', '--repeats',
                     '2', '--cfg-options', *data])
    out = proc.stdout
    assert 'sandwich step (4 subnets, 1 optimizer step)' in out
    assert out.count('| rand0 |') == 1 and '| min |' in out
    assert re.search(r'dynamic/static latency: mean \d+\.\d+', out)
