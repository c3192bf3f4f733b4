"""``ChatQianfan``: the LangChain chat model for Baidu Qianfan's ERNIE models.

This module orchestrates only: fields and their checks, and the four thin entry
points. Conversion, protocols, retries, auth and I/O live in their own modules.
"""

from __future__ import annotations

import copy
import inspect
import ipaddress
import json
import math
import re
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeGuard
from urllib.parse import SplitResult, urlsplit

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from langchain_qianfan_free import _catalogue as catalogue
from langchain_qianfan_free._auth.schemes import (
    DEFAULT_IAM_URL,
    Auth,
    BearerAuth,
    CredentialKind,
    IamBearerAuth,
    IamSignAuth,
    OAuthTokenAuth,
    choose_credentials,
)
from langchain_qianfan_free._messages import to_conversation
from langchain_qianfan_free._params import (
    PARAM_NAMES,
    ToolCallingMode,
    check_route_name,
    check_value,
    resolve_params,
)
from langchain_qianfan_free._protocols import v1 as protocol_v1
from langchain_qianfan_free._protocols import v2 as protocol_v2
from langchain_qianfan_free._protocols.common import Reply
from langchain_qianfan_free._results import (
    PROVIDER,
    ResultContext,
    StreamAssembler,
    add_usage,
    chat_result,
)
from langchain_qianfan_free._transport.loops import AsyncTransport, Call, SyncTransport
from langchain_qianfan_free._turns import Conversation
from langchain_qianfan_free._validation_errors import redacted_validation_error, without_userinfo
from langchain_qianfan_free._version import __version__
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool
    from typing_extensions import Self

    from langchain_qianfan_free._tools.setup import ToolSetup
    from langchain_qianfan_free._tools.structured import ToolChoiceError

# Tools and structured output (tools, tool_*, structured*) are imported when first used:
# a plain chat never loads them, which keeps import time and memory down.
_TOOL_KWARGS = ("tools", "tool_choice", "parallel_tool_calls")

__all__ = ["ChatQianfan"]

_PROTOCOLS: dict[str, ModuleType] = {"v1": protocol_v1, "v2": protocol_v2}
# What an HTTP header value can carry safely: printable ASCII without spaces.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


