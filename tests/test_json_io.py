import json
import math

import numpy as np
import pytest

from mmecmt.utils.json_io import to_strict_json


def test_to_strict_json_converts_numpy_and_non_finite_values():
    value = {1: np.float32(0.5), 'a': (np.int64(3), np.bool_(True)),
             'nan': math.nan, 'inf': np.float64(np.inf),
             'array': np.array([[1.0, np.nan]]), 'none': None, 's': 'x'}
    out = to_strict_json(value)
    assert out == {'1': 0.5, 'a': [3, True], 'nan': None, 'inf': None,
                   'array': [[1.0, None]], 'none': None, 's': 'x'}
    assert type(out['a'][0]) is int and type(out['a'][1]) is bool
    json.dumps(out, allow_nan=False)  # strict JSON


def test_to_strict_json_names_what_it_cannot_write():
    with pytest.raises(TypeError, match='cannot write set'):
        to_strict_json({'x': {1, 2}})
