"""The ``qianfan_emulator`` fixture: one server per session, reset before each test."""

from __future__ import annotations

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator

pytest_plugins = ["pytester"]

_seen: list[QianfanEmulator] = []


def test_fixture_gives_a_running_emulator(qianfan_emulator: QianfanEmulator) -> None:
    assert qianfan_emulator.running
    qianfan_emulator.queue_error(2, times=3)
    requests.get(qianfan_emulator.url, timeout=10)
    _seen.append(qianfan_emulator)


def test_fixture_is_shared_and_reset(qianfan_emulator: QianfanEmulator) -> None:
    assert _seen == [qianfan_emulator]  # same server as the previous test
    assert qianfan_emulator.pending_faults == []
    assert qianfan_emulator.requests == []


def test_users_get_the_fixture_from_the_installed_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user_app="""
        import requests

        def test_my_app_retries(qianfan_emulator):
            qianfan_emulator.queue_error(336100)
            url = qianfan_emulator.v2_chat_url
            headers = {"Authorization": "Bearer " + qianfan_emulator.api_key}
            body = {"model": "ernie-speed-8k", "messages": [{"role": "user", "content": "hi"}]}
            assert requests.post(url, json=body, headers=headers).status_code == 500
            assert requests.post(url, json=body, headers=headers).status_code == 200
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_plugins_former_path_still_works(pytester: pytest.Pytester) -> None:
    # An install made before the plugin moved (its entry point names the old module),
    # or a -p option naming it.
    pytester.makepyfile(
        test_old_path="""
        import pytest

        @pytest.mark.qianfan_emulator_all_consumed
        def test_it(qianfan_emulator):
            assert qianfan_emulator.url.startswith("http://127.0.0.1")
    """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:qianfan_emulator",
        "-p",
        "langchain_qianfan_free.emulator.pytest_plugin",
        "--strict-markers",
    )
    result.assert_outcomes(passed=1)
