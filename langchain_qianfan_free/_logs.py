"""The package logger, ``logging.getLogger("langchain_qianfan_free")``.

It has no handlers and logs at DEBUG and INFO only, so it is silent until an
application turns it on (``logging.basicConfig(level=logging.DEBUG)``, or a handler on
this logger). Every message passes through :func:`~langchain_qianfan_free.errors.redact`
before it is formatted into a record, so no credential reaches a handler.
"""

from __future__ import annotations

import logging

from langchain_qianfan_free.errors import redact

__all__ = ["LOGGER", "debug", "info"]

LOGGER = logging.getLogger("langchain_qianfan_free")
"""The package logger (no handlers of its own)."""


def debug(message: str, *args: object) -> None:
    """Log at DEBUG: ``message % args``, redacted."""
    if LOGGER.isEnabledFor(logging.DEBUG):
        LOGGER.debug("%s", redact(message % args if args else message))


def info(message: str, *args: object) -> None:
    """Log at INFO: ``message % args``, redacted."""
    if LOGGER.isEnabledFor(logging.INFO):
        LOGGER.info("%s", redact(message % args if args else message))
