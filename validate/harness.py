"""Boot a real Linux kernel under QEMU, hot-plug DIMMs and allocate HugeTLB pages as a scenario says,
record what the kernel did (guest_init.sh reports sysfs memory blocks, MemTotal, PageVmemmapSelfHosted
pages from /proc/kpageflags, HugeTLB pool sizes), replay the same scenario in the engine, and write a
JSON report with every mismatch.

Placement that depends on allocator state is not compared pfn by pfn; counts that the kernel's own
unmodelled allocations reduce (2 MiB pages on a node) are compared within a bound (see TOLERANCE).
The kernel is a parameter: any Debian linux-image package's vmlinuz. Host-side page-table walks (the
method of ../shared/reference/kernel-gt) are not repeated here; their results are the fixtures of
tests/kernel.

Usage: python -m validate.harness [--scenario FILE] [--kernel /boot/vmlinuz-...] [--out DIR]
"""
from __future__ import annotations

import argparse
import glob
import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import engine

HERE = Path(__file__).resolve().parent
TOLERANCE_2M = 32          # 2 MiB pages the kernel's own node allocations may take (64 MiB)
VMEMMAP_BASE = 0xffffea0000000000   # x86_64 4-level, nokaslr

DEFAULT = {   # the recorded scenario C of kernel-gt: memmap_on_memory=1, HVO off, DIMMs on memoryless node 1
    "name": "kernel-gt C: memmap_on_memory=1, HVO off",
    "boot_mib": 1024,
    "cmdline": {"memory_hotplug.memmap_on_memory": "1", "hugetlb_free_vmemmap": "off",
                "memhp_default_state": "online"},
    "dimms": [{"id": "d1", "addr": "0x100000000", "size_mib": 128, "node": 1},
              {"id": "d2", "addr": "0x140000000", "size_mib": 1024, "node": 1}],
    "hugetlb": [{"node": 1, "size_kb": 1048576, "count": 1}, {"node": 0, "size_kb": 2048, "count": 32},
                {"node": 1, "size_kb": 2048, "count": 2000}],
}


class HarnessError(RuntimeError):
    pass


