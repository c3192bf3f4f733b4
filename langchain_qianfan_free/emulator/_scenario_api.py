"""The scenario half of :class:`~langchain_qianfan_free.emulator.QianfanEmulator`.

The ``queue_*`` methods, the token controls and the consumption check, mixed into the
emulator class (kept apart so that ``server.py`` stays about lifecycle and routes).
Every ``queue_*`` method takes ``match=``: only chat requests it accepts get the
behaviour (:class:`~langchain_qianfan_free.emulator.Match`, its string shorthand or a
callable taking the :class:`~langchain_qianfan_free.emulator.RecordedRequest`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_qianfan_free.emulator._handlers import EmulatorState
from langchain_qianfan_free.emulator.config import EmulatorConfig
from langchain_qianfan_free.emulator.scenario import (
    DisconnectFault,
    ErrorFault,
    Fault,
    HttpStatusFault,
    MalformedJsonFault,
    MatchSpec,
    ReplyFault,
    SlowFault,
    StreamErrorFault,
    ToolCallsFault,
    make_headers,
)

__all__ = ["ScenarioAPI"]


class ScenarioAPI:
    """Queue faults and replies, control tokens, check that everything queued was used.

    Attributes:
        config: The emulator's settings (set by the emulator).
    """

    config: EmulatorConfig
    _state: EmulatorState

    # -- observation ----------------------------------------------------------------------

    @property
    def pending_faults(self) -> list[Fault]:
        """Queued behaviour not used yet, one item per remaining use."""
        return self._state.scenario.pending()

    def assert_all_consumed(self) -> None:
        """Fail if a queued fault or reply was never used (pytest-httpserver's check).

        Call it at the end of a test, or mark the test
        ``@pytest.mark.qianfan_emulator_all_consumed`` to have the fixture call it.
        The message names each unused item (kind, key fields, remaining uses and its
        ``match=``); bodies and header values are left out and the emulator's keys and
        secrets are masked.

        Raises:
            AssertionError: Something queued is still pending.
        """
        config = self.config
        secrets = (
            *config.api_keys,
            *config.credentials.keys(),
            *config.credentials.values(),
            *config.iam_credentials.keys(),
            *config.iam_credentials.values(),
            *self._state.tokens.issued(),
            *self._state.bearer.minted(),
        )
        self._state.scenario.assert_all_consumed(hide=secrets)

    # -- scenario -------------------------------------------------------------------------

    def queue_error(
        self, code: int, message: str | None = None, *, times: int = 1, match: MatchSpec = None
    ) -> None:
        """Answer the next chat request(s) with a Qianfan error given by its v1 code.

        v1 routes get HTTP 200 ``{"error_code", "error_msg", "id"}``; v2 gets the
        documented equivalent (e.g. 336501 → 429 ``rpm_rate_limit_exceeded``; the
        table is in docs/emulator.md).

        Args:
            code: v1 error code, e.g. 336501, 18, 2, 336100, 110, 336003.
            message: Error text; default the documented text for ``code``.
            times: How many requests get it.
            match: Which requests may take it (``"v1"``/``"v2"``, a model, a path,
                a :class:`~langchain_qianfan_free.emulator.Match` or a callable);
                default any chat request.

        Raises:
            ValueError: ``times`` is below 1 or ``match`` names a model not served.
        """
        self._state.scenario.push(ErrorFault(code, message), times, match=match)

    def queue_http_status(
        self,
        status: int,
        body: str | bytes = b"",
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        match: MatchSpec = None,
    ) -> None:
        """Answer the next chat request(s) with a raw HTTP status (e.g. a 502 HTML page).

        Args:
            status: HTTP status, 200-599.
            body: Response body (``str`` is sent as UTF-8); its Content-Type is guessed
                (HTML, JSON or text) unless ``headers`` sets one.
            headers: Extra response headers.
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        fault = HttpStatusFault(status, raw, make_headers(headers))
        self._state.scenario.push(fault, times, match=match)

    def queue_slow(self, seconds: float, *, times: int = 1, match: MatchSpec = None) -> None:
        """Delay the first byte of the next answer(s) by ``seconds``, then answer normally.

        Args:
            seconds: The delay.
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        self._state.scenario.push(SlowFault(seconds), times, match=match)

    def queue_disconnect(
        self, *, after_events: int | None = None, times: int = 1, match: MatchSpec = None
    ) -> None:
        """Drop the connection of the next chat request(s).

        Args:
            after_events: ``None``: close without any answer. ``N``: for a stream, send
                ``N`` events then drop the connection with no terminator (a non-stream
                request is dropped without answer).
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        self._state.scenario.push(DisconnectFault(after_events), times, match=match)

    def queue_malformed_json(self, *, times: int = 1, match: MatchSpec = None) -> None:
        """Answer HTTP 200 with a body that is not JSON (a stream: one event that is not JSON).

        Args:
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        self._state.scenario.push(MalformedJsonFault(), times, match=match)

    def queue_stream_error(
        self,
        code: int,
        *,
        after_events: int = 1,
        message: str | None = None,
        times: int = 1,
        match: MatchSpec = None,
    ) -> None:
        """Fail a stream after ``after_events`` events.

        v1 sends a bare JSON line ``{"error_code", "error_msg", "id"}`` (no ``data:``);
        v2 a ``data: {"error": {...}}`` event; then the answer ends. A non-stream
        request gets the error as a normal error answer.

        Args:
            code: v1 error code (translated for v2).
            after_events: Normal events sent before the error.
            message: Error text; default the documented text for ``code``.
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        fault = StreamErrorFault(code, after_events, message)
        self._state.scenario.push(fault, times, match=match)

    def queue_reply(
        self,
        text: str,
        *,
        finish_reason: str | None = None,
        times: int = 1,
        match: MatchSpec = None,
    ) -> None:
        """Reply ``text`` to the next chat request(s); ``stop`` and token limits still apply.

        Args:
            text: Reply text.
            finish_reason: Reported when the text is not cut; default the protocol's
                natural value (v1 ``normal``, v2 ``stop``).
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.
        """
        self._state.scenario.push(ReplyFault(text, finish_reason), times, match=match)

    def queue_tool_calls(
        self,
        calls: Iterable[Mapping[str, Any]],
        *,
        thoughts: str | None = None,
        times: int = 1,
        match: MatchSpec = None,
    ) -> None:
        """Answer the next chat request(s) with these native tool calls.

        Whatever the model (FC-capable or not) and whatever tools the request sends:
        v2 answers ``tool_calls`` with ``finish_reason: "tool_calls"``; v1 answers the
        first call as ``function_call`` with ``finish_reason: "function_call"``. Ids
        (``call_…``) come from the seeded id source. Input moderation still applies.

        Example:
            .. code-block:: python

                emu.queue_tool_calls([{"name": "get_weather", "arguments": {"city": "北京"}}])
                emu.queue_tool_calls([{"name": "f", "arguments": "{not json"}])  # sent as is

        Args:
            calls: ``[{"name": str, "arguments": dict | str}, ...]``; a ``dict`` is sent
                as JSON, a ``str`` as is (to script malformed arguments).
            thoughts: v1 ``function_call.thoughts``; default a short Chinese sentence.
            times: How many requests get it.
            match: Which requests may take it, as for :meth:`queue_error`.

        Raises:
            ValueError: ``calls`` is empty or a call has no name.
            TypeError: A call's arguments are neither a dict nor a str.
        """
        self._state.scenario.push(ToolCallsFault.build(calls, thoughts), times, match=match)

    # -- tokens ---------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far now answers 111 ``Access token expired``."""
        self._state.tokens.expire_all()

    def revoke_tokens(self) -> None:
        """Every access token issued so far now answers 110 (invalid)."""
        self._state.tokens.revoke_all()

    def expire_bearer_tokens(self) -> None:
        """Every bearer token minted so far is now past its ``expireTime``.

        v2 requests carrying one answer 401 ``invalid_iam_token``, as an unknown key
        does; a client mints a new token and retries. API keys are not affected.
        """
        self._state.bearer.expire_all()
