"""docs/architecture.md matches the code: its example runs, the names it cites exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "langchain_qianfan_free"
TEXT = DOC.read_text(encoding="utf-8")
# `_request.build_call`, `_transport/sessions.py`, `tests/test_layering.py`, ...
CITED = sorted(
    set(re.findall(r"`((?:_[a-z_]+|tests|emulator)(?:[./][A-Za-z_]+)+(?:\.py)?)`", TEXT))
)
PLANNED = ("embeddings",)  # the worked example's files, added by the embeddings issue


def resolve(name: str) -> bool:
    """Whether ``name`` (a path, a module or a module attribute) exists."""
    if name.startswith("tests/"):
        return (ROOT / name).exists()
    if name.endswith(".py") or "/" in name:
        return (PACKAGE / name).exists() or (PACKAGE / name).with_suffix("").is_dir()
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(["langchain_qianfan_free", *parts[:cut]])
        try:
            found: object = importlib.import_module(module)
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


@pytest.mark.parametrize("name", CITED)
def test_every_module_and_name_the_page_cites_exists(name) -> None:
    if any(planned in name for planned in PLANNED):
        pytest.skip("the worked example's file, added with the class")
    assert resolve(name), f"docs/architecture.md cites {name}, which the code does not have"


def test_the_page_cites_the_layers() -> None:
    assert len(CITED) >= 15


def test_the_worked_example_runs(monkeypatch, capsys) -> None:
    for name in ("QIANFAN_API_KEY", "QIANFAN_BASE_URL", "QIANFAN_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (example,) = [
        block.split("```", 1)[0]
        for block in TEXT.split("```python\n")[1:]
        if "class QianfanEmbeddings" in block
    ]
    exec(compile(example, str(DOC), "exec"), {"__name__": "architecture_example"})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "v2 https://qianfan.baidubce.com BearerAuth"
    assert printed[1] == "2 100"
    assert "timeout must be a positive number" in printed[2]
    assert "QianfanEmbeddings" in printed[2]
