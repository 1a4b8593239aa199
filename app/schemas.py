"""Request and response shapes of REST API v1. The scenario document itself is engine.Scenario.

64-bit values (pfns, addresses, struct page addresses) travel as lower-case 0x-prefixed hex
strings; sizes in the short form ("2M", "128M"); `block` is the N of memoryN.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine import MAX_BINS
from engine import KPF, ROLES
from engine import Pfn, PfnList, Scenario

from .store import DEFAULT_WORKSPACE, WORKSPACE_PATTERN

__all__ = ["ScenarioId", "EvaluateRequest", "ResolveRequest", "WindowRequest", "VmemmapRequest",
           "ChainRequest", "SectionsRequest", "SectionsResponse", "VmemmapResponse", "ChainResponse",
           "EvaluateResponse", "ResolveResponse", "ResolveColumnsResponse", "WindowResponse", "SavedScenario",
           "ScenarioList", "Presets", "Health", "MAX_RESOLVE_PFNS", "RESOLVE_EXAMPLES", "rfc3339", "ErrorResponse",
           "Workspace"]

MAX_RESOLVE_PFNS = 100_000
Hex = Annotated[str, Field(pattern=r"^0x[0-9a-f]+$", examples=["0x100000"])]
ScenarioId = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$", description="Content hash of a saved scenario",
                                  examples=["3f2a9c0d1e4b5a6978877665"])]
Workspace = Annotated[str, Field(pattern=WORKSPACE_PATTERN, description=(
    "A workspace (a class, a team, one trainee): each has its own list of saved scenarios. "
    f"1 to 32 characters of a-z, 0-9 and '-', starting with a letter or a digit; `{DEFAULT_WORKSPACE}` "
    "holds what was saved before workspaces existed and what /api/v1/scenarios saves"),
    examples=["class-a"])]
RoleName = Literal[tuple(name for name, _ in ROLES)]  # type: ignore[valid-type]


# The README's scenario (128 MiB with memmap_on_memory at 0x100000000, online movable), pfns
# 0x100000 and 0x100200: tests/api/test_resolve_formats.py checks these against the live answer.
_PAGE_EXAMPLE = {"pfn": "0x100000", "phys_addr": "0x100000000", "node": 0, "zone": "Movable", "block": 32,
                 "section": 32, "state": "online", "struct_page_vaddr": "0xffffea0004000000",
                 "backing_pfn": "0x100000", "mapping": "pmd", "role": "memmap_self", "self_hosted": True,
                 "maps_to_itself": True, "kpageflags": "0x2100000000",
                 "kpageflags_names": ["RESERVED", "OWNER_PRIVATE"], "hugepage": None}
RESOLVE_EXAMPLES: dict[str, Any] = {
    "pages": {"scenario_id": None, "pages": [
        _PAGE_EXAMPLE,
        {**_PAGE_EXAMPLE, "pfn": "0x100200", "phys_addr": "0x100200000", "struct_page_vaddr": "0xffffea0004008000",
         "backing_pfn": "0x100008", "role": "usable", "maps_to_itself": False, "kpageflags": "0x400",
         "kpageflags_names": ["BUDDY"]}]},
    "columns": {"scenario_id": None, "format": "columns", "count": 2, "columns": {
        "pfn": ["0x100000", "0x100200"], "backing_pfn": ["0x100000", "0x100008"], "node": [0, 0], "zone": [4, 4],
        "block": [32, 32], "state": [1, 1], "mapping": [1, 1], "role": [5, 1], "self_hosted": [1, 1],
        "maps_to_itself": [1, 0], "hugepage": [None, None], "kpageflags": [0x2100000000, 0x400]},
        "hugepages": {"head_pfn": [], "size": [], "hvo": [], "reason": []},
        "legend": {"zone": [None, "DMA", "DMA32", "Normal", "Movable"], "state": ["absent", "online", "offline"],
                   "mapping": [None, "pmd", "pte"], "role": [name for name, _ in ROLES], "kpageflags": dict(KPF)},
        "derived": {"page_shift": 12, "section_shift": 15, "vmemmap_base": "0xffffea0000000000",
                    "memstart_pfn": "0x0", "struct_page_size": 64}},
}
RESOLVE_EXAMPLES["ndjson"] = "".join(
    json.dumps(p, separators=(",", ":")) + "\n" for p in RESOLVE_EXAMPLES["pages"]["pages"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


def rfc3339(epoch: float) -> str:
    """A store timestamp (seconds since the epoch) as the API writes times: RFC 3339, UTC, ms."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ requests
