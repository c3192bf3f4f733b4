"""Server-side ``bce-auth-v1`` verification (reference §6), and BCE's error answers.

:class:`SignatureVerifier` checks a signed request the way a Baidu Cloud service
does: it parses ``Authorization: bce-auth-v1/{AK}/{timestamp}/{expiration}/
{signedHeaders}/{signature}``, looks the AK up, checks the validity window against an
injected clock, rebuilds the canonical request from what was received (method, path,
query, the listed headers — ``host`` as sent, with its port) with the package's own
canonicalisation (:mod:`langchain_qianfan_free._auth.signing`) and compares signatures in
constant time. The body is not part of a ``bce-auth-v1`` signature; only when
``content-md5`` is signed is the body checked against it.

A failure is a :class:`BceError`, the BCE common error it would be on a Baidu Cloud
host (``{"requestId", "code", "message"}``). The v1 chat route answers every failure
with its own error 14 instead (calling the verifier through the
:data:`~langchain_qianfan_free.emulator._auth.IamVerifier` seam); the bearer-token
endpoint answers the BCE error itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langchain_qianfan_free._auth.signing import AUTH_VERSION, canonical_request, signing_key
from langchain_qianfan_free.emulator._auth import SignedRequest
from langchain_qianfan_free.emulator._errors import qianfan_error

__all__ = [
    "DEFAULT_SIGNED_HEADERS",
    "INVALID_ACCESS_KEY_ID",
    "INVALID_AUTH_HEADER",
    "SIGNATURE_MISMATCH",
    "AuthHeader",
    "BceError",
    "SignatureVerifier",
    "parse_authorization",
    "request_expired",
]

#: Headers signed when ``signedHeaders`` is empty (plus every ``x-bce-*`` header sent).
DEFAULT_SIGNED_HEADERS = ("host", "content-length", "content-type", "content-md5")

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP token
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class BceError:
    """A Baidu Cloud common error: HTTP status, ``code`` and ``message``.

    Attributes:
        status: HTTP status.
        code: BCE error code, e.g. ``SignatureDoesNotMatch``.
        message: Error text.
    """

    status: int
    code: str
    message: str

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body BCE services answer: ``{"requestId", "code", "message"}``."""
        return {"requestId": request_id, "code": self.code, "message": self.message}


#: The ``Authorization`` header is missing or not ``bce-auth-v1`` shaped.
INVALID_AUTH_HEADER = BceError(
    400,
    "InvalidHTTPAuthHeader",
    "The HTTP authorization header is invalid. Consult the service documentation for details.",
)
#: The AK is not one of the configured IAM credentials.
INVALID_ACCESS_KEY_ID = BceError(
    403, "InvalidAccessKeyId", "The Access Key ID you provided does not exist in our records."
)
#: The recomputed signature differs (wrong SK, or anything signed was changed).
SIGNATURE_MISMATCH = BceError(
    400,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. "
    "Check your Secret Access Key and signing method. "
    "Consult the service documentation for details.",
)


def request_expired(timestamp: str) -> BceError:
    """``RequestExpired``: the signature's validity window does not contain now."""
    return BceError(400, "RequestExpired", f"Request has expired. Timestamp date is {timestamp}.")


@dataclass(frozen=True)
class AuthHeader:
    """A parsed ``bce-auth-v1`` Authorization header.

    Attributes:
        access_key: The AK.
        timestamp: The signing time as sent (``YYYY-MM-DDThh:mm:ssZ``).
        signed_at: The same, in seconds since the epoch.
        expiration: Validity window in seconds.
        signed_headers: Header names as listed (lower-cased, any order; empty means
            the default set).
        signature: The hex signature.
    """

    access_key: str
    timestamp: str
    signed_at: float
    expiration: int
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def prefix(self) -> str:
        """``bce-auth-v1/{AK}/{timestamp}/{expiration}``: what the signing key signs."""
        return f"{AUTH_VERSION}/{self.access_key}/{self.timestamp}/{self.expiration}"


