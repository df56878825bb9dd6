# The three-family study on SynthScenes (docs/results/comparison.md): ECMT,
# CDMA and InterroGate at full width and, so that every family answers the
# same budgets (100M, 125M), CDMA and InterroGate over half-width streams;
# the fixed multi-task models (500 iterations, half width, and 2000
# iterations: the ECMT supernet's training compute) as points.
#   python tools/benchmarks/compare_methods.py configs/comparison/synthscenes_mbv2.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synthscenes import synth_tasks

# the single-task models: every score's normalisation, and the single-task set
references = {task: f'configs/stl/synthscenes_mbv2_{task}.py'
              for task in synth_tasks}
methods = [
    dict(name='ECMT', pipeline='train',
         configs=['configs/ecmt/synthscenes_mbv2.py']),
    dict(name='CDMA', pipeline='cdma',
         configs=['configs/cdma/synthscenes_mbv2_stage2.py']),
    dict(name='InterroGate', pipeline='interrogate',
         configs=[f'configs/interrogate/synthscenes_mbv2_{b}.py'
                  for b in ('150m', '200m', '250m')]),
    dict(name='CDMA half', pipeline='cdma',
         configs=['configs/cdma/synthscenes_mbv2_half_stage2.py']),
    dict(name='InterroGate half', pipeline='interrogate',
         configs=[f'configs/interrogate/synthscenes_mbv2_half_{b}.py'
                  for b in ('85m', '105m', '125m')]),
    dict(name='fixed MTL', pipeline='train',
         configs=['configs/mtl/synthscenes_mbv2_baseline.py']),
    dict(name='fixed MTL half', pipeline='train',
         configs=['configs/mtl/synthscenes_mbv2_half_baseline.py']),
    dict(name='fixed MTL 2000it', pipeline='train',
         configs=['configs/mtl/synthscenes_mbv2_baseline_2000it.py']),
]
budgets = ['50M', '75M', '100M', '125M', '150M', '250M', '413M']
num_preferences = 10  # + the 5 one-hot and the uniform one: 16 per budget
pairs = [
    ('ECMT', 'CDMA half'), ('ECMT', 'InterroGate half'),
    ('InterroGate half', 'CDMA half'), ('ECMT', 'fixed MTL'),
    ('InterroGate', 'fixed MTL'), ('ECMT', 'InterroGate'),
    ('fixed MTL 2000it', 'fixed MTL'),
]
# edge scores matched by distance transform (odsF_dt), as the references
evaluate_options = {'val_evaluator.edge_matching': 'distance_transform'}
cost_methods = ['ECMT', 'CDMA', 'InterroGate', 'CDMA half',
                'InterroGate half', 'fixed MTL']
cost_budgets = ['0.5x', '0.75x', '1.0x']
