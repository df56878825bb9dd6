"""Accuracy predictor: the score of each task from a subnet's widths.

Evaluating a subnet for real (BN recalibration + a pass over the validation
set) takes minutes; the evolution search needs thousands of evaluations. As in
Once-for-All, a few hundred random subnets are evaluated for real and a small
regressor learns ``subnet encoding -> task score`` for every task; the search
then asks the regressor.

Features: :meth:`SearchSpace.encode` order, i.e. one width ratio per encoder
stage, then one per task decoder: ``X`` of shape ``(N, D)``, standardised
with the training set's mean / std.

Kinds:

* ``'ridge'``: closed-form ridge regression (numpy) on degree-2 polynomial
  features of the standardised widths (the ``D`` linear terms and the
  ``D (D + 1) / 2`` products ``x_i x_j``, ``i <= j``), themselves standardised;
  the intercept is not penalised; ``alpha`` is the L2 weight (sum-of-squares
  convention, as scikit-learn's ``Ridge``). ``alpha='auto'`` (ours) picks,
  per task, the degree (1: the linear terms alone, 2: with the products)
  and the weight of :data:`RIDGE_ALPHA_GRID` with the lowest leave-one-out
  error (closed form from one SVD: residual ``e_i / (1 - H_ii)``): what a
  large search space needs, where the products outnumber the evaluated
  subnets and an equally penalised degree-2 fit generalises poorly.
* ``'mlp'``: a small MLP (``hidden`` ReLU layers) trained with full-batch
  Adam in float64 for ``epochs`` steps, ``alpha`` as weight decay, targets
  standardised per task, initialisation seeded by ``seed``. Prediction runs
  in numpy on the trained weights.

Scores are higher-is-better: the caller flips lower-is-better metrics (e.g.
depth RMSE) before fitting.

A fitted predictor is saved as an ``.npz`` file (:meth:`save`) holding the
weights and a JSON header with a fingerprint of the search space and a
user-given ``key`` (e.g. the supernet checkpoint's sha256). :meth:`load`
refuses a file made for another search space or another key.
"""
import hashlib
import json
import math
import os
import os.path as osp
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .space import SearchSpace, SubnetSpec, match_choices

PREDICTOR_KINDS = ('ridge', 'mlp')
#: the ridge weights ``alpha='auto'`` chooses from (10^-4 ... 10^4).
RIDGE_ALPHA_GRID = tuple(float(10.0**e) for e in np.arange(-4.0, 4.25, 0.5))
#: version of the saved file layout.
PREDICTOR_FORMAT_VERSION = 1

SpecLike = Union[SubnetSpec, Mapping]


