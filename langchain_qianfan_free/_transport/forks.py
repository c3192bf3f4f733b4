"""Transports across ``os.fork()``: the child starts with no inherited connection.

Every transport registers here (:func:`track`). After a fork the child resets each one
(its pooled connections and aiohttp sessions are the parent's sockets too) and forgets
the process-wide registry of open sessions. Before a fork, the forking thread waits
for other threads' lazy imports to finish, so the child never waits on an import lock
held by a thread it does not have.

The hooks are registered when this module is first imported (by either transport).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import weakref
from typing import Protocol

from langchain_qianfan_free._transport.sessions import (
    forget_inherited_sessions,
    hold_imports,
    release_imports,
)

__all__ = ["track"]


class _Resettable(Protocol):
    def reset_after_fork(self) -> None:
        """In a forked child: forget every inherited connection without touching it."""


_LIVE: weakref.WeakSet[_Resettable] = weakref.WeakSet()
"""Every transport in the process, for the reset after a fork."""


def track(transport: _Resettable) -> None:
    """Reset ``transport`` in the child of every later fork (held weakly)."""
    _LIVE.add(transport)


def _finish_imports_in_flight() -> None:
    """Before a fork: let other threads finish importing what this package imports lazily.

    A module being imported is locked by the importing thread (aiohttp on a thread's
    first async call, the tool modules on a first ``bind_tools``). In the child that
    thread does not exist, and the child's own import of the module would wait forever.
    """
    hold_imports()  # aiohttp's first import, also before it reaches sys.modules
    try:
        names = [
            name
            for name, module in list(sys.modules.items())
            if name.partition(".")[0] in _LAZY_PACKAGES
            and getattr(getattr(module, "__spec__", None), "_initializing", False)
        ]
    except RuntimeError:  # sys.modules changed while it was read: nothing to wait for
        return
    for name in names:
        with contextlib.suppress(Exception):  # a broken import fails in the child too
            importlib.import_module(name)  # waits for the importing thread


_LAZY_PACKAGES = frozenset({"aiohttp", "langchain_qianfan_free"})


def _after_fork_in_child() -> None:
    release_imports(child=True)
    for transport in list(_LIVE):
        transport.reset_after_fork()
    forget_inherited_sessions()


def _after_fork_in_parent() -> None:
    release_imports(child=False)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_finish_imports_in_flight,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
