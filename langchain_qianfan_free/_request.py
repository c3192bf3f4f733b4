"""Building a chat call: settings, messages and per-call kwargs in; a ``Call`` out.

Pure: everything is checked and the request is built here, and nothing is sent. The
role of ``_get_request_payload`` in the LangChain partner packages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_qianfan_free import _catalogue as catalogue
from langchain_qianfan_free._auth.credentials import build_auth, select
from langchain_qianfan_free._messages import to_conversation
from langchain_qianfan_free._params import PARAM_NAMES, check_route_name, resolve_params
from langchain_qianfan_free._protocols import PROTOCOLS, ApiVersion
from langchain_qianfan_free._results import ResultContext
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_qianfan_free._tools import ToolSetup
    from langchain_qianfan_free._transport.call import Call
    from langchain_qianfan_free._turns import Conversation
    from langchain_qianfan_free.chat_models import ChatQianfan

__all__ = ["TOOL_KWARGS", "build_call", "call_model", "init_only_fields"]

TOOL_KWARGS = ("tools", "tool_choice", "parallel_tool_calls")
"""Per-call kwargs that make a call a tool call (set by ``bind_tools``)."""


def build_call(
    model: ChatQianfan,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    *,
    stream: bool,
) -> tuple[Call, ResultContext]:
    """Check everything and build the call; no I/O happens here.

    Args:
        model: The chat model whose settings apply.
        messages: The conversation.
        stop: Stop sequences given to this call (they override ``model.stop``).
        kwargs: Per-call kwargs (``bind`` / ``invoke`` ones); not changed.
        stream: Whether the call streams.

    Raises:
        QianfanInvalidRequestError: A setting, message or kwarg that cannot be sent.
        QianfanAuthenticationError: No usable credentials.
    """
    kwargs = dict(kwargs)
    # LangChain's own switch between _generate and _stream (invoke(..., stream=True)
    # streams underneath); which method runs already says it, so it is not a body field.
    kwargs.pop("stream", None)
    misplaced = sorted(k for k in kwargs if k in model._init_only_fields)
    if misplaced:
        raise QianfanInvalidRequestError(
            f"{', '.join(misplaced)} cannot be changed per call; set "
            f"{'it' if len(misplaced) == 1 else 'them'} when creating ChatQianfan (or "
            "use model.model_copy(update={...})). Per call you can pass model and "
            f"{', '.join(PARAM_NAMES)}."
        )
    name = call_model(model.model, kwargs)
    spec = catalogue.lookup(name)
    # The steps of model._route(), apart: a setting this call cannot use (build_auth)
    # is reported after the messages and parameters are checked.
    version, kind = select(model)
    tools: ToolSetup | None = None
    if any(key in kwargs for key in TOOL_KWARGS):
        from langchain_qianfan_free._tools.setup import tool_setup  # noqa: PLC0415

        tools = tool_setup(
            kwargs.pop("tools", None),
            kwargs.pop("tool_choice", None),
            kwargs.pop("parallel_tool_calls", None),
            model.tool_calling,
            spec,
            version,
        )
    wants_json = None
    if "response_format" in kwargs:
        from langchain_qianfan_free._tools.structured import json_request  # noqa: PLC0415

        native_json = spec is not None and spec.tool_calling
        wants_json = json_request(
            kwargs.pop("response_format"), native_support=native_json, version=version
        )
    if wants_json is not None and wants_json.native is not None:
        kwargs["response_format"] = wants_json.native
    settings = {key: kwargs.pop(key, getattr(model, key)) for key in PARAM_NAMES}
    if stop is not None:
        settings["stop"] = stop
    params = resolve_params(settings, {**model.model_kwargs, **kwargs}, spec)
    conversation = to_conversation(messages, native_tools=bool(tools and tools.native))
    extra_system = [
        text
        for text in (
            tools.instruction() if tools else None,
            wants_json.instruction if wants_json else None,
        )
        if text
    ]
    if extra_system:
        system = "\n\n".join(filter(None, [conversation.system, *extra_system]))
        conversation = replace(conversation, system=system)
    catalogue.check_input_size(spec, input_characters(conversation, tools, version))
    protocol = PROTOCOLS[version]
    base_url = model._host(version)
    request = protocol.chat_request(
        base_url, name, spec, model.endpoint, conversation, params, stream=stream, tools=tools
    )
    auth = build_auth(model, version, kind, base_url)
    model_name = (spec.v2_id or spec.display_name) if spec else name
    return model._call(protocol, request, auth), ResultContext(
        model_name, version, params.stops, tools
    )


def call_model(default: str, kwargs: dict[str, Any]) -> str:
    """The per-call ``model`` (or its alias ``model_name``, popped), checked as at init."""
    given = [kwargs.pop(key) for key in ("model", "model_name") if key in kwargs]
    given = [value for value in given if value is not None]
    return check_route_name("model", given[0]) if given else default


def input_characters(
    conversation: Conversation, tools: ToolSetup | None, version: ApiVersion
) -> int:
    """What Qianfan counts against the input limit (v1 also counts the functions)."""
    size = len(conversation.system or "") + sum(len(t.content) for t in conversation.turns)
    if tools is not None and tools.native and version == "v1":
        size += sum(len(json.dumps(f, ensure_ascii=False)) for f in tools.functions)
    return size


def init_only_fields(cls: type[ChatQianfan]) -> frozenset[str]:
    """Fields that are not generation settings (and their aliases).

    A per-call kwarg with one of these names is a mistake: it would otherwise be sent
    as a request-body field and do nothing.
    """
    return frozenset(
        name
        for field_name, field in cls.model_fields.items()
        if field_name not in {"model", *PARAM_NAMES}
        for name in (field_name, field.alias)
        if name
    )
