"""CDMA's task affinity by representational similarity analysis (RSA).

"Controllable Dynamic Multi-Task Architectures" (Raychaudhuri et al., CVPR
2022) derives the task affinity ``A(i, j)`` that guides its edge-dropping
(the anchor net's branching) from the anchor net of ``N`` frozen
single-task streams, by representational similarity analysis after Dwivedi
& Roig ("Representation Similarity Analysis for Efficient Task Taxonomy &
Transfer Learning", CVPR 2019):

1. ``K`` images go through every stream; at each block level ``l`` the
   features of stream ``t`` give a ``K x K`` representation dissimilarity
   matrix (RDM), ``1 - Pearson correlation`` of the flattened per-image
   feature vectors (:func:`representation_dissimilarity`);
2. two tasks are as far apart as their RDMs are dissimilar: ``D_l(i, j) =
   (1 - rho_ij) / 2`` with ``rho_ij`` the Spearman (rank) correlation of
   the upper triangles of the two RDMs, so ``D_l`` lies in ``[0, 1]``, is
   symmetric and ``D_l(i, i) = 0``;
3. ``A_l = 1 - D_l = (1 + rho) / 2`` and ``A`` is the mean of ``A_l`` over
   the levels (:func:`rsa_affinity`).

:class:`TaskAffinity` holds the result with where it came from, computes it
from a ``block_features`` function (:meth:`TaskAffinity.compute`) and
reads / writes it as JSON; :func:`plot_task_affinity` draws it.
"""
import json
import os
import os.path as osp
from typing import (Callable, Iterable, List, Optional, Sequence, Union)

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: spatial features are average-pooled to at most this many rows / columns
#: before they are stored (:meth:`TaskAffinity.compute`).
MAX_SPATIAL = 8

#: version of the JSON written by :meth:`TaskAffinity.save`.
FORMAT_VERSION = 1

_EPS = 1e-12


def representation_dissimilarity(features: Tensor) -> Tensor:
    """The representation dissimilarity matrix (RDM) of ``K`` images at one
    layer of one stream (RSA, Dwivedi & Roig, CVPR 2019; used for CDMA's
    task affinity, Raychaudhuri et al., CVPR 2022).

    Entry ``(a, b)`` is ``1 - r(x_a, x_b)``, ``r`` the Pearson correlation
    of the flattened feature vectors of images ``a`` and ``b``. A vector of
    zero variance (e.g. all-zero features after a ReLU) has no defined
    correlation: it counts as uncorrelated (``r = 0``, dissimilarity 1) with
    every other image. The diagonal is exactly 0 and the values lie in
    ``[0, 2]``.

    Args:
        features: ``(K, ...)`` features of ``K`` images (``K >= 1``; every
            image's features are flattened).

    Returns:
        ``(K, K)`` float32 tensor (on the device of ``features``).
    """
    if features.dim() < 1 or features.shape[0] < 1:
        raise ValueError('features must have shape (K, ...) with K >= 1, '
                         f'got {tuple(features.shape)}')
    x = features.detach().reshape(features.shape[0], -1).double()
    x = x - x.mean(dim=1, keepdim=True)
    norm = x.norm(dim=1, keepdim=True)
    scale = norm.max().clamp_min(1.0)
    # relative guard: a vector whose spread is only rounding noise of the
    # largest counts as constant
    valid = norm > _EPS * scale
    x = torch.where(valid, x / norm.clamp_min(_EPS), torch.zeros_like(x))
    corr = (x @ x.t()).clamp(-1.0, 1.0)
    rdm = 1.0 - corr
    rdm.fill_diagonal_(0.0)
    return rdm.float()


def _average_ranks(values: Tensor) -> Tensor:
    """Ranks (0-based) of the rows of ``values`` ``(R, M)`` along dim 1, ties
    given their average rank (as Spearman's correlation wants)."""
    order = values.argsort(dim=1, stable=True)
    sorted_vals = values.gather(1, order)
    ranks = torch.empty_like(values, dtype=torch.float64)
    for r in range(values.shape[0]):
        _, counts = torch.unique_consecutive(sorted_vals[r],
                                             return_counts=True)
        ends = counts.cumsum(0).double()  # 1-based rank of each group end
        mean_rank = ends - (counts.double() + 1.0) / 2.0
        ranks[r, order[r]] = mean_rank.repeat_interleave(counts)
    return ranks


