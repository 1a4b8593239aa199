"""Extract the facts the kernel tests compare from ../shared/reference/kernel-gt into compact fixtures
under tests/kernel/fixtures/ (committed, so CI needs no copy of the 9 MB recording).

Usage: python tests/kernel/extract_fixtures.py [KERNEL_GT_DIR]
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [("6.1", "B_mmo0_hvo_on"), ("6.1", "C_mmo1_hvo_off"), ("6.12", "B_mmo0_hvo_on"),
        ("6.12", "C_mmo1_hvo_off"), ("6.12", "F_mmo0_hvo_on_movable"), ("7.3", "B_mmo0_hvo_on"),
        ("7.3", "C_mmo1_hvo_off"), ("7.3", "F_mmo0_hvo_on_movable"), ("7.3", "G_mmo0_hvo_on_movable_gigantic")]
STEPS = ["0_boot", "1_after_d1", "2_after_d2", "9_after_hugetlb", "10_after_free"]
HP_COLS = ["head_pfn", "order", "region", "memory_block", "vmemmap_pages", "mapping_sizes", "page0_backing_pfn",
           "tails_remapped_to_page0", "tails_total", "tails_readonly", "hvo", "page0_new_frame",
           "page0_backing_region", "tail_target_pfn", "tail_target_region"]


def extract(src: Path, kernel: str, name: str) -> dict:
    d = src / kernel / name
    r = json.loads((d / "results.json").read_text())
    with open(d / "hugepages_hvo.csv") as f:
        hps = [{k: row.get(k, "") for k in HP_COLS} for row in csv.DictReader(f)]
    heads = {int(h["head_pfn"], 16) for h in hps}
    leaves = {}
    for step in STEPS:       # every PMD leaf, and the PTE leaf of each huge page's head struct page
        with open(d / f"vmemmap_leaves_{step}.csv") as f:
            leaves[step] = [{k: row[k] for k in ("va", "page_size", "backing_pfn", "first_pfn_described",
                                                  "last_pfn_described", "rw")} for row in csv.DictReader(f)
                            if row["page_size"] != "4096" or int(row["first_pfn_described"]) in heads]
    return {
        "source": f"kernel-gt/{kernel}/{name}", "uname": r["uname"], "kernel_cmdline": r["kernel_cmdline"],
        "block_size_bytes": r["block_size_bytes"], "hugetlb_alloc": r["hugetlb_alloc"],
        "hvo_summary": r["hvo_summary"],
        "memtotal_kb": {s: v["MemTotal"] for s, v in r["meminfo_table"].items()},
        "owner_private": {k: {b: v["owner_private_summary"] for b, v in r[k].items()}
                          for k in ("d1_kpageflags", "d2_kpageflags")},
        # kpageflags of each block's first four pfns and of pfns 510..514 (around a memmap's end)
        "kpageflags": {hex(pfn): flags for k in ("d1_kpageflags", "d2_kpageflags") for v in r[k].values()
                       for pfn, flags in ([(v["first_pfn"] + i, f[0]) for i, f in enumerate(v["flags_first4"])]
                                          + [(p, f) for p, f, _ in v["flags_510_to_514"]])},
        "vmemmap_leaves": leaves, "hugepages": hps,
        "pre_hugetlb": (r.get("pre_hugetlb") or {}).get("cmd", ""),
    }


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "reference" / "kernel-gt"
    out = HERE / "fixtures"
    out.mkdir(exist_ok=True)
    for kernel, name in RUNS:
        doc = extract(src, kernel, name)
        (out / f"{kernel}_{name}.json").write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"{kernel}/{name}: {len(doc['hugepages'])} huge pages, "
              f"{sum(len(v) for v in doc['vmemmap_leaves'].values())} vmemmap leaves")


if __name__ == "__main__":
    main()
