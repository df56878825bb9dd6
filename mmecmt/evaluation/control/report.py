"""The controllability report: JSON, Markdown tables and figures.

Method-agnostic: it reads request records, whichever method answered them.
A record is a mapping with

* ``method``: str, the method that produced the subnet;
* ``preference``: ``{task: r}``, the requested task preference;
* ``budget``: the requested budget, > 0, **in the same unit as** ``macs``
  (e.g. MACs or GMACs: budget violations compare the two directly);
* ``macs``: the measured MACs of the subnet;
* ``scores``: ``{task: primary metric}`` in ``MultiTaskMetric`` units
  (see :func:`~mmecmt.evaluation.extract_primary_scores`);
* ``delta_m`` (optional): Delta_m in percent; computed with
  :func:`~mmecmt.evaluation.compute_delta_m` when absent or ``None``;
* ``subnet`` (optional): the architecture spec, JSON-serialisable; stored in
  the JSON only.

Records are grouped by method and budget label (``budgets_label_fn(budget)``,
default ``f'{budget:g}'``, so one group per distinct budget). Per group:
hypervolume of the normalised scores (reference point 0, stated everywhere),
task controllability (Spearman of preference vs normalised score), the mean
preference-weighted score and the share of the budget used. Per method, over
all its budgets: budget controllability (Spearman of requested budget vs
measured MACs, and the mean Spearman within each preference; violations =
measured > requested). The first method is compared with every other one on
the requests both answered, per budget (:mod:`.paired`).
"""
import json
import math
import os
import os.path as osp
import re
import warnings
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..functional.delta_m import compute_delta_m, primary_metric, task_kind
from .controllability import (budget_controllability, budget_violations,
                              mean_task_controllability, task_controllability)
from .hypervolume import hypervolume, hypervolume_reference, normalised_scores
from .paired import paired_comparison, weighted_scores
from ...utils.json_io import to_strict_json
from .plots import (plot_budget_vs_macs, plot_pairwise_scatter,
                    plot_preference_vs_score)

#: Keys every request record must have.
REQUIRED_KEYS = ('method', 'preference', 'budget', 'macs', 'scores')
JSON_FILE = 'control_results.json'
MARKDOWN_FILE = 'control_results.md'


def default_budget_label(budget: float) -> str:
    """``f'{budget:g}'``: one label per distinct budget."""
    return f'{float(budget):g}'


def _file_token(text: str) -> str:
    """``text`` made safe for a file name."""
    return re.sub(r'[^A-Za-z0-9._-]+', '_', str(text)).strip('_') or 'x'


def _check_record(i: int, record: Mapping, task_names: Sequence[str]) -> None:
    if not isinstance(record, Mapping):
        raise TypeError(f'record {i} must be a mapping, got {type(record)}')
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise KeyError(f'record {i} lacks {missing}; a record needs '
                       f'{list(REQUIRED_KEYS)}, got keys {sorted(record)}')
    pref = record['preference']
    if not isinstance(pref, Mapping) or set(pref) != set(task_names):
        raise ValueError(f'record {i}: preference must map exactly the tasks '
                         f'{sorted(task_names)}, got {pref!r}')
    for name, r in pref.items():
        if not math.isfinite(float(r)):
            raise ValueError(
                f'record {i}: preference of task {name!r} is {r}')
    budget, macs = float(record['budget']), float(record['macs'])
    if not math.isfinite(budget) or budget <= 0:
        raise ValueError(f'record {i}: budget must be finite and > 0, got '
                         f'{record["budget"]!r}')
    if not math.isfinite(macs) or macs < 0:
        raise ValueError(f'record {i}: macs must be finite and >= 0, got '
                         f'{record["macs"]!r}')


def _md_cell(text) -> str:
    return str(text).replace('|', '\\|')


