"""pfns as given to the hot loops: any 1-D buffer of 64-bit integers (numpy int64/uint64, array('q'),
a memoryview, read-only too) is read in place, never converted an element at a time; narrower integer
buffers, lists and iterables are copied once. Every pfn is checked against the architecture's physical
address limit (MAX_PHYSMEM_BITS) at C speed, and the first bad one is named with its index."""
from __future__ import annotations

import sys
from array import array
from functools import lru_cache
from typing import Iterable

from .arch import Arch
from .errors import ScenarioError

__all__ = ["pfn_column", "pfn_error"]

# 64-bit integer formats of the buffer protocol (struct module codes), native byte order
_INT64_FORMATS = {"q", "Q", "l", "L", "n", "N"}
_INT_FORMATS = set("bBhHiIlLqQnN")
_NATIVE = "@=" + ("<" if sys.byteorder == "little" else ">")
_SCAN_CHUNK = 8 << 16                                   # bytes: 65,536 pfns


def _buffer_items(mv: memoryview, field: str) -> memoryview | list[int]:
    """The items of a buffer that cannot be viewed in place (narrower integers, strided): copied."""
    fmt = mv.format.lstrip(_NATIVE)
    if fmt not in _INT_FORMATS:
        raise ScenarioError((field,), f"a buffer of format {mv.format!r} is not native-endian integers: "
                            "give pfns as int64 (numpy int64/uint64, array('q')) or a list of ints")
    if mv.ndim != 1:
        raise ScenarioError((field,), f"a {mv.ndim}-D buffer: give a 1-D column of pfns")
    return mv if mv.c_contiguous else mv.tolist()


def _first_out_of_range(col: memoryview, limit: int, obj: object = None) -> int | None:
    """Index of the first value of `col` (format 'q') outside [0, limit), limit a power of two, else
    None, never converting an element to a Python int: numpy's own reductions when `obj` (the
    buffer's owner) is an ndarray, else byte lanes of the raw buffer (byte j of every item), a chunk
    at a time, checked with C-speed bytes methods (the scan's memory stays small)."""
    if len(col) == 0:
        return None
    if hasattr(obj, "__array_interface__") and hasattr(obj, "argmax"):
        if obj.min() >= 0 and obj.max() < limit:  # type: ignore[attr-defined]
            return None
        return int(((obj < 0) | (obj >= limit)).argmax())  # type: ignore[operator]
    raw, lanes = col.cast("B"), _lanes(limit.bit_length() - 1)
    for c0 in range(0, len(raw), _SCAN_CHUNK):
        chunk = raw[c0: c0 + _SCAN_CHUNK].tobytes()
        for off, keep in lanes:
            lane = chunk[off::8]
            if (lane.count(0) != len(lane)) if keep == b"\0" else lane.translate(None, keep):
                return c0 // 8 + next(k for k, p in enumerate(memoryview(chunk).cast("q")) if not 0 <= p < limit)
    return None


@lru_cache(maxsize=8)
def _lanes(bits: int) -> list[tuple[int, bytes]]:
    """(byte offset in a native 64-bit item, the byte values allowed there) for each byte that holds
    a bit from `bits` up, highest first (a negative or huge value shows there first)."""
    out = []
    for j in range(7, -1, -1):                                  # byte j holds bits 8j .. 8j+7
        if bits - 8 * j < 8:
            out.append((j if sys.byteorder == "little" else 7 - j, bytes(range(1 << max(bits - 8 * j, 0)))))
    return out


def pfn_column(pfns: Iterable[int], arch: Arch, field: str = "pfns") -> memoryview:
    """`pfns` as a 1-D memoryview of format 'q' for the hot loops: 64-bit integer buffers are
    viewed in place (no per-element conversion), narrower integer buffers, lists and iterables
    copied; ScenarioError at (field, k) for the first pfn that is negative, 2**63 or more, or
    beyond the physical address limit."""
    try:
        mv = memoryview(pfns)  # type: ignore[arg-type]
    except TypeError:
        mv = None
    if mv is None or mv.format.lstrip(_NATIVE) not in _INT64_FORMATS or mv.itemsize != 8 \
            or not mv.c_contiguous:
        mv = memoryview(_pfn_array(pfns if mv is None else _buffer_items(mv, field), arch, field))
    elif mv.ndim != 1:
        raise ScenarioError((field,), f"a {mv.ndim}-D buffer: give a 1-D column of pfns")
    col = mv.cast("B").cast("q")
    bad = _first_out_of_range(col, arch.max_phys >> arch.page_shift, pfns if mv.obj is pfns else None)
    if bad is not None:
        raise pfn_error(arch, field, bad, mv[bad])
    return col


def _pfn_array(pfns: Iterable[int], arch: Arch, field: str) -> array:
    seq = pfns if isinstance(pfns, (list, tuple, range, memoryview)) else list(pfns)
    try:
        return array("q", seq)
    except TypeError as e:
        raise ScenarioError((field,), f"pfns must be integers ({e})") from None
    except OverflowError:
        k = next(k for k, p in enumerate(seq) if not -(1 << 63) <= p < 1 << 63)
        raise pfn_error(arch, field, k, seq[k]) from None


def pfn_error(arch: Arch, field: str, k: int, p: int) -> ScenarioError:
    """Why pfn p, item k of `field`, is no pfn of this architecture."""
    if p < 0:
        return ScenarioError((field, k), f"pfn {p} is negative")
    big = " (a uint64 of 2**63 or more is no pfn)" if p >= 1 << 63 else ""
    return ScenarioError((field, k), f"pfn {hex(p)} is beyond the physical address limit "
                         f"of {arch.key} ({arch.max_physmem_bits} bits){big}")