def _one_of_scenario(schema: dict) -> None:
    """Document the either/or: exactly one of the two keys, neither of them null."""
    for key in ("scenario", "scenario_id"):
        schema["properties"][key].pop("default", None)
    schema["oneOf"] = [{"required": ["scenario"]}, {"required": ["scenario_id"]}]


class ScenarioRef(_In):
    """Exactly one of `scenario` (the document inline) and `scenario_id` (a saved one)."""
    model_config = ConfigDict(json_schema_extra=_one_of_scenario)
    scenario: Scenario = Field(default=None)
    scenario_id: ScenarioId = Field(default=None)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ScenarioRef":
        if (self.scenario is None) == (self.scenario_id is None):
            raise ValueError("give exactly one of `scenario` and `scenario_id`")
        return self


class EvaluateRequest(ScenarioRef):
    blocks_offset: Annotated[int, Field(ge=0, le=1 << 40)] = 0
    blocks_limit: Annotated[int, Field(ge=0, le=65_536, description="Memory blocks listed, by id")] = 4096
    hugepages_offset: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    hugepages_limit: Annotated[int, Field(ge=0, le=100_000,
                                          description="Huge pages listed, by head pfn")] = 1000


class ResolveRequest(ScenarioRef):
    pfns: PfnList(min_length=1, max_length=MAX_RESOLVE_PFNS)
    format: Literal["pages", "columns"] = Field(default="pages", description=(
        '"pages": one object per pfn; "columns": one array per field, enums as integer codes named '
        "by `legend` (about 45 bytes per pfn instead of 310). With `Accept: application/x-ndjson` "
        "the answer is streamed as one page object per line instead, whatever the format."))


class WindowRequest(ScenarioRef):
    start_pfn: Pfn
    end_pfn: Pfn
    bins: Annotated[int, Field(ge=1, le=MAX_BINS)] = 1000
    figure: Optional[Literal["map"]] = Field(default=None, description=(
        "Also return the Plotly figure of the map (the dashboard's and `vmemscope render`'s); "
        "bins are then capped at 4096"))


class VmemmapRequest(ScenarioRef):
    """The vmemmap pages of one memory block (`block`, the N of memoryN) or one huge page (`head_pfn`),
    all of them or a page of them (`offset`, `limit`); the figure always draws them all."""
    block: Optional[Annotated[int, Field(ge=0, le=1 << 40)]] = None
    head_pfn: Optional[Pfn] = None
    figure: bool = False
    offset: Annotated[int, Field(ge=0, le=1 << 40, description="First vmemmap page listed (by index)")] = 0
    limit: Optional[Annotated[int, Field(ge=1, le=1 << 40)]] = Field(
        default=None, description="At most this many pages listed (default: every one; a 1 GiB huge page has "
                                  "4,096, some 0.9 MB of JSON); `pages_total` says how many there are")


class SectionsRequest(ScenarioRef):
    """Present memory sections in pfn order, a page of them."""
    offset: Annotated[int, Field(ge=0, le=1 << 40)] = 0
    limit: Annotated[int, Field(ge=1, le=4096)] = 256
    start_pfn: Optional[Pfn] = Field(default=None, description="Count `offset` from the section holding this pfn")


class ChainRequest(ScenarioRef):
    pfn: Pfn


# ------------------------------------------------------------------ responses
class ErrorDetail(_Out):
    loc: list[str | int] = Field(description='Where: ["body", "scenario", "ops", 3, "start"], ["path", ...], '
                                 '["body", "line 3, column 19 (char 36)"] for invalid JSON')
    msg: str
    type: str


class ErrorResponse(_Out):
    """The body of every 4xx and 5xx answer."""
    message: str = Field(description="One line: the first error's place and rule",
                         examples=["scenario.ops[0].start: not aligned to the 128 MiB memory block size"])
    detail: list[ErrorDetail]


class Memmap(_Out):
    where: Literal["self", "buddy", "memblock"]
    start_pfn: Optional[Hex]
    nr_pages: int
    mapping: Optional[str]
    reserved_pages: Optional[int] = None
    holder_block: Optional[int] = None


class MemmapOnMemory(_Out):
    used: bool
    reason: str


