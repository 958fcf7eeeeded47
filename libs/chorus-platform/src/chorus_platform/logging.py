"""Structured JSON logging on stdout, one object per line.

Secrets never reach the logs: records are written only from explicit fields, and keys that
look like secrets are masked whatever their origin.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from chorus_platform import telemetry

_SECRET_MARKERS = ("password", "token", "secret", "answer", "authorization", "totp")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _mask(key: str, value: object) -> object:
    return "***" if any(m in key.lower() for m in _SECRET_MARKERS) else value


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON with ``ts``, ``level``, ``service``, ``logger``, ``msg``, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            **telemetry.log_ids(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _mask(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Routes every logger to stdout as JSON lines; quietens chatty libraries."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "asyncio"):
        logging.getLogger(noisy).setLevel("WARNING")
