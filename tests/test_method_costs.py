"""tools/benchmarks/method_costs.py on the tiny InterroGate family and the
tiny fixed model: parameters stored, plan times, latency of every distinct
answer, and its errors."""
import json

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool, tiny_data_options
from mmecmt.registry import MODELS
from mmecmt.utils import register_all_modules

register_all_modules()

IG_TINY = 'configs/interrogate/synthscenes_mbv2_tiny.py'


def test_method_costs_tool(tiny_synth_root, tmp_path):
    cfg = Config.fromfile(f'{REPO}/{IG_TINY}')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    paths = []
    for i, logit in enumerate((-1.0, 1.0)):
        for logits in model.gate_logits:
            logits.data.fill_(logit)
        paths.append(str(tmp_path / f'm{i}.pth'))
        torch.save(dict(state_dict=model.state_dict()), paths[-1])
    out = tmp_path / 'costs'
    data = tiny_data_options(tiny_synth_root)
    run_tool(['tools/benchmarks/method_costs.py', '--method', 'IG', IG_TINY,
              *paths, '--budgets', '1.0x', '--num-preferences', '2',
              '--repeats', '2', '--threads', '1', '--out-dir', str(out),
              '--cfg-options', f'work_dir={tmp_path}/w', *data])
    result = json.loads((out / 'method_costs.json').read_text())
    ig = result['results'][0]
    assert ig['requests'] == 2 + 3 + 1
    # the fully shared and the fully specialised member, both pruned
    shared = sum(p.numel() for p in model.shared_units.parameters())
    assert ig['params'] > shared
    assert 1 <= len(ig['networks']) <= 2
    assert all(n['latency_ms'] > 0 for n in ig['networks'])
    assert (out / 'latency_vs_macs.png').is_file()
    assert '| IG |' in (out / 'method_costs.md').read_text()
    bad = run_tool(['tools/benchmarks/method_costs.py', '--method', 'IG',
                    IG_TINY, *paths, '--budgets', '1', '--cfg-options', *data],
                   check=False)
    assert bad.returncode == 2 and "no request at budgets ['1']" in bad.stderr
