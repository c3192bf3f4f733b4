"""Which credentials a call uses, and the auth scheme built from them.

Pure: the settings are read from any object with the client base's credential
fields (:class:`CredentialSettings`); nothing is sent here.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from langchain_qianfan_free._auth import Auth
from langchain_qianfan_free._auth.schemes import (
    DEFAULT_IAM_URL,
    BearerAuth,
    IamBearerAuth,
    IamSignAuth,
    OAuthTokenAuth,
)
from langchain_qianfan_free._protocols.common import ApiVersion, VersionSetting
from langchain_qianfan_free.errors import QianfanAuthenticationError, QianfanInvalidRequestError

__all__ = [
    "CredentialKind",
    "CredentialSettings",
    "build_auth",
    "choose_credentials",
    "iam_url",
    "select",
]


class CredentialSettings(Protocol):
    """The credential fields of the client base, as validated."""

    @property
    def api_version(self) -> VersionSetting:
        """``auto``, ``v1`` or ``v2``."""

    @property
    def api_key(self) -> SecretStr | None:
        """The v2 API key."""

    @property
    def app_id(self) -> str | None:
        """The v2 application id."""

    @property
    def qianfan_ak(self) -> SecretStr | None:
        """The v1 application's API Key."""

    @property
    def qianfan_sk(self) -> SecretStr | None:
        """The v1 application's Secret Key."""

    @property
    def qianfan_access_key(self) -> SecretStr | None:
        """The IAM Access Key."""

    @property
    def qianfan_secret_key(self) -> SecretStr | None:
        """The IAM Secret Key."""

    @property
    def iam_base_url(self) -> str | None:
        """Where v2 bearer tokens are minted, when set."""

    @property
    def base_url(self) -> str | None:
        """The host root, when set."""

    @property
    def model_fields_set(self) -> Set[str]:
        """The fields given explicitly (not from the environment or defaults)."""


_MISSING = (
    "No Qianfan credentials. For v2 (the default, what new accounts get) set "
    "QIANFAN_API_KEY or pass api_key='bce-v3/ALTAK-...'; with Baidu Cloud IAM keys set "
    "QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY; for a v1 application set QIANFAN_AK and "
    "QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=..."
)

CredentialKind = Literal["api_key", "app_keys", "iam_keys"]
"""The credentials a call uses: a v2 API key, a v1 application's API Key / Secret
Key (OAuth access token), or Baidu Cloud IAM Access Key / Secret Key (signed v1
requests, or v2 bearer tokens minted from them)."""


def choose_credentials(
    api_version: VersionSetting,
    *,
    has_api_key: bool,
    has_ak_sk: bool,
    has_iam_keys: bool,
) -> tuple[ApiVersion, CredentialKind]:
    """The protocol and the credentials to use.

    Precedence with ``auto``: an API key (v2), else IAM keys (v2, bearer tokens
    minted from them), else a v1 application's keys (v1). ``v2`` takes an API key or
    IAM keys; ``v1`` takes application keys, else IAM keys (signed requests).

    Raises:
        QianfanAuthenticationError: When the chosen protocol has no usable credentials,
            naming what to set.
    """
    if api_version == "auto":
        if has_api_key:
            return "v2", "api_key"
        if has_iam_keys:
            return "v2", "iam_keys"
        if has_ak_sk:
            return "v1", "app_keys"
        raise QianfanAuthenticationError(_MISSING)
    if api_version == "v2":
        if has_api_key:
            return "v2", "api_key"
        if has_iam_keys:
            return "v2", "iam_keys"
        extra = (
            " (QIANFAN_AK/QIANFAN_SK are v1 application keys and work on v1 only)"
            if has_ak_sk
            else ""
        )
        raise QianfanAuthenticationError(
            "api_version='v2' needs an API key: set QIANFAN_API_KEY (or "
            "QIANFAN_BEARER_TOKEN) or pass api_key='bce-v3/ALTAK-...', or Baidu Cloud IAM "
            f"keys: QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY{extra}."
        )
    if has_ak_sk:
        return "v1", "app_keys"
    if has_iam_keys:
        return "v1", "iam_keys"
    extra = " (an API key works on v2 only)" if has_api_key else ""
    raise QianfanAuthenticationError(
        "api_version='v1' needs the application's API Key and Secret Key: set "
        "QIANFAN_AK and QIANFAN_SK or pass qianfan_ak=... and qianfan_sk=...; or Baidu "
        f"Cloud IAM keys: QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY{extra}."
    )


