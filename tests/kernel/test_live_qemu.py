"""Live: boot Debian's kernel under QEMU, hot-plug the DIMMs, allocate HugeTLB pages, and compare with
the engine (validate/harness.py). The report stays in test-output/kernel/ as a CI artifact. Under
CI=true the tools must be there (.ci/run installs them); elsewhere the test is skipped without them."""
from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from validate import harness as H

MISSING = [what for what, ok in (("qemu-system-x86_64", shutil.which("qemu-system-x86_64")),
                                 ("/boot/vmlinuz-*", glob.glob("/boot/vmlinuz-*")),
                                 ("busybox", shutil.which("busybox") or os.path.exists("/bin/busybox"))) if not ok]


def test_engine_agrees_with_a_running_kernel():
    if MISSING:
        if os.environ.get("CI") == "true":
            pytest.fail(f"missing {', '.join(MISSING)}: .ci/run installs qemu-system-x86, linux-image-amd64 "
                        "and busybox-static")
        pytest.skip(f"missing {', '.join(MISSING)} (make kernel-deps)")
    out = Path(os.environ.get("VMEMSCOPE_TEST_OUTPUT", "test-output")) / "kernel"
    r = H.validate(H.DEFAULT, out=out)
    assert (out / "report.json").is_file() and (out / "console.log").stat().st_size > 0
    assert r["mismatches"] == [], r["mismatches"]
    d1 = next(s for s in r["steps"] if s["step"] == "d1")
    assert d1["kernel"]["memory32_selfhosted"]["count"] == 512          # memmap_on_memory really happened
