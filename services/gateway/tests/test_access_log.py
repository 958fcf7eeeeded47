"""The gateway's access log: paths and statuses, never query strings or credentials (the
portal's side is services/portal/tests/test_portal.py)."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.logging import JsonFormatter


async def test_access_log_never_contains_query_strings(api, services, access_log):
    services.structures.answer("SearchStructures", pb.SearchStructuresResponse())

    await api.get(
        "/api/v1/structures",
        params={"page_token": "page-secret"},
        headers={"Authorization": "Bearer bearer-secret"},
    )

    formatter = JsonFormatter("gateway")
    lines = [formatter.format(r) for r in access_log.records if r.name == "chorus_gateway.access"]
    assert any('"path": "/api/v1/structures"' in line and '"status": 200' in line for line in lines)
    for secret in ("page-secret", "bearer-secret"):
        assert not any(secret in line for line in lines)
