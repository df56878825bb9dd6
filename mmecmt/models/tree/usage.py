"""Node-usage probabilities of a CDMA branching tree.

Controllable Dynamic Multi-Task Architectures (Raychaudhuri et al., CVPR
2022) grow a tree out of an anchor net of ``N`` task streams: the net is cut
into node levels ``0..L`` (level 0 holds the stems, ``L`` is the number of
branching blocks) and every child node ``(l + 1, k)`` picks one parent node
``(l, i)`` with the edge marginal ``nu[l, k, i]`` (each row ``nu[l, k, :]``
a distribution). The nodes of the last level are all used (task ``k``'s
head reads node ``(L, k)``); a node ``(l, i)`` with ``l < L`` is used iff at
least one *used* child ``(l + 1, k)`` picks it.

:func:`node_usage_probability` is the one place where the probability of a
node being used is computed.

Why not the independence recursion
    ``P_use(l, i) = 1 - prod_k (1 - P_use(l + 1, k) * nu[l, k, i])`` treats
    the usage of the children of level ``l + 1`` as independent events. They
    are not (two children that share likely parents are used together), and
    the recursion is off by 0.05-0.16 against Monte-Carlo sampling on
    ordinary edge marginals. It is kept only as the fallback for nets with
    more than :data:`EXACT_MAX_TASKS` tasks, where the exact computation
    below (``O(L * 4 ** N)``) gets too expensive.

Exact computation (dynamic programming over the set of used nodes)
    Let ``pi_l(S)`` be the probability that the set of used nodes of level
    ``l`` is exactly ``S`` (a subset of ``{0..N-1}``). Then

    * ``pi_L`` is the point mass on the full set;
    * going down one level, the used nodes of level ``l`` are the image of
      the used children ``S`` under their (independent) parent choices, so
      ``g_l(U) = P(image ⊆ U) = sum_S pi_{l+1}(S) prod_{k in S} nu[l, k](U)``
      with ``nu[l, k](U) = sum_{i in U} nu[l, k, i]``;
    * ``pi_l`` is the Möbius inversion of ``g_l`` over the subset lattice,
      ``pi_l(T) = sum_{U ⊆ T} (-1) ** |T \\ U| * g_l(U)``;
    * node ``(l, i)`` is unused iff the image avoids ``i``:
      ``P_use(l, i) = 1 - g_l(full set minus {i})``.

    Subsets are bit masks (bit ``i`` set iff node ``i`` is in the set). The
    ``2^N x 2^N`` matrix ``M[S, U] = prod_{k in S} nu[l, k](U)`` is built by
    doubling over the bits of ``S`` (``g_l = pi_{l+1} @ M``) and the Möbius
    inversion runs bit by bit, all in float64 torch ops, so the result is
    differentiable w.r.t. ``nu``.
"""
import warnings

import torch
from torch import Tensor

#: Largest number of tasks for which the exact dynamic programme runs; above
#: it :func:`node_usage_probability` falls back to the independence recursion
#: (an approximation) and warns once per task count.
EXACT_MAX_TASKS = 10

#: Tolerance on ``|sum_i nu[l, k, i] - 1|``.
ROW_SUM_ATOL = 1e-4

_warned_task_counts = set()


def _validate_nu(nu: Tensor) -> None:
    if not isinstance(nu, Tensor):
        raise ValueError('node_usage_probability: nu must be a torch.Tensor '
                         f'of shape (L, N, N), got {type(nu).__name__}')
    if nu.dim() != 3 or nu.shape[1] != nu.shape[2] or nu.shape[1] < 1:
        raise ValueError('node_usage_probability: nu must have shape '
                         f'(L, N, N) with N >= 1, got {tuple(nu.shape)}')
    if not nu.is_floating_point():
        raise ValueError('node_usage_probability: nu must be a floating '
                         f'point tensor, got dtype {nu.dtype}')
    with torch.no_grad():
        values = nu.detach()
        bad = ~torch.isfinite(values) | (values < 0)
        if bad.any():
            level, child, parent = (int(v) for v in bad.nonzero()[0])
            raise ValueError(
                'node_usage_probability: nu must be finite and >= 0; '
                f'nu[{level}, {child}, {parent}] = '
                f'{values[level, child, parent].item()} (level {level}, '
                f'child {child})')
        sums = values.double().sum(dim=2)
        off = (sums - 1).abs() > ROW_SUM_ATOL
        if off.any():
            level, child = (int(v) for v in off.nonzero()[0])
            raise ValueError(
                'node_usage_probability: every row nu[l, k, :] must sum to '
                f'1 (within {ROW_SUM_ATOL}); nu[{level}, {child}, :] sums to '
                f'{sums[level, child].item():.6g} (level {level}, child '
                f'{child})')


