"""Command-line plumbing shared by the supernet tools (``tools/search.py``,
``tools/evaluate_control.py``): user errors, ``--cfg-options`` and loading
a trained supernet, ``--min-utilization`` values."""
import argparse
import os.path as osp
import sys
from typing import Callable, List, Optional, Tuple

from mmengine.config import DictAction
from mmengine.runner import load_checkpoint

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
    """``(cfg, model)`` of a slimmable supernet config, weights not loaded.

    Raises:
        UserError: the model has no ``set_subnet`` (not a supernet).
    """
    from mmecmt.registry import MODELS
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    cfg = load_tool_config(config, cfg_options, work_dir=work_dir)
    model = MODELS.build(cfg.model)
    if not callable(getattr(model, 'set_subnet', None)):
        raise UserError(f'{config}: {type(model).__name__} is not a '
                        'slimmable supernet (no set_subnet)')
    return cfg, model


def load_weights(model, checkpoint: str) -> None:
    """Load ``checkpoint`` into ``model`` (CPU) and put it in eval mode.

    Raises:
        UserError: the file does not exist.
    """
    if not osp.isfile(checkpoint):
        raise UserError(f'checkpoint {checkpoint} does not exist')
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()


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
    ``--predictor-subnets``, ``--refine-rounds``, ``--refine-subnets``."""
    parser.add_argument('--predictor-subnets', type=int, default=200,
                        help='random subnets evaluated to fit the predictor '
                        '(+ max and min)')
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
                refine_rounds=args.refine_rounds,
                refine_subnets=args.refine_subnets, seed=args.seed)
