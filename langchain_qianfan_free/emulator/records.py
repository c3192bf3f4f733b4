"""The request log: every HTTP request the emulator received, for assertions."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ProtocolName", "RecordedRequest", "RequestLog"]

#: Which part of the API a request addressed.
ProtocolName = Literal["v1", "v2", "token", "iam", "other"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it.

    Attributes:
        method: HTTP method, upper case.
        path: URL path without the query string.
        query: Query parameters (last value wins when repeated). The v1 access token
            is here in clear: this is a test tool, do not print logs in CI output.
        headers: Request headers; lookups are case-insensitive.
        body: Raw body bytes.
        json: The body parsed as JSON, or ``None`` when it is empty or not JSON.
        protocol: ``"v1"`` (wenxinworkshop routes), ``"v2"`` (``/v2/chat/completions``),
            ``"token"`` (``/oauth/2.0/token``), ``"iam"`` (the IAM bearer-token
            endpoint ``/v1/BCE-BEARER/token``) or ``"other"``.
        client: The client's ``host:port``; requests sent over one kept-alive
            connection share it (how tests see that a client pools connections).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    json: Any
    protocol: ProtocolName
    client: str = ""


class RequestLog:
    """Thread-safe, append-only list of :class:`RecordedRequest` (cleared by reset)."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def append(self, record: RecordedRequest) -> None:
        """Add one request."""
        with self._lock:
            self._items.append(record)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the log, oldest first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._items.clear()
