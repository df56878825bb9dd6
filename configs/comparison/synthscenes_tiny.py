# Smoke test of the comparison study (tests/test_compare_methods.py): three
# tasks, the tiny SynthScenes data, every model 4 iterations, one budget and
# 1 + 3 + 1 preferences. Not a result.
references = {
    task: f'configs/stl/synthscenes_mbv2_tiny_{task}.py'
    for task in ('semseg', 'depth', 'normals')
}
methods = [
    dict(name='CDMA', pipeline='cdma',
         configs=['configs/cdma/synthscenes_mbv2_tiny_stage2.py']),
    dict(name='InterroGate', pipeline='interrogate',
         configs=['configs/interrogate/synthscenes_mbv2_tiny.py']),
    dict(name='fixed MTL', pipeline='train',
         configs=['configs/mtl/synthscenes_mbv2_tiny_3tasks.py']),
]
budgets = ['1.0x']
num_preferences = 1
pairs = [('CDMA', 'InterroGate')]
cost_budgets = ['1.0x']
cost_args = ['--num-preferences', '1', '--repeats', '1']
