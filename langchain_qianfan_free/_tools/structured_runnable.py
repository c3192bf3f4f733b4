"""``ChatQianfan.with_structured_output``: the model bound for a method, and its parser."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from langchain_qianfan_free._tools.structured import (
    METHODS,
    JsonOutputParser,
    ToolChoiceError,
    raw_message,
    require_result,
    response_format_for,
)
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["structured_output"]


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
