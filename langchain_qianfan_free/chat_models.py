"""``ChatQianfan``: the LangChain chat model for Baidu Qianfan's ERNIE models.

This module orchestrates only: the chat fields and their checks, LangChain's hooks,
``bind_tools``, ``with_structured_output`` and the four thin entry points. The shared
client settings are in :mod:`~langchain_qianfan_free._client`; request building in
:mod:`~langchain_qianfan_free._request`; results in
:mod:`~langchain_qianfan_free._results`; I/O in :mod:`~langchain_qianfan_free._transport`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from langchain_qianfan_free import _catalogue as catalogue
from langchain_qianfan_free._client import QianfanClient
from langchain_qianfan_free._estimate import estimate_tokens
from langchain_qianfan_free._params import PARAM_NAMES, check_route_name, check_value
from langchain_qianfan_free._request import (
    build_call,
    count_tokens,
    init_only_fields,
    langsmith_params,
)
from langchain_qianfan_free._results import (
    ResultContext,
    StreamAssembler,
    aemit,
    chat_result,
    emit,
)
from langchain_qianfan_free._tools import ToolCallingMode, forced_choice
from langchain_qianfan_free._version import __version__
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from langchain_qianfan_free._protocols.common import Reply

__all__ = ["ChatQianfan"]


class ChatQianfan(QianfanClient, BaseChatModel):
    """Baidu Qianfan chat model (ERNIE), over the v2 or the v1 API.

    Setup:
        Install ``langchain-qianfan-free`` and set credentials. New accounts get a v2
        API key::

            pip install langchain-qianfan-free
            export QIANFAN_API_KEY="bce-v3/ALTAK-..."

        Existing v1 applications keep working with their API Key / Secret Key::

            export QIANFAN_AK="..."
            export QIANFAN_SK="..."

    Key init args — completion params:
        model: Model name, e.g. ``"ernie-speed-8k"`` (also ``"ERNIE-Speed-8K"`` or
            the v1 endpoint ``"ernie_speed"``).
        temperature: Sampling temperature in [0, 1]; 0 is sent as 0.01.
        max_tokens: Maximum number of output tokens.
        stop: Stop sequences (any number; the client enforces them all).

    Key init args — client params:
        api_key: v2 API key (env ``QIANFAN_API_KEY``).
        qianfan_ak / qianfan_sk: v1 API Key / Secret Key (env ``QIANFAN_AK``/``QIANFAN_SK``).
        api_version: ``"auto"`` (default), ``"v2"`` or ``"v1"``.
        base_url: Host root (env ``QIANFAN_BASE_URL``), e.g. the emulator's URL.
        timeout: Seconds to wait for a connection and between received bytes.
        max_retries: Retries on rate limits, server trouble and network errors.
        max_connections: Requests sent at once per event loop (async) or per process
            (sync); default 100.

    Instantiate:
        .. code-block:: python

            from langchain_qianfan_free import ChatQianfan

            llm = ChatQianfan(model="ernie-speed-8k", temperature=0.3)

    Invoke:
        .. code-block:: python

            llm.invoke([("system", "你是一个乐于助人的助手"), ("human", "1加1为什么等于2？")])

    Stream:
        .. code-block:: python

            for chunk in llm.stream("讲一个笑话"):
                print(chunk.text, end="", flush=True)

    Async:
        .. code-block:: python

            await llm.ainvoke("你好")
            async for chunk in llm.astream("你好"):
                ...

    Tool calling:
        Works on every model: natively on ERNIE 3.5/4.0 (``tool_calling="native"``),
        through the prompt on the free models (``"prompt"``); ``"auto"`` picks.

        .. code-block:: python

            from langchain_core.tools import tool

            @tool
            def get_weather(city: str) -> str:
                '''Get the weather of a city.'''
                return f"{city}：晴"

            msg = llm.bind_tools([get_weather]).invoke("北京天气怎么样？")
            msg.tool_calls
            # [{'name': 'get_weather', 'args': {'city': '北京'}, 'id': 'call_…', ...}]

    Structured output:
        .. code-block:: python

            from pydantic import BaseModel

            class Joke(BaseModel):
                setup: str
                punchline: str

            llm.with_structured_output(Joke).invoke("讲一个关于猫的笑话")
            # method="function_calling" (default), "json_mode" or "json_schema"

    Token usage:
        .. code-block:: python

            llm.invoke("你好").usage_metadata
            # {'input_tokens': 2, 'output_tokens': 12, 'total_tokens': 14}

    Response metadata:
        .. code-block:: python

            llm.invoke("你好").response_metadata
            # {'model_name': 'ernie-speed-8k', 'model_provider': 'qianfan',
            #  'finish_reason': 'stop', 'qianfan_finish_reason': 'normal', 'id': 'as-…',
            #  'request_id': '…', 'is_truncated': False, 'need_clear_history': False,
            #  'rate_limit': {'X-Ratelimit-Remaining-Requests': 299, ...}, ...}
    """

    # hide_input_in_errors: a rejected api_key must not be echoed by ValidationError.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    _documented_names = PARAM_NAMES
    _init_only_fields: ClassVar[frozenset[str]] = frozenset()  # set below the class
    _api_paths = ("/v2/chat/completions", "/rpc/2.0/", "/oauth/2.0/")

    model: str = Field(default="ernie-speed-8k", alias="model_name")
    """Model: v2 id (``ernie-speed-8k``), display name (``ERNIE-Speed-8K``) or v1 endpoint
    (``ernie_speed``). Unknown names are sent unchanged (custom deployments)."""

    endpoint: str | None = None
    """v1 only: a custom service's endpoint path segment; overrides the model's."""

    temperature: float | None = None
    """Sampling temperature in [0, 1]; 0 is sent as 0.01 (ERNIE rejects 0)."""

    top_p: float | None = None
    """Nucleus sampling in [0, 1]."""

    penalty_score: float | None = None
    """ERNIE's repetition penalty in [1, 2]."""

    max_tokens: int | None = None
    """Maximum output tokens (v1 ``max_output_tokens``), from 2 to the model's limit."""

    stop: list[str] | None = None
    """Stop sequences. Sent to Qianfan when they fit its limits (≤ 4, each ≤ 20
    characters) and always enforced by the client; the stop text is not returned."""

    frequency_penalty: float | None = None
    """Frequency penalty in [-2, 2]."""

    presence_penalty: float | None = None
    """Presence penalty in [-2, 2]."""

    user_id: str | None = None
    """End-user id for abuse tracking (v1 ``user_id``, v2 ``user``)."""

    streaming: bool = False
    """Stream even from ``invoke`` (callbacks then receive each token)."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request-body fields, sent unchanged (e.g. ``{"seed": 7}`` on v2)."""

    tool_calling: ToolCallingMode = "auto"
    """How bound tools are called: ``native`` (Qianfan function calling: v2
    ``tools``, v1 ``functions``), ``prompt`` (tools described in the system prompt and
    calls parsed from the reply; works on every model), or ``auto``: native for the
    models the catalogue marks as function-calling (ERNIE 3.5/4.0, Lite-Pro), prompt
    mode for the rest, including the free models."""

    # ----------------------------------------------------------------- validation
    # (Declare no model validator here: see _client. The shared settings are checked
    # by QianfanClient.)

    @field_validator(*PARAM_NAMES, mode="before")
    @classmethod
    def _check_param(cls, value: Any, info: ValidationInfo) -> Any:
        """The per-call check, on the raw value: no lax coercion of ``True`` or ``"0.5"``."""
        assert info.field_name is not None  # noqa: S101 (a field validator)
        spec = catalogue.lookup(info.data.get("model") or "")
        checked = check_value(info.field_name, value, spec)
        # Keep what the user gave (temperature 0 stays 0); only stop is normalized
        # (one string becomes a list, as per call).
        return checked if info.field_name == "stop" else value

    @field_validator("model", mode="before")
    @classmethod
    def _check_model(cls, value: Any) -> str:
        return check_route_name("model", value)

    @field_validator("endpoint", mode="before")
    @classmethod
    def _check_endpoint(cls, value: Any) -> str | None:
        return None if value is None else check_route_name("endpoint", value)

    def _after_validation(self) -> None:
        """``model_kwargs`` must not repeat a field; LangChain learns this package's version."""
        clash = sorted(set(self.model_kwargs) & (set(type(self).model_fields) | {"model"}))
        if clash:
            raise ValueError(
                f"model_kwargs must not contain {', '.join(clash)}: pass "
                f"{'it' if len(clash) == 1 else 'them'} as ChatQianfan parameter(s)."
            )
        self._add_version("langchain-qianfan-free", __version__)

    # ------------------------------------------------------------- LangChain hooks

    @property
    def _llm_type(self) -> str:
        return "qianfan-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatQianfan can be serialized with ``langchain_core.load.dumpd``."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Namespace used in serialized form."""
        return ["langchain_qianfan_free", "chat_models"]

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"model_name": self.model, "api_version": self.api_version}
        if self.endpoint:
            params["endpoint"] = self.endpoint
        params.update({n: getattr(self, n) for n in PARAM_NAMES if getattr(self, n) is not None})
        return params

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # BaseChatModel's own, from asdict() rather than through the deprecated dict()
        # inside a warnings.catch_warnings() block (docs/performance.md).
        return {**self.asdict(), "stop": stop, **kwargs}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return langsmith_params(self, stop, kwargs)

    def _resolve_model_profile(self) -> ModelProfile | None:
        spec = catalogue.lookup(self.model)
        return ModelProfile(**catalogue.profile_for(spec)) if spec else None  # type: ignore[typeddict-item]

    # ------------------------------------------------------------ token counts

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens in ``text``, offline and instant.

        Baidu's documented rule, the one the emulator counts by: CJK characters count
        one each, other words 1.3 (rounded up); see docs/context.md. With
        ``custom_get_token_ids`` set, that tokenizer counts instead.
        """
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens(text)
        return estimate_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Estimated input tokens of a call with ``messages`` (and ``tools``), offline.

        Counts what would be sent for this model and protocol: the system prompt after
        conversation repair, prompt mode's tool instruction, every message as rendered
        (tool calls and results included) and native tool definitions. Needs no
        credentials and sends nothing.
        """
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        return count_tokens(self, messages, tools)

    def get_token_ids(self, text: str) -> list[int]:
        """Not available (Qianfan's tokenizer is not public): raises ``NotImplementedError``."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        raise NotImplementedError(
            "ChatQianfan has no local tokenizer (Qianfan's is not public), so there are no "
            "token ids. Use llm.get_num_tokens(text) or "
            "llm.get_num_tokens_from_messages(messages) for offline token counts, or pass "
            "custom_get_token_ids=... to use a tokenizer of your own."
        )

    # -------------------------------------------------------------- tools, output

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any LangChain form) for the model to call.

        Args:
            tools: ``BaseTool``s, functions, pydantic models, TypedDicts or JSON
                schema / OpenAI tool dicts.
            tool_choice: ``"auto"`` (default), ``"none"``, ``"any"``/``"required"``
                (some call is required), ``True`` (the one tool), a tool name, or
                ``{"type": "function", "function": {"name": ...}}``. A forced choice
                is enforced: without the call the model is asked once more, then
                :class:`~langchain_qianfan_free.errors.ToolChoiceError` is raised.
            parallel_tool_calls: ``False`` allows one call per reply.
            strict: Set on each function definition (sent on v2 native calls; v1 and
                prompt mode have no such field). Arguments are always checked
                against the schemas.
            **kwargs: Further arguments for ``Runnable.bind``.

        Raises:
            QianfanInvalidRequestError: For duplicate tool names or an unknown
                ``tool_choice``, at once (no request is sent).
        """
        from langchain_qianfan_free._tools.setup import (  # noqa: PLC0415
            format_tools,
            normalize_tool_choice,
        )

        functions = format_tools(tools, strict)
        choice = normalize_tool_choice(tool_choice, [f["name"] for f in functions])
        if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
            raise QianfanInvalidRequestError(
                f"parallel_tool_calls={parallel_tool_calls!r} must be True, False or None."
            )
        bound: dict[str, Any] = {"tools": [{"type": "function", "function": f} for f in functions]}
        if choice is not None:
            bound["tool_choice"] = choice
        if parallel_tool_calls is not None:
            bound["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(**bound, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """A runnable that answers with an instance of ``schema`` (or a dict).

        Args:
            schema: A pydantic model (gives instances), TypedDict, JSON schema or
                OpenAI tool (give dicts). ``None`` only with ``json_mode``.
            method: ``function_calling`` (a forced tool call; default),
                ``json_mode`` or ``json_schema`` (a JSON reply). All work on every
                model; see the docs for how each maps onto Qianfan.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of
                raising on a reply that does not parse.
            strict: Passed on as the JSON schema's ``strict`` flag where it applies;
                the answer is always validated against the schema.
            **kwargs: Not accepted (named in the error).
        """
        from langchain_qianfan_free._tools.structured import (  # noqa: PLC0415
            structured_output,
        )

        return structured_output(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )

    # -------------------------------------------------------------------- calls

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,  # noqa: ARG002
        **kwargs: Any,
    ) -> ChatResult:
        call, ctx = build_call(self, messages, stop, kwargs, stream=False)
        reply = self._sync.complete(call)
        result = chat_result(reply, ctx)
        if not forced_choice.unmet(result, ctx):
            return result
        again = self._correct(messages, result, stop, kwargs, ctx)
        return forced_choice.after_retry(reply.usage, again, ctx)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,  # noqa: ARG002
        **kwargs: Any,
    ) -> ChatResult:
        call, ctx = build_call(self, messages, stop, kwargs, stream=False)
        reply = await self._async.complete(call)
        result = chat_result(reply, ctx)
        if not forced_choice.unmet(result, ctx):
            return result
        again = await self._acorrect(messages, result, stop, kwargs, ctx)
        return forced_choice.after_retry(reply.usage, again, ctx)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call, ctx = build_call(self, messages, stop, kwargs, stream=True)
        assembler = StreamAssembler(ctx)
        for reply in self._sync.stream(call):
            if (chunk := assembler.feed(reply)) is not None:
                yield emit(chunk, run_manager)
        if assembler.violated():
            said = AIMessage(assembler.finish().text)
            assembler.replace(self._correct(messages, said, stop, kwargs, ctx))
            forced_choice.raise_if_unmet(assembler, ctx)
        yield emit(assembler.finish(), run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call, ctx = build_call(self, messages, stop, kwargs, stream=True)
        assembler = StreamAssembler(ctx)
        async for reply in self._async.stream(call):
            if (chunk := assembler.feed(reply)) is not None:
                yield await aemit(chunk, run_manager)
        if assembler.violated():
            said = AIMessage(assembler.finish().text)
            assembler.replace(await self._acorrect(messages, said, stop, kwargs, ctx))
            forced_choice.raise_if_unmet(assembler, ctx)
        yield await aemit(assembler.finish(), run_manager)

    def _correct(
        self,
        messages: list[BaseMessage],
        said: ChatResult | AIMessage,
        stop: list[str] | None,
        kwargs: dict[str, Any],
        ctx: ResultContext,
    ) -> Reply:
        """Ask once more for the call a forced ``tool_choice`` requires (not streamed)."""
        again = forced_choice.ask_again(messages, said, ctx)
        call, _ = build_call(self, again, stop, kwargs, stream=False)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(blocking=True)
        return self._sync.complete(call)

    async def _acorrect(
        self,
        messages: list[BaseMessage],
        said: ChatResult | AIMessage,
        stop: list[str] | None,
        kwargs: dict[str, Any],
        ctx: ResultContext,
    ) -> Reply:
        """Async twin of :meth:`_correct`."""
        again = forced_choice.ask_again(messages, said, ctx)
        call, _ = build_call(self, again, stop, kwargs, stream=False)
        if self.rate_limiter is not None:
            await self.rate_limiter.aacquire(blocking=True)
        return await self._async.complete(call)


# Per-call kwargs with these names are refused. Computed from ChatQianfan's own fields:
# a subclass's extra fields still pass per call as request-body fields.
ChatQianfan._init_only_fields = init_only_fields(ChatQianfan)
