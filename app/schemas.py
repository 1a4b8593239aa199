"""Request and response shapes of REST API v1. The scenario document itself is engine.Scenario.

64-bit values (pfns, addresses, struct page addresses) travel as lower-case 0x-prefixed hex
strings; sizes in the short form ("2M", "128M"); `block` is the N of memoryN.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine import MAX_BINS
from engine import ROLES
from engine import Addr, Scenario

__all__ = ["ScenarioId", "EvaluateRequest", "ResolveRequest", "WindowRequest", "VmemmapRequest",
           "ChainRequest", "VmemmapResponse", "ChainResponse", "EvaluateResponse",
           "ResolveResponse", "WindowResponse", "SavedScenario", "ScenarioList", "Presets", "Health",
           "MAX_RESOLVE_PFNS"]

MAX_RESOLVE_PFNS = 100_000
Hex = Annotated[str, Field(pattern=r"^0x[0-9a-f]+$", examples=["0x100000"])]
ScenarioId = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$", description="Content hash of a saved scenario",
                                  examples=["3f2a9c0d1e4b5a6978877665"])]
RoleName = Literal[tuple(name for name, _ in ROLES)]  # type: ignore[valid-type]
Pfn = Annotated[Addr, Field(description='A pfn: "0x100000" or an integer')]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    pfns: Annotated[list[Pfn], Field(min_length=1, max_length=MAX_RESOLVE_PFNS)]


class WindowRequest(ScenarioRef):
    start_pfn: Pfn
    end_pfn: Pfn
    bins: Annotated[int, Field(ge=1, le=MAX_BINS)] = 1000
    figure: Optional[Literal["map"]] = Field(default=None, description=(
        "Also return the Plotly figure of the map (the dashboard's and `vmemscope render`'s); "
        "bins are then capped at 4096"))


class VmemmapRequest(ScenarioRef):
    """The vmemmap pages of one memory block (`block`, the N of memoryN) or one huge page (`head_pfn`)."""
    block: Optional[Annotated[int, Field(ge=0, le=1 << 40)]] = None
    head_pfn: Optional[Pfn] = None
    figure: bool = False


class ChainRequest(ScenarioRef):
    pfn: Pfn


# ------------------------------------------------------------------ responses
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


class Event(_Out):
    index: int
    op: str
    outcome: Literal["ok", "partial", "failed", "refused", "hazard"]
    message: str
    allocated: Optional[int] = None
    optimized: Optional[int] = None
    freed: Optional[int] = None


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
    role_pages: dict[str, int]


class PfnRanges(_Out):
    all: list[Hex] = Field(description="[lowest start_pfn, highest end_pfn) of all memory blocks")
    hotplug: Optional[list[Hex]] = Field(description="The same over hot-added blocks, if any")


class EvaluateResponse(_Out):
    scenario_id: Optional[ScenarioId]
    implementation: Literal["cython", "python"]
    blocks: list[Block]
    blocks_total: int
    pfn_ranges: PfnRanges
    hugepages: list[HugePage]
    hugepages_total: int
    totals: Totals
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
    hugepage: Optional[PageHugepage]


class ResolveResponse(_Out):
    scenario_id: Optional[ScenarioId]
    pages: list[Page]


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
    pages: list[VmemmapPage]
    figure: Optional[dict[str, Any]] = None


class ChainLink(_Out):
    pfn: Hex
    struct_page_vaddr: Optional[Hex]
    backing_pfn: Optional[Hex]
    role: RoleName


class ChainResponse(_Out):
    scenario_id: Optional[ScenarioId]
    chain: list[ChainLink]
    fixed_point: Optional[Hex] = Field(description="The pfn whose struct page lives in itself, if reached")


class SavedScenario(_Out):
    id: ScenarioId
    name: str
    bytes: int
    created_at: float
    url: str


class ScenarioList(_Out):
    items: list[SavedScenario]
    total: int
    limit: int
    offset: int


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
