"""The two chat protocols on the wire: shared shapes, v1 (wenxinworkshop), v2, SSE.

Pure: no I/O and no HTTP library. A protocol module builds an
:class:`~langchain_qianfan_free._protocols.common.HttpRequest` and parses answers into
:class:`~langchain_qianfan_free._protocols.common.Reply` objects; both modules satisfy
:class:`~langchain_qianfan_free._protocols.common.ChatProtocol`, which mypy checks
through :data:`PROTOCOLS`.
"""

from __future__ import annotations

from langchain_qianfan_free._protocols import v1, v2
from langchain_qianfan_free._protocols.common import ApiVersion, ChatProtocol, VersionSetting

__all__ = ["PROTOCOLS", "ApiVersion", "ChatProtocol", "VersionSetting"]

PROTOCOLS: dict[ApiVersion, ChatProtocol] = {"v1": v1, "v2": v2}
"""Each API version's protocol module."""
