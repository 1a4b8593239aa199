"""The scenario document (schema_version 1): a machine, a kernel, parameters, boot memory and ops.

The engine owns this schema; the app re-exports it. Sizes and addresses are accepted as "128M",
"0x100000000" or integers and normalised to integers here.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, WithJsonSchema, model_validator

from .codes import MAX_HUGEPAGES
from .units import ADDR_PATTERN, MAX_CHARS, SIZE_PATTERN, U64_MAX, parse_addr, parse_pfn, parse_size

__all__ = [
    "Scenario", "Addr", "Pfn", "MachineSpec", "Params", "BootRange", "Op", "MAX_OPS",
    "AddMemory", "Online", "Offline", "RemoveMemory", "AllocHugepages", "AllocHugepage",
    "FreeHugepage", "FreeHugepages", "Sysctl", "SwapcachePage",
]

MAX_OPS = 10_000
MAX_OP_COUNT = MAX_HUGEPAGES     # huge pages per alloc/free op (nr_hugepages may ask for all of memory)
_INT_SCHEMA = {"type": "integer", "minimum": 0, "maximum": U64_MAX}
Size = Annotated[int, BeforeValidator(parse_size), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": MAX_CHARS, "pattern": SIZE_PATTERN}, _INT_SCHEMA],
     "description": 'Bytes: "128M", "2G", "0x8000000" or an integer (binary units)'})]
Addr = Annotated[int, BeforeValidator(parse_addr), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": MAX_CHARS, "pattern": ADDR_PATTERN}, _INT_SCHEMA],
     "description": 'Physical address: "0x100000000" (hex, with 0x) or an integer; a bare string of '
                    'digits ("100000000") is refused as ambiguous'})]
Pfn = Annotated[int, BeforeValidator(parse_pfn), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": MAX_CHARS, "pattern": ADDR_PATTERN}, _INT_SCHEMA],
     "description": 'A pfn: "0x100000" (hex, with 0x) or an integer; a bare string of digits is refused '
                    'as ambiguous'})]


_HEX_LIST = re.compile(r"0[xX][0-9a-fA-F]{1,%d}(?:,0[xX][0-9a-fA-F]{1,%d})*" % (MAX_CHARS - 2, MAX_CHARS - 2))


def parse_pfns(value: object) -> object:
    """A list of pfns at list speed: ints and clean "0x..." strings are taken in one pass (100,000
    pfns in ~10 ms, not ~80 ms of per-element validators); anything else goes through Pfn one by one,
    so every error names its element and rule as before."""
    if type(value) is not list:
        return value
    try:                                         # all strings: one regex over them all, then int()
        joined = ",".join(value)
    except TypeError:
        joined = None
    if joined is not None and _HEX_LIST.fullmatch(joined):
        try:
            hexes = [int(x, 16) for x in value]
        except ValueError:                       # an element holding a comma
            return _PFN_LIST.validate_python(value)
        return hexes if max(hexes, default=0) <= U64_MAX else _PFN_LIST.validate_python(value)
    out: list[int] = []
    append = out.append
    for x in value:
        if type(x) is int and 0 <= x <= U64_MAX:
            append(x)
        elif type(x) is str and x[:2] in ("0x", "0X") and len(x) <= MAX_CHARS and x.isalnum() and x.isascii():
            try:
                n = int(x, 16)
            except ValueError:
                break
            if n > U64_MAX:
                break
            append(n)
        else:
            break
    else:
        return out
    return _PFN_LIST.validate_python(value)


Node = Annotated[int, Field(ge=0, le=63)]
_PFN_LIST = TypeAdapter(list[Pfn])


def PfnList(min_length: int = 0, max_length: int | None = None) -> object:  # noqa: N802 (a type)
    """A list of Pfn validated by parse_pfns (the same rules and error locations, at list speed); the
    length is checked first, as for any list ("List should have at most ... items")."""
    schema = {"type": "array", "items": _PFN_LIST.json_schema()["items"], "minItems": min_length,
              **({"maxItems": max_length} if max_length is not None else {})}
    return Annotated[list[int], Field(min_length=min_length, max_length=max_length),
                     BeforeValidator(parse_pfns), WithJsonSchema(schema)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class MachineSpec(_Strict):
    arch: Literal["x86_64", "arm64"] = "x86_64"
    page_size: Size = 4096
    paging_levels: Literal[3, 4, 5] = 4
    struct_page_size: Annotated[int, Field(ge=32, le=256, multiple_of=8)] = 64
    memory_block_size: Union[Literal["auto"], Size] = "auto"
    vmemmap_base: Addr | None = None
    memstart: Addr | None = None
    hypervisor: bool = False
    va_bits: Optional[Literal[48, 52]] = Field(default=None, description=(
        "arm64 CONFIG_ARM64_VA_BITS on hardware that has it (52: LPA/LPA2; a 52-bit kernel on 48-bit "
        "hardware lays the vmemmap out like a 48-bit one). Default 48"))


class Params(_Strict):
    memmap_on_memory: Literal["off", "on", "force"] = "on"
    hugetlb_free_vmemmap: bool = True
    selfhosted_check: Literal["merged", "section_flag", "first_page_maps_to_itself",
                              "block_first_pfn_flag", "none"] = "merged"
    memhp_default_state: Literal["offline", "online", "online_kernel", "online_movable"] = "offline"


class BootRange(_Strict):
    start: Addr
    size: Size
    node: Node = 0


class AddMemory(_Strict):
    """add_memory(): hot-add a block-aligned range, as an ACPI DIMM or dax/kmem would."""
    op: Literal["add_memory"]
    start: Addr
    size: Size
    node: Node = 0
    memmap_on_memory: bool = True
    altmap_scope: Literal["block", "range"] = "block"


class Online(_Strict):
    op: Literal["online"]
    start: Addr
    size: Size
    zone: Literal["normal", "movable"] = "normal"


class Offline(_Strict):
    op: Literal["offline"]
    start: Addr
    size: Size


class RemoveMemory(_Strict):
    op: Literal["remove_memory"]
    start: Addr
    size: Size


class AllocHugepages(_Strict):
    """Grow the pool like writing nodeN/hugepages/hugepages-SIZE/nr_hugepages."""
    op: Literal["alloc_hugepages"]
    size: Size
    count: Annotated[int, Field(ge=0, le=MAX_OP_COUNT)]
    node: Node = 0


class AllocHugepage(_Strict):
    op: Literal["alloc_hugepage"]
    size: Size
    at: Addr


class FreeHugepage(_Strict):
    op: Literal["free_hugepage"]
    at: Addr


class FreeHugepages(_Strict):
    """Shrink the pool of one size on one node by count (highest addresses first)."""
    op: Literal["free_hugepages"]
    size: Size
    count: Annotated[int, Field(ge=0, le=MAX_OP_COUNT)]
    node: Node = 0


class Sysctl(_Strict):
    """Write /proc/sys/vm/hugetlb_optimize_vmemmap and/or vm.movable_gigantic_pages (7.0+); each
    applies to huge pages allocated from then on."""
    op: Literal["sysctl"]
    hugetlb_optimize_vmemmap: Optional[bool] = None
    movable_gigantic_pages: Optional[bool] = None

    @model_validator(mode="after")
    def _one_at_least(self) -> "Sysctl":
        if self.hugetlb_optimize_vmemmap is None and self.movable_gigantic_pages is None:
            raise ValueError("set hugetlb_optimize_vmemmap or movable_gigantic_pages")
        return self


class SwapcachePage(_Strict):
    """An anonymous page in the swap cache at pfn: PG_swapcache aliases PG_owner_priv_1 (the v4 false positive)."""
    op: Literal["swapcache_page"]
    pfn: Pfn


Op = Annotated[Union[AddMemory, Online, Offline, RemoveMemory, AllocHugepages, AllocHugepage,
                     FreeHugepage, FreeHugepages, Sysctl, SwapcachePage], Field(discriminator="op")]


class Scenario(_Strict):
    schema_version: Literal[1] = 1
    name: Annotated[str, Field(max_length=200)] = "untitled"
    machine: MachineSpec = MachineSpec()
    kernel: Annotated[str, Field(max_length=10)] = "6.8"
    params: Params = Params()
    boot_memory: Annotated[list[BootRange], Field(min_length=1, max_length=256)] = [
        BootRange(start=0, size=4 << 30, node=0)]
    ops: Annotated[list[Op], Field(max_length=MAX_OPS)] = []
