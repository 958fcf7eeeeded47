"""Fuzzing the Chorus Pro-compatible API with schemathesis against the official Swagger files
(the unchanged copies in ``services/cpro-api/spec/``) and the real stack, through the gateway's
address as an ERP reaches it: no server error, every answer conforms to the operation's
response schema.

Both credentials of a fresh supplier's API application and technical account are sent with
every request (``-H`` wins over the ``cpro-account`` header the Swagger declares), so each
operation answers what it makes of the generated body, not a 401. Every operation of both
files is run, the validator circuit's too (``rechercher/valideur``…, which Chorus does not
have: 404 in the envelope). The checks:

- ``not_a_server_error``, with the one exception ``unavailable_says_when_to_retry`` allows
  (a 503 with ``Retry-After``: ``edge_fuzz_hooks``, which also makes about half the generated
  bodies carry a hostile string — NUL, control characters, 50,000 characters);
- ``response_schema_conformance``: every answer valid against the operation's schema (the
  six day fields of :data:`DAY_FIELDS` read as ``format: date``, as the clients parse them),
  or, for the codes the Swagger lists without a schema (400, 401, 403, 404, 415, 500),
  anything.

Not checked, on purpose: ``status_code_conformance`` (the API also answers 409, 413, 429 and
503, which the files do not list) and ``negative_data_rejection`` (the API is lenient where the
clients are: unknown keys ignored, ``null`` read as absent, enums without regard to case).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cpro_e2e_support import cpro_party, ubl_invoice
from e2e_support import Mailbox, client_ip

pytestmark = pytest.mark.asyncio(loop_scope="session")

SPEC = Path(__file__).resolve().parents[2] / "services/cpro-api/spec"
MAX_EXAMPLES = 5
RUN_TIMEOUT_SECONDS = 600
CHECKS = ("not_a_server_error", "unavailable_says_when_to_retry", "response_schema_conformance")

CONFIG = f"""\
hooks = "edge_fuzz_hooks"
request-timeout = 60

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
no-shrink = true
database = "none"

[phases.examples.extra-data-sources]
responses = false

[phases.coverage.extra-data-sources]
responses = false

[phases.fuzzing.extra-data-sources]
responses = false

[phases.stateful]
enabled = false

[checks.not_a_server_error]
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "503"]
"""


DAY_FIELDS = frozenset(
    {"dateDepot", "dateFacture", "dateEcheancePaiement", "dateTraitement",
     "dateValidation1", "dateValidation2"}
)  # fmt: skip
"""Answer fields the Swagger calls ``date-time`` that the clients parse as a day
(``YYYY-MM-DD``): Tryton ``strptime(dateDepot, '%Y-%m-%d')``, go-choruspro's ``Date`` for
every one of them, the official fixtures (``"dateDepot": "2026-10-08"``). The client wins:
the API answers days there, and the fuzzing checks them against ``format: date``."""


def as_clients_read_it(spec: Path, target: Path) -> Path:
    """The Swagger with :data:`DAY_FIELDS` given ``format: date`` (the only change)."""
    document = json.loads(spec.read_text(encoding="utf-8"))
    for definition in document["definitions"].values():
        for name, prop in definition.get("properties", {}).items():
            if name in DAY_FIELDS and prop.get("format") == "date-time":
                prop["format"] = "date"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def erp_headers(gateway_url, mail_api_url) -> dict[str, str]:
    """A fresh supplier's bearer token and cpro-account header."""
    async with (
        httpx.AsyncClient(
            base_url=f"{gateway_url}/api/v1", timeout=30, headers={"X-Forwarded-For": client_ip()}
        ) as api,
        httpx.AsyncClient(base_url=mail_api_url, timeout=10) as mail,
    ):
        party = await cpro_party(api, Mailbox(mail), public=False, name="Fuzz Fournisseur SARL")
        buyer = await cpro_party(api, Mailbox(mail), public=True, name="Fuzz Commune")
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        token = await client.post(
            "/api/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": party.client_id,
                "client_secret": party.client_secret,
            },
        )
        assert token.status_code == 200, token.text
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "cpro-account": party.account_header,
        }
        # An invoice of its own, so that the searches' answers hold lines to check.
        flow = await client.post(
            "/cpro/factures/v1/deposer/flux",
            headers=headers,
            json={
                "fichierFlux": base64.b64encode(ubl_invoice(party, buyer)).decode(),
                "nomFichier": "facture.xml",
                "syntaxeFlux": "IN_DP_E1_UBL_INVOICE",
            },
        )
        assert flow.json()["etatCourantFlux"] == "IN_INTEGRE", flow.text
    return headers


@pytest.mark.parametrize("spec", ["factures-swagger.json", "structures-swagger.json"])
async def test_schemathesis_finds_no_server_error_and_answers_conform_to_the_swagger(
    gateway_url, erp_headers, tmp_path, spec
):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    headers = [arg for name, value in erp_headers.items() for arg in ("-H", f"{name}: {value}")]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        str(as_clients_read_it(SPEC / spec, tmp_path / spec)),
        "--origin",
        gateway_url,
        "--checks",
        ",".join(CHECKS),
        "--workers",
        "2",
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
        f"\nschemathesis {spec}: {operations['tested']}/{operations['total']} operations, "
        f"{cases['generated']} cases, {cases['with_failures']} with failures, "
        f"{cases['errored']} errored, {run['running_time']:.0f} s"
    )
    assert run["complete"] and run["stop_reason"] == "completed"
    assert operations["tested"] == operations["total"] > 0
    assert (cases["with_failures"], cases["errored"], run["failures"]) == (0, 0, [])
