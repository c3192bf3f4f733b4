"""The emulator's settings: defaults, credentials and limits, checked once at construction.

:class:`EmulatorConfig` is a plain record: its field defaults are the emulator's
defaults, and :class:`~langchain_qianfan_free.emulator.QianfanEmulator` (the one place
that takes the user-facing arguments) normalises into it with :func:`as_strings` and
:func:`as_models`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "DEFAULT_AK",
    "DEFAULT_API_KEY",
    "DEFAULT_APP_ID",
    "DEFAULT_IAM_AK",
    "DEFAULT_IAM_SK",
    "DEFAULT_SK",
    "EmulatorConfig",
    "as_models",
    "as_strings",
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


def as_strings(name: str, values: Iterable[str]) -> tuple[str, ...]:
    """``values`` as a tuple of at least one non-empty string.

    Args:
        name: The setting, for the error message.
        values: Any iterable of strings (not a single string).

    Raises:
        TypeError: ``values`` is a single string.
        ValueError: It is empty or holds an empty string or a non-string.
    """
    if isinstance(values, str):
        raise TypeError(f"{name} must be an iterable of strings, not a single string")
    found = tuple(values)
    if not found or not all(isinstance(value, str) and value for value in found):
        raise ValueError(f"{name} must hold at least one non-empty string")
    return found


def as_models(custom_models: Mapping[str, str | None] | Iterable[str]) -> dict[str, str | None]:
    """``custom_models`` as name → catalogue model (``None``: default limits).

    Args:
        custom_models: A mapping, or an iterable of names (each with default limits).

    Raises:
        TypeError: A single string was given.
        ValueError: An empty name was given in the iterable form.
    """
    if isinstance(custom_models, Mapping):
        return dict(custom_models)
    return dict.fromkeys(as_strings("custom_models", custom_models))


def _check_iam_credentials(credentials: Mapping[str, str]) -> None:
    as_strings("iam_credentials", credentials.keys())
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
    """Settings of one emulator, normalised (``emulator.config``).

    :class:`~langchain_qianfan_free.emulator.QianfanEmulator` builds it from its
    arguments (documented there); the defaults below are the emulator's defaults.
    Values are checked on construction. Keys and secrets are left out of ``repr``.

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

    @classmethod
    def build(cls, **options: Any) -> EmulatorConfig:
        """A config from ``QianfanEmulator``'s arguments, in the forms it accepts.

        The one place they are normalised: ``None`` means the default, iterables become
        tuples, mappings dicts. ``QianfanEmulator(...)`` calls this with its arguments.

        Raises:
            TypeError: An option that is not a field.
            ValueError: A value out of range (see the fields).
        """
        unknown = sorted(set(options) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown emulator option(s): {', '.join(unknown)}")
        given = {name: value for name, value in options.items() if value is not None}
        for name in ("api_keys", "app_ids"):
            if name in given:
                given[name] = as_strings(name, given[name])
        for name in ("credentials", "iam_credentials"):
            if name in given:
                given[name] = dict(given[name])
        if "custom_models" in given:
            given["custom_models"] = as_models(given["custom_models"])
        for name in ("unsafe_input_words", "unsafe_output_words"):
            if name in given:
                given[name] = tuple(given[name])
        if "seed" in options:  # None is a value here: random ids
            given["seed"] = options["seed"]
        return cls(**given)

    def __post_init__(self) -> None:
        as_strings("api_keys", self.api_keys)
        as_strings("app_ids", self.app_ids)
        as_strings("credentials", self.credentials.keys())
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
