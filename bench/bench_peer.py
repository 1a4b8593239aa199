"""The engine against a vectorised numpy peer, on the same ndarray of 1,000,000 random pfns.

Machine: scenario L (64 TiB, 5-level paging, 32,768 memory blocks of 2 GiB with memmap_on_memory).
The peer is what a numpy user would write from the kernel's arithmetic: the block of each pfn by
`np.searchsorted` over the block table, its struct page at vmemmap_base + pfn * sizeof(struct page),
and, for a block whose memmap is self-hosted (altmap at its start), the backing pfn
altmap_base + ((pfn - block_start) * sizeof(struct page) >> PAGE_SHIFT). The engine's
resolve_columns is fed the very same ndarray (read in place) and answers more (role, zone, mapping,
huge page, HVO remaps). Both run --runs times, alternately, in one process; prints the median wall and
CPU times of each (the CPU time is steadier on a shared machine), their ratios, and how many backing
pfns differ where the peer has an answer. Asserts nothing.
Usage: python bench/bench_peer.py [--pfns 1000000] [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def numpy_peer(pfns: np.ndarray, starts: np.ndarray, ends: np.ndarray, self_hosted: np.ndarray,
               vmemmap_base: int, struct_page_size: int, page_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(struct page VA as uint64, backing pfn or -1) of each pfn, vectorised."""
    i = np.searchsorted(starts, pfns, side="right") - 1
    i0 = np.maximum(i, 0)
    start = starts[i0]
    hosted = (i >= 0) & (pfns < ends[i0]) & self_hosted[i0]
    va = np.uint64(vmemmap_base) + pfns.astype(np.uint64) * np.uint64(struct_page_size)
    backing = np.where(hosted, start + (((pfns - start) * struct_page_size) >> page_shift), -1)
    return va, backing


def timed(fn, *args):
    """fn(*args), its wall time and its CPU time (the CPU time is steadier on a shared machine)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pfns", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    import engine
    from scenarios import SCENARIOS
    engine.evaluate(SCENARIOS["S"]())                                 # imports and first calls, untimed
    t0 = time.perf_counter()
    m = engine.evaluate(SCENARIOS["L"]())
    t_eval = time.perf_counter() - t0
    spans = m.block_spans(0, m.max_pfn)
    starts = np.array([b.start for b in spans], dtype=np.int64)
    ends = np.array([b.end for b in spans], dtype=np.int64)
    hosted = np.array([b.holds_altmap for b in spans], dtype=bool)
    s = m.summary()
    base, sps, shift = int(s["vmemmap_base"], 16), m.struct_page_size, m.arch.page_shift
    pfns = np.random.default_rng(42).integers(0, int(ends[-1]), size=a.pfns, dtype=np.int64)
    pfns.flags.writeable = False

    peer, engine_ = [], []                 # (wall, CPU) per run
    mismatches = compared = 0
    for _ in range(a.runs):
        (_, peer_backing), t, c = timed(numpy_peer, pfns, starts, ends, hosted, base, sps, shift)
        peer.append((t, c))
        cols, t, c = timed(m.resolve_columns, pfns)
        engine_.append((t, c))
        eng_backing = np.asarray(cols["backing"])
        known = peer_backing >= 0
        compared = int(known.sum())
        mismatches = max(mismatches, int(np.count_nonzero(eng_backing[known] != peer_backing[known])))
        del cols, eng_backing, peer_backing
    t_peer, c_peer = (statistics.median(x[i] for x in peer) for i in (0, 1))
    t_engine, c_engine = (statistics.median(x[i] for x in engine_) for i in (0, 1))
    print(f"machine: {s['blocks']} blocks ({int(hosted.sum())} self-hosted), {s['arch']}, "
          f"evaluated in {t_eval * 1e3:.0f} ms ({m.implementation})")
    print(f"{a.pfns:,} random pfns, one numpy int64 ndarray (read-only); median of {a.runs} runs each, alternated:")
    print(f"  numpy peer (searchsorted, VA, backing)  {t_peer * 1e3:8.1f} ms wall  {c_peer * 1e3:8.1f} ms CPU")
    print(f"  engine resolve_columns(ndarray)         {t_engine * 1e3:8.1f} ms wall  {c_engine * 1e3:8.1f} ms CPU")
    print(f"  engine / peer speed: {t_peer / t_engine:.1f}x wall, {c_peer / c_engine:.1f}x CPU (target >= 5x)")
    print(f"  backing pfns compared {compared:,}, mismatches {mismatches:,} (the most of any run)")


if __name__ == "__main__":
    main()
