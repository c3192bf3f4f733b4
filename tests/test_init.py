"""The public surface: pinned exports and a light import."""

from __future__ import annotations

import subprocess
import sys

import langchain_qianfan_free
from langchain_qianfan_free import errors


def test_all_is_pinned() -> None:
    assert langchain_qianfan_free.__all__ == ["ChatQianfan", "__version__"]
    assert set(errors.__all__) == {
        "QianfanAPIError",
        "QianfanAuthenticationError",
        "QianfanConnectionError",
        "QianfanContextOverflowError",
        "QianfanError",
        "QianfanInvalidRequestError",
        "QianfanNotFoundError",
        "QianfanPermissionError",
        "QianfanQuotaExceededError",
        "QianfanRateLimitError",
        "QianfanTimeoutError",
        "ToolChoiceError",
        "error_from_http",
        "error_from_v1",
        "error_from_v2",
        "redact",
    }


def test_import_does_not_load_aiohttp_or_the_emulator() -> None:
    code = (
        "import sys, langchain_qianfan_free\n"
        "from langchain_qianfan_free import ChatQianfan\n"
        "ChatQianfan(api_key='k')\n"
        "print('aiohttp' in sys.modules, 'langchain_qianfan_free.emulator' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_pytest_plugin_import_stays_light() -> None:
    code = (
        "import sys\n"
        "import langchain_qianfan_free.pytest_plugin\n"
        "print('langchain_core' in sys.modules, 'aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_chatqianfan_leaves_the_tool_machinery_unloaded() -> None:
    # Tools and structured output load on first use, so a plain chat pays for neither
    # their import time nor their memory (docs/performance.md). The plain path shares
    # only the types of _tools/__init__, never these modules.
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    heavy = ("setup", "prompt", "lenient_json", "args", "history", "results", "structured")
    watched = ("langchain_core.tools", *(f"langchain_qianfan_free._tools.{n}" for n in heavy))
    code = (
        "import sys; from langchain_qianfan_free import ChatQianfan; "
        f"print(sorted(m for m in sys.modules if m.startswith({watched!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
