"""MACs counting (mmecmt.utils.flops) and tools/analysis_tools/get_flops.py."""
import contextlib
import importlib.util
import io
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

from mmecmt.utils.flops import count_macs, full_input_shape

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py')

# A model whose MACs are counted by hand: backbone Conv2d(3, 8, 3, pad 1),
# two FCNTaskHeads (Conv2d(8, 4, 3, pad 1) + ReLU, then a 1x1 output conv),
# all at the input resolution, so nothing is upsampled.
HAND_CONFIG = """
default_scope = 'mmecmt'
fcn = dict(type='FCNTaskHead', in_channels=8, channels=4, in_index=0,
           num_convs=1, dropout_ratio=0.0, norm_cfg=None)
model = dict(
    type='MultiTaskEncoderDecoder',
    backbone=dict(type='ConvModule', in_channels=3, out_channels=8,
                  kernel_size=3, padding=1, norm_cfg=None, act_cfg=None),
    tasks=dict(
        semseg=dict(kind='segmentation', num_classes=3,
                    head=dict(fcn, out_channels=3)),
        depth=dict(kind='depth', head=dict(fcn, out_channels=1))))
"""
# MobileNetV2 (width 0.25, last stage, stride 32) and an FCN head with BN.
MOBILENET_CONFIG = """
default_scope = 'mmecmt'
model = dict(
    type='MultiTaskEncoderDecoder',
    backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.25,
                  out_indices=(7, )),
    tasks=dict(
        semseg=dict(kind='segmentation', num_classes=3,
                    head=dict(type='FCNTaskHead', in_channels=1280,
                              channels=8, out_channels=3, in_index=0))))
"""


def hand_macs(hw, semseg_channels=4):
    """MACs of HAND_CONFIG on a (1, 3, h, w) input (biases not counted)."""
    pixels = hw[0] * hw[1]
    backbone = 8 * 3 * 9 * pixels
    semseg = (semseg_channels * 8 * 9 + 3 * semseg_channels) * pixels
    depth = (4 * 8 * 9 + 1 * 4) * pixels
    return backbone + semseg + depth


def hand_params(semseg_channels=4):
    backbone = 3 * 8 * 9 + 8
    semseg = (8 * semseg_channels * 9 + semseg_channels) + (
        semseg_channels * 3 + 3)
    depth = (8 * 4 * 9 + 4) + (4 * 1 + 1)
    return backbone + semseg + depth


def parse_report(text):
    macs = re.search(r'MACs: ([\d.]+) G \((\d+) multiply-accumulates', text)
    params = re.search(r'Params: [\d.]+ M \((\d+)\)', text)
    assert macs and params, text
    return int(macs.group(2)), float(macs.group(1)), int(params.group(1))


def run_tool_in_process(argv):
    spec = importlib.util.spec_from_file_location('get_flops_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tool.main(argv)
    return buffer.getvalue()


# ----------------------------------------------------------------------
# count_macs
# ----------------------------------------------------------------------
def test_count_macs_single_conv():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, (1, 3, 8, 8)) == 8 * 3 * 9 * 64  # 13824
    assert count_macs(conv, (8, 8)) == 13824  # (H, W): one RGB image
    assert count_macs(conv, (2, 3, 8, 8)) == 2 * 13824
    strided = nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1, bias=False)
    assert count_macs(strided, (3, 8, 8)) == 8 * 3 * 9 * 16


def test_count_macs_uses_forward_tensors_and_restores_mode():

    class TwoHeads(nn.Module):
        """mmengine-style: ``_forward`` returns {task: tensor}."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 1)
            self.cls = nn.Linear(4, 10)

        def _forward(self, x):
            feat = self.stem(x)
            return dict(dense=feat, cls=self.cls(feat.flatten(2).amax(-1)))

        def forward(self, x):
            raise AssertionError('forward must not be used')

    model = TwoHeads().train()
    # 1x1 conv 3->4 on 4x4 = 4*3*16, linear 4->10 = 40
    assert count_macs(model, (4, 4)) == 4 * 3 * 16 + 40
    assert model.training
    assert count_macs(model.eval(), (4, 4)) == 232
    assert not model.training
    assert 'forward' not in vars(model)  # the temporary redirection is gone
    with pytest.raises(AssertionError, match='must not be used'):
        model(torch.zeros(1, 3, 4, 4))


def test_full_input_shape_rejects_bad_shapes():
    assert full_input_shape([5, 7]) == (1, 3, 5, 7)
    with pytest.raises(ValueError, match=r'\(H, W\), \(C, H, W\)'):
        full_input_shape((8, ))
    with pytest.raises(ValueError, match='positive'):
        full_input_shape((1, 3, 0, 8))


# ----------------------------------------------------------------------
# tools/analysis_tools/get_flops.py
# ----------------------------------------------------------------------
def test_get_flops_subprocess_hand_counted(tmp_path):
    config = tmp_path / 'hand.py'
    config.write_text(HAND_CONFIG)
    result = subprocess.run(
        [sys.executable, TOOL, str(config), '--shape', '8', '12'],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    macs, macs_g, params = parse_report(result.stdout)
    # 96 pixels * (216 + 300 + 292) = 77568
    assert macs == hand_macs((8, 12)) == 77568
    assert macs_g == pytest.approx(77568 / 1e9, abs=1e-4)
    assert params == hand_params() == 828
    assert 'Input shape: (1, 3, 8, 12)' in result.stdout
    # fvcore's per-module table: | module | #params | #flops (MACs) |
    table = {
        'backbone.conv': ('0.224K', '20.736K'),  # 96 * 216
        'heads.semseg': ('0.307K', '28.8K'),  # 96 * 300
        'heads.depth': ('0.297K', '28.032K'),  # 96 * 292
    }
    for module, (n_params, n_macs) in table.items():
        assert re.search(
            rf'\| {re.escape(module)}\s+\| {re.escape(n_params)}\s+\| '
            rf'{re.escape(n_macs)}\s+\|', result.stdout), result.stdout


def test_get_flops_cfg_options_and_shape_scaling(tmp_path):
    hand = tmp_path / 'hand.py'
    hand.write_text(HAND_CONFIG)
    text = run_tool_in_process([
        str(hand), '--shape', '8', '--cfg-options',
        'model.tasks.semseg.head.channels=2'
    ])
    macs, _, params = parse_report(text)
    assert macs == hand_macs((8, 8), semseg_channels=2) == 42112
    assert params == hand_params(semseg_channels=2) == 676

    # MobileNetV2: every size halves exactly 5 times from 32 and 64, so
    # doubling H and W multiplies every count by exactly 4.
    mobilenet = tmp_path / 'mobilenet.py'
    mobilenet.write_text(MOBILENET_CONFIG)
    small, _, params_small = parse_report(
        run_tool_in_process([str(mobilenet), '--shape', '32', '32']))
    large, _, params_large = parse_report(
        run_tool_in_process([str(mobilenet), '--shape', '64', '64']))
    assert small > 0
    assert large == 4 * small
    assert params_small == params_large


def test_get_flops_missing_config(tmp_path):
    result = subprocess.run(
        [sys.executable, TOOL, str(tmp_path / 'nope.py')],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode != 0
    assert 'nope.py' in result.stderr
