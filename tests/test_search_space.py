"""SearchSpace entries and the one choice lookup every search module uses."""
import numpy as np
import pytest

from mmecmt.search.space import (CHOICE_TOLERANCE, SearchSpace, SubnetSpec,
                                 match_choice, match_choices)


def _space():
    return SearchSpace(encoder={'layer1': (0.5, 1.0),
                                'layer2': (0.25, 0.5, 0.75)},
                       decoders={'semseg': (0.5, 0.75, 1.0),
                                 'depth': (1.0, )})


def test_entries_and_names_in_encode_order():
    space = _space()
    assert space.entry_names() == ('encoder.layer1', 'encoder.layer2',
                                   'decoders.semseg', 'decoders.depth')
    assert [(p, n) for p, n, _ in space.entries()] == [
        ('encoder', 'layer1'), ('encoder', 'layer2'),
        ('decoders', 'semseg'), ('decoders', 'depth')]
    spec = SubnetSpec({'layer1': 0.5, 'layer2': 0.75},
                      {'semseg': 1.0, 'depth': 1.0})
    # encode() columns follow the entries
    assert space.encode(spec).tolist() == [0.5, 0.75, 1.0, 1.0]
    assert space.choices_of('decoders.semseg') == (0.5, 0.75, 1.0)
    for bad in ('decoder.semseg', 'encoder.layer9', 'semseg'):
        with pytest.raises(ValueError, match='decoders.depth'):
            space.choices_of(bad)


def test_match_choice_tolerance():
    choices = (0.25, 0.5, 0.75)
    assert match_choice(choices, 0.5) == 1
    assert match_choice(choices, 0.5 + CHOICE_TOLERANCE / 2) == 1
    assert match_choice(choices, 0.5 + 10 * CHOICE_TOLERANCE) is None
    assert match_choice(choices, float('nan')) is None
    assert match_choice(choices, 1.0) is None
    got = match_choices(choices, [0.75, 0.25 - CHOICE_TOLERANCE / 2, 0.3,
                                  float('nan'), 0.5])
    assert got.tolist() == [2, 0, -1, -1, 1]
    assert match_choices(choices, np.zeros(0)).shape == (0, )


def test_choice_index_indices_of_and_spec_at_round_trip():
    space = _space()
    assert space.choice_index('encoder.layer2', 0.75 + 1e-12) == 2
    with pytest.raises(ValueError,
                       match=r"decoders\['semseg'\] = 0.6 .*\[0.5, 0.75, "):
        space.choice_index('decoders.semseg', 0.6)
    spec = SubnetSpec({'layer1': 1.0, 'layer2': 0.25},
                      {'semseg': 0.75, 'depth': 1.0})
    indices = space.indices_of(spec)
    assert indices == [1, 0, 1, 0]
    assert space.spec_at(indices) == spec
    # a ratio within the tolerance maps to the exact choice
    near = SubnetSpec({'layer1': 1.0 - 1e-12, 'layer2': 0.25},
                      {'semseg': 0.75, 'depth': 1.0})
    assert space.spec_at(space.indices_of(near)) == spec
    with pytest.raises(ValueError, match=r'choice index 3 out of range '
                       r'\[0, 2\]'):
        space.spec_at([1, 3, 0, 0])
    with pytest.raises(ValueError, match='4 choice indices'):
        space.spec_at([1, 0, 0])
    with pytest.raises(ValueError, match=r"missing \['layer2'\]"):
        space.indices_of(SubnetSpec({'layer1': 1.0},
                                    {'semseg': 0.75, 'depth': 1.0}))
    with pytest.raises(ValueError, match='not a valid width'):
        space.validate(SubnetSpec({'layer1': 1.0, 'layer2': 0.3},
                                  {'semseg': 0.75, 'depth': 1.0}))
