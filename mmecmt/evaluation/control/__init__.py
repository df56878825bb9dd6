"""Controllability evaluation, method-agnostic: hypervolume of normalised
task scores, Spearman controllability (task preference, compute budget),
uniformity of the preference-weighted losses, paired comparison of two
methods, Pareto fronts, figures, the report (JSON + Markdown + PNG) and
the summary of a study over training seeds."""
from .controllability import (budget_controllability, budget_violations,
                              mean_task_controllability, spearman,
                              task_controllability)
from .knob_response import (format_knob_response, knob_response,
                            plot_knob_response)
from .hypervolume import hypervolume, hypervolume_reference, normalised_scores
from .paired import paired_comparison, weighted_scores
from .pareto import pareto_front
from .plots import (plot_budget_vs_macs, plot_gate_patterns, plot_hv_vs_macs,
                    plot_pairwise_scatter, plot_preference_vs_score)
from .report import default_budget_label, pair_key, write_control_report
from .seeds import plot_hv_over_seeds, seed_summary, t_interval
from .uniformity import uniformity

__all__ = [
    'budget_controllability', 'budget_violations',
    'mean_task_controllability', 'spearman', 'task_controllability',
    'hypervolume', 'hypervolume_reference', 'normalised_scores',
    'pareto_front', 'plot_budget_vs_macs', 'plot_hv_vs_macs',
    'plot_gate_patterns',
    'plot_pairwise_scatter', 'plot_preference_vs_score',
    'default_budget_label', 'pair_key', 'write_control_report',
    'paired_comparison', 'weighted_scores', 'uniformity', 'knob_response',
    'format_knob_response', 'plot_knob_response', 'plot_hv_over_seeds',
    'seed_summary', 't_interval'
]
