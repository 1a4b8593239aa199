"""Helpers of the collector tests: sysroot trees copied into a temporary directory, with a sparse
/proc/kpageflags written from the recorded flags (make_sysroots.py), and the sample documents."""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSROOTS = HERE / "sysroots"
SAMPLES = HERE / "samples"
REPO = HERE.parent.parent


def write_kpageflags(path: Path, runs: list[list[int]]) -> None:
    """8 bytes per pfn, little-endian u64 at offset pfn * 8; unwritten pfns read as 0 (a sparse file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for pfn, n, flags in runs:
            f.seek(pfn * 8)
            f.write(struct.pack("<Q", flags) * n)


def tree(tmp: Path, name: str, kpageflags: bool = True) -> Path:
    """A private copy of sysroots/<name> under tmp (tests may break it), kpageflags included."""
    root = tmp / name
    shutil.copytree(SYSROOTS / name, root, symlinks=True)
    runs = SYSROOTS / f"{name}.kpageflags.json"
    if kpageflags and runs.exists():
        write_kpageflags(root / "proc" / "kpageflags", json.loads(runs.read_text()))
    return root


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())
