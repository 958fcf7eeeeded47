"""Tracing bootstrap (OpenTelemetry), configured by the standard ``OTEL_*`` variables.

One trace follows a request through the system: the gateway's HTTP span, the gRPC client and
server spans of every service it calls (W3C ``traceparent`` in the metadata), their SQL
statements, and, across Kafka, the consumers' handling of the events the request caused —
the outbox row keeps the ``traceparent`` of the transaction that wrote it, the relay sends it
as a record header (CloudEvents binding), and :func:`consumer_span` continues the trace.
Log lines written inside a span carry its ``trace_id`` and ``span_id``.

- ``OTEL_SDK_DISABLED=true``: nothing is set up (no spans, no ids in logs).
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``): spans are
  exported over OTLP/HTTP in batches, to a collector, Jaeger or Tempo. Without it spans are
  not recorded (``ALWAYS_OFF``, unless ``OTEL_TRACES_SAMPLER`` says otherwise) but keep their
  ids, so logs and events still carry trace ids. ``OTEL_TRACES_EXPORTER=console`` prints
  them instead, for debugging.
- ``OTEL_SERVICE_NAME`` overrides the service name (default ``chorus-<service>``); the other
  standard variables (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``…) apply as the
  SDK defines them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import SpanKind

_TRACER_NAME = "chorus_platform"
_configured = False


def _enabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def setup_telemetry(service: str) -> bool:
    """Installs the tracer provider and the gRPC and asyncpg instrumentations, once per
    process (before any gRPC server or channel is made). False when disabled."""
    global _configured
    if _configured or not _enabled():
        return _configured
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    otlp = exporter != "none" and bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"chorus-{service}"}
        ),
        sampler=None if exporter == "console" or otlp else _unexported_sampler(),
    )
    if exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif otlp:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrument_libraries()
    _configured = True
    return True


def _unexported_sampler() -> Sampler | None:
    """The sampler when spans go nowhere: ``OTEL_TRACES_SAMPLER`` if set (the SDK reads it),
    else none recorded. Unrecorded spans still have their ids — log lines, the outbox's
    ``traceparent`` and the gRPC metadata carry them — but no attributes, events or
    processing. Measured at 80 portal deposits/s on the 2-core bench machine (issue #16), in %
    of a core: recorded, invoices 57 / gateway 24 / notifications 33; not recorded, 52 / 17 /
    32; with ``OTEL_SDK_DISABLED=true`` (no instrumentation at all), 43 / 16 / 27."""
    if os.environ.get("OTEL_TRACES_SAMPLER", "").strip():
        return None
    return ALWAYS_OFF


def configured() -> bool:
    """Whether :func:`setup_telemetry` installed tracing in this process."""
    return _configured


def instrument_libraries() -> None:
    """gRPC (aio servers and channels) and asyncpg spans, with context propagation."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )

    for instrumentor in (
        GrpcAioInstrumentorServer(),
        GrpcAioInstrumentorClient(),
        AsyncPGInstrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any (valid) span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def consumer_span(name: str, traceparent: str | None, attributes: Mapping[str, str]) -> Iterator:
    """A CONSUMER span continuing the trace of ``traceparent`` (a new trace without one)."""
    context = propagate.extract({"traceparent": traceparent} if traceparent else {})
    tracer = trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=context, kind=SpanKind.CONSUMER, attributes=dict(attributes)
    ) as span:
        yield span


def log_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` (hex) of the current span, for log lines; {} outside."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
