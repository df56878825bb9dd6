"""Compute (or load) CDMA's RSA task affinity from the anchor net before
training and hand it to the model."""
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmecmt.registry import HOOKS

#: images per forward pass through the anchor.
BATCH_SIZE = 8


@HOOKS.register_module()
class TaskAffinityHook(Hook):
    """Before training, give the model CDMA's task affinity ``A(i, j)``
    ("Controllable Dynamic Multi-Task Architectures", Raychaudhuri et al.,
    CVPR 2022): representational similarity analysis (RSA, after Dwivedi &
    Roig, CVPR 2019) of the model's anchor net of frozen single-task
    streams (:meth:`~mmecmt.models.controllers.TaskAffinity.compute`).

    The model (without its DDP wrapper) must have

    - ``anchor``: with ``block_features(inputs) -> features[task][level]``
      (``(B, C, H, W)`` tensors), ``tasks`` (the names, in that order) and
      ``affinity_key(num_images, seed) -> str`` identifying the anchor's
      weights and the sampling;
    - ``data_preprocessor``, which turns ``dict(inputs=[...],
      data_samples=[...])`` into the batch the anchor takes;
    - ``set_task_affinity(matrix)``, given the ``(N, N)`` tensor.

    When ``cache_file`` holds an affinity of the same key (and tasks) it is
    loaded; otherwise ``num_images`` images of the training set (indices
    from a ``numpy.random.default_rng(seed)`` permutation; the training
    pipeline's augmentation drawn under the same fixed seed, the global
    generators restored afterwards) go through the anchor in eval mode
    under ``torch.no_grad()``, in batches of 8, and the result is saved
    there (by the main process), with a heat map ``task_affinity.png`` next
    to it when ``plot`` is set. The matrix is logged either way.

    Args:
        num_images: ``K``, the images of the RDMs (>= 3).
        cache_file: the JSON cache; default ``<work_dir>/task_affinity.json``
            (a relative path is taken relative to the work dir).
        seed: the seed of the image choice and their augmentation.
        plot: write the heat map when computing.
    """

    #: before the NORMAL hooks' ``before_train``, so they see the model
    #: with its affinity (override with ``priority=`` in the config).
    priority = 'HIGH'

    def __init__(self, num_images: int = 64, cache_file: Optional[str] = None,
                 seed: int = 0, plot: bool = True):
        if int(num_images) < 3:
            raise ValueError(f'num_images must be >= 3 (RSA), got '
                             f'{num_images}')
        self.num_images = int(num_images)
        self.cache_file = cache_file
        self.seed = int(seed)
        self.plot = bool(plot)

    def cache_path(self, runner) -> str:
        """The cache file of ``runner``."""
        if self.cache_file is None:
            return osp.join(runner.work_dir, 'task_affinity.json')
        return osp.join(runner.work_dir, self.cache_file)  # abs stays abs

    @staticmethod
    def _model(runner):
        model = runner.model
        model = getattr(model, 'module', model)
        anchor = getattr(model, 'anchor', None)
        if anchor is None:
            raise AttributeError(
                f'TaskAffinityHook needs a model with an `anchor` (the '
                f'frozen single-task streams); {type(model).__name__} has '
                'none')
        for name in ('block_features', 'affinity_key'):
            if not callable(getattr(anchor, name, None)):
                raise AttributeError(
                    f'TaskAffinityHook: the anchor {type(anchor).__name__} '
                    f'has no `{name}` method')
        if not hasattr(anchor, 'tasks'):
            raise AttributeError(
                f'TaskAffinityHook: the anchor {type(anchor).__name__} has '
                'no `tasks`')
        if not callable(getattr(model, 'set_task_affinity', None)):
            raise AttributeError(
                f'TaskAffinityHook needs a model with `set_task_affinity`; '
                f'{type(model).__name__} has none')
        return model, anchor

    def _load_cached(self, runner, path: str, key: str, tasks: List[str]):
        from mmecmt.models.controllers import TaskAffinity
        if not osp.isfile(path):
            return None
        try:
            affinity = TaskAffinity.load(path)
        except ValueError as err:
            runner.logger.warning(f'TaskAffinityHook: ignoring the cache: '
                                  f'{err}')
            return None
        if affinity.key != key or affinity.tasks != tasks:
            runner.logger.info(
                f'TaskAffinityHook: the cache {path} is of another anchor / '
                f'sampling (key {affinity.key!r}, tasks {affinity.tasks}); '
                f'computing it for key {key!r}')
            return None
        return affinity

    def _batches(self, runner, model):
        """Preprocessed batches of the chosen training images."""
        from mmecmt.models.slimmable.bn_calibration import fixed_rng
        dataset = runner.train_dataloader.dataset
        total = len(dataset)
        count = min(self.num_images, total)
        if count < self.num_images:
            runner.logger.warning(
                f'TaskAffinityHook: the training set has only {total} '
                f'images; the affinity uses {count} instead of '
                f'{self.num_images}')
        indices = np.random.default_rng(self.seed).permutation(total)[:count]
        for start in range(0, count, BATCH_SIZE):
            with fixed_rng(self.seed + start):
                items = [dataset[int(i)]
                         for i in indices[start:start + BATCH_SIZE]]
            data = dict(inputs=[item['inputs'] for item in items],
                        data_samples=[item['data_samples'] for item in items])
            yield model.data_preprocessor(data, False)['inputs']

    def _compute(self, runner, model, anchor, key: str, tasks: List[str]):
        from mmecmt.models.controllers import TaskAffinity
        was_training = getattr(anchor, 'training', None)
        if callable(getattr(anchor, 'eval', None)):
            anchor.eval()
        try:
            with torch.no_grad():
                return TaskAffinity.compute(anchor.block_features,
                                            self._batches(runner, model),
                                            tasks, key=key)
        finally:
            if was_training and callable(getattr(anchor, 'train', None)):
                anchor.train(True)

    def before_train(self, runner) -> None:
        from mmecmt.models.controllers import plot_task_affinity
        model, anchor = self._model(runner)
        tasks = [str(t) for t in anchor.tasks]
        key = str(anchor.affinity_key(self.num_images, self.seed))
        path = self.cache_path(runner)
        affinity = self._load_cached(runner, path, key, tasks)
        if affinity is not None:
            source = f'loaded from {path}'
        else:
            affinity = self._compute(runner, model, anchor, key, tasks)
            source = (f'computed by RSA on {affinity.num_images} images, '
                      f'{affinity.levels} levels')
            if is_main_process():
                affinity.save(path)
                source += f', saved to {path}'
                if self.plot:
                    png = osp.join(osp.dirname(path) or '.',
                                   'task_affinity.png')
                    try:
                        plot_task_affinity(affinity, png)
                        source += f' (heat map {png})'
                    except Exception as err:  # a plot must not stop training
                        runner.logger.warning(
                            f'TaskAffinityHook: no heat map: {err}')
        runner.logger.info(f'Task affinity ({source}):\n'
                           f'{affinity.format_table()}')
        model.set_task_affinity(affinity.matrix.clone())
