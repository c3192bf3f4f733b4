"""The structure stays: pure modules stay pure, imports stay acyclic, modules stay small.

Read from the source (``ast``), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "langchain_qianfan_free"
ROOT = "langchain_qianfan_free"
HTTP_LIBRARIES = {"requests", "aiohttp", "urllib3"}
# Where HTTP happens: the transport, and the emulator (a real server).
HTTP_HOMES = (f"{ROOT}._transport", f"{ROOT}.emulator")
MAX_LINES = 500
# Modules that are data tables, exempt from MAX_LINES (none today).
DATA_TABLES: frozenset[str] = frozenset()
# Pure: importing these (in a fresh interpreter) loads no HTTP library.
PURE = [
    f"{ROOT}._protocols",
    f"{ROOT}._protocols.common",
    f"{ROOT}._auth.credentials",
    f"{ROOT}._auth.schemes",
    f"{ROOT}._auth.signing",
    f"{ROOT}._auth.token_cache",
    f"{ROOT}._tools",
    f"{ROOT}._tools.setup",
    f"{ROOT}._tools.structured",
    f"{ROOT}._tools.results",
    f"{ROOT}._tools.forced_choice",
    f"{ROOT}._tools.prompt",
    f"{ROOT}._tools.args",
    f"{ROOT}._tools.history",
    f"{ROOT}._tools.lenient_json",
    f"{ROOT}._auth.token_answers",
    f"{ROOT}._stops",
    f"{ROOT}._turns",
    f"{ROOT}._redact",
    f"{ROOT}._results",
    f"{ROOT}._messages",
    f"{ROOT}._params",
    f"{ROOT}._catalogue",
    f"{ROOT}._request",
    f"{ROOT}._settings",
    f"{ROOT}._transport.retry",
    f"{ROOT}.errors",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports at run time (top level or inside functions)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules or {base})  # "from pkg import module": the module
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_only_the_transport_and_the_emulator_import_an_http_library() -> None:
    offenders = {
        name: sorted(lib for lib in imports_of(name) if lib.partition(".")[0] in HTTP_LIBRARIES)
        for name in MODULES
        if not name.startswith(HTTP_HOMES)
    }
    assert {name: libs for name, libs in offenders.items() if libs} == {}


def test_pure_modules_load_no_http_library() -> None:
    # langchain-core loads requests itself (through langsmith): only what comes on
    # top of it counts.
    code = (
        "import importlib, sys\n"
        "import langchain_core.language_models, langchain_core.tools, langchain_core.utils\n"
        "import langchain_core.output_parsers, langchain_core.runnables\n"
        "before = set(sys.modules)\n"
        f"for name in {PURE!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in set(sys.modules) - before if m.partition('.')[0] in "
        f"{sorted(HTTP_LIBRARIES)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_there_are_no_import_cycles() -> None:
    # A module's own packages are imported before it anyway: not an edge.
    graph = {
        name: {
            dep
            for dep in imports_of(name)
            if dep in MODULES and dep != name and not name.startswith(f"{dep}.")
        }
        for name in MODULES
    }
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                walk(dep, [*path, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


# aiohttp internals the per-loop session cleanup relies on (tests/test_sessions.py checks
# they still exist in the installed aiohttp).
AIOHTTP_PRIVATE = ("_conns", "_close", "_sock")
SESSIONS = f"{ROOT}._transport.sessions"


def test_only_the_session_module_touches_aiohttp_internals() -> None:
    for name, path in MODULES.items():
        if name == SESSIONS or name.startswith(f"{ROOT}.emulator"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            node.attr if isinstance(node, ast.Attribute) else node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            or (isinstance(node, ast.Constant) and isinstance(node.value, str))
        }
        assert not used & set(AIOHTTP_PRIVATE), name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_500_lines(name) -> None:
    if name in DATA_TABLES:
        pytest.skip("a data table")
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by responsibility"


def test_the_public_modules_are_the_only_unprefixed_ones() -> None:
    public = {"__init__", "__main__", "chat_models", "errors", "cli", "pytest_plugin"}
    top = {path.stem for path in PACKAGE.glob("*.py")}
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert {name for name in top if not name.startswith("_")} <= public
    assert {name for name in folders if not name.startswith("_")} == {"emulator"}