def search_space_fingerprint(search_space: SearchSpace) -> str:
    """sha256 of the search space's entries, their order and their choices
    (the order fixes the feature layout of :meth:`SearchSpace.encode`)."""
    data = dict(encoder=[[k, list(v)] for k, v in
                         search_space.encoder.items()],
                decoders=[[k, list(v)] for k, v in
                          search_space.decoders.items()])
    text = json.dumps(data, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()


class AccuracyPredictor:
    """Per-task score regressors over subnet encodings.

    Args:
        search_space: the space the subnets come from.
        tasks: the tasks to predict (one regressor output each).
        kind: ``'ridge'`` or ``'mlp'`` (see the module docstring).
        alpha: ridge L2 weight / MLP weight decay (>= 0); for the ridge
            also ``'auto'`` (leave-one-out choice per task, see above).
        hidden: MLP hidden layer widths.
        seed: MLP initialisation seed.
        epochs: MLP full-batch Adam steps.
        lr: MLP Adam learning rate.
    """

    def __init__(self, search_space: SearchSpace, tasks: Sequence[str],
                 kind: str = 'ridge', alpha: Union[float, str] = 1e-3,
                 hidden: Sequence[int] = (64, 64), seed: int = 0,
                 epochs: int = 2000, lr: float = 1e-2):
        if not isinstance(search_space, SearchSpace):
            raise TypeError('AccuracyPredictor needs a SearchSpace, got '
                            f'{type(search_space).__name__}')
        tasks = [str(t) for t in tasks]
        if not tasks or len(set(tasks)) != len(tasks):
            raise ValueError(f'tasks must be non-empty and unique, got '
                             f'{tasks}')
        if kind not in PREDICTOR_KINDS:
            raise ValueError(
                f'unknown predictor kind {kind!r}; valid: {PREDICTOR_KINDS}')
        if alpha == 'auto':
            if kind != 'ridge':
                raise ValueError("alpha='auto' is for the ridge predictor; "
                                 f'give the {kind} predictor a number')
        elif (isinstance(alpha, (str, bool)) or
              not (math.isfinite(alpha) and alpha >= 0)):
            raise ValueError(f"alpha must be a finite number >= 0 or 'auto', "
                             f'got {alpha!r}')
        hidden = tuple(int(h) for h in hidden)
        if kind == 'mlp' and (not hidden or min(hidden) < 1):
            raise ValueError(f'hidden must be a non-empty list of widths '
                             f'>= 1, got {hidden}')
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f'epochs must be an integer >= 1, got '
                             f'{epochs!r}')
        if not lr > 0:
            raise ValueError(f'lr must be > 0, got {lr!r}')
        self.search_space = search_space
        self.tasks = tasks
        self.kind = kind
        self.alpha = alpha if alpha == 'auto' else float(alpha)
        self.hidden = hidden
        self.seed = int(seed)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.fingerprint = search_space_fingerprint(search_space)
        self._names = search_space.entry_names()
        self._column_choices = [c for _, _, c in search_space.entries()]
        self.params: Optional[Dict[str, np.ndarray]] = None
        self._quadratic = None  # ridge weights folded for predict()
        #: ``{task: (min, max)}`` of the training scores (fitness scaling).
        self.score_range: Dict[str, tuple] = {}
        self.num_train = 0

    # ------------------------------------------------------------------
    # features
    # ------------------------------------------------------------------
    @property
    def num_features(self) -> int:
        """D: one per encoder stage and per task decoder."""
        return len(self._names)

    @property
    def is_fitted(self) -> bool:
        return self.params is not None

    def encode(self, specs: Sequence[SpecLike]) -> np.ndarray:
        """Encode and validate ``specs``: ``(N, D)`` float64 width ratios in
        :meth:`SearchSpace.encode` order (vectorised; a bad spec raises the
        search space's ValueError naming the entry)."""
        specs = [s if isinstance(s, SubnetSpec) else SubnetSpec.from_dict(s)
                 for s in specs]
        space = self.search_space
        n_enc, n_dec = len(space.encoder), len(space.decoders)
        if not all(len(s.encoder) == n_enc and len(s.decoders) == n_dec
                   for s in specs):
            for spec in specs:
                space.validate(spec)  # raises, naming the bad entries
        enc_keys, dec_keys = tuple(space.encoder), tuple(space.decoders)
        try:
            rows = [[*map(s.encoder.__getitem__, enc_keys),
                     *map(s.decoders.__getitem__, dec_keys)] for s in specs]
        except KeyError:
            for spec in specs:
                space.validate(spec)
            raise
        x = np.asarray(rows, dtype=np.float64).reshape(len(rows),
                                                       self.num_features)
        for col, choices in enumerate(self._column_choices):
            invalid = match_choices(choices, x[:, col]) < 0  # NaN too
            if invalid.any():
                row = int(np.flatnonzero(invalid)[0])
                space.validate(specs[row])
                raise ValueError(f'subnet {row}: {self._names[col]} = '
                                 f'{x[row, col]} is not a valid width')
        return x

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.params['x_mean']) / self.params['x_std']

    @staticmethod
    def _poly2(z: np.ndarray) -> np.ndarray:
        """``(N, D)`` -> ``(N, D + D (D + 1) / 2)``: z and z_i z_j, i <= j."""
        i, j = np.triu_indices(z.shape[1])
        return np.concatenate([z, z[:, i] * z[:, j]], axis=1)

    @staticmethod
    def _mean_std(x: np.ndarray):
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std[std < 1e-12] = 1.0  # a constant column stays 0 after centring
        return mean, std

    # ------------------------------------------------------------------
    # fit / predict
    # ------------------------------------------------------------------
    def _check_scores(self, scores: Mapping[str, Sequence[float]],
                      num: int) -> np.ndarray:
        """``{task: (N,)}`` -> ``(N, T)`` in ``self.tasks`` order."""
        if not isinstance(scores, Mapping):
            raise TypeError('scores must be {task: array of shape (N,)}, got '
                            f'{type(scores).__name__}')
        missing = [t for t in self.tasks if t not in scores]
        unknown = [t for t in scores if t not in self.tasks]
        if missing or unknown:
            raise ValueError(f'scores: missing tasks {missing}, unknown tasks '
                             f'{unknown}; expected exactly {self.tasks}')
        columns = []
        for task in self.tasks:
            y = np.asarray(scores[task], dtype=np.float64)
            if y.shape != (num, ):
                raise ValueError(f'scores[{task!r}] has shape {y.shape}; '
                                 f'expected ({num},), one per subnet')
            if not np.isfinite(y).all():
                raise ValueError(f'scores[{task!r}] holds non-finite values '
                                 f'at {np.flatnonzero(~np.isfinite(y))[:5]}')
            columns.append(y)
        return np.stack(columns, axis=1)

    def fit(self, specs: Sequence[SpecLike],
            scores: Mapping[str, Sequence[float]]) -> 'AccuracyPredictor':
        """Fit every task's regressor.

        Args:
            specs: N evaluated subnets (N >= 2).
            scores: ``{task: (N,) higher-is-better scores}``.
        """
        x = self.encode(specs)
        if len(x) < 2:
            raise ValueError(f'need at least 2 evaluated subnets to fit, got '
                             f'{len(x)}')
        y = self._check_scores(scores, len(x))
        x_mean, x_std = self._mean_std(x)
        self._quadratic = None
        self.params = dict(x_mean=x_mean, x_std=x_std,
                           y_mean=y.mean(axis=0))
        z = self._standardise(x)
        if self.kind == 'ridge':
            self._fit_ridge(z, y)
        else:
            self._fit_mlp(z, y)
        self.score_range = {t: (float(y[:, i].min()), float(y[:, i].max()))
                            for i, t in enumerate(self.tasks)}
        self.num_train = len(x)
        return self

    def _fit_ridge(self, z: np.ndarray, y: np.ndarray) -> None:
        phi = self._poly2(z)
        p_mean, p_std = self._mean_std(phi)
        phi = (phi - p_mean) / p_std
        if self.alpha == 'auto':
            weight, alphas, degrees = self._ridge_loo(
                phi, y - self.params['y_mean'], z.shape[1])
            self.params.update(p_mean=p_mean, p_std=p_std, weight=weight,
                               alpha_per_task=alphas,
                               degree_per_task=degrees)
            return
        # min ||phi w - (y - mean y)||^2 + alpha ||w||^2 as one least-squares
        # problem on the augmented system (stable when alpha is tiny)
        num_poly = phi.shape[1]
        a = np.concatenate([phi, math.sqrt(self.alpha) * np.eye(num_poly)])
        b = np.concatenate([y - self.params['y_mean'],
                            np.zeros((num_poly, y.shape[1]))])
        weight = np.linalg.lstsq(a, b, rcond=None)[0]
        self.params.update(p_mean=p_mean, p_std=p_std, weight=weight)

    @staticmethod
    def ridge_loo_errors(phi: np.ndarray, y: np.ndarray,
                         alphas: Sequence[float]):
        """Leave-one-out errors of ridge fits with an unpenalised intercept.

        Args:
            phi: ``(N, P)`` features with zero-mean columns.
            y: ``(N, T)`` centred targets.
            alphas: the L2 weights to try.

        Returns:
            ``[(alpha, errors (T,), weights (P, T)), ...]``: the mean
            squared LOO residual of every task and the weights fitted on
            all ``N``, per alpha. With ``phi = U S V^T`` (the components
            with ``s > 0``), the hat matrix is ``1/N + U diag(s^2 / (s^2 +
            alpha)) U^T`` (the ``1/N``: the intercept) and the LOO residual
            ``e_i / (1 - H_ii)``.
        """
        u, sv, vt = np.linalg.svd(phi, full_matrices=False)
        keep = sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)
        u, sv, vt = u[:, keep], sv[keep], vt[keep]
        uty = u.T @ y  # (K, T)
        results = []
        for alpha in alphas:
            shrink = sv**2 / (sv**2 + alpha)  # (K,)
            fitted = u @ (shrink[:, None] * uty)
            leverage = 1.0 / len(phi) + (u**2) @ shrink  # (N,) diag of H
            loo = (y - fitted) / np.maximum(1.0 - leverage, 1e-12)[:, None]
            weight = vt.T @ ((sv / (sv**2 + alpha))[:, None] * uty)
            results.append((float(alpha), (loo**2).mean(axis=0), weight))
        return results

    @classmethod
    def _ridge_loo(cls, phi: np.ndarray, y: np.ndarray, num_linear: int):
        """Every task's ridge weights ``(P, T)`` for the (degree, weight)
        with the lowest leave-one-out error (:meth:`ridge_loo_errors`):
        degree 1 (the first ``num_linear`` columns of ``phi``, the products'
        weights 0) or 2 (all columns), times :data:`RIDGE_ALPHA_GRID`.

        Returns:
            weights (P, T), alphas (T,), degrees (T,).
        """
        num_tasks = y.shape[1]
        best_err = np.full(num_tasks, np.inf)
        best = np.zeros((phi.shape[1], num_tasks))
        alphas, degrees = np.zeros(num_tasks), np.zeros(num_tasks, dtype=int)
        for degree, cols in ((1, num_linear), (2, phi.shape[1])):
            for alpha, err, weight in cls.ridge_loo_errors(
                    phi[:, :cols], y, RIDGE_ALPHA_GRID):
                better = err < best_err
                best[:, better] = 0.0
                best[:cols, better] = weight[:, better]
                best_err[better] = err[better]
                alphas[better] = alpha
                degrees[better] = degree
        return best, alphas, degrees

    def _fit_mlp(self, z: np.ndarray, y: np.ndarray) -> None:
        import torch
        from torch import nn
        y_std = y.std(axis=0)
        y_std[y_std < 1e-12] = 1.0
        target = (y - self.params['y_mean']) / y_std
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            layers = []
            width = z.shape[1]
            for h in self.hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            layers.append(nn.Linear(width, y.shape[1]))
            net = nn.Sequential(*layers).double()
        inputs = torch.from_numpy(z)
        target = torch.from_numpy(target)
        optim = torch.optim.Adam(net.parameters(), lr=self.lr,
                                 weight_decay=self.alpha)
        # one thread: for a net this small, more threads only add overhead
        # (and contend with other processes); restored afterwards
        num_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(self.epochs):
                optim.zero_grad()
                loss = ((net(inputs) - target)**2).mean()
                loss.backward()
                optim.step()
        finally:
            torch.set_num_threads(num_threads)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        self.params['y_std'] = y_std
        for i, m in enumerate(linears):
            self.params[f'w{i}'] = m.weight.detach().numpy().T.copy()
            self.params[f'b{i}'] = m.bias.detach().numpy().copy()

    def _quadratic_form(self):
        """The ridge model as ``z @ linear + z^T Q_t z + const`` (the
        polynomial features' standardisation folded into the weights):
        ``linear`` (D, T), ``Q`` as a (D, T * D) matrix, ``const`` (T,)."""
        p = self.params
        num_features, num_tasks = self.num_features, len(self.tasks)
        weight = p['weight'] / p['p_std'][:, None]  # (P, T)
        const = p['y_mean'] - (p['p_mean'] / p['p_std']) @ p['weight']
        quadratic = np.zeros((num_features, num_tasks, num_features))
        for k, (i, j) in enumerate(zip(*np.triu_indices(num_features))):
            quadratic[i, :, j] += weight[num_features + k]
        return (weight[:num_features],
                quadratic.reshape(num_features, num_tasks * num_features),
                const)

    def _require_fitted(self) -> None:
        if self.params is None:
            raise RuntimeError('the accuracy predictor is not fitted: call '
                               'fit() or load() first')

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        """Scores ``(N, T)`` (``self.tasks`` order) of encoded subnets
        ``x`` of shape ``(N, D)``."""
        self._require_fitted()
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f'features have shape {x.shape}; expected '
                             f'(N, {self.num_features})')
        z = self._standardise(x)
        p = self.params
        if self.kind == 'ridge':
            if self._quadratic is None:
                self._quadratic = self._quadratic_form()
            linear, quadratic, const = self._quadratic
            zq = (z @ quadratic).reshape(len(z), len(self.tasks),
                                         self.num_features)
            return z @ linear + np.einsum('ntd,nd->nt', zq, z) + const
        h = z
        num_layers = len(self.hidden) + 1
        for i in range(num_layers):
            h = h @ p[f'w{i}'] + p[f'b{i}']
            if i < num_layers - 1:
                h = np.maximum(h, 0.0)
        return h * p['y_std'] + p['y_mean']

    def predict(self, specs: Sequence[SpecLike]) -> Dict[str, np.ndarray]:
        """``{task: (N,) predicted score}`` of ``specs``."""
        pred = self.predict_features(self.encode(specs))
        return {t: pred[:, i] for i, t in enumerate(self.tasks)}

    def evaluate(self, specs: Sequence[SpecLike],
                 scores: Mapping[str, Sequence[float]]
                 ) -> Dict[str, Dict[str, float]]:
        """Predictions against measured scores:
        ``{task: dict(spearman=, kendall=, rmse=)}`` (rank correlations are
        NaN when either side is constant)."""
        from scipy import stats
        x = self.encode(specs)
        y = self._check_scores(scores, len(x))
        pred = self.predict_features(x)
        out = {}
        for i, task in enumerate(self.tasks):
            if len(x) < 2 or np.ptp(y[:, i]) == 0 or np.ptp(pred[:, i]) == 0:
                spearman = kendall = float('nan')
            else:
                spearman = float(stats.spearmanr(pred[:, i], y[:, i])[0])
                kendall = float(stats.kendalltau(pred[:, i], y[:, i])[0])
            rmse = float(np.sqrt(np.mean((pred[:, i] - y[:, i])**2)))
            out[task] = dict(spearman=spearman, kendall=kendall, rmse=rmse)
        return out

    def fitness_coefficients(self, preference: Mapping[str, float]):
        """``(lo, coef)``, each ``(T,)`` in ``self.tasks`` order: the fitness
        of scores ``y`` (``(N, T)``) is ``(y - lo) @ coef`` with ``coef_t =
        r_t / (hi_t - lo_t)`` (:meth:`fitness_fn`)."""
        from .preference import validate_preference
        self._require_fitted()
        pref = validate_preference(preference, self.tasks)
        weights = np.array([pref[t] for t in self.tasks])
        lo = np.array([self.score_range[t][0] for t in self.tasks])
        span = np.array([self.score_range[t][1] - self.score_range[t][0]
                         for t in self.tasks])
        span[span <= 0] = 1.0
        return lo, weights / span

    def fitness_fn(self, preference: Mapping[str, float]
                   ) -> Callable[[List[SubnetSpec]], np.ndarray]:
        """The ECMT search fitness for ``preference``:
        ``sum_t r_t * (pred_t - lo_t) / (hi_t - lo_t)``, where ``lo_t, hi_t``
        are the lowest / highest training score of task ``t`` (a constant
        task uses a scale of 1). Returns ``f(specs) -> (N,) array``."""
        lo, coef = self.fitness_coefficients(preference)

        def fitness(specs: List[SubnetSpec]) -> np.ndarray:
            return (self.predict_features(self.encode(specs)) - lo) @ coef

        return fitness

    # ------------------------------------------------------------------
    # cache
    # ------------------------------------------------------------------
    def _header(self, key: str) -> dict:
        return dict(format_version=PREDICTOR_FORMAT_VERSION, kind=self.kind,
                    tasks=self.tasks, alpha=self.alpha,
                    hidden=list(self.hidden), seed=self.seed,
                    epochs=self.epochs, lr=self.lr,
                    fingerprint=self.fingerprint, key=key,
                    search_space=self.search_space.to_dict(),
                    score_range={t: list(v)
                                 for t, v in self.score_range.items()},
                    num_train=self.num_train)

    def save(self, path: str, key: str = '') -> None:
        """Write the fitted predictor to ``path`` (``.npz``; written to a
        temporary file, then renamed).

        Args:
            key: what the predictor is valid for, e.g. the supernet
                checkpoint's sha256; :meth:`load` must be given the same.
        """
        self._require_fitted()
        if not isinstance(key, str):
            raise TypeError(f'key must be a str, got {type(key).__name__}')
        header = json.dumps(self._header(key))
        directory = osp.dirname(osp.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'wb') as f:
            np.savez(f, header=np.array(header), **self.params)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str, search_space: SearchSpace,
             key: str = '') -> 'AccuracyPredictor':
        """Read a predictor written by :meth:`save`.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is not a predictor cache, or it was built
                for another search space or another ``key``.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'predictor cache {path} does not exist')
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            header = json.loads(str(arrays.pop('header')))
        except Exception as e:  # noqa: BLE001 - any parse failure
            raise ValueError(f'predictor cache {path} is not a readable '
                             f'predictor file: {e}') from None
        if header.get('format_version') != PREDICTOR_FORMAT_VERSION:
            raise ValueError(
                f'predictor cache {path} has format version '
                f'{header.get("format_version")}; this code reads '
                f'{PREDICTOR_FORMAT_VERSION}: rebuild it')
        fingerprint = search_space_fingerprint(search_space)
        if header['fingerprint'] != fingerprint:
            raise ValueError(
                f'predictor cache {path} was built for another search space '
                f'({header["search_space"]}), not {search_space.to_dict()}: '
                'rebuild it')
        if header['key'] != key:
            raise ValueError(
                f'predictor cache {path} was built for key '
                f'{header["key"]!r}, but key {key!r} was asked (a different '
                'checkpoint?): delete the file or rebuild the predictor')
        predictor = cls(search_space, header['tasks'], kind=header['kind'],
                        alpha=header['alpha'], hidden=header['hidden'],
                        seed=header['seed'], epochs=header['epochs'],
                        lr=header['lr'])
        predictor.params = arrays
        predictor.score_range = {t: tuple(v) for t, v in
                                 header['score_range'].items()}
        predictor.num_train = header['num_train']
        return predictor

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(kind={self.kind!r}, tasks='
                f'{self.tasks}, alpha={self.alpha}, fitted={self.is_fitted})')
