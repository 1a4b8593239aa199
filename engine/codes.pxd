# The numbers of engine/codes.py for the Cython modules (compile-time constants: cimporting them
# imports nothing at run time). tests/engine/test_layers.py holds the two equal.

cdef enum:
    # frame roles (codes.ROLES)
    HOLE = 0
    USABLE = 1
    OFFLINE = 2
    MEMMAP_BOOT = 3
    MEMMAP_BUDDY = 4
    MEMMAP_SELF = 5
    ALTMAP_RESERVED = 6
    HUGETLB_HEAD = 7
    HUGETLB_TAIL = 8
    HVO_FREED = 9
    HVO_FREED_SELF = 10
    PAGE_TABLE = 11
    VMEMMAP_HVO_HEAD = 12
    VMEMMAP_RESTORED = 13
    SWAPCACHE = 14
    VMEMMAP_HVO_TAIL = 15
    NR_ROLES = 16

cdef enum:
    # vmemmap mappings (codes.MAPPINGS)
    NO_MAPPING = 0
    PMD = 1
    PTE = 2

cdef enum:
    # HVO states (codes.HVO_STATES)
    HVO_OFF = 0
    HVO_OPTIMIZED = 1
    HVO_REFUSED = 2
    HVO_NOT_OPTIMIZABLE = 3

cdef enum:
    # HVO reasons (codes.R)
    R_NONE = 0
    R_OFF_PARAM = 1
    R_OFF_SYSCTL = 2
    R_ARCH = 3
    R_STRUCT_PAGE = 4
    R_SMALL = 5
    R_SELFHOSTED = 6
    R_SECTION_FLAG = 7
    R_FIRST_MAPS_ITSELF = 8
    R_FIRST_PFN_FLAG = 9
    R_FIRST_PFN_SWAPCACHE = 10
    R_ENOMEM_SPLIT = 11
    R_OPTIMIZED = 12
    R_HAZARD = 13
    R_COPY_FALLBACK = 14
    R_ENOMEM_TAIL = 15
    R_ENOMEM_HEAD_COPY = 16

cdef enum:
    # zones (codes.ZONE_NAMES) and block states (codes.STATE_NAMES)
    ZONE_NONE = 0
    ZONE_DMA = 1
    ZONE_DMA32 = 2
    ZONE_NORMAL = 3
    ZONE_MOVABLE = 4
    BLOCK_ONLINE = 1
    BLOCK_OFFLINE = 2
