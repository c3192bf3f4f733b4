"""Building a chat call: settings, messages and per-call kwargs in; a ``Call`` out.

Pure: everything is checked and the request is built here, and nothing is sent. The
role of ``_get_request_payload`` in the LangChain partner packages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeGuard

from langchain_core.language_models import LangSmithParams

from langchain_qianfan_free import _catalogue as catalogue
from langchain_qianfan_free._auth.credentials import build_auth, select
from langchain_qianfan_free._estimate import estimate_tokens
from langchain_qianfan_free._messages import to_conversation
from langchain_qianfan_free._params import PARAM_NAMES, check_route_name, resolve_params
from langchain_qianfan_free._protocols import PROTOCOLS, ApiVersion
from langchain_qianfan_free._results import PROVIDER, ResultContext
from langchain_qianfan_free.errors import QianfanError, QianfanInvalidRequestError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.messages import BaseMessage

    from langchain_qianfan_free._protocols.common import HttpRequest
    from langchain_qianfan_free._tools import ToolSetup
    from langchain_qianfan_free._transport.call import Call
    from langchain_qianfan_free._turns import Conversation
    from langchain_qianfan_free.chat_models import ChatQianfan

__all__ = [
    "TOOL_KWARGS",
    "build_call",
    "call_model",
    "count_tokens",
    "init_only_fields",
    "langsmith_params",
    "wire_texts",
]

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
    # The steps of model._route(), apart: a setting this call cannot use (build_auth)
    # is reported after the messages and parameters are checked.
    version, kind = select(model)
    request, ctx = _assemble(model, messages, stop, kwargs, name, version, stream=stream)
    auth = build_auth(model, version, kind, model._host(version))
    return model._call(PROTOCOLS[version], request, auth), ctx


def count_tokens(
    model: ChatQianfan, messages: list[BaseMessage], tools: Sequence[Any] | None = None
) -> int:
    """The estimated input tokens of a call with ``messages`` (and ``tools``) on ``model``.

    What is counted is what would be sent, as Qianfan counts input: the system prompt
    after conversation repair (with prompt mode's tool instruction), every message as
    rendered on the wire (tool calls and results included), and native tool
    definitions. No credentials are needed (the protocol is the one the credentials
    would choose, else ``api_version``, else v2) and nothing is sent; an input over the
    model's limit is counted, not refused.
    """
    try:
        version = select(model)[0]
    except QianfanError:  # no (complete) credentials: count for the configured protocol
        version = "v1" if model.api_version == "v1" else "v2"
    kwargs: dict[str, Any] = {"tools": list(tools)} if tools else {}
    try:
        request, _ = _assemble(
            model, messages, None, kwargs, model.model, version, stream=False, check_size=False
        )
    except QianfanInvalidRequestError:
        # Not a conversation that can be sent (no user turn: trim_messages counts such
        # pieces of a history too): count the messages' own texts.
        return sum(estimate_tokens(message.text) for message in messages)
    return sum(estimate_tokens(text) for text in wire_texts(json.loads(request.body)))


def wire_texts(body: dict[str, Any]) -> list[str]:
    """The texts of a chat body that Qianfan counts as input.

    The system prompt (v1 ``system``; v2 the system message), each message's content,
    and each function definition as JSON (``name``, ``description``, ``parameters``).
    """
    texts = [str(body.get("system") or "")]
    texts += [m["content"] for m in body.get("messages", ()) if isinstance(m.get("content"), str)]
    functions = body.get("functions") or [t.get("function", {}) for t in body.get("tools", ())]
    texts += [
        json.dumps(
            {
                "name": f.get("name"),
                "description": f.get("description") or "",
                "parameters": f.get("parameters") or {},
            },
            ensure_ascii=False,
        )
        for f in functions
    ]
    return texts


def _assemble(
    model: ChatQianfan,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    name: str,
    version: ApiVersion,
    *,
    stream: bool,
    check_size: bool = True,
) -> tuple[HttpRequest, ResultContext]:
    """The request for ``version`` (without credentials), and its result context."""
    spec = catalogue.lookup(name)
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
    if check_size:
        catalogue.check_input_size(spec, input_characters(conversation, tools, version))
    request = PROTOCOLS[version].chat_request(
        model._host(version),
        name,
        spec,
        model.endpoint,
        conversation,
        params,
        stream=stream,
        tools=tools,
    )
    model_name = (spec.v2_id or spec.display_name) if spec else name
    return request, ResultContext(model_name, version, params.stops, tools)


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


def langsmith_params(
    model: ChatQianfan, stop: list[str] | None, kwargs: dict[str, Any]
) -> LangSmithParams:
    """The LangSmith parameters of a call (``BaseChatModel._get_ls_params``)."""
    params = LangSmithParams(
        ls_provider=PROVIDER,
        ls_model_name=kwargs.get("model") or kwargs.get("model_name") or model.model,
        ls_model_type="chat",
    )
    # Per-call values are checked later (by build_call, with a message naming the
    # setting); a wrong type must not fail here first with a bare float() error.
    temperature = kwargs.get("temperature", model.temperature)
    if _is_number(temperature):
        params["ls_temperature"] = float(temperature)
    max_tokens = kwargs.get("max_tokens", model.max_tokens)
    if _is_number(max_tokens):
        params["ls_max_tokens"] = int(max_tokens)
    ls_stop = stop or kwargs.get("stop") or model.stop
    if isinstance(ls_stop, str):
        params["ls_stop"] = [ls_stop]
    elif isinstance(ls_stop, (list, tuple)) and ls_stop:
        params["ls_stop"] = list(ls_stop)
    return params


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
