"""A family of separately trained static models on the deployment contract.

Some methods do not switch networks at run time: they train one static
model per budget (InterroGate's trained budgets), or one model for all (a
fixed multi-task baseline: a family of one). :class:`StaticFamily` deploys
such a set of checkpoints of one config: its spec's ``arch`` is
``{"member": i}`` (the index of the checkpoint on the command line), and

``plan(r, b)`` picks, among the members whose MACs fit ``b``, the one with
the best preference-weighted score ``sum_t r_t s_t``. The scores ``s_t`` of
each member are measured once on the held-out 10 % of the **training** set
(never on val: the same split as ECMT's accuracy predictor), made
higher-is-better and rescaled per task to [0, 1] (0: the worst member, 1:
the best), and cached in ``<work_dir>/family_<sha256[:12]>_scores.json``. A
family of one needs no scores. A budget below the cheapest member is
infeasible; one above the dearest is answered like any other (every member
fits).
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmengine.runner import Runner
from torch import nn

from mmecmt.evaluation.functional.delta_m import (extract_primary_scores,
                                                  task_kind)
from mmecmt.evaluation.val_pass import evaluate_model
from mmecmt.registry import DATASETS, DEPLOYERS
from mmecmt.search.subnet_evaluator import (higher_is_better, holdout_split,
                                            subset_dataloader_cfg)
from mmecmt.utils.checkpoint import load_trained
from mmecmt.utils.flops import count_macs
from .base import DeployableModel
from .ecmt import build_architecture


@DEPLOYERS.register_module()
class StaticFamily(DeployableModel):
    """One or more trained static models of one config (see the module
    docstring).

    Args:
        cfg / checkpoints / input_shape: as :class:`DeployableModel`.
        work_dir: where the members' held-out scores are cached (default:
            ``cfg.work_dir``).
        holdout_fraction: the last fraction of the training set the members
            are scored on.
    """

    method = 'StaticFamily'
    network_name = 'member'

    def __init__(self, cfg, checkpoints: Sequence[str],
                 input_shape: Optional[Sequence[int]] = None,
                 work_dir: Optional[str] = None,
                 holdout_fraction: float = 0.1):
        super().__init__(cfg, checkpoints, input_shape)
        self.work_dir = work_dir or cfg.get('work_dir')
        self.holdout_fraction = float(holdout_fraction)
        self.members: List[nn.Module] = []
        self.member_macs: List[int] = []
        for path in self.checkpoints:
            model, macs = self._load_member(path)
            self.members.append(model)
            self.member_macs.append(int(macs))
        self._scores: Optional[np.ndarray] = None

    def _load_member(self, path: str) -> Tuple[nn.Module, int]:
        """``(static model, MACs)`` of one checkpoint: the config's model
        with its weights, counted by fvcore (a method whose members need
        more, e.g. pruning, overrides this)."""
        model = build_architecture(self.cfg)
        if callable(getattr(model, 'set_subnet', None)):
            raise TypeError(
                f'{type(model).__name__} is a slimmable supernet; '
                "deploy it with deploy = dict(type='ECMTDeployer')")
        model = load_trained(model, path)
        return model, count_macs(model, self.input_shape)

    @property
    def task_specs(self):
        return dict(self.members[0].task_specs)

    def macs_range(self) -> Tuple[int, int]:
        return int(min(self.member_macs)), int(max(self.member_macs))

    def member(self, arch: Mapping) -> int:
        """The member index of ``arch``, checked."""
        index = arch.get('member') if isinstance(arch, Mapping) else None
        if not isinstance(arch, Mapping) or set(arch) != {'member'} or \
                not isinstance(index, int) or \
                not 0 <= index < len(self.members):
            raise ValueError(f'a family spec is {{"member": i}} with i in '
                             f'[0, {len(self.members) - 1}], got {arch!r}')
        return index

    # ------------------------------------------------------------------
    def member_scores(self) -> np.ndarray:
        """(M, T) held-out scores of the members, per task rescaled to
        [0, 1] over the members (measured once, cached in the work dir)."""
        if self._scores is not None:
            return self._scores
        cache = None
        if self.work_dir:
            cache = osp.join(self.work_dir, f'family_'
                             f'{self.checkpoint_sha[:12]}_scores.json')
        raw = None
        if cache and osp.isfile(cache):
            with open(cache) as f:
                raw = json.load(f).get('scores')
        if raw is None:
            loader = self._holdout_loader()
            raw = [self._holdout_scores(i, loader)
                   for i in range(len(self.members))]
            if cache:
                os.makedirs(self.work_dir, exist_ok=True)
                with open(cache, 'w') as f:
                    json.dump(dict(checkpoints=self.checkpoints,
                                   scores=raw), f, indent=2)
        table = np.array([[float(s[t]) for t in self.tasks] for s in raw])
        low, high = table.min(axis=0), table.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        # per task: 0 = the worst member, 1 = the best (all 1 when equal)
        self._scores = np.where(high > low, (table - low) / span, 1.0)
        return self._scores

    def _holdout_loader(self):
        """The held-out last ``holdout_fraction`` of the training set, with
        the val pipeline."""
        train_cfg = self.cfg.train_dataloader
        dataset = DATASETS.build(dict(train_cfg.dataset, pipeline=[]))
        _, holdout = holdout_split(len(dataset), self.holdout_fraction)
        loader_cfg = subset_dataloader_cfg(
            train_cfg, holdout,
            pipeline=self.cfg.val_dataloader.dataset.pipeline)
        loader_cfg['batch_size'] = self.cfg.val_dataloader.get(
            'batch_size', 1)
        return Runner.build_dataloader(loader_cfg, seed=self.seed)

    def _holdout_scores(self, index: int, loader) -> Dict[str, float]:
        self.log(f'Scoring family member {index} '
                 f'({self.checkpoints[index]}) on '
                 f'{len(loader.dataset)} held-out training images')
        metrics, _ = evaluate_model(self.members[index], loader,
                                    self.cfg.val_evaluator)
        kinds = {n: task_kind(n, s)
                 for n, s in self.members[index].task_specs.items()}
        evaluator = self.cfg.val_evaluator
        edge = (evaluator.get('edge_matching') if isinstance(
            evaluator, Mapping) else None) or 'one_to_one'
        primary = extract_primary_scores(metrics, kinds, edge_matching=edge)
        return higher_is_better(primary, kinds)

    def _plan(self, preference, budget):
        fits = [i for i, m in enumerate(self.member_macs) if m <= budget]
        if len(self.members) == 1:
            return dict(member=0), dict(member=0,
                                        checkpoint=self.checkpoints[0])
        weights = np.array([preference[t] for t in self.tasks])
        weighted = self.member_scores() @ weights
        best = max(fits, key=lambda i: (weighted[i], -self.member_macs[i]))
        return dict(member=best), dict(
            member=best, checkpoint=self.checkpoints[best],
            weighted_score=float(weighted[best]), candidates=len(fits))

    def _largest(self, preference):
        return self._plan(preference, max(self.member_macs))

    def _macs(self, arch) -> int:
        return int(self.member_macs[self.member(arch)])

    def _prepare(self, arch) -> nn.Module:
        return self.members[self.member(arch)].eval()

    def _export(self, arch) -> nn.Module:
        return copy.deepcopy(self.members[self.member(arch)]).eval()

    def static_config(self, spec):
        self.check_spec(spec)
        static = self.cfg.copy()
        for key in ('model_wrapper_cfg', 'load_from', 'resume'):
            static.pop(key, None)
        return static


__all__ = ['StaticFamily']
