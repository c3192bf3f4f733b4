"""Who is calling: v1 access tokens / IAM signatures, v2 bearer keys and ``appid``.

IAM signing (reference §6) is a seam: :data:`IamVerifier` is the function that
checks a ``bce-auth-v1`` request. The emulator plugs in
:class:`~langchain_qianfan_free.emulator._iam.SignatureVerifier`; :func:`reject_iam`
(the default of :func:`authenticate_v1`) answers every signed request with 14.
v2 accepts the configured API keys and the bearer tokens minted by the emulator's
IAM endpoint (:mod:`~langchain_qianfan_free.emulator._bearer`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from langchain_qianfan_free.emulator._errors import qianfan_error, v2_only_error
from langchain_qianfan_free.emulator._tokens import TokenStore

__all__ = [
    "IamVerifier",
    "SignedRequest",
    "authenticate_v1",
    "authenticate_v2",
    "reject_iam",
]


@dataclass(frozen=True)
class SignedRequest:
    """What authentication needs from a request.

    Attributes:
        method: HTTP method.
        path: URL path as received, percent-decoded once.
        query: Query parameters (last value wins), decoded.
        headers: Request headers (case-insensitive mapping).
        query_pairs: Every query parameter in order, decoded, repeats kept (what a
            signature covers).
        body: Raw body; not signed, only checked against a signed ``content-md5``.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    query_pairs: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


#: Checks a ``bce-auth-v1`` signed request: the caller's id, or the error to answer.
IamVerifier = Callable[[SignedRequest], str]


def reject_iam(request: SignedRequest) -> str:
    """Default IAM verifier: signatures are not verified yet, so every one fails (14).

    Raises:
        EmulatedError: Always.
    """
    del request
    raise qianfan_error(14)


def authenticate_v1(
    request: SignedRequest, tokens: TokenStore, iam: IamVerifier = reject_iam
) -> str:
    """Authenticate a v1 chat request; return who is calling.

    With both ``Authorization`` and ``x-bce-date`` headers the request is in IAM mode
    and goes to ``iam``. Otherwise the ``access_token`` query parameter decides:
    missing or empty → 100 ``Invalid parameter``; unknown or revoked → 110; expired → 111.

    Raises:
        EmulatedError: The request is not authenticated.
    """
    if "Authorization" in request.headers and "x-bce-date" in request.headers:
        return iam(request)
    token = request.query.get("access_token", "")
    if not token:
        raise qianfan_error(100)
    return tokens.check(token)


def authenticate_v2(
    headers: Mapping[str, str],
    api_keys: Collection[str],
    app_ids: Collection[str],
    bearer_token_valid: Callable[[str], bool] | None = None,
) -> str:
    """Authenticate a v2 request: ``Authorization: Bearer <key>`` and optional ``appid``.

    Args:
        headers: Request headers.
        api_keys: Configured API keys.
        app_ids: Configured ``appid`` values.
        bearer_token_valid: Whether a credential is a minted bearer token still alive.

    Returns:
        The API key or bearer token.

    Raises:
        EmulatedError: 401 ``invalid_iam_token`` (missing, unknown or expired
            credential) or 401 ``invalid_appid`` (an ``appid`` header that is not
            configured).
    """
    scheme, _, key = headers.get("Authorization", "").strip().partition(" ")
    key = key.strip()
    known = key in api_keys or (bearer_token_valid is not None and bearer_token_valid(key))
    if scheme.lower() != "bearer" or not key or not known:
        raise qianfan_error(14)  # translates to 401 invalid_iam_token
    app_id = headers.get("appid")
    if app_id is not None and app_id not in app_ids:
        raise v2_only_error(401, "invalid_appid", "No permission to use the appid", v1_code=6)
    return key
