"""The engine's shape: floors of modules that import only downwards (the list is the README's
architecture section), twins as leaves, one source for codes, and the C replay used only for the
kernel switches it names."""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

import engine
from engine import codes, kernel

ENGINE = Path(engine.__file__).parent
README = ENGINE.parent / "README.md"


def floors() -> dict[str, int]:
    """module -> floor number (0 = lowest), from the README's engine-layers block."""
    text = README.read_text()
    block = text.split("<!-- engine-layers -->")[1].split("```")[1]
    rows = [line.split() for line in block.strip().splitlines() if line.strip()]
    # the block lists the top floor first
    return {mod: len(rows) - 1 - i for i, row in enumerate(rows) for mod in row[1:]}


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(run-time imports, compile-time cimports) of package modules by a .py/.pyx/.pxd file."""
    runtime, declared = set(), set()
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    runtime.update([node.module] if node.module else [a.name for a in node.names])
                elif node.module and node.module.startswith("engine"):
                    runtime.update([node.module[7:]] if node.module != "engine" else [a.name for a in node.names])
            elif isinstance(node, ast.Import):
                runtime.update(a.name[7:] for a in node.names if a.name.startswith("engine."))
        return {r.split(".")[0] for r in runtime}, declared
    for line in path.read_text().splitlines():
        m = re.match(r"\s*from\s+engine\.?(\w*)\s+(c?import)\s+(.*)", line)
        if m:
            mod, kind, names = m.groups()
            mods = {mod} if mod else {n.strip(" ()").split(" as ")[0] for n in names.split(",") if n.strip(" ()")}
            (declared if kind == "cimport" else runtime).update(mods)
        m = re.match(r"\s*(c?import)\s+engine\.(\w+)", line)
        if m:
            (declared if m.group(1) == "cimport" else runtime).add(m.group(2))
    return runtime, declared


def engine_files() -> list[Path]:
    return sorted(p for p in ENGINE.iterdir() if p.suffix in (".py", ".pyx", ".pxd"))


def test_every_engine_module_has_a_floor():
    f = floors()
    missing = {p.stem for p in engine_files()} - set(f)
    assert not missing, f"add {sorted(missing)} to the README's engine-layers block"
    assert not set(f) - {p.stem for p in engine_files()}, "the README lists modules that do not exist"


def test_imports_go_down_only_and_have_no_cycle():
    f = floors()
    graph: dict[str, set[str]] = {}
    for p in engine_files():
        runtime, declared = imports_of(p)
        deps = (runtime | declared) - {p.stem}
        graph.setdefault(p.stem, set()).update(deps)
        for d in deps:
            assert d in f, f"{p.name} imports engine.{d}, which is not a module"
            assert f[d] <= f[p.stem], f"{p.name} (floor {f[p.stem]}) imports {d} (floor {f[d]}): upwards"
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        for d in graph.get(n, ()):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(d):] + [d]))
            if not state.get(d):
                visit(d, path + [d])
        state[n] = 2

    for n in graph:
        if not state.get(n):
            visit(n, [n])


def test_twins_are_leaves_and_the_accelerator_is_reached_only_through_the_picker():
    for leaf in ("_query_py.py", "_query_c.pyx"):
        runtime, _ = imports_of(ENGINE / leaf)
        assert runtime == set(), f"{leaf} imports {runtime} from the package at run time"
    for p in engine_files():
        if p.stem in ("_impl", "_replay_c"):
            continue
        runtime, _ = imports_of(p)
        assert not runtime & {"_query_py", "_query_c", "_replay_c"}, f"{p.name} imports a twin: use _impl"


def test_codes_pxd_repeats_codes_py():
    text = (ENGINE / "codes.pxd").read_text()
    pxd = {k: int(v) for k, v in re.findall(r"^\s+(\w+) = (\d+)", text, re.M)}
    py = {name: getattr(codes, name) for name in pxd if not name.startswith("R_") and name != "NR_ROLES"}
    py.update({name: getattr(codes.R, name[2:]) for name in pxd if name.startswith("R_")})
    py["NR_ROLES"] = len(codes.ROLES)
    assert pxd == py
    # every role, HVO state and reason and zone code has its name in the .pxd
    assert len([k for k in pxd if k.startswith("R_")]) == len([k for k in vars(codes.R) if k.isupper()])
    assert [pxd[n.upper()] for n in ("hole", "usable")] == [codes.ROLE_CODE["hole"], codes.ROLE_CODE["usable"]]


def test_every_switch_cites_one_commit_or_its_measurement():
    for s in kernel.SWITCHES:
        if not s.commit:             # behaviour seen on a real kernel, commit not yet known
            assert not s.subject and "kernel-gt/" in s.measured, s
            continue
        assert re.fullmatch(r"[0-9a-f]{12}", s.commit), s
        assert s.subject and "\n" not in s.subject and not s.subject.endswith("."), s
        assert (s.since[0], s.since[1]) >= (5, 13) and (s.until is None or s.until > s.since), s


@pytest.fixture()
def core_parts():
    """The compiled twins: skipped without the extension, a failure under CI=true."""
    try:
        from engine import _query_c, _replay_c
    except ImportError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"engine._query_c and engine._replay_c must be importable under CI=true ({err})",
                        pytrace=False)
        pytest.skip(f"engine._query_c not built ({err})")
    return _query_c, _replay_c


SCENARIO = {"boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "1G", "memmap_on_memory": True},
                    {"op": "online", "start": "0x100000000", "size": "1G", "zone": "movable"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 64, "node": 0}]}


@pytest.mark.parametrize("version, named", [("6.8", False), ("6.7", True)])
def test_c_replay_is_not_used_for_a_switch_it_does_not_name(core_parts, monkeypatch, version, named):
    """A new switch on from 6.8 that the C replay does not name: 6.8 machines replay in Python
    alone (same answers as the Python model), 6.7 machines (switch off) still use C."""
    _, replay_c = core_parts
    new = kernel.Switch("a_future_behaviour", (6, 8), "0123456789ab", "mm: a change the C replay does not know")
    monkeypatch.setattr(kernel, "SWITCHES", kernel.SWITCHES + (new,))
    monkeypatch.setattr(kernel, "SWITCH_NAMES", kernel.SWITCH_NAMES | {new.name})
    called = []
    for name in ("create_memory_block_devices", "online_memory_blocks", "vmemmap_populate_altmaps",
                 "alloc_pool_huge_folios", "prep_and_add_allocated_folios", "live_by_head_desc",
                 "present_columns"):
        real = getattr(replay_c, name)
        monkeypatch.setattr(replay_c, name, lambda *a, _real=real, _n=name, **k: called.append(_n) or _real(*a, **k))
    sc = {**SCENARIO, "kernel": version}
    mc = engine.evaluate(sc, impl="cython")
    assert mc.m.kernel.a_future_behaviour is not named
    assert (mc.m.bulk is not None) is named
    assert bool(called) is named, called
    mp = engine.evaluate(sc, impl="python")
    assert mc.blocks() == mp.blocks() and mc.hugepages() == mp.hugepages()
