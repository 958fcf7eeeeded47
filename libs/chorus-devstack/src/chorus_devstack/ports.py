"""TCP port helpers for the local stand-ins.

Contract:

* :func:`free_port` / :func:`free_ports` return ports that were free on 127.0.0.1 at the time of
  the call. Several ports from one :func:`free_ports` call are distinct from each other (the
  sockets are held open together while choosing). Another process may still grab one before
  you bind it; callers bind soon after.
* :func:`port_is_open` says whether something accepts TCP connections on ``host:port`` now.
* :func:`wait_for_port` (async) polls until the port accepts connections or raises
  :class:`TimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

LOCALHOST = "127.0.0.1"


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """Return ``count`` distinct TCP ports that are currently free on ``host``."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port(host: str = LOCALHOST) -> int:
    """Return one TCP port that is currently free on ``host``."""
    return free_ports(1, host)[0]


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if a TCP connection to ``host:port`` succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port_sync(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts connections; raise :class:`TimeoutError` otherwise."""
    deadline = time.monotonic() + timeout
    while not port_is_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing accepts connections on {host}:{port} after {timeout}s")
        time.sleep(0.02)


async def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait (without blocking the loop) until ``host:port`` accepts connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing accepts connections on {host}:{port} after {timeout}s"
                ) from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
