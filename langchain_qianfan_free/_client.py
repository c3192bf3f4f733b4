"""The client base: what every Qianfan API class shares.

Credentials, ``api_version``, ``base_url``/``iam_base_url``, ``timeout``,
``max_retries``, ``max_connections``, the two transports, and their validators live
here once. ``ChatQianfan`` is built on it, and so are the next API classes
(embeddings, reranker, web search): each adds only its own fields.

Rules for a class built on it:

* Declare no ``model_validator`` of its own: the wrap validator that strips secrets
  from validation errors must be the outermost (the last defined), and pydantic
  orders a subclass's model validators after its bases'. Whole-model checks go in
  :meth:`QianfanClient._after_validation`; field validators are fine.
* Name its documented fields in ``_documented_names`` (the unknown-parameter error
  lists them), and the API paths a ``base_url`` must not include in ``_api_paths``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
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

from langchain_qianfan_free import _settings
from langchain_qianfan_free._auth.credentials import build_auth, select
from langchain_qianfan_free._protocols import PROTOCOLS, ApiVersion, VersionSetting
from langchain_qianfan_free._transport.aio import AsyncTransport
from langchain_qianfan_free._transport.call import Call
from langchain_qianfan_free._transport.sync import SyncTransport
from langchain_qianfan_free._validation_errors import SECRET_ENV, redacted_validation_error
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from typing_extensions import Self

    from langchain_qianfan_free._auth import Auth
    from langchain_qianfan_free._protocols.common import HttpRequest, ReplyParser

__all__ = ["QianfanClient"]


class QianfanClient(BaseModel):
    """Credentials, protocol, URLs, timeout, retries and the connection pool."""

    # hide_input_in_errors: a rejected api_key must not be echoed by ValidationError.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    _documented_names: ClassVar[tuple[str, ...]] = ()
    _api_paths: ClassVar[tuple[str, ...]] = ("/rpc/2.0/", "/oauth/2.0/")

    api_version: VersionSetting = "auto"
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

    timeout: float | None = Field(default=120.0, alias="request_timeout")
    """Seconds to wait for a connection and between received bytes; ``None`` waits
    forever. A positive number (not a bool or a string)."""

    max_retries: int = 2
    """Retries after the first attempt on rate limits, server trouble and network
    errors (exponential backoff with jitter). A whole number, 0 or more."""

    max_connections: int = 100
    """How many requests this client sends at once per event loop (async) or per
    process (sync). A call that cannot get a connection within ``timeout`` raises
    ``QianfanTimeoutError`` saying the connection pool is full. A whole number from 1
    to 10,000."""

    _sync: SyncTransport = PrivateAttr(default_factory=SyncTransport)
    _async: AsyncTransport = PrivateAttr(default_factory=AsyncTransport)

    def model_post_init(self, context: Any, /) -> None:
        """Hand on to the next class's hook (LangChain's records its version there).

        Without this, pydantic's own hook for the private attributes above would hide
        ``BaseLanguageModel.model_post_init`` from every class built on this base.
        """
        super().model_post_init(context)

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
                    f"{cls.__name__} got unknown parameter(s) {', '.join(unknown)}. Use the "
                    f"documented names ({', '.join(cls._documented_names)}, ...), or pass "
                    "extra request-body fields in model_kwargs={...}."
                )
        return values

    @field_validator(*SECRET_ENV, mode="before")
    @classmethod
    def _clean_secret(cls, value: Any, info: ValidationInfo) -> Any:
        assert info.field_name is not None  # noqa: S101 (a field validator)
        return _settings.clean_secret(value, info.field_name)

    @field_validator("app_id", mode="before")
    @classmethod
    def _clean_app_id(cls, value: Any) -> Any:
        return _settings.clean_app_id(value)

    @field_validator("iam_base_url")
    @classmethod
    def _normalize_iam_url(cls, value: str | None) -> str | None:
        return _settings.normalize_iam_url(value)

    @field_validator("base_url")
    @classmethod
    def _normalize_base_url(cls, value: str | None) -> str | None:
        return _settings.normalize_base_url(value, cls._api_paths, cls.__name__)

    @field_validator("max_retries", "max_connections", mode="before")
    @classmethod
    def _check_count(cls, value: Any, info: ValidationInfo) -> Any:
        """A whole number, on the raw value (``True``, ``"3"`` and ``3.0`` are refused)."""
        assert info.field_name is not None  # noqa: S101 (a field validator)
        return _settings.whole_number(info.field_name, value, cls.__name__)

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        """Seconds, on the raw value (``True`` and ``"5"`` are refused)."""
        return _settings.positive_seconds(value, cls.__name__)

    @model_validator(mode="after")
    def _check_whole(self) -> Self:
        self._after_validation()
        return self

    def _after_validation(self) -> None:
        """Whole-model checks of a subclass (it declares no model validator itself)."""

    # Keep this the last model validator: wrap and after validators nest in the order
    # they are defined, and this one must see the errors of all the others.
    @model_validator(mode="wrap")
    @classmethod
    def _redact_errors(
        cls, values: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        """Raise validation errors whose data holds no secret.

        ``hide_input_in_errors`` only hides the input from ``str(error)``; ``errors()``,
        ``json()``, ``repr`` and pickling still carry it (for a model-level error the
        whole kwargs dict). This covers construction, every ``model_validate*`` and the
        client as a field of another model.
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

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secret fields and the environment variables they come from."""
        return dict(SECRET_ENV)

    # ------------------------------------------------------------------ requests

    def _route(self) -> tuple[ApiVersion, str, Auth]:
        """The protocol, host root and auth of a call (checks the credentials).

        Raises:
            QianfanAuthenticationError: No usable credentials for the protocol.
            QianfanInvalidRequestError: Incomplete key pairs, or a setting this call
                cannot use.
        """
        version, kind = select(self)
        base_url = self._host(version)
        return version, base_url, build_auth(self, version, kind, base_url)

    def _host(self, version: ApiVersion) -> str:
        """The host root calls on ``version`` go to."""
        return self.base_url or PROTOCOLS[version].DEFAULT_BASE_URL

    def _call(self, parser: ReplyParser, request: HttpRequest, auth: Auth) -> Call:
        """A call of ``request``, with this client's timeout, retries and pool size."""
        return Call(parser, request, auth, self.timeout, self.max_retries, self.max_connections)

    # ------------------------------------------------------------------ cleanup

    def close(self) -> None:
        """Close this client's pooled HTTP connections now (sync side).

        Not needed in normal use: connections are reused while the client lives and
        closed with it. A later call opens new ones.
        """
        self._sync.close()

    async def aclose(self) -> None:
        """Close this client's connections on the running event loop now.

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
                _settings.whole_number(
                    "max_connections", update["max_connections"], type(self).__name__
                )
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
        for name in ("rate_limiter", "callbacks", "cache"):
            shared = getattr(self, name, None)
            if shared is not None and not isinstance(shared, bool):
                memo.setdefault(id(shared), shared)
        return super().__deepcopy__(memo)
