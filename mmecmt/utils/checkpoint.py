"""Load a trained checkpoint into a model, refusing one that does not fit.

mmengine's ``load_checkpoint`` is non-strict by default and only logs the
mismatched keys; a deployment tool that goes on with a model whose weights
did not load answers requests with random weights. :func:`load_trained`
refuses instead: it names the file and the first mismatched keys.

Checkpoints of a training algorithm (a model wrapping an ``architecture``,
as :class:`~mmecmt.models.algorithms.SandwichAlgorithm` does) hold the
architecture's weights under ``architecture.``; loading one into the bare
architecture strips that prefix (and the reverse is never needed: tools
deploy architectures).
"""
import hashlib
import os.path as osp
import pickle
import zipfile
from typing import Dict, List, Mapping

import torch
from torch import nn

#: prefix of an architecture's weights inside a training algorithm.
ARCHITECTURE_PREFIX = 'architecture.'
#: mismatched keys named in an error message.
MAX_KEYS_SHOWN = 5


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or does not fit the model."""


def file_sha256(path: str) -> str:
    """Hex sha256 of a file: the identity of a checkpoint in caches and
    specs.

    Raises:
        CheckpointError: the file does not exist.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist')
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a checkpoint file (mmengine's ``{'state_dict':
    ..., 'meta': ...}`` or a bare state dict), on the CPU.

    Raises:
        CheckpointError: the file does not exist, is not a torch checkpoint
            (named), or holds no state dict.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        data = torch.load(path, map_location='cpu', weights_only=False)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError,
            RuntimeError, ValueError, AttributeError, ImportError) as err:
        raise CheckpointError(
            f'{path} is not a checkpoint (torch.load failed: '
            f'{type(err).__name__}: {str(err).splitlines()[0][:200]})'
        ) from None
    state = data.get('state_dict', data) if isinstance(data, Mapping) \
        else None
    if not isinstance(state, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f'{path} is not a model checkpoint: it holds no state_dict of '
            'tensors')
    return dict(state)


def _strip_prefix(state: Mapping[str, torch.Tensor],
                  model: nn.Module) -> Dict[str, torch.Tensor]:
    own = model.state_dict()
    if any(k.startswith(ARCHITECTURE_PREFIX) for k in own):
        return dict(state)
    if any(k.startswith(ARCHITECTURE_PREFIX) for k in state):
        # a training algorithm's checkpoint: the architecture's weights;
        # the algorithm's own state (e.g. CDMA's task affinity) stays out
        return {k[len(ARCHITECTURE_PREFIX):]: v for k, v in state.items()
                if k.startswith(ARCHITECTURE_PREFIX)}
    return dict(state)


def _shown(keys: List[str]) -> str:
    text = ', '.join(keys[:MAX_KEYS_SHOWN])
    if len(keys) > MAX_KEYS_SHOWN:
        text += f', ... ({len(keys)} in all)'
    return text


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor],
                     source: str) -> None:
    """Raise :class:`CheckpointError` unless ``state`` has exactly the
    model's keys with the model's shapes (``source`` names the file)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
             for k, v in own.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    if wrong:
        problems.append(f'{len(wrong)} of {len(own)} tensors have another '
                        f'shape (checkpoint vs model): {_shown(wrong)}')
    if missing:
        problems.append(f'{len(missing)} model keys are missing: '
                        f'{_shown(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} keys are unknown to the model: '
                        f'{_shown(unexpected)}')
    if problems:
        raise CheckpointError(
            f'checkpoint {source} does not fit {type(model).__name__} (is '
            'it a checkpoint of another model or config?): ' +
            '; '.join(problems))


def load_trained(model: nn.Module, path: str) -> nn.Module:
    """Load ``path`` into ``model`` strictly (every key, every shape) and
    put the model in eval mode.

    Raises:
        CheckpointError: missing or unreadable file, or a checkpoint that
            does not fit the model (the file and the first mismatched keys
            are named).
    """
    state = _strip_prefix(read_state_dict(path), model)
    check_state_dict(model, state, path)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model


def load_mapped(module: nn.Module, path: str,
                keys: Mapping[str, str]) -> nn.Module:
    """Load tensors of checkpoint ``path`` into ``module`` by key:
    ``keys`` maps each of ``module``'s state-dict keys to the checkpoint's
    (e.g. a gated unit's ``'3.conv.0.conv.weight'`` to a single-task
    model's ``'backbone.layer2.1.conv.0.conv.weight'``). Strict: every
    ``module`` key must be mapped and found with its shape; the
    checkpoint's other tensors are ignored. An algorithm checkpoint's
    ``architecture.`` prefix is stripped.

    Raises:
        CheckpointError: a missing or unreadable file, or a mapped key that
            is missing or of another shape (the file and keys are named).
    """
    state = _strip_prefix(read_state_dict(path), module)
    own = module.state_dict()
    unmapped = [k for k in own if k not in keys]
    if unmapped:
        raise CheckpointError(f'loading {path} into '
                              f'{type(module).__name__}: no source key for '
                              f'{_shown(unmapped)}')
    mapped = {k: state[keys[k]] for k in own if keys[k] in state}
    missing = [keys[k] for k in own if keys[k] not in state]
    if missing:  # named as the checkpoint names them
        raise CheckpointError(
            f'checkpoint {path} does not fit {type(module).__name__} (is it '
            f'a checkpoint of another model or config?): {len(missing)} '
            f'keys are missing: {_shown(missing)}')
    check_state_dict(module, mapped, path)  # shapes
    module.load_state_dict(mapped, strict=True)
    return module


__all__ = ['CheckpointError', 'file_sha256', 'read_state_dict', 'check_state_dict',
           'load_trained', 'load_mapped', 'ARCHITECTURE_PREFIX']
