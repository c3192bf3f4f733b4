"""The retry policy's decisions and waits."""

from __future__ import annotations

import logging
import pickle
import time
from email.utils import formatdate

import pytest
from pydantic import SecretStr

from langchain_qianfan_free._auth.schemes import BearerAuth
from langchain_qianfan_free._transport import retry
from langchain_qianfan_free.errors import (
    QianfanConnectionError,
    QianfanRateLimitError,
    error_from_v1,
    error_from_v2,
)

NOW = 1_750_000_000.0  # a fixed wall clock for the HTTP-date form


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


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # an HTTP date in the past: now
        ("nan", None),
        ("inf", None),
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value, seconds) -> None:
    assert retry.retry_after({"Retry-After": value}) == seconds


@pytest.mark.parametrize("usegmt", [True, False])  # IMF-fixdate, and the "-0000" zone (UTC)
def test_retry_after_as_an_http_date_counts_from_now(usegmt) -> None:
    header = {"Retry-After": formatdate(NOW + 45, usegmt=usegmt)}
    assert retry.retry_after(header, now=lambda: NOW) == 45.0
    assert retry.retry_after(header, now=lambda: NOW + 50) == 0.0
    future = retry.retry_after({"Retry-After": formatdate(time.time() + 45, usegmt=usegmt)})
    assert future is not None
    assert 43 < future <= 45


def test_retry_after_is_never_shortened() -> None:
    # The server's wait is used as asked, above the backoff cap too.
    assert retry.delay(0, 45.0) == 45.0
    assert retry.delay(0, 60.0) == 60.0 > retry.MAX_DELAY


def attempts(max_retries: int = 2) -> retry.Attempts:
    return retry.Attempts(BearerAuth(SecretStr("k")).token_source, max_retries)


def test_a_wait_over_the_bound_raises_at_once_with_retry_after() -> None:
    error = error_from_v2(429, "rpm_rate_limit_exceeded", "Rate limit reached for RPM")
    with pytest.raises(QianfanRateLimitError) as info:
        attempts().wait_or_raise(error, {"Retry-After": "3600"})
    assert info.value.retry_after == 3600.0
    assert "3600" in str(info.value)
    assert "Retry-After" in str(info.value)
    clone = pickle.loads(pickle.dumps(info.value))
    assert clone.retry_after == 3600.0
    assert str(clone) == str(info.value)


def test_a_wait_at_the_bound_is_waited_out() -> None:
    error = error_from_v2(429, "rpm_rate_limit_exceeded", "x")
    assert attempts().wait_or_raise(error, {"Retry-After": "60"}) == 60.0
    assert error.retry_after == 60.0


@pytest.mark.parametrize(
    "error",
    [error_from_v1(336003, "bad"), error_from_v2(429, "rpm_rate_limit_exceeded", "x")],
)
def test_every_error_with_the_header_carries_the_wait(error) -> None:
    # A final error, and a retryable one with the retries used up.
    with pytest.raises(type(error)) as info:
        attempts(max_retries=0).wait_or_raise(error, {"retry-after": "2"})
    assert info.value.retry_after == 2.0


def test_errors_without_the_header_have_no_retry_after() -> None:
    error = error_from_v1(336003, "bad")
    assert error.retry_after is None
    with pytest.raises(type(error)):
        attempts().wait_or_raise(error, {})
    assert error.retry_after is None


def test_each_decision_is_logged(caplog) -> None:
    state = attempts(max_retries=1)
    rate = error_from_v1(336501, "Rate limit reached for RPM", status=200)
    with caplog.at_level(logging.DEBUG, logger="langchain_qianfan_free"):
        wait = state.wait_or_raise(rate, {"Retry-After": "3"})
        with pytest.raises(QianfanRateLimitError):
            state.wait_or_raise(error_from_v1(336501, "again"), None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "retry 1/1 in 3.00 s (Retry-After): QianfanRateLimitError 336501 (HTTP 200)"
    assert wait == 3.0
    assert "giving up after 1 retries: QianfanRateLimitError 336501" in lines[1]


def test_a_wait_over_the_bound_is_logged_as_giving_up(caplog) -> None:
    with (
        caplog.at_level(logging.INFO, logger="langchain_qianfan_free"),
        pytest.raises(QianfanRateLimitError),
    ):
        attempts().wait_or_raise(
            error_from_v2(429, "rpm_rate_limit_exceeded", "x"), {"Retry-After": "90"}
        )
    assert "giving up: Retry-After 90 s is over MAX_RETRY_AFTER (60 s)" in caplog.text
