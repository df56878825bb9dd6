"""Controllers of dynamic multi-task architectures (CDMA, Raychaudhuri et
al., CVPR 2022)."""
from .hypernets import EdgeHypernet, PreferenceEmbedding, WeightHypernet
from .task_affinity import (TaskAffinity, plot_task_affinity,
                            representation_dissimilarity, rsa_affinity)

__all__ = ['EdgeHypernet', 'WeightHypernet', 'PreferenceEmbedding',
           'representation_dissimilarity', 'rsa_affinity', 'TaskAffinity',
           'plot_task_affinity']
