"""Sizes, addresses and pfns as people write them ("128M", "0x100000000") and as we print them."""
from __future__ import annotations

import re

__all__ = ["ADDR_PATTERN", "SIZE_PATTERN", "MAX_CHARS", "parse_size", "parse_addr", "parse_pfn", "format_size", "hexs", "human_size", "UNITS"]

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
# ASCII only, and the same rules the OpenAPI schema publishes (ADDR_PATTERN, SIZE_PATTERN). An address
# in a string is hex with 0x: a bare "100000000" reads as hex in /proc/iomem and as decimal to
# int(), so it is refused (parse_addr says both readings), but for one digit, the same either way.
ADDR_PATTERN = r"^[ \t]*(0[xX][0-9a-fA-F]+|[0-9])[ \t]*$"
SIZE_PATTERN = r"^[ \t]*(0[xX][0-9a-fA-F]+|[0-9]+[ \t]*([KMGTPEkmgtpe]([iI]?[bB])?|[bB])?)[ \t]*$"
MAX_CHARS = 40
# (\Z, not $: Python's $ also matches before a trailing newline, JSON Schema's does not)
_SIZE_RE = re.compile(r"^[ \t]*([0-9]+)[ \t]*(?:([KMGTPEkmgtpe])(?:[iI]?[bB])?|[bB])?[ \t]*\Z")
_HEX_RE = re.compile(r"^[ \t]*0[xX][0-9a-fA-F]+[ \t]*\Z")
_DEC_RE = re.compile(r"^[ \t]*[0-9]+[ \t]*\Z")
U64_MAX = (1 << 64) - 1


def _int_value(value: object, what: str, decimal: bool = False) -> int:
    if type(value) is int:                                  # the common cases first: this runs per pfn
        n = value
    elif type(value) is str and value.startswith(("0x", "0X")) and value.isalnum() and value.isascii() \
            and len(value) <= MAX_CHARS:                    # "0x" and ASCII letters and digits (no regex)
        try:
            n = int(value, 16)
        except ValueError:                                  # "0x", "0xg", "0x0x1"
            raise ValueError(f"{what} {value!r} is not a hex (0x...) number or an integer") from None
    elif type(value) is str and len(value) <= MAX_CHARS and _HEX_RE.match(value):
        n = int(value, 16)
    elif isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} must be an integer or a string")
    elif isinstance(value, int):
        n = int(value)
    elif len(value) > MAX_CHARS:
        raise ValueError(f"{what} is longer than {MAX_CHARS} characters")
    elif _DEC_RE.match(value):
        n = int(value)
        if not decimal and n > 9:
            raise ValueError(_ambiguous(value.strip(), what))
    else:
        raise ValueError(f"{what} {value!r} is not a hex (0x...) number or an integer")
    if n < 0:
        raise ValueError(f"{what} must not be negative")
    if n > U64_MAX:
        raise ValueError(f"{what} does not fit in 64 bits")
    return n


def _ambiguous(digits: str, what: str) -> str:
    """Name both readings of a bare string of digits: hex as /proc/iomem prints it, or decimal."""
    as_hex, as_dec = int(digits, 16), int(digits)
    if what == "address":
        readings = f"0x{digits} ({_about(as_hex)}) or {as_dec} ({_about(as_dec)})"
    else:
        readings = f"0x{digits} or {as_dec} (= {hex(as_dec)})"
    return (f"{what} {digits!r} is ambiguous: did you mean {readings}? Write hex with 0x, or a decimal "
            "number as a JSON integer")


def _about(n: int) -> str:
    num, unit = human_size(n).split(" ")
    return f"{num} {unit}" if "." not in num else f"≈{round(float(num))} {unit}"


def parse_addr(value: object, what: str = "address", decimal: bool = False) -> int:
    """An address or pfn (`what` names it in errors): an int, or a hex string "0x..". A bare string
    of digits is refused, naming both readings, unless `decimal` (a field documented as decimal)."""
    return _int_value(value, what, decimal)


def parse_pfn(value: object) -> int:
    """parse_addr for a pfn (errors say "pfn")."""
    return _int_value(value, "pfn")


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
