"""Strict JSON for result files, and reading a JSON file with errors that
name it."""
import json
import math
from collections.abc import Mapping

import numpy as np


def to_strict_json(obj):
    """``obj`` as plain JSON types that ``json.dump(..., allow_nan=False)``
    accepts: mappings (keys as str), lists / tuples / arrays, bools, ints,
    floats, str and None; numpy scalars become Python ones and NaN / inf
    floats (e.g. an undefined rank correlation) become None.

    Raises:
        TypeError: a value of another type (named in the message).
    """
    if isinstance(obj, Mapping):
        return {str(k): to_strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_strict_json(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f'cannot write {type(obj).__name__} {obj!r} to JSON')


def dump_json(obj, path: str) -> dict:
    """Write ``obj`` to ``path`` as strict, indented JSON (NaN as null);
    returns the strict form."""
    obj = to_strict_json(obj)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2, allow_nan=False)
    return obj


def read_json_file(path: str, what: str = 'file'):
    """The JSON content of ``path``.

    Raises:
        FileNotFoundError: ``'<what> <path> does not exist'``.
        ValueError: ``'<what> <path> is not valid JSON: ...'``.
    """
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f'{what} {path} does not exist') from None
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path} is not valid JSON: {err}') from None
