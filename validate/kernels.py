"""The Debian kernels the live validation boots, fetched as plain vmlinuz files (nothing installed):
6.1 is the system's own (linux-image-amd64 on bookworm), 6.12 comes from bookworm-backports and 7.3
from trixie-backports (split packaging: the image is linux-binary-unsigned-<kver>). apt downloads them
through a private source list that names the Debian mirror the system is already configured with.

Usage: python3 -m validate.kernels [fetch] [6.12 7.3]   (prints one "VERSION PATH" line per kernel)
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# version -> (suite, package name pattern, path of the image inside the package)
SOURCES = {
    "6.12": ("bookworm-backports", r"linux-image-6\.12\.\d+\+deb12-amd64-unsigned", "boot/vmlinuz-*"),
    "7.3": ("trixie-backports", r"linux-binary-unsigned-7\.3\.\d+\+deb13-amd64",
            "usr/lib/modules/*/vmlinuz.unsigned"),
}
CACHE = Path(os.environ.get("VMEMSCOPE_KERNEL_CACHE", Path.home() / ".cache" / "vmemscope" / "kernels"))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class KernelError(RuntimeError):
    pass


def system_kernel() -> str | None:
    """The newest /boot/vmlinuz-* (Debian 12's 6.1 after `apt-get install linux-image-amd64`)."""
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    return found[-1] if found else None


def mirror() -> str:
    """The Debian archive URI the system's apt already uses (deb822 .sources or one-line .list)."""
    texts = [Path(p).read_text() for p in sorted(glob.glob("/etc/apt/sources.list.d/*")) + ["/etc/apt/sources.list"]
             if os.path.isfile(p)]
    for t in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", t, re.M) + re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", t, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise KernelError("no Debian archive in /etc/apt/sources.list*: cannot fetch the backports kernels")


def cached(version: str) -> Path | None:
    found = sorted(CACHE.glob(f"vmlinuz-{version}.*"))
    return found[-1] if found else None


def fetch(version: str) -> Path:
    """The vmlinuz of the newest Debian build of this release, downloaded once into CACHE."""
    if version not in SOURCES:
        raise KernelError(f"no source for kernel {version}: {', '.join(SOURCES)}")
    have = cached(version)
    if have:
        return have
    suite, pattern, inner = SOURCES[version]
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vmemscope-apt-") as d:
        w = Path(d)
        (w / "lists" / "partial").mkdir(parents=True)
        (w / "sources.list").write_text(f"deb [signed-by={KEYRING}] {mirror()} {suite} main\n")
        opts = [f"-oDir::Etc::SourceList={w / 'sources.list'}", "-oDir::Etc::SourceParts=-",
                f"-oDir::State::Lists={w / 'lists'}", "-oDir::State::status=/dev/null",
                f"-oDir::Cache={w / 'cache'}", "-oAPT::Sandbox::User=root", "-qq"]
        _run(["apt-get", *opts, "update"], w)
        names = _run(["apt-cache", *opts, "pkgnames"], w).split()
        pkgs = sorted((n for n in names if re.fullmatch(pattern, n)), key=_version_key)
        if not pkgs:
            raise KernelError(f"{suite} has no package matching {pattern}")
        _run(["apt-get", *opts, "download", pkgs[-1]], w)
        deb = next(w.glob("*.deb"))
        _run(["dpkg-deb", "-x", str(deb), str(w / "x")], w)
        images = sorted((w / "x").glob(inner))
        if not images:
            raise KernelError(f"{deb.name} holds no {inner}")
        kver = re.search(r"\d+\.\d+\.\d+[^_/]*", pkgs[-1]).group(0).removesuffix("-unsigned")
        dest = CACHE / f"vmlinuz-{kver}"
        shutil.copy(images[-1], dest)
    return dest


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", name))


def _run(argv: list[str], cwd: Path) -> str:
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise KernelError(f"{' '.join(argv[:2])} failed: {r.stderr.strip()[-300:]}")
    return r.stdout


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "fetch"] or list(SOURCES)
    try:
        for v in args:
            print(v, fetch(v))
    except (KernelError, OSError, subprocess.TimeoutExpired) as e:
        print(f"validate.kernels: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
