"""InterroGate on the deployment contract: a family of trained budgets.

InterroGate (arXiv 2402.16848) trains one gated network per compute budget
and prunes each to one static model. :class:`InterroGateFamily` is a
:class:`~mmecmt.deploy.family.StaticFamily` whose members are those pruned
models: each checkpoint is loaded into the config's
:class:`~mmecmt.models.architectures.GatedMultiTaskNet` (every budget's
config builds the same network; only the regulariser differs), its hard
gates are read, and :class:`~mmecmt.models.gating.GatePruner` prunes it.
A member's MACs are the analytic ``pattern_macs`` (fvcore on the export
equals them). ``plan(r, b)`` is the family's: the member with the best
preference-weighted held-out score within ``b``; below the cheapest member
the request is infeasible.
"""
from typing import List, Tuple

from torch import nn

from mmecmt.models.gating import GatePattern, GatePruner
from mmecmt.registry import DEPLOYERS
from mmecmt.utils.checkpoint import load_trained
from .ecmt import build_architecture
from .family import StaticFamily


@DEPLOYERS.register_module()
class InterroGateFamily(StaticFamily):
    """Pruned InterroGate models of one config, one per trained budget
    (arguments as :class:`StaticFamily`).

    Attributes:
        patterns (list): every member's :class:`GatePattern`.
    """

    method = 'InterroGate'

    def __init__(self, *args, **kwargs):
        self.patterns: List[GatePattern] = []
        super().__init__(*args, **kwargs)

    def _load_member(self, path: str) -> Tuple[nn.Module, int]:
        model = build_architecture(self.cfg)
        if not hasattr(model, 'gate_pattern'):
            raise TypeError(f'{type(model).__name__} is not a gated network;'
                            " InterroGateFamily deploys GatedMultiTaskNet")
        model = load_trained(model, path)
        pattern = model.gate_pattern()
        self.patterns.append(pattern)
        macs = model.pattern_macs(pattern, self.input_shape)
        self.log(f'InterroGate member {len(self.patterns) - 1} ({path}): '
                 f'{macs / 1e6:.2f} MMACs after pruning')
        return GatePruner()(model), macs

    def _plan(self, preference, budget):
        arch, info = super()._plan(preference, budget)
        pattern = self.patterns[arch['member']]
        info['specific_fraction'] = {
            t: round(float(f), 4) for t, f in
            zip(pattern.tasks, pattern.specific_fraction().mean(0))}
        return arch, info

    def static_config(self, spec):
        """The config of the exported member: ``model=dict(type=
        'PrunedGatedNet', gated=<the gated config>, pattern=<its gates>)``
        (weights from the export's checkpoint)."""
        self.check_spec(spec)
        pattern = self.patterns[self.member(spec.arch)]
        return self.exported_config(
            dict(type='PrunedGatedNet', gated=dict(self.cfg.model),
                 pattern=pattern.to_dict()),
            drop_hooks=('ScheduledValueHook', ))


__all__ = ['InterroGateFamily']
