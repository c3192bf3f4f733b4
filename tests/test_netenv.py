"""Environment read once: proxies per host, and redaction of library log lines."""

from __future__ import annotations

import logging

from langchain_qianfan_free.netenv import EnvProxies, env_ca_bundle, redact_library_logs


def test_proxies_per_host_with_no_proxy(monkeypatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.local:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    proxies = EnvProxies()
    assert proxies("https://qianfan.baidubce.com/v2/chat/completions") == "http://proxy.local:3128"
    assert proxies("https://internal.example/v2/chat/completions") is None
    monkeypatch.setenv("https_proxy", "http://other:1")
    # Read once per host: a later change of the environment does not apply mid-run.
    assert proxies("https://qianfan.baidubce.com/x") == "http://proxy.local:3128"


def test_ca_bundle_from_environment(monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ca.pem")
    assert env_ca_bundle() == "/etc/ca.pem"


def test_library_log_lines_are_redacted(caplog) -> None:
    redact_library_logs()
    redact_library_logs()  # idempotent
    logger = logging.getLogger("urllib3.connectionpool")
    assert len([f for f in logger.filters if type(f).__name__ == "_RedactingFilter"]) == 1
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logger.debug('"POST %s HTTP/1.1" 200', "/chat/x?access_token=24.topsecret")
    assert "topsecret" not in caplog.text
    assert "access_token=***" in caplog.text
