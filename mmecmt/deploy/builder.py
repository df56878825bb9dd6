"""Build the deployer of a config (the method's implementation of the
deployment contract) from its ``deploy`` entry.

A config names its deployer with ``deploy = dict(type='ECMTDeployer',
...)`` (options of the deployer, e.g. ``mode``, ``population``). Without
one, the model decides: a slimmable supernet (a model config whose
architecture is a ``Slim...`` model, or one inside a training algorithm
such as ``SandwichAlgorithm``) is deployed by ``ECMTDeployer``, a
``CDMANet`` by ``CDMADeployer``, a ``GatedMultiTaskNet`` (InterroGate) by
``InterroGateFamily``, any other
multi-task model by ``StaticFamily`` (a fixed model is a family of one).
Options given to :func:`build_deployer` (from a tool's command line)
override the config's.
"""
from typing import Optional, Sequence

from mmecmt.registry import DEPLOYERS


def default_deployer_type(cfg) -> str:
    """``'ECMTDeployer'`` for a slimmable supernet config,
    ``'CDMADeployer'`` for a CDMA one, ``'InterroGateFamily'`` for an
    InterroGate one, else ``'StaticFamily'``."""
    model = dict(cfg.model)
    arch = dict(model.get('architecture') or model)
    if arch.get('type') == 'CDMANet':
        return 'CDMADeployer'
    if arch.get('type') == 'GatedMultiTaskNet':
        return 'InterroGateFamily'
    return 'ECMTDeployer' if str(arch.get('type', '')).startswith('Slim') \
        else 'StaticFamily'


def build_deployer(cfg, checkpoints: Sequence[str],
                   input_shape: Optional[Sequence[int]] = None, **options):
    """The config's deployer for ``checkpoints``.

    Args:
        cfg: the model's config.
        checkpoints: one checkpoint (a supernet, a fixed model) or several
            (a family of trained models).
        input_shape: (H, W) of the MACs count (padded to the divisor).
        **options: deployer options overriding the config's ``deploy``.

    Raises:
        KeyError: an unknown deployer type (the registered ones are named).
        TypeError: an option the deployer does not take.
    """
    deploy = dict(cfg.get('deploy') or {})
    deploy.setdefault('type', default_deployer_type(cfg))
    deploy.update(options)
    if DEPLOYERS.get(deploy['type']) is None:
        raise KeyError(f'unknown deployer {deploy["type"]!r}; registered: '
                       f'{sorted(DEPLOYERS.module_dict)}')
    return DEPLOYERS.build(deploy, default_args=dict(
        cfg=cfg, checkpoints=list(checkpoints), input_shape=input_shape))


__all__ = ['build_deployer', 'default_deployer_type']
