"""Request and response shapes of POST /api/v1/import: a snapshot written by app/collect.py on a real
machine, or `lsmem --json --all` output (the router is app/routers/imports.py)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine import MAX_BLOCKS, Scenario

from . import collect

__all__ = ["Snapshot", "Lsmem", "ImportRequest", "ImportResponse"]

Short = Annotated[str, Field(max_length=200)]
Long = Annotated[str, Field(max_length=4096)]
HexAddr = Annotated[str, Field(pattern=r"^0x[0-9a-f]{1,16}$")]
NodeId = Annotated[int, Field(ge=0, le=63)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ snapshot (app/collect.py)
class SnapUname(_In):
    release: Optional[Short] = Field(default=None, description="/proc/sys/kernel/osrelease, e.g. 6.12.95+deb12-amd64")
    machine: Optional[Short] = Field(default=None, description="x86_64 or aarch64")


class SnapBlock(_In):
    """One /sys/devices/system/memory/memoryN directory, values as the kernel prints them."""
    id: Annotated[int, Field(ge=0, le=1 << 40, description="The N of memoryN")]
    state: Short
    valid_zones: Optional[Short] = None
    phys_index: Optional[Short] = None
    node: Optional[NodeId] = None
    removable: Optional[Short] = None
    kpageflags_first: Optional[Short] = Field(default=None, description="/proc/kpageflags of the first pfn")
    owner_private_run: Optional[Annotated[int, Field(ge=0, le=1 << 32)]] = Field(
        default=None, description="Pfns from the block's start with bit 37 (PG_vmemmap_self_hosted)")


class SnapPool(_In):
    node: NodeId
    size_kb: Annotated[int, Field(ge=1, le=1 << 34)]
    nr_hugepages: Annotated[int, Field(ge=0, le=1 << 32)]


class Unreadable(_In):
    path: Short
    reason: Short


class CpuFlags(_In):
    la57: bool
    hypervisor: bool


class KpageflagsScan(_In):
    head_stride_pages: Annotated[int, Field(ge=0, le=1 << 32)]
    heads: Optional[Annotated[list[HexAddr], Field(max_length=collect.MAX_HEADS)]] = None
    heads_complete: bool


class Snapshot(_In):
    """What `python3 app/collect.py --snapshot FILE` writes: raw values read from sysfs and procfs."""
    format: Literal["vmemscope-snapshot"]
    version: Literal[1]
    sysroot: Optional[Long] = None
    source: Optional[Literal["sysfs", "lsmem"]] = None
    uname: SnapUname = SnapUname()
    page_size: Optional[Annotated[int, Field(ge=1, le=1 << 30)]] = None
    block_size_bytes: Annotated[str, Field(max_length=40, description="Hex, as in block_size_bytes")]
    memory_blocks: Annotated[list[SnapBlock], Field(min_length=1, max_length=MAX_BLOCKS)]
    auto_online_blocks: Optional[Short] = None
    memmap_on_memory: Optional[Short] = Field(default=None, description="Y, N or force")
    hugetlb_optimize_vmemmap: Optional[Short] = Field(default=None, description="0 or 1")
    cmdline: Optional[Long] = None
    cpu_flags: Optional[CpuFlags] = None
    hugetlb_pools: Annotated[list[SnapPool], Field(max_length=4096)] = []
    iomem_system_ram: Optional[Annotated[list[Annotated[list[HexAddr], Field(min_length=2, max_length=2)]],
                                         Field(max_length=4096)]] = None
    kpageflags: Optional[KpageflagsScan] = None
    unreadable: Annotated[list[Unreadable], Field(max_length=1000)] = []
    observed: Annotated[list[Long], Field(max_length=1000)] = []
    inferred: Annotated[list[Long], Field(max_length=1000)] = []
    notes: Annotated[list[Long], Field(max_length=1000)] = []


# ------------------------------------------------------------------ lsmem --json --all [--output-all]
LsText = Annotated[str, Field(max_length=200)]


class LsmemRow(_In):
    """One row of `lsmem --json --all`; --output-all adds node and zones (and newer util-linux more)."""
    range: LsText = Field(description="0x0000000000000000-0x0000000007ffffff")
    size: Optional[Union[LsText, int]] = None
    state: Optional[LsText] = None
    removable: Optional[Union[bool, LsText]] = None
    block: Union[LsText, Annotated[int, Field(ge=0, le=1 << 40)]] = Field(description='"N" or "N-M"')
    node: Optional[Union[Annotated[int, Field(ge=0, le=63)], LsText]] = None
    zones: Optional[LsText] = None
    start: Optional[Union[LsText, int]] = None
    end: Optional[Union[LsText, int]] = None
    configured: Optional[Union[bool, LsText]] = None
    memmap_on_memory: Optional[Union[bool, LsText]] = Field(default=None, alias="memmap-on-memory")


class Lsmem(_In):
    memory: Annotated[list[LsmemRow], Field(min_length=1, max_length=MAX_BLOCKS)]


def _one_of(schema: dict) -> None:
    for key in ("snapshot", "lsmem"):
        schema["properties"][key].pop("default", None)
    schema["oneOf"] = [{"required": ["snapshot"]}, {"required": ["lsmem"]}]


class ImportRequest(_In):
    """Exactly one of `snapshot` (from app/collect.py) and `lsmem` (`lsmem --json --all`)."""
    model_config = ConfigDict(json_schema_extra=_one_of)
    snapshot: Snapshot = Field(default=None)
    lsmem: Lsmem = Field(default=None)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ImportRequest":
        if (self.snapshot is None) == (self.lsmem is None):
            raise ValueError("give exactly one of `snapshot` and `lsmem`")
        return self


class ImportResponse(_Out):
    scenario: Scenario = Field(description="The machine as a scenario document (it evaluates)")
    observed: list[str] = Field(description="Facts read from the machine")
    inferred: list[str] = Field(description="Facts guessed from them, e.g. which blocks were hot-added")
    notes: list[str] = Field(description="Files that could not be read, releases clamped, pools left out")


# ------------------------------------------------------------------ endpoint
