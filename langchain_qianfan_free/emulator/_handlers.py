"""The HTTP side: routes, and the one chat pipeline both protocols go through.

A chat request is recorded, routed and authenticated (protocol-specific), then takes
the oldest queued fault meant for it, is validated (checks raise
:class:`~langchain_qianfan_free.emulator._errors.EmulatedError`, caught once in
:func:`_answer`), answered by the scripted model
(:mod:`~langchain_qianfan_free.emulator._model.toolmodel`), rate-limited and answered in its
protocol's format (:mod:`~langchain_qianfan_free.emulator._v1`,
:mod:`~langchain_qianfan_free.emulator._v2`). Requests rejected while routing or
authenticating do not take a queued fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from langchain_qianfan_free.emulator._auth import (
    IamVerifier,
    SignedRequest,
    authenticate_v1,
    authenticate_v2,
    reject_iam,
)
from langchain_qianfan_free.emulator._bearer import BEARER_TOKEN_PATH, BearerTokenStore
from langchain_qianfan_free.emulator._errors import EmulatedError, qianfan_error
from langchain_qianfan_free.emulator._iam import SignatureVerifier
from langchain_qianfan_free.emulator._ids import IdSource
from langchain_qianfan_free.emulator._model.replies import REPLY_PREFIX
from langchain_qianfan_free.emulator._model.toolmodel import respond
from langchain_qianfan_free.emulator._models import ModelRegistry
from langchain_qianfan_free.emulator._ratelimit import RateLimiter, RateStatus
from langchain_qianfan_free.emulator._tokens import TokenStore
from langchain_qianfan_free.emulator._v1 import V1Wire
from langchain_qianfan_free.emulator._v2 import V2Wire
from langchain_qianfan_free.emulator._validation import (
    ChatRequest,
    parse_body,
    validate_v1,
    validate_v2,
)
from langchain_qianfan_free.emulator._wire import AnswerMeta, Wire, dumps
from langchain_qianfan_free.emulator.config import EmulatorConfig
from langchain_qianfan_free.emulator.records import ProtocolName, RecordedRequest, RequestLog
from langchain_qianfan_free.emulator.scenario import (
    DisconnectFault,
    ErrorFault,
    Fault,
    HttpStatusFault,
    MalformedJsonFault,
    ReplyFault,
    Scenario,
    SlowFault,
    StreamErrorFault,
    ToolCallsFault,
)

__all__ = ["STATE", "EmulatorState", "build_app"]

V1_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop"
V2_CHAT = "/v2/chat/completions"
TOKEN_PATH = "/oauth/2.0/token"
_MAX_BODY = 16 * 1024 * 1024  # 128K models accept ~516K chars (~1.5 MB of UTF-8)
_JSON = "application/json"


@dataclass
class EmulatorState:
    """Everything the routes share; the public emulator object drives it from other threads.

    Attributes:
        config: Settings.
        models: Served models and their limits.
        ids: Id source.
        tokens: v1 OAuth tokens.
        bearer: IAM bearer tokens minted for v2 (and their endpoint's verifier).
        scenario: Queued faults and replies.
        log: Received requests.
        limiter: RPM/TPM windows.
        iam: Verifier for ``bce-auth-v1`` signed v1 requests (the IAM seam).
    """

    config: EmulatorConfig
    models: ModelRegistry
    ids: IdSource
    tokens: TokenStore
    bearer: BearerTokenStore
    scenario: Scenario = field(default_factory=Scenario)
    log: RequestLog = field(default_factory=RequestLog)
    limiter: RateLimiter = field(init=False)
    iam: IamVerifier = reject_iam

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.rpm, self.config.tpm, window=self.config.rate_window)

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> EmulatorState:
        """Fresh state for ``config``.

        Token, bearer-token and signature lifetimes and ``created`` read
        ``config.clock``; rate-limit windows keep a monotonic clock.
        """
        ids = IdSource(config.seed)
        signatures = SignatureVerifier(
            config.iam_credentials, clock=config.clock, max_skew=config.iam_clock_skew
        )
        models = ModelRegistry(config.custom_models)
        return cls(
            config=config,
            models=models,
            ids=ids,
            tokens=TokenStore(config.credentials, config.token_ttl, ids, clock=config.clock),
            bearer=BearerTokenStore(signatures, ids, config.clock),
            scenario=Scenario(models),
            iam=signatures,
        )


STATE = web.AppKey("qianfan_emulator_state", EmulatorState)
_V1 = V1Wire()
_V2 = V2Wire()


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application serving token, IAM, v1 and v2 routes over ``state``."""
    app = web.Application(client_max_size=_MAX_BODY)
    app[STATE] = state
    app.router.add_route("*", TOKEN_PATH, _handle_token)
    app.router.add_route("*", BEARER_TOKEN_PATH, _handle_bearer)
    app.router.add_route("*", V1_PREFIX + "/{tail:.*}", _handle_v1)
    app.router.add_route("*", V2_CHAT, _handle_v2)
    app.router.add_route("*", "/{tail:.*}", _handle_other)
    return app


async def _record(request: web.Request, protocol: ProtocolName) -> RecordedRequest:
    body = await request.read()
    peer = request.transport.get_extra_info("peername") if request.transport else None
    record = RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=request.headers,
        body=body,
        json=parse_body(body) if body else None,
        protocol=protocol,
        client=f"{peer[0]}:{peer[1]}" if peer else "",
    )
    request.app[STATE].log.append(record)
    return record


