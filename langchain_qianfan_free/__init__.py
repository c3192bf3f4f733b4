"""LangChain chat model for Baidu Qianfan's free ERNIE models.

``from langchain_qianfan_free import ChatQianfan``. The errors are in
:mod:`langchain_qianfan_free.errors`; the offline emulator of both Qianfan APIs is in
:mod:`langchain_qianfan_free.emulator` (imported only when asked for).
"""

from langchain_qianfan_free._version import __version__
from langchain_qianfan_free.chat_models import ChatQianfan

__all__ = ["ChatQianfan", "__version__"]
