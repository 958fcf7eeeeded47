"""Settings base shared by every service: one registry of ``CHORUS_*`` variables.

Each service subclasses :class:`ChorusSettings`, sets its own ``service_name`` default and
``grpc_port`` default, and adds its own fields. Nothing else in the code reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Admin (metrics) port of each service when CHORUS_METRICS_PORT is not set.
DEFAULT_METRICS_PORTS = {
    "identity": 9461,
    "structures": 9462,
    "invoices": 9463,
    "notifications": 9464,
    "gateway": 9465,
    "cpro-api": 9466,
    "portal": 9467,
}


class ChorusSettings(BaseSettings):
    """Variables common to every Chorus process (see docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="CHORUS_", extra="ignore")

    #: The service's migrations in the source tree; a service with a database sets it.
    source_migrations: ClassVar[Path | None] = None

    service_name: str = Field("chorus", description="Name used in logs, events and database.")
    env: Literal["dev", "prod"] = Field("dev", description="prod turns gRPC reflection off.")
    log_level: str = Field("INFO", description="Python log level.")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="Event loop of the process (uvloop; asyncio is the standard library's, and"
        " for the HTTP services the pure-Python h11 parser instead of httptools).",
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:55432/postgres",
        description="PostgreSQL server URL; its database part is replaced by database_name.",
    )
    database_name: str = Field("", description="The service's own database (chorus_<svc>).")
    database_pool_max: int = Field(10, description="Maximum connections in the asyncpg pool.")
    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers.")
    kafka_idempotence: bool = Field(
        False, description="Idempotent producer; real Kafka supports it, the embedded broker not."
    )
    kafka_partitions: int = Field(
        3,
        ge=1,
        description="Partitions of every declared topic (a topic found with another count is"
        " left as it is and reported).",
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replication factor of the topics Chorus creates (3 on a cluster)."
    )
    kafka_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of the topics Chorus creates (2 on a cluster): with"
        " acks=all, a write needs that many replicas.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How Kafka clients connect: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (SASL_* protocols)."
    )
    kafka_sasl_username: str = Field("", description="SASL user name (SASL_* protocols).")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password (SASL_* protocols); never logged."
    )
    kafka_ssl_cafile: str = Field(
        "",
        description="PEM file of the CAs trusted for the brokers' certificates (SSL, SASL_SSL);"
        " empty trusts the system's CAs.",
    )
    kafka_ssl_certfile: str = Field(
        "", description="PEM client certificate for mutual TLS (with kafka_ssl_keyfile)."
    )
    kafka_ssl_keyfile: str = Field(
        "", description="PEM private key (unencrypted) of kafka_ssl_certfile."
    )
    grpc_port: int = Field(50050, description="gRPC listen port.")
    grpc_deadline_seconds: float = Field(5.0, description="Default deadline of outgoing calls.")
    grpc_load_balancing: Literal["round_robin", "pick_first"] = Field(
        "round_robin",
        description="gRPC client load-balancing policy: round_robin spreads calls over every"
        " address a target resolves to (a dns:/// name of a headless Service: every pod).",
    )
    grpc_max_connection_age_seconds: float = Field(
        300.0,
        ge=0,
        description="A gRPC server closes connections this old (after a grace period), so"
        " clients resolve again and spread onto new replicas; 0 keeps them forever.",
    )
    shutdown_delay_seconds: float = Field(
        0.0,
        ge=0,
        description="On SIGTERM: report not ready at once, keep serving this long (while the"
        " endpoints are removed), then drain.",
    )
    access_token_ttl_seconds: int = Field(
        900,
        gt=0,
        description="Lifetime of an access token (JWT): identity signs them for that long, and "
        "every service keeps a revoked session on its deny-list that long. Same value for all.",
    )
    identity_addr: str = Field("127.0.0.1:50051", description="identity gRPC address.")
    structures_addr: str = Field("127.0.0.1:50052", description="structures gRPC address.")
    invoices_addr: str = Field("127.0.0.1:50053", description="invoices gRPC address.")
    notifications_addr: str = Field("127.0.0.1:50054", description="notifications gRPC address.")
    outbox_poll_seconds: float = Field(
        1.0, description="Outbox relay polling fallback when no NOTIFY arrives."
    )
    outbox_replay_seconds: float = Field(
        86400.0,
        description="When the broker lost events it had acknowledged, the relay publishes again"
        " every row published within this many seconds.",
    )
    consumer_max_attempts: int = Field(
        6,
        description="Attempts at handling one event before it is parked (dead_letters table"
        " and <topic>.dlq).",
    )
    consumer_fetch_max_wait_ms: int = Field(
        100,
        description="Longest a fetch waits for records; the embedded broker always waits it out.",
    )
    consumer_batch_size: int = Field(
        50,
        ge=1,
        le=1000,
        description="Records of one partition a consumer handles in one transaction (one inbox"
        " INSERT, one commit); 1 handles each alone. A consumer may set its own. A failing"
        " record makes its batch fall back to one at a time.",
    )
    consumer_backoff_seconds: float = Field(
        0.5, description="First retry delay, doubled each try (6 attempts span about 15 s)."
    )
    consumer_session_timeout_ms: int = Field(
        2000,
        description="Consumer group session: a member silent this long is replaced. The"
        " embedded broker makes a join last half of it (1 s at least); Kafka refuses less than"
        " its group.min.session.timeout.ms (6000 by default).",
    )
    consumer_commit_timeout_seconds: float = Field(
        5.0,
        description="Longest an offset commit may take before the consumer is torn down and"
        " restarted.",
    )

    retention_outbox_days: int = Field(
        7,
        ge=1,
        description="Published outbox rows are kept this many days (never less than the replay"
        " window, CHORUS_OUTBOX_REPLAY_SECONDS), then purge-records deletes them.",
    )
    retention_inbox_days: int = Field(
        14,
        ge=1,
        description="Inbox (dedupe) rows are kept this many days; must exceed the outbox replay"
        " window, or purge-records refuses to run.",
    )
    retention_dead_letters_days: int = Field(
        90,
        ge=1,
        description="Dead letters already replayed are kept this many days after their replay"
        " (pending ones are never purged).",
    )
    retention_batch_size: int = Field(
        1000,
        ge=1,
        le=100000,
        description="Rows purge-records deletes per transaction (each batch is a short"
        " transaction of its own).",
    )

    migrations_dir: str = Field(
        "",
        description="Directory of the service's SQL migrations; empty means services/<svc>/"
        "migrations in the source tree (container images set it).",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="Listen address of the admin endpoint (GET /metrics, GET /healthz); the"
        " container images set 0.0.0.0.",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Admin port serving GET /metrics (Prometheus text) and GET /healthz; 0 turns"
        " it off. Default per service: identity 9461, structures 9462, invoices 9463,"
        " notifications 9464, gateway 9465, cpro-api 9466, portal 9467.",
    )

    @model_validator(mode="after")
    def _default_metrics_port(self) -> ChorusSettings:
        if self.metrics_port is None:
            self.metrics_port = DEFAULT_METRICS_PORTS.get(self.service_name, 0)
        return self

    @model_validator(mode="after")
    def _check_kafka_security(self) -> ChorusSettings:
        """Refuses Kafka settings that cannot work together, naming the variables."""
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL_")
        tls = protocol.endswith("SSL")
        errors = []
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            errors.append(
                f"CHORUS_KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) exceeds"
                f" CHORUS_KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): no write"
                " with acks=all could ever succeed"
            )
        has_password = bool(self.kafka_sasl_password.get_secret_value())
        if sasl and not (self.kafka_sasl_username and has_password):
            errors.append(
                f"CHORUS_KAFKA_SECURITY_PROTOCOL={protocol} needs CHORUS_KAFKA_SASL_USERNAME and"
                " CHORUS_KAFKA_SASL_PASSWORD"
            )
        if not sasl and (self.kafka_sasl_username or has_password):
            errors.append(
                "CHORUS_KAFKA_SASL_USERNAME/_PASSWORD are set but"
                f" CHORUS_KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL"
                " (SASL_PLAINTEXT or SASL_SSL)"
            )
        files = {
            "CHORUS_KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "CHORUS_KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "CHORUS_KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        given = [name for name, value in files.items() if value]
        if given and not tls:
            errors.append(
                f"{', '.join(given)} set but CHORUS_KAFKA_SECURITY_PROTOCOL={protocol} does not"
                " use TLS (SSL or SASL_SSL)"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            errors.append(
                "CHORUS_KAFKA_SSL_CERTFILE and CHORUS_KAFKA_SSL_KEYFILE go together (mutual TLS)"
            )
        if (
            protocol == "SASL_PLAINTEXT"
            and self.kafka_sasl_mechanism == "PLAIN"
            and (self.env == "prod")
        ):
            errors.append(
                "CHORUS_KAFKA_SASL_MECHANISM=PLAIN over SASL_PLAINTEXT sends the password in"
                " clear: use SASL_SSL or a SCRAM mechanism"
            )
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @property
    def migrations_path(self) -> Path | None:
        """Where ``chorus-<svc> migrate`` reads the SQL files from."""
        return Path(self.migrations_dir) if self.migrations_dir else self.source_migrations

    @property
    def database_dsn(self) -> str:
        """The service's own database: ``database_url`` with its path set to the database name."""
        return with_database(self.database_url, self.database_name or f"chorus_{self.service_name}")


def with_database(url: str, name: str) -> str:
    """Returns ``url`` pointing at database ``name`` (query string kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
