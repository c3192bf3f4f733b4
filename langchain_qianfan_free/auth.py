"""Credentials: which protocol they select, and how each request is authorized.

* v2: ``Authorization: Bearer <API key>`` (+ optional ``appid`` header). No I/O.
* v1: an OAuth access token, fetched from ``{base}/oauth/2.0/token`` with the API
  Key / Secret Key, sent as ``?access_token=``. Tokens live in :data:`TOKEN_CACHE`,
  the package's one piece of process-wide state: one token per (host, API Key,
  Secret Key), reused by every model instance, thread and task until shortly before
  it expires, and fetched once however many callers need it at the same moment, from
  any thread or event loop, sync or async (one fetch per key is in flight:
  :meth:`TokenCache.board`).

This module decides and formats; the transports do the fetching.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import SecretStr

from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanError,
    error_from_http,
)
from langchain_qianfan_free.protocol import HttpRequest, unusable_answer

__all__ = [
    "TOKEN_CACHE",
    "TOKEN_PATH",
    "AccessToken",
    "BearerAuth",
    "FetchAbandoned",
    "Flight",
    "OAuthTokenAuth",
    "TokenCache",
    "choose_version",
]

TOKEN_PATH = "/oauth/2.0/token"
_MISSING = (
    "No Qianfan credentials. For v2 (the default, what new accounts get) set "
    "QIANFAN_API_KEY or pass api_key='bce-v3/ALTAK-...'; for v1 set QIANFAN_AK and "
    "QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=..."
)


def choose_version(
    api_version: Literal["auto", "v1", "v2"], *, has_api_key: bool, has_ak_sk: bool
) -> Literal["v1", "v2"]:
    """Pick the protocol from ``api_version`` and the configured credentials.

    ``auto`` picks v2 when an API key is configured (also when AK/SK are), else v1
    when API Key/Secret Key are.

    Raises:
        QianfanAuthenticationError: When the chosen protocol has no credentials.
    """
    if api_version == "v2" or (api_version == "auto" and has_api_key):
        if not has_api_key:
            raise QianfanAuthenticationError(
                "api_version='v2' needs an API key: set QIANFAN_API_KEY (or "
                "QIANFAN_BEARER_TOKEN) or pass api_key='bce-v3/ALTAK-...'."
            )
        return "v2"
    if api_version == "v1" or has_ak_sk:
        if not has_ak_sk:
            raise QianfanAuthenticationError(
                "api_version='v1' needs the application's API Key and Secret Key: set "
                "QIANFAN_AK and QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=..."
            )
        return "v1"
    raise QianfanAuthenticationError(_MISSING)


@dataclass(frozen=True)
class AccessToken:
    """A v1 access token and when to stop using it (``time.time()`` seconds)."""

    value: str
    refresh_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', refresh_at={self.refresh_at:.0f})"


class Flight(Future[str]):
    """One token fetch in progress; others wait on it.

    It is marked running at once, so a waiter's cancellation never cancels it.

    Attributes:
        owner: The thread that does the fetch (a sync call made on that thread, e.g.
            inside the event loop that is fetching, must not wait for it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.owner = threading.get_ident()
        self.set_running_or_notify_cancel()


class TokenCache:
    """Process-wide store of v1 access tokens, keyed by a hash of the credentials."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._flights: dict[str, Flight] = {}
        self._guard = threading.Lock()

    def get(self, key: str, now: float | None = None) -> AccessToken | None:
        """The cached token, if it is still good to use."""
        token = self._tokens.get(key)
        if token is not None and (time.time() if now is None else now) < token.refresh_at:
            return token
        return None

    def put(self, key: str, token: AccessToken) -> None:
        """Store a freshly fetched token."""
        self._tokens[key] = token

    def invalidate(self, key: str, stale: str | None) -> None:
        """Forget the token the server rejected, unless another caller replaced it."""
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and (stale is None or current.value == stale):
                del self._tokens[key]

    def clear(self) -> None:
        """Forget every token (for tests and credential rotation)."""
        with self._guard:
            self._tokens.clear()

    def board(self, key: str) -> tuple[Flight, bool]:
        """Join the fetch of ``key``'s token that is in flight, or start one.

        One fetch per credential is in flight in the whole process, whichever
        threads, event loops, sync or async callers need the token at once.

        Returns:
            The fetch's future, and whether the caller must do the fetch (and then
            :meth:`land` it); the others wait on the future (``.result()``, or
            ``await asyncio.wrap_future(...)`` from any event loop).
        """
        with self._guard:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = Flight()
            self._flights[key] = flight
            return flight, True

    def land(self, key: str, flight: Flight, token: str | BaseException) -> None:
        """End a fetch started by :meth:`board`: its token, or why it failed."""
        with self._guard:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if flight.done():  # pragma: no cover (a Flight cannot be cancelled)
            return
        if isinstance(token, BaseException):
            flight.set_exception(token)
        else:
            flight.set_result(token)


class FetchAbandoned(Exception):  # noqa: N818 (a signal, not an error shown to users)
    """The caller fetching a token was interrupted; waiters should fetch themselves."""


TOKEN_CACHE = TokenCache()
"""The process-wide v1 access-token cache (see the module docstring)."""


@dataclass(frozen=True)
class BearerAuth:
    """v2: the API key as a bearer token, and the optional app id."""

    api_key: SecretStr
    app_id: str | None = None
    can_refresh = False

    def cached(self) -> str:
        """The credential to use now (no I/O needed)."""
        return self.api_key.get_secret_value()

    def apply(self, request: HttpRequest, credential: str) -> HttpRequest:
        """The request with its ``Authorization`` (and ``appid``) header."""
        headers = {**request.headers, "Authorization": f"Bearer {credential}"}
        if self.app_id:
            headers["appid"] = self.app_id
        return HttpRequest(request.url, request.body, headers, request.method)


@dataclass(frozen=True)
class OAuthTokenAuth:
    """v1: an access token from the API Key / Secret Key, sent in the query string."""

    base_url: str
    api_key: SecretStr
    secret_key: SecretStr
    cache: TokenCache = TOKEN_CACHE
    can_refresh = True

    @property
    def key(self) -> str:
        """Cache key: a hash, so the cache never holds the keys themselves."""
        raw = "\0".join(
            (self.base_url, self.api_key.get_secret_value(), self.secret_key.get_secret_value())
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def cached(self) -> str | None:
        """The cached token, or ``None`` when one must be fetched."""
        token = self.cache.get(self.key)
        return token.value if token else None

    def token_request(self) -> HttpRequest:
        """The request that fetches a token. Its URL holds secrets: never show it."""
        query = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.api_key.get_secret_value(),
                "client_secret": self.secret_key.get_secret_value(),
            }
        )
        return HttpRequest(
            f"{self.base_url}{TOKEN_PATH}?{query}",
            b"",
            {"Content-Type": "application/json", "Accept": "application/json"},
        )

    def accept(self, status: int, body: bytes, now: float | None = None) -> str:
        """Read the token endpoint's answer, cache the token and return it.

        Raises:
            QianfanAuthenticationError: For ``invalid_client`` (wrong API Key or
                Secret Key), naming the setting to fix.
            QianfanAPIError: For any other failure.
        """
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("access_token"):
            now = time.time() if now is None else now
            lifetime = float(data.get("expires_in") or 2592000)
            # Refresh a little before expiry: 10 % of the lifetime, at most 5 minutes.
            token = AccessToken(
                str(data["access_token"]), now + lifetime - min(300.0, lifetime * 0.1)
            )
            self.cache.put(self.key, token)
            return token.value
        raise _token_error(status, data, body)

    def invalidate(self, stale: str | None) -> None:
        """Drop the rejected token so the next call fetches a new one."""
        self.cache.invalidate(self.key, stale)

    def apply(self, request: HttpRequest, credential: str) -> HttpRequest:
        """The request with ``?access_token=`` added."""
        sep = "&" if "?" in request.url else "?"
        return HttpRequest(
            f"{request.url}{sep}access_token={quote(credential, safe='')}",
            request.body,
            request.headers,
            request.method,
        )


Auth = BearerAuth | OAuthTokenAuth


def _token_error(status: int, data: object, body: bytes) -> QianfanError:
    if isinstance(data, dict) and data.get("error"):
        error, text = str(data["error"]), str(data.get("error_description") or "")
        if error == "invalid_client":
            which = (
                "the API Key (QIANFAN_AK / qianfan_ak) is unknown"
                if "unknown client" in text.lower()
                else "the Secret Key (QIANFAN_SK / qianfan_sk) does not match the API Key"
            )
            return QianfanAuthenticationError(
                f"Qianfan refused the access-token request: {which} ({error}: {text})",
                code=error,
                status=status,
                hint="Copy both keys again from the application in the Qianfan console.",
            )
        return QianfanAPIError(
            f"Qianfan refused the access-token request ({error}: {text})",
            code=error,
            status=status,
            retryable=status >= 500,
        )
    # Never quote a token answer: a broken one may still hold a token or key.
    if status == 200:
        return unusable_answer(
            f"a token answer that holds no token ({len(body)} bytes; not shown, since it "
            "may hold credentials)",
            None,
        )
    return error_from_http(status, "")
