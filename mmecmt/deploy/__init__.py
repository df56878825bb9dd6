"""The deployment contract and its implementation per method family.

See :mod:`mmecmt.deploy.base` (the contract), :mod:`.ecmt` (ECMT),
:mod:`.cdma` (CDMA), :mod:`.family` (a family of trained static models; a
fixed model is a family of one), :mod:`.interrogate` (InterroGate: a family
of pruned gated models), :mod:`.export` (writing an export, ONNX included) and
``docs/add_method.md`` (adding a method).
"""
from .base import DeployableModel, Plan, checkpoints_sha256
from .builder import build_deployer, default_deployer_type
from .cdma import CDMADeployer
from .ecmt import ECMTDeployer, build_architecture
from .export import write_export
from .family import StaticFamily
from .interrogate import InterroGateFamily

__all__ = ['DeployableModel', 'Plan', 'checkpoints_sha256', 'build_deployer',
           'default_deployer_type', 'ECMTDeployer', 'CDMADeployer', 'StaticFamily',
           'InterroGateFamily',
           'build_architecture', 'write_export']
