"""The IAM bearer-token endpoint (``GET /v1/BCE-BEARER/token``) and the tokens it mints.

Pure logic (no HTTP): :meth:`BearerTokenStore.exchange` turns a signed request into
``(status, json body)`` (reference §7.1: a ``bce-auth-v1`` signed ``GET`` with
``expireInSeconds``, answered with ``userId``, ``token``, ``status``,
``createTime``, ``expireTime``), and :meth:`BearerTokenStore.is_valid` tells the v2
route whether a bearer credential is a minted token still alive. Thread-safe:
``expire_all`` is called from the test thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_qianfan_free._auth.signing import bce_timestamp
from langchain_qianfan_free.emulator._auth import SignedRequest
from langchain_qianfan_free.emulator._iam import BceError, SignatureVerifier
from langchain_qianfan_free.emulator._ids import IdSource

__all__ = [
    "BEARER_TOKEN_PATH",
    "DEFAULT_BEARER_SECONDS",
    "MAX_BEARER_SECONDS",
    "MIN_BEARER_SECONDS",
    "BearerTokenStore",
    "parse_lifetime",
]

BEARER_TOKEN_PATH = "/v1/BCE-BEARER/token"
#: Lifetime when ``expireInSeconds`` is not sent (doc copies say 1800; unconfirmed).
DEFAULT_BEARER_SECONDS = 1800
#: Smallest accepted ``expireInSeconds``.
MIN_BEARER_SECONDS = 1
#: Largest accepted ``expireInSeconds`` (30 days; "on the order of 30 days", unconfirmed).
MAX_BEARER_SECONDS = 2592000


@dataclass
class _Minted:
    expires_at: float
    expired: bool = False


def parse_lifetime(value: str | None) -> int | BceError:
    """``expireInSeconds`` as an integer, or the 400 ``InvalidHTTPRequest`` it earns.

    Args:
        value: The query parameter; ``None`` (absent) means the default, 1800.

    Returns:
        Seconds in ``[MIN_BEARER_SECONDS, MAX_BEARER_SECONDS]``, or the error for a
        value that is empty, not a decimal integer, or out of that range.
    """
    if value is None:
        return DEFAULT_BEARER_SECONDS
    text = value.strip()
    if text.isascii() and text.isdigit() and MIN_BEARER_SECONDS <= int(text) <= MAX_BEARER_SECONDS:
        return int(text)
    return BceError(
        400,
        "InvalidHTTPRequest",
        f"The specified parameter expireInSeconds is invalid: {value!r} is not an integer "
        f"between {MIN_BEARER_SECONDS} and {MAX_BEARER_SECONDS}.",
    )


class BearerTokenStore:
    """Mints IAM bearer tokens for signed requests and checks them for the v2 route.

    Args:
        verifier: Checks the ``bce-auth-v1`` signature of token requests.
        ids: Random source for user ids and token parts.
        clock: Wall-clock time source (seconds since the epoch).
    """

    def __init__(
        self, verifier: SignatureVerifier, ids: IdSource, clock: Callable[[], float]
    ) -> None:
        self._verifier = verifier
        self._ids = ids
        self._clock = clock
        self._minted: dict[str, _Minted] = {}
        self._user_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def exchange(self, request: SignedRequest, request_id: str) -> tuple[int, dict[str, Any]]:
        """Answer a token request.

        Args:
            request: The received request (its method is not checked here).
            request_id: The ``requestId`` of an error body.

        Returns:
            200 and the token body; or the signature's BCE error (400
            ``InvalidHTTPAuthHeader`` / ``RequestExpired`` / ``SignatureDoesNotMatch``,
            403 ``InvalidAccessKeyId``), or 400 ``InvalidHTTPRequest`` for a bad
            ``expireInSeconds``, as ``{"requestId", "code", "message"}``.
        """
        who = self._verifier.check(request)
        if isinstance(who, BceError):
            return who.status, who.body(request_id)
        seconds = parse_lifetime(request.query.get("expireInSeconds"))
        if isinstance(seconds, BceError):
            return seconds.status, seconds.body(request_id)
        return 200, self.mint(who, seconds)

    def mint(self, access_key: str, seconds: int) -> dict[str, Any]:
        """Mint a token for ``access_key`` (no signature check); returns the answer body."""
        now = int(self._clock())
        with self._lock:
            user_id = self._user_ids.setdefault(access_key, self._ids.hex(32))
        token = f"bce-v3/ALTAK-{self._ids.hex(24)}/{self._ids.hex(40)}"
        with self._lock:
            self._minted[token] = _Minted(now + seconds)
        return {
            "userId": user_id,
            "token": token,
            "status": "enable",
            "createTime": bce_timestamp(now),
            "expireTime": bce_timestamp(now + seconds),
        }

    def is_valid(self, token: str) -> bool:
        """Whether ``token`` was minted here and is before its ``expireTime`` (and not expired)."""
        with self._lock:
            minted = self._minted.get(token)
            return minted is not None and not minted.expired and self._clock() < minted.expires_at

    def minted(self) -> list[str]:
        """Every bearer token minted so far (to keep them out of messages)."""
        with self._lock:
            return list(self._minted)

    def expire_all(self) -> None:
        """Every token minted so far is now refused (v2: 401 ``invalid_iam_token``)."""
        with self._lock:
            for minted in self._minted.values():
                minted.expired = True

    def restore_all(self) -> None:
        """Undo :meth:`expire_all` (lifetimes still apply)."""
        with self._lock:
            for minted in self._minted.values():
                minted.expired = False
