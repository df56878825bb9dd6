"""Build the static model of one exported subnet from a config.

``tools/export_subnet.py`` writes a config whose model is
``dict(type='StaticSubnet', supernet=<the supernet's model config>,
subnet=<SubnetSpec dict>)`` next to the static weights; building it gives a
model with exactly the exported (plain ``nn``) layers, into which the saved
weights load, so ``tools/test.py`` evaluates it like any other model.
"""
from typing import Mapping, Optional, Sequence

import torch
from torch import nn

from mmecmt.registry import MODELS
from mmecmt.search.space import SubnetSpec


@MODELS.register_module(name='StaticSubnet')
def build_static_subnet(supernet: Mapping,
                        subnet: Mapping,
                        example_shape: Sequence[int] = (64, 64),
                        data_preprocessor: Optional[Mapping] = None
                        ) -> nn.Module:
    """The static model of ``subnet`` of the supernet built from
    ``supernet`` (weights uninitialised: load the exported checkpoint).

    Args:
        supernet: model config of a slimmable supernet (or of a training
            algorithm around one: its architecture is exported).
        subnet: ``SubnetSpec.to_dict()`` of the exported subnet.
        example_shape: (H, W) of the example input that traces the widths.
        data_preprocessor: the Runner's default (used when the supernet
            config has none).
    """
    from mmecmt.models.slimmable.export import export_static
    supernet = dict(supernet)
    if data_preprocessor is not None:
        supernet.setdefault('data_preprocessor', data_preprocessor)
    from mmecmt.models.algorithms import architecture_of
    model = architecture_of(MODELS.build(supernet))
    spec = SubnetSpec.from_dict(subnet)
    model.search_space.validate(spec)
    example = torch.zeros(2, 3, *[int(v) for v in example_shape])
    return export_static(model, spec, example_input=example)
