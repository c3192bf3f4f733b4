"""Peer chat models, measured on the same emulator when installed (the ``bench`` extra).

* ``QianfanChatEndpoint`` (langchain-community) speaks v1 through Baidu's ``qianfan`` SDK:
  API Key / Secret Key, one OAuth access token per instance, then
  ``/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed`` (the SDK maps the model name
  ``ernie-speed-8k`` to that endpoint, case-insensitively, from its built-in model list).
  It is pointed at the emulator with a per-instance ``qianfan.config.Config`` passed as
  ``init_kwargs={"config": ...}``; no environment variable is set. ``init_kwargs=
  {"base_url": ...}`` is not enough: the SDK applies keyword settings to the resource only,
  while its requestor and OAuth token manager keep the process-wide config, so the token
  request (AK/SK in its query string) would still go to ``aip.baidubce.com``. A ``Config``
  object reaches all three. In it ``BASE_URL`` serves the token and chat requests;
  ``CONSOLE_API_BASE_URL`` and ``IAM_BASE_URL`` also name the emulator, though a run never
  uses them; the IAM Access Key / Secret Key and access token are cleared so that
  ``QIANFAN_*`` variables in the environment cannot change what is measured. Without IAM
  keys the SDK never refreshes its model list from the console API (``Service.list``), so
  a call makes exactly one request (checked with the server's ``count``). Retries, the
  rate limiter and the token limiter keep the SDK's defaults: retries only follow errors
  (some error codes, failed connections), and the limiters only adopt the emulator's
  ``X-Ratelimit-*`` limits (10⁹), which never bind.
  Only the SDK's logger is raised to ERROR: on every call the SDK builds a throwaway
  resource whose credential check logs a WARNING, which would bury the benchmark's output.
* ``ChatOpenAI`` (langchain-openai) on the v2 OpenAI-compatible route: ``base_url`` is the
  emulator's ``/v2``, ``api_key`` its v2 API key; everything else is the default (its
  retries, too, only follow errors). Its async HTTP client is cached per process and bound
  to the first event loop that uses it, so run all its async calls on one loop.

The peer packages are imported only when a peer is built (:func:`peers`, :func:`peer`), so
``benchmarks`` imports without them; :func:`available` only looks whether they are installed.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec

from benchmarks.clients import MODEL, Client, Endpoint, from_chat_model

COMMUNITY = "QianfanChatEndpoint (v1, langchain-community)"
OPENAI = "ChatOpenAI (v2, langchain-openai)"

#: What a user runs to import each peer, for timing imports in a fresh process. The
#: community import is lazy (``qianfan`` loads when the model is built), so its line also
#: imports ``qianfan``: every user pays for it before the first call.
PEER_IMPORTS: dict[str, str] = {
    COMMUNITY: "from langchain_community.chat_models import QianfanChatEndpoint; import qianfan",
    OPENAI: "from langchain_openai import ChatOpenAI",
}

#: The ``bench`` extra: ranges resolved and checked together with this project's deps.
BENCH_REQUIREMENTS: list[str] = [
    "langchain-community>=0.4.2,<0.5",
    "qianfan>=0.4.12.3,<0.5",
    "langchain-openai>=1.7.3,<2",
]

_INSTALL = "pip install 'langchain-qianfan-free[bench]'"


class _PeerError(RuntimeError):
    """A peer that is not installed or cannot be pointed at the emulator; the text says why."""


def _community(endpoint: Endpoint) -> Client:
    try:
        import qianfan  # noqa: PLC0415
        from langchain_community.chat_models import QianfanChatEndpoint  # noqa: PLC0415
        from qianfan.config import Config  # noqa: PLC0415
    except ImportError as error:
        raise _PeerError(f"{COMMUNITY}: {error.name} is not installed ({_INSTALL})") from None
    qianfan.enable_log(logging.ERROR)
    url = endpoint.url
    try:  # a qianfan without one of these settings rejects it (pydantic's ValidationError)
        config = Config(
            BASE_URL=url,
            CONSOLE_API_BASE_URL=url,
            IAM_BASE_URL=url,
            ACCESS_KEY=None,
            SECRET_KEY=None,
            ACCESS_TOKEN=None,
            BEARER_TOKEN=None,
        )
    except ValueError as error:
        raise _PeerError(f"{COMMUNITY}: cannot point this qianfan at {url}: {error}") from None
    model = QianfanChatEndpoint(
        model=MODEL, qianfan_ak=endpoint.ak, qianfan_sk=endpoint.sk, init_kwargs={"config": config}
    )
    return from_chat_model(COMMUNITY, "v1", model)


def _openai(endpoint: Endpoint) -> Client:
    try:
        from langchain_openai import ChatOpenAI  # noqa: PLC0415
    except ImportError as error:
        raise _PeerError(f"{OPENAI}: {error.name} is not installed ({_INSTALL})") from None
    model = ChatOpenAI(model=MODEL, base_url=endpoint.url + "/v2", api_key=endpoint.api_key)
    return from_chat_model(OPENAI, "v2", model)


_BUILDERS = {COMMUNITY: _community, OPENAI: _openai}
_MODULES = {COMMUNITY: ("langchain_community", "qianfan"), OPENAI: ("langchain_openai",)}


def available() -> tuple[list[str], dict[str, str], list[str]]:
    """Names and import statements of the installed peers, and a note per missing one."""
    names: list[str] = []
    notes: list[str] = []
    for name, modules in _MODULES.items():
        missing = [module for module in modules if find_spec(module) is None]
        if missing:
            notes.append(f"{name}: {', '.join(missing)} not installed ({_INSTALL})")
        else:
            names.append(name)
    return names, {name: PEER_IMPORTS[name] for name in names}, notes


def peer(name: str, endpoint: Endpoint) -> Client:
    """Build the peer called ``name`` on ``endpoint``; a ``RuntimeError`` says why it can't."""
    return _BUILDERS[name](endpoint)


def peers(endpoint: Endpoint) -> tuple[list[Client], list[str]]:
    """Peer clients that are installed, plus one note per peer that is not (and why)."""
    clients: list[Client] = []
    notes: list[str] = []
    for build in _BUILDERS.values():
        try:
            clients.append(build(endpoint))
        except _PeerError as why:
            notes.append(str(why))
    return clients, notes
