"""LangChain chat model for Baidu Qianfan's free ERNIE models.

``from langchain_qianfan_free import ChatQianfan``. The errors are in
:mod:`langchain_qianfan_free.errors`; the offline emulator of both Qianfan APIs is in
:mod:`langchain_qianfan_free.emulator`.

``ChatQianfan`` is imported on first access: the emulator's pytest plugin is loaded by
every pytest run in an environment that has this package, and should not make those
runs pay for importing langchain-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_qianfan_free._version import __version__

if TYPE_CHECKING:
    from langchain_qianfan_free.chat_models import ChatQianfan

__all__ = ["ChatQianfan", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "ChatQianfan":
        # langchain-core is loaded here, before our modules, rather than from inside
        # chat_models: where it is imported from changes its cost a lot (measured, with
        # the figure, in docs/performance.md, "Import time": the one import-order
        # choice that pays for itself).
        from langchain_core.language_models import BaseChatModel  # noqa: PLC0415, F401

        from langchain_qianfan_free.chat_models import ChatQianfan  # noqa: PLC0415

        globals()[name] = ChatQianfan
        return ChatQianfan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
