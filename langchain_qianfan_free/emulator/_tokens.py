"""The v1 OAuth side: ``/oauth/2.0/token`` exchanges and the access tokens it issued.

Pure logic (no HTTP): :meth:`TokenStore.exchange` turns the query parameters of a
token request into ``(status, json body)`` (reference §1.3, checklist §9.1) and
:meth:`TokenStore.check` decides whether a chat request's ``access_token`` is good
(110 unknown/revoked, 111 expired). Thread-safe: ``expire_all``/``revoke_all`` are
called from the test thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_qianfan_free.emulator._errors import qianfan_error
from langchain_qianfan_free.emulator._ids import IdSource

__all__ = ["TokenStore"]

_REFRESH_TTL = 315360000  # ten years, as real refresh tokens show
_SCOPE = (
    "public brain_all_scope wenxinworkshop_mgr ai_custom_yiyan_com "
    "ai_custom_qianfan_bloomz_7b_compressed ai_custom_yiyan_com_eb_instant"
)


@dataclass
class _Issued:
    client_id: str
    expires_at: float
    expired: bool = False
    revoked: bool = False


class TokenStore:
    """Issues and checks v1 access tokens.

    Args:
        credentials: API Key (``client_id``) → Secret Key (``client_secret``).
        ttl: Token lifetime in seconds (``expires_in``).
        ids: Random source for the token parts.
        clock: Wall-clock time source (seconds since the epoch).
    """

    def __init__(
        self,
        credentials: Mapping[str, str],
        ttl: int,
        ids: IdSource,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = dict(credentials)
        self._ttl = ttl
        self._ids = ids
        self._clock = clock
        self._issued: dict[str, _Issued] = {}
        self._app_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def exchange(self, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request.

        Args:
            query: The request's query parameters.

        Returns:
            HTTP status and JSON body: 200 with the token, 400 ``invalid_request`` (no
            ``grant_type``), 400 ``unsupported_grant_type`` (another grant type), 401
            ``invalid_client`` (unknown id / wrong secret).
        """
        grant_type = query.get("grant_type")
        if not grant_type:
            return 400, {
                "error": "invalid_request",
                "error_description": "missing required parameter: grant_type",
            }
        if grant_type != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported",
            }
        client_id = query.get("client_id", "")
        if client_id not in self._credentials:
            return 401, {"error": "invalid_client", "error_description": "unknown client id"}
        if query.get("client_secret") != self._credentials[client_id]:
            return 401, {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
        return 200, self.issue(client_id)

    def issue(self, client_id: str) -> dict[str, Any]:
        """Issue a token to ``client_id`` (no secret check); returns the token response body."""
        now = int(self._clock())
        with self._lock:
            app_id = self._app_ids.setdefault(client_id, self._ids.digits(8))
        suffix = f"{self._ids.digits(6)}-{app_id}"
        token = f"24.{self._ids.hex(32)}.{self._ttl}.{now + self._ttl}.{suffix}"
        refresh = f"25.{self._ids.hex(32)}.{_REFRESH_TTL}.{now + _REFRESH_TTL}.{suffix}"
        with self._lock:
            self._issued[token] = _Issued(client_id, now + self._ttl)
        return {
            "refresh_token": refresh,
            "expires_in": self._ttl,
            "session_key": self._ids.hex(64),
            "access_token": token,
            "scope": _SCOPE,
            "session_secret": self._ids.hex(32),
        }

    def check(self, token: str) -> str:
        """The API Key a token was issued to.

        Raises:
            EmulatedError: 110 (unknown or revoked token) or 111 (past its lifetime, or
                expired by :meth:`expire_all`): what a chat request gets.
        """
        with self._lock:
            issued = self._issued.get(token)
            if issued is None or issued.revoked:
                raise qianfan_error(110)
            if issued.expired or self._clock() >= issued.expires_at:
                raise qianfan_error(111)
            return issued.client_id

    def issued(self) -> list[str]:
        """Every access token issued so far (to keep them out of messages)."""
        with self._lock:
            return list(self._issued)

    def expire_all(self) -> None:
        """Every token issued so far now answers 111 ``Access token expired``."""
        with self._lock:
            for issued in self._issued.values():
                issued.expired = True

    def revoke_all(self) -> None:
        """Every token issued so far now answers 110 ``Access token invalid...``."""
        with self._lock:
            for issued in self._issued.values():
                issued.revoked = True

    def restore_all(self) -> None:
        """Undo :meth:`expire_all` and :meth:`revoke_all` (lifetimes still apply)."""
        with self._lock:
            for issued in self._issued.values():
                issued.expired = issued.revoked = False
