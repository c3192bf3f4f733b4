"""Run an aiohttp application in a background thread with its own event loop.

The thread owns the loop for its whole life: :meth:`BackgroundServer.start` blocks
until the socket listens (or re-raises the startup error), :meth:`BackgroundServer.stop`
stops listening, cancels in-flight handlers after a short grace period, closes every
connection, closes the loop and joins the thread, so nothing leaks into the caller's
process.

We listen with :meth:`asyncio.AbstractEventLoop.create_server` rather than
``aiohttp.web.TCPSite`` to control the order of shutdown: a connection accepted just
before the listener closes would otherwise be dropped by asyncio without being closed
(its client would hang), so we stop accepting, let such connections reach aiohttp,
and only then close the listener and let aiohttp close every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from aiohttp import web

__all__ = ["BackgroundServer"]

_SHUTDOWN_GRACE = 0.25  # seconds in-flight handlers get before they are cancelled
_STARTUP_TIMEOUT = 30.0


class BackgroundServer:
    """One listening aiohttp server on a private thread.

    Args:
        make_app: Builds a fresh application for each start.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
    """

    def __init__(self, make_app: Callable[[], web.Application], host: str, port: int) -> None:
        self._make_app = make_app
        self._host = host
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.bound_port: int | None = None

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self.bound_port is not None

    def start(self) -> int:
        """Start listening; returns the bound port.

        Raises:
            RuntimeError: Already running.
            OSError: The socket could not be bound (e.g. port in use).
        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="qianfan-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise RuntimeError("the emulator did not start within 30 s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        if self.bound_port is None:  # pragma: no cover - set before ready when no error
            raise RuntimeError("the emulator started without a port")
        return self.bound_port

    def stop(self) -> None:
        """Stop listening and join the thread (no-op when not running)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result()
        thread.join()
        self._thread = None
        self.bound_port = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._startup())
            except BaseException as error:  # noqa: BLE001 - handed to the starting thread
                self._startup_error = error
                return
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _startup(self) -> None:
        runner = web.AppRunner(
            self._make_app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE,
        )
        await runner.setup()
        self._runner = runner
        if runner.server is None:  # pragma: no cover - set by setup()
            raise RuntimeError("aiohttp runner has no server after setup")
        try:
            self._listener = await asyncio.get_running_loop().create_server(
                runner.server, self._host, self._port
            )
        except BaseException:
            await runner.cleanup()
            self._runner = None
            raise
        self.bound_port = int(self._listener.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is not None:
            # Stop accepting first, and let connections accepted a moment ago reach aiohttp
            # before the listener closes: asyncio drops (and leaks) a connection whose
            # transport is created after its server was closed.
            for sock in self._listener.sockets:
                with contextlib.suppress(NotImplementedError):  # proactor loops
                    loop.remove_reader(sock.fileno())
            for _ in range(3):
                await asyncio.sleep(0)
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()  # graceful: in-flight answers get the grace period
            self._runner = None
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await asyncio.sleep(0)  # run the transports' close callbacks
        loop.stop()
