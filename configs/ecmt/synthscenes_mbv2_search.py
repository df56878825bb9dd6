# Search with the trained SynthScenes supernet inside the Runner:
#   python tools/test.py configs/ecmt/synthscenes_mbv2_search.py \
#       work_dirs/ecmt/iter_500.pth --work-dir work_dirs/ecmt
# answers each request below (SubnetSearchLoop): decoder widths from the
# preference, encoder widths by evolution with the accuracy predictor (built
# on first use from 200 subnets evaluated on held-out training images, then
# cached in the work dir), and measures the chosen subnet on val.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

test_cfg = dict(
    type='SubnetSearchLoop',
    requests=[
        dict(preference=dict(semseg=0.4, depth=0.3, normals=0.1, edge=0.1,
                             sal=0.1), budget='0.5x'),
        dict(preference=dict(semseg=0.1, depth=0.1, normals=0.1, edge=0.1,
                             sal=0.6), budget='0.7x'),
    ],
    mode='evolution',
    predictor_subnets=200,
    measure=True)