def select(settings: CredentialSettings) -> tuple[ApiVersion, CredentialKind]:
    """The protocol and credentials of a call; incomplete key pairs are refused.

    Raises:
        QianfanInvalidRequestError: One key of a pair is set without the other.
        QianfanAuthenticationError: No usable credentials (see :func:`choose_credentials`).
    """
    return choose_credentials(
        settings.api_version,
        has_api_key=settings.api_key is not None,
        has_ak_sk=_pair(
            settings.qianfan_ak,
            settings.qianfan_sk,
            ("qianfan_ak (QIANFAN_AK)", "qianfan_sk (QIANFAN_SK)"),
            "v1 credentials are incomplete: {missing} is not set. Set both the API Key "
            "and the Secret Key of the Qianfan application.",
        ),
        has_iam_keys=_pair(
            settings.qianfan_access_key,
            settings.qianfan_secret_key,
            ("qianfan_access_key (QIANFAN_ACCESS_KEY)", "qianfan_secret_key (QIANFAN_SECRET_KEY)"),
            "IAM credentials are incomplete: {missing} is not set. Set both the Access Key "
            "and the Secret Key of your Baidu Cloud account.",
        ),
    )


def _pair(
    key: SecretStr | None, secret: SecretStr | None, names: tuple[str, str], message: str
) -> bool:
    if (key is None) != (secret is None):
        missing = names[1] if secret is None else names[0]
        raise QianfanInvalidRequestError(message.format(missing=missing))
    return key is not None


def iam_url(settings: CredentialSettings) -> str:
    """Where bearer tokens are minted.

    ``iam_base_url``; else a custom ``base_url`` (an emulator or a proxy); else
    Baidu's IAM host (also when ``base_url`` names a Baidu host).
    """
    if settings.iam_base_url:
        return settings.iam_base_url
    base_url = settings.base_url
    host = (urlsplit(base_url).hostname or "") if base_url else ""
    if base_url and host and not (host == "baidubce.com" or host.endswith(".baidubce.com")):
        return base_url.removesuffix("/v2")
    return DEFAULT_IAM_URL


def build_auth(
    settings: CredentialSettings, version: ApiVersion, kind: CredentialKind, base_url: str
) -> Auth:
    """The auth scheme for a call on ``version`` with ``kind`` credentials.

    Args:
        settings: The client's credential fields.
        version: The protocol :func:`select` chose.
        kind: The credentials :func:`select` chose.
        base_url: The host root the call goes to (v1 tokens are fetched from it).

    Raises:
        QianfanInvalidRequestError: A setting given explicitly that this call cannot
            use (``iam_base_url`` without IAM keys on v2, ``app_id`` on v1).
    """
    fields_set = settings.model_fields_set
    if (
        "iam_base_url" in fields_set
        and settings.iam_base_url
        and not (version == "v2" and kind == "iam_keys")
    ):
        raise QianfanInvalidRequestError(
            "iam_base_url is only used to mint v2 tokens from IAM keys, and this call "
            f"uses {kind.replace('_', ' ')} on {version}. Remove iam_base_url, or "
            "use IAM keys (QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY) with api_version='v2'."
        )
    access_key, secret_key = settings.qianfan_access_key, settings.qianfan_secret_key
    if version == "v2":
        if kind == "api_key" and settings.api_key is not None:
            return BearerAuth(settings.api_key, settings.app_id)
        if access_key is not None and secret_key is not None:
            return IamBearerAuth(iam_url(settings), access_key, secret_key, settings.app_id)
    else:
        if "app_id" in fields_set and settings.app_id:
            raise QianfanInvalidRequestError(
                "app_id is a v2 setting (the appid header); the v1 API has no app id. "
                "Remove app_id or use api_version='v2'."
            )
        if kind == "iam_keys" and access_key is not None and secret_key is not None:
            return IamSignAuth(access_key, secret_key)
        if settings.qianfan_ak is not None and settings.qianfan_sk is not None:
            return OAuthTokenAuth(base_url, settings.qianfan_ak, settings.qianfan_sk)
    raise QianfanAuthenticationError(_MISSING)  # select() chose what is set: not reached
