"""The four auth schemes: how each request is authorized.

* v2 with an API key (:class:`BearerAuth`): ``Authorization: Bearer <API key>`` (+ the
  optional ``appid`` header). Nothing to fetch.
* v2 with IAM keys (:class:`IamBearerAuth`): a bearer token minted from the keys at
  ``{iam}/v1/BCE-BEARER/token`` (a signed request), sent like an API key.
* v1 with an application's API Key / Secret Key (:class:`OAuthTokenAuth`): an OAuth
  access token fetched from ``{base}/oauth/2.0/token``, sent as ``?access_token=``.
* v1 with IAM keys (:class:`IamSignAuth`): every request signed with ``bce-auth-v1``.
  Nothing to fetch.

The two token schemes are :class:`~langchain_qianfan_free._auth.TokenAuth`: their
``token_source`` is themselves, and the token cache
(:mod:`~langchain_qianfan_free._auth.token_cache`) fetches their tokens once for the
whole process. This module decides and formats; it never sends anything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from pydantic import SecretStr

from langchain_qianfan_free._auth.signing import authorization, bce_timestamp
from langchain_qianfan_free._auth.token_answers import TokenAnswer, iam_answer, oauth_answer
from langchain_qianfan_free._auth.token_cache import TOKEN_CACHE, TokenCache
from langchain_qianfan_free._protocols.common import HttpRequest
from langchain_qianfan_free.errors import QianfanError

__all__ = [
    "BEARER_LIFETIME",
    "DEFAULT_IAM_URL",
    "IAM_TOKEN_PATH",
    "TOKEN_PATH",
    "BearerAuth",
    "IamBearerAuth",
    "IamSignAuth",
    "OAuthTokenAuth",
    "sign_request",
]

TOKEN_PATH = "/oauth/2.0/token"
IAM_TOKEN_PATH = "/v1/BCE-BEARER/token"
DEFAULT_IAM_URL = "https://iam.bj.baidubce.com"
BEARER_LIFETIME = 43200
"""Seconds a minted v2 bearer token is asked to live (12 h, as the Qianfan SDK asks)."""
_SIGNED_HEADERS = ("content-type", "host", "x-bce-date")


@dataclass(frozen=True)
class BearerAuth:
    """v2: the API key as a bearer token, and the optional app id."""

    api_key: SecretStr
    app_id: str | None = None

    @property
    def token_source(self) -> None:
        """``None``: the key is sent as it is, nothing is fetched."""
        return None

    def apply(self, request: HttpRequest, token: str | None) -> HttpRequest:  # noqa: ARG002
        """The request with its ``Authorization`` (and ``appid``) header."""
        return _with_bearer(request, self.api_key.get_secret_value(), self.app_id)


@dataclass(frozen=True)
class OAuthTokenAuth:
    """v1: an access token from the API Key / Secret Key, sent in the query string."""

    base_url: str
    api_key: SecretStr
    secret_key: SecretStr
    cache: TokenCache = TOKEN_CACHE
    clock: Callable[[], float] = time.time
    kind = "v1 access token"

    @property
    def token_source(self) -> OAuthTokenAuth:
        """The scheme itself: its access token is fetched first."""
        return self

    @cached_property
    def key(self) -> str:
        """Cache key: a hash, so the cache never holds the keys themselves."""
        return _cache_key("oauth", self.base_url, self.api_key, self.secret_key)

    @property
    def token_url(self) -> str:
        """Where tokens are fetched, without the query (which holds the keys)."""
        return _shown(f"{self.base_url}{TOKEN_PATH}")

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

    def read_answer(self, status: int, body: bytes, sent: float) -> TokenAnswer:  # noqa: ARG002
        """The token endpoint's token and its lifetime (pure).

        Args:
            status: The HTTP status of the answer.
            body: The answer.
            sent: When the token request was sent (unused: v1 lifetimes are relative).

        Raises:
            QianfanAuthenticationError: For ``invalid_client`` (wrong API Key or
                Secret Key), naming the setting to fix.
            QianfanAPIError: For any other failure, and for an answer whose token or
                ``expires_in`` cannot be used (retried; the answer is never quoted).
        """
        answer = oauth_answer(status, body)
        del body  # it may hold a token: keep it out of the frame a traceback shows
        if isinstance(answer, QianfanError):
            raise answer
        return answer

    def apply(self, request: HttpRequest, token: str | None) -> HttpRequest:
        """The request with ``?access_token=`` added."""
        sep = "&" if "?" in request.url else "?"
        return HttpRequest(
            f"{request.url}{sep}access_token={quote(token or '', safe='')}",
            request.body,
            request.headers,
            request.method,
        )


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

    @property
    def token_source(self) -> None:
        """``None``: nothing to fetch, the signature is made per request."""
        return None

    def apply(self, request: HttpRequest, token: str | None) -> HttpRequest:  # noqa: ARG002
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
    kind = "v2 bearer token (minted from IAM keys)"

    @property
    def token_source(self) -> IamBearerAuth:
        """The scheme itself: its bearer token is minted first."""
        return self

    @cached_property
    def key(self) -> str:
        """Cache key: a hash, so the cache never holds the keys themselves."""
        return _cache_key("iam-bearer", self.iam_url, self.access_key, self.secret_key)

    @property
    def token_url(self) -> str:
        """Where bearer tokens are minted, without the query."""
        return _shown(f"{self.iam_url}{IAM_TOKEN_PATH}")

    def token_request(self) -> HttpRequest:
        """The signed request that mints a bearer token (its answer holds a secret)."""
        request = HttpRequest(
            f"{self.iam_url}{IAM_TOKEN_PATH}?expireInSeconds={self.lifetime}",
            b"",
            {"Accept": "application/json"},
            "GET",
        )
        return sign_request(request, self.access_key, self.secret_key, self.clock())

    def read_answer(self, status: int, body: bytes, sent: float) -> TokenAnswer:
        """IAM's bearer token and its lifetime (pure).

        Args:
            status: The HTTP status of the answer.
            body: The answer.
            sent: When the mint request was sent (``clock()`` seconds): an answer
                with only an ``expireTime`` lives from then.

        Raises:
            QianfanAuthenticationError: When IAM refuses the keys or the signature.
            QianfanAPIError: For any other failure (retried when it is server trouble),
                and for an answer whose token or times cannot be used (retried).
        """
        answer = iam_answer(status, body, sent, self.lifetime)
        del body  # it holds a token: keep it out of the frame a traceback shows
        if isinstance(answer, QianfanError):
            raise answer
        return answer

    def apply(self, request: HttpRequest, token: str | None) -> HttpRequest:
        """The request with ``Authorization: Bearer`` (and ``appid``)."""
        return _with_bearer(request, token or "", self.app_id)


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


def _shown(url: str) -> str:
    """``url`` without its query, fragment and user info (for log lines)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