class ChatQianfan(BaseChatModel):
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

    model: str = Field(default="ernie-speed-8k", alias="model_name")
    """Model: v2 id (``ernie-speed-8k``), display name (``ERNIE-Speed-8K``) or v1 endpoint
    (``ernie_speed``). Unknown names are sent unchanged (custom deployments)."""

    endpoint: str | None = None
    """v1 only: a custom service's endpoint path segment; overrides the model's."""

    api_version: Literal["auto", "v1", "v2"] = "auto"
    """Protocol: ``auto`` uses v2 when an API key is configured, else v1 with AK/SK."""

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(["QIANFAN_API_KEY", "QIANFAN_BEARER_TOKEN"], default=None),
        validate_default=True,
    )
    """v2 API key (``bce-v3/ALTAK-…``); env ``QIANFAN_API_KEY``, else ``QIANFAN_BEARER_TOKEN``."""

    app_id: str | None = Field(
        default_factory=from_env("QIANFAN_APP_ID", default=None), validate_default=True
    )
    """v2 only: the Qianfan application id sent as the ``appid`` header; env
    ``QIANFAN_APP_ID``."""

    qianfan_ak: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_AK", default=None), validate_default=True
    )
    """v1 application API Key (``client_id``); env ``QIANFAN_AK``."""

    qianfan_sk: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_SK", default=None), validate_default=True
    )
    """v1 application Secret Key (``client_secret``); env ``QIANFAN_SK``."""

    qianfan_access_key: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_ACCESS_KEY", default=None), validate_default=True
    )
    """Baidu Cloud IAM Access Key (AK); env ``QIANFAN_ACCESS_KEY``. With the Secret Key it
    signs v1 requests (``bce-auth-v1``) or mints v2 bearer tokens."""

    qianfan_secret_key: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_SECRET_KEY", default=None), validate_default=True
    )
    """Baidu Cloud IAM Secret Key (SK); env ``QIANFAN_SECRET_KEY``."""

    iam_base_url: str | None = Field(
        default_factory=from_env("QIANFAN_IAM_BASE_URL", default=None), validate_default=True
    )
    """Where v2 bearer tokens are minted from IAM keys; env ``QIANFAN_IAM_BASE_URL``.
    Default: ``base_url`` when that is set (e.g. the emulator), else
    ``https://iam.bj.baidubce.com``."""

    base_url: str | None = Field(
        default_factory=from_env("QIANFAN_BASE_URL", default=None), validate_default=True
    )
    """Host root for both protocols (a trailing ``/v2`` is accepted); env
    ``QIANFAN_BASE_URL``. Default: ``https://qianfan.baidubce.com`` (v2),
    ``https://aip.baidubce.com`` (v1)."""

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

    timeout: float | None = Field(default=120.0, alias="request_timeout")
    """Seconds to wait for a connection and between received bytes; ``None`` waits
    forever. A positive number (not a bool or a string)."""

    max_retries: int = 2
    """Retries after the first attempt on rate limits, server trouble and network
    errors (exponential backoff with jitter). A whole number, 0 or more."""

    max_connections: int = 100
    """How many requests this model sends at once per event loop (async) or per
    process (sync). A call that cannot get a connection within ``timeout`` raises
    ``QianfanTimeoutError`` saying the connection pool is full. A whole number from 1
    to 10,000."""

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

    _sync: SyncTransport = PrivateAttr(default_factory=SyncTransport)
    _async: AsyncTransport = PrivateAttr(default_factory=AsyncTransport)

    # ----------------------------------------------------------------- validation

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, values: Any) -> Any:
        """Refuse unknown constructor arguments instead of silently dropping them."""
        if isinstance(values, dict):
            known = set(cls.model_fields)
            known |= {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = sorted(k for k in values if k not in known)
            if unknown:
                raise ValueError(
                    f"ChatQianfan got unknown parameter(s) {', '.join(unknown)}. Use the "
                    f"documented names ({', '.join(PARAM_NAMES)}, ...), or pass extra "
                    "request-body fields in model_kwargs={...}."
                )
        return values

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

    @field_validator(
        "api_key",
        "qianfan_ak",
        "qianfan_sk",
        "qianfan_access_key",
        "qianfan_secret_key",
        mode="before",
    )
    @classmethod
    def _clean_secret(cls, value: Any, info: ValidationInfo) -> Any:
        """Strip stray whitespace (keys pasted or read from files); empty means unset."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ValueError(f"{info.field_name} must be a string.")  # noqa: TRY004
        raw = raw.strip()
        if not raw:
            return None
        if info.field_name == "api_key" and not _HEADER_SAFE.fullmatch(raw):
            # Never echo the value: it is a secret.
            raise ValueError(
                "api_key (QIANFAN_API_KEY) contains characters an HTTP header cannot "
                "carry (non-ASCII, spaces or control characters); copy the key again "
                "from the Qianfan console."
            )
        return SecretStr(raw)

    @field_validator("app_id", mode="before")
    @classmethod
    def _clean_app_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and not _HEADER_SAFE.fullmatch(value):
                raise ValueError(
                    f"app_id={value!r} (QIANFAN_APP_ID) must be printable ASCII without "
                    "spaces, e.g. app-xxxxxxxx."
                )
        return value

    @field_validator("model", mode="before")
    @classmethod
    def _check_model(cls, value: Any) -> str:
        return check_route_name("model", value)

    @field_validator("endpoint", mode="before")
    @classmethod
    def _check_endpoint(cls, value: Any) -> str | None:
        return None if value is None else check_route_name("endpoint", value)

    @field_validator("iam_base_url")
    @classmethod
    def _normalize_iam_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = _host_root(
            value, "iam_base_url", "QIANFAN_IAM_BASE_URL", "https://iam.bj.baidubce.com"
        )
        if parts.path:
            raise ValueError(
                f"iam_base_url={without_userinfo(value)!r} must be a host root such as "
                "https://iam.bj.baidubce.com, without a path (set iam_base_url or "
                "QIANFAN_IAM_BASE_URL)."
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _normalize_base_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = _host_root(value, "base_url", "QIANFAN_BASE_URL", "https://qianfan.baidubce.com")
        for api_path in ("/v2/chat/completions", "/rpc/2.0/", "/oauth/2.0/"):
            if api_path in parts.path + "/":
                raise ValueError(
                    f"base_url={without_userinfo(value)!r} includes an API path "
                    f"({api_path.strip('/')}); give only the host root (e.g. "
                    "https://qianfan.baidubce.com): ChatQianfan adds the paths itself."
                )
        return value.removesuffix("/v2")

    @field_validator("max_retries", "max_connections", mode="before")
    @classmethod
    def _check_count(cls, value: Any, info: ValidationInfo) -> Any:
        """A whole number, on the raw value (``True``, ``"3"`` and ``3.0`` are refused)."""
        assert info.field_name is not None  # noqa: S101 (a field validator)
        return _whole_number(info.field_name, value)

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        """Seconds, on the raw value (``True`` and ``"5"`` are refused)."""
        if value is None:
            return None
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not (number and math.isfinite(value) and value > 0):
            raise ValueError(
                f"timeout={value!r} is not accepted: timeout must be a positive number of "
                "seconds, or None to wait forever. Change the timeout setting on ChatQianfan."
            )
        return value

    @model_validator(mode="after")
    def _check_model_kwargs(self) -> ChatQianfan:
        clash = sorted(set(self.model_kwargs) & (set(type(self).model_fields) | {"model"}))
        if clash:
            raise ValueError(
                f"model_kwargs must not contain {', '.join(clash)}: pass "
                f"{'it' if len(clash) == 1 else 'them'} as ChatQianfan parameter(s)."
            )
        self._add_version("langchain-qianfan-free", __version__)
        return self

    # Keep this the last model validator: wrap and after validators nest in the order
    # they are defined, and this one must see the errors of all the others.
    @model_validator(mode="wrap")
    @classmethod
    def _redact_errors(
        cls, values: Any, handler: ModelWrapValidatorHandler[ChatQianfan], info: ValidationInfo
    ) -> ChatQianfan:
        """Raise validation errors whose data holds no secret.

        ``hide_input_in_errors`` only hides the input from ``str(error)``; ``errors()``,
        ``json()``, ``repr`` and pickling still carry it (for a model-level error the
        whole kwargs dict). This covers ``ChatQianfan(...)``, every ``model_validate*``
        and ChatQianfan as a field of another model.
        """
        try:
            return handler(values)
        except ValidationError as error:
            clean = redacted_validation_error(error, values, info.mode)
        raise clean

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        **kwargs: Any,
    ) -> Self:
        """Validate from JSON; an error for JSON that does not parse does not echo it."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as error:
            clean = redacted_validation_error(error, None, "json")
        raise clean

    # ------------------------------------------------------------- LangChain hooks

    @property
    def _llm_type(self) -> str:
        return "qianfan-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secret fields and the environment variables they come from."""
        return {
            "api_key": "QIANFAN_API_KEY",
            "qianfan_ak": "QIANFAN_AK",
            "qianfan_sk": "QIANFAN_SK",
            "qianfan_access_key": "QIANFAN_ACCESS_KEY",
            "qianfan_secret_key": "QIANFAN_SECRET_KEY",
        }

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
        # inside a warnings.catch_warnings() block (about 5 µs on every call).
        return {**self.asdict(), "stop": stop, **kwargs}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model") or kwargs.get("model_name") or self.model,
            ls_model_type="chat",
        )
        # Per-call values are checked later (by _prepare, with a message naming the
        # setting); a wrong type must not fail here first with a bare float() error.
        temperature = kwargs.get("temperature", self.temperature)
        if _is_number(temperature):
            params["ls_temperature"] = float(temperature)
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if _is_number(max_tokens):
            params["ls_max_tokens"] = int(max_tokens)
        ls_stop = stop or kwargs.get("stop") or self.stop
        if isinstance(ls_stop, str):
            params["ls_stop"] = [ls_stop]
        elif isinstance(ls_stop, (list, tuple)) and ls_stop:
            params["ls_stop"] = list(ls_stop)
        return params

    def _resolve_model_profile(self) -> ModelProfile | None:
        spec = catalogue.lookup(self.model)
        return ModelProfile(**catalogue.profile_for(spec)) if spec else None  # type: ignore[typeddict-item]

    # ------------------------------------------------------------------ cleanup

    def close(self) -> None:
        """Close this model's pooled HTTP connections now (sync side).

        Not needed in normal use: connections are reused while the model lives and
        closed with it. A later call opens new ones.
        """
        self._sync.close()

    async def aclose(self) -> None:
        """Close this model's connections on the running event loop now.

        ``asyncio.run`` does this by itself when it ends; call it before closing an
        event loop you manage by hand (or run ``loop.shutdown_asyncgens()``).
        """
        await self._async.aclose()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; ``update={"max_connections": N}`` gets a pool of ``N`` of its own.

        A shallow copy otherwise shares the original's connections (a copy per call
        must not open a connection per call). ``max_connections`` in ``update`` is
        checked as at construction.
        """
        if update and "max_connections" in update:
            try:
                _whole_number("max_connections", update["max_connections"])
            except ValueError as error:
                raise QianfanInvalidRequestError(str(error)) from None
        twin = super().model_copy(update=update, deep=deep)
        if not deep and twin.max_connections != self.max_connections:
            twin._sync = copy.deepcopy(self._sync)  # fresh transports, same sleep
            twin._async = copy.deepcopy(self._async)
        return twin

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A deep copy that shares the process-wide helpers it was given.

        The copy gets transports of its own (opened on first use). A rate limiter,
        callback handlers and a cache are shared, not copied: they pace, trace and
        cache for the whole process (and hold locks, which cannot be copied).
        """
        memo = {} if memo is None else memo
        for shared in (self.rate_limiter, self.callbacks, self.cache):
            if shared is not None and not isinstance(shared, bool):
                memo.setdefault(id(shared), shared)
        return super().__deepcopy__(memo)

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
                :class:`~langchain_qianfan_free._tools.structured.ToolChoiceError` is raised.
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
        from langchain_qianfan_free._tools.structured_runnable import (  # noqa: PLC0415
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
        call, ctx = self._prepare(messages, stop, kwargs, stream=False)
        answer = self._sync.complete(call)
        result = chat_result(answer.reply, answer.headers, ctx)
        if not _violated(result, ctx):
            return result
        retry, _ = self._prepare(_ask_again(messages, result, ctx), stop, kwargs, stream=False)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(blocking=True)
        again = self._sync.complete(retry)
        return _after_retry(answer.reply.usage, again.reply, again.headers, ctx)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,  # noqa: ARG002
        **kwargs: Any,
    ) -> ChatResult:
        call, ctx = self._prepare(messages, stop, kwargs, stream=False)
        answer = await self._async.complete(call)
        result = chat_result(answer.reply, answer.headers, ctx)
        if not _violated(result, ctx):
            return result
        retry, _ = self._prepare(_ask_again(messages, result, ctx), stop, kwargs, stream=False)
        if self.rate_limiter is not None:
            await self.rate_limiter.aacquire(blocking=True)
        again = await self._async.complete(retry)
        return _after_retry(answer.reply.usage, again.reply, again.headers, ctx)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call, ctx = self._prepare(messages, stop, kwargs, stream=True)
        assembler = StreamAssembler(ctx)
        for answer in self._sync.stream(call):
            chunk = assembler.feed(answer.reply, answer.headers)
            if chunk is not None:
                yield _emit(chunk, run_manager)
        if assembler.violated():
            said = AIMessage(assembler.finish().text)
            retry, _ = self._prepare(_ask_again(messages, said, ctx), stop, kwargs, stream=False)
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(blocking=True)
            again = self._sync.complete(retry)
            assembler.replace(again.reply, again.headers)
            _raise_if_violated(assembler, ctx)
        yield _emit(assembler.finish(), run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call, ctx = self._prepare(messages, stop, kwargs, stream=True)
        assembler = StreamAssembler(ctx)
        async for answer in self._async.stream(call):
            chunk = assembler.feed(answer.reply, answer.headers)
            if chunk is not None:
                yield await _aemit(chunk, run_manager)
        if assembler.violated():
            said = AIMessage(assembler.finish().text)
            retry, _ = self._prepare(_ask_again(messages, said, ctx), stop, kwargs, stream=False)
            if self.rate_limiter is not None:
                await self.rate_limiter.aacquire(blocking=True)
            again = await self._async.complete(retry)
            assembler.replace(again.reply, again.headers)
            _raise_if_violated(assembler, ctx)
        yield await _aemit(assembler.finish(), run_manager)

    # ---------------------------------------------------------------- preparation

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> tuple[Call, ResultContext]:
        """Check everything and build the request; no I/O happens here."""
        kwargs = dict(kwargs)
        # LangChain's own switch between _generate and _stream (invoke(..., stream=True)
        # streams underneath); which method runs already says it, so it is not a body field.
        kwargs.pop("stream", None)
        misplaced = sorted(k for k in kwargs if k in _CALL_ONLY_AT_INIT)
        if misplaced:
            raise QianfanInvalidRequestError(
                f"{', '.join(misplaced)} cannot be changed per call; set "
                f"{'it' if len(misplaced) == 1 else 'them'} when creating ChatQianfan (or "
                "use model.model_copy(update={...})). Per call you can pass model and "
                f"{', '.join(PARAM_NAMES)}."
            )
        model = self._call_model(kwargs)
        spec = catalogue.lookup(model)
        version, credentials = choose_credentials(
            self.api_version,
            has_api_key=self.api_key is not None,
            has_ak_sk=self._has_ak_sk(),
            has_iam_keys=self._has_iam_keys(),
        )
        tools: ToolSetup | None = None
        if any(name in kwargs for name in _TOOL_KWARGS):
            from langchain_qianfan_free._tools.setup import tool_setup  # noqa: PLC0415

            tools = tool_setup(
                kwargs.pop("tools", None),
                kwargs.pop("tool_choice", None),
                kwargs.pop("parallel_tool_calls", None),
                self.tool_calling,
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
        settings = {name: kwargs.pop(name, getattr(self, name)) for name in PARAM_NAMES}
        if stop is not None:
            settings["stop"] = stop
        params = resolve_params(settings, {**self.model_kwargs, **kwargs}, spec)
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
        catalogue.check_input_size(spec, _input_characters(conversation, tools, version))
        proto = _PROTOCOLS[version]
        base_url = self.base_url or proto.DEFAULT_BASE_URL
        request = proto.chat_request(
            base_url, model, spec, self.endpoint, conversation, params, stream=stream, tools=tools
        )
        auth = self._auth(version, credentials, base_url)
        call = Call(proto, request, auth, self.timeout, self.max_retries, self.max_connections)
        model_name = (spec.v2_id or spec.display_name) if spec else model
        return call, ResultContext(model_name, version, params.stops, tools)

    def _call_model(self, kwargs: dict[str, Any]) -> str:
        """The per-call ``model`` (or its alias ``model_name``), checked as at init."""
        given = [kwargs.pop(name) for name in ("model", "model_name") if name in kwargs]
        given = [value for value in given if value is not None]
        return check_route_name("model", given[0]) if given else self.model

    def _has_ak_sk(self) -> bool:
        if (self.qianfan_ak is None) != (self.qianfan_sk is None):
            missing = (
                "qianfan_sk (QIANFAN_SK)" if self.qianfan_sk is None else "qianfan_ak (QIANFAN_AK)"
            )
            raise QianfanInvalidRequestError(
                f"v1 credentials are incomplete: {missing} is not set. Set both the API "
                "Key and the Secret Key of the Qianfan application."
            )
        return self.qianfan_ak is not None

    def _has_iam_keys(self) -> bool:
        if (self.qianfan_access_key is None) != (self.qianfan_secret_key is None):
            missing = (
                "qianfan_secret_key (QIANFAN_SECRET_KEY)"
                if self.qianfan_secret_key is None
                else "qianfan_access_key (QIANFAN_ACCESS_KEY)"
            )
            raise QianfanInvalidRequestError(
                f"IAM credentials are incomplete: {missing} is not set. Set both the "
                "Access Key and the Secret Key of your Baidu Cloud account."
            )
        return self.qianfan_access_key is not None

    def _iam_url(self) -> str:
        """Where bearer tokens are minted.

        ``iam_base_url``; else a custom ``base_url`` (an emulator or a proxy); else
        Baidu's IAM host (also when ``base_url`` names a Baidu host).
        """
        if self.iam_base_url:
            return self.iam_base_url
        host = (urlsplit(self.base_url).hostname or "") if self.base_url else ""
        if host and not (host == "baidubce.com" or host.endswith(".baidubce.com")):
            return self.base_url.removesuffix("/v2")  # type: ignore[union-attr]
        return DEFAULT_IAM_URL

    def _auth(self, version: str, credentials: CredentialKind, base_url: str) -> Auth:
        if (
            "iam_base_url" in self.model_fields_set
            and self.iam_base_url
            and not (version == "v2" and credentials == "iam_keys")
        ):
            raise QianfanInvalidRequestError(
                "iam_base_url is only used to mint v2 tokens from IAM keys, and this call "
                f"uses {credentials.replace('_', ' ')} on {version}. Remove iam_base_url, or "
                "use IAM keys (QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY) with api_version='v2'."
            )
        if version == "v2":
            if credentials == "api_key":
                assert self.api_key is not None  # noqa: S101 (choose_credentials checked)
                return BearerAuth(self.api_key, self.app_id)
            assert self.qianfan_access_key is not None  # noqa: S101
            assert self.qianfan_secret_key is not None  # noqa: S101
            return IamBearerAuth(
                self._iam_url(),
                self.qianfan_access_key,
                self.qianfan_secret_key,
                self.app_id,
            )
        if "app_id" in self.model_fields_set and self.app_id:
            raise QianfanInvalidRequestError(
                "app_id is a v2 setting (the appid header); the v1 API has no app id. "
                "Remove app_id or use api_version='v2'."
            )
        if credentials == "iam_keys":
            assert self.qianfan_access_key is not None  # noqa: S101
            assert self.qianfan_secret_key is not None  # noqa: S101
            return IamSignAuth(self.qianfan_access_key, self.qianfan_secret_key)
        assert self.qianfan_ak is not None  # noqa: S101 (choose_credentials checked it)
        assert self.qianfan_sk is not None  # noqa: S101
        return OAuthTokenAuth(base_url, self.qianfan_ak, self.qianfan_sk)


_MAX_CONNECTIONS = 10_000  # far past any account's rate limit; a bound keeps pools cheap


def _whole_number(name: str, value: Any) -> int:
    """``max_retries`` (0 or more) or ``max_connections`` (1 to 10,000), never coerced."""
    low, high = (0, None) if name == "max_retries" else (1, _MAX_CONNECTIONS)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"{low} or more" if high is None else f"from {low} to {high}"
        raise ValueError(
            f"{name}={value!r} is not accepted: {name} must be a whole number {bound}. "
            f"Change the {name} setting on ChatQianfan."
        )
    return value


# Fields that are not generation settings: a per-call kwarg with one of these names is
# a mistake (it would otherwise be sent as a request-body field and do nothing).
_CALL_ONLY_AT_INIT = frozenset(
    name
    for field_name, field in ChatQianfan.model_fields.items()
    if field_name not in {"model", *PARAM_NAMES}
    for name in (field_name, field.alias)
    if name
)


def _host_root(value: str, setting: str, env: str, example: str) -> SplitResult:
    """Check a host-root URL setting; warn about plain http to another machine."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(
            f"{setting}={without_userinfo(value)!r} must be an http:// or https:// host root "
            f"such as {example} (set {setting} or {env})."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"{setting} must be a plain host root such as {example}: no query, fragment or "
            "user:password (credentials go in their own settings), "
            f"got {parts.scheme}://{parts.hostname}..."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        warnings.warn(
            f"{setting} http://{parts.hostname}{f':{port}' if port else ''} uses plain http "
            "to a host that is not this machine: keys, tokens and signatures would cross the "
            "network unencrypted. Use https://, or http only for a local emulator "
            "(127.0.0.1 / localhost).",
            UserWarning,
            stacklevel=_caller_level(),
        )
    return parts


# Frames of these packages sit between the user's ChatQianfan(...) and a validator.
_INTERNAL_PACKAGES = frozenset(("pydantic", "langchain_core", "langchain_qianfan_free"))


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside pydantic, LangChain and this package.

    A warning from a validator then points at the user's line that created the model.
    """
    frame = inspect.currentframe()
    level = 0  # 0: this function; the caller's warnings.warn counts from its own frame
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if level and package not in _INTERNAL_PACKAGES:
            return level
        frame = frame.f_back
        level += 1
    return 1


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _input_characters(conversation: Conversation, tools: ToolSetup | None, version: str) -> int:
    """What Qianfan counts against the input limit (v1 also counts the functions)."""
    size = len(conversation.system or "") + sum(len(t.content) for t in conversation.turns)
    if tools is not None and tools.native and version == "v1":
        size += sum(len(json.dumps(f, ensure_ascii=False)) for f in tools.functions)
    return size


def _violated(result: ChatResult, ctx: ResultContext) -> bool:
    """A forced ``tool_choice`` and no valid call in the answer."""
    message = result.generations[0].message
    return bool(ctx.tools and ctx.tools.forced) and not getattr(message, "tool_calls", None)


# langchain-core asks inspect.signature(self._agenerate) on every call whether it takes
# run_manager (about 10 µs); a signature stored on the function answers at once. A
# subclass that overrides either method gets the usual lookup.
for _method in (ChatQianfan._generate, ChatQianfan._agenerate):
    setattr(_method, "__signature__", inspect.signature(_method))  # noqa: B010
del _method


def _ask_again(
    messages: list[BaseMessage], said: ChatResult | AIMessage, ctx: ResultContext
) -> list[BaseMessage]:
    """The conversation with the reply and a request to make the required call."""
    from langchain_qianfan_free._tools.results import correction  # noqa: PLC0415

    reply = said if isinstance(said, AIMessage) else said.generations[0].message
    assert ctx.tools is not None  # noqa: S101 (only called for forced tool_choice)
    shown = [AIMessage(reply.text)] if reply.text.strip() else []
    return [*messages, *shown, HumanMessage(correction(ctx.tools))]


def _after_retry(
    first_usage: dict[str, int] | None, reply: Reply, headers: Any, ctx: ResultContext
) -> ChatResult:
    """The retry's result (usage of both requests); raise if it still has no call."""
    reply.usage = add_usage(first_usage, reply.usage)
    result = chat_result(reply, headers, ctx)
    if _violated(result, ctx):
        message = result.generations[0].message
        assert isinstance(message, AIMessage)  # noqa: S101
        raise _choice_error(message, ctx)
    return result


def _raise_if_violated(assembler: StreamAssembler, ctx: ResultContext) -> None:
    if assembler.violated():
        raise _choice_error(AIMessage(assembler.finish().text), ctx)


def _choice_error(message: AIMessage, ctx: ResultContext) -> ToolChoiceError:
    from langchain_qianfan_free._tools.structured import ToolChoiceError  # noqa: PLC0415

    assert ctx.tools is not None  # noqa: S101
    forced = ctx.tools.forced
    wanted = f"a call of {forced}" if isinstance(forced, str) else "a tool call"
    return ToolChoiceError(
        f"tool_choice requires {wanted}, and the model answered without one twice. Try a "
        "clearer prompt, a larger model, or tool_choice='auto' to accept text answers.",
        message,
    )


def _emit(
    chunk: AIMessageChunk, run_manager: CallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        run_manager.on_llm_new_token(chunk.text, chunk=generation)
    return generation


async def _aemit(
    chunk: AIMessageChunk, run_manager: AsyncCallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        await run_manager.on_llm_new_token(chunk.text, chunk=generation)
    return generation
