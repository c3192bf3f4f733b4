"""The emulator's settings: defaults, credentials and limits, checked once at construction."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_AK",
    "DEFAULT_API_KEY",
    "DEFAULT_APP_ID",
    "DEFAULT_IAM_AK",
    "DEFAULT_IAM_SK",
    "DEFAULT_SK",
    "EmulatorConfig",
]

#: The v2 API key the emulator accepts by default.
DEFAULT_API_KEY = "bce-v3/ALTAK-emulator/emulator-secret"
#: The ``appid`` header value accepted by default.
DEFAULT_APP_ID = "app-emulator"
#: The v1 API Key (OAuth ``client_id``) accepted by default.
DEFAULT_AK = "emulator-api-key"
#: The v1 Secret Key (OAuth ``client_secret``) accepted by default.
DEFAULT_SK = "emulator-secret-key"
#: The Baidu Cloud IAM Access Key (``bce-auth-v1`` signatures) accepted by default.
DEFAULT_IAM_AK = "emulator-iam-access-key"
#: The IAM Secret Key of :data:`DEFAULT_IAM_AK`.
DEFAULT_IAM_SK = "emulator-iam-secret-key"


def _strings(name: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{name} must be an iterable of strings, not a single string")
    found = tuple(values)
    if not found or not all(isinstance(value, str) and value for value in found):
        raise ValueError(f"{name} must hold at least one non-empty string")
    return found


def _check_iam_credentials(credentials: Mapping[str, str]) -> None:
    _strings("iam_credentials", credentials.keys())
    for access_key, secret in credentials.items():
        # The AK is one "/"-separated field of the Authorization header.
        if "/" in access_key or access_key != access_key.strip():
            raise ValueError(
                f"iam_credentials: the Access Key {access_key!r} must not contain '/' "
                "or surrounding whitespace"
            )
        if not isinstance(secret, str) or not secret:
            raise ValueError("iam_credentials: every Secret Key must be a non-empty string")


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulator (see :class:`~langchain_qianfan_free.emulator.QianfanEmulator`).

    Keys and secrets are left out of ``repr``.

    Attributes:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        api_keys: Valid v2 bearer keys (the first is ``emulator.api_key``).
        app_ids: Valid ``appid`` header values (the first is ``emulator.app_id``).
        credentials: v1 API Key → Secret Key pairs for the OAuth token endpoint.
        iam_credentials: Baidu Cloud IAM Access Key → Secret Key pairs, for
            ``bce-auth-v1`` signed v1 requests and the bearer-token endpoint.
        iam_clock_skew: How many seconds a signature's timestamp may lie in the future
            (a client clock running ahead) before it is refused.
        clock: Wall-clock time source (seconds since the epoch) for access-token,
            bearer-token and signature lifetimes and ``created``; tests inject one to
            move time without sleeping (rate windows keep a monotonic clock).
        token_ttl: Access-token lifetime in seconds (``expires_in``).
        rpm: Requests per minute per (credential, model).
        tpm: Tokens per minute per (credential, model).
        rate_window: Length of the RPM/TPM sliding window in seconds (60 as on Qianfan;
            shorter to run rate-limited load tests quickly).
        custom_models: Extra model names → catalogue model (or ``None`` for default limits).
        unsafe_input_words: Words that trip input moderation.
        unsafe_output_words: Words that trip output moderation.
        stream_chunk_chars: Characters per streamed piece.
        seed: Seed for ids and tokens (``None``: random).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: tuple[str, ...] = field(default=(DEFAULT_API_KEY,), repr=False)
    app_ids: tuple[str, ...] = (DEFAULT_APP_ID,)
    credentials: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_AK: DEFAULT_SK}, repr=False
    )
    iam_credentials: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_IAM_AK: DEFAULT_IAM_SK}, repr=False
    )
    iam_clock_skew: float = 300.0
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    token_ttl: int = 2592000
    rpm: int = 300
    tpm: int = 300000
    rate_window: float = 60.0
    custom_models: Mapping[str, str | None] = field(default_factory=dict)
    unsafe_input_words: tuple[str, ...] = ("EMULATOR_UNSAFE_INPUT",)
    unsafe_output_words: tuple[str, ...] = ("EMULATOR_UNSAFE_OUTPUT",)
    stream_chunk_chars: int = 6
    seed: int | None = None

    def __post_init__(self) -> None:
        _strings("api_keys", self.api_keys)
        _strings("app_ids", self.app_ids)
        _strings("credentials", self.credentials.keys())
        if not all(isinstance(secret, str) and secret for secret in self.credentials.values()):
            raise ValueError("credentials: every Secret Key must be a non-empty string")
        _check_iam_credentials(self.iam_credentials)
        if not (self.iam_clock_skew >= 0 and math.isfinite(self.iam_clock_skew)):
            raise ValueError(f"iam_clock_skew must be >= 0 seconds, got {self.iam_clock_skew}")
        if not callable(self.clock):
            raise TypeError("clock must be a callable returning seconds since the epoch")
        for name in ("token_ttl", "port"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("rpm", "tpm", "stream_chunk_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.rate_window > 0:  # also refuses NaN
            raise ValueError(f"rate_window must be > 0 seconds, got {self.rate_window}")

    @classmethod
    def build(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] | None = None,
        app_ids: Iterable[str] | None = None,
        credentials: Mapping[str, str] | None = None,
        iam_credentials: Mapping[str, str] | None = None,
        iam_clock_skew: float = 300.0,
        clock: Callable[[], float] | None = None,
        token_ttl: int = 2592000,
        rpm: int = 300,
        tpm: int = 300000,
        rate_window: float = 60.0,
        custom_models: Mapping[str, str | None] | Iterable[str] | None = None,
        unsafe_input_words: Iterable[str] = ("EMULATOR_UNSAFE_INPUT",),
        unsafe_output_words: Iterable[str] = ("EMULATOR_UNSAFE_OUTPUT",),
        stream_chunk_chars: int = 6,
        seed: int | None = None,
    ) -> EmulatorConfig:
        """Normalise user-facing arguments (iterables, ``None`` for defaults) into a config."""
        if custom_models is None:
            models: dict[str, str | None] = {}
        elif isinstance(custom_models, Mapping):
            models = dict(custom_models)
        else:
            models = dict.fromkeys(_strings("custom_models", custom_models))
        return cls(
            host=host,
            port=port,
            api_keys=_strings("api_keys", api_keys) if api_keys is not None else (DEFAULT_API_KEY,),
            app_ids=_strings("app_ids", app_ids) if app_ids is not None else (DEFAULT_APP_ID,),
            credentials=dict(credentials) if credentials is not None else {DEFAULT_AK: DEFAULT_SK},
            iam_credentials=(
                dict(iam_credentials)
                if iam_credentials is not None
                else {DEFAULT_IAM_AK: DEFAULT_IAM_SK}
            ),
            iam_clock_skew=iam_clock_skew,
            clock=clock if clock is not None else time.time,
            token_ttl=token_ttl,
            rpm=rpm,
            tpm=tpm,
            rate_window=rate_window,
            custom_models=models,
            unsafe_input_words=tuple(unsafe_input_words),
            unsafe_output_words=tuple(unsafe_output_words),
            stream_chunk_chars=stream_chunk_chars,
            seed=seed,
        )
