"""The public emulator object: configuration, lifecycle and the scenario API.

:class:`QianfanEmulator` owns an ``EmulatorState`` (everything the routes share) and a
background server thread. Every method is safe to call from any thread while the
server runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import ClassVar

from langchain_qianfan_free.emulator._bearer import BEARER_TOKEN_PATH, DEFAULT_BEARER_SECONDS
from langchain_qianfan_free.emulator._handlers import (
    TOKEN_PATH,
    V1_PREFIX,
    V2_CHAT,
    EmulatorState,
    build_app,
)
from langchain_qianfan_free.emulator._runner import BackgroundServer
from langchain_qianfan_free.emulator._scenario_api import ScenarioAPI
from langchain_qianfan_free.emulator.config import (
    DEFAULT_AK,
    DEFAULT_API_KEY,
    DEFAULT_APP_ID,
    DEFAULT_IAM_AK,
    DEFAULT_IAM_SK,
    DEFAULT_SK,
    EmulatorConfig,
)
from langchain_qianfan_free.emulator.records import RecordedRequest

__all__ = ["QianfanEmulator"]

#: The defaults (one definition: :class:`EmulatorConfig`'s fields).
_DEFAULTS = EmulatorConfig()


class QianfanEmulator(ScenarioAPI):
    """A local stand-in for Baidu Qianfan's chat APIs (v1 wenxinworkshop and v2), for tests.

    It serves, on one HTTP root: the OAuth token endpoint ``/oauth/2.0/token``, the IAM
    bearer-token endpoint ``/v1/BCE-BEARER/token``, the v1 chat route
    ``/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}`` (access token or
    ``bce-auth-v1`` signature) and the v2 route ``/v2/chat/completions`` (API key or
    minted bearer token), validating requests and answering as documented. Replies
    are deterministic echoes unless scripted; requests with tools get a scripted model
    that calls them (natively on FC-capable models, or through the prompt-mode contract);
    faults and replies are queued with ``queue_*`` (``match=`` aims one at some
    requests), and :meth:`assert_all_consumed` checks that every one was used.

    Example:
        .. code-block:: python

            with QianfanEmulator() as emu:
                emu.queue_error(336501)           # next chat request: RPM limit
                ...                               # point your client at emu.url

    Args:
        host: Interface to listen on.
        port: TCP port; 0 (default) picks a free one.
        api_keys: Valid v2 bearer keys; default ``[DEFAULT_API_KEY]``.
        app_ids: Valid ``appid`` header values (the header may also be absent);
            default ``[DEFAULT_APP_ID]``.
        credentials: v1 API Key → Secret Key pairs; default ``{DEFAULT_AK: DEFAULT_SK}``.
        iam_credentials: Baidu Cloud IAM Access Key → Secret Key pairs, for signed v1
            requests and the bearer-token endpoint; default
            ``{DEFAULT_IAM_AK: DEFAULT_IAM_SK}``.
        iam_clock_skew: Seconds a signature timestamp may lie in the future (default
            300).
        clock: Wall-clock time source, seconds since the epoch (default
            ``time.time``). Access-token, bearer-token and signature lifetimes and
            ``created`` read it: a test moves time by changing what it returns.
        token_ttl: Lifetime of issued access tokens, seconds (default 30 days).
        rpm: Requests per minute per (credential, model), default 300.
        tpm: Tokens (input + output) per minute per (credential, model), default 300000.
        rate_window: Length in seconds of the sliding window ``rpm`` and ``tpm`` apply
            to; default 60 (per minute, as on Qianfan). Shorten it to run a
            rate-limited load test quickly: ``rpm=300, rate_window=0.5`` is "300 RPM"
            with time running 120 times faster.
        custom_models: Extra model names accepted as v1 endpoint and v2 id: a mapping to
            a catalogue model name whose limits apply (or ``None`` for the 8K defaults),
            or an iterable of names.
        unsafe_input_words: Input containing any of these gets a refusal with the
            moderation flags (v1 ``need_clear_history``/``ban_round``; v2 ``flag`` 2).
        unsafe_output_words: A reply containing any of these is cut before it with
            ``finish_reason: "content_filter"``.
        stream_chunk_chars: Characters per streamed piece.
        seed: Seed for answer ids, request ids and tokens.

    Attributes:
        config: The normalised settings (keys and secrets are left out of its ``repr``).
    """

    DEFAULT_API_KEY: ClassVar[str] = DEFAULT_API_KEY
    DEFAULT_APP_ID: ClassVar[str] = DEFAULT_APP_ID
    DEFAULT_AK: ClassVar[str] = DEFAULT_AK
    DEFAULT_SK: ClassVar[str] = DEFAULT_SK
    DEFAULT_IAM_AK: ClassVar[str] = DEFAULT_IAM_AK
    DEFAULT_IAM_SK: ClassVar[str] = DEFAULT_IAM_SK

    def __init__(
        self,
        *,
        host: str = _DEFAULTS.host,
        port: int = _DEFAULTS.port,
        api_keys: Iterable[str] | None = None,
        app_ids: Iterable[str] | None = None,
        credentials: Mapping[str, str] | None = None,
        iam_credentials: Mapping[str, str] | None = None,
        iam_clock_skew: float = _DEFAULTS.iam_clock_skew,
        clock: Callable[[], float] | None = None,
        token_ttl: int = _DEFAULTS.token_ttl,
        rpm: int = _DEFAULTS.rpm,
        tpm: int = _DEFAULTS.tpm,
        rate_window: float = _DEFAULTS.rate_window,
        custom_models: Mapping[str, str | None] | Iterable[str] | None = None,
        unsafe_input_words: Iterable[str] = _DEFAULTS.unsafe_input_words,
        unsafe_output_words: Iterable[str] = _DEFAULTS.unsafe_output_words,
        stream_chunk_chars: int = _DEFAULTS.stream_chunk_chars,
        seed: int | None = _DEFAULTS.seed,
    ) -> None:
        options = dict(locals())  # exactly the parameters above: EmulatorConfig's fields
        del options["self"]
        self.config = EmulatorConfig.build(**options)
        self._state = EmulatorState.from_config(self.config)
        self._server = BackgroundServer(lambda: build_app(self._state), host, port)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> QianfanEmulator:
        """Start serving in a background thread; returns ``self``.

        Raises:
            RuntimeError: Already running.
            OSError: The port could not be bound.
        """
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (safe to call twice)."""
        self._server.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server.running

    def __enter__(self) -> QianfanEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> QianfanEmulator:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        config = self.config
        window = "" if config.rate_window == 60 else f", rate_window={config.rate_window:g}"
        return f"QianfanEmulator({where}, rpm={config.rpm}, tpm={config.tpm}{window})"

    # -- where and who --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: Not running.
        """
        port = self._server.bound_port
        if port is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        return port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (v1, v2 and token routes live under it)."""
        host = self.config.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The v1 OAuth token endpoint, ``{url}/oauth/2.0/token``."""
        return self.url + TOKEN_PATH

    @property
    def bearer_token_url(self) -> str:
        """The IAM bearer-token endpoint, ``{url}/v1/BCE-BEARER/token`` (sign requests to it)."""
        return self.url + BEARER_TOKEN_PATH

    def v1_chat_url(self, endpoint: str = "ernie_speed") -> str:
        """The v1 chat URL of ``endpoint`` (without ``?access_token=``)."""
        return f"{self.url}{V1_PREFIX}/chat/{endpoint}"

    @property
    def v2_base_url(self) -> str:
        """The v2 base URL, ``{url}/v2`` (what OpenAI-style clients call ``base_url``)."""
        return self.url + "/v2"

    @property
    def v2_chat_url(self) -> str:
        """The v2 chat URL, ``{url}/v2/chat/completions``."""
        return self.url + V2_CHAT

    @property
    def api_key(self) -> str:
        """A valid v2 API key (the first of ``api_keys``)."""
        return self.config.api_keys[0]

    @property
    def app_id(self) -> str:
        """A valid ``appid`` header value (the first of ``app_ids``)."""
        return self.config.app_ids[0]

    @property
    def ak(self) -> str:
        """A valid v1 API Key (OAuth ``client_id``)."""
        return next(iter(self.config.credentials))

    @property
    def sk(self) -> str:
        """The Secret Key of :attr:`ak`."""
        return self.config.credentials[self.ak]

    @property
    def iam_ak(self) -> str:
        """A valid Baidu Cloud IAM Access Key (the first of ``iam_credentials``)."""
        return next(iter(self.config.iam_credentials))

    @property
    def iam_sk(self) -> str:
        """The IAM Secret Key of :attr:`iam_ak`."""
        return self.config.iam_credentials[self.iam_ak]

    def issue_bearer_token(
        self, access_key: str | None = None, *, expire_in_seconds: int = DEFAULT_BEARER_SECONDS
    ) -> str:
        """A fresh v2 bearer token minted for ``access_key`` (default :attr:`iam_ak`).

        Minted directly, without a signed round trip to the IAM endpoint (so not
        recorded); it lives ``expire_in_seconds`` on the emulator's clock.

        Raises:
            KeyError: ``access_key`` is not one of the configured IAM credentials.
            ValueError: ``expire_in_seconds`` is below 1.
        """
        who = self.iam_ak if access_key is None else access_key
        if who not in self.config.iam_credentials:
            raise KeyError(f"{who!r} is not a configured IAM Access Key (see iam_credentials=)")
        if expire_in_seconds < 1:
            raise ValueError(f"expire_in_seconds must be >= 1, got {expire_in_seconds}")
        token: str = self._state.bearer.mint(who, expire_in_seconds)["token"]
        return token

    def issue_access_token(self, api_key: str | None = None) -> str:
        """A fresh, valid v1 access token for ``api_key`` (default :attr:`ak`).

        Issued directly, without a round trip to the token endpoint (so not recorded).

        Raises:
            KeyError: ``api_key`` is not one of the configured credentials.
        """
        client_id = self.ak if api_key is None else api_key
        if client_id not in self.config.credentials:
            raise KeyError(f"{client_id!r} is not a configured API Key (see credentials=)")
        token: str = self._state.tokens.issue(client_id)["access_token"]
        return token

    # -- observation and reset ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last :meth:`reset`, oldest first (a copy)."""
        return self._state.log.snapshot()

    @property
    def rate_limited(self) -> int:
        """How many chat requests the RPM/TPM limits refused since the last :meth:`reset`.

        Counts 336501/336502 (v2 429 ``rpm_``/``tpm_rate_limit_exceeded``) answers of the
        limiter, not errors queued with :meth:`queue_error`.
        """
        return self._state.limiter.rejected

    def reset(self) -> None:
        """Clear queued faults, the request log and rate-limit windows.

        Issued access tokens and minted bearer tokens stay valid (within their
        lifetimes), and tokens expired or revoked by :meth:`expire_tokens` /
        :meth:`revoke_tokens` / :meth:`expire_bearer_tokens` become valid again.
        """
        self._state.scenario.clear()
        self._state.log.clear()
        self._state.limiter.clear()
        self._state.tokens.restore_all()
        self._state.bearer.restore_all()
