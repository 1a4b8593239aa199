"""Sizes, addresses and pfns as people write them ("128M", "0x100000000") and as we print them."""
from __future__ import annotations

import re

__all__ = ["ADDR_PATTERN", "SIZE_PATTERN", "MAX_CHARS", "parse_size", "parse_addr", "format_size", "hexs", "human_size", "UNITS"]

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
# ASCII only, and the same rules the OpenAPI schema publishes (ADDR_PATTERN, SIZE_PATTERN)
ADDR_PATTERN = r"^[ \t]*(0[xX][0-9a-fA-F]+|[0-9]+)[ \t]*$"
SIZE_PATTERN = r"^[ \t]*(0[xX][0-9a-fA-F]+|[0-9]+[ \t]*([KMGTPEkmgtpe]([iI]?[bB])?|[bB])?)[ \t]*$"
MAX_CHARS = 40
# (\Z, not $: Python's $ also matches before a trailing newline, JSON Schema's does not)
_SIZE_RE = re.compile(r"^[ \t]*([0-9]+)[ \t]*(?:([KMGTPEkmgtpe])(?:[iI]?[bB])?|[bB])?[ \t]*\Z")
_HEX_RE = re.compile(r"^[ \t]*0[xX][0-9a-fA-F]+[ \t]*\Z")
_DEC_RE = re.compile(r"^[ \t]*[0-9]+[ \t]*\Z")
U64_MAX = (1 << 64) - 1


def _int_value(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} must be an integer or a string")
    if isinstance(value, str) and len(value) > MAX_CHARS:
        raise ValueError(f"{what} is longer than {MAX_CHARS} characters")
    if isinstance(value, int):
        n = value
    elif _HEX_RE.match(value):
        n = int(value, 16)
    elif _DEC_RE.match(value):
        n = int(value)
    else:
        raise ValueError(f"{what} {value!r} is not a hex (0x...) or decimal number")
    if n < 0:
        raise ValueError(f"{what} must not be negative")
    if n > U64_MAX:
        raise ValueError(f"{what} does not fit in 64 bits")
    return n


def parse_addr(value: object) -> int:
    """An address or pfn: a hex string "0x..", a decimal string or an int."""
    return _int_value(value, "address")


def parse_size(value: object) -> int:
    """A size in bytes: "128M", "2G", "0x8000000", "4096" or an int (binary units)."""
    if isinstance(value, str) and len(value) > MAX_CHARS:
        raise ValueError(f"size is longer than {MAX_CHARS} characters")
    if isinstance(value, str) and not _HEX_RE.match(value):
        m = _SIZE_RE.match(value)
        if not m:
            raise ValueError(f"size {value!r} is not like 128M, 2G or 0x8000000")
        n = int(m.group(1)) * UNITS[(m.group(2) or "").upper()]
        if n > U64_MAX:
            raise ValueError("size does not fit in 64 bits")
        return n
    return _int_value(value, "size")


def format_size(n: int) -> str:
    """The short form used in requests: 2M, 1G, 128M, or hex bytes when not a whole unit."""
    if n == 0:
        return "0"
    for suffix in ("E", "P", "T", "G", "M", "K"):
        unit = UNITS[suffix]
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return hex(n)


def human_size(n: int) -> str:
    """Binary units for messages: 128 MiB, 2 GiB, 28 KiB."""
    for suffix, unit in (("EiB", 1 << 60), ("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30),
                         ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= unit:
            v = n / unit
            return f"{v:.0f} {suffix}" if n % unit == 0 else f"{v:.2f} {suffix}"
    return f"{n} B"


def hexs(n: int | None) -> str | None:
    """64-bit values travel as lower-case 0x-prefixed hex strings."""
    return None if n is None else hex(n)
