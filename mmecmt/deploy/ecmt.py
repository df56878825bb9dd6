"""ECMT on the deployment contract.

A trained ECMT supernet answers a request by searching a subnet
(:class:`~mmecmt.search.session.SearchSession`): decoder widths from the
preference (:class:`~mmecmt.search.preference.PreferenceRule`), encoder
widths by evolution under the budget with the accuracy predictor's
preference-weighted fitness, then widened to use at least
``min_utilization`` of the budget. Its spec's ``arch`` is the width spec
``{"encoder": {stage: ratio}, "decoders": {task: ratio}}``; a budget above
the largest subnet is answered by the largest subnet.

The baselines of the controllability study are the same deployer in
another ``mode`` (``'random'``, ``'random_subnet'``, ``'uniform'``).

Caches in ``work_dir`` (default: the config's):

* the accuracy predictor, keyed by the checkpoint's sha256
  (:func:`~mmecmt.search.session.predictor_cache_path`), built on the first
  request of a predictor mode;
* the analytic MACs model (:class:`~mmecmt.search.macs.MacsModel`), keyed
  by the architecture's structure and the input size
  (``macs_model_<hash>.pkl``), so that a warm tool call does not re-trace
  the supernet.
"""
from typing import Any, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from mmecmt.models.algorithms import architecture_of
from mmecmt.models.slimmable import export_static
from mmecmt.registry import DEPLOYERS, MODELS
from mmecmt.search.budget import DEFAULT_MIN_UTILIZATION
from mmecmt.search.preference import PREFERENCE_RULES
from mmecmt.search.refinement import DEFAULT_REFINE_SUBNETS
from mmecmt.search.session import (PREDICTOR_MODES, SEARCH_MODES,
                                   SearchSession)
from mmecmt.search.space import SubnetSpec
from mmecmt.utils.checkpoint import load_trained
from .base import DeployableModel



def build_architecture(cfg) -> nn.Module:
    """The architecture of ``cfg.model`` (unwrapped from its training
    algorithm), weights not loaded."""
    return architecture_of(MODELS.build(cfg.model))


