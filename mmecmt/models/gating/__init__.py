"""InterroGate's gates (arXiv 2402.16848): per-channel share / specialise
gates, the gated units of a backbone, hard gate patterns and the pruner that
turns a gated network into one static model."""
from .gates import gate_mix, gate_values, shared_combination
from .pattern import GatePattern
from .pruner import GatePruner
from .units import (output_layers, run_unit, set_unit_out_index,
                    unit_out_channels)

__all__ = ['gate_values', 'gate_mix', 'shared_combination', 'GatePattern',
           'GatePruner', 'output_layers', 'run_unit', 'set_unit_out_index',
           'unit_out_channels']
