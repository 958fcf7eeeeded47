"""Fuzzing the REST API with schemathesis against the real stack: no input gives a 500.

``schemathesis run`` (pinned in uv.lock) reads ``/api/v1/openapi.json`` and sends every
operation its explicit examples, its coverage cases (boundary and schema-violating values of
each parameter and body field, missing ones, unexpected methods) and :data:`MAX_EXAMPLES`
generated cases with valid and invalid data — about half of them with one string made hostile
(NUL, control characters, 50,000 characters: ``edge_fuzz_hooks``) — signed in as a fresh user,
each request from a client address of its own. Each answer must be no server error — a 503
only with ``Retry-After``, a service saying it is temporarily unavailable — and conform to
the document: a declared status code, its content type, its headers, its schema. Generation
is deterministic (the same cases every run) and keeps nothing on disk; the figures are
printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest_asyncio
from e2e_support import Mailbox, activated_user, client_ip

MAX_EXAMPLES = 5
"""Generated cases per operation (on top of the examples and coverage cases)."""
WORKERS = 2
RUN_TIMEOUT_SECONDS = 600

CHECKS = (
    "not_a_server_error",
    "unavailable_says_when_to_retry",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)

CONFIG = f"""\
hooks = "edge_fuzz_hooks"
request-timeout = 30

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
no-shrink = true
database = "none"

# Values read from answers are not reused across operations: the run must not act on what
# other tests share (e.g. claim the seeded directory's unmanaged structures).
[phases.examples.extra-data-sources]
responses = false

[phases.coverage.extra-data-sources]
responses = false

[phases.fuzzing.extra-data-sources]
responses = false

[phases.stateful]
enabled = false

[checks.not_a_server_error]
# 503 is judged by unavailable_says_when_to_retry: only with Retry-After.
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "503"]
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_auth(gateway_url, mail_api_url) -> dict[str, str]:
    """A signed-in user's headers (each request then gets a client address of its own:
    edge_fuzz_hooks.before_call)."""
    headers = {"X-Forwarded-For": client_ip()}
    async with (
        httpx.AsyncClient(base_url=f"{gateway_url}/api/v1", timeout=30, headers=headers) as api,
        httpx.AsyncClient(base_url=mail_api_url, timeout=10) as mail,
    ):
        _, _, auth = await activated_user(api, Mailbox(mail), "Fuzz")
    return auth


async def test_schemathesis_finds_no_server_error_and_answers_conform(
    gateway_url, fuzz_auth, tmp_path
):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    headers = [arg for name, value in fuzz_auth.items() for arg in ("-H", f"{name}: {value}")]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{gateway_url}/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--workers",
        str(WORKERS),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        *headers,
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env=env,
    )
    output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    text = output.decode(errors="replace")

    assert process.returncode == 0, text[-20000:]
    run = json.loads(report.read_text())
    cases, operations = run["test_cases"], run["operations"]
    print(
        f"\nschemathesis: {operations['tested']}/{operations['total']} operations, "
        f"{cases['generated']} cases, {cases['with_failures']} with failures, "
        f"{cases['errored']} errored, {run['running_time']:.0f} s"
    )
    assert run["complete"] and run["stop_reason"] == "completed"
    assert operations["tested"] == operations["total"] > 0
    assert (cases["with_failures"], cases["errored"], run["failures"]) == (0, 0, [])
