r"""Baidu Cloud IAM request signing, ``bce-auth-v1`` (reference §6), as pure functions.

A request is signed with an Access Key / Secret Key pair::

    prefix     = "bce-auth-v1/{AK}/{timestamp}/{expiration}"
    signingKey = hex(HMAC-SHA256(SK, prefix))
    canonical  = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders
    signature  = hex(HMAC-SHA256(signingKey, canonical))
    Authorization: {prefix}/{signed header names};.../{signature}

The body is not signed (no payload hash); signing ``content-length`` and
``content-md5`` covers it. Nothing here does I/O or reads the clock: the caller
passes the time, so the official test vectors are reproducible.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

__all__ = [
    "AUTH_VERSION",
    "DEFAULT_EXPIRATION",
    "Signed",
    "authorization",
    "bce_timestamp",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "signing_key",
    "uri_encode",
]

AUTH_VERSION = "bce-auth-v1"
DEFAULT_EXPIRATION = 1800
"""Seconds a signature stays valid (the BCE SDKs' default)."""

_UNRESERVED = "-._~"


@dataclass(frozen=True)
class Signed:
    """What signing adds to a request.

    Attributes:
        authorization: The ``Authorization`` header value (it holds the signature:
            a secret for the validity window, never to be shown).
        timestamp: The ``x-bce-date`` header value.
    """

    authorization: str
    timestamp: str

    def __repr__(self) -> str:
        return f"Signed(authorization='***', timestamp={self.timestamp!r})"


def bce_timestamp(when: datetime | float) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` in UTC, for a datetime or a Unix time."""
    moment = (
        datetime.fromtimestamp(when, tz=timezone.utc)
        if isinstance(when, int | float)
        else when.astimezone(timezone.utc)
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """Percent-encode all but ``A-Z a-z 0-9 - . _ ~`` (and ``/`` if asked), upper-case hex."""
    return quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


def canonical_uri(path: str) -> str:
    """The path, encoded but keeping ``/``; ``/`` when empty."""
    return uri_encode(path or "/", keep_slash=True)


def canonical_query(params: Iterable[tuple[str, str | None]]) -> str:
    """``name=value`` pairs, encoded, sorted by byte order, joined by ``&``.

    The ``authorization`` parameter (any case) is left out; a parameter without a
    value becomes ``name=``.
    """
    pairs = sorted(
        f"{uri_encode(name)}={uri_encode(value or '')}"
        for name, value in params
        if name.lower() != "authorization"
    )
    return "&".join(pairs)


def canonical_headers(headers: Mapping[str, str], names: Iterable[str]) -> tuple[str, list[str]]:
    r"""The canonical header block, and the lower-case names really signed.

    Args:
        headers: The request's headers (any case).
        names: The headers to sign (any case); those missing or empty are skipped.

    Returns:
        ``name:value`` lines (encoded, sorted, ``\n``-joined) and the sorted names.
    """
    by_name = {key.strip().lower(): str(value).strip() for key, value in headers.items()}
    wanted = sorted({name.strip().lower() for name in names})
    signed = [name for name in wanted if by_name.get(name)]
    lines = sorted(f"{uri_encode(name)}:{uri_encode(by_name[name])}" for name in signed)
    return "\n".join(lines), signed


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str | None]],
    headers: Mapping[str, str],
    names: Iterable[str],
) -> tuple[str, list[str]]:
    """The canonical request (§6.2 step 3) and the signed header names."""
    block, signed = canonical_headers(headers, names)
    text = "\n".join((method.upper(), canonical_uri(path), canonical_query(query), block))
    return text, signed


def signing_key(secret_key: str, prefix: str) -> str:
    """``hex(HMAC-SHA256(SK, prefix))``: the key of the second HMAC (as ASCII hex)."""
    return hmac.new(secret_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()


def authorization(
    access_key: str,
    secret_key: str,
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str | None]],
    headers: Mapping[str, str],
    timestamp: str,
    names: Sequence[str],
    expiration: int = DEFAULT_EXPIRATION,
) -> str:
    """The ``Authorization`` header for a request.

    Args:
        access_key: IAM Access Key (AK).
        secret_key: IAM Secret Key (SK).
        method: HTTP method.
        path: URL path (not encoded yet).
        query: Query parameters, decoded.
        headers: Request headers (``Host`` as sent, with a non-default port).
        timestamp: ``x-bce-date`` value (:func:`bce_timestamp`).
        names: Headers to sign.
        expiration: Seconds the signature is valid.
    """
    prefix = f"{AUTH_VERSION}/{access_key}/{timestamp}/{expiration}"
    text, signed = canonical_request(method, path, query, headers, names)
    key = signing_key(secret_key, prefix)
    signature = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{prefix}/{';'.join(signed)}/{signature}"