def _fmt(value: float, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return format(value, spec)


def write_control_report(records: Sequence[Mapping],
                         stl_reference: Mapping[str, float],
                         tasks: Mapping[str, object],
                         out_dir: str,
                         budgets_label_fn: Optional[Callable[[float],
                                                             str]] = None,
                         edge_matching: str = 'one_to_one'
                         ) -> Dict[str, Dict[str, dict]]:
    """Write ``control_results.json``, ``control_results.md`` and figures.

    Args:
        records: request records (see the module docstring).
        stl_reference: task -> primary metric of the single-task model.
        tasks: task -> kind (str, TaskSpec or dict with ``kind``); fixes the
            task (column) order.
        out_dir: folder to write into (created).
        budgets_label_fn: budget -> label used to group records; default
            :func:`default_budget_label`.
        edge_matching: how the edge scores were matched; names the edge
            metric in the tables (``odsF``, or ``odsF_dt`` for
            ``'distance_transform'``).

    Figures in ``out_dir``: ``pairwise_<budget>.png`` (all methods, if T >=
    2), ``preference_<method>_<budget>.png`` and ``budget_<method>.png``.

    Returns:
        ``{method: {budget_label: dict(hv, hv_ref, task_spearman,
        mean_task_spearman, mean_weighted_score, budget_use,
        budget_spearman, violations, max_violation_ratio,
        num_requests)}}``. ``hv`` is the hypervolume of
        the group's normalised scores above ``hv_ref`` (list, zeros);
        ``task_spearman`` is ``{task: rho}`` within the group, NaN where
        undefined (constant preference or score) and left out of
        ``mean_task_spearman``; ``budget_spearman`` is computed over **all**
        budgets of the method (within one budget it is undefined), so it is
        the same in every budget of a method; ``violations`` and
        ``max_violation_ratio`` are within the group;
        ``mean_weighted_score`` is the mean of ``sum_t r_t * s_t``
        (:func:`~.paired.weighted_scores`) and ``budget_use`` the mean of
        MACs / budget. Methods appear in record order, budgets by
        increasing budget. The JSON also holds ``paired``: ``{budget_label:
        {other_method: paired_comparison(first method, other)}}`` where
        they share >= 2 requests.

    Raises:
        ValueError / KeyError / TypeError: no record, or a malformed record
            (the message names its index and key).
    """
    if not records:
        raise ValueError('write_control_report needs at least one record')
    label_fn = budgets_label_fn or default_budget_label
    task_names = list(tasks)
    kinds = {name: task_kind(name, task) for name, task in tasks.items()}
    for i, record in enumerate(records):
        _check_record(i, record, task_names)

    norm = normalised_scores(records, stl_reference, tasks)  # (N, T)
    prefs = np.array([[float(r['preference'][t]) for t in task_names]
                      for r in records])
    budgets = np.array([float(r['budget']) for r in records])
    macs = np.array([float(r['macs']) for r in records])
    labels = [str(label_fn(r['budget'])) for r in records]
    delta_m = [
        float(r['delta_m']) if r.get('delta_m') is not None else
        compute_delta_m(r['scores'], stl_reference, tasks) for r in records
    ]
    hv_ref = hypervolume_reference(len(task_names))

    methods = list(dict.fromkeys(str(r['method']) for r in records))
    method_of = [str(r['method']) for r in records]
    label_order = sorted(
        set(labels),
        key=lambda lab: min(b for b, other in zip(budgets, labels)
                           if other == lab))

    def rows(method: str, label: Optional[str] = None) -> List[int]:
        return [
            i for i in range(len(records)) if method_of[i] == method and (
                label is None or labels[i] == label)
        ]

    weighted = weighted_scores(prefs, norm)
    pref_keys = [json.dumps(r['preference'], sort_keys=True) for r in records]
    os.makedirs(out_dir, exist_ok=True)
    figures = []
    summary: Dict[str, Dict[str, dict]] = {}
    budget_stats = {}
    undefined = []  # groups with an undefined correlation, warned once
    for method in methods:
        idx = rows(method)
        budget_stats[method] = budget_controllability(
            budgets[idx], macs[idx],
            groups=[pref_keys[i] for i in idx], warn=False)
        if math.isnan(budget_stats[method]['spearman']):
            undefined.append(f'{method}: budget vs MACs')
        figures.append(
            plot_budget_vs_macs(
                budgets[idx], macs[idx],
                osp.join(out_dir, f'budget_{_file_token(method)}.png'),
                title=method))
        summary[method] = {}
        for label in label_order:
            idx = rows(method, label)
            if not idx:
                continue
            task_rho = task_controllability(prefs[idx], norm[idx], task_names,
                                            warn=False)
            nan_tasks = [t for t, rho in task_rho.items() if math.isnan(rho)]
            if nan_tasks:
                undefined.append(f'{method} @ {label}: preference vs score '
                                 f'of {", ".join(nan_tasks)}')
            group_budget = budget_violations(budgets[idx], macs[idx])
            summary[method][label] = dict(
                hv=hypervolume(norm[idx], hv_ref),
                hv_ref=hv_ref.tolist(),
                task_spearman=task_rho,
                mean_task_spearman=mean_task_controllability(task_rho),
                mean_weighted_score=float(weighted[idx].mean()),
                budget_use=float(np.mean(macs[idx] / budgets[idx])),
                budget_spearman=budget_stats[method]['spearman'],
                violations=group_budget['violations'],
                max_violation_ratio=group_budget['max_violation_ratio'],
                num_requests=len(idx))
            figures.append(
                plot_preference_vs_score(
                    prefs[idx],
                    norm[idx],
                    task_names,
                    osp.join(
                        out_dir, f'preference_{_file_token(method)}_'
                        f'{_file_token(label)}.png'),
                    title=f'{method}, budget {label}'))
    if undefined:
        warnings.warn(
            'Spearman correlation undefined (one request, or a constant '
            'preference, score or MACs), reported as NaN, for: ' +
            '; '.join(undefined), RuntimeWarning, stacklevel=2)
    if len(task_names) >= 2:
        for label in label_order:
            by_method = {
                m: norm[rows(m, label)]
                for m in methods if rows(m, label)
            }
            figures.append(
                plot_pairwise_scatter(
                    by_method, task_names, label,
                    osp.join(out_dir, f'pairwise_{_file_token(label)}.png'),
                    hv_ref_point=hv_ref))

    paired = _paired(methods, label_order, rows, pref_keys, prefs, norm,
                     hv_ref)

    out_records = []
    for i, record in enumerate(records):
        entry = dict(record)
        entry.update(
            method=method_of[i],
            budget_label=labels[i],
            delta_m=delta_m[i],
            normalised_scores=dict(zip(task_names, norm[i].tolist())))
        out_records.append(entry)
    with open(osp.join(out_dir, JSON_FILE), 'w') as f:
        json.dump(
            to_strict_json(
                dict(
                    tasks=kinds,
                    stl_reference={t: stl_reference[t]
                                   for t in task_names},
                    hv_reference_point=hv_ref.tolist(),
                    records=out_records,
                    summary=summary,
                    budget_controllability=budget_stats,
                    paired=paired,
                    figures=[osp.basename(p) for p in figures])),
            f,
            indent=2,
            allow_nan=False)
    with open(osp.join(out_dir, MARKDOWN_FILE), 'w') as f:
        f.write(
            _markdown(records, task_names, kinds, methods, label_order,
                      rows, labels, budgets, macs, delta_m, summary,
                      budget_stats, hv_ref, figures, edge_matching, paired))
    return summary


def _paired(methods, label_order, rows, pref_keys, prefs, norm,
            hv_ref) -> Dict[str, Dict[str, dict]]:
    """The first method against each other one, per budget, on the
    requests (preferences) both answered; pairs with < 2 left out."""
    out: Dict[str, Dict[str, dict]] = {}
    first = methods[0]
    for label in label_order:
        mine = {pref_keys[i]: i for i in rows(first, label)}
        for other in methods[1:]:
            theirs = {pref_keys[i]: i for i in rows(other, label)}
            shared = [k for k in mine if k in theirs]
            if len(shared) < 2:
                continue
            a = [mine[k] for k in shared]
            b = [theirs[k] for k in shared]
            out.setdefault(label, {})[other] = paired_comparison(
                prefs[a], norm[a], norm[b], hv_ref)
    return out


def _markdown(records, task_names, kinds, methods, label_order, rows, labels,
              budgets, macs, delta_m, summary, budget_stats, hv_ref,
              figures, edge_matching, paired) -> str:
    ref_text = '(' + ', '.join(f'{v:g}' for v in hv_ref) + ')'
    metric = {t: primary_metric(kinds[t], edge_matching) for t in task_names}
    out = ['# Controllability results', '']
    out += [
        f'Tasks: {", ".join(f"{t} ({metric[t]})" for t in task_names)}. '
        'HV of the scores normalised by the single-task reference '
        '(higher-is-better M / M_stl, lower-is-better M_stl / M; 1.0 = '
        f'single-task quality), reference point {ref_text}.', ''
    ]

    out += ['## Summary per method and budget', '']
    head = (['method', 'budget', 'requests', f'HV (ref {ref_text})'] +
            [f'Spearman {t}' for t in task_names] + [
                'mean task Spearman', 'mean weighted score', 'budget used',
                'budget Spearman (all budgets)', 'violations'
            ])
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for method in methods:
        for label, s in summary[method].items():
            cells = [
                _md_cell(method),
                _md_cell(label),
                str(s['num_requests']),
                _fmt(s['hv'], '.4f')
            ] + [_fmt(s['task_spearman'][t], '.3f') for t in task_names] + [
                _fmt(s['mean_task_spearman'], '.3f'),
                _fmt(s['mean_weighted_score'], '.4f'),
                f'{100 * s["budget_use"]:.1f} %',
                _fmt(s['budget_spearman'], '.3f'),
                str(s['violations'])
            ]
            out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')

    out += ['## Budget controllability per method (all budgets)', '']
    out += [
        '| method | requests | budget Spearman | mean Spearman within a '
        'preference | violations | max violation ratio |',
        '|---|---|---|---|---|---|'
    ]
    for method in methods:
        b = budget_stats[method]
        out.append(f'| {_md_cell(method)} | {len(rows(method))} | '
                   f'{_fmt(b["spearman"], ".3f")} | '
                   f'{_fmt(b["group_spearman"], ".3f")} | '
                   f'{b["violations"]} | '
                   f'{_fmt(b["max_violation_ratio"], ".4f")} |')
    out.append('')

    if paired:
        out += [f'## {_md_cell(methods[0])} against the others, on the same '
                'requests', '',
                'Wins / ties / losses by the preference-weighted score '
                'sum_t r_t s_t (s: normalised score), its mean difference, '
                'and the HV difference with its 5-95 % bootstrap interval '
                '(requests resampled).', '',
                '| budget | against | requests | wins / ties / losses | mean '
                'weighted-score gap | HV gap | HV gap 5-95 % |',
                '|---|---|---|---|---|---|---|']
        for label, others in paired.items():
            for other, c in others.items():
                out.append(
                    f'| {_md_cell(label)} | {_md_cell(other)} | '
                    f'{c["num_requests"]} | {c["wins"]} / {c["ties"]} / '
                    f'{c["losses"]} | {c["mean_gap"]:+.4f} | '
                    f'{c["hv_gap"]:+.4f} | [{c["hv_gap_low"]:+.4f}, '
                    f'{c["hv_gap_high"]:+.4f}] |')
        out.append('')

    out += ['## Requests', '']
    head = (['method', 'budget', 'requested', 'MACs', 'preference'] +
            [f'{t} {metric[t]}' for t in task_names] + ['Delta_m (%)'])
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for method in methods:
        for label in label_order:
            for i in rows(method, label):
                pref = ', '.join(
                    f'{t}={float(records[i]["preference"][t]):g}'
                    for t in task_names)
                cells = [
                    _md_cell(method),
                    _md_cell(labels[i]),
                    f'{budgets[i]:.6g}', f'{macs[i]:.6g}', pref
                ] + [
                    f'{float(records[i]["scores"][t]):.4f}'
                    for t in task_names
                ] + [f'{delta_m[i]:+.2f}']
                out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')

    out += ['## Figures', '']
    out += [f'- `{osp.basename(p)}`' for p in figures]
    out.append('')
    return '\n'.join(out)