def parse_authorization(value: str) -> AuthHeader | None:
    """Parse ``bce-auth-v1/{AK}/{timestamp}/{expiration}/{signedHeaders}/{signature}``.

    Returns:
        The parts, or ``None`` when the value is not of that shape: another version,
        an empty AK, a timestamp not ``YYYY-MM-DDThh:mm:ssZ`` (or not a real date),
        an expiration that is not a non-negative decimal integer, a header list
        with an empty or invalid name, a signature that is not hex.
    """
    parts = value.strip().split("/")
    if len(parts) != 6:
        return None
    version, access_key, timestamp, expiration, names, signature = parts
    if version != AUTH_VERSION or not access_key or not _TIMESTAMP.fullmatch(timestamp):
        return None
    if not (expiration.isascii() and expiration.isdigit()) or not _HEX.fullmatch(signature):
        return None
    try:
        moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    listed = tuple(name.strip().lower() for name in names.split(";")) if names else ()
    if not all(_HEADER_NAME.fullmatch(name) for name in listed):
        return None
    return AuthHeader(
        access_key, timestamp, moment.timestamp(), int(expiration), listed, signature.lower()
    )


class SignatureVerifier:
    """Verifies ``bce-auth-v1`` signed requests against configured IAM credentials.

    Checks, in order: the header parses and an explicit ``signedHeaders`` list
    includes ``host`` (else ``InvalidHTTPAuthHeader``); the AK is known
    (``InvalidAccessKeyId``); ``now <= timestamp + expiration`` and
    ``timestamp <= now + max_skew`` (``RequestExpired``); an ``x-bce-date`` header,
    when sent, equals the signed timestamp; the signature recomputed from the
    received request matches; a signed ``content-md5`` matches the body (these
    three: ``SignatureDoesNotMatch``).

    Calling the verifier is the v1 route's
    :data:`~langchain_qianfan_free.emulator._auth.IamVerifier`: the AK, or error 14.

    Args:
        credentials: IAM Access Key → Secret Key.
        clock: Wall-clock time source (seconds since the epoch).
        max_skew: Seconds a timestamp may lie in the future.
    """

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        clock: Callable[[], float],
        max_skew: float = 300.0,
    ) -> None:
        self._credentials = dict(credentials)
        self._clock = clock
        self._max_skew = max_skew

    def check(self, request: SignedRequest) -> str | BceError:
        """The AK that signed ``request``, or the BCE error explaining the refusal."""
        header = parse_authorization(request.headers.get("Authorization", ""))
        if header is None or (header.signed_headers and "host" not in header.signed_headers):
            return INVALID_AUTH_HEADER  # BCE's API spec: Host must always be signed
        secret = self._credentials.get(header.access_key)
        if secret is None:
            return INVALID_ACCESS_KEY_ID
        now = self._clock()
        if now > header.signed_at + header.expiration or (header.signed_at > now + self._max_skew):
            return request_expired(header.timestamp)
        sent_date = request.headers.get("x-bce-date")
        if sent_date is not None and sent_date.strip() != header.timestamp:
            return SIGNATURE_MISMATCH
        names = header.signed_headers or _default_names(request.headers)
        text, signed = canonical_request(
            request.method, request.path, request.query_pairs, request.headers, names
        )
        key = signing_key(secret, header.prefix)
        expected = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, header.signature):
            return SIGNATURE_MISMATCH
        if "content-md5" in signed and not _md5_matches(request):
            return SIGNATURE_MISMATCH
        return header.access_key

    def __call__(self, request: SignedRequest) -> str:
        """The v1 seam: the AK.

        Raises:
            EmulatedError: 14 ``IAM Certification failed``, for any refusal.
        """
        who = self.check(request)
        if isinstance(who, BceError):  # the bearer-token endpoint's answer, not v1's
            raise qianfan_error(14)
        return who


def _default_names(headers: Mapping[str, str]) -> list[str]:
    names = list(DEFAULT_SIGNED_HEADERS)
    names += [name.lower() for name in headers if name.lower().startswith("x-bce-")]
    return names


def _md5_matches(request: SignedRequest) -> bool:
    digest = base64.b64encode(hashlib.md5(request.body).digest()).decode()  # noqa: S324
    return hmac.compare_digest(digest, request.headers.get("content-md5", "").strip())
