"""What a transport sends (:class:`Call`), and how its failures read.

Shared by both I/O loops: the call record, the mapping of library exceptions onto
redacted ``QianfanError`` s, the pool-full and cut-stream errors, and the bounds of a
stream's tail. Exceptions are classified by class name where that avoids importing
aiohttp on the sync path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free._auth import Auth
from langchain_qianfan_free._protocols.common import HttpRequest, ReplyParser
from langchain_qianfan_free.errors import (
    QianfanConnectionError,
    QianfanError,
    QianfanTimeoutError,
    redact,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "TAIL_BYTES",
    "TAIL_SECONDS",
    "Call",
    "is_https",
    "is_stream",
    "network_error",
    "pool_full",
    "stream_failed",
    "tail_failed",
    "unfinished",
]

DEFAULT_MAX_CONNECTIONS = 100
"""Requests a model sends at once, per process (sync) or per event loop (async)."""
_JSON_TYPES = ("application/json",)
# After a stream's final event, what follows is read only this long and this much;
# then the connection is closed instead of waiting (a proxy's heartbeats, an idle body).
TAIL_SECONDS = 0.05
TAIL_BYTES = 65536


@dataclass(frozen=True)
class Call:
    """One chat call to make.

    Attributes:
        protocol: ``protocol_v1`` or ``protocol_v2`` (its ``parse_*`` functions).
        request: The request without credentials.
        auth: How to authorize it (and, through ``auth.token_source``, whether a
            token must be fetched first).
        timeout: Seconds to wait for a connection and between received bytes;
            ``None`` waits forever.
        max_retries: Retries after the first attempt (see ``retry``).
        max_connections: How many requests the model sends at once per event loop
            (async) or per process (sync); further calls wait up to ``timeout`` for a
            free connection.
    """

    protocol: ReplyParser
    request: HttpRequest
    auth: Auth
    timeout: float | None
    max_retries: int
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def is_stream(status: int, headers: Mapping[str, str]) -> bool:
    """A 200 answer to a stream request is an event stream unless it says it is JSON.

    (v1 errors arrive as HTTP 200 ``application/json``; a server that labels its
    events oddly, or not at all, is still read as events.)
    """
    content_type = (headers.get("Content-Type") or headers.get("content-type") or "").lower()
    return status == 200 and not content_type.startswith(_JSON_TYPES)


def is_https(url: str) -> bool:
    """Whether ``url`` is https (a scheme is case-insensitive: ``HTTPS://…``)."""
    return url[:6].lower() == "https:"


def unfinished(request: HttpRequest) -> QianfanConnectionError:
    """The error of a stream whose body ended before its final event (retryable)."""
    return QianfanConnectionError(
        f"The stream from {redact(request.url)} ended before Qianfan finished the answer "
        "(the connection closed without the final event).",
        retryable=True,
    )


def network_error(exc: BaseException, request: HttpRequest, timeout: float | None) -> QianfanError:
    """A library's network exception as a redacted ``QianfanError``.

    An untrusted certificate is final; timeouts and other connection failures are
    retryable.
    """
    detail = f"{type(exc).__name__}: {redact(str(exc))}"
    if "CERTIFICATE_VERIFY_FAILED" in detail:  # OpenSSL's reason, in both libraries' text
        # Another attempt meets the same certificate: not retried.
        return QianfanConnectionError(
            f"The TLS certificate of {redact(request.url)} is not trusted ({detail})",
            hint=(
                "Behind a private CA or a TLS-inspecting proxy, point REQUESTS_CA_BUNDLE, "
                "CURL_CA_BUNDLE or SSL_CERT_FILE at its CA bundle (both paths read them)."
            ),
            retryable=False,
        )
    if _is_timeout(exc):
        return QianfanTimeoutError(
            f"No answer from {redact(request.url)} within {timeout} s ({detail})",
            hint="Raise the timeout setting, or retry later.",
            retryable=True,
        )
    return QianfanConnectionError(
        f"Could not talk to Qianfan at {redact(request.url)} ({detail})",
        hint="Check the network, base_url / QIANFAN_BASE_URL and any proxy.",
        retryable=True,
    )


# aiohttp's and urllib3's timeout classes, by name: the sync path never imports aiohttp.
_TIMEOUT_NAMES = frozenset(
    {"ServerTimeoutError", "ConnectionTimeoutError", "SocketTimeoutError", "ReadTimeoutError"}
)


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, requests.Timeout | TimeoutError | asyncio.TimeoutError):
        return True
    if type(exc).__name__ in _TIMEOUT_NAMES:
        return True
    # requests wraps urllib3's ReadTimeoutError of a body being read in ConnectionError.
    return any(type(arg).__name__ in _TIMEOUT_NAMES for arg in getattr(exc, "args", ()))


def pool_full(request: HttpRequest, size: int, timeout: float | None) -> QianfanTimeoutError:
    """The error of a call that found no free connection within ``timeout`` (final)."""
    return QianfanTimeoutError(
        f"No free connection to {redact(request.url)} within {timeout} s: the connection "
        f"pool was full (all max_connections={size} in use by this model's other calls).",
        hint=(
            "Raise max_connections, send fewer calls at once, and close streams you stop "
            "reading (break out of the loop, or close the generator)."
        ),
        retryable=False,
    )


def stream_failed(request: HttpRequest, events: int, error: QianfanError) -> None:
    """Log a stream that failed after its first events reached the caller (not retried)."""
    logs.info(
        "stream from %s failed after %d events reached the caller: %s",
        redact(request.url),
        events,
        error,
    )


def tail_failed(error: Exception) -> None:
    """Log why a stream's connection is closed after its final event, not reused."""
    logs.debug(
        "after a stream's final event: %s; its connection is closed, not reused",
        "nothing more arrived at once"
        if isinstance(error, asyncio.TimeoutError | QianfanTimeoutError)
        else type(error).__name__,
    )
