"""Summable sufficient statistics: the common shape of every metric family.

Every metric here is a function of statistics that *add up* over pixels,
images, batches and ranks (confusion matrices, sums, counts, histograms).
A family module therefore offers three things:

* ``<family>_statistics(pred, gt, ...) -> Dict[str, np.ndarray]``: the
  statistics of one sample (pure, small);
* ``<family>_scores(stats) -> Dict[str, float]``: the metric values from the
  (summed) statistics of a whole set (pure);
* an :class:`Accumulator` subclass that sums statistics (``update`` from
  maps, ``add`` from precomputed statistics, ``merge`` of two accumulators,
  e.g. from two ranks) and ``compute``\\ s the scores.

Because the statistics of the whole set are a plain sum, a set-level metric
is identical whether it is accumulated over one batch, several batches or
several ranks, and is *not* a mean of per-image values.
"""
from typing import Dict, Mapping, Optional

import numpy as np

Statistics = Dict[str, np.ndarray]


def to_numpy(x) -> np.ndarray:
    """Convert a torch tensor (any device) or array-like to a numpy array."""
    if hasattr(x, 'detach'):  # torch.Tensor, without importing torch here
        x = x.detach()
        if hasattr(x, 'cpu'):
            x = x.cpu()
        return x.numpy()
    return np.asarray(x)


def check_same_shape(pred: np.ndarray, gt: np.ndarray, what: str) -> None:
    """Raise a ValueError naming ``what`` when two maps differ in shape."""
    if pred.shape != gt.shape:
        raise ValueError(
            f'{what}: prediction shape {pred.shape} differs from ground-truth '
            f'shape {gt.shape}; they must be equal')


class Accumulator:
    """Sum of the per-sample statistics of one metric family.

    Subclasses implement :meth:`statistics` (one sample) and :meth:`scores`
    (from the summed statistics); they may override :meth:`_expand` to turn a
    compact per-sample form (e.g. a sparse histogram) into the summable one.
    """

    def __init__(self) -> None:
        self.stats: Optional[Statistics] = None
        self.num_samples = 0

    # -- to implement -----------------------------------------------------
    def statistics(self, pred, gt) -> Statistics:
        """Statistics of one sample."""
        raise NotImplementedError

    def scores(self, stats: Statistics) -> Dict[str, float]:
        """Metric values from summed statistics."""
        raise NotImplementedError

    def _expand(self, stats: Mapping[str, np.ndarray]) -> Statistics:
        """Turn per-sample statistics into their summable (dense) form."""
        return {k: np.asarray(v) for k, v in stats.items()}

    # -- accumulation -----------------------------------------------------
    @property
    def empty(self) -> bool:
        return self.stats is None

    def update(self, pred, gt) -> 'Accumulator':
        """Add one sample given its prediction and ground truth."""
        return self.add(self.statistics(pred, gt))

    def add(self,
            stats: Mapping[str, np.ndarray],
            num_samples: int = 1) -> 'Accumulator':
        """Add precomputed statistics (of ``num_samples`` samples)."""
        dense = self._expand(stats)
        if self.stats is None:
            self.stats = {k: np.array(v, copy=True) for k, v in dense.items()}
        else:
            if set(dense) != set(self.stats):
                raise KeyError(
                    f'{type(self).__name__}: statistics keys {sorted(dense)} '
                    f'differ from the accumulated keys {sorted(self.stats)}')
            for key, value in dense.items():
                if np.shape(value) != self.stats[key].shape:
                    raise ValueError(
                        f'{type(self).__name__}: statistics {key!r} has shape '
                        f'{np.shape(value)}, accumulated shape is '
                        f'{self.stats[key].shape}')
                self.stats[key] = self.stats[key] + value
        self.num_samples += num_samples
        return self

    def merge(self, other: 'Accumulator') -> 'Accumulator':
        """Add another accumulator's sums (e.g. another batch or rank)."""
        if other.stats is not None:
            self.add(other.stats, num_samples=other.num_samples)
        return self

    def compute(self) -> Dict[str, float]:
        """Metric values of everything accumulated so far."""
        if self.stats is None:
            raise ValueError(
                f'{type(self).__name__}: nothing accumulated; call update() '
                'or add() with at least one sample first')
        return self.scores(self.stats)


def safe_ratio(num, den):
    """``num / den`` elementwise, 0 where ``den == 0`` (float64 arrays)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out
