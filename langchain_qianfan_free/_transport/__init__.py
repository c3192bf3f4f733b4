"""HTTP I/O: the only package (with the emulator) that imports ``requests`` or ``aiohttp``.

A :class:`~._transport.call.Call` says what to send (a protocol, a request, an auth, a
timeout, ``max_retries`` and ``max_connections``);
:class:`~._transport.sync.SyncTransport` and :class:`~._transport.aio.AsyncTransport`
send it over pooled connections, run the retry loop (policy in :mod:`~._transport.retry`),
get tokens through the token cache (:mod:`~langchain_qianfan_free._auth.token_cache`),
and hand back parsed :class:`~langchain_qianfan_free._protocols.common.Reply` objects.
The two classes differ only in ``await``, ``async for`` and the sleep function.

* **Connections are bounded.** A model sends at most ``max_connections`` requests at
  once (per process on the sync path, per event loop on the async path); a call that
  finds no free connection within ``timeout`` raises ``QianfanTimeoutError`` saying
  the pool is full, on both paths alike.
* **Forks start clean** (:mod:`~._transport.forks`). After ``os.fork()`` the child
  drops every inherited pooled connection and aiohttp session (they are the parent's
  sockets too) and opens its own.
* **A stream ends at its final event.** What follows it is read only while it
  arrives at once (a few milliseconds and bytes at most), so the connection is reused
  when the body ends there and closed otherwise.
* **Both paths trust the same CAs** (:func:`~._transport.netenv.env_ca_bundle`).
* The per-event-loop aiohttp sessions live in :mod:`~._transport.sessions`, the only
  module that touches aiohttp's private attributes.

Every error raised here passes URLs and exception texts through
:func:`~langchain_qianfan_free.errors.redact`, and is raised ``from None``: the
underlying library exceptions quote the URL, which holds the v1 access token.

This ``__init__`` imports nothing, so the pure policy (:mod:`~._transport.retry`) can
be imported without ``requests``.
"""