class Block(_Out):
    id: int
    name: str
    start: Hex
    size: str
    start_pfn: Hex
    end_pfn: Hex
    node: int
    state: Literal["online", "offline"]
    zone: Optional[str]
    boot: bool
    present_pages: int
    memmap: Memmap
    memmap_on_memory: MemmapOnMemory
    self_mapping_pfn: Optional[Hex] = Field(description="The first memmap pfn if it backs its own struct page")
    hazards: list[str]
    range: str = Field(description="lsmem RANGE: first-last physical address, 16 hex digits each")
    removable: bool = Field(description="lsmem REMOVABLE (sysfs `removable`: always 1 since v5.7)")
    zones: Optional[str] = Field(description="lsmem ZONES: the zone of an online block, None if it spans several; "
                                             "null for an offline block (candidates not modelled)")


HvoState = Literal["off", "optimized", "refused", "not_optimizable"]


class HugePage(_Out):
    head_pfn: Hex
    size: str
    block: Optional[int]
    node: int
    hvo: HvoState
    reason: str
    vmemmap_pages: int
    freed_pages: int
    pmd_splits: int
    vmemmap_vaddr: Hex
    tail_pfn: Optional[Hex] = Field(description="Frame the tail vmemmap pages map once optimised")
    tails_shared: bool = Field(description="7.1+: that frame is the zone's shared tail page (one per zone "
                                           "and order, never freed), not this page's own")


class SharedTail(_Out):
    """One zone's shared page of tail struct pages for one huge page order (zone->vmemmap_tails[])."""
    node: int
    zone: str
    order: int
    size: str
    pfn: Hex
    users: int = Field(description="Live optimised huge pages whose tails map it")


class Event(_Out):
    index: int
    op: str
    outcome: Literal["ok", "partial", "failed", "refused", "hazard"]
    message: str
    allocated: Optional[int] = None
    optimized: Optional[int] = None
    freed: Optional[int] = None
    effects: Optional[list[str]] = Field(default=None, description=(
        "What the kernel did on the side (e.g. huge pages dissolved by offlining, their vmemmap restored)"))


class Totals(_Out):
    arch: str
    kernel: str
    page_size: str
    memory_block_size: str
    implementation: Literal["cython", "python"]
    vmemmap_base: Hex
    memstart: Hex
    blocks: int
    blocks_online: int
    sections: int
    present_pages: int
    offline_pages: int
    managed_pages: int
    mem_total_kb: int
    free_pages: int
    memmap_pages: int
    memmap_bytes: int
    self_hosted_pages: int
    hugetlb_pages: int
    hugepages: dict[str, dict[HvoState, int]]
    hvo_freed_pages: int
    hvo_freed_bytes: int
    page_table_pages: int
    hvo_enabled: bool
    dmesg: list[str]
    hvo_shared_tails: list[SharedTail]
    hvo_shared_tail_pages: int
    role_pages: dict[str, int]


class PfnRanges(_Out):
    all: list[Hex] = Field(description="[lowest start_pfn, highest end_pfn) of all memory blocks")
    hotplug: Optional[list[Hex]] = Field(description="The same over hot-added blocks, if any")


class FixedPoint(_Out):
    """A pfn whose struct page lies in the page it describes."""
    pfn: Hex
    node: Optional[int]
    block: Optional[int]
    memmap: str = Field(description="Whose memmap: boot (memblock buffer), self_hosted (altmap), or the role")


class EvaluateResponse(_Out):
    scenario_id: Optional[ScenarioId]
    implementation: Literal["cython", "python"]
    blocks: list[Block]
    blocks_total: int
    pfn_ranges: PfnRanges
    hugepages: list[HugePage]
    hugepages_total: int
    totals: Totals
    fixed_points: list[FixedPoint] = Field(description="Those in the listed blocks")
    fixed_point_notes: dict[str, str] = Field(description="Why each kind of fixed point matters, or not")
    events: list[Event]


class PageHugepage(_Out):
    head_pfn: Hex
    size: str
    hvo: HvoState
    reason: str


