"""cpro-api settings: the shared ``CHORUS_*`` variables plus its HTTP side and its limits."""

from __future__ import annotations

from chorus_platform.settings import ChorusSettings
from pydantic import Field


class CproApiSettings(ChorusSettings):
    """Settings of the Chorus Pro-compatible API (no database of its own)."""

    service_name: str = "cpro-api"
    http_host: str = Field("127.0.0.1", description="HTTP listen address; containers set 0.0.0.0.")
    http_port: int = Field(
        8090,
        description="HTTP listen port (the gateway's is 8080; each HTTP process reads its own).",
    )
    health_timeout_seconds: float = Field(
        1.0, description="Deadline of each downstream health check behind /readyz."
    )
    cpro_rate_limit_burst: int = Field(
        200,
        ge=1,
        description="Requests one API application (the sub of its bearer token) may make at "
        "once to /cpro/** before 429, per replica.",
    )
    cpro_rate_limit_per_minute: float = Field(
        1200.0,
        gt=0,
        description="Refill rate of each API application's bucket, requests per minute.",
    )
    cpro_account_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=60,
        description="How long an authenticated cpro-account header is reused without asking "
        "identity again (60 s at most; 0 asks every time).",
    )
