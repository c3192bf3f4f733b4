"""RPM/TPM limits per (credential, model): the sliding window and what callers see."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._ratelimit import RateLimiter

USER = {"role": "user", "content": "你好"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_slides() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=2, tpm=1000, clock=clock)
    key = ("ak", "ERNIE-Speed-8K")
    assert limiter.admit(key, 5, 10).remaining_requests == 1
    clock.now += 30
    assert limiter.admit(key, 5, 10).remaining_requests == 0
    assert limiter.admit(key, 5, 10).exceeded == "rpm"
    clock.now += 30  # the first request leaves the window
    assert limiter.admit(key, 5, 10).exceeded is None
    assert limiter.admit(key, 5, 10).exceeded == "rpm"


def test_tokens_count_input_and_output() -> None:
    limiter = RateLimiter(rpm=100, tpm=50)
    key = ("ak", "m")
    status = limiter.admit(key, 10, 30)
    assert (status.remaining_tokens, status.exceeded) == (20, None)
    assert limiter.admit(key, 21, 25).exceeded == "tpm"
    assert limiter.admit(key, 20, 20).exceeded is None
    assert limiter.peek(key).remaining_tokens == 0


def test_keys_are_independent() -> None:
    limiter = RateLimiter(rpm=1, tpm=1000)
    assert limiter.admit(("a", "m1"), 1, 1).exceeded is None
    assert limiter.admit(("a", "m2"), 1, 1).exceeded is None
    assert limiter.admit(("b", "m1"), 1, 1).exceeded is None
    assert limiter.admit(("a", "m1"), 1, 1).exceeded == "rpm"


def v1(emu: QianfanEmulator, endpoint: str = "ernie_speed") -> requests.Response:
    return requests.post(
        emu.v1_chat_url(endpoint),
        json={"messages": [USER]},
        timeout=10,
        params={"access_token": emu.issue_access_token()},
    )


def v2(emu: QianfanEmulator, **headers: str) -> requests.Response:
    return requests.post(
        emu.v2_chat_url,
        json={"model": "ernie-speed-8k", "messages": [USER]},
        headers={"Authorization": f"Bearer {emu.api_key}", **headers},
        timeout=10,
    )


@pytest.fixture(scope="module")
def limited() -> Any:
    with QianfanEmulator(rpm=2, tpm=100000) as emu:
        yield emu


def test_rpm_on_v1(limited: QianfanEmulator) -> None:
    limited.reset()
    first, second, third = (v1(limited) for _ in range(3))
    assert [r.headers["X-Ratelimit-Remaining-Requests"] for r in (first, second, third)] == [
        "1",
        "0",
        "0",
    ]
    assert first.headers["X-Ratelimit-Limit-Requests"] == "2"
    assert (third.json()["error_code"], third.json()["error_msg"]) == (
        336501,
        "Rate limit reached for RPM",
    )
    assert "error_code" not in v1(limited, "ernie-lite-8k").json()  # another model


def test_rpm_on_v2(limited: QianfanEmulator) -> None:
    limited.reset()
    responses = [v2(limited) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["error"] == {
        "code": "rpm_rate_limit_exceeded",
        "message": "Rate limit reached for RPM",
        "type": "rate_limit_exceeded",
    }


def test_reset_clears_windows(limited: QianfanEmulator) -> None:
    limited.reset()
    for _ in range(2):
        v1(limited)
    assert v1(limited).json()["error_code"] == 336501
    limited.reset()
    assert "error_code" not in v1(limited).json()


def test_v1_and_v2_credentials_have_separate_windows(limited: QianfanEmulator) -> None:
    limited.reset()
    for _ in range(2):
        v1(limited)
    assert v2(limited).status_code == 200


def test_tpm() -> None:
    with QianfanEmulator(tpm=7) as emu:
        emu.queue_reply("好的", times=3)  # 2 prompt + 2 completion tokens per request
        first, second, third = (v1(emu) for _ in range(3))
        assert first.json()["usage"]["total_tokens"] == 4
        assert [r.headers["X-Ratelimit-Remaining-Tokens"] for r in (first, second, third)] == [
            "3",
            "0",
            "0",
        ]
        assert "error_code" not in second.json()  # 4 used + 2 prompt fits in 7
        assert (third.json()["error_code"], third.json()["error_msg"]) == (
            336502,
            "Rate limit reached for TPM",
        )
        assert third.headers["X-Ratelimit-Limit-Tokens"] == "7"


def test_tpm_on_v2() -> None:
    with QianfanEmulator(tpm=1) as emu:
        response = v2(emu)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "tpm_rate_limit_exceeded"
        assert response.headers["X-Ratelimit-Remaining-Input-Tokens"] == "1"


def test_window_length_is_configurable() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=1, tpm=1000, clock=clock, window=0.5)
    key = ("ak", "m")
    assert limiter.admit(key, 1, 1).exceeded is None
    clock.now += 0.4
    assert limiter.admit(key, 1, 1).exceeded == "rpm"
    clock.now += 0.1  # 0.5 s after the first request: it left the window
    assert limiter.admit(key, 1, 1).exceeded is None


def test_rejections_are_counted_until_cleared() -> None:
    limiter = RateLimiter(rpm=1, tpm=5)
    assert limiter.admit(("a", "m"), 1, 1).exceeded is None
    assert limiter.admit(("a", "m"), 1, 1).exceeded == "rpm"
    assert limiter.admit(("b", "m"), 9, 9).exceeded == "tpm"
    assert limiter.rejected == 2
    limiter.clear()
    assert limiter.rejected == 0


def test_emulator_counts_what_its_limits_refused() -> None:
    with QianfanEmulator(rpm=1) as emu:
        emu.queue_error(336501)  # a queued error is not the limiter's doing
        assert v2(emu).status_code == 429
        assert [v2(emu).status_code for _ in range(3)] == [200, 429, 429]
        assert v1(emu).status_code == 200  # the v1 credential has its own window
        assert "error_code" in v1(emu).json()
        assert emu.rate_limited == 3
        emu.reset()
        assert emu.rate_limited == 0


def test_a_short_window_lets_requests_through_again() -> None:
    # rate_window is what makes "300 RPM" testable in seconds. An hour-long window is
    # always shared by two requests sent back to back; a nanosecond-long one has always
    # passed by the next request (an HTTP round trip later), so neither case depends on
    # how fast the machine is.
    with QianfanEmulator(rpm=1, rate_window=3600) as emu:
        assert [v2(emu).status_code for _ in range(2)] == [200, 429]
        assert repr(emu).endswith("rate_window=3600)")
    with QianfanEmulator(rpm=1, rate_window=1e-9) as emu:
        assert [v2(emu).status_code for _ in range(3)] == [200, 200, 200]
        assert v2(emu).headers["X-Ratelimit-Limit-Requests"] == "1"
