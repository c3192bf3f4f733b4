"""The retry policy's decisions and waits."""

from __future__ import annotations

import pytest

from langchain_qianfan_free import retry
from langchain_qianfan_free.errors import QianfanConnectionError, error_from_v1, error_from_v2


@pytest.mark.parametrize(
    ("error", "attempt", "expected"),
    [
        (error_from_v1(336501, "rpm"), 0, retry.Action.RETRY),
        (error_from_v1(336501, "rpm"), 2, retry.Action.RAISE),  # max_retries used up
        (error_from_v2(429, "rpm_rate_limit_exceeded", "x"), 0, retry.Action.RETRY),
        (error_from_v2(503, None, "x"), 1, retry.Action.RETRY),
        (QianfanConnectionError("reset", retryable=True), 0, retry.Action.RETRY),
        (error_from_v1(336003, "bad"), 0, retry.Action.RAISE),
        (error_from_v1(17, "daily"), 0, retry.Action.RAISE),
        (error_from_v1(111, "expired"), 0, retry.Action.REFRESH_TOKEN),
        (error_from_v1(110, "invalid"), 5, retry.Action.REFRESH_TOKEN),
        (error_from_v1(100, "Invalid parameter"), 0, retry.Action.REFRESH_TOKEN),
    ],
)
def test_decide(error, attempt, expected) -> None:
    assert retry.decide(error, attempt=attempt, max_retries=2, can_refresh=True) is expected


def test_token_refresh_happens_once() -> None:
    error = error_from_v1(111, "expired")
    assert retry.decide(error, attempt=0, max_retries=2, can_refresh=False) is retry.Action.RAISE


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    lows = [retry.delay(n, rand=lambda: 0.0) for n in range(8)]
    highs = [retry.delay(n, rand=lambda: 0.999) for n in range(8)]
    assert lows[0] == retry.INITIAL_DELAY / 2
    assert lows == sorted(lows)
    assert max(highs) <= retry.MAX_DELAY
    assert all(low < high for low, high in zip(lows, highs, strict=True))


def test_retry_after_header_wins() -> None:
    assert retry.retry_after({"Retry-After": "0"}) == 0.0
    assert retry.delay(3, retry.retry_after({"retry-after": "2"})) == 2.0
    assert retry.retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
