"""Credentials: which scheme a call uses, the schemes, the signer and the token cache.

Every scheme is an :class:`Auth`: it puts its credentials on a request. The schemes
whose credential is a short-lived token, fetched and cached, are also a
:class:`TokenAuth`, and say so with a value (``auth.token_source``), not with their type:

=========================  ===========  ==============================================
scheme                     protocol     credential
=========================  ===========  ==============================================
``BearerAuth``             v2           the API key, as ``Authorization: Bearer``
``IamBearerAuth``          v2           a bearer token minted from IAM keys (fetched)
``OAuthTokenAuth``         v1           an OAuth access token in the query (fetched)
``IamSignAuth``            v1           a ``bce-auth-v1`` signature made per request
=========================  ===========  ==============================================

:mod:`~._auth.schemes` holds the schemes, :mod:`~._auth.token_answers` reads the token
endpoints' answers (pure), :mod:`~._auth.token_cache` keeps the tokens and fetches each
one once for the whole process (through the ``send`` function a transport hands it),
:mod:`~._auth.signing` signs, and :mod:`~._auth.credentials` picks the scheme.

This module imports nothing at run time: importing any part of ``_auth`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_qianfan_free._auth.token_answers import TokenAnswer
    from langchain_qianfan_free._auth.token_cache import TokenCache
    from langchain_qianfan_free._protocols.common import HttpRequest

__all__ = ["Auth", "TokenAuth"]


class Auth(Protocol):
    """What every auth scheme offers: how a call's request gets its credentials."""

    @property
    def token_source(self) -> TokenAuth | None:
        """Where the token this scheme sends comes from, when it must be fetched first.

        ``None`` for a scheme that needs no token: a static key, or a signature made
        per request.
        """

    def apply(self, request: HttpRequest, token: str | None) -> HttpRequest:
        """``request`` with its credentials.

        Args:
            request: The request without credentials.
            token: The token fetched from :attr:`token_source`; ``None`` when the
                scheme has no token source.
        """


class TokenAuth(Auth, Protocol):
    """A scheme whose credential is a fetched, cached, refreshable token.

    v1 OAuth access tokens (:class:`~._auth.schemes.OAuthTokenAuth`) and v2 bearer
    tokens minted from IAM keys (:class:`~._auth.schemes.IamBearerAuth`). The cache
    (:class:`~._auth.token_cache.TokenCache`) fetches, stores and drops the tokens; the
    scheme says where to ask and how to read the answer.
    """

    @property
    def kind(self) -> str:
        """What the token is, for log lines (``"v1 access token"``)."""

    @property
    def key(self) -> str:
        """The cache key: a hash of the credentials, never the keys themselves."""

    @property
    def token_url(self) -> str:
        """Where tokens are fetched, without the query (for log lines)."""

    @property
    def cache(self) -> TokenCache:
        """Where the token is kept (the process-wide one unless a test passes its own)."""

    @property
    def clock(self) -> Callable[[], float]:
        """The wall clock (``time.time`` seconds) that token lifetimes count on."""

    def token_request(self) -> HttpRequest:
        """The request that fetches a token (it holds secrets: never show it)."""

    def read_answer(self, status: int, body: bytes, sent: float) -> TokenAnswer:
        """The token and its lifetime in the token endpoint's answer (pure).

        Args:
            status: The answer's HTTP status.
            body: The answer.
            sent: When the token request was sent (``clock()`` seconds).

        Raises:
            QianfanError: When the answer is a refusal, a failure, or holds no token
                that can be used (the answer is never quoted).
        """
