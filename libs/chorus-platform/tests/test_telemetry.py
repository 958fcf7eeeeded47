"""Tracing: one trace from a gRPC client through the server, its SQL and its outbox event to
the consumer that handles the event (in a subprocess: the tracer provider is process-wide)."""

import asyncio
import json
import sys
from pathlib import Path

from chorus_platform import telemetry

PROBE = Path(__file__).parent / "probes" / "telemetry_probe.py"


async def run_probe(kafka_broker, make_database, mode: str) -> dict:
    dsn = await make_database(f"telemetry_{mode}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        dsn,
        kafka_broker.bootstrap,
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"OTEL_TRACES_EXPORTER": "none", "PATH": ""},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    return json.loads(stdout.decode().strip().splitlines()[-1])


def assert_one_trace(seen: dict) -> str:
    root = seen["client"]
    assert root != "0" * 32
    assert seen["server"] == root
    assert seen["log_trace_id"] == root  # log lines carry the trace
    assert seen["outbox"].split("-")[1] == root  # the event keeps the writer's traceparent
    assert seen["envelope"] == seen["outbox"]
    assert seen["consumer"] == root
    return root


async def test_one_trace_crosses_grpc_the_outbox_and_the_broker(kafka_broker, make_database):
    seen = await run_probe(kafka_broker, make_database, "recorded")

    root = assert_one_trace(seen)
    kinds = {(name.split(" ")[0], kind) for name, kind, trace_id in seen["spans"]}
    assert ("chorus.identity.events.v1.UserActivated", "CONSUMER") in kinds
    assert any(kind == "SERVER" for _, kind in kinds)
    assert any(kind == "CLIENT" for _, kind in kinds)  # gRPC client and asyncpg spans
    assert {trace_id for *_, trace_id in seen["spans"]} >= {root}


async def test_without_an_exporter_spans_are_not_recorded_but_keep_their_ids(
    kafka_broker, make_database
):
    """No exporter and no OTEL_TRACES_SAMPLER: nothing is recorded (it would cost CPU for
    spans nobody reads), yet the ids still go through logs, gRPC and the outbox."""
    seen = await run_probe(kafka_broker, make_database, "default")

    assert_one_trace(seen)
    assert seen["spans"] == []
    assert int(seen["outbox"].split("-")[3], 16) & 1 == 0  # traceparent flags: not sampled


def test_without_a_span_there_is_no_traceparent_nor_log_ids():
    assert telemetry.current_traceparent() is None
    assert telemetry.log_ids() == {}
