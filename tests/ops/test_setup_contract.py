"""The README's test command (`make test`) sets up everything the suite needs on a fresh Debian
machine; CI (.ci/run) calls nothing else."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dry_run(target: str) -> str:
    # -B: pretend every stamp is stale, as on a fresh clone; -n: print the recipes, run nothing
    out = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    # under `make test` itself the inner make says "make[1]: Entering/Leaving directory": not recipe
    return "\n".join(ln for ln in out.splitlines() if not ln.startswith("make["))


def test_make_test_installs_kernel_validation_postgres_and_browser_packages():
    recipe = _dry_run("test")
    for pkg in ("busybox-static", "qemu-system-x86", "linux-image-amd64", "postgresql", "chromium",
                "fonts-liberation"):
        assert re.search(rf"apt-get install [^\n]*\b{re.escape(pkg)}\b", recipe), pkg
    assert re.search(r"pip[^\n]* install [^\n]*\.\[test,postgres\]", recipe)
    assert "-m pytest" in recipe.splitlines()[-1]


def test_ci_only_calls_make_test():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    makes = [ln for ln in lines if re.match(r"make\s+[a-z]", ln)]
    assert makes == ["make test"]
