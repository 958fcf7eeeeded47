"""Local stand-ins for the Chorus runtime, without Docker.

* :class:`PostgresServer` — a PostgreSQL cluster from the system binaries (persistent or
  throwaway).
* :class:`KafkaBroker` — the tansu Kafka-protocol broker, in memory, behind a
  :class:`TcpForwarder` that opens its port once the declared topics exist.
* :class:`MailCatcher` — SMTP sink with a Mailpit-shaped JSON API.
* :class:`Stack` — infrastructure + migrations + services + readiness (``make run`` and the
  end-to-end tests), in :mod:`chorus_devstack.supervisor` over :mod:`~chorus_devstack.services`
  (what runs), :mod:`~chorus_devstack.infrastructure`, :mod:`~chorus_devstack.children`,
  :mod:`~chorus_devstack.console` and :mod:`~chorus_devstack.readiness`; CLI in
  :mod:`chorus_devstack.__main__`.
* pytest fixtures in :mod:`chorus_devstack.pytest_plugin` (auto-loaded).

Names are imported lazily so that importing one submodule (the pytest plugin does, in every
test session) does not load aiohttp, aiosmtpd and gRPC.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BrokerError": "chorus_devstack.broker",
    "KafkaBroker": "chorus_devstack.broker",
    "TcpForwarder": "chorus_devstack.forwarder",
    "CapturedMessage": "chorus_devstack.mailcatcher",
    "MailCatcher": "chorus_devstack.mailcatcher",
    "free_port": "chorus_devstack.ports",
    "free_ports": "chorus_devstack.ports",
    "PostgresError": "chorus_devstack.postgres",
    "PostgresServer": "chorus_devstack.postgres",
    "SERVICES": "chorus_devstack.services",
    "SETUP_STEPS": "chorus_devstack.services",
    "Service": "chorus_devstack.services",
    "Stack": "chorus_devstack.supervisor",
    "StackError": "chorus_devstack.supervisor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chorus_devstack' has no attribute {name!r}")
