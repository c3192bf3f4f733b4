"""What the network environment says, read once: proxies, CA bundle, library logs.

Both HTTP libraries can read proxy variables (and ``~/.netrc``, whose entries would
replace our ``Authorization`` header) on every request, which costs a noticeable share
of a call. The transports instead ask :class:`EnvProxies` once per host. And since
urllib3 logs request URLs, which hold the v1 access token, at DEBUG level,
:func:`redact_library_logs` puts a redacting filter on those loggers.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from urllib.parse import urlsplit

from langchain_qianfan_free.errors import redact

__all__ = ["EnvProxies", "env_ca_bundle", "redact_library_logs"]

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
    """The CA bundle requests would take from the environment, if any."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
