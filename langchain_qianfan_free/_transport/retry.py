"""The retry policy, as small pure functions (the transports run the loop).

* A request is retried, up to ``max_retries`` times, when its error says
  ``is_retryable``: rate limits (v1 4, 18, 336501, 336502; v2 429), server trouble
  (v1 2, 15, 336100; HTTP 5xx), connection errors and timeouts.
* The wait grows exponentially from :data:`INITIAL_DELAY` up to :data:`MAX_DELAY`,
  with jitter, unless the server said how long to wait (``Retry-After``, in seconds or
  as an HTTP date): then exactly that long, never less. A server that asks for more
  than :data:`MAX_RETRY_AFTER` gets no retry: the error is raised at once, with the
  wait in its ``retry_after`` attribute (every error whose answer had the header
  carries it).
* A rejected token (:data:`TOKEN_ERROR_CODES`: a v1 access token's 100/110/111, a v2
  bearer token's ``invalid_iam_token``) is not a retry: the token is refreshed and the
  request re-sent once, whatever ``max_retries`` is.
* A stream is retried only before its first event reached the caller (the
  transports enforce that by not catching errors after the first event).
* Each decision (retry, token refresh, giving up) is logged on the package logger at
  INFO: the attempt, the error class and code, the wait.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import TYPE_CHECKING

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free.errors import QianfanAuthenticationError, QianfanError

if TYPE_CHECKING:
    from langchain_qianfan_free._auth import TokenAuth

__all__ = [
    "INITIAL_DELAY",
    "MAX_DELAY",
    "MAX_RETRY_AFTER",
    "TOKEN_ERROR_CODES",
    "Action",
    "Attempts",
    "decide",
    "delay",
    "retry_after",
]

INITIAL_DELAY = 0.5
"""Seconds before the first retry (before jitter)."""

MAX_DELAY = 8.0
"""Upper bound of one backoff wait, in seconds (a server's ``Retry-After`` is not capped)."""

MAX_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` (seconds) waited out before a retry.

Qianfan's limits are per minute (RPM/TPM, windows of up to 60 s), so a rate-limit wait
fits within it. A longer wait means a daily quota, maintenance or an overloaded
gateway: the call then fails at once with ``retry_after`` set, rather than blocking a
thread or a stream for minutes without a word; the caller decides whether to wait.
"""


TOKEN_ERROR_CODES: frozenset[int | str] = frozenset({100, 110, 111, "invalid_iam_token"})
"""Codes that mean a fetched token (v1 access token, v2 bearer minted from IAM keys) is
missing, invalid or expired: refresh it and resend once (API keys are never refreshed)."""


class Action(Enum):
    """What to do after a failed attempt."""

    RAISE = "raise"
    RETRY = "retry"
    REFRESH_TOKEN = "refresh_token"


def decide(error: QianfanError, *, attempt: int, max_retries: int, can_refresh: bool) -> Action:
    """Choose what to do about a failed attempt.

    Args:
        error: What went wrong.
        attempt: How many retries were already made (0 on the first failure).
        max_retries: The model's ``max_retries``.
        can_refresh: Whether a fresh token (v1 access token, v2 bearer token) may
            still be fetched for this request (only once per request).

    Returns:
        The action for the transport loop.
    """
    if (
        can_refresh
        and isinstance(error, QianfanAuthenticationError)
        and error.code in TOKEN_ERROR_CODES
    ):
        return Action.REFRESH_TOKEN
    if error.is_retryable and attempt < max_retries:
        return Action.RETRY
    return Action.RAISE


def delay(
    attempt: int,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt + 1``.

    Args:
        attempt: Retries already made.
        retry_after: The server's ``Retry-After`` in seconds, if it sent one.
        rand: Source of jitter in [0, 1).

    Returns:
        The server's wait when it gave one (exactly: never sooner); otherwise
        exponential backoff with jitter in [50 %, 100 %] of the step, capped at
        :data:`MAX_DELAY`.
    """
    if retry_after is not None:
        return max(retry_after, 0.0)
    step: float = min(INITIAL_DELAY * (2**attempt), MAX_DELAY)
    return step * (0.5 + rand() / 2)


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds the ``Retry-After`` header asks to wait, if it is present and valid.

    Both forms of RFC 9110 are read: delta-seconds (``"30"``; decimals accepted) and
    an HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``; a date in the past means 0).

    Args:
        headers: The answer's headers (any case).
        now: The wall clock (seconds since the epoch), for the date form.

    Returns:
        The wait in seconds, or ``None`` when there is no usable header (then the
        backoff applies).
    """
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until(date: str, now: Callable[[], float]) -> float | None:
    try:
        moment = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # "-0000": UTC, per RFC 5322
    return max(moment.timestamp() - now(), 0.0)


def _reason(error: QianfanError) -> str:
    """``QianfanRateLimitError 336501 (HTTP 429)``: what a retry log line names."""
    code = f" {error.code}" if error.code is not None else ""
    status = f" (HTTP {error.status})" if error.status is not None else ""
    return f"{type(error).__name__}{code}{status}"


class Attempts:
    """Book-keeping of one call's retry loop (each transport runs the loop itself).

    Args:
        token_source: Where the call's token comes from, when it sends a fetched one
            (``auth.token_source``): a rejected token is then dropped and the request
            re-sent once with a fresh one. ``None``: nothing to refresh.
        max_retries: The model's ``max_retries``.

    Attributes:
        credential: The token the current attempt sent, so that a rejected token is
            the one dropped from the cache.
    """

    def __init__(self, token_source: TokenAuth | None, max_retries: int) -> None:
        self._token_source = token_source
        self._max_retries = max_retries
        self._attempt = 0
        self._refreshed = False
        self.credential: str | None = None

    def wait_or_raise(self, error: QianfanError, headers: Mapping[str, str] | None) -> float:
        """Seconds to wait before the next attempt; raises ``error`` when there is none.

        Raises:
            QianfanError: ``error``, when it is final, the retries are used up, or the
                server asked to wait longer than :data:`MAX_RETRY_AFTER`.
        """
        # The answer's header, or the wait the error already carries (a token fetch's).
        asked = retry_after(headers) if headers else error.retry_after
        if asked is not None and asked != error.retry_after:
            error.set_retry_after(asked)
        refreshable = None if self._refreshed else self._token_source  # once per call
        action = decide(
            error,
            attempt=self._attempt,
            max_retries=self._max_retries,
            can_refresh=refreshable is not None,
        )
        if action is Action.REFRESH_TOKEN and refreshable is not None:
            logs.info("retry: %s; re-sending with a fresh token", _reason(error))
            refreshable.cache.reject(refreshable, self.credential)
            self._refreshed = True
            return 0.0
        if action is Action.RETRY:
            if asked is not None and asked > MAX_RETRY_AFTER:
                raise self._too_long(error, asked)
            wait = delay(self._attempt, asked)
            self._attempt += 1
            logs.info(
                "retry %d/%d in %.2f s%s: %s",
                self._attempt,
                self._max_retries,
                wait,
                " (Retry-After)" if asked is not None else "",
                _reason(error),
            )
            return wait
        raise self._final(error)

    def _final(self, error: QianfanError) -> QianfanError:
        if error.is_retryable:
            logs.info("retry: giving up after %d retries: %s", self._attempt, _reason(error))
        else:
            logs.debug("retry: not retried (final): %s", _reason(error))
        return error

    def _too_long(self, error: QianfanError, asked: float) -> QianfanError:
        logs.info(
            "retry: giving up: Retry-After %g s is over MAX_RETRY_AFTER (%g s): %s",
            asked,
            MAX_RETRY_AFTER,
            _reason(error),
        )
        error.set_retry_after(
            asked,
            hint=(
                f"Qianfan asked to wait {asked:g} s before another attempt, longer than "
                f"ChatQianfan waits by itself ({MAX_RETRY_AFTER:g} s): try again after "
                "that time (the error's retry_after), or send fewer requests."
            ),
        )
        return error
