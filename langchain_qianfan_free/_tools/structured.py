"""Structured output: JSON requests and the parsers ``with_structured_output`` uses.

Every method of ``with_structured_output`` is accepted and mapped to what the model
can do:

* ``function_calling``: the schema becomes a tool the model must call (native
  function calling, or prompt mode on the free models); parsed with langchain-core's
  tool parsers.
* ``json_mode`` / ``json_schema``: a ``response_format`` request. The system prompt
  asks for one JSON object (with the schema when there is one); models with native
  support (:func:`json_request`) also get ``response_format`` in the body. The
  reply's JSON is found even in prose or code fences (``tool_prompt.extract_json``)
  and checked against the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import BaseOutputParser
from langchain_core.outputs import Generation
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ValidationError

from langchain_qianfan_free._tools.args import ArgumentError, coerce_arguments
from langchain_qianfan_free._tools.prompt import extract_json, render_json_instruction
from langchain_qianfan_free.errors import QianfanInvalidRequestError

__all__ = [
    "METHODS",
    "JsonOutputParser",
    "JsonRequest",
    "ToolChoiceError",
    "json_request",
    "require_result",
    "response_format_for",
]

METHODS = ("function_calling", "json_mode", "json_schema")
_SCHEMA_KEY = "schema"


class ToolChoiceError(OutputParserException):
    """A forced ``tool_choice`` was not followed, even after asking again.

    Attributes:
        message: The model's last reply (an ``AIMessage`` without the call).
    """

    def __init__(self, error: str, message: AIMessage) -> None:
        super().__init__(error, llm_output=message.text)
        self.message = message


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
    response_format: Any, *, native_support: bool, version: str = "v2"
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
    return JsonRequest(render_json_instruction(schema), native if native_support else None)


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
