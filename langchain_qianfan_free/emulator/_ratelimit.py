"""RPM/TPM limits per (credential, model) in a sliding window (60 s, as Qianfan's).

Reference §5: Qianfan counts requests per minute (336501 / v2 429
``rpm_rate_limit_exceeded``) and tokens per minute (336502 / ``tpm_rate_limit_exceeded``)
per caller and model, and reports what is left in ``X-Ratelimit-*`` headers. A
request is admitted when fewer than ``rpm`` requests and, together with its prompt,
no more than ``tpm`` tokens (input + output) were used in the last 60 s; admitted
requests count their total tokens. Rejected requests do not count.

The window length is configurable so that load tests can run "300 RPM" in seconds:
``window=0.5`` lets ``rpm`` requests through per half second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["WINDOW_SECONDS", "RateLimiter", "RateStatus"]

WINDOW_SECONDS = 60.0
"""Qianfan's window: limits are per minute."""


@dataclass(frozen=True)
class RateStatus:
    """Limits and what is left of them for one (credential, model) window.

    Attributes:
        limit_requests: RPM limit.
        limit_tokens: TPM limit.
        remaining_requests: Requests left in the window.
        remaining_tokens: Tokens left in the window.
        exceeded: ``"rpm"`` or ``"tpm"`` when the request was rejected, else ``None``.
    """

    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int
    exceeded: str | None = None


class RateLimiter:
    """Thread-safe sliding-window limiter.

    Args:
        rpm: Requests per window per key.
        tpm: Tokens per window per key.
        window: Window length in seconds (60: per minute).
        clock: Monotonic time source in seconds.

    Attributes:
        rejected: Requests refused since the last :meth:`clear`.
    """

    def __init__(
        self,
        rpm: int,
        tpm: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self._rpm = rpm
        self._tpm = tpm
        self._clock = clock
        self._length = window
        self._windows: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    def _window(self, key: tuple[str, str]) -> deque[tuple[float, int]]:
        window = self._windows.setdefault(key, deque())
        horizon = self._clock() - self._length
        while window and window[0][0] <= horizon:
            window.popleft()
        return window

    def _status(self, window: deque[tuple[float, int]], exceeded: str | None) -> RateStatus:
        used = sum(tokens for _, tokens in window)
        return RateStatus(
            self._rpm,
            self._tpm,
            max(self._rpm - len(window), 0),
            max(self._tpm - used, 0),
            exceeded,
        )

    def admit(self, key: tuple[str, str], prompt_tokens: int, total_tokens: int) -> RateStatus:
        """Admit one request or say which limit it exceeds.

        Args:
            key: ``(credential, model)``.
            prompt_tokens: The request's input tokens (checked against what is left).
            total_tokens: Input + output tokens, counted when admitted.
        """
        with self._lock:
            window = self._window(key)
            exceeded = None
            if len(window) >= self._rpm:
                exceeded = "rpm"
            elif sum(tokens for _, tokens in window) + prompt_tokens > self._tpm:
                exceeded = "tpm"
            if exceeded:
                self.rejected += 1
                return self._status(window, exceeded)
            window.append((self._clock(), total_tokens))
            return self._status(window, None)

    def peek(self, key: tuple[str, str]) -> RateStatus:
        """The current status of ``key`` without admitting anything."""
        with self._lock:
            return self._status(self._window(key), None)

    def clear(self) -> None:
        """Forget every window and the count of rejections."""
        with self._lock:
            self._windows.clear()
            self.rejected = 0
