"""The client base: a new API class gets the shared settings by adding only its own."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest
from pydantic import ValidationError

import langchain_qianfan_free
from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free._auth.schemes import BearerAuth, OAuthTokenAuth
from langchain_qianfan_free._client import QianfanClient
from langchain_qianfan_free._protocols import PROTOCOLS

SECRET = "bce-v3/ALTAK-probe-secret-9f8e7d"


class Probe(QianfanClient):
    """An API class as the next ones are built: one field of its own."""

    _documented_names = ("model",)

    model: str = "embedding-v1"


@pytest.fixture(autouse=True)
def no_env(monkeypatch) -> None:
    for name in (
        "QIANFAN_API_KEY",
        "QIANFAN_BEARER_TOKEN",
        "QIANFAN_AK",
        "QIANFAN_SK",
        "QIANFAN_ACCESS_KEY",
        "QIANFAN_SECRET_KEY",
        "QIANFAN_BASE_URL",
        "QIANFAN_IAM_BASE_URL",
        "QIANFAN_APP_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def test_chat_qianfan_declares_none_of_the_shared_fields_again() -> None:
    shared = set(QianfanClient.model_fields)
    assert {"api_key", "base_url", "timeout", "max_retries", "max_connections"} <= shared
    assert shared <= set(ChatQianfan.model_fields)
    assert shared.isdisjoint(ChatQianfan.__annotations__)
    assert shared.isdisjoint(Probe.__annotations__)


def test_a_new_class_reads_the_same_environment(monkeypatch) -> None:
    monkeypatch.setenv("QIANFAN_API_KEY", f"  {SECRET}\n")
    monkeypatch.setenv("QIANFAN_BASE_URL", "http://127.0.0.1:9/v2/")
    probe = Probe()
    assert probe.api_key is not None
    assert probe.api_key.get_secret_value() == SECRET
    assert probe.base_url == "http://127.0.0.1:9"
    assert probe.lc_secrets == ChatQianfan(api_key="k").lc_secrets


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"timeout": "5"}, "timeout must be a positive number"),
        ({"max_retries": True}, "max_retries must be a whole number"),
        ({"max_connections": 0}, "max_connections must be a whole number from 1"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"colour": "red"}, "Probe got unknown parameter(s) colour"),
    ],
)
def test_a_new_class_checks_the_shared_settings(kwargs, words) -> None:
    with pytest.raises(ValidationError) as info:
        Probe(api_key=SECRET, **kwargs)
    assert words in str(info.value)
    for shown in (str(info.value), repr(info.value), str(info.value.errors())):
        assert SECRET not in shown
    assert SECRET.encode() not in pickle.dumps(info.value)


def test_a_new_class_routes_and_calls_like_the_chat_model() -> None:
    probe = Probe(api_key=SECRET, timeout=7, max_retries=4, max_connections=3)
    version, base_url, auth = probe._route()
    assert (version, base_url) == ("v2", PROTOCOLS["v2"].DEFAULT_BASE_URL)
    assert isinstance(auth, BearerAuth)
    v1 = Probe(qianfan_ak="ak", qianfan_sk="sk", base_url="http://127.0.0.1:9")
    version, base_url, auth = v1._route()
    assert (version, base_url) == ("v1", "http://127.0.0.1:9")
    assert isinstance(auth, OAuthTokenAuth)
    call = probe._call(PROTOCOLS["v2"], object(), auth)  # type: ignore[arg-type]
    assert (call.timeout, call.max_retries, call.max_connections) == (7, 4, 3)


def test_langchain_still_records_its_version_and_the_transports_exist() -> None:
    # The base's private attributes must not hide BaseLanguageModel.model_post_init.
    versions = ChatQianfan(api_key="k").metadata["lc_versions"]
    assert {"langchain-core", "langchain-qianfan-free"} <= set(versions)
    probe = Probe(api_key=SECRET)
    assert probe._sync is not None
    assert probe._async is not None


def client_classes() -> list[type[QianfanClient]]:
    """Every class built on the base: the package's public API classes, and Probe."""
    for module in pkgutil.iter_modules(langchain_qianfan_free.__path__):
        if not module.name.startswith("_") and module.name not in ("cli", "pytest_plugin"):
            importlib.import_module(f"langchain_qianfan_free.{module.name}")
    found: list[type[QianfanClient]] = []
    pending = list(QianfanClient.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(
        (c for c in found if c.__module__.startswith("langchain_qianfan_free") or c is Probe),
        key=lambda c: c.__qualname__,
    )


@pytest.mark.parametrize("cls", client_classes(), ids=lambda cls: cls.__qualname__)
def test_the_secret_stripping_validator_stays_outermost(cls) -> None:
    # A model validator declared after it (in a subclass) would raise errors that
    # still carry the constructor's kwargs, secrets included.
    validators = list(cls.__pydantic_decorators__.model_validators)
    assert validators[-1] == "_redact_errors"
    own = {name for name, value in vars(cls).items() if hasattr(value, "decorator_info")}
    assert not own & set(validators) - set(vars(QianfanClient))