class Page(_Out):
    pfn: Hex
    phys_addr: Hex
    node: Optional[int]
    zone: Optional[str]
    block: Optional[int]
    section: int
    state: Literal["online", "offline", "absent"]
    struct_page_vaddr: Optional[Hex]
    backing_pfn: Optional[Hex]
    mapping: Optional[Literal["pmd", "pte"]]
    role: RoleName
    self_hosted: bool
    maps_to_itself: bool
    kpageflags: Hex = Field(description="What /proc/kpageflags would say of the pfn (KPF_* bits the model "
                                        "knows: NOPAGE, BUDDY, COMPOUND_HEAD/TAIL, HUGE, RESERVED, "
                                        "OWNER_PRIVATE, SWAPCACHE)")
    kpageflags_names: list[str]
    hugepage: Optional[PageHugepage]


class ResolveResponse(_Out):
    scenario_id: Optional[ScenarioId]
    pages: list[Page]


class ResolveColumns(_Out):
    """Column k of every array is the pfn `pfn[k]`; null where the pages format says null."""
    pfn: list[Hex]
    node: list[Optional[int]]
    zone: list[int] = Field(description="Code: index into legend.zone (0: no zone)")
    block: list[Optional[int]]
    state: list[int] = Field(description="Code: index into legend.state (0: absent)")
    backing_pfn: list[Optional[Hex]] = Field(description="The frame backing the pfn's struct page")
    mapping: list[int] = Field(description="Code: index into legend.mapping (0: no memmap)")
    role: list[int] = Field(description="Code: index into legend.role")
    self_hosted: list[Literal[0, 1]]
    maps_to_itself: list[Literal[0, 1]] = Field(description="1 if backing_pfn == pfn")
    hugepage: list[Optional[int]] = Field(description="Row of the `hugepages` table, or null")
    kpageflags: list[int] = Field(description="/proc/kpageflags bitmask; legend.kpageflags names the bits")


class ResolveHugepages(_Out):
    """The huge pages the pfns fall in, one row per huge page, as columns."""
    head_pfn: list[Hex]
    size: list[str]
    hvo: list[HvoState]
    reason: list[str]


class ResolveLegend(_Out):
    zone: list[Optional[str]]
    state: list[Literal["absent", "online", "offline"]]
    mapping: list[Optional[Literal["pmd", "pte"]]]
    role: list[RoleName]
    kpageflags: dict[str, int] = Field(description="KPF_* name -> its bit in the kpageflags column")


class ResolveDerived(_Out):
    """The pages format's fields that are arithmetic of the pfn, left out of the columns:
    phys_addr = pfn << page_shift; section = pfn >> section_shift; struct_page_vaddr =
    vmemmap_base + (pfn - memstart_pfn) * struct_page_size for pfn >= memstart_pfn, else null."""
    page_shift: int
    section_shift: int
    vmemmap_base: Hex
    memstart_pfn: Hex
    struct_page_size: int


class ResolveColumnsResponse(_Out):
    scenario_id: Optional[ScenarioId]
    format: Literal["columns"]
    count: int
    columns: ResolveColumns
    hugepages: ResolveHugepages
    legend: ResolveLegend
    derived: ResolveDerived


class WindowResponse(_Out):
    """Bin i covers pfns [start + i*W // bins, start + (i+1)*W // bins), W = end_pfn - start_pfn."""
    scenario_id: Optional[ScenarioId]
    start_pfn: Hex
    end_pfn: Hex
    bins: int = Field(description="min(requested bins, end_pfn - start_pfn)")
    roles: list[RoleName] = Field(description="Role names; `dominant` holds indexes into this list")
    dominant: list[int] = Field(description="Per bin: the role with most pages (ties: lower index)")
    counts: dict[str, list[int]] = Field(description="Per role present in the window: pages per bin")
    figure: Optional[dict[str, Any]] = None


class VmemmapPage(_Out):
    index: int
    vaddr: Hex
    first_pfn: Hex
    last_pfn: Hex
    backing_pfn: Optional[Hex]
    original_pfn: Optional[Hex]
    mapping: Optional[Literal["pmd", "pte"]]
    self_hosted: bool
    freed: bool = Field(description="HVO remapped this page away and freed its original frame")
    state: Literal["mapped", "unmapped", "head", "head_copied", "kept", "remapped_ro"]


class VmemmapResponse(_Out):
    scenario_id: Optional[ScenarioId]
    target: dict[str, Any]
    pages: list[VmemmapPage] = Field(description="The pages from `offset`, at most `limit` of them")
    pages_total: int = Field(description="How many vmemmap pages the block or huge page has")
    offset: int
    figure: Optional[dict[str, Any]] = None


