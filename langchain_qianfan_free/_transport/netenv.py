"""What the network environment says, read once: proxies, trusted CAs, library logs.

Both HTTP libraries can read proxy variables (and ``~/.netrc``, whose entries would
replace our ``Authorization`` header) on every request, which costs a noticeable share
of a call. The transports instead ask :class:`EnvProxies` once per host. And since
urllib3 logs request URLs, which hold the v1 access token, at DEBUG level,
:func:`redact_library_logs` puts a redacting filter on those loggers.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import urllib.request
from urllib.parse import urlsplit

from langchain_qianfan_free.errors import QianfanConnectionError, redact

__all__ = ["CA_VARIABLES", "EnvProxies", "env_ca_bundle", "redact_library_logs", "ssl_context"]

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
"""Environment variables naming the CAs to trust, first set first (both paths)."""

# Loggers of the HTTP libraries that log request URLs (urllib3 at DEBUG level).
_URL_LOGGERS = ("urllib3.connectionpool", "aiohttp.client")


class _RedactingFilter(logging.Filter):
    """Removes credentials from the HTTP libraries' log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTING_FILTER = _RedactingFilter()


def redact_library_logs() -> None:
    """Install the redacting filter once (the transports call it on first use)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)


class EnvProxies:
    """``HTTP(S)_PROXY`` / ``NO_PROXY`` for each host, read once per host."""

    def __init__(self) -> None:
        self._by_origin: dict[str, str | None] = {}

    def __call__(self, url: str) -> str | None:
        """The proxy URL to use for ``url``, or ``None`` for a direct connection."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._by_origin:
            bypass = urllib.request.proxy_bypass(parts.hostname or "")
            proxy = None if bypass else urllib.request.getproxies().get(parts.scheme)
            self._by_origin[origin] = proxy
        return self._by_origin[origin]


def env_ca_bundle() -> str | None:
    """The CA bundle (a PEM file or a directory) the environment names, if any.

    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE`` (what requests reads), else
    OpenSSL's ``SSL_CERT_FILE`` (which plain requests ignores). Both transports use it.

    Raises:
        QianfanConnectionError: When the variable names nothing that exists.
    """
    for name in CA_VARIABLES:
        path = os.environ.get(name)
        if path:
            if not os.path.exists(path):
                raise QianfanConnectionError(
                    f"{name}={path!r} names no file or directory, so no server could be trusted",
                    hint=f"Point {name} at a PEM bundle of the CAs to trust, or unset it.",
                    retryable=False,
                )
            return path
    return None


def ssl_context(default_bundle: str) -> ssl.SSLContext:
    """The async path's TLS settings: the same CAs the sync path trusts.

    Args:
        default_bundle: What requests trusts when no variable is set (certifi's
            bundle), so that both paths trust the same CAs then too.
    """
    return _context(env_ca_bundle() or default_bundle)


@functools.lru_cache(maxsize=8)
def _context(path: str) -> ssl.SSLContext:
    # Loading a bundle takes milliseconds: one context per bundle, shared by every
    # session (an SSLContext is safe to share across threads and loops).
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as error:
        failure = QianfanConnectionError(
            f"The CA bundle {path!r} could not be read ({type(error).__name__}: {error})",
            hint=f"Point {' / '.join(CA_VARIABLES)} at a PEM bundle, or unset them.",
            retryable=False,
        )
    raise failure
