"""Zero-copy batches: resolve_columns reads 64-bit integer buffers in place (numpy, array('q'),
memoryview, read-only too) and answers columns that numpy wraps without a copy; both
implementations, against the same pfns given as a plain list."""
from __future__ import annotations

import tracemalloc
from array import array

import numpy as np
import pytest

from engine import DEFAULT_SCENARIO, ScenarioError


@pytest.fixture()
def machine(ev):
    return ev(DEFAULT_SCENARIO)


def random_pfns(m, n: int, seed: int = 7) -> np.ndarray:
    """n random pfns over the machine's blocks and a little beyond (holes), read-only."""
    top = m.pfn_ranges()["all"][1]
    a = np.random.default_rng(seed).integers(0, top + 0x1000, size=n, dtype=np.int64)
    a.flags.writeable = False
    return a


def same_columns(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)


def traced_peak(fn, *args) -> tuple[object, int]:
    """fn(*args) and the peak of memory allocated while it ran (numpy reports its buffers too)."""
    tracemalloc.start()
    try:
        out = fn(*args)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_readonly_ndarray_is_read_in_place_and_answers_like_a_list(machine, impl):
    pfns = random_pfns(machine, 200_000)
    expected = machine.resolve_columns(pfns.tolist())
    col, peak = traced_peak(machine.pfn_column, pfns)
    assert peak < pfns.nbytes // 100, (peak, pfns.nbytes)          # the hot loops' view: no copy
    assert col.obj is pfns
    cols, peak = traced_peak(machine.resolve_columns, pfns)
    out_bytes = sum(c.itemsize * len(c) for c in cols.values())
    # a copy of the input would hold pfns.nbytes for the whole call on top of the answer's columns
    # (the Python twin builds each column from a zeroed bytes object: up to half that, briefly)
    extra = pfns.nbytes // 100 if impl == "cython" else pfns.nbytes * 3 // 4
    assert peak - out_bytes < extra, (peak, out_bytes, pfns.nbytes)
    assert same_columns(cols, expected)


def test_columns_are_wrapped_by_numpy_without_a_copy(machine):
    cols = machine.resolve_columns(random_pfns(machine, 1000))
    for name, col in cols.items():
        v = np.asarray(col)
        assert v.ctypes.data == col.buffer_info()[0], name
        assert np.shares_memory(v, np.frombuffer(col, dtype=v.dtype)), name
        col[0] = 3
        assert v[0] == 3, name


@pytest.mark.parametrize("kind", ["uint64", "array_q", "memoryview_ro", "bytes_q", "int32", "strided", "iterator"])
def test_every_integer_column_gives_the_list_answer(machine, kind):
    pfns = random_pfns(machine, 5000, seed=3)
    given = {"uint64": lambda: pfns.astype(np.uint64),
             "array_q": lambda: array("q", pfns.tolist()),
             "memoryview_ro": lambda: memoryview(pfns),
             "bytes_q": lambda: memoryview(pfns.tobytes()).cast("q"),
             "int32": lambda: pfns.astype(np.int32),
             "strided": lambda: np.repeat(pfns, 2)[::2],
             "iterator": lambda: iter(pfns.tolist())}[kind]()
    assert same_columns(machine.resolve_columns(given), machine.resolve_columns(pfns.tolist()))


@pytest.mark.parametrize("bad,index,words", [
    (np.array([0x100000, 1 << 63, 5], dtype=np.uint64), 1, "2**63"),
    (np.array([0x100000, (1 << 64) - 1], dtype=np.uint64), 1, "2**63"),
    (array("Q", [1, 2, 1 << 63]), 2, "2**63"),
    (np.array([4, -1], dtype=np.int64), 1, "negative"),
    ([0x100000, 1 << 63], 1, "2**63"),
    (np.array([0] * 70_000 + [1 << 46]), 70_000, "physical address limit"),
    (array("q", [0] * 70_000 + [1 << 46]), 70_000, "physical address limit"),
    (array("q", [(1 << 34) - 1, 1 << 34]), 1, "physical address limit"),     # 46 bits: pfns below 2**34
    (memoryview(array("q", [3, -(1 << 40)])), 1, "negative"),
])
def test_pfns_out_of_range_are_refused_at_their_index(machine, bad, index, words):
    with pytest.raises(ScenarioError) as e:
        machine.resolve_columns(bad)
    assert e.value.loc == ("pfns", index)
    assert words in e.value.msg


@pytest.mark.parametrize("bad,words", [(np.zeros((2, 2), dtype=np.int64), "1-D"),
                                       (np.array([1.0, 2.0]), "not native-endian integers")])
def test_buffers_that_are_not_a_column_of_integers_are_refused(machine, bad, words):
    with pytest.raises(ScenarioError, match=words):
        machine.resolve_columns(bad)
