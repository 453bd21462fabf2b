"""The apps' imports point one way, and no two modules import each other at load time.

import-linter checks the direction (contracts in pyproject.toml, run by `make lint`). It counts
imports inside functions too, which is what lets a task import its service lazily while the
service enqueues the task; cycles at module level are what break loading, so those are found
here from the source.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "lansnytt",
    "accounts",
    "audit",
    "subscribers",
    "newsletter",
    "worker",
    "printing",
    "reports",
)


def _modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(tree: ast.Module):
    """Import statements that run when the module is loaded (not in functions or classes'
    methods, not under TYPE_CHECKING)."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, ast.With):
            pending.extend(node.body)


def _imported(module: str, path: Path, node, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")
        if node.level > 1:
            base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base) if node.level else ""
        target = ".".join(part for part in (prefix, node.module or "") if part)
        names = [f"{target}.{alias.name}" for alias in node.names] + [target]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def load_time_import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = set()
        for node in _load_time_imports(tree):
            graph[module] |= _imported(module, path, node, known)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_it_has_no_import_cycles_at_module_level():
    assert import_cycles(load_time_import_graph()) == []


def test_it_finds_a_module_level_cycle_when_there_is_one():
    graph = {"a.services": {"a.tasks"}, "a.tasks": {"a.batches"}, "a.batches": {"a.services"}}

    assert import_cycles(graph) == [["a.batches", "a.services", "a.tasks"]]


def test_it_reads_relative_imports_as_the_modules_they_name():
    graph = load_time_import_graph()

    assert "worker.tasks" in graph["worker.services"]
    assert "worker.services" not in graph["worker.tasks"]  # imported inside the task bodies


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_keeps_the_import_contracts():
    result = _lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "wrong_import"),
    [
        ("subscribers/wrong_way.py", "import newsletter.models\n"),
        ("newsletter/wrong_way.py", "from worker import services\n"),
        ("subscribers/wrong_way.py", "def later():\n    from printing import models\n"),
    ],
)
def test_it_fails_the_import_contracts_on_a_wrong_way_import(tmp_path, module, wrong_import):
    for name in (*APPS, "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, tmp_path / name)
    (tmp_path / module).write_text(wrong_import, encoding="utf-8")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert module.replace("/", ".").removesuffix(".py") in result.stdout
