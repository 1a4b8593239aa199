"""PfnList (the /resolve body's pfns) takes ints and clean hex strings in one pass; whatever it takes
or refuses, it must answer exactly as a list of Pfn validated one by one would."""
from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from engine import Pfn, PfnList

ONE_BY_ONE = TypeAdapter(list[Pfn])
FAST = TypeAdapter(PfnList())
CASES = [
    [0, 1, 0x100000, (1 << 64) - 1], ["0x0", "0X1f", "0xFFFFFFFFFFFFFFFF"], [5, "0x10", 7],
    ["0x1", "100000000"], ["0x1", "9"], [1, -1], [1, True], ["0x1_0"], [" 0x10 "], ["0x"], ["0xg"],
    ["0x1" + "0" * 16], [1 << 64], [1.0], [None], ["0x" + "1" * 38], ["0x" + "1" * 39], ["0x" + "1" * 40],
    ["１２"], [], ["0x1,0x2"], ["0x1", "0x2,0x3"], ["0x1", 2], ["0x١"], ["0xa", "0X0"], ["0x1\n"],
]


def answer(ta: TypeAdapter, value: object) -> object:
    try:
        return ta.validate_python(value)
    except ValidationError as e:
        return [(x["loc"], x["msg"]) for x in e.errors()]


@pytest.mark.parametrize("value", CASES, ids=[repr(c)[:40] for c in CASES])
def test_the_fast_list_answers_as_the_element_by_element_one(value):
    assert answer(FAST, value) == answer(ONE_BY_ONE, value)


def test_a_long_clean_list_is_taken_whole():
    pfns = [hex(p) for p in range(0, 1 << 24, 97)] + list(range(10))
    assert FAST.validate_python(pfns) == ONE_BY_ONE.validate_python(pfns)
