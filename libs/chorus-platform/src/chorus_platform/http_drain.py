"""Graceful drain of the HTTP services (gateway, cpro-api) on SIGTERM, as
:func:`chorus_platform.grpc_server.serve` does for gRPC.

Kubernetes sends SIGTERM and removes the pod from the Service's endpoints at the same time;
the proxies and the ingress learn of the removal a moment later and meanwhile still send new
requests. So with ``CHORUS_SHUTDOWN_DELAY_SECONDS`` > 0, the first SIGTERM only begins the
drain: :func:`draining` turns true (``/readyz`` answers 503 from then on), the server keeps
accepting and serving for that long, and then uvicorn shuts down as it always does (stops
accepting, waits for the requests in flight up to its graceful timeout). A second signal, or
SIGINT, stops at once. With 0 (the default, and ``make run``), SIGTERM stops at once.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

log = logging.getLogger(__name__)

_draining = False


def draining() -> bool:
    """Whether this process received SIGTERM and is draining (not ready any more)."""
    return _draining


def _begin_drain() -> None:
    global _draining
    _draining = True


async def serve(config: Any, shutdown_delay_seconds: float) -> None:
    """Runs uvicorn with ``config`` (a ``uvicorn.Config``) until SIGTERM/SIGINT, draining
    ``shutdown_delay_seconds`` on SIGTERM first (see the module docstring)."""
    import uvicorn  # the HTTP services' dependency, not every service's

    class DrainingServer(uvicorn.Server):
        _stop_at: float | None = None

        def handle_exit(self, sig: int, frame) -> None:
            if sig == signal.SIGTERM and shutdown_delay_seconds > 0 and self._stop_at is None:
                _begin_drain()
                self._captured_signals.append(sig)  # uvicorn re-raises it once stopped
                self._stop_at = time.monotonic() + shutdown_delay_seconds
                log.info("draining: not ready, serving %g s more", shutdown_delay_seconds)
                return
            _begin_drain()
            super().handle_exit(sig, frame)

        async def on_tick(self, counter: int) -> bool:
            if self._stop_at is not None and time.monotonic() >= self._stop_at:
                self.should_exit = True
            return await super().on_tick(counter)

    await DrainingServer(config).serve()
