"""Credentials: which protocol they select, and how each request is authorized.

* v2: ``Authorization: Bearer <API key>`` (+ optional ``appid`` header). No I/O.
* v1: an OAuth access token, fetched from ``{base}/oauth/2.0/token`` with the API
  Key / Secret Key, sent as ``?access_token=``. Tokens live in :data:`TOKEN_CACHE`,
  the package's one piece of process-wide state: one token per (host, API Key,
  Secret Key), reused by every model instance, thread and task until shortly before
  it expires, and fetched once however many callers need it at the same moment, from
  any thread or event loop, sync or async (one fetch per key is in flight:
  :meth:`TokenCache.board`).

This module decides and formats; :mod:`~langchain_qianfan_free._auth.token_fetch` fetches
(through the transports' ``send``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from pydantic import SecretStr

from langchain_qianfan_free import _logs as logs
from langchain_qianfan_free._auth.signing import authorization, bce_timestamp
from langchain_qianfan_free._auth.token_cache import (
    TOKEN_CACHE,
    AccessToken,
    FetchAbandoned,
    Flight,
    TokenCache,
)
from langchain_qianfan_free._protocols.common import HttpRequest, unusable_answer
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanError,
    QianfanRateLimitError,
    error_from_http,
)

__all__ = [
    "BEARER_LIFETIME",
    "DEFAULT_IAM_URL",
    "IAM_TOKEN_PATH",
    "TOKEN_CACHE",
    "TOKEN_PATH",
    "AccessToken",
    "Auth",
    "BearerAuth",
    "CredentialKind",
    "FetchAbandoned",
    "Flight",
    "IamBearerAuth",
    "IamSignAuth",
    "OAuthTokenAuth",
    "TokenAuth",
    "TokenCache",
    "choose_credentials",
    "sign_request",
]

TOKEN_PATH = "/oauth/2.0/token"
_MISSING = (
    "No Qianfan credentials. For v2 (the default, what new accounts get) set "
    "QIANFAN_API_KEY or pass api_key='bce-v3/ALTAK-...'; with Baidu Cloud IAM keys set "
    "QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY; for a v1 application set QIANFAN_AK and "
    "QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=..."
)

CredentialKind = Literal["api_key", "app_keys", "iam_keys"]
"""The credentials a call uses: a v2 API key, a v1 application's API Key / Secret
Key (OAuth access token), or Baidu Cloud IAM Access Key / Secret Key (signed v1
requests, or v2 bearer tokens minted from them)."""


def choose_credentials(
    api_version: Literal["auto", "v1", "v2"],
    *,
    has_api_key: bool,
    has_ak_sk: bool,
    has_iam_keys: bool,
) -> tuple[Literal["v1", "v2"], CredentialKind]:
    """The protocol and the credentials to use.

    Precedence with ``auto``: an API key (v2), else IAM keys (v2, bearer tokens
    minted from them), else a v1 application's keys (v1). ``v2`` takes an API key or
    IAM keys; ``v1`` takes application keys, else IAM keys (signed requests).

    Raises:
        QianfanAuthenticationError: When the chosen protocol has no usable credentials,
            naming what to set.
    """
    if api_version == "auto":
        if has_api_key:
            return "v2", "api_key"
        if has_iam_keys:
            return "v2", "iam_keys"
        if has_ak_sk:
            return "v1", "app_keys"
        raise QianfanAuthenticationError(_MISSING)
    if api_version == "v2":
        if has_api_key:
            return "v2", "api_key"
        if has_iam_keys:
            return "v2", "iam_keys"
        extra = (
            " (QIANFAN_AK/QIANFAN_SK are v1 application keys and work on v1 only)"
            if has_ak_sk
            else ""
        )
        raise QianfanAuthenticationError(
            "api_version='v2' needs an API key: set QIANFAN_API_KEY (or "
            "QIANFAN_BEARER_TOKEN) or pass api_key='bce-v3/ALTAK-...', or Baidu Cloud IAM "
            f"keys: QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY{extra}."
        )
    if has_ak_sk:
        return "v1", "app_keys"
    if has_iam_keys:
        return "v1", "iam_keys"
    extra = " (an API key works on v2 only)" if has_api_key else ""
    raise QianfanAuthenticationError(
        "api_version='v1' needs the application's API Key and Secret Key: set "
        "QIANFAN_AK and QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=...; or Baidu "
        f"Cloud IAM keys: QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY{extra}."
    )


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
        return _with_bearer(request, credential, self.app_id)


@dataclass(frozen=True)
class OAuthTokenAuth:
    """v1: an access token from the API Key / Secret Key, sent in the query string."""

    base_url: str
    api_key: SecretStr
    secret_key: SecretStr
    cache: TokenCache = TOKEN_CACHE
    clock: Callable[[], float] = time.time
    can_refresh = True
    kind = "v1 access token"

    @property
    def key(self) -> str:
        """Cache key: a hash, so the cache never holds the keys themselves."""
        return _cache_key("oauth", self.base_url, self.api_key, self.secret_key)

    @property
    def token_url(self) -> str:
        """Where tokens are fetched, without the query (which holds the keys)."""
        return _shown(f"{self.base_url}{TOKEN_PATH}")

    def cached(self) -> str | None:
        """The cached token, or ``None`` when one must be fetched."""
        token = self.cache.get(self.key, self.clock())
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

    def accept(self, status: int, body: bytes, sent: float | None = None) -> str:
        """Read the token endpoint's answer, cache the token and return it.

        Args:
            status: The HTTP status of the answer.
            body: The answer.
            sent: When the token request was sent (``clock()`` seconds; default now):
                the token's lifetime counts from then, as it does on the server.

        Raises:
            QianfanAuthenticationError: For ``invalid_client`` (wrong API Key or
                Secret Key), naming the setting to fix.
            QianfanAPIError: For any other failure, and for an answer whose token or
                ``expires_in`` cannot be used (retried; the answer is never quoted).
        """
        token = _read_oauth(status, body)
        del body  # it may hold a token: keep it out of the frame a traceback shows
        if isinstance(token, QianfanError):
            raise token
        return _store(self, token[0], self.clock() if sent is None else sent, token[1])

    def invalidate(self, stale: str | None) -> None:
        """Drop the rejected token so the next call fetches a new one."""
        _invalidate(self, stale)

    def apply(self, request: HttpRequest, credential: str) -> HttpRequest:
        """The request with ``?access_token=`` added."""
        sep = "&" if "?" in request.url else "?"
        return HttpRequest(
            f"{request.url}{sep}access_token={quote(credential, safe='')}",
            request.body,
            request.headers,
            request.method,
        )


IAM_TOKEN_PATH = "/v1/BCE-BEARER/token"
DEFAULT_IAM_URL = "https://iam.bj.baidubce.com"
BEARER_LIFETIME = 43200
"""Seconds a minted v2 bearer token is asked to live (12 h, as the Qianfan SDK asks)."""
_SIGNED_HEADERS = ("content-type", "host", "x-bce-date")


def sign_request(
    request: HttpRequest, access_key: SecretStr, secret_key: SecretStr, now: float
) -> HttpRequest:
    """``request`` with ``Host``, ``x-bce-date`` and a ``bce-auth-v1`` Authorization.

    Signs ``content-type`` (when set), ``host`` (with a non-default port) and
    ``x-bce-date``, as the Qianfan SDKs do. The body is not part of the signature.
    """
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # what the HTTP libraries send
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    timestamp = bce_timestamp(now)
    headers = {**request.headers, "Host": host, "x-bce-date": timestamp}
    headers["Authorization"] = authorization(
        access_key.get_secret_value(),
        secret_key.get_secret_value(),
        method=request.method,
        path=unquote(parts.path),
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=headers,
        timestamp=timestamp,
        names=_SIGNED_HEADERS,
    )
    return HttpRequest(request.url, request.body, headers, request.method)


@dataclass(frozen=True)
class IamSignAuth:
    """v1 with Baidu Cloud IAM keys: every request signed with ``bce-auth-v1``."""

    access_key: SecretStr
    secret_key: SecretStr
    clock: Callable[[], float] = time.time
    can_refresh = False

    def cached(self) -> str:
        """Nothing to fetch: the signature is made per request."""
        return ""

    def apply(self, request: HttpRequest, credential: str) -> HttpRequest:  # noqa: ARG002
        """The request, signed now."""
        return sign_request(request, self.access_key, self.secret_key, self.clock())


@dataclass(frozen=True)
class IamBearerAuth:
    """v2 with Baidu Cloud IAM keys: a bearer token minted from them, cached."""

    iam_url: str
    access_key: SecretStr
    secret_key: SecretStr
    app_id: str | None = None
    cache: TokenCache = TOKEN_CACHE
    lifetime: int = BEARER_LIFETIME
    clock: Callable[[], float] = time.time
    can_refresh = True
    kind = "v2 bearer token (minted from IAM keys)"

    @property
    def key(self) -> str:
        """Cache key: a hash, so the cache never holds the keys themselves."""
        return _cache_key("iam-bearer", self.iam_url, self.access_key, self.secret_key)

    @property
    def token_url(self) -> str:
        """Where bearer tokens are minted, without the query."""
        return _shown(f"{self.iam_url}{IAM_TOKEN_PATH}")

    def cached(self) -> str | None:
        """The cached bearer token, or ``None`` when one must be minted."""
        token = self.cache.get(self.key, self.clock())
        return token.value if token else None

    def token_request(self) -> HttpRequest:
        """The signed request that mints a bearer token (its answer holds a secret)."""
        request = HttpRequest(
            f"{self.iam_url}{IAM_TOKEN_PATH}?expireInSeconds={self.lifetime}",
            b"",
            {"Accept": "application/json"},
            "GET",
        )
        return sign_request(request, self.access_key, self.secret_key, self.clock())

    def accept(self, status: int, body: bytes, sent: float | None = None) -> str:
        """Read the IAM answer, cache the token and return it.

        Args:
            status: The HTTP status of the answer.
            body: The answer.
            sent: When the mint request was sent (``clock()`` seconds; default now):
                the token's lifetime counts from then, as it does on the server.

        Raises:
            QianfanAuthenticationError: When IAM refuses the keys or the signature.
            QianfanAPIError: For any other failure (retried when it is server trouble),
                and for an answer whose token or times cannot be used (retried).
        """
        sent = self.clock() if sent is None else sent
        token = self._read(status, body, sent)
        del body  # it holds a token: keep it out of the frame a traceback shows
        if isinstance(token, QianfanError):
            raise token
        return _store(self, token[0], sent, token[1])

    def _read(self, status: int, body: bytes, sent: float) -> tuple[str, float] | QianfanError:
        """The token and its lifetime, or the error to raise."""
        data = _json_object(body)
        if not (status == 200 and data is not None and data.get("token")):
            return _iam_error(status, data)
        value = _token_value(data["token"])
        lifetime = self._lifetime(data, sent)
        if value is not None and lifetime is not None:
            return value, lifetime
        what = (
            "a token that is not a string of visible characters"
            if value is None
            else "an expireTime that is not after its createTime"
        )
        return unusable_answer(
            f"an IAM token answer with {what} (not shown: it holds credentials)", None
        )

    def _lifetime(self, data: dict[str, object], sent: float) -> float | None:
        """Seconds the minted token lives, at most the lifetime asked for.

        On the server's own clock (``createTime`` → ``expireTime``) when it sent both,
        so a skewed local clock does not shorten or stretch it. Times that cannot be
        read count as absent (the lifetime asked for then applies); ``None`` when the
        server says the token expired before it was made.
        """
        created = _iso_seconds(data.get("createTime"))
        expires = _iso_seconds(data.get("expireTime"))
        if created is not None and expires is not None:
            if expires <= created:
                return None
            lifetime = expires - created
        elif expires is not None:
            lifetime = expires - sent
        else:
            lifetime = float(self.lifetime)
        return min(max(lifetime, 0.0), float(self.lifetime))

    def invalidate(self, stale: str | None) -> None:
        """Drop the rejected token so the next call mints a new one."""
        _invalidate(self, stale)

    def apply(self, request: HttpRequest, credential: str) -> HttpRequest:
        """The request with ``Authorization: Bearer`` (and ``appid``)."""
        return _with_bearer(request, credential, self.app_id)


def _with_bearer(request: HttpRequest, credential: str, app_id: str | None) -> HttpRequest:
    """``request`` with ``Authorization: Bearer`` and, when set, the ``appid`` header."""
    headers = {**request.headers, "Authorization": f"Bearer {credential}"}
    if app_id:
        headers["appid"] = app_id
    return HttpRequest(request.url, request.body, headers, request.method)


def _cache_key(kind: str, host: str, key: SecretStr, secret: SecretStr) -> str:
    """A token-cache key: a hash, so the cache never holds the keys themselves."""
    raw = "\0".join((kind, host, key.get_secret_value(), secret.get_secret_value()))
    return hashlib.sha256(raw.encode()).hexdigest()


def _iso_seconds(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # IAM times are UTC
        return moment.timestamp()
    except (ValueError, OverflowError):  # not a time, or beyond the calendar
        return None


def _read_oauth(status: int, body: bytes) -> tuple[str, float] | QianfanError:
    """A v1 token answer's token and lifetime, or the error to raise."""
    data = _json_object(body)
    if data is None or not data.get("access_token"):
        return _token_error(status, data, body)
    value = _token_value(data["access_token"])
    lifetime = _expires_in(data.get("expires_in"))
    if value is not None and lifetime is not None:
        return value, lifetime
    what = (
        "an access_token that is not a string of visible characters"
        if value is None
        else "an expires_in that is not a positive number of seconds"
    )
    return unusable_answer(f"a token answer with {what} (not shown: it holds credentials)", None)


