"""The retry policy, as small pure functions (the transports run the loop).

* A request is retried, up to ``max_retries`` times, when its error says
  ``is_retryable``: rate limits (v1 4, 18, 336501, 336502; v2 429), server trouble
  (v1 2, 15, 336100; HTTP 5xx), connection errors and timeouts.
* The wait grows exponentially from :data:`INITIAL_DELAY` up to :data:`MAX_DELAY`,
  with jitter, unless the server said how long to wait (``Retry-After``).
* A v1 access-token error (110/111) is not a retry: the token is refreshed and the
  request re-sent once, whatever ``max_retries`` is.
* A stream is retried only before its first event reached the caller (the
  transports enforce that by not catching errors after the first event).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from enum import Enum

from langchain_qianfan_free.auth import Auth, IamBearerAuth, OAuthTokenAuth
from langchain_qianfan_free.errors import (
    TOKEN_ERROR_CODES,
    QianfanAuthenticationError,
    QianfanError,
)

__all__ = [
    "INITIAL_DELAY",
    "MAX_DELAY",
    "Action",
    "Attempts",
    "decide",
    "delay",
    "retry_after",
]

INITIAL_DELAY = 0.5
"""Seconds before the first retry (before jitter)."""

MAX_DELAY = 8.0
"""Upper bound of one wait, in seconds."""


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
        can_refresh: Whether a fresh v1 access token may still be fetched for this
            request (only once per request).

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
        retry_after: The server's ``Retry-After``, if it sent one.
        rand: Source of jitter in [0, 1).

    Returns:
        Exponential backoff with jitter in [50 %, 100 %] of the step, capped at
        :data:`MAX_DELAY`; or the server's wait (also capped).
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY)
    step: float = min(INITIAL_DELAY * (2**attempt), MAX_DELAY)
    return step * (0.5 + rand() / 2)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a numeric ``Retry-After`` header, if present."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) else None
    return None


class Attempts:
    """Book-keeping of one call's retry loop (each transport runs the loop itself).

    Attributes:
        credential: The credential the current attempt used, so that a rejected v1
            token is the one dropped from the cache.
    """

    def __init__(self, auth: Auth, max_retries: int) -> None:
        self._auth = auth
        self._max_retries = max_retries
        self._attempt = 0
        self._refreshed = False
        self.credential: str | None = None

    def after(self, error: QianfanError, headers: Mapping[str, str] | None) -> float:
        """Seconds to wait before the next attempt; raises ``error`` when there is none."""
        action = decide(
            error,
            attempt=self._attempt,
            max_retries=self._max_retries,
            can_refresh=self._auth.can_refresh and not self._refreshed,
        )
        if action is Action.REFRESH_TOKEN:
            assert isinstance(self._auth, OAuthTokenAuth | IamBearerAuth)  # noqa: S101
            self._auth.invalidate(self.credential)
            self._refreshed = True
            return 0.0
        if action is Action.RETRY:
            wait = delay(self._attempt, retry_after(headers or {}))
            self._attempt += 1
            return wait
        raise error