def _spearman_matrix(vectors: Tensor) -> Tensor:
    """``(N, N)`` Spearman correlations of the rows of ``vectors``
    ``(N, M)``; a row of constant ranks correlates 0 with every other
    row."""
    ranks = _average_ranks(vectors.double())
    ranks = ranks - ranks.mean(dim=1, keepdim=True)
    norm = ranks.norm(dim=1, keepdim=True)
    valid = norm > _EPS * max(1.0, float(norm.max()))
    ranks = torch.where(valid, ranks / norm.clamp_min(_EPS),
                        torch.zeros_like(ranks))
    return (ranks @ ranks.t()).clamp(-1.0, 1.0)


def rsa_affinity(features: Sequence[Sequence[Tensor]]) -> Tensor:
    """CDMA's task affinity from the features of ``N`` single-task streams
    (Raychaudhuri et al., CVPR 2022; RSA after Dwivedi & Roig, CVPR 2019).

    At each level ``l`` the RDMs of all tasks
    (:func:`representation_dissimilarity`) form an ``N x K x K`` tensor;
    tasks ``i`` and ``j`` are ``D_l(i, j) = (1 - rho_ij) / 2`` apart,
    ``rho_ij`` the Spearman correlation of the upper triangles (without the
    diagonal) of their RDMs; ``A_l = 1 - D_l`` and the result is the mean of
    ``A_l`` over the levels.

    Why ``(1 + rho) / 2``: the paper's text says the rows of the distance
    matrix are normalised to ``[0, 1]``. A row-wise min-max normalisation
    would make the matrix asymmetric (each row its own scale) and would not
    keep ``D(i, i) = 0`` / ``A(i, i) = 1`` in general, so we map the range
    of the correlation, ``[-1, 1]``, affinely onto ``[0, 1]`` instead (our
    choice): identical (or monotonically related) RDMs give affinity 1,
    unrelated ones about 0.5, reversed ones 0. When a task's RDM is
    constant (e.g. a stream whose features do not vary over the images) its
    rank correlation is undefined and counts as 0 (affinity 0.5).

    Args:
        features: ``features[t][l]``: ``(K, C, H, W)`` (or ``(K, D)``, any
            ``(K, ...)``) features of stream / task ``t`` at block level
            ``l``, the same ``K >= 3`` images for every task and level.

    Returns:
        ``(N, N)`` float32 tensor on the CPU: symmetric, diagonal exactly 1,
        values in ``[0, 1]``.

    Raises:
        ValueError: no task, no level, tasks with different numbers of
            levels, different ``K`` across tasks / levels, ``K < 3``, or a
            tensor without an image dimension (the message names which).
    """
    if isinstance(features, Tensor) or len(features) == 0:
        raise ValueError('features must be a non-empty sequence (tasks) of '
                         'sequences (levels) of tensors')
    num_tasks = len(features)
    num_levels = len(features[0])
    if num_levels == 0:
        raise ValueError('task 0 has no feature levels')
    for t, levels in enumerate(features):
        if isinstance(levels, Tensor):
            raise ValueError(f'features[{t}] must be a sequence of levels, '
                             'got a tensor')
        if len(levels) != num_levels:
            raise ValueError(
                f'tasks have different numbers of levels: task {t} has '
                f'{len(levels)}, task 0 has {num_levels}')
    num_images = None
    for t, levels in enumerate(features):
        for lvl, feat in enumerate(levels):
            if not isinstance(feat, Tensor) or feat.dim() < 1:
                raise ValueError(
                    f'features[{t}][{lvl}] must be a (K, ...) tensor, got '
                    f'{type(feat).__name__}')
            if num_images is None:
                num_images = feat.shape[0]
            elif feat.shape[0] != num_images:
                raise ValueError(
                    f'the number of images K differs: features[{t}][{lvl}] '
                    f'has {feat.shape[0]}, features[0][0] has {num_images}')
    if num_images < 3:
        raise ValueError(f'RSA needs K >= 3 images, got K={num_images}')

    rows, cols = torch.triu_indices(num_images, num_images, offset=1)
    affinity = torch.zeros(num_tasks, num_tasks, dtype=torch.float64)
    for lvl in range(num_levels):
        rdms = torch.stack([
            representation_dissimilarity(features[t][lvl]).cpu()
            for t in range(num_tasks)
        ])  # (N, K, K)
        rho = _spearman_matrix(rdms[:, rows, cols])
        distance = (1.0 - rho) / 2.0
        affinity += 1.0 - distance
    affinity /= num_levels
    affinity = ((affinity + affinity.t()) / 2.0).clamp(0.0, 1.0)
    affinity.fill_diagonal_(1.0)
    return affinity.float()


