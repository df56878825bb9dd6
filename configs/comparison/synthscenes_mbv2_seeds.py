# The equal-MACs core of the three-family study, repeated over training
# seeds (docs/results/comparison.md, "Headline"): ECMT, CDMA and InterroGate
# over half-width streams (the 85M and 125M budgets: the members that answer
# 100M, 125M and 150M) and the fixed models, at 100M, 125M and 150M.
#   python tools/benchmarks/compare_methods.py configs/comparison/synthscenes_mbv2_seeds.py
#   python tools/benchmarks/compare_methods.py configs/comparison/synthscenes_mbv2_seeds.py \
#       --seed 1 --work-root work_dirs/study_seed1 --share-references . --stages train references evaluate report
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import evaluate_options, methods, references

methods = [m for m in methods if m['name'] in (
    'ECMT', 'CDMA half', 'InterroGate half', 'fixed MTL', 'fixed MTL half')]
methods[2] = dict(methods[2], configs=[
    f'configs/interrogate/synthscenes_mbv2_half_{b}.py'
    for b in ('85m', '125m')])
budgets = ['100M', '125M', '150M']
num_preferences = 10
pairs = [('ECMT', 'CDMA half'), ('ECMT', 'InterroGate half'),
         ('InterroGate half', 'CDMA half'), ('ECMT', 'fixed MTL half'),
         ('ECMT', 'fixed MTL')]
