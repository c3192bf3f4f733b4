"""The qianfan-chat CLI, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("qianfan-chat")
CREDENTIAL_VARS = (
    "QIANFAN_API_KEY",
    "QIANFAN_BEARER_TOKEN",
    "QIANFAN_AK",
    "QIANFAN_SK",
    "QIANFAN_BASE_URL",
    "QIANFAN_APP_ID",
    "QIANFAN_ACCESS_KEY",
    "QIANFAN_SECRET_KEY",
    "QIANFAN_IAM_BASE_URL",
)


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    return subprocess.run(
        [sys.executable, "-m", "langchain_qianfan_free", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("protocol", ["auto", "v1", "v2"])
def test_without_credentials_it_answers_from_the_emulator(protocol) -> None:
    result = run("1加1为什么等于2？", "--protocol", protocol)
    assert result.returncode == 0, result.stderr
    assert "1加1为什么等于2？" in result.stdout
    assert "emulator" in result.stderr
    assert "QIANFAN_API_KEY" in result.stderr


def test_options(qianfan_emulator) -> None:
    result = run("你好", "--model", "ERNIE-Lite-8K", "--system", "简短", "--no-stream")
    assert result.returncode == 0, result.stderr
    assert "ernie-lite-8k" in result.stdout


def test_with_credentials_it_uses_them_and_errors_are_one_line(qianfan_emulator) -> None:
    ok = run(
        "你好", QIANFAN_API_KEY=qianfan_emulator.api_key, QIANFAN_BASE_URL=qianfan_emulator.url
    )
    assert ok.returncode == 0, ok.stderr
    assert "emulator at" not in ok.stderr  # it used the given service, not its own
    assert [r.protocol for r in qianfan_emulator.requests] == ["v2"]

    bad = run(
        "你好", QIANFAN_API_KEY="bce-v3/ALTAK-wrong/secret", QIANFAN_BASE_URL=qianfan_emulator.url
    )
    assert bad.returncode == 1
    assert bad.stdout.strip() == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("qianfan-chat: error: Qianfan error invalid_iam_token")
    assert "ALTAK-wrong" not in bad.stderr
    assert "Traceback" not in bad.stderr


def test_iam_keys_in_the_environment_are_used(qianfan_emulator) -> None:
    ok = run(
        "你好",
        QIANFAN_ACCESS_KEY=qianfan_emulator.iam_ak,
        QIANFAN_SECRET_KEY=qianfan_emulator.iam_sk,
        QIANFAN_BASE_URL=qianfan_emulator.url,
    )
    assert ok.returncode == 0, ok.stderr
    assert "emulator at" not in ok.stderr
    assert [r.protocol for r in qianfan_emulator.requests] == ["iam", "v2"]
    assert qianfan_emulator.iam_sk not in ok.stdout + ok.stderr


def test_console_script_is_installed() -> None:
    assert SCRIPT.exists()
    result = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    assert "--no-stream" in result.stdout