def _check_matrix(matrix: Tensor, tasks: Sequence[str], where: str) -> None:
    num = len(tasks)
    if matrix.dim() != 2 or tuple(matrix.shape) != (num, num):
        raise ValueError(
            f'{where}: the affinity matrix has shape '
            f'{tuple(matrix.shape)}, expected ({num}, {num}) for the tasks '
            f'{list(tasks)}')
    if not torch.isfinite(matrix).all():
        raise ValueError(f'{where}: the affinity matrix has non-finite '
                         'values')


class TaskAffinity:
    """CDMA's task affinity matrix (Raychaudhuri et al., CVPR 2022) with
    where it came from.

    Attributes:
        matrix: ``(N, N)`` float tensor, ``matrix[i, j] = A(i, j)``.
        tasks: the ``N`` task names, in the matrix's order.
        num_images: ``K``, the images the RDMs were computed on.
        levels: the number of block levels averaged.
        key: a string identifying the source (e.g. the anchor checkpoint,
            ``K`` and the seed, :meth:`affinity_key` of the anchor); a cache
            is reused only under the same key.
    """

    def __init__(self, matrix, tasks: Sequence[str], num_images: int,
                 levels: int, key: str = ''):
        self.matrix = torch.as_tensor(matrix, dtype=torch.float32).cpu()
        self.tasks = [str(t) for t in tasks]
        self.num_images = int(num_images)
        self.levels = int(levels)
        self.key = str(key)
        _check_matrix(self.matrix, self.tasks, 'TaskAffinity')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tasks={self.tasks}, '
                f'num_images={self.num_images}, levels={self.levels}, '
                f'key={self.key!r})')

    def to_dict(self) -> dict:
        """The JSON content written by :meth:`save`."""
        return dict(format=FORMAT_VERSION, method='rsa', key=self.key,
                    tasks=list(self.tasks), num_images=self.num_images,
                    levels=self.levels,
                    matrix=[[float(v) for v in row]
                            for row in self.matrix.tolist()])

    def format_table(self, digits: int = 3) -> str:
        """The matrix as a text table with the task names (for logs)."""
        width = max([len(t) for t in self.tasks] + [digits + 3])
        lines = [' ' * width + ' ' +
                 ' '.join(t.rjust(width) for t in self.tasks)]
        for name, row in zip(self.tasks, self.matrix.tolist()):
            lines.append(name.rjust(width) + ' ' + ' '.join(
                f'{v:.{digits}f}'.rjust(width) for v in row))
        return '\n'.join(lines)

    def save(self, path: str) -> str:
        """Write the affinity to the JSON file ``path`` (folders are
        created; written to a temporary file first and moved into place, so
        a reader never sees half a file); returns ``path``."""
        path = str(path)
        if osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(self.to_dict(), f, indent=2, allow_nan=False)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str) -> 'TaskAffinity':
        """Read a file written by :meth:`save`.

        Raises:
            FileNotFoundError: the file does not exist (named).
            ValueError: the file is not readable JSON, lacks a field, or
                its matrix is not ``N x N`` for its ``N`` tasks (the file is
                named).
        """
        path = str(path)
        what = f'task affinity file {path}'
        try:
            with open(path) as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f'{what} does not exist') from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f'{what} is not valid JSON: {err}') from None
        except OSError as err:
            raise ValueError(f'{what} cannot be read: {err}') from None
        if not isinstance(data, dict):
            raise ValueError(f'{what} does not hold a JSON object')
        missing = [k for k in ('matrix', 'tasks', 'num_images', 'levels')
                   if k not in data]
        if missing:
            raise ValueError(f'{what} lacks {", ".join(missing)}')
        tasks = data['tasks']
        if not isinstance(tasks, list) or not all(
                isinstance(t, str) for t in tasks):
            raise ValueError(f'{what}: "tasks" must be a list of names')
        try:
            matrix = torch.tensor(data['matrix'], dtype=torch.float32)
            num_images = int(data['num_images'])
            levels = int(data['levels'])
        except (TypeError, ValueError) as err:
            raise ValueError(f'{what} has a malformed field: {err}') from None
        _check_matrix(matrix, tasks, what)
        return cls(matrix, tasks, num_images, levels,
                   key=data.get('key') or '')

    @classmethod
    def compute(cls,
                block_features_fn: Callable[[Tensor], List[List[Tensor]]],
                images: Union[Tensor, Iterable[Tensor]],
                tasks: Sequence[str],
                key: str = '',
                batch_size: int = 8,
                max_spatial: Optional[int] = MAX_SPATIAL) -> 'TaskAffinity':
        """RSA task affinity (:func:`rsa_affinity`) of the streams behind
        ``block_features_fn`` on ``images`` (CDMA, Raychaudhuri et al.,
        CVPR 2022).

        ``block_features_fn(batch)`` returns ``features[task][level]``, a
        ``(B, C, H, W)`` (or ``(B, D)``) tensor per task and level. The
        features of all batches are moved to the CPU and concatenated. To
        bound the memory (``K`` images x every level x every task), maps
        larger than ``max_spatial`` in height or width are first
        average-pooled (``adaptive_avg_pool2d``) to at most ``max_spatial x
        max_spatial``: the RDM then compares coarse spatial layouts, which
        is what the paper's RSA on pooled block outputs needs, not
        pixel-exact maps. Runs under ``torch.no_grad()``; putting the
        streams in eval mode is the caller's business.

        Args:
            block_features_fn: the anchor's ``block_features``.
            images: ``(K, 3, H, W)`` preprocessed images (cut into batches
                of ``batch_size``), or an iterable of such batches.
            tasks: the task names, in the order of the features.
            key: stored as :attr:`key`.
            batch_size: batch size when ``images`` is one tensor.
            max_spatial: pooling bound; None keeps full resolution.

        Raises:
            ValueError: no image, or the features do not match ``tasks`` /
                change their number of levels between batches; the errors
                of :func:`rsa_affinity`.
        """
        if isinstance(images, Tensor):
            batches = images.split(max(1, int(batch_size)))
        else:
            batches = images
        tasks = [str(t) for t in tasks]
        collected = None
        with torch.no_grad():
            for b, batch in enumerate(batches):
                feats = block_features_fn(batch)
                if len(feats) != len(tasks):
                    raise ValueError(
                        f'block_features gave {len(feats)} task streams for '
                        f'{len(tasks)} tasks {tasks}')
                if collected is None:
                    collected = [[[] for _ in levels] for levels in feats]
                for t, levels in enumerate(feats):
                    if len(levels) != len(collected[t]):
                        raise ValueError(
                            f'block_features gave {len(levels)} levels for '
                            f'task {tasks[t]!r} in batch {b}, '
                            f'{len(collected[t])} before')
                    for lvl, feat in enumerate(levels):
                        feat = feat.detach()
                        if (max_spatial is not None and feat.dim() == 4
                                and max(feat.shape[-2:]) > max_spatial):
                            feat = F.adaptive_avg_pool2d(
                                feat, (min(feat.shape[-2], max_spatial),
                                       min(feat.shape[-1], max_spatial)))
                        collected[t][lvl].append(feat.float().cpu())
        if collected is None:
            raise ValueError('no images to compute the task affinity on')
        features = [[torch.cat(chunks) for chunks in levels]
                    for levels in collected]
        matrix = rsa_affinity(features)
        return cls(matrix, tasks, num_images=features[0][0].shape[0],
                   levels=len(features[0]), key=key)


