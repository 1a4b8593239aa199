"""Live: boot Debian's kernels under QEMU (6.1 from bookworm, 6.12 from bookworm-backports, 7.3 from
trixie-backports), hot-plug the DIMMs, allocate HugeTLB pages, read the guest's page tables for HVO
layouts, shared tail frames and the boot memmap order, and compare with the engine
(validate/harness.py). Each report stays in test-output/kernel/<kernel>/ as a CI artifact. Under
CI=true the tools and kernels must be there (`make kernel-deps` fetches them); elsewhere the test
is skipped without them."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from validate import harness as H
from validate import kernels as K

SCENARIOS = Path(H.__file__).parent / "scenarios"
RUNS = [("6.1", None), ("6.12", "B_mmo0_hvo_on.json"), ("7.3", "G_movable_gigantic.json")]


def kernel_image(version: str) -> str | None:
    return K.system_kernel() if version == "6.1" else (str(K.cached(version)) if K.cached(version) else None)


@pytest.mark.parametrize("version,scenario", RUNS, ids=[v for v, _ in RUNS])
def test_engine_agrees_with_a_running_kernel(version, scenario):
    image = kernel_image(version)
    missing = [what for what, ok in (("qemu-system-x86_64", shutil.which("qemu-system-x86_64")),
                                     (f"the {version} kernel", image),
                                     ("busybox", shutil.which("busybox") or os.path.exists("/bin/busybox")))
               if not ok]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"missing {', '.join(missing)}: `make kernel-deps` installs qemu-system-x86, "
                        "linux-image-amd64 and busybox-static and fetches the 6.12 and 7.3 kernels", pytrace=False)
        pytest.skip(f"missing {', '.join(missing)} (make kernel-deps)")
    sc = json.loads((SCENARIOS / scenario).read_text()) if scenario else H.DEFAULT
    out = Path(os.environ.get("VMEMSCOPE_TEST_OUTPUT", "test-output")) / "kernel" / version
    r = H.validate(sc, image, out=out)
    assert (out / "report.json").is_file() and (out / "console.log").stat().st_size > 0
    assert r["kernel"].startswith(version + "."), r["kernel"]
    assert r["mismatches"] == [], r["mismatches"]
    vm = next(s for s in r["steps"] if s["step"] == "vmemmap")
    assert vm["engine"]["head_kpageflags"] in (vm["kernel"]["head_kpageflags"], None)   # COMPOUND_HEAD|HUGE
    if version == "6.1":                                  # scenario C: memmap_on_memory really happened
        d1 = next(s for s in r["steps"] if s["step"] == "d1")
        assert d1["kernel"]["memory32_selfhosted"]["count"] == 512
        assert vm["kernel"]["boot_memmap_order"] == "up"
    else:                                                 # HVO on: the layout of its release
        assert vm["kernel"]["hvo_layouts"] == (["own"] if version == "6.12" else ["shared"])
    if version == "7.3":                                  # G: a 1 GiB page from ZONE_MOVABLE
        g = next(s for s in r["steps"] if s["step"] == "hugetlb:1:1048576")
        assert g["kernel"]["nr_hugepages"] == g["engine"]["nr_hugepages"] == 1
        assert vm["kernel"]["boot_memmap_order"] == "down" and vm["kernel"]["shared_tail_frames"] >= 2
