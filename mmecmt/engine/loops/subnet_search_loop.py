"""Search subnets for (preference, budget) requests inside a Runner.

:class:`SubnetSearchLoop` is a test loop: ``runner.test()`` (e.g.
``tools/test.py CONFIG CHECKPOINT`` with ``test_cfg =
dict(type='SubnetSearchLoop', ...)``) loads the checkpoint, then answers
every request with a :class:`~mmecmt.search.session.SearchSession` on the
runner's model: decoder widths from the preference, encoder widths by the
evolution search with the accuracy predictor (built once per checkpoint and
cached in the work dir), optionally the measured val metrics after BN
recalibration. Results go to ``<log_dir>/search_results.json`` and each
chosen subnet to ``<log_dir>/search_<i>.json`` (loadable by
``tools/export_subnet.py --subnet``).
"""
import json
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Union

from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from mmecmt.models.algorithms import architecture_of
from mmecmt.registry import LOOPS
from mmecmt.search.budget import (DEFAULT_MIN_UTILIZATION,
                                  check_utilization, format_macs)
from mmecmt.search.refinement import (DEFAULT_REFINE_SUBNETS,
                                      check_refinement)
from mmecmt.search.session import (PREDICTOR_MODES, SEARCH_MODES,
                                   SearchSession)


def check_requests(requests: Sequence[Mapping]) -> List[dict]:
    """Each request as ``dict(preference=..., budget=...)``.

    Raises:
        ValueError: no request, or one without exactly those keys (the
            message names its index).
    """
    if not requests:
        raise ValueError('SubnetSearchLoop needs at least one request '
                         "dict(preference={task: r}, budget='0.5x')")
    out = []
    for i, request in enumerate(requests):
        if not isinstance(request, Mapping) or \
                set(request) != {'preference', 'budget'}:
            raise ValueError(
                f'SubnetSearchLoop request {i}: expected dict(preference='
                f"{{task: r}}, budget='0.5x' or MACs), got {request!r}")
        out.append(dict(preference=dict(request['preference']),
                        budget=request['budget']))
    return out


@LOOPS.register_module()
class SubnetSearchLoop(BaseLoop):
    """Answer (preference, budget) requests with the trained supernet.

    Args:
        runner: the Runner.
        dataloader: the Runner's test dataloader (not used: measurement runs
            on ``val_dataloader`` after BN recalibration on
            ``train_dataloader``, as ``tools/search.py --measure``).
        requests: ``[dict(preference={task: r}, budget='0.5x' | '1.2G' |
            MACs), ...]``.
        evaluator: the Runner's test evaluator (not used either: the
            config's ``val_evaluator`` scores the measured subnets).
        mode: ``'evolution'`` (ECMT), ``'random'``, ``'random_subnet'`` or
            ``'uniform'`` (:class:`~mmecmt.search.session.SearchSession`).
        rule: preference -> decoder widths rule.
        predictor_subnets: random subnets evaluated to build the predictor
            when no cache exists.
        refine_rounds, refine_subnets: refine the predictor in
            ``refine_rounds`` rounds of ``refine_subnets`` search picks
            (:class:`~mmecmt.search.refinement.PredictorRefiner`; 0: none).
        population, generations, seed: evolution settings.
        min_utilization: widen a chosen subnet to at least this fraction
            of its budget (:meth:`SearchSession.search`; default 0.9, 0:
            the search alone, 1: spend all that fits).
        measure: measure each chosen subnet on the val set.
        input_shape: (H, W) of the MACs count (default: training crop).
        calib_images: BN-recalibration images (default: the config's
            ``val_cfg.calibrate_bn.num_images``, else 1024).
    """

    def __init__(self,
                 runner,
                 dataloader,
                 requests: Sequence[Mapping],
                 evaluator=None,
                 mode: str = 'evolution',
                 rule: str = 'rank_by_max',
                 predictor_subnets: int = 200,
                 refine_rounds: int = 0,
                 refine_subnets: int = DEFAULT_REFINE_SUBNETS,
                 population: int = 100,
                 generations: int = 50,
                 seed: int = 0,
                 min_utilization: float = DEFAULT_MIN_UTILIZATION,
                 measure: bool = True,
                 input_shape: Optional[Sequence[int]] = None,
                 calib_images: Optional[int] = None):
        # the dataloader is not built: the session builds its own loaders
        self._runner = runner
        self.dataloader = dataloader
        self.evaluator = evaluator
        self.requests = check_requests(requests)
        if mode not in SEARCH_MODES:
            raise ValueError(f'SubnetSearchLoop: unknown mode {mode!r}; '
                             f'valid modes are {list(SEARCH_MODES)}')
        self.mode = mode
        self.rule = rule
        self.predictor_subnets = int(predictor_subnets)
        check_refinement(refine_rounds, refine_subnets)
        self.refine_rounds = int(refine_rounds)
        self.refine_subnets = int(refine_subnets)
        self.population = int(population)
        self.generations = int(generations)
        self.seed = int(seed)
        self.min_utilization = check_utilization(min_utilization)
        self.measure = bool(measure)
        self.input_shape = tuple(input_shape) if input_shape else None
        self.calib_images = calib_images

    def run(self) -> Dict[str, Union[float, dict]]:
        runner = self.runner
        runner.call_hook('before_test')
        model = architecture_of(runner.model)
        model.eval()
        session = SearchSession(runner.cfg, model,
                                input_shape=self.input_shape,
                                calib_images=self.calib_images)
        if self.mode in PREDICTOR_MODES:
            checkpoint = runner._load_from
            if not checkpoint or not osp.isfile(checkpoint):
                raise ValueError(
                    'SubnetSearchLoop needs a trained checkpoint (load_from'
                    f' / tools/test.py CHECKPOINT), got {checkpoint!r}')
            session.predictor_for_checkpoint(
                runner.work_dir, checkpoint,
                num_subnets=self.predictor_subnets,
                refine_rounds=self.refine_rounds,
                refine_subnets=self.refine_subnets, seed=self.seed)
        results, metrics = [], {}
        for i, request in enumerate(self.requests):
            budget = session.budget(request['budget'])
            found = session.search(
                request['preference'], budget, mode=self.mode,
                rule=self.rule, population=self.population,
                generations=self.generations, seed=self.seed,
                min_utilization=self.min_utilization)
            result = dict(request, budget_macs=budget,
                          subnet=found.spec.to_dict(), macs=found.macs,
                          fitness=found.fitness,
                          search_seconds=found.seconds)
            found.spec.to_json(osp.join(runner.log_dir, f'search_{i}.json'))
            print_log(
                f'[search {i + 1}/{len(self.requests)}] preference '
                f'{request["preference"]}, budget {request["budget"]} '
                f'({format_macs(budget)}): {format_macs(found.macs)}, '
                f'subnet {found.spec.to_dict()} ({found.seconds:.2f} s)',
                logger='current')
            if self.measure:
                result['metrics'] = session.measure(found.spec)
                metrics.update({f'search{i}/{k}': v
                                for k, v in result['metrics'].items()})
            metrics[f'search{i}/macs'] = found.macs
            results.append(result)
        with open(osp.join(runner.log_dir, 'search_results.json'), 'w') as f:
            json.dump(results, f, indent=2)
        runner.call_hook('after_test_epoch', metrics=metrics)
        runner.call_hook('after_test')
        return metrics