def _subset_bits(num_tasks: int, dtype: torch.dtype,
                 device: torch.device) -> Tensor:
    """(2^N, N) 0/1 matrix: row ``s`` is the indicator of the subset with
    bit mask ``s``."""
    masks = torch.arange(2**num_tasks, device=device)
    shifts = torch.arange(num_tasks, device=device)
    return ((masks[:, None] >> shifts) & 1).to(dtype)


def _mobius_inversion(g: Tensor, num_tasks: int) -> Tensor:
    """Möbius inversion over the subset lattice, bit by bit: (2^N,) ->
    (2^N,), ``out[T] = sum_{U ⊆ T} (-1) ** |T \\ U| * g[U]``."""
    for bit in range(num_tasks):
        pairs = g.reshape(-1, 2, 2**bit)
        without, with_ = pairs[:, 0], pairs[:, 1]
        g = torch.stack((without, with_ - without), dim=1).reshape(-1)
    return g


def _exact_usage(nu: Tensor) -> Tensor:
    """The dynamic programme of the module docstring. nu: (L, N, N), float64;
    returns (L + 1, N), float64."""
    num_levels, num_tasks = nu.shape[0], nu.shape[1]
    full = 2**num_tasks - 1
    bits = _subset_bits(num_tasks, nu.dtype, nu.device)  # (2^N, N)
    # Indices of the subsets "full set minus {i}", i = 0..N-1.
    minus_one = torch.tensor([full ^ (1 << i) for i in range(num_tasks)],
                             device=nu.device)
    # pi_L: point mass on the full set.
    pi = torch.zeros(2**num_tasks, dtype=nu.dtype, device=nu.device)
    pi[full] = 1
    usage = [torch.ones(num_tasks, dtype=nu.dtype, device=nu.device)]
    for level in range(num_levels - 1, -1, -1):
        # cover[k, U] = nu[level, k](U) = sum_{i in U} nu[level, k, i].
        cover = nu[level] @ bits.t()  # (N, 2^N)
        # prods[S, U] = prod_{k in S} cover[k, U], doubling over bits of S.
        prods = torch.ones(1, 2**num_tasks, dtype=nu.dtype, device=nu.device)
        for k in range(num_tasks):
            prods = torch.cat((prods, prods * cover[k]), dim=0)
        g = pi @ prods  # (2^N,): P(used nodes of `level` ⊆ U)
        usage.append(1 - g[minus_one])
        if level > 0:
            pi = _mobius_inversion(g, num_tasks)
    return torch.stack(usage[::-1])


def _independence_usage(nu: Tensor) -> Tensor:
    """The independence recursion (an approximation, see the module
    docstring). nu: (L, N, N); returns (L + 1, N)."""
    num_levels, num_tasks = nu.shape[0], nu.shape[1]
    p_next = torch.ones(num_tasks, dtype=nu.dtype, device=nu.device)
    usage = [p_next]
    for level in range(num_levels - 1, -1, -1):
        # 1 - prod_k (1 - P_use(l + 1, k) * nu[l, k, i])
        p_next = 1 - torch.prod(1 - p_next[:, None] * nu[level], dim=0)
        usage.append(p_next)
    return torch.stack(usage[::-1])


def node_usage_probability(nu: Tensor) -> Tensor:
    """Probability that each node of the CDMA tree is used.

    Args:
        nu: (L, N, N) edge marginals; ``nu[l, k, i]`` is the probability that
            child node ``(l + 1, k)`` picks parent node ``(l, i)``; every row
            ``nu[l, k, :]`` is non-negative and sums to 1 (within
            ``ROW_SUM_ATOL``).

    Returns:
        (L + 1, N) tensor, same dtype and device as ``nu``: ``P_use[l, i]``,
        the probability that node ``(l, i)`` is used; row ``L`` is all ones.
        Exact (dynamic programme over subsets, see the module docstring) for
        ``N <= EXACT_MAX_TASKS``; above, the independence recursion, an
        approximation (a warning is issued once per ``N``). Differentiable
        w.r.t. ``nu``.

    Raises:
        ValueError: ``nu`` is not (L, N, N), has negative or non-finite
            entries, or a row that does not sum to 1.
    """
    _validate_nu(nu)
    num_tasks = nu.shape[1]
    if num_tasks > EXACT_MAX_TASKS:
        if num_tasks not in _warned_task_counts:
            _warned_task_counts.add(num_tasks)
            warnings.warn(
                f'node_usage_probability: N={num_tasks} tasks exceeds '
                f'EXACT_MAX_TASKS={EXACT_MAX_TASKS}; using the independence '
                'recursion, an approximation of the node-usage '
                'probabilities (it ignores the correlation between sibling '
                'children)', stacklevel=2)
        return _independence_usage(nu)
    return _exact_usage(nu.double()).to(nu.dtype)
