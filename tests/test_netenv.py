"""Environment read once: proxies per host, and redaction of library log lines."""

from __future__ import annotations

import logging

import pytest

from langchain_qianfan_free._transport.netenv import (
    CA_VARIABLES,
    EnvProxies,
    env_ca_bundle,
    redact_library_logs,
)
from langchain_qianfan_free.errors import QianfanConnectionError


def test_proxies_per_host_with_no_proxy(monkeypatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.local:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    proxies = EnvProxies()
    assert proxies("https://qianfan.baidubce.com/v2/chat/completions") == "http://proxy.local:3128"
    assert proxies("https://internal.example/v2/chat/completions") is None
    monkeypatch.setenv("https_proxy", "http://other:1")
    # Read once per host: a later change of the environment does not apply mid-run.
    assert proxies("https://qianfan.baidubce.com/x") == "http://proxy.local:3128"


@pytest.fixture
def no_ca_variables(monkeypatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_ca_bundle_from_environment(monkeypatch, tmp_path, no_ca_variables) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    assert env_ca_bundle() == str(bundle)


@pytest.mark.parametrize(
    ("set_", "wins"),
    [
        (("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"), "REQUESTS_CA_BUNDLE"),
        (("CURL_CA_BUNDLE", "SSL_CERT_FILE"), "CURL_CA_BUNDLE"),
        (("SSL_CERT_FILE",), "SSL_CERT_FILE"),
    ],
)
def test_ca_variables_in_order(monkeypatch, tmp_path, no_ca_variables, set_, wins) -> None:
    for name in set_:
        (tmp_path / name).write_text("")
        monkeypatch.setenv(name, str(tmp_path / name))
    assert env_ca_bundle() == str(tmp_path / wins)


def test_a_ca_variable_naming_nothing_is_a_clear_error(monkeypatch, no_ca_variables) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(QianfanConnectionError, match="SSL_CERT_FILE") as caught:
        env_ca_bundle()
    assert not caught.value.is_retryable


def test_library_log_lines_are_redacted(caplog) -> None:
    redact_library_logs()
    redact_library_logs()  # idempotent
    logger = logging.getLogger("urllib3.connectionpool")
    assert len([f for f in logger.filters if type(f).__name__ == "_RedactingFilter"]) == 1
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logger.debug('"POST %s HTTP/1.1" 200', "/chat/x?access_token=24.topsecret")
    assert "topsecret" not in caplog.text
    assert "access_token=***" in caplog.text
