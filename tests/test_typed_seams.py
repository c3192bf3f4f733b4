"""mypy strict sees the protocol and auth seams as typed (no ``Any`` leaks through)."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
from langchain_qianfan_free._auth.credentials import build_auth
from langchain_qianfan_free._protocols import PROTOCOLS
from langchain_qianfan_free._transport.call import Call

for version in ("v1", "v2"):
    protocol = PROTOCOLS[version]
    reveal_type(protocol.parse_reply)
    reveal_type(protocol.parse_event)
    reveal_type(protocol.chat_request)
    reveal_type(protocol.VERSION)
reveal_type(build_auth)

def probe(call: Call) -> None:
    reveal_type(call.protocol.parse_reply)
    reveal_type(call.auth.apply)
    reveal_type(call.auth.token_source)
    source = call.auth.token_source
    if source is not None:
        reveal_type(source.cache.fetch)
        reveal_type(source.read_answer)
"""


def test_protocol_and_auth_calls_are_typed(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    out, err, status = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(probe)]
    )
    revealed = [line for line in out.splitlines() if "Revealed type" in line]
    assert status == 0, out + err
    assert len(revealed) == 10
    assert not [line for line in revealed if "Any" in line]
    assert any("-> langchain_qianfan_free._protocols.common.Reply" in line for line in revealed)
    assert any("langchain_qianfan_free._auth.TokenAuth | None" in line for line in revealed)