def _json_object(body: bytes) -> dict[str, object] | None:
    """The answer as a JSON object, or ``None`` (not JSON, or not an object)."""
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _token_value(value: object) -> str | None:
    """The token if it can be sent as-is: a string of visible ASCII characters.

    Anything else (a number, an object, spaces or line breaks, which would break the
    ``Authorization`` header) makes the answer unusable.
    """
    if isinstance(value, str) and value and all("!" <= c <= "~" for c in value):
        return value
    return None


_V1_DEFAULT_LIFETIME = 2592000.0
"""Seconds a v1 token whose answer has no ``expires_in`` is used (the documented 30 days;
a token the server expired sooner is refreshed on its 110/111 answer)."""


def _expires_in(value: object) -> float | None:
    """A v1 ``expires_in`` as seconds, or ``None`` when it is not a positive number.

    Absent or ``null``: :data:`_V1_DEFAULT_LIFETIME`. A string of digits is read as
    the number it spells; booleans, other strings, lists, objects, zero, negative and
    non-finite numbers are unusable.
    """
    if value is None:
        return _V1_DEFAULT_LIFETIME
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _store(auth: TokenAuth, value: str, sent: float, lifetime: float) -> str:
    """Cache a fetched token for ``lifetime`` seconds from ``sent``; log it; return it."""
    # Refresh a little before expiry: 10 % of the lifetime, at most 5 minutes.
    margin = min(300.0, lifetime * 0.1)
    refreshed = auth.cache.fetched_before(auth.key)
    auth.cache.put(auth.key, AccessToken(value, sent + lifetime - margin))
    logs.info(
        "%s %s from %s: valid for %.0f s from the request, replaced after %.0f s",
        auth.kind,
        "refreshed" if refreshed else "fetched",
        auth.token_url,
        lifetime,
        lifetime - margin,
    )
    return value