# ------------------------------------------------------------------ the guest
def build_initramfs(path: Path) -> None:
    """A newc cpio (gzip) of busybox and guest_init.sh as /init, written without cpio(1)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise HarnessError("busybox is missing: apt-get install busybox-static")
    files = [("dev", None, 0o40755), ("proc", None, 0o40755), ("sys", None, 0o40755), ("bin", None, 0o40755),
             ("bin/busybox", Path(busybox).read_bytes(), 0o100755),
             ("init", (HERE / "guest_init.sh").read_bytes(), 0o100755)]
    out = io.BytesIO()
    for ino, (name, data, mode) in enumerate(files + [("TRAILER!!!", None, 0)], start=1):
        body = data or b""
        nm = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(nm), 0))
        out.write(hdr.encode() + nm + b"\0" * (-(110 + len(nm)) % 4) + body + b"\0" * (-len(body) % 4))
    path.write_bytes(gzip.compress(out.getvalue()))


class Qemu:
    """QEMU with QMP (hot-plug), ttyS0 (reports, read line by line) and ttyS1 (orders)."""

    def __init__(self, kernel: str, initrd: Path, work: Path, sc: dict[str, Any], timeout: float) -> None:
        self.qmp_path, self.ctl_path = work / "qmp.sock", work / "ctl.sock"
        cmdline = "console=ttyS0 nokaslr pti=off quiet rdinit=/init " + " ".join(
            f"{k}={v}" for k, v in sc["cmdline"].items())
        # TCG with one host thread for both vCPUs: multi-threaded TCG lets one vCPU run stale code while the
        # other patches kernel text (text_poke_bp), which 7.x kernels do at boot ("Oops: int3")
        accel = ("kvm" if os.access("/dev/kvm", os.W_OK) and os.environ.get("VMEMSCOPE_QEMU_KVM")
                 else "tcg,thread=single")
        argv = ["qemu-system-x86_64", "-machine", "pc", "-accel", accel, "-cpu", "max,la57=off",
                "-m", f"{sc['boot_mib']}M,slots=4,maxmem=16G", "-smp", "2", "-display", "none", "-monitor", "none", "-no-reboot",
                "-kernel", kernel, "-initrd", str(initrd), "-append", cmdline,
                "-object", f"memory-backend-ram,id=ram0,size={sc['boot_mib']}M",
                "-numa", "node,nodeid=0,cpus=0-1,memdev=ram0", "-numa", "node,nodeid=1",
                "-qmp", f"unix:{self.qmp_path},server=off",
                "-chardev", f"socket,id=ctl,path={self.ctl_path},server=off",
                "-serial", "stdio", "-serial", "chardev:ctl"]
        self.deadline = time.monotonic() + timeout
        # we listen and qemu connects as a client at start-up: accept() waits, nothing polls
        listeners = {p: self._listen(p) for p in (self.qmp_path, self.ctl_path)}
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.watchdog = threading.Timer(timeout, self.proc.kill)    # a stuck guest cannot hang us
        self.watchdog.daemon = True
        self.watchdog.start()
        self.console: list[str] = []
        self.qmp = self._accept(listeners[self.qmp_path])
        self.qmp_file = self.qmp.makefile("rw")
        self._qmp_read()                                   # greeting
        self.qmp_cmd("qmp_capabilities")
        self.ctl = self._accept(listeners[self.ctl_path])

    @staticmethod
    def _listen(path: Path) -> socket.socket:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.listen(1)
        return s

    def _accept(self, listener: socket.socket) -> socket.socket:
        listener.settimeout(max(1.0, self.deadline - time.monotonic()))
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            raise HarnessError("qemu did not connect: " + self.proc.stdout.read1(4096).decode(errors="replace")) from None
        finally:
            listener.close()
        conn.settimeout(None)
        return conn

    def _qmp_read(self) -> dict:
        while True:
            msg = json.loads(self.qmp_file.readline())
            if "event" not in msg:
                return msg

    def qmp_cmd(self, cmd: str, **args: Any) -> dict:
        self.qmp_file.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        self.qmp_file.flush()
        r = self._qmp_read()
        if "error" in r:
            raise HarnessError(f"QMP {cmd}: {r['error'].get('desc')}")
        return r

    def frame(self, vaddr: int) -> int | None:
        """The pfn backing a kernel virtual address (QEMU's gva2gpa through the guest page tables)."""
        out = self.qmp_cmd("human-monitor-command", **{"command-line": f"gva2gpa {vaddr:#x}"})["return"]
        return int(out.split("gpa:")[1].strip(), 16) >> 12 if "gpa:" in out else None

    def order(self, line: str) -> None:
        self.ctl.sendall(line.encode() + b"\n")

    def report(self, name: str) -> dict:
        """The guest's next report line for `name` (console lines are kept for the artifact)."""
        prefix = f"VMS {name} "
        while time.monotonic() < self.deadline:
            raw = self.proc.stdout.readline()
            if not raw:
                raise HarnessError("the guest stopped; console tail: " + "".join(self.console[-20:]))
            line = raw.decode(errors="replace").replace("\r", "")
            self.console.append(line)
            i = line.find(prefix)
            if i >= 0:
                return json.loads(line[i + len(prefix):])
        raise HarnessError(f"no report {name!r} before the deadline")

    def close(self) -> None:
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def run_kernel(sc: dict[str, Any], kernel: str, work: Path, timeout: float = 300) -> dict[str, Any]:
    initrd = work / "initramfs.cpio.gz"
    build_initramfs(initrd)
    for attempt in (1, 2):
        q = Qemu(kernel, initrd, work, sc, timeout)
        facts: dict[str, Any] = {}
        try:
            facts["boot"] = q.report("boot")
            break
        except HarnessError as e:      # the emulator, not the kernel under test: a boot that never got to /init
            q.close()
            (work / "console.log").write_text("".join(q.console))
            if attempt == 2 or "Kernel panic" not in str(e):
                raise
            for p in (q.qmp_path, q.ctl_path):
                p.unlink(missing_ok=True)
    try:
        # the boot memmap's first two PMDs, before anything (HVO) remaps them
        boot_frames = [q.frame(VMEMMAP_BASE + p * 64) for p in (0, 0x8000)]
        bsz = facts["boot"]["block_size"]
        for d in sc["dimms"]:
            addr, size = int(d["addr"], 16), d["size_mib"] << 20
            q.qmp_cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "mem-" + d["id"], "size": size})
            q.qmp_cmd("device_add", driver="pc-dimm", id=d["id"], memdev="mem-" + d["id"], node=d["node"], addr=addr)
            first = addr // bsz
            q.order(f"step {d['id']} {first} {size // bsz}")
            facts[d["id"]] = q.report(f"{d['id']}:{first}")
        for name, value in sc.get("sysctl", {}).items():
            q.order(f"sysctl {name} {value}")
            facts[f"sysctl:{name}"] = q.report(f"sysctl:{name}")
        for h in sc["hugetlb"]:
            q.order(f"hugetlb {h['node']} {h['size_kb']} {h['count']}")
            facts[f"hugetlb:{h['node']}:{h['size_kb']}"] = q.report(f"hugetlb:{h['node']}:{h['size_kb']}")
        end = max(int(d["addr"], 16) + (d["size_mib"] << 20) for d in sc["dimms"]) >> 12
        q.order(f"heads 0 {end}")
        heads = q.report("heads")["heads"]
        # the frames behind struct pages, read through the guest's page tables (nokaslr: vmemmap_base
        # 0xffffea0000000000): vmemmap pages 0, 1 and 2 of each huge page
        facts["vmemmap"] = {"heads": {str(h): [q.frame(VMEMMAP_BASE + h * 64 + i * 4096) for i in range(3)]
                                      for h in heads}, "boot": boot_frames}
        q.order("done")
        q.report("done")
    finally:
        q.close()
        (work / "console.log").write_text("".join(q.console))
    return facts