class Section(_Out):
    """One struct mem_section, as crash's kmem -n lists it."""
    section: int
    start_pfn: Hex
    end_pfn: Hex
    mem_map: Optional[Hex] = Field(description="Address of the section's first struct page")
    block: int
    node: int
    flags: list[str] = Field(description="SECTION_MARKED_PRESENT, SECTION_HAS_MEM_MAP, SECTION_IS_ONLINE, "
                                         "SECTION_IS_EARLY; SECTION_CANNOT_OPTIMIZE_VMEMMAP under the "
                                         "section_flag policy (the 2022 v2 proposal, never merged)")
    flag_bits: Hex = Field(description="The kernel's section_mem_map flag bits of those flags")


class SectionsResponse(_Out):
    scenario_id: Optional[ScenarioId]
    total: int
    offset: int
    sections: list[Section]


class ChainLink(_Out):
    pfn: Hex
    struct_page_vaddr: Optional[Hex]
    backing_pfn: Optional[Hex]
    role: RoleName


class ChainResponse(_Out):
    scenario_id: Optional[ScenarioId]
    chain: list[ChainLink]
    fixed_point: Optional[Hex] = Field(description="The pfn whose struct page lives in itself, if reached")


_TIME = {"json_schema_extra": {"format": "date-time"}, "examples": ["2026-11-30T19:04:05.123Z"]}


class SavedScenario(_Out):
    """A saved scenario as one workspace lists it (the document itself is at `url`, in every workspace)."""
    id: ScenarioId
    name: str
    bytes: int
    created_at: str = Field(**_TIME, description="When the document was first saved (in any workspace), "
                            "RFC 3339 in UTC")
    url: str = Field(description="The document (GET: canonical JSON, immutable)",
                     examples=["/api/v1/scenarios/3f2a9c0d1e4b5a6978877665"])
    workspace: str = Field(description="The workspace whose list this entry is in", examples=["class-a"])
    added_at: Optional[str] = Field(**_TIME, description="When it joined this workspace's list, RFC 3339 in UTC "
                                    "(null: not listed)")
    pinned: bool = Field(description="Pinned by a trainer: listed first, and not removable until unpinned")
    pinned_at: Optional[str] = Field(**_TIME, description="When it was pinned, RFC 3339 in UTC (null: not pinned)")
    listed: bool = Field(True, description="The workspace lists it (false: saved with listed=false, kept for its "
                         "id and permalink only)")


class ScenarioList(_Out):
    """One workspace's list: pinned entries first (in the order they were pinned), then newest first."""
    workspace: str = Field(examples=["class-a"])
    items: list[SavedScenario]
    total: int
    limit: int
    offset: int
    trainer_token_required: bool = Field(description="Pinning and unpinning need the X-Trainer-Token header "
                                         "(the server has VMEMSCOPE_TRAINER_TOKEN set)")


class Machine(_Out):
    key: str
    arch: str
    page_size: str
    paging_levels: int
    section_size: str
    pmd_size: str
    pageblock_order: int
    max_page_order: int
    vmemmap_start: Hex
    max_physmem_bits: int
    vmemmap_mapping: Literal["pmd", "pte"]
    hugetlb_sizes: list[str]


class RoleInfo(_Out):
    role: RoleName
    colour: str
    help: str


class Presets(_Out):
    machines: list[Machine]
    kernels: list[str]
    roles: list[RoleInfo]


class Health(_Out):
    status: Literal["ok"]
    engine: Literal["cython", "python"]
    cache: dict[str, int]


class WalkthroughInfo(_Out):
    slug: str
    title: str
    audience: str
    steps: int


class WalkthroughView(BaseModel):
    model_config = ConfigDict(extra="forbid")
    panel: Literal["map", "vmemmap"]
    range: list[Hex] = Field(min_length=2, max_length=2, description="[start_pfn, end_pfn)")
    select: Optional[dict[str, Any]] = None


class WalkthroughStep(_Out):
    index: int
    title: str
    narrative: str = Field(description="Markdown")
    narrative_html: str = Field(description="The narrative as sanitised HTML (CommonMark, raw HTML escaped)")
    view: WalkthroughView
    scenario: dict[str, Any] = Field(description="The scenario document of this step (schema_version 1)")
    claims: list[str] = Field(description="Facts this step claims, checked against the engine by the test suite")


class WalkthroughOut(_Out):
    slug: str
    title: str
    audience: str
    steps: list[WalkthroughStep]
