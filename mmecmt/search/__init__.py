"""Subnet search: the search space, the sandwich sampler, the analytic MACs
model, the preference rule and budgets, the accuracy predictor and the
evolution search (``subnet_evaluator`` measures subnets; import it from its
module: it pulls in the Runner's evaluation machinery)."""
from .budget import check_feasible, format_macs, parse_budget
from .evolution import (EvolutionSearcher, largest_uniform_under_budget,
                        uniform_level_spec, uniform_width_spec)
from .macs import MacsModel, benchmark_macs_model, compare_with_fvcore
from .predictor import AccuracyPredictor
from .preference import (PreferenceRule, parse_preference, sample_simplex,
                         validate_preference)
from .refinement import PredictorRefiner, refinement_requests
from .sampler import SandwichSampler
from .space import SearchSpace, SubnetSpec

__all__ = [
    'SearchSpace', 'SubnetSpec', 'SandwichSampler', 'MacsModel',
    'benchmark_macs_model', 'compare_with_fvcore', 'PreferenceRule',
    'validate_preference', 'parse_preference', 'sample_simplex',
    'parse_budget', 'check_feasible', 'format_macs', 'AccuracyPredictor',
    'EvolutionSearcher', 'uniform_width_spec', 'uniform_level_spec',
    'largest_uniform_under_budget', 'PredictorRefiner',
    'refinement_requests'
]