# ------------------------------------------------------------------ the engine
def engine_scenario(sc: dict[str, Any], kernel_release: str) -> dict[str, Any]:
    cl = sc["cmdline"]
    mmo = {"1": "on", "y": "on", "force": "force"}.get(str(cl.get("memory_hotplug.memmap_on_memory", "0")).lower(), "off")
    major, minor = kernel_release.split(".")[:2]
    ops: list[dict] = [{"op": "add_memory", "start": d["addr"], "size": f"{d['size_mib']}M", "node": d["node"],
                        "memmap_on_memory": True} for d in sc["dimms"]]
    ops += [{"op": "sysctl", name: bool(int(value))} for name, value in sc.get("sysctl", {}).items()]
    ops += [{"op": "alloc_hugepages", "size": f"{h['size_kb']}K", "count": h["count"], "node": h["node"]}
            for h in sc["hugetlb"]]
    return {"name": sc["name"], "kernel": f"{major}.{minor.split('-')[0]}",
            "machine": {"arch": "x86_64", "hypervisor": True, "memory_block_size": "128M"},
            "params": {"memmap_on_memory": mmo, "hugetlb_free_vmemmap": cl.get("hugetlb_free_vmemmap") == "on",
                       "memhp_default_state": cl.get("memhp_default_state", "offline")},
            "boot_memory": [{"start": "0x0", "size": f"{sc['boot_mib']}M", "node": 0}], "ops": ops}


