"""Does a controller answer its inputs? The response of a cost knob.

For a method steered by a cost knob c (CDMA: c in [0, 1], larger = more
sharing), :func:`knob_response` asks the controller for its network at
every (preference, c) of a grid and summarises:

- **MACs vs c**: the mean MACs over the preferences at every c, and the
  Spearman correlation between c and that mean (a controller that answers
  its knob falls steadily: rho near -1);
- **branching depth per task**: for the one-hot preference of task t and
  for the uniform preference, the node level from which task t's path is
  its own (``branch_level``) and how many levels of its path run its own
  stream's weights (``own_stream_levels``), averaged over the c grid. A
  controller that answers the preference keeps a task on its own stream
  longer when the preference is all on it.

The controller is any ``answer(preference, c) -> dict(macs=int,
branch_level={task: int}, own_stream_levels={task: int})``.
"""
from typing import Callable, Dict, List, Mapping, Sequence

import numpy as np

from .controllability import spearman
from .plots import _new_figure, save_figure

Answer = Callable[[Mapping[str, float], float], dict]


def knob_response(answer: Answer, tasks: Sequence[str],
                  preferences: Sequence[Mapping[str, float]],
                  costs: Sequence[float]) -> dict:
    """Ask ``answer`` at every preference and c; see the module docstring.

    Args:
        answer: the controller (see the module docstring).
        tasks: task names; the one-hot and uniform preferences must be
            among ``preferences``.
        preferences: P preferences ``{task: r}``.
        costs: C knob values.

    Returns:
        dict with ``costs``, ``macs`` (P x C), ``mean_macs`` (C,),
        ``spearman_cost_vs_mean_macs``, and ``depths``: ``{task:
        dict(one_hot_branch_level, uniform_branch_level,
        one_hot_own_stream_levels, uniform_own_stream_levels)}`` (means over
        the c grid).
    """
    tasks = list(tasks)
    costs = [float(c) for c in costs]
    answers = [[answer(p, c) for c in costs] for p in preferences]
    macs = np.array([[a['macs'] for a in row] for row in answers],
                    dtype=np.float64)
    mean_macs = macs.mean(axis=0)
    rho = spearman(np.array(costs), mean_macs, 'c vs mean MACs')

    def index_of(target: Mapping[str, float]) -> int:
        for i, p in enumerate(preferences):
            if all(abs(p[t] - target[t]) < 1e-9 for t in tasks):
                return i
        raise ValueError(f'preference {dict(target)} is not among the '
                         'preferences asked')

    uniform = index_of({t: 1.0 / len(tasks) for t in tasks})
    depths = {}
    for task in tasks:
        one_hot = index_of({t: float(t == task) for t in tasks})
        depths[task] = {
            f'{which}_{key}': float(np.mean(
                [a[key][task] for a in answers[row]]))
            for which, row in (('one_hot', one_hot), ('uniform', uniform))
            for key in ('branch_level', 'own_stream_levels')
        }
    return dict(costs=costs, macs=macs.tolist(),
                mean_macs=mean_macs.tolist(),
                spearman_cost_vs_mean_macs=rho, depths=depths,
                num_preferences=len(preferences))


def format_knob_response(result: dict, macs_scale: float = 1e6,
                         unit: str = 'MMACs') -> List[str]:
    """Markdown tables of :func:`knob_response`'s result."""
    lines = ['| c | ' + ' | '.join(f'{c:.1f}' for c in result['costs'])
             + ' |', '| --- |' + ' --- |' * len(result['costs']),
             f'| mean {unit} | ' + ' | '.join(
                 f'{m / macs_scale:.1f}' for m in result['mean_macs'])
             + ' |', '',
             f'Spearman(c, mean MACs) over {result["num_preferences"]} '
             f'preferences: {result["spearman_cost_vs_mean_macs"]:.3f}', '',
             '| task | branch level, one-hot | branch level, uniform | '
             'own-stream levels, one-hot | own-stream levels, uniform |',
             '| --- | --- | --- | --- | --- |']
    for task, d in result['depths'].items():
        lines.append(
            f'| {task} | {d["one_hot_branch_level"]:.2f} | '
            f'{d["uniform_branch_level"]:.2f} | '
            f'{d["one_hot_own_stream_levels"]:.2f} | '
            f'{d["uniform_own_stream_levels"]:.2f} |')
    return lines


def plot_knob_response(result: dict, out_file: str,
                       macs_scale: float = 1e6, unit: str = 'MMACs') -> str:
    """Two panels: MACs vs c (every preference, and the mean) and each
    task's own-stream levels for its one-hot vs the uniform preference."""
    fig, (ax_macs, ax_depth) = _new_figure(2)
    costs = np.array(result['costs'])
    for row in result['macs']:
        ax_macs.plot(costs, np.array(row) / macs_scale, color='0.75',
                     linewidth=0.8)
    ax_macs.plot(costs, np.array(result['mean_macs']) / macs_scale,
                 color='C0', linewidth=2.5, label='mean')
    ax_macs.set_xlabel('cost knob c')
    ax_macs.set_ylabel(unit)
    ax_macs.set_title('MACs vs c, Spearman '
                      f'{result["spearman_cost_vs_mean_macs"]:.3f}')
    ax_macs.legend()
    tasks = list(result['depths'])
    x = np.arange(len(tasks))
    one_hot = [result['depths'][t]['one_hot_own_stream_levels']
               for t in tasks]
    uniform = [result['depths'][t]['uniform_own_stream_levels']
               for t in tasks]
    ax_depth.bar(x - 0.2, one_hot, 0.4, label='one-hot preference')
    ax_depth.bar(x + 0.2, uniform, 0.4, label='uniform preference')
    ax_depth.set_xticks(x, tasks, rotation=45, ha='right')
    ax_depth.set_ylabel('levels on its own stream (mean over c)')
    ax_depth.set_title('How long a task keeps its own stream')
    ax_depth.legend()
    return save_figure(fig, out_file)


__all__ = ['knob_response', 'format_knob_response', 'plot_knob_response']
