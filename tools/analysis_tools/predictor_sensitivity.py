"""Which widths of an ECMT supernet matter, and does the accuracy predictor
rank subnets of equal MACs? (What a budgeted search can gain.)

    python tools/analysis_tools/predictor_sensitivity.py CONFIG CHECKPOINT \
        --work-dir WORK_DIR [--out-dir DIR] [--preference t=w,...] \
        [--tolerance 0.05] [--folds 5] [--seed 0]

Reads the subnets the accuracy predictor of ``CHECKPOINT`` was fitted on
(``<work_dir>/predictor_<sha256[:12]>_subnets/``, written by
``tools/search.py`` or ``tools/evaluate_control.py`` with the same
``--work-dir``: their widths and measured held-out scores) and writes to
``DIR`` (default ``<work_dir>/sensitivity``):

* ``sensitivity.json`` / ``sensitivity.md``: the standardised linear effect
  of every encoder stage and decoder width on every task, with the R^2 of
  the fit (:func:`~mmecmt.search.sensitivity.width_effects`); the encoder
  stages with an effect of at least 0.1 on some task; and the
  cross-validated accuracy with which the config's predictor orders pairs
  of subnets within ``--tolerance`` relative MACs, per task and for the
  ``--preference``-weighted fitness (default: uniform), against ordering by
  MACs (:func:`~mmecmt.search.sensitivity.equal_macs_ranking`);
* ``width_effects.png``: the effects as a heat map.

Nothing is evaluated: the tool only reads the store and builds the MACs
model (a few seconds).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmecmt.search.preference import (parse_preference,  # noqa: E402
                                      uniform_preference)
from mmecmt.search.sensitivity import (effective_entries,  # noqa: E402
                                       equal_macs_ranking,
                                       plot_width_effects, width_effects)
from mmecmt.search.session import (SearchSession,  # noqa: E402
                                   predictor_store_path, sha256_of)
from mmecmt.search.subnet_evaluator import EvaluatedSubnetStore  # noqa: E402
from mmecmt.utils.json_io import to_strict_json  # noqa: E402
from mmecmt.utils.tool_cli import (UserError, build_supernet,  # noqa: E402
                                   cfg_options_dict, int_at_least,
                                   load_weights, run_main)

#: an encoder stage "has an effect" from this standardised coefficient on.
EFFECT_THRESHOLD = 0.1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Width effects and equal-MACs ranking of the subnets an '
        'ECMT accuracy predictor was fitted on')
    parser.add_argument('config', help='config of the supernet')
    parser.add_argument('checkpoint', help='trained supernet checkpoint')
    parser.add_argument('--work-dir', help='override the config work_dir '
                        '(holds the predictor subnets)')
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument('--preference', default=None,
                        help='task=weight,... of the fitness (default: '
                        'uniform)')
    parser.add_argument('--tolerance', type=float, default=0.05,
                        help='largest relative MACs difference of a pair')
    parser.add_argument('--folds', type=int_at_least(2), default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input size of the MACs count (default: the '
                        'training crop)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in the config (key=value)')
    args = parser.parse_args(argv)
    if not 0 < args.tolerance < 1:
        parser.error(f'--tolerance must lie in (0, 1), got {args.tolerance}')
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    return args


def _markdown(effects, ranking, effective, num_subnets, store) -> str:
    tasks = list(effects['coefficients'])
    names = list(effects['coefficients'][tasks[0]])
    lines = ['# Width effects and equal-MACs ranking', '',
             f'{num_subnets} evaluated subnets from `{store}`.', '',
             '## Standardised effect of each width on each task', '',
             '| entry | ' + ' | '.join(tasks) + ' |',
             '| --- |' + ' --- |' * len(tasks)]
    for n in names:
        lines.append(f'| {n} | ' + ' | '.join(
            f'{effects["coefficients"][t][n]:+.2f}' for t in tasks) + ' |')
    lines.append('| R^2 | ' + ' | '.join(f'{effects["r2"][t]:.2f}'
                                         for t in tasks) + ' |')
    settings = ranking['settings']
    lines += ['', f'Encoder stages with an effect >= {EFFECT_THRESHOLD} on '
              f'some task: {len(effective)} '
              f'({", ".join(effective) or "none"}).', '',
              '## Ordering pairs of nearly equal MACs', '',
              f'Pairs within {settings["tolerance"]:.0%} MACs, '
              f'{settings["folds"]}-fold cross-validation (seed '
              f'{settings["seed"]}); fitness weights '
              f'{settings["preference"]}.', '',
              '| score | predictor | by MACs | pairs |',
              '| --- | --- | --- | --- |']
    for name in tasks + ['fitness']:
        r = ranking[name]
        lines.append(f'| {name} | {r["predictor"]:.3f} | {r["macs"]:.3f} | '
                     f'{r["pairs"]} |')
    return '\n'.join(lines) + '\n'


def run(args):
    cfg, model = build_supernet(args.config, args.cfg_dict, args.work_dir)
    tasks = list(model.search_space.decoders)
    try:
        pref = (parse_preference(args.preference, tasks) if args.preference
                else uniform_preference(tasks))
    except ValueError as err:
        raise UserError(f'--preference: {err}') from None
    load_weights(model, args.checkpoint)
    store_dir = predictor_store_path(cfg.work_dir,
                                     sha256_of(args.checkpoint))
    if not osp.isdir(store_dir):
        raise UserError(
            f'no evaluated subnets of {args.checkpoint} in {store_dir}: '
            'build its accuracy predictor first (tools/search.py or '
            'tools/evaluate_control.py with the same --work-dir)')
    try:
        specs, scores = EvaluatedSubnetStore(store_dir).entries()
    except ValueError as err:
        raise UserError(str(err)) from None
    if len(specs) < args.folds:
        raise UserError(f'{store_dir} holds {len(specs)} evaluated subnets; '
                        f'--folds {args.folds} needs at least as many')
    if set(scores) != set(tasks):
        raise UserError(f'{store_dir} scores the tasks {sorted(scores)}, '
                        f'the model has {sorted(tasks)}')
    scores = {t: scores[t] for t in tasks}
    try:
        session = SearchSession(cfg, model, input_shape=args.shape)
    except ValueError as err:
        raise UserError(f'{err} (--shape H W)') from None
    macs = session.macs_model.batch(specs)
    x = session.new_predictor().encode(specs)
    y = [[scores[t][i] for t in tasks] for i in range(len(specs))]
    effects = width_effects(x, y, model.search_space.entry_names(),
                            tasks)
    effective = effective_entries(effects, EFFECT_THRESHOLD)
    ranking = equal_macs_ranking(specs, scores, macs, session.new_predictor,
                                 pref, tolerance=args.tolerance,
                                 folds=args.folds, seed=args.seed)

    out_dir = args.out_dir or osp.join(cfg.work_dir, 'sensitivity')
    os.makedirs(out_dir, exist_ok=True)
    result = to_strict_json(dict(
        store=store_dir, num_subnets=len(specs), width_effects=effects,
        effective_encoder_entries=effective,
        effect_threshold=EFFECT_THRESHOLD, equal_macs_ranking=ranking))
    with open(osp.join(out_dir, 'sensitivity.json'), 'w') as f:
        json.dump(result, f, indent=2, allow_nan=False)
    text = _markdown(effects, ranking, effective, len(specs), store_dir)
    with open(osp.join(out_dir, 'sensitivity.md'), 'w') as f:
        f.write(text)
    plot_width_effects(effects['coefficients'],
                       osp.join(out_dir, 'width_effects.png'),
                       title=f'width effects ({len(specs)} subnets)')
    print(text)
    print(f'Wrote {out_dir}/sensitivity.{{json,md}} and width_effects.png')
    return result


def main(argv=None):
    run_main(run, parse_args(argv), 'predictor_sensitivity.py')


if __name__ == '__main__':
    main()
