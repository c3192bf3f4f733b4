"""Identifiers the emulator hands out: answer ids, request ids, tool call ids, token parts.

One seeded random source serves the whole emulator so that a given ``seed`` and the
same sequence of requests always yield the same ids. Guarded by a lock because the
server thread and the test thread both draw from it.
"""

from __future__ import annotations

import random
import string
import threading

__all__ = ["IdSource"]

_ANSWER_ALPHABET = string.ascii_lowercase + string.digits


class IdSource:
    """Thread-safe generator of the ids that appear in answers and tokens.

    Args:
        seed: Seed for the random source; ``None`` draws one from the OS.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)  # noqa: S311 - ids, not secrets
        self._lock = threading.Lock()

    def answer_id(self) -> str:
        """An answer id as Qianfan shapes it: ``as-`` + 10 chars of ``[a-z0-9]``."""
        with self._lock:
            return "as-" + "".join(self._random.choices(_ANSWER_ALPHABET, k=10))

    def request_id(self) -> str:
        """A server request id for the ``X-Baidu-Request-Id`` header (UUID-like hex)."""
        raw = self.hex(32)
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def call_id(self) -> str:
        """A tool call id: ``call_`` + 24 lower-case hex digits."""
        return "call_" + self.hex(24)

    def hex(self, length: int) -> str:
        """``length`` lower-case hex digits."""
        with self._lock:
            return "".join(self._random.choices("0123456789abcdef", k=length))

    def digits(self, length: int) -> str:
        """``length`` decimal digits, the first one non-zero."""
        with self._lock:
            first = self._random.choice("123456789")
            return first + "".join(self._random.choices(string.digits, k=length - 1))
