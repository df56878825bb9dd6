"""The controllability report: JSON, Markdown tables and figures.

Method-agnostic: it reads request records, whichever method answered them
(a slimmable supernet, a controller, a family of static models, a single
fixed model). A record is a mapping with

* ``method``: str, the method asked;
* ``preference``: ``{task: r}``, the requested task preference;
* ``budget``: the requested budget, > 0, **in the same unit as** ``macs``
  (e.g. MACs or GMACs: budget violations compare the two directly);
* ``feasible`` (optional, default ``True``): ``False`` when the method could
  not answer the request (its budget lies below the method's feasible MACs
  range). Such a record needs no ``macs`` / ``scores`` (any given are kept
  in the JSON but not used): it is counted as *infeasible*, never as a
  budget violation, and left out of HV, Spearman correlations, violations,
  uniformity and the paired comparisons;
* ``macs``: the measured MACs of the network that answered (answered
  requests only);
* ``scores``: ``{task: primary metric}`` in ``MultiTaskMetric`` units
  (see :func:`~mmecmt.evaluation.extract_primary_scores`; answered requests
  only);
* ``delta_m`` (optional): Delta_m in percent; computed with
  :func:`~mmecmt.evaluation.compute_delta_m` when absent or ``None``;
* ``losses`` (optional): ``{task: loss}`` on val, >= 0, every task: the
  task losses of :func:`~.uniformity.uniformity` (CDMA's metric); ``None``
  or absent: no uniformity for this request;
* ``spec`` (optional): the architecture spec the method chose, any
  JSON-serialisable value; ``subnet`` is accepted as its older name (one of
  the two, not both). Stored in the JSON only: the report never reads it.

Other keys are kept in the JSON as they are.

Records are grouped by method and budget label (``budgets_label_fn(budget)``,
default ``f'{budget:g}'``, so one group per distinct budget). Per group:
the requests and how many were answered; over the answered ones, the
hypervolume of the normalised scores (reference point 0, stated
everywhere), task controllability (Spearman of preference vs normalised
score), the mean preference-weighted score, the mean uniformity (over the
answered requests that carry losses), the mean MACs and the share of the
budget used. Per method, over all its answered budgets: budget
controllability (Spearman of requested budget vs measured MACs, and the mean
Spearman within each preference; violations = measured > requested). Pairs
of methods are compared on the requests (same preference and budget) both
answered, per budget (:mod:`.paired`): by default the first method against
every other one, or the pairs asked for.
"""
import json
import math
import os
import os.path as osp
import re
import warnings
from typing import (Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np

from ..functional.delta_m import compute_delta_m, primary_metric, task_kind
from .controllability import (budget_controllability, budget_violations,
                              mean_task_controllability, task_controllability)
from .hypervolume import hypervolume, hypervolume_reference, normalised_scores
from .paired import paired_comparison, weighted_scores
from ...utils.json_io import to_strict_json
from .plots import (plot_budget_vs_macs, plot_hv_vs_macs,
                    plot_pairwise_scatter, plot_preference_vs_score)
from .uniformity import uniformity

#: Keys every request record must have.
REQUIRED_KEYS = ('method', 'preference', 'budget')
#: Keys an answered (feasible) record must have as well.
ANSWER_KEYS = ('macs', 'scores')
#: Names of the architecture spec in a record: the neutral one, the old one.
SPEC_KEYS = ('spec', 'subnet')
JSON_FILE = 'control_results.json'
MARKDOWN_FILE = 'control_results.md'
HV_VS_MACS_FILE = 'hv_vs_macs.png'
#: joins the two methods of a pair in the keys of ``paired``.
PAIR_SEPARATOR = ' vs '


def default_budget_label(budget: float) -> str:
    """``f'{budget:g}'``: one label per distinct budget."""
    return f'{float(budget):g}'


def pair_key(method_a: str, method_b: str) -> str:
    """``'A vs B'``: the key of a pair in the report's ``paired`` entry."""
    return f'{method_a}{PAIR_SEPARATOR}{method_b}'


def _file_token(text: str) -> str:
    """``text`` made safe for a file name."""
    return re.sub(r'[^A-Za-z0-9._-]+', '_', str(text)).strip('_') or 'x'


def _check_task_map(i: int, what: str, value, task_names: Sequence[str],
                    nonnegative: bool) -> None:
    if not isinstance(value, Mapping) or set(value) != set(task_names):
        raise ValueError(f'record {i}: {what} must map exactly the tasks '
                         f'{sorted(task_names)}, got {value!r}')
    for name, v in value.items():
        v = float(v)
        if not math.isfinite(v) or (nonnegative and v < 0):
            raise ValueError(f'record {i}: {what} of task {name!r} is {v}; '
                             'must be finite' +
                             (' and >= 0' if nonnegative else ''))


def _check_record(i: int, record: Mapping, task_names: Sequence[str]) -> bool:
    """Check record ``i``; returns whether it was answered (feasible)."""
    if not isinstance(record, Mapping):
        raise TypeError(f'record {i} must be a mapping, got {type(record)}')
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise KeyError(f'record {i} lacks {missing}; a record needs '
                       f'{list(REQUIRED_KEYS)}, got keys {sorted(record)}')
    feasible = record.get('feasible', True)
    if not isinstance(feasible, (bool, np.bool_)):
        raise ValueError(f'record {i}: feasible must be True or False, got '
                         f'{feasible!r}')
    feasible = bool(feasible)
    if feasible:
        missing = [k for k in ANSWER_KEYS if k not in record]
        if missing:
            raise KeyError(
                f'record {i} lacks {missing}; an answered request needs '
                f'{list(REQUIRED_KEYS + ANSWER_KEYS)} (an infeasible one, '
                f'feasible=False, only {list(REQUIRED_KEYS)}), got keys '
                f'{sorted(record)}')
    _check_task_map(i, 'preference', record['preference'], task_names,
                    nonnegative=False)
    budget = float(record['budget'])
    if not math.isfinite(budget) or budget <= 0:
        raise ValueError(f'record {i}: budget must be finite and > 0, got '
                         f'{record["budget"]!r}')
    if feasible:
        macs = float(record['macs'])
        if not math.isfinite(macs) or macs < 0:
            raise ValueError(f'record {i}: macs must be finite and >= 0, '
                             f'got {record["macs"]!r}')
        if record.get('losses') is not None:
            _check_task_map(i, 'losses', record['losses'], task_names,
                            nonnegative=True)
    given = [k for k in SPEC_KEYS if record.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f'record {i} has both {given}: give the '
                         'architecture spec once, as \'spec\' (\'subnet\' is '
                         'its older name)')
    for key in given:
        try:
            to_strict_json(record[key])
        except TypeError as e:
            raise TypeError(f'record {i}: {key} must be JSON-serialisable: '
                            f'{e}') from e
    return feasible


def _resolve_pairs(pairs, methods: Sequence[str]) -> List[Tuple[str, str]]:
    """The (method A, method B) pairs to compare, checked."""
    if pairs is None:
        return [(methods[0], other) for other in methods[1:]]
    resolved = []
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or len(pair) != 2:
            raise ValueError('pairs must be (method_a, method_b) tuples, got '
                             f'{pair!r}')
        resolved.append((str(pair[0]), str(pair[1])))
    unknown = sorted({m for pair in resolved for m in pair} - set(methods))
    if unknown:
        raise ValueError(f'pairs name methods {unknown} that have no record;'
                         f' the records hold the methods {list(methods)}')
    for a, b in resolved:
        if a == b:
            raise ValueError(f'pair ({a!r}, {b!r}) compares a method with '
                             'itself')
    keys = [pair_key(a, b) for a, b in resolved]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f'pairs give {twice} more than once (as a pair or '
                         f'through {PAIR_SEPARATOR!r} in a method name)')
    return resolved


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
                         edge_matching: str = 'one_to_one',
                         pairs: Optional[Sequence[Tuple[str, str]]] = None,
                         macs_unit: Optional[str] = None,
                         reference_points: Optional[Mapping[
                             str, Tuple[float, float]]] = None
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
        pairs: ``[(method_a, method_b), ...]`` to compare request by request
            (:func:`~.paired.paired_comparison`, A - B); ``None``: the first
            method (in record order) against every other one.
        macs_unit: when the records' MACs are plain MACs, ``'M'`` or
            ``'G'`` draws the HV-vs-MACs figure in MMACs / GMACs (the
            tables keep the records' unit); None: the records' unit.
        reference_points: ``{name: (MACs, HV)}`` of models outside the
            records drawn as lone points on the HV-vs-MACs figure and kept
            in the JSON (e.g. the single-task set: every normalised score
            1, so its HV is that of the all-ones point); MACs in the
            records' unit.

    Figures in ``out_dir``, for the answered requests:
    ``pairwise_<budget>.png`` (all methods, if T >= 2),
    ``preference_<method>_<budget>.png``, ``budget_<method>.png`` and
    ``hv_vs_macs.png`` (HV against the mean MACs of every (method, budget)
    group, :func:`~.plots.plot_hv_vs_macs`).

    Returns:
        ``{method: {budget_label: dict(requests, answered, answered_share,
        hv, hv_ref, task_spearman, mean_task_spearman, mean_weighted_score,
        uniformity, uniformity_requests, mean_macs, budget_use,
        budget_spearman, violations, max_violation_ratio)}}``.
        ``requests`` counts the group's records, ``answered`` those with
        ``feasible`` true and ``answered_share`` their ratio; everything
        else is over the answered requests only (NaN, JSON ``null``, where
        none was answered; ``violations`` 0). ``hv`` is the hypervolume of
        the group's normalised scores above ``hv_ref`` (list, zeros);
        ``task_spearman`` is ``{task: rho}`` within the group, NaN where
        undefined (constant preference or score) and left out of
        ``mean_task_spearman``; ``budget_spearman`` is computed over **all**
        budgets of the method (within one budget it is undefined), so it is
        the same in every budget of a method; ``violations`` and
        ``max_violation_ratio`` are within the group;
        ``mean_weighted_score`` is the mean of ``sum_t r_t * s_t``
        (:func:`~.paired.weighted_scores`), ``uniformity`` the mean of
        :func:`~.uniformity.uniformity` over the ``uniformity_requests``
        answered requests with ``losses`` (NaN without any), ``mean_macs``
        the mean measured MACs and ``budget_use`` the mean of MACs / budget.
        Methods appear in record order, budgets by increasing budget.

        The JSON also holds ``pairs`` (the compared ``[A, B]`` pairs) and
        ``paired``: ``{budget_label: {'A vs B': dict(method_a=A,
        method_b=B, **paired_comparison(A, B))}}`` (key:
        :func:`pair_key`) for the pairs that share >= 2 answered requests
        (same preference and budget) at that budget.

    Raises:
        ValueError / KeyError / TypeError: no record, a malformed record
            (the message names its index and key), or ``pairs`` naming a
            method without records (the message names it and the methods
            present), a method twice or a pair twice.
    """
    if not records:
        raise ValueError('write_control_report needs at least one record')
    label_fn = budgets_label_fn or default_budget_label
    task_names = list(tasks)
    kinds = {name: task_kind(name, task) for name, task in tasks.items()}
    answered = np.array(
        [_check_record(i, r, task_names) for i, r in enumerate(records)],
        dtype=bool)
    methods = list(dict.fromkeys(str(r['method']) for r in records))
    pair_list = _resolve_pairs(pairs, methods)

    num, num_tasks = len(records), len(task_names)
    # An unanswered record is scored as the reference, then blanked (NaN),
    # so that the errors of normalised_scores name the record's own index.
    stand_in = {'scores': {t: stl_reference.get(t, 1.0) for t in task_names}}
    norm = normalised_scores(
        [r if ok else stand_in for r, ok in zip(records, answered)],
        stl_reference, tasks)  # (N, T)
    norm[~answered] = np.nan
    prefs = np.array([[float(r['preference'][t]) for t in task_names]
                      for r in records]).reshape(num, num_tasks)
    budgets = np.array([float(r['budget']) for r in records])
    macs = np.array([float(r['macs']) if ok else math.nan
                     for r, ok in zip(records, answered)])
    labels = [str(label_fn(r['budget'])) for r in records]
    delta_m = [
        None if not ok else float(r['delta_m'])
        if r.get('delta_m') is not None else compute_delta_m(
            r['scores'], stl_reference, tasks)
        for r, ok in zip(records, answered)
    ]
    uniform = [math.nan] * num
    for i, record in enumerate(records):
        if answered[i] and record.get('losses') is not None:
            losses = [float(record['losses'][t]) for t in task_names]
            try:
                uniform[i] = uniformity(prefs[i], losses)
            except ValueError as e:
                raise ValueError(f'record {i}: {e}') from e
    uniform = np.array(uniform)
    hv_ref = hypervolume_reference(num_tasks)

    method_of = [str(r['method']) for r in records]
    label_order = sorted(
        set(labels),
        key=lambda lab: min(b for b, other in zip(budgets, labels)
                           if other == lab))

    def rows(method: str, label: Optional[str] = None,
             answered_only: bool = True) -> List[int]:
        return [
            i for i in range(num) if method_of[i] == method and (
                label is None or labels[i] == label) and (
                    answered[i] or not answered_only)
        ]

    weighted = np.full(num, math.nan)
    weighted[answered] = weighted_scores(prefs[answered], norm[answered])
    pref_keys = [json.dumps(row.tolist()) for row in prefs]  # request ids
    os.makedirs(out_dir, exist_ok=True)
    figures = []
    summary: Dict[str, Dict[str, dict]] = {}
    budget_stats = {}
    undefined = []  # groups with an undefined correlation, warned once
    for method in methods:
        idx = rows(method)
        budget_stats[method] = dict(
            requests=len(rows(method, answered_only=False)),
            answered=len(idx),
            **budget_controllability(
                budgets[idx], macs[idx],
                groups=[pref_keys[i] for i in idx], warn=False))
        if idx:
            if math.isnan(budget_stats[method]['spearman']):
                undefined.append(f'{method}: budget vs MACs')
            figures.append(
                plot_budget_vs_macs(
                    budgets[idx], macs[idx],
                    osp.join(out_dir, f'budget_{_file_token(method)}.png'),
                    title=method))
        summary[method] = {}
        for label in label_order:
            every = rows(method, label, answered_only=False)
            if not every:
                continue
            idx = rows(method, label)
            summary[method][label] = _group_summary(
                idx, len(every), prefs, norm, weighted, uniform, budgets,
                macs, task_names, hv_ref, budget_stats[method]['spearman'])
            if not idx:
                continue
            nan_tasks = [
                t for t, rho in summary[method][label]['task_spearman'].items()
                if math.isnan(rho)
            ]
            if nan_tasks:
                undefined.append(f'{method} @ {label}: preference vs score '
                                 f'of {", ".join(nan_tasks)}')
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
    if num_tasks >= 2:
        for label in label_order:
            by_method = {
                m: norm[rows(m, label)]
                for m in methods if rows(m, label)
            }
            if by_method:
                figures.append(
                    plot_pairwise_scatter(
                        by_method, task_names, label,
                        osp.join(out_dir,
                                 f'pairwise_{_file_token(label)}.png'),
                        hv_ref_point=hv_ref))
    scale = 1.0
    if macs_unit:
        from mmecmt.structures.request import MACS_SUFFIXES
        scale = float(MACS_SUFFIXES[macs_unit.lower()])
    hv_points = {
        m: [(s['mean_macs'] / scale, s['hv']) for s in summary[m].values()
            if s['answered']]
        for m in methods
    }
    hv_labels = {
        m: [lab for lab, s in summary[m].items() if s['answered']]
        for m in methods
    }
    hv_points = {m: p for m, p in hv_points.items() if p}
    reference_points = {name: (float(m), float(hv)) for name, (m, hv) in
                        (reference_points or {}).items()}
    for name, (point_macs, point_hv) in reference_points.items():
        if name in hv_points:
            raise ValueError(f'reference point {name!r} is also a method')
        hv_points[name] = [(point_macs / scale, point_hv)]
    if hv_points:
        figures.append(
            plot_hv_vs_macs(hv_points, osp.join(out_dir, HV_VS_MACS_FILE),
                            hv_ref_point=hv_ref,
                            labels_by_method=hv_labels,
                            macs_unit=f'{macs_unit}MACs' if macs_unit
                            else ''))

    paired = _paired(pair_list, label_order, rows, pref_keys, budgets,
                     prefs, norm, hv_ref)

    out_records = []
    for i, record in enumerate(records):
        entry = dict(record)
        entry.update(
            method=method_of[i],
            budget_label=labels[i],
            feasible=bool(answered[i]),
            delta_m=delta_m[i],
            normalised_scores=dict(zip(task_names, norm[i].tolist()))
            if answered[i] else None,
            uniformity=uniform[i])
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
                    pairs=[list(p) for p in pair_list],
                    paired=paired,
                    reference_points={n: list(p) for n, p in
                                      reference_points.items()},
                    figures=[osp.basename(p) for p in figures])),
            f,
            indent=2,
            allow_nan=False)
    with open(osp.join(out_dir, MARKDOWN_FILE), 'w') as f:
        f.write(
            _markdown(records, answered, task_names, kinds, methods,
                      label_order, rows, labels, budgets, macs, delta_m,
                      uniform, summary, budget_stats, hv_ref, figures,
                      edge_matching, pair_list, paired))
    return summary


def _group_summary(idx, num_requests, prefs, norm, weighted, uniform,
                   budgets, macs, task_names, hv_ref,
                   budget_spearman) -> dict:
    """The statistics of one (method, budget) group over its answered
    requests ``idx`` (may be empty: then NaN, and 0 violations)."""
    if idx:
        task_rho = task_controllability(prefs[idx], norm[idx], task_names,
                                        warn=False)
        violations = budget_violations(budgets[idx], macs[idx])
        with_losses = [i for i in idx if not math.isnan(uniform[i])]
        hv = hypervolume(norm[idx], hv_ref)
        mean_weighted = float(weighted[idx].mean())
        mean_macs = float(macs[idx].mean())
        budget_use = float(np.mean(macs[idx] / budgets[idx]))
    else:
        task_rho = {t: math.nan for t in task_names}
        violations = dict(violations=0, max_violation_ratio=0.0)
        with_losses = []
        hv = mean_weighted = mean_macs = budget_use = math.nan
    return dict(
        requests=num_requests,
        answered=len(idx),
        answered_share=len(idx) / num_requests,
        hv=hv,
        hv_ref=hv_ref.tolist(),
        task_spearman=task_rho,
        mean_task_spearman=mean_task_controllability(task_rho),
        mean_weighted_score=mean_weighted,
        uniformity=float(uniform[with_losses].mean())
        if with_losses else math.nan,
        uniformity_requests=len(with_losses),
        mean_macs=mean_macs,
        budget_use=budget_use,
        budget_spearman=budget_spearman,
        violations=violations['violations'],
        max_violation_ratio=violations['max_violation_ratio'])


def _paired(pair_list, label_order, rows, pref_keys, budgets, prefs, norm,
            hv_ref) -> Dict[str, Dict[str, dict]]:
    """Each pair (A, B), per budget label, on the requests (preference and
    budget) both answered; a pair with < 2 such requests at a budget is
    left out there."""
    out: Dict[str, Dict[str, dict]] = {}
    for label in label_order:
        for a, b in pair_list:
            mine = {(pref_keys[i], budgets[i]): i for i in rows(a, label)}
            theirs = {(pref_keys[i], budgets[i]): i for i in rows(b, label)}
            shared = [k for k in mine if k in theirs]
            if len(shared) < 2:
                continue
            ia = [mine[k] for k in shared]
            ib = [theirs[k] for k in shared]
            out.setdefault(label, {})[pair_key(a, b)] = dict(
                method_a=a,
                method_b=b,
                **paired_comparison(prefs[ia], norm[ia], norm[ib], hv_ref))
    return out


def _markdown(records, answered, task_names, kinds, methods, label_order,
              rows, labels, budgets, macs, delta_m, uniform, summary,
              budget_stats, hv_ref, figures, edge_matching, pair_list,
              paired) -> str:
    ref_text = '(' + ', '.join(f'{v:g}' for v in hv_ref) + ')'
    metric = {t: primary_metric(kinds[t], edge_matching) for t in task_names}
    out = ['# Controllability results', '']
    out += [
        f'Tasks: {", ".join(f"{t} ({metric[t]})" for t in task_names)}. '
        'HV of the scores normalised by the single-task reference '
        '(higher-is-better M / M_stl, lower-is-better M_stl / M; 1.0 = '
        f'single-task quality), reference point {ref_text}.', '',
        'A request below the feasible range of a method is *infeasible*: '
        'counted in "answered / requests", never as a violation, and left '
        'out of every other column. Uniformity: 1 - KL(Lhat || 1/T) with '
        'Lhat_j = r_j L_j / sum_i r_i L_i (val task losses L; 1 = the '
        'weighted losses are balanced), the mean over the answered requests '
        'with losses ("n/a": none).', ''
    ]

    out += ['## Summary per method and budget', '']
    head = (['method', 'budget', 'answered / requests',
             f'HV (ref {ref_text})'] +
            [f'Spearman {t}' for t in task_names] + [
                'mean task Spearman', 'mean weighted score', 'uniformity',
                'mean MACs', 'budget used', 'budget Spearman (all budgets)',
                'violations'
            ])
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for method in methods:
        for label, s in summary[method].items():
            uni = _fmt(s['uniformity'], '.4f')
            if 0 < s['uniformity_requests'] < s['answered']:
                uni += f' ({s["uniformity_requests"]} of {s["answered"]})'
            cells = [
                _md_cell(method),
                _md_cell(label),
                f'{s["answered"]} / {s["requests"]}',
                _fmt(s['hv'], '.4f')
            ] + [_fmt(s['task_spearman'][t], '.3f') for t in task_names] + [
                _fmt(s['mean_task_spearman'], '.3f'),
                _fmt(s['mean_weighted_score'], '.4f'), uni,
                _fmt(s['mean_macs'], '.6g'),
                _fmt(100 * s['budget_use'], '.1f') +
                ('' if math.isnan(s['budget_use']) else ' %'),
                _fmt(s['budget_spearman'], '.3f'),
                str(s['violations'])
            ]
            out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')

    out += ['## Budget controllability per method (all budgets)', '']
    out += [
        '| method | answered / requests | budget Spearman | mean Spearman '
        'within a preference | violations | max violation ratio |',
        '|---|---|---|---|---|---|'
    ]
    for method in methods:
        b = budget_stats[method]
        out.append(f'| {_md_cell(method)} | {b["answered"]} / '
                   f'{b["requests"]} | '
                   f'{_fmt(b["spearman"], ".3f")} | '
                   f'{_fmt(b["group_spearman"], ".3f")} | '
                   f'{b["violations"]} | '
                   f'{_fmt(b["max_violation_ratio"], ".4f")} |')
    out.append('')

    if any(s['answered'] for m in methods for s in summary[m].values()):
        out += ['## HV against compute', '',
                f'`{HV_VS_MACS_FILE}`: the HV of each (method, budget) group '
                f'(reference point {ref_text}) against its mean measured '
                'MACs; the points of a method are joined in MACs order, so '
                'methods whose budget ranges do not overlap can be compared '
                '(higher at equal MACs is better).', '']

    if pair_list:
        out += ['## Paired comparisons, on the same requests', '',
                'Per pair A vs B, on the requests (preference and budget) '
                'both answered: wins / ties / losses of A by the '
                'preference-weighted score sum_t r_t s_t (s: normalised '
                'score), its mean difference A - B, and the HV difference '
                'A - B with its 5-95 % bootstrap interval (requests '
                'resampled). A budget with fewer than 2 shared requests is '
                'left out.', '']
        for a, b in pair_list:
            key = pair_key(a, b)
            out += [f'### {_md_cell(key)}', '']
            found = [(label, paired[label][key]) for label in paired
                     if key in paired[label]]
            if not found:
                out += ['Fewer than 2 shared answered requests at every '
                        'budget: not compared.', '']
                continue
            out += ['| budget | requests | wins / ties / losses | mean '
                    'weighted-score gap | HV gap | HV gap 5-95 % |',
                    '|---|---|---|---|---|---|']
            for label, c in found:
                out.append(
                    f'| {_md_cell(label)} | {c["num_requests"]} | '
                    f'{c["wins"]} / {c["ties"]} / {c["losses"]} | '
                    f'{c["mean_gap"]:+.4f} | {c["hv_gap"]:+.4f} | '
                    f'[{c["hv_gap_low"]:+.4f}, {c["hv_gap_high"]:+.4f}] |')
            out.append('')

    out += ['## Requests', '']
    head = (['method', 'budget', 'requested', 'MACs', 'preference'] +
            [f'{t} {metric[t]}' for t in task_names] +
            ['Delta_m (%)', 'uniformity'])
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for method in methods:
        for label in label_order:
            for i in rows(method, label, answered_only=False):
                pref = ', '.join(
                    f'{t}={float(records[i]["preference"][t]):g}'
                    for t in task_names)
                cells = [
                    _md_cell(method),
                    _md_cell(labels[i]),
                    f'{budgets[i]:.6g}'
                ]
                if answered[i]:
                    cells += [f'{macs[i]:.6g}', pref] + [
                        f'{float(records[i]["scores"][t]):.4f}'
                        for t in task_names
                    ] + [f'{delta_m[i]:+.2f}', _fmt(uniform[i], '.4f')]
                else:
                    cells += ['infeasible', pref] + ['n/a'] * (
                        len(task_names) + 2)
                out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')

    out += ['## Figures', '']
    out += [f'- `{osp.basename(p)}`' for p in figures]
    out.append('')
    return '\n'.join(out)
