"""The public surface of ``langchain_qianfan_free.emulator``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from langchain_qianfan_free import emulator


def test_all_is_pinned() -> None:
    assert emulator.__all__ == [
        "DisconnectFault",
        "ErrorFault",
        "Fault",
        "HttpStatusFault",
        "MalformedJsonFault",
        "Match",
        "QianfanEmulator",
        "RecordedRequest",
        "ReplyFault",
        "SlowFault",
        "StreamErrorFault",
        "ToolCallsFault",
    ]
    for name in emulator.__all__:
        assert getattr(emulator, name) is not None
    assert set(emulator.__all__) <= set(dir(emulator))


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = emulator.NoSuchThing


def test_the_pytest_plugin_does_not_load_the_server_at_import() -> None:
    code = (
        "import sys, langchain_qianfan_free.pytest_plugin; "
        "print('langchain_qianfan_free.emulator.server' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
