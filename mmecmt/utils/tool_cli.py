"""Command-line plumbing shared by the supernet tools (``tools/search.py``,
``tools/evaluate_control.py``): user errors, ``--cfg-options`` and loading
a trained supernet, ``--min-utilization`` values."""
import argparse
import json
import os.path as osp
import sys
from typing import Callable, List, Optional, Tuple

from mmengine.config import DictAction

from mmecmt.search.budget import check_utilization
from mmecmt.search.refinement import DEFAULT_REFINE_SUBNETS


class UserError(Exception):
    """Bad command-line input: printed to stderr, exit code 2."""


def cfg_options_dict(parser: argparse.ArgumentParser,
                     options: List[str]) -> Optional[dict]:
    """``--cfg-options key=value ...`` (kept as a list, e.g. to pass it on
    to another tool) parsed as mmengine's ``DictAction`` does; None when
    empty."""
    if not options:
        return None
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='cfg_dict')(parser, namespace,
                                                   options)
    return namespace.cfg_dict


def utilization_arg(text: str) -> float:
    """argparse ``type`` of ``--min-utilization``: a number in [0, 1]
    (:func:`~mmecmt.search.budget.check_utilization`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    try:
        return check_utilization(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_supernet(config: str, cfg_options: Optional[dict],
                   work_dir: Optional[str]) -> Tuple[object, object]:
    """``(cfg, architecture)`` of a slimmable supernet config, weights not
    loaded; a training algorithm in ``cfg.model`` (e.g. ``SandwichAlgorithm``)
    gives its architecture.

    Raises:
        UserError: the architecture has no ``set_subnet`` (not a supernet).
    """
    from mmecmt.deploy import build_architecture
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    cfg = load_tool_config(config, cfg_options, work_dir=work_dir)
    model = build_architecture(cfg)
    if not callable(getattr(model, 'set_subnet', None)):
        raise UserError(f'{config}: {type(model).__name__} is not a '
                        'slimmable supernet (no set_subnet)')
    return cfg, model


def load_weights(model, checkpoint: str) -> None:
    """Load ``checkpoint`` into ``model`` strictly (CPU) and put it in eval
    mode (:func:`mmecmt.utils.checkpoint.load_trained`).

    Raises:
        UserError: the file does not exist, is not a checkpoint, or does
            not fit the model (the file and the first mismatched keys are
            named).
    """
    from mmecmt.utils.checkpoint import CheckpointError, load_trained
    try:
        load_trained(model, checkpoint)
    except CheckpointError as err:
        raise UserError(str(err)) from None


def run_main(run: Callable, args, prog: str) -> None:
    """``run(args)``; a :class:`UserError` is printed as ``prog: error:
    ...`` and exits with code 2."""
    try:
        run(args)
    except UserError as err:
        print(f'{prog}: error: {err}', file=sys.stderr)
        sys.exit(2)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """argparse ``type``: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not an integer') from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f'{value} is below the minimum {minimum}')
        return value

    return parse


def add_predictor_args(parser: argparse.ArgumentParser) -> None:
    """The accuracy-predictor options of the search tools:
    ``--predictor-subnets``, ``--predictor-workers``, ``--refine-rounds``,
    ``--refine-subnets``."""
    from mmecmt.search.subnet_evaluator import (DEFAULT_PREDICTOR_SUBNETS,
                                                DEFAULT_PREDICTOR_WORKERS)
    parser.add_argument(
        '--predictor-subnets', type=int_at_least(0),
        default=DEFAULT_PREDICTOR_SUBNETS,
        help='random subnets evaluated to fit the predictor (+ max and '
        'min; default %(default)s). The first request on a checkpoint '
        'builds the predictor (the log says how long, after the first '
        'subnets) and caches it in the work dir; another number builds '
        'and caches a predictor of that size (subnets already evaluated '
        'are reused), except that a cache of the default name is loaded '
        'whatever size it has, with a warning')
    parser.add_argument(
        '--predictor-workers', type=int_at_least(1),
        default=DEFAULT_PREDICTOR_WORKERS,
        help='processes (one thread each) measuring predictor subnets; '
        'the scores do not depend on it (default %(default)s)')
    parser.add_argument('--refine-rounds', type=int_at_least(0), default=0,
                        help='refine the predictor in this many rounds of '
                        'search picks measured on the held-out split (0: '
                        'none; its own cache file)')
    parser.add_argument('--refine-subnets', type=int_at_least(1),
                        default=DEFAULT_REFINE_SUBNETS,
                        help='training requests per refinement round')


