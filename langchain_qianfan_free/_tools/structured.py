"""Structured output: ``with_structured_output``, JSON requests and their parsers.

Every method of ``with_structured_output`` is accepted and mapped to what the model
can do:

* ``function_calling``: the schema becomes a tool the model must call (native
  function calling, or prompt mode on the free models); parsed with langchain-core's
  tool parsers.
* ``json_mode`` / ``json_schema``: a ``response_format`` request. The system prompt
  asks for one JSON object (with the schema when there is one); models with native
  support (:func:`json_request`) also get ``response_format`` in the body. The
  reply's JSON is found even in prose or code fences
  (:func:`~langchain_qianfan_free._tools.lenient_json.extract_json`) and checked
  against the schema.

:func:`structured_output` builds what ``with_structured_output`` returns: the model
bound for the method, and its parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import BaseOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import Generation
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ValidationError

from langchain_qianfan_free._tools.args import ArgumentError, coerce_arguments
from langchain_qianfan_free._tools.lenient_json import extract_json
from langchain_qianfan_free.errors import QianfanInvalidRequestError, ToolChoiceError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from langchain_qianfan_free._protocols import ApiVersion

__all__ = [
    "METHODS",
    "JsonOutputParser",
    "JsonRequest",
    "json_request",
    "raw_message",
    "require_result",
    "response_format_for",
    "structured_output",
]

METHODS = ("function_calling", "json_mode", "json_schema")
_SCHEMA_KEY = "schema"


@dataclass(frozen=True)
class JsonRequest:
    """What a ``response_format`` asks of one request.

    Attributes:
        instruction: Text for the system prompt.
        native: The ``response_format`` to send in the body, or ``None``.
    """

    instruction: str
    native: dict[str, Any] | str | None


def response_format_for(method: str, schema: Any, strict: bool | None) -> dict[str, Any]:
    """The ``response_format`` that ``with_structured_output`` binds for a JSON method."""
    json_schema = convert_to_json_schema(schema) if schema is not None else None
    if method == "json_mode":
        fmt: dict[str, Any] = {"type": "json_object"}
        if json_schema is not None:
            fmt[_SCHEMA_KEY] = json_schema  # for the prompt only; never sent
        return fmt
    inner: dict[str, Any] = {
        "name": (json_schema or {}).get("title", "output"),
        "schema": json_schema,
    }
    if strict is not None:
        inner["strict"] = strict
    return {"type": "json_schema", "json_schema": inner}


def json_request(
    response_format: Any, *, native_support: bool, version: ApiVersion = "v2"
) -> JsonRequest | None:
    """Check a ``response_format`` and say how to ask for it.

    Args:
        response_format: ``{"type": "text" | "json_object" | "json_schema", ...}``, or
            v1's string form ``"text"`` / ``"json_object"``.
        native_support: The model accepts ``response_format`` in the body.
        version: ``"v1"`` (string form, no ``json_schema``) or ``"v2"``.

    Returns:
        ``None`` for no format or ``text``.

    Raises:
        QianfanInvalidRequestError: For another shape.
    """
    if response_format is None:
        return None
    if isinstance(response_format, str):
        response_format = {"type": response_format}
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    native: Any
    if kind == "text":
        return None
    if kind == "json_object":
        schema = response_format.get(_SCHEMA_KEY)
        native = "json_object" if version == "v1" else {"type": "json_object"}
    elif kind == "json_schema" and isinstance(response_format.get("json_schema"), Mapping):
        schema = response_format["json_schema"].get("schema")
        # v1 has no json_schema format: the prompt carries the schema alone
        native = (
            None
            if version == "v1"
            else {"type": "json_schema", "json_schema": dict(response_format["json_schema"])}
        )
    else:
        raise QianfanInvalidRequestError(
            f"response_format={response_format!r} is not understood; use "
            "{'type': 'json_object'} or {'type': 'json_schema', 'json_schema': "
            "{'name': ..., 'schema': {...}}} (or with_structured_output)."
        )
    return JsonRequest(_json_instruction(schema), native if native_support else None)


def _json_instruction(schema: Mapping[str, Any] | None) -> str:
    """The instruction for JSON output (structured output without tools).

    Args:
        schema: The JSON schema the object must match, if known.
    """
    text = (
        "请只输出一个 JSON 对象，不要输出其他内容（不要解释，不要代码块）。 "
        "Reply with one JSON object only, nothing else (no explanation, no code fence)."
    )
    if schema:
        text += "\n它必须符合这个 JSON Schema。 It must match this JSON Schema: " + json.dumps(
            schema, ensure_ascii=False, separators=(",", ":")
        )
    return text


class JsonOutputParser(BaseOutputParser[Any]):
    """The JSON object of a reply, checked against a schema.

    Small models wrap JSON in prose or code fences and get types slightly wrong
    (``"3"`` for ``3``); both are repaired where nothing is lost. A pydantic schema
    gives an instance; any other schema (or none) gives a dict.
    """

    schema_: Any = None

    @property
    def _type(self) -> str:
        return "qianfan_json"

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:  # noqa: ARG002
        """Parse the reply; a reply cut off by the output limit is refused.

        Raises:
            OutputParserException: When the reply was truncated, holds no JSON object,
                or the object does not fit the schema.
        """
        message = getattr(result[0], "message", None)
        metadata = getattr(message, "response_metadata", None) or {}
        if metadata.get("is_truncated") or metadata.get("finish_reason") == "length":
            raise OutputParserException(
                "the reply was cut off by the output limit, so its JSON is incomplete; "
                "raise max_tokens or ask for a shorter answer",
                llm_output=result[0].text,
            )
        return self.parse(result[0].text)

    def parse(self, text: str) -> Any:
        """Parse one reply.

        Raises:
            OutputParserException: When there is no JSON object or it does not fit.
        """
        try:
            value = extract_json(text)
        except ValueError as error:
            raise OutputParserException(str(error), llm_output=text) from None
        if not isinstance(value, dict):
            raise OutputParserException("the reply's JSON is not an object", llm_output=text)
        if self.schema_ is None:
            return value
        try:
            value = coerce_arguments(value, convert_to_json_schema(self.schema_))
        except ArgumentError as error:
            raise OutputParserException(str(error), llm_output=text) from None
        if isinstance(self.schema_, type) and is_basemodel_subclass(self.schema_):
            try:
                return self._validate(value)
            except ValidationError as error:
                raise OutputParserException(str(error), llm_output=text) from None
        return value

    def _validate(self, value: dict[str, Any]) -> Any:
        schema = self.schema_
        if issubclass(schema, BaseModel):
            return schema.model_validate(value)
        return schema.parse_obj(value)  # pydantic.v1 models


def require_result(value: Any) -> Any:
    """Refuse ``None`` from a tool parser (a reply without the required call)."""
    if value is None:
        raise OutputParserException("the reply has no call of the structured-output tool")
    return value


def raw_message(value: BaseMessage | ToolChoiceError) -> BaseMessage:
    """The message to report as ``raw`` (also when the call was refused)."""
    return value.message if isinstance(value, ToolChoiceError) else value


def structured_output(
    model: BaseChatModel,
    schema: Any,
    *,
    method: str,
    include_raw: bool,
    strict: bool | None,
    **kwargs: Any,
) -> Runnable[Any, Any]:
    """Build what ``with_structured_output`` returns (see its docstring).

    Raises:
        QianfanInvalidRequestError: For an unknown method or argument, or no schema
            where one is needed, before any request.
    """
    if kwargs:
        raise QianfanInvalidRequestError(
            f"with_structured_output got unknown argument(s) {', '.join(sorted(kwargs))}; "
            "it takes schema, method, include_raw and strict."
        )
    if method not in METHODS:
        raise QianfanInvalidRequestError(
            f"method={method!r} is not a structured-output method; use one of {', '.join(METHODS)}."
        )
    if schema is None and method != "json_mode":
        raise QianfanInvalidRequestError(
            f"method={method!r} needs a schema (a pydantic model, TypedDict or JSON "
            "schema); only method='json_mode' works without one (it returns a dict)."
        )
    trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    parser: Runnable[Any, Any]
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools(
            [schema],
            tool_choice=name,
            parallel_tool_calls=False,
            strict=strict,
            ls_structured_output_format=trace,
        )
        tools_parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
        parser = tools_parser | RunnableLambda(require_result)
    else:
        llm = model.bind(
            response_format=response_format_for(method, schema, strict),
            ls_structured_output_format=trace,
        )
        parser = JsonOutputParser(schema_=schema)
    if not include_raw:
        return llm | parser
    return _with_raw(llm, parser)


def _with_raw(llm: Runnable[Any, Any], parser: Runnable[Any, Any]) -> Runnable[Any, Any]:
    """``{"raw", "parsed", "parsing_error"}``; a refused forced call is a parsing error."""

    def call(value: Any, config: RunnableConfig) -> BaseMessage | ToolChoiceError:
        try:
            return llm.invoke(value, config)  # type: ignore[no-any-return]
        except ToolChoiceError as error:
            return error

    async def acall(value: Any, config: RunnableConfig) -> BaseMessage | ToolChoiceError:
        try:
            return await llm.ainvoke(value, config)  # type: ignore[no-any-return]
        except ToolChoiceError as error:
            return error

    def parse(answer: BaseMessage | ToolChoiceError) -> Any:
        if isinstance(answer, ToolChoiceError):
            raise answer
        return parser.invoke(answer)

    attempt = RunnableLambda(call, afunc=acall)
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("answer") | RunnableLambda(parse), parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    shaped: Runnable[Any, Any] = RunnableLambda(
        lambda x: {
            "raw": raw_message(x["answer"]),
            "parsed": x["parsed"],
            "parsing_error": x["parsing_error"],
        }
    )
    return (
        RunnableMap(answer=attempt)
        | parsed.with_fallbacks([fallback], exception_key="parsing_error")
        | shaped
    )