def plot_task_affinity(affinity: TaskAffinity, out_file: str) -> str:
    """Heat map of a :class:`TaskAffinity` (CDMA, Raychaudhuri et al., CVPR
    2022): the task names on both axes, each cell labelled with its value,
    a colour bar over ``[0, 1]``, the title naming ``K`` and the number of
    levels. Drawn on matplotlib's Agg canvas (no display needed).

    Returns:
        ``out_file`` (a PNG; folders are created).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = affinity.matrix.double().numpy()
    tasks = affinity.tasks
    size = max(3.5, 0.7 * len(tasks) + 2.0)
    fig = Figure(figsize=(size + 1.0, size), dpi=120, layout='constrained')
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(grid, cmap='viridis', vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha='right')
    ax.set_yticks(range(len(tasks)), tasks)
    for (row, col), value in np.ndenumerate(grid):
        ax.text(col, row, f'{value:.2f}', ha='center', va='center',
                fontsize=8, color='black' if value > 0.6 else 'white')
    fig.colorbar(image, ax=ax, shrink=0.8, label='affinity A(i, j)')
    plural = '' if affinity.levels == 1 else 's'
    ax.set_title(f'RSA task affinity (K={affinity.num_images} images, '
                 f'{affinity.levels} level{plural})', fontsize=10)
    out_file = str(out_file)
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, format='png')
    return out_file


__all__ = ['representation_dissimilarity', 'rsa_affinity', 'TaskAffinity',
           'plot_task_affinity']