def predictor_kwargs(args) -> dict:
    """``SearchSession.predictor_for_checkpoint`` settings from the options
    of :func:`add_predictor_args` and ``--seed``."""
    return dict(num_subnets=args.predictor_subnets,
                num_workers=args.predictor_workers,
                refine_rounds=args.refine_rounds,
                refine_subnets=args.refine_subnets, seed=args.seed)


# ----------------------------------------------------------------------
# the deployment tools (any method; mmecmt.deploy)
# ----------------------------------------------------------------------
def build_tool_deployer(config: str, checkpoints, cfg_options=None,
                        work_dir=None, shape=None, **options):
    """``(cfg, deployer)``: the config's deployer
    (:func:`mmecmt.deploy.build_deployer`) with its checkpoint(s) loaded;
    bad input as :class:`UserError`."""
    from mmecmt.deploy import build_deployer
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.checkpoint import CheckpointError
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    if not osp.isfile(config):
        raise UserError(f'config {config} does not exist')
    cfg = load_tool_config(config, cfg_options, work_dir=work_dir)
    try:
        return cfg, build_deployer(cfg, checkpoints, input_shape=shape,
                                   **options)
    except CheckpointError as err:
        raise UserError(str(err)) from None
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f'{config}: {err}') from None


def parse_request(deployer, preference: str, budget: str):
    """``deployer.plan`` of a command-line preference and budget; bad input
    (not a distribution, unknown task, unparsable or infeasible budget) as
    :class:`UserError` naming the option."""
    from mmecmt.structures.request import parse_preference
    try:
        pref = parse_preference(preference, deployer.tasks)
    except ValueError as err:
        raise UserError(f'--preference: {err}') from None
    try:
        macs = deployer.budget(budget)
    except ValueError as err:
        raise UserError(f'--budget: {err}') from None
    try:
        return deployer.plan(pref, macs)
    except ValueError as err:
        raise UserError(f'--budget: {err}') from None


def write_result(result: dict, path: str) -> dict:
    """Write a tool's result to ``path`` as strict JSON (NaN as null) and
    print it; returns the strict form."""
    import json

    from mmecmt.utils.json_io import dump_json
    result = dump_json(result, path)
    print(json.dumps(result, indent=2, allow_nan=False))
    return result


def load_stl_reference(text, cfg, tasks):
    """``{task: primary metric}`` of the single-task models, for exactly
    ``tasks``."""
    if text is None:
        ref = dict(cfg.get('val_evaluator', {}).get('stl_reference') or {})
        if not ref:
            raise UserError('no single-task references: give '
                            '--stl-reference FILE.json or task=value,... '
                            '(or set val_evaluator.stl_reference)')
    elif osp.isfile(text):
        try:
            with open(text) as f:
                ref = json.load(f)
        except json.JSONDecodeError as err:
            raise UserError(f'--stl-reference {text}: not JSON ({err})')
        if not isinstance(ref, dict):
            raise UserError(f'--stl-reference {text}: expected a JSON object'
                            ' {task: value}')
    else:
        ref = {}
        for item in text.split(','):
            name, sep, value = item.partition('=')
            try:
                ref[name.strip()] = float(value)
            except ValueError:
                sep = ''
            if not sep:
                raise UserError(
                    f'--stl-reference: {item!r} is not task=value (and '
                    f'{text!r} is not a file)')
    missing = sorted(set(tasks) - set(ref))
    unknown = sorted(set(ref) - set(tasks))
    if missing or unknown:
        raise UserError(f'--stl-reference: tasks {missing} are missing and '
                        f'{unknown} unknown; the model\'s tasks are {tasks}')
    for name, value in ref.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise UserError(f'--stl-reference: {name}={value!r} must be a '
                            'positive number')
    return {t: float(ref[t]) for t in tasks}
