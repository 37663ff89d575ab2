"""Every JSON output's encoder (``control.views.jsontext``) writes exactly what the standard
library writes with ``sort_keys=True, indent=2, ensure_ascii=False``: the same text for any JSON
value (hypothesis), and the same error for what JSON cannot hold. Output is byte-stable: a
difference here would change every ``--json`` answer."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from enum import IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.views.jsontext import dumps


def reference(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


texts = st.text(st.characters(codec="utf-8") | st.sampled_from('"\\\n\t\x00\x1f\x7f\u2028é😀'), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(texts, inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_same_text_as_the_standard_encoder(value: object) -> None:
    assert dumps(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        (),
        {"a": {}, "b": [], "c": [{}], "d": [[]]},
        [1.0, -0.0, 1e300, float("nan"), float("inf"), -float("inf"), 10**40, True, False, None],
        {"z": 1, "a": 2, "é": 3, "": 4, "A": 5},
        {1: "int keys", 2: "are text in JSON"},
        {True: 2, 1.5: 3, 0: 1},
        OrderedDict([("b", 1), ("a", 2)]),
        [IntEnum("Level", "LOW HIGH").HIGH],
        [[[[[[[[[[["deep"]]]]]]]]]]],
    ],
    ids=repr,
)
def test_same_text_where_the_standard_encoder_decides(value: object) -> None:
    """Keys that are not text, subclasses of dict and int: left to the standard encoder."""
    assert dumps(value) == reference(value)


def test_deep_values_as_the_standard_encoder() -> None:
    deep: object = "leaf"
    for _ in range(300):
        deep = [deep]
    assert dumps(deep) == reference(deep)


@pytest.mark.parametrize(
    "value",
    [
        {"a": object()},
        [{1, 2}],
        {"x": 1, 2: "mixed key types"},
        {(1, 2): "a tuple key"},
    ],
    ids=repr,
)
def test_same_error_as_the_standard_encoder(value: object) -> None:
    with pytest.raises(Exception) as expected:
        reference(value)
    with pytest.raises(type(expected.value)) as found:
        dumps(value)
    assert str(found.value) == str(expected.value)


def test_a_cycle_is_the_standard_error() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps(cycle)


def test_floats_as_the_standard_encoder() -> None:
    for value in (0.1, 1 / 3, 2.5e-308, math.pi * 1e16, -1e-7):
        assert dumps({"v": value}) == reference({"v": value})
