"""A TCP forwarder in its own thread: how the broker's public port opens only when it is ready.

Contract:

* ``TcpForwarder(host, port)``; :meth:`TcpForwarder.open` ``(target_port)`` starts accepting
  connections on ``host:port`` and relays each one, both ways, to ``host:target_port``; it
  returns once the port accepts connections (raises ``OSError`` if it cannot listen).
* A relayed connection ends on both sides when either side closes it: when the target dies,
  its clients see their connection break, as if they had been connected to it directly.
* :meth:`TcpForwarder.close` stops accepting and cuts every relayed connection; ``open`` may
  be called again afterwards (with another target). Both are idempotent and thread-safe.
* The relaying runs on an asyncio loop in a daemon thread, so synchronous callers (pytest
  fixtures, the devstack) can use it, and it ends with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading

_CHUNK = 65536


class TcpForwarder:
    """Relays ``host:port`` to ``host:<target>`` while open (see the module docstring)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    def open(self, target_port: int, timeout: float = 10.0) -> None:
        """Start relaying to ``host:target_port``; returns once the port is listening."""
        with self._lock:
            if self._thread is not None:
                return
            listening = threading.Event()
            failure: list[BaseException] = []
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._serve,
                args=(target_port, listening, failure),
                name=f"broker-forwarder-{self.port}",
                daemon=True,
            )
            self._thread.start()
            if not listening.wait(timeout):
                failure.append(TimeoutError(f"forwarder on port {self.port} did not start"))
            if failure:
                self._shutdown()
                raise failure[0]

    def close(self) -> None:
        """Stop accepting and cut every relayed connection."""
        with self._lock:
            self._shutdown()

    def _shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    def _serve(
        self, target_port: int, listening: threading.Event, failure: list[BaseException]
    ) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        relay = functools.partial(self._relay, target_port)
        try:
            server = loop.run_until_complete(
                asyncio.start_server(relay, self.host, self.port, reuse_address=True)
            )
        except BaseException as exc:  # handed to the opening thread
            failure.append(exc)
            listening.set()
            loop.close()
            return
        listening.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.close()

    async def _relay(
        self, target_port: int, client: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream, upstream_writer = await asyncio.open_connection(self.host, target_port)
        except OSError:
            client_writer.transport.abort()
            return
        writers = {client_writer, upstream_writer}
        self._writers |= writers
        try:
            await asyncio.gather(
                _pipe(client, upstream_writer, client_writer),
                _pipe(upstream, client_writer, upstream_writer),
            )
        except asyncio.CancelledError:
            pass  # closing: the connections are cut already
        finally:
            self._writers -= writers


async def _pipe(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, source_writer: asyncio.StreamWriter
) -> None:
    """Copies ``source`` to ``sink`` until either ends, then closes both directions."""
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.close()
        source_writer.close()