def compare(sc: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    release = facts["boot"]["uname"]
    doc = engine_scenario(sc, release)
    mismatches: list[str] = []
    steps = []
    names = (["boot"] + [d["id"] for d in sc["dimms"]] + [f"sysctl:{n}" for n in sc.get("sysctl", {})]
             + [f"hugetlb:{h['node']}:{h['size_kb']}" for h in sc["hugetlb"]])
    machines = [engine.evaluate({**doc, "ops": doc["ops"][:i]}) for i in range(len(names))]
    for i, name in enumerate(names):
        k, m = facts[name], machines[i]
        e_blocks = {b["id"]: b for b in m.blocks(0, None)}
        step = {"step": name, "kernel": {}, "engine": {}}
        # blocks, states, nodes
        kb = {b["id"]: (b["state"], b["node"]) for b in k["blocks"]}
        eb = {i_: (b["state"], b["node"]) for i_, b in e_blocks.items()}
        step["kernel"]["blocks"], step["engine"]["blocks"] = len(kb), len(eb)
        if kb != eb:
            diff = sorted(set(kb.items()) ^ set(eb.items()))[:8]
            mismatches.append(f"{name}: memory blocks differ (kernel vs engine): {diff}")
        # MemTotal delta from the previous step
        if i:
            dk = k["memtotal_kb"] - facts[names[i - 1]]["memtotal_kb"]
            de = m.summary()["mem_total_kb"] - machines[i - 1].summary()["mem_total_kb"]
            step["kernel"]["memtotal_delta_kb"], step["engine"]["memtotal_delta_kb"] = dk, de
            if dk != de:
                mismatches.append(f"{name}: MemTotal changed by {dk} kB in the kernel, {de} kB in the engine")
        for blk, sh in k.get("selfhosted", {}).items():
            b = e_blocks[int(blk)]
            want = {"count": sh["count"], "first": hex(sh["first"]) if sh["count"] else None}
            got = {"count": b["memmap"]["nr_pages"] if b["memmap"]["where"] == "self" else 0,
                   "first": b["self_mapping_pfn"]}
            step["kernel"][f"memory{blk}_selfhosted"], step["engine"][f"memory{blk}_selfhosted"] = want, got
            if want != got:
                mismatches.append(f"{name}: memory{blk} self-hosted memmap pages: kernel {want}, engine {got}")
        if "nr_hugepages" in k:
            node, kb_ = (int(x) for x in name.split(":")[1:])
            size = engine.units.format_size(kb_ << 10)
            got = sum(1 for h in m.hugepages(0, None) if h["node"] == node and h["size"] == size)
            want = k["nr_hugepages"]
            step["kernel"]["nr_hugepages"], step["engine"]["nr_hugepages"] = want, got
            ok = want <= got <= want + TOLERANCE_2M if size == "2M" and node != 0 else want == got
            if not ok:
                mismatches.append(f"{name}: nr_hugepages kernel {want}, engine {got}")
        if name.startswith("sysctl:"):
            step["kernel"]["value"] = k["value"]
            step["engine"]["outcome"] = m.events()[-1]["outcome"]
            if step["engine"]["outcome"] != "ok" or k["value"] != str(sc["sysctl"][name[7:]]):
                mismatches.append(f"{name}: kernel reads {k['value']!r}, the engine's sysctl was "
                                  f"{step['engine']['outcome']}")
        steps.append(step)
    if "vmemmap" in facts:
        steps.append(compare_vmemmap(facts["vmemmap"], machines[0], machines[-1], mismatches))
    return {"kernel": release, "scenario": sc, "engine_scenario": doc, "steps": steps, "mismatches": mismatches}


def hvo_layout(p0: int | None, p1: int | None, p2: int | None) -> str:
    """How a huge page's vmemmap pages 0..2 are mapped: "none" (not optimised: each page its own
    frame), "own" (the tails map the page's head frame: 5.18-7.0) or "shared" (the tails map another,
    common frame: 7.1+'s per-zone tail page)."""
    if None in (p0, p1, p2) or p1 != p2:
        return "none"
    return "own" if p1 == p0 else "shared"


def compare_vmemmap(vm: dict[str, Any], booted, m, mismatches: list[str]) -> dict[str, Any]:
    """HVO layouts and shared tail frames after the HugeTLB steps (m), and the order of the boot
    memmap's PMDs as booted."""
    kernel_layouts = {hvo_layout(*v) for v in vm["heads"].values()}
    kernel_shared = {v[1] for v in vm["heads"].values() if hvo_layout(*v) == "shared"}
    eng_layouts, eng_shared = set(), set()
    for h in m.hugepages(0, None):
        if h["hvo"] != "optimized":
            eng_layouts.add("none")
        elif h["tails_shared"]:
            eng_layouts.add("shared")
            eng_shared.add(h["tail_pfn"])
        else:
            eng_layouts.add("own")
    # kpageflags (§3 of the model) of the heads the kernel reported (found by COMPOUND_HEAD|HUGE) where the
    # engine has a huge page too
    heads = sorted(int(h) for h in vm["heads"])
    mine = {int(h["head_pfn"], 16) for h in m.hugepages(0, None)}
    flags = {r["kpageflags"] for r in m.resolve([h for h in heads if h in mine])}
    if flags - {hex(1 << 15 | 1 << 17)}:
        mismatches.append(f"vmemmap: the engine's kpageflags of the kernel's huge page heads: {sorted(flags)}")
    b0, b1 = vm["boot"]
    e0, e1 = (int(r["backing_pfn"], 16) for r in booted.resolve([0, 0x8000]))
    kdir, edir = ("up" if b1 > b0 else "down"), ("up" if e1 > e0 else "down")
    step = {"step": "vmemmap", "kernel": {"hvo_layouts": sorted(kernel_layouts), "shared_tail_frames": len(kernel_shared),
                                          "heads": len(vm["heads"]), "boot_memmap_order": kdir,
                                          "head_kpageflags": hex(1 << 15 | 1 << 17)},
            "engine": {"hvo_layouts": sorted(eng_layouts), "shared_tail_frames": len(eng_shared),
                       "heads": m.nr_hugepages, "boot_memmap_order": edir,
                       "head_kpageflags": ", ".join(sorted(flags)) or None}}
    if kernel_layouts != eng_layouts:
        mismatches.append(f"vmemmap: HVO layouts kernel {sorted(kernel_layouts)}, engine {sorted(eng_layouts)}")
    if len(kernel_shared) != len(eng_shared):
        mismatches.append(f"vmemmap: {len(kernel_shared)} shared tail frames in the kernel, {len(eng_shared)} in "
                          "the engine")
    if kdir != edir:
        mismatches.append(f"vmemmap: the boot memmap's PMDs go {kdir} in the kernel, {edir} in the engine")
    return step


def default_kernel() -> str:
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    if not found:
        raise HarnessError("no /boot/vmlinuz-*: apt-get install linux-image-amd64")
    return found[-1]


def validate(sc: dict[str, Any] | None = None, kernel: str | None = None, out: Path | None = None) -> dict[str, Any]:
    sc = sc or DEFAULT
    kernel = kernel or default_kernel()
    if not shutil.which("qemu-system-x86_64"):
        raise HarnessError("qemu-system-x86_64 is missing: apt-get install qemu-system-x86")
    with tempfile.TemporaryDirectory(prefix="vmemscope-qemu-") as d:
        work = Path(d)
        t0 = time.monotonic()
        facts = run_kernel(sc, kernel, work)
        report = compare(sc, facts)
        report["kernel_image"] = kernel
        report["seconds"] = round(time.monotonic() - t0, 1)
        report["facts"] = facts
        if out:
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy(work / "console.log", out / "console.log")
            (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validate.harness", description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", help="harness scenario JSON (default: kernel-gt scenario C)")
    ap.add_argument("--kernel", help="vmlinuz to boot (default: the newest /boot/vmlinuz-*)")
    ap.add_argument("--out", default="test-output/kernel", help="report directory")
    a = ap.parse_args(argv)
    try:
        sc = json.loads(Path(a.scenario).read_text()) if a.scenario else None
        r = validate(sc, a.kernel, Path(a.out))
    except (HarnessError, OSError, ValueError) as e:
        print(f"validate-kernel: error: {e}", file=sys.stderr)
        return 2
    print(f"{r['kernel']}: {len(r['steps'])} steps in {r['seconds']} s, {len(r['mismatches'])} mismatches; "
          f"report in {a.out}/report.json")
    for m in r["mismatches"]:
        print("  MISMATCH " + m)
    return 1 if r["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
