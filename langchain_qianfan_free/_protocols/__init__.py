"""The two chat protocols on the wire: shared shapes, v1 (wenxinworkshop), v2, SSE.

Pure: no I/O and no HTTP library. A protocol module builds an
:class:`~langchain_qianfan_free._protocols.common.HttpRequest` and parses answers into
:class:`~langchain_qianfan_free._protocols.common.Reply` objects.
"""