def _invalidate(auth: TokenAuth, stale: str | None) -> None:
    if auth.cache.invalidate(auth.key, stale):
        logs.info(
            "%s from %s rejected by the server: dropped, the next call fetches a new one",
            auth.kind,
            auth.token_url,
        )
    else:
        logs.debug(
            "%s from %s rejected by the server: already replaced by another call",
            auth.kind,
            auth.token_url,
        )


def _shown(url: str) -> str:
    """``url`` without its query, fragment and user info (for log lines)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


_IAM_AUTH_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "RequestExpired",
        "InvalidHTTPAuthHeader",
        "AccessDenied",
        "InvalidSessionToken",
    }
)


def _iam_error(status: int, data: object) -> QianfanError:
    # Never quote a token answer; IAM error answers hold a code and a message.
    code = str(data.get("code")) if isinstance(data, dict) and data.get("code") else None
    text = str(data.get("message") or "") if isinstance(data, dict) else ""
    # BCE answers signature problems with 400 or 403 depending on the service: the
    # code says what happened.
    # A 5xx is server trouble whatever its body says (retried, like chat answers).
    if status < 500 and (status in (401, 403) or code in _IAM_AUTH_CODES):
        return QianfanAuthenticationError(
            "Baidu IAM refused the request for a v2 token "
            f"({code or status}: {text or 'no detail'})",
            code=code,
            status=status,
            hint=(
                "Check QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY (qianfan_access_key / "
                "qianfan_secret_key: the IAM keys of your Baidu Cloud account), and the "
                "machine's clock (signatures carry the time)."
            ),
        )
    if status == 200:
        return unusable_answer(
            "an IAM token answer that holds no token (not shown: it may hold credentials)",
            None,
        )
    return _busy_or_failed(status)(
        f"Baidu IAM could not issue a v2 token (HTTP {status}"
        f"{f', {code}' if code else ''}{f': {text}' if text else ''})",
        code=code,
        status=status,
        retryable=_worth_retrying(status),
    )


TokenAuth = OAuthTokenAuth | IamBearerAuth
"""Credentials that need a token fetched (and refreshed) first."""

Auth = BearerAuth | OAuthTokenAuth | IamSignAuth | IamBearerAuth


def _token_error(status: int, data: object, body: bytes) -> QianfanError:
    if isinstance(data, dict) and data.get("error"):
        error, text = str(data["error"]), str(data.get("error_description") or "")
        if error == "invalid_client" and status < 500:
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
        return _busy_or_failed(status)(
            f"Qianfan refused the access-token request ({error}: {text})",
            code=error,
            status=status,
            retryable=_worth_retrying(status),
        )
    # Never quote a token answer: a broken one may still hold a token or key.
    if status == 200:
        return unusable_answer(
            f"a token answer that holds no token ({len(body)} bytes; not shown, since it "
            "may hold credentials)",
            None,
        )
    return error_from_http(status, "")


def _worth_retrying(status: int) -> bool:
    """A token endpoint's failure that another attempt may not meet: 429 and any 5xx."""
    return status >= 500 or status == 429


def _busy_or_failed(status: int) -> type[QianfanError]:
    return QianfanRateLimitError if status == 429 else QianfanAPIError
