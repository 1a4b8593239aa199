"""Build the Dockerfile's image without a Docker engine, by replaying it in chroots, then start it.

Where no Docker engine runs (this project's CI and development machines), this is the closest check
that the image builds and starts: every instruction of every stage is carried out as the builder
would (ARG/ENV/WORKDIR/COPY honouring .dockerignore, RUN in a chroot of the stage's root, RUN
--mount=type=bind,from=<stage>, USER), then the final stage's CMD runs as its USER and is probed
through its HEALTHCHECK command, `/`, `/readyz` and a PNG and an SVG figure (kaleido with the image's
own Chromium).

The base image is the one thing that is emulated: `python:3.11.7-slim-bookworm` is Debian 12
(`debootstrap --variant=minbase bookworm`) with the official image's run-time packages and CPython
3.11.7 in /usr/local, copied from the host's build of that exact version. Needs root, debootstrap,
a Debian mirror and PyPI; takes ~10 min and ~3 GiB under --work.

Usage: python validate/image_replay.py [--work /var/tmp/vmemscope-image] [--port 8765]
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what the official python:*-slim-bookworm images keep after building CPython (their Dockerfile's apt-mark list)
SLIM_PACKAGES = ["ca-certificates", "netbase", "tzdata", "libbz2-1.0", "libexpat1", "libffi8", "libgdbm6",
                 "liblzma5", "libncursesw6", "libreadline8", "libsqlite3-0", "libssl3", "libuuid1", "zlib1g"]


def sh(cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
    print("+", cmd if isinstance(cmd, str) else shlex.join(cmd), flush=True)
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue
        cur += line.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def ignored(rel: str, patterns: list[str]) -> bool:
    hit = False
    for p in patterns:
        neg = p.startswith("!")
        p = p.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*") or \
                (p.startswith("**/") and (fnmatch.fnmatch(rel, p[3:]) or fnmatch.fnmatch(os.path.basename(rel), p[3:]))):
            hit = not neg
    return hit


def copy_context(srcs: list[str], dest: Path, patterns: list[str]) -> None:
    """COPY <srcs> <dest> from the build context, leaving out what .dockerignore names."""
    many = len(srcs) > 1 or str(dest).endswith("/")
    for s in srcs:
        src = ROOT / s
        if src.is_dir():
            target = dest if not many or len(srcs) == 1 else dest / src.name
            for p in src.rglob("*"):
                rel = p.relative_to(ROOT).as_posix()
                if p.is_file() and not ignored(rel, patterns):
                    t = target / p.relative_to(src)
                    t.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, t)
        else:
            t = dest / src.name if many else dest
            t.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, t)


class Stage:
    def __init__(self, root: Path, name: str | None):
        self.root, self.name = root, name
        self.env: dict[str, str] = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                                    "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
        self.workdir, self.user = "/", "root"
        self.cmd: list[str] = []
        self.healthcheck: list[str] = []

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")


def mount_api(root: Path) -> list[Path]:
    points = []
    for fs, where, opts in (("proc", "proc", []), ("sysfs", "sys", []), ("devtmpfs", "dev", []),
                            ("tmpfs", "dev/shm", []), ("tmpfs", "tmp", [])):
        p = root / where
        p.mkdir(parents=True, exist_ok=True)
        sh(["mount", "-t", fs, fs, str(p)] + opts)
        points.append(p)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    return points


def umount(points: list[Path]) -> None:
    for p in reversed(points):
        subprocess.run(["umount", "-l", str(p)], check=False)


def umount_under(root: Path) -> None:
    """Whatever an interrupted earlier run left mounted inside root."""
    inside = [Path(ln.split()[1]) for ln in Path("/proc/mounts").read_text().splitlines()
              if ln.split()[1].startswith(str(root) + "/")]
    umount(sorted(inside, key=lambda p: len(p.parts)))


def make_base(work: Path) -> Path:
    """The stand-in for python:3.11.7-slim-bookworm (see the module docstring)."""
    base = work / "base"
    if (base / ".done").exists():
        return trust_host_cas(base)
    if not (base / "etc/debian_version").exists():
        sh(["debootstrap", "--variant=minbase", "bookworm", str(base), "http://deb.debian.org/debian"])
    pts = mount_api(base)
    try:
        sh(["chroot", str(base), "apt-get", "update", "-qq"])
        sh(["chroot", str(base), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *SLIM_PACKAGES])
    finally:
        umount(pts)
    prefix = Path(sysconfig.get_config_var("prefix"))
    if sysconfig.get_python_version() != "3.11" or sys.version_info[:3] != (3, 11, 7):
        raise SystemExit(f"run this with CPython 3.11.7 (the base image's), not {sys.version.split()[0]}")
    local = base / "usr/local"
    for part in ("bin/python3.11", "lib/libpython3.11.so.1.0", "lib/libpython3.11.so", "lib/python3.11", "include/python3.11"):
        (local / part).parent.mkdir(parents=True, exist_ok=True)
        sh(["cp", "-a", str(prefix / part), str(local / part)])
    site = local / "lib/python3.11/site-packages"        # the host's packages are not the image's
    shutil.rmtree(site)
    site.mkdir()
    for name, to in (("python3", "python3.11"), ("python", "python3.11")):
        (local / "bin" / name).unlink(missing_ok=True)
        (local / "bin" / name).symlink_to(to)
    sh(["chroot", str(base), "ldconfig"])
    sh(["chroot", str(base), "/usr/local/bin/python3", "-m", "ensurepip", "--default-pip"])
    (local / "bin/pip").unlink(missing_ok=True)
    (local / "bin/pip").symlink_to("pip3")
    sh(["chroot", str(base), "/usr/local/bin/python3", "-c", "import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid; print('base python ok')"])
    (base / ".done").touch()
    return trust_host_cas(base)


def build_network_env() -> dict[str, str]:
    """Where the host points its TLS clients at the system store (pip uses its own otherwise), RUN
    does too: part of the build network, not of the image."""
    return {k: "/etc/ssl/certs/ca-certificates.crt" for k in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
            if k in os.environ}


def trust_host_cas(root: Path) -> Path:
    """The host's local CA certificates (a TLS-intercepting egress proxy, say) are the build
    network's, not the image's, but the stand-in base must trust them to reach PyPI as the builder would."""
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    if extra:
        (root / "usr/local/share/ca-certificates").mkdir(parents=True, exist_ok=True)
        for c in extra:
            shutil.copy(c, root / "usr/local/share/ca-certificates" / c.name)
        sh(["chroot", str(root), "update-ca-certificates"], stdout=subprocess.DEVNULL)
    return root


def build(work: Path) -> Stage:
    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    st: Stage | None = None
    base = make_base(work)
    mounts: list[Path] = []

    def expand(s: str) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: {**args, **(st.env if st else {})}.get(m.group(1) or m.group(2), ""), s)

    for n, (ins, rest) in enumerate(instructions((ROOT / "Dockerfile").read_text())):
        if ins == "ARG":
            k, _, v = rest.partition("=")
            args.setdefault(k, v)
        elif ins == "FROM":
            umount(mounts)
            parts = expand(rest).split()
            image = parts[0]
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else f"stage{len(stages)}"
            if not image.startswith("python:3.11.7-slim-bookworm"):
                raise SystemExit(f"only the python:3.11.7-slim-bookworm base is emulated, not {image}")
            root = work / name
            if root.exists():
                umount_under(root)
                sh(["rm", "-rf", "--one-file-system", str(root)])
            sh(["cp", "-a", str(base), str(root)])
            st = stages[name] = Stage(root, name)
            mounts = mount_api(root)
        elif ins == "ENV":
            for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', rest):
                st.env[k] = expand(v.strip('"'))
        elif ins == "WORKDIR":
            st.workdir = expand(rest)
            st.path(st.workdir).mkdir(parents=True, exist_ok=True)
        elif ins == "COPY":
            parts = shlex.split(expand(rest))
            copy_context(parts[:-1], st.path(parts[-1] if parts[-1].startswith("/") else f"{st.workdir}/{parts[-1]}"), patterns)
        elif ins == "RUN":
            binds = []
            while rest.startswith("--mount="):
                opt, _, rest = rest.partition(" ")
                rest = rest.lstrip()
                kv = dict(x.split("=", 1) for x in opt[len("--mount="):].split(","))
                src = stages[kv["from"]].path(kv["source"])
                tgt = st.path(kv["target"])
                tgt.mkdir(parents=True, exist_ok=True)
                sh(["mount", "--bind", "-o", "ro", str(src), str(tgt)])
                binds.append(tgt)
            env = [f"{k}={v}" for k, v in {**st.env, **build_network_env()}.items()]
            try:
                sh(["chroot", "--userspec", uid_gid(st), str(st.root),
                    "/usr/bin/env", "-i", *env, "/bin/sh", "-c", f"cd {shlex.quote(st.workdir)} && {rest}"])
            finally:
                umount(binds)
        elif ins == "USER":
            st.user = expand(rest)
        elif ins == "HEALTHCHECK":
            st.healthcheck = json.loads(rest.split("CMD", 1)[1].strip())
        elif ins == "CMD":
            st.cmd = json.loads(rest)
        elif ins in ("VOLUME", "EXPOSE", "LABEL"):
            pass
        else:
            raise SystemExit(f"instruction {ins} is not replayed")
    umount(mounts)
    return st


def uid_gid(st: Stage) -> str:
    """USER as uid:gid, looked up inside the stage (chroot --userspec would look it up on the host)."""
    if st.user in ("root", "0"):
        return "0:0"
    ids = [subprocess.run(["chroot", str(st.root), "id", flag, st.user], capture_output=True, text=True,
                          check=True).stdout.strip() for flag in ("-u", "-g")]
    return ":".join(ids)


def run(st: Stage, port: int) -> int:
    mounts = mount_api(st.root)
    cmd = [a.replace("8000", str(port)) for a in st.cmd]
    env = [f"{k}={v}" for k, v in st.env.items()] + [f"HOME=/home/{st.user}"]
    chroot = ["chroot", "--userspec", uid_gid(st), str(st.root), "/usr/bin/env", "-i", *env]
    server = subprocess.Popen(chroot + ["/bin/sh", "-c", f"cd {shlex.quote(st.workdir)} && exec {shlex.join(cmd)}"],
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    failures = 0
    try:
        t0 = time.monotonic()
        for line in server.stderr:          # uvicorn says when it listens
            print(line, end="")
            if "Uvicorn running on" in line:
                break
        else:
            raise SystemExit("the image's CMD did not start")
        threading.Thread(target=lambda: [print(ln, end="") for ln in server.stderr], daemon=True).start()
        print(f"started in {time.monotonic() - t0:.1f} s")
        hc = [a.replace("8000", str(port)) for a in st.healthcheck]
        rc = subprocess.run(chroot + hc).returncode
        print("HEALTHCHECK", "ok" if rc == 0 else f"FAILED rc={rc}")
        failures += rc != 0
        for path in ("/", "/readyz", "/api/v1/presets"):
            with urllib.request.urlopen(base + path, timeout=10) as r:
                print(path, r.status, r.headers.get("content-type"), len(r.read()), "bytes")
        sys.path.insert(0, str(ROOT))
        from engine.presets import DEFAULT_SCENARIO      # the dashboard's built-in scenario
        scenario = DEFAULT_SCENARIO
        page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
        asset = re.search(r'/static/v/[0-9a-f]+/js/main\.js', page)
        if not asset or urllib.request.urlopen(base + asset.group(0), timeout=10).status != 200:
            print("versioned main.js NOT served"); failures += 1
        req = urllib.request.Request(base + "/api/v1/scenarios", data=json.dumps(scenario).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
        sid = json.load(urllib.request.urlopen(req, timeout=30))["id"]
        for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
            t = time.monotonic()
            with urllib.request.urlopen(f"{base}/api/v1/scenarios/{sid}/figure.{fmt}", timeout=120) as r:
                body = r.read()
            ok = magic in body[:200]
            print(f"figure.{fmt}", r.status, len(body), "bytes", f"{time.monotonic() - t:.1f} s", "ok" if ok else "BAD")
            failures += not ok
            (ROOT / "test-output").mkdir(exist_ok=True)
            (ROOT / "test-output" / f"image-figure.{fmt}").write_bytes(body)
    finally:
        server.terminate()
        server.wait(timeout=20)
        umount(mounts)
    return failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/var/tmp/vmemscope-image"))
    ap.add_argument("--port", type=int, default=8765)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    st = build(a.work)
    print(f"built in {time.monotonic() - t0:.0f} s")
    sys.exit(1 if run(st, a.port) else 0)


if __name__ == "__main__":
    main()
