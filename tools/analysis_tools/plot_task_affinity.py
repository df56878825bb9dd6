"""Re-plot a saved CDMA task affinity as a heat map.

    python tools/analysis_tools/plot_task_affinity.py AFFINITY_JSON \
        [--out PNG]

``AFFINITY_JSON`` is a file written by ``TaskAffinityHook`` (default
``<work_dir>/task_affinity.json``): the RSA task affinity of the anchor net
("Controllable Dynamic Multi-Task Architectures", Raychaudhuri et al., CVPR
2022; RSA after Dwivedi & Roig, CVPR 2019). The heat map goes to ``--out``
(default: ``AFFINITY_JSON`` with the extension ``.png``) and the matrix is
printed. A missing or corrupt file is reported on one line, exit code 2.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmecmt.utils.tool_cli import UserError, run_main  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot a saved task affinity (task_affinity.json of '
        'TaskAffinityHook) as a heat map')
    parser.add_argument('affinity', help='the task affinity JSON file')
    parser.add_argument('--out', help='PNG file to write (default: the '
                        'JSON file with the extension .png)')
    return parser.parse_args(argv)


def run(args) -> str:
    from mmecmt.models.controllers.task_affinity import (TaskAffinity,
                                                         plot_task_affinity)
    try:
        affinity = TaskAffinity.load(args.affinity)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    out = args.out or osp.splitext(args.affinity)[0] + '.png'
    try:
        plot_task_affinity(affinity, out)
    except OSError as err:
        raise UserError(f'cannot write {out}: {err}') from None
    print(affinity.format_table())
    print(f'heat map written to {out}')
    return out


def main(argv=None):
    run_main(run, parse_args(argv), 'plot_task_affinity.py')


if __name__ == '__main__':
    main()
