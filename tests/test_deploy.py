"""The deployment contract (mmecmt.deploy) on ECMT and on a family of static
models: ECMT answers exactly as before the contract existed, specs
serialise and name their checkpoint, MACs equal fvcore on the export, the
export equals the dynamic model, ONNX equals PyTorch, and bad requests
raise errors that name the valid range."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import ECMT_TINY, REPO, TINY_CONFIG, tiny_data_options

from mmecmt.deploy import (ECMTDeployer, StaticFamily, build_deployer,
                           default_deployer_type, write_export)
from mmecmt.search.predictor import AccuracyPredictor
from mmecmt.structures.arch_spec import ArchSpec
from mmecmt.structures.request import InfeasibleBudget
from mmecmt.utils.checkpoint import CheckpointError, file_sha256
from mmecmt.utils.flops import count_macs

pytestmark = pytest.mark.usefixtures('one_thread')

FIXTURE = osp.join(REPO, 'tests', 'data', 'ecmt_pre_refactor')
CKPT = osp.join(FIXTURE, 'tiny_ecmt.pth')


def tiny_cfg(config, root, work_dir):
    from mmengine.config import DictAction  # noqa: F401
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    options = dict(item.split('=', 1) for item in tiny_data_options(root))
    return load_tool_config(config, options, work_dir=str(work_dir))


@pytest.fixture(scope='module')
def ecmt_work(tmp_path_factory):
    return tmp_path_factory.mktemp('deploy_ecmt')


def ecmt_deployer(cfg, **options):
    """The tiny supernet's deployer with the fixture's predictor (the one
    the pre-refactor answers were searched with)."""
    deployer = build_deployer(cfg, [CKPT], input_shape=(48, 64),
                              population=16, generations=4, seed=0,
                              **options)
    deployer.session.predictor = AccuracyPredictor.load(
        osp.join(FIXTURE, 'predictor.npz'), deployer.search_space,
        key=file_sha256(CKPT))
    return deployer


@pytest.fixture(scope='module')
def ecmt(tiny_synth_root, ecmt_work):
    return ecmt_deployer(tiny_cfg(ECMT_TINY, tiny_synth_root, ecmt_work))


def test_macs_are_counted_at_the_padded_batch_shape(tiny_synth_root,
                                                    tmp_path):
    """The tiny configs crop 48 x 64; the preprocessor pads to multiples of
    32, so the network runs (and MACs are counted) at 64 x 64, unless a
    shape is given."""
    from mmecmt.utils.input_shape import macs_input_shape
    for config in (ECMT_TINY, TINY_CONFIG):
        cfg = tiny_cfg(config, tiny_synth_root, tmp_path)
        assert macs_input_shape(cfg) == (64, 64)
        assert macs_input_shape(cfg, (48, 64)) == (48, 64)


def test_default_deployer_follows_the_model(tiny_synth_root, tmp_path):
    assert default_deployer_type(tiny_cfg(ECMT_TINY, tiny_synth_root,
                                          tmp_path)) == 'ECMTDeployer'
    assert default_deployer_type(tiny_cfg(TINY_CONFIG, tiny_synth_root,
                                          tmp_path)) == 'StaticFamily'
    cfg = tiny_cfg(ECMT_TINY, tiny_synth_root, tmp_path)
    with pytest.raises(KeyError, match='unknown deployer .*NoSuchMethod'):
        build_deployer(cfg, [CKPT], type='NoSuchMethod')


def test_ecmt_answers_as_before_the_contract(tiny_synth_root, ecmt_work,
                                             ecmt):
    """The 36 requests (4 modes x 3 budgets x 3 preferences) answered by the
    pre-refactor SearchSession on the same checkpoint and predictor give
    the same subnets and MACs through the contract."""
    with open(osp.join(FIXTURE, 'results.json')) as f:
        before = json.load(f)
    assert list(ecmt.input_shape) == before['input_shape']
    assert list(ecmt.macs_range()) == before['macs_range']
    deployers = {'evolution': ecmt}
    cfg = tiny_cfg(ECMT_TINY, tiny_synth_root, ecmt_work)
    for request in before['requests']:
        mode = request['mode']
        if mode not in deployers:
            deployers[mode] = ecmt_deployer(cfg, mode=mode)
        plan = deployers[mode].plan(request['preference'], request['budget'])
        assert plan.spec.arch == request['subnet'], request
        assert plan.macs == request['macs']
        assert not plan.above_range


def test_spec_names_method_checkpoint_and_round_trips(ecmt, tmp_path):
    plan = ecmt.plan(dict(semseg=0.4, depth=0.3, normals=0.1, edge=0.1,
                          sal=0.1), '0.7x')
    assert plan.spec.method == 'ECMT'
    assert plan.spec.checkpoint == file_sha256(CKPT)
    assert plan.macs == ecmt.macs(plan.spec) <= ecmt.budget('0.7x')
    path = str(tmp_path / 'spec.json')
    plan.spec.to_json(path)
    again = ArchSpec.from_json(path)
    assert again == plan.spec and again.key() == plan.spec.key()
    json.dumps(plan.to_dict())  # JSON-serialisable
    other = ArchSpec('ECMT', '0' * 64, plan.spec.arch, plan.spec.input_shape)
    with pytest.raises(ValueError, match='checkpoint sha256'):
        ecmt.macs(other)
    with pytest.raises(ValueError, match="method 'CDMA'"):
        ecmt.macs(ArchSpec('CDMA', plan.spec.checkpoint, {}, (48, 64)))


def test_bad_requests_raise_clear_errors(ecmt):
    uniform = {t: 0.2 for t in ecmt.tasks}
    with pytest.raises(ValueError, match='sums to 1.2'):
        ecmt.plan(dict(uniform, semseg=0.4), '0.7x')
    with pytest.raises(ValueError, match=r"unknown tasks \['parts'\]"):
        ecmt.plan(dict(uniform, parts=0.0), '0.7x')
    lo, hi = ecmt.macs_range()
    with pytest.raises(InfeasibleBudget,
                       match=r'below the smallest subnet.*feasible range '
                       r'2\.82 - 7\.78 MMACs'):
        ecmt.plan(uniform, lo - 1)
    plan = ecmt.plan(uniform, 2 * hi)
    assert plan.above_range and plan.macs == hi
    assert 'above the largest subnet' in plan.note
    assert plan.spec.arch == ecmt.search_space.sample('max').to_dict()
    at_max = ecmt.plan(uniform, hi)
    assert not at_max.above_range and at_max.note is None


@pytest.mark.parametrize('which', ['max', 'min', 'random'])
def test_export_equals_dynamic_model_and_fvcore(ecmt, which, tmp_path):
    space = ecmt.search_space
    subnet = space.sample(which, rng=3)
    spec = ecmt.spec(subnet.to_dict())
    static = ecmt.export(spec)
    x = torch.randn(2, 3, *ecmt.input_shape, generator=torch.Generator()
                    .manual_seed(0))
    with torch.no_grad():
        dynamic = ecmt.prepare(spec)._forward(x)
        plain = static._forward(x)
    for task in ecmt.tasks:
        torch.testing.assert_close(plain[task], dynamic[task], atol=1e-5,
                                   rtol=0)
    assert count_macs(static, ecmt.input_shape) == ecmt.macs(spec)
    meta = write_export(ecmt, spec, str(tmp_path / 'export'), onnx=True)
    assert meta['onnx_max_abs_diff']['max'] <= 1e-4
    assert set(meta['files']) == {'static_model.pth', 'static_config.py',
                                  'spec.json', 'model.onnx'}
    import onnxruntime as ort
    session = ort.InferenceSession(str(tmp_path / 'export' / 'model.onnx'),
                                   providers=['CPUExecutionProvider'])
    assert [o.name for o in session.get_outputs()] == ecmt.tasks
    batch3 = np.zeros((3, 3, *ecmt.input_shape), np.float32)
    outs = session.run(None, {'image': batch3})
    assert all(o.shape[0] == 3 for o in outs)  # dynamic batch axis


def test_prepare_is_deterministic(ecmt):
    """BN recalibration is seeded: preparing one spec twice (with another
    spec in between) gives the same statistics."""
    spec = ecmt.spec(ecmt.search_space.sample('min').to_dict())
    other = ecmt.spec(ecmt.search_space.sample('max').to_dict())
    first = {k: v.clone() for k, v in ecmt.prepare(spec).state_dict().items()
             if 'running_mean' in k}
    ecmt.prepare(other)
    second = ecmt.prepare(spec).state_dict()
    for k, v in first.items():
        torch.testing.assert_close(second[k], v, atol=0, rtol=0)


# ----------------------------------------------------------------------
# a family of trained static models
# ----------------------------------------------------------------------
@pytest.fixture(scope='module')
def family_ckpts(tiny_synth_root, tmp_path_factory):
    """Two members of the tiny fixed multi-task model: different seeds, the
    second at half width (a cheaper member)."""
    from mmecmt.registry import MODELS
    work = tmp_path_factory.mktemp('family')
    cfg = tiny_cfg(TINY_CONFIG, tiny_synth_root, work)
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        path = str(work / f'member{seed}.pth')
        torch.save(dict(state_dict=model.state_dict()), path)
        paths.append(path)
    return cfg, paths


def test_fixed_model_is_a_family_of_one(family_ckpts):
    cfg, paths = family_ckpts
    family = build_deployer(cfg, paths[:1])
    assert isinstance(family, StaticFamily)
    lo, hi = family.macs_range()
    assert lo == hi == count_macs(family.members[0], family.input_shape)
    pref = {t: 1 / len(family.tasks) for t in family.tasks}
    plan = family.plan(pref, hi)
    assert plan.spec.arch == dict(member=0) and plan.macs == hi
    assert family.plan(pref, 2 * hi).above_range
    with pytest.raises(InfeasibleBudget, match='smallest member'):
        family.plan(pref, hi - 1)
    static = family.export(plan.spec)
    assert count_macs(static, family.input_shape) == family.macs(plan.spec)


def test_family_picks_the_best_member_by_preference(family_ckpts):
    cfg, paths = family_ckpts
    family = build_deployer(cfg, paths)
    scores = family.member_scores()
    assert scores.shape == (2, len(family.tasks))
    assert np.all((scores >= 0) & (scores <= 1))
    for t, task in enumerate(family.tasks):
        pref = {u: float(u == task) for u in family.tasks}
        plan = family.plan(pref, family.macs_range()[1])
        best = int(np.argmax(scores[:, t]))
        assert scores[plan.spec.arch['member'], t] == scores[best, t]
    # the scores are cached in the work dir: a new deployer reads them
    again = build_deployer(cfg, paths)
    np.testing.assert_array_equal(again.member_scores(), scores)


def test_checkpoint_errors_name_the_file(tiny_synth_root, tmp_path):
    cfg = tiny_cfg(ECMT_TINY, tiny_synth_root, tmp_path)
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='garbage.pth is not a '
                       'checkpoint'):
        ECMTDeployer(cfg, [str(garbage)])
    with pytest.raises(CheckpointError, match='does not exist'):
        ECMTDeployer(cfg, [str(tmp_path / 'missing.pth')])
    state = torch.load(CKPT, map_location='cpu')['state_dict']
    first = next(k for k, v in state.items() if v.dim() == 4)
    state[first] = state[first][:, :1]  # another shape
    state.pop(next(k for k in state if k.endswith('running_var')))
    torch.save(dict(state_dict=state), str(tmp_path / 'other.pth'))
    with pytest.raises(CheckpointError, match=r'other\.pth does not fit '
                       r'SlimMultiTaskEncoderDecoder.*1 of \d+ tensors have '
                       r'another shape.*' + first.replace('.', r'\.') +
                       r'.*1 model keys are missing'):
        ECMTDeployer(cfg, [str(tmp_path / 'other.pth')])
