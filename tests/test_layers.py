"""The architecture holds: imports point one way (docs/architecture.md).

Every import of the project's modules is read from the source (``ast``), including imports inside
functions, and checked against the rooms' rules: no import cycle anywhere; the specification
imports only itself; the golden side only itself and the specification; the RTL only itself and
the specification; the export flow and the synthesis flow never the command-line modules. A
subprocess then imports the specification and the golden side with Amaranth made unimportable.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hw", "golden", "sim", "fpga")

# room -> rooms it may import (a room is the longest matching prefix below).
ROOMS = ("hw.spec", "hw.rtl", "hw.emit", "hw.synth", "hw", "golden", "sim", "fpga")
ALLOWED = {
    "hw.spec": {"hw.spec"},
    "golden": {"golden", "hw.spec"},
    "hw.rtl": {"hw.rtl", "hw.spec"},
    "hw.emit": {"hw.emit", "hw.rtl", "hw.spec", "golden"},
    "hw.synth": {"hw.synth", "hw.rtl", "hw.spec"},
    "hw": {"hw", "hw.spec", "hw.rtl", "hw.emit", "hw.synth", "golden", "fpga"},
    "fpga": {"fpga", "hw", "hw.spec", "hw.rtl", "hw.synth", "golden"},
    "sim": set(ROOMS),
}
PURE = ("hw.spec", "golden")        # importable without Amaranth


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules():
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not path.name.startswith("test_") and path.name != "conftest.py":
                modules[module_name(path)] = path
    return modules


def imports_of(name, path, modules):
    """Project modules that ``name`` imports anywhere in its source (top level or in functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules and target != name)
    return found


def room(name):
    return next(r for r in ROOMS if name == r or name.startswith(r + "."))


@pytest.fixture(scope="module")
def graph():
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_graph_is_read(graph):
    """The checks below see real edges (a parser that found nothing would pass them all)."""
    assert "hw.spec.plan" in graph["hw.spec.config"]
    assert "hw.spec.config" in graph["hw.rtl.units.activation"]
    assert "golden.fma" in graph["hw.emit.accuracy"]        # an import inside a function


def test_no_import_cycle(graph):
    assert _cycles(graph) == []


def test_cycle_detection_catches_a_cycle(graph):
    broken = {name: set(edges) for name, edges in graph.items()}
    broken["hw.spec.formats"].add("hw.spec.config")
    assert any({"hw.spec.config", "hw.spec.formats"} <= set(cycle) for cycle in _cycles(broken))


def test_rooms_import_only_what_they_may(graph):
    wrong = [f"{name} imports {target}" for name, targets in graph.items() for target in sorted(targets)
             if room(target) not in ALLOWED[room(name)]]
    assert wrong == []


def test_pure_rooms_import_without_amaranth(graph):
    """The specification and the golden side import with ``amaranth`` unimportable."""
    names = sorted(name for name in graph if room(name) in PURE) + ["hw.config"]
    code = ("import sys; sys.modules['amaranth'] = None\n"
            + "".join(f"import {name}\n" for name in names) + "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_function_names_live_in_the_registry():
    """A function's name is spelled as a string literal in at most three non-test modules: its
    registry entry, its unit and its golden twin (docs/architecture.md)."""
    from hw.spec.functions import FUNCTIONS
    spelled = {name: set() for name in FUNCTIONS}
    for path in project_modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in spelled:
                spelled[node.value].add(module_name(path))
    crowded = {name: sorted(where) for name, where in spelled.items() if len(where) > 3}
    assert crowded == {}