def _json_response(
    status: int, data: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(status=status, body=dumps(data), content_type=_JSON, headers=headers)


async def _handle_token(request: web.Request) -> web.StreamResponse:
    await _record(request, "token")
    if request.method not in ("GET", "POST"):
        return _json_response(
            405,
            {"error": "invalid_request", "error_description": "only GET and POST are supported"},
        )
    status, data = request.app[STATE].tokens.exchange(request.query)
    return _json_response(status, data)


async def _handle_bearer(request: web.Request) -> web.StreamResponse:
    body = (await _record(request, "iam")).body
    state = request.app[STATE]
    request_id = state.ids.request_id()
    headers = {"x-bce-request-id": request_id}
    if request.method != "GET":
        error = {
            "requestId": request_id,
            "code": "MethodNotAllowed",
            "message": "The specified method is not allowed against this resource.",
        }
        return _json_response(405, error, {**headers, "Allow": "GET"})
    status, data = state.bearer.exchange(_signed_request(request, body), request_id)
    return _json_response(status, data, headers)


def _signed_request(request: web.Request, body: bytes) -> SignedRequest:
    """What authentication reads: the path and query as sent, decoded once."""
    path = unquote(request.raw_path.partition("?")[0])
    pairs = tuple(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
    return SignedRequest(request.method, path, request.query, request.headers, pairs, body)


async def _handle_other(request: web.Request) -> web.StreamResponse:
    await _record(request, "other")
    return web.Response(status=404, text="404: Not Found (Qianfan emulator)")


# -- chat pipeline -------------------------------------------------------------------------


@dataclass
class _Call:
    """One chat request in flight."""

    request: web.Request
    state: EmulatorState
    wire: Wire
    record: RecordedRequest
    request_id: str
    answer_id: str
    rate_key: tuple[str, str] = ("", "")
    model: str | None = None  # the canonical model, for ``match=``; None when unknown

    @classmethod
    async def start(cls, request: web.Request, wire: Wire) -> _Call:
        state = request.app[STATE]
        record = await _record(request, wire.name)
        return cls(request, state, wire, record, state.ids.request_id(), state.ids.answer_id())

    @property
    def body(self) -> bytes:
        return self.record.body

    def headers(self, status: RateStatus | None = None) -> dict[str, str]:
        status = status or self.state.limiter.peek(self.rate_key)
        return {"X-Baidu-Request-Id": self.request_id, **self.wire.rate_headers(status)}

    def error(self, error: EmulatedError, status: RateStatus | None = None) -> web.Response:
        http_status, data = self.wire.error(error, self.answer_id)
        return _json_response(http_status, data, self.headers(status))

    def signed(self) -> SignedRequest:
        return _signed_request(self.request, self.body)


async def _handle_v1(request: web.Request) -> web.StreamResponse:
    call = await _Call.start(request, _V1)
    if request.method != "POST":
        return call.error(qianfan_error(336101))
    kind, _, endpoint = request.match_info["tail"].partition("/")
    limits = call.state.models.v1_endpoint(endpoint) if kind == "chat" else None
    if limits is None:
        return call.error(qianfan_error(3))
    try:
        who = authenticate_v1(call.signed(), call.state.tokens, call.state.iam)
    except EmulatedError as error:
        return call.error(error)
    call.rate_key = (who, limits.name)
    call.model = limits.name
    return await _answer(call, lambda: validate_v1(call.body, endpoint, limits))


async def _handle_v2(request: web.Request) -> web.StreamResponse:
    call = await _Call.start(request, _V2)
    if request.method != "POST":
        return call.error(qianfan_error(336101))
    config = call.state.config
    try:
        who = authenticate_v2(
            request.headers, config.api_keys, config.app_ids, call.state.bearer.is_valid
        )
    except EmulatedError as error:
        return call.error(error)
    data = parse_body(call.body)
    model = data.get("model") if isinstance(data, dict) else None
    limits = call.state.models.v2_model(model) if isinstance(model, str) else None
    call.rate_key = (who, limits.name if limits else "")
    call.model = limits.name if limits else None
    return await _answer(call, lambda: validate_v2(call.body, call.state.models.v2_model))


async def _answer(call: _Call, validate: Callable[[], ChatRequest]) -> web.StreamResponse:
    state = call.state
    fault = state.scenario.take(call.record, call.model)
    if isinstance(fault, SlowFault):
        await asyncio.sleep(fault.seconds)
        fault = None
    early = _early_fault_answer(call, fault)
    if early is not None:
        return early
    try:
        checked = validate()
    except EmulatedError as error:
        return call.error(error)
    call.rate_key = (call.rate_key[0], checked.limits.name)
    reply = respond(
        checked,
        fault if isinstance(fault, ReplyFault | ToolCallsFault) else None,
        unsafe_input_words=state.config.unsafe_input_words,
        unsafe_output_words=state.config.unsafe_output_words,
        new_call_id=state.ids.call_id,
    )
    status = state.limiter.admit(call.rate_key, reply.prompt_tokens, reply.total_tokens)
    if status.exceeded:
        return call.error(qianfan_error(336501 if status.exceeded == "rpm" else 336502), status)
    created = int(state.config.clock())
    meta = AnswerMeta(call.answer_id, created, checked.model, checked.include_usage)
    if not checked.stream:
        if isinstance(fault, DisconnectFault):
            return _drop(call.request)
        if isinstance(fault, StreamErrorFault):
            return call.error(qianfan_error(fault.code, fault.message), status)
        return _json_response(200, call.wire.sync_body(reply, meta), call.headers(status))
    events = call.wire.stream_events(reply, meta, state.config.stream_chunk_chars)
    return await _stream(call, events, status, fault)


def _early_fault_answer(call: _Call, fault: Fault | None) -> web.StreamResponse | None:
    """Answers that replace the request's processing altogether."""
    if isinstance(fault, ErrorFault):
        return call.error(qianfan_error(fault.code, fault.message))
    if isinstance(fault, HttpStatusFault):
        headers = call.headers()
        headers["Content-Type"] = _sniff_content_type(fault.body)
        headers.update(fault.headers)
        return web.Response(status=fault.status, body=fault.body, headers=headers)
    if isinstance(fault, DisconnectFault) and fault.after_events is None:
        return _drop(call.request)
    if isinstance(fault, MalformedJsonFault):
        return _malformed(call)
    return None


def _sniff_content_type(body: bytes) -> str:
    start = body.lstrip()[:1]
    if start == b"<":
        return "text/html; charset=utf-8"
    if start in (b"{", b"["):
        return _JSON
    return "text/plain; charset=utf-8"


def _hang_up(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the returned response is never sent)."""
    _hang_up(request)
    return web.Response()


def _malformed(call: _Call) -> web.Response:
    data = parse_body(call.body)
    stream = isinstance(data, dict) and data.get("stream") is True
    broken = f'{{"id":"{call.answer_id}","object":"chat.completion","result":"{REPLY_PREFIX}'
    if not stream:
        return web.Response(
            status=200, body=broken.encode(), content_type=_JSON, headers=call.headers()
        )
    body = b"data: " + broken.encode() + b"\n\n" + call.wire.stream_end()
    return web.Response(
        status=200, body=body, content_type="text/event-stream", headers=call.headers()
    )


async def _stream(
    call: _Call, events: list[bytes], status: RateStatus, fault: Fault | None
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=call.headers(status))
    response.content_type = "text/event-stream"
    response.headers["Cache-Control"] = "no-cache"
    await response.prepare(call.request)
    if isinstance(fault, DisconnectFault | StreamErrorFault):
        events = events[: fault.after_events]
    for event in events:
        await response.write(event)
    if isinstance(fault, DisconnectFault):
        _hang_up(call.request)
        return response
    if isinstance(fault, StreamErrorFault):
        await response.write(
            call.wire.stream_error(qianfan_error(fault.code, fault.message), call.answer_id)
        )
    else:
        end = call.wire.stream_end()
        if end:
            await response.write(end)
    await response.write_eof()
    return response