@DEPLOYERS.register_module()
class ECMTDeployer(DeployableModel):
    """A trained ECMT supernet on the deployment contract.

    Args:
        cfg / checkpoints / input_shape: as :class:`DeployableModel`
            (exactly one checkpoint).
        mode: ``'evolution'`` (ECMT), ``'random'``, ``'random_subnet'`` or
            ``'uniform'`` (the baselines; see
            :class:`~mmecmt.search.session.SearchSession`).
        rule: the preference rule (``'rank_by_max'`` or ``'linear'``).
        population / generations: of the evolution search.
        seed: seed of the search (and of the predictor build).
        min_utilization: widen a subnet that uses less of its budget.
        predictor_subnets / refine_rounds / refine_subnets /
            predictor_workers / holdout_fraction: the accuracy predictor's
            build (see ``tools/search.py``; None: the defaults of
            :mod:`mmecmt.search.subnet_evaluator`).
        calib_images: training images of each BN recalibration (default:
            the config's ``val_cfg.calibrate_bn.num_images``).
        work_dir: where the predictor and MACs-model caches live (default:
            ``cfg.work_dir``).
        model: an already built architecture (weights are loaded into it).
    """

    method = 'ECMT'
    network_name = 'subnet'

    def __init__(self, cfg, checkpoints: Sequence[str],
                 input_shape: Optional[Sequence[int]] = None,
                 mode: str = 'evolution', rule: str = 'rank_by_max',
                 population: int = 100, generations: int = 50,
                 seed: int = 0,
                 min_utilization: float = DEFAULT_MIN_UTILIZATION,
                 predictor_subnets: Optional[int] = None,
                 refine_rounds: int = 0,
                 refine_subnets: int = DEFAULT_REFINE_SUBNETS,
                 predictor_workers: Optional[int] = None,
                 holdout_fraction: Optional[float] = None,
                 calib_images: Optional[int] = None,
                 work_dir: Optional[str] = None,
                 model: Optional[nn.Module] = None):
        if len(checkpoints) != 1:
            raise ValueError(f'ECMTDeployer deploys one supernet checkpoint, '
                             f'got {len(checkpoints)}: {list(checkpoints)}')
        if mode not in SEARCH_MODES:
            raise ValueError(f'unknown ECMT mode {mode!r}; valid modes are '
                             f'{list(SEARCH_MODES)}')
        if rule not in PREFERENCE_RULES:
            raise ValueError(f'unknown preference rule {rule!r}; valid '
                             f'rules are {list(PREFERENCE_RULES)}')
        super().__init__(cfg, checkpoints, input_shape)
        self.model = model if model is not None else build_architecture(cfg)
        if not callable(getattr(self.model, 'set_subnet', None)):
            raise TypeError(f'{type(self.model).__name__} is not a slimmable '
                            'supernet (no set_subnet): deploy it with '
                            "deploy = dict(type='StaticFamily')")
        load_trained(self.model, self.checkpoints[0])
        self.mode = mode
        self.search_options = dict(rule=rule, population=int(population),
                                   generations=int(generations),
                                   seed=int(seed),
                                   min_utilization=float(min_utilization))
        self.predictor_options = dict(num_subnets=predictor_subnets,
                                      refine_rounds=int(refine_rounds),
                                      refine_subnets=int(refine_subnets),
                                      seed=int(seed))
        if holdout_fraction is not None:
            self.predictor_options['holdout_fraction'] = holdout_fraction
        if predictor_workers is not None:
            self.predictor_options['num_workers'] = int(predictor_workers)
        self.work_dir = work_dir or cfg.get('work_dir')
        self.session = SearchSession(cfg, self.model,
                                     input_shape=self.input_shape,
                                     calib_images=calib_images,
                                     cache_dir=self.work_dir)
        self.macs_range()  # loads or builds the MACs model now, not later
        self.predictor_info: Optional[dict] = None
        self._prepared: Optional[str] = None

    # ------------------------------------------------------------------
    @property
    def task_specs(self):
        return dict(self.model.task_specs)

    @property
    def search_space(self):
        return self.model.search_space

    def macs_range(self) -> Tuple[int, int]:
        lo, hi = self.session.macs_model.macs_range()
        return int(lo), int(hi)

    def subnet(self, arch: Mapping[str, Any]) -> SubnetSpec:
        """``arch`` as a validated :class:`SubnetSpec`, its entries in the
        search space's order (a spec's JSON sorts them)."""
        spec = self.search_space.validate(SubnetSpec.from_dict(arch))
        return SubnetSpec(
            {k: spec.encoder[k] for k in self.search_space.encoder},
            {k: spec.decoders[k] for k in self.search_space.decoders})

    def warm_up(self) -> None:
        self.ensure_predictor()

    def ensure_predictor(self) -> Optional[dict]:
        """Load or build the accuracy predictor (predictor modes only)."""
        if self.mode in PREDICTOR_MODES and self.session.predictor is None:
            if self.work_dir is None:
                raise ValueError('ECMTDeployer needs a work_dir for the '
                                 'accuracy predictor cache')
            self.predictor_info = self.session.predictor_for_checkpoint(
                self.work_dir, self.checkpoints[0], **self.predictor_options)
            # a build recalibrates BN for many subnets and restores the
            # checkpoint's statistics afterwards
            self._prepared = None
        return self.predictor_info

    def _plan(self, preference, budget):
        self.ensure_predictor()  # (a no-op after warm_up)
        found = self.session.search(preference, budget, mode=self.mode,
                                    **self.search_options)
        info = dict(mode=self.mode, fitness=found.fitness,
                    fitness_evaluations=found.num_evaluations,
                    decoder_scale=found.decoder_scale,
                    **self.search_options)
        if self.session.predictor is not None:
            info['predicted_scores'] = self.session.predicted_scores(
                found.spec)
        return found.spec.to_dict(), info

    def _largest(self, preference):
        return self.search_space.sample('max').to_dict(), dict(
            mode=self.mode)

    def _macs(self, arch) -> int:
        return int(self.session.macs_model.macs(self.subnet(arch)))

    # ------------------------------------------------------------------
    def _prepare(self, arch) -> nn.Module:
        """``set_subnet`` + BN recalibration on ``calib_images`` training
        images (seeded: the same statistics in every call and every
        process, so ``measure`` and ``export`` of one spec agree)."""
        spec = self.subnet(arch)
        if self._prepared != spec.key():
            self.session.calibrator.calibrate(spec)
            self._prepared = spec.key()
        self.model.eval()
        return self.model

    def _export(self, arch) -> nn.Module:
        model = self._prepare(arch)
        example = torch.zeros(2, 3, *self.input_shape)
        return export_static(model, self.subnet(arch),
                             example_input=example).eval()

    def static_config(self, spec):
        """The supernet config turned into the static subnet's config:
        ``model=dict(type='StaticSubnet', supernet=<architecture>, ...)``
        and plain val/test loops."""
        self.check_spec(spec)
        arch_cfg = dict(self.cfg.model)
        if 'architecture' in arch_cfg:  # a training algorithm's config
            inner = dict(arch_cfg['architecture'])
            if 'data_preprocessor' in arch_cfg:
                inner.setdefault('data_preprocessor',
                                 arch_cfg['data_preprocessor'])
            arch_cfg = inner
        return self.exported_config(
            dict(type='StaticSubnet', supernet=arch_cfg,
                 subnet=dict(spec.arch), example_shape=list(self.input_shape)),
            drop_hooks=('CIKDHook', 'ScheduledValueHook'))


__all__ = ['ECMTDeployer', 'build_architecture']
