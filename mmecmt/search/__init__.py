"""Subnet search: the search space and the analytic MACs model."""
from .macs import MacsModel, benchmark_macs_model, compare_with_fvcore
from .space import SearchSpace, SubnetSpec

__all__ = [
    'SearchSpace', 'SubnetSpec', 'MacsModel', 'benchmark_macs_model',
    'compare_with_fvcore'
]
