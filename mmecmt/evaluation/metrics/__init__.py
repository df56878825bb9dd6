from .multitask_metric import PRIMARY_METRICS, MultiTaskMetric, compute_delta_m

__all__ = ['MultiTaskMetric', 'PRIMARY_METRICS', 'compute_delta_m']
