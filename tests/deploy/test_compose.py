"""docker-compose.yml on paper: the compose schema and scripts/check_compose.py.

Nobody here has a Docker engine, so the compose file is validated, not run: against the compose
specification's schema (check-jsonschema), and by scripts/check_compose.py against the
services' settings (variables, ports), its own parts (volumes, dependencies, images) and the
Prometheus configuration it mounts. Each check passes on the file as written and fails on a
copy broken the way a hand edit would break it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCRIPT = ROOT / "scripts" / "check_compose.py"
PYTHON = sys.executable


def load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_compose", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_compose = load_checker()


def broken_copy(
    tmp_path: Path,
    breakage: Callable[[dict[str, Any]], None],
    prometheus: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """docker-compose.yml changed by ``breakage``, in a copy of the files it mounts; with
    ``prometheus``, the Prometheus configuration changed too."""
    for directory in ("deploy/compose", "deploy/helm/chorus/files", "deploy/docker"):
        shutil.copytree(ROOT / directory, tmp_path / directory)
    compose = yaml.safe_load(COMPOSE.read_text())
    breakage(compose)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose, sort_keys=False))
    if prometheus:
        config_path = tmp_path / "deploy/compose/prometheus/prometheus.yml"
        config = yaml.safe_load(config_path.read_text())
        prometheus(config)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def problems(path: Path, check: str) -> list[str]:
    return check_compose.problems(path, [check])


def env(compose: dict[str, Any], service: str) -> dict[str, Any]:
    environment: dict[str, Any] = compose["services"][service]["environment"]
    return environment


def job(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(j for j in config["scrape_configs"] if j["job_name"] == name)


# --- the file as written ------------------------------------------------------------------


def test_the_compose_file_matches_the_compose_schema() -> None:
    result = subprocess.run(
        [str(Path(PYTHON).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_schema_violation_is_caught(tmp_path: Path) -> None:
    def breakage(compose: dict[str, Any]) -> None:
        compose["services"]["gateway"]["depends_on"]["identity"]["condition"] = "healthy"

    result = subprocess.run(
        [str(Path(PYTHON).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(broken_copy(tmp_path, breakage))],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1


@pytest.mark.parametrize("check", sorted(check_compose.CHECKS))
def test_the_compose_file_passes_each_check(check: str) -> None:
    assert problems(COMPOSE, check) == []


def test_the_stack_has_every_part_the_issue_asks_for() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    images = {name: service.get("image", "") for name, service in services.items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert images["minio"].startswith("minio/minio:RELEASE.")
    assert images["minio-setup"].startswith("minio/mc:RELEASE.")
    assert images["mailpit"].startswith("axllent/mailpit:")
    assert images["otel-collector"].startswith("otel/opentelemetry-collector")
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")
    invoices = env(compose, "invoices")
    assert invoices["CHORUS_DOCUMENT_STORE"] == "s3"
    assert invoices["CHORUS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert invoices["CHORUS_S3_ACCESS_KEY_ID"] == env(compose, "minio-setup")["S3_ACCESS_KEY_ID"]
    assert invoices["CHORUS_S3_BUCKET"] == env(compose, "minio-setup")["S3_BUCKET"]
    assert services["invoices"]["depends_on"]["minio-setup"] == {
        "condition": "service_completed_successfully"
    }
    for name in (
        "identity",
        "structures",
        "invoices",
        "notifications",
        "gateway",
        "portal",
        "cpro-api",
    ):
        assert env(compose, name)["CHORUS_KAFKA_IDEMPOTENCE"] == "true"
        assert env(compose, name)["CHORUS_METRICS_HOST"] == "0.0.0.0"
    # One database role per service, the one its init script creates.
    databases = env(compose, "postgres")["SERVICE_DATABASES"].split()
    for name in databases:
        for container in (name, f"migrate-{name}"):
            assert env(compose, container)["CHORUS_DATABASE_URL"].startswith(
                f"postgresql://chorus_{name}:"
            )
    assert sorted(databases) == ["identity", "invoices", "notifications", "structures"]
    # Grafana gets the chart's dashboards, Prometheus the chart's rules.
    mounts = " ".join(services["grafana"]["volumes"] + services["prometheus"]["volumes"])
    assert "./deploy/helm/chorus/files/dashboards:" in mounts
    assert "./deploy/helm/chorus/files/rules/chorus.rules.yaml:" in mounts


# --- broken copies ------------------------------------------------------------------------


def set_identity_grpc_port(compose: dict[str, Any]) -> None:
    env(compose, "identity")["CHORUS_GRPC_PORT"] = "50061"
    compose["services"]["identity"]["expose"] = ["50061", "9461"]


def remove_expose(name: str, port: str) -> Callable[[dict[str, Any]], None]:
    def breakage(compose: dict[str, Any]) -> None:
        compose["services"][name]["expose"].remove(port)

    return breakage


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "variables",
        lambda c: env(c, "identity").update(CHORUS_METRIC_PORT="9461"),
        "identity: CHORUS_METRIC_PORT is not in docs/configuration.md",
    ),
    (
        "variables",
        lambda c: env(c, "gateway").update(OTEL_SERVICE_NAMES="chorus-gateway"),
        "gateway: OTEL_SERVICE_NAMES is not in docs/configuration.md",
    ),
    ("ports", remove_expose("identity", "9461"), "identity: port 9461 is not in its expose"),
    ("ports", remove_expose("cpro-api", "8090"), "cpro-api: port 8090 is not in its expose"),
    (
        "ports",
        lambda c: c["services"]["notifications"]["expose"].append("9999"),
        "notifications: exposes 9999, which is neither CHORUS_GRPC_PORT (50054) nor"
        " CHORUS_METRICS_PORT (9464)",
    ),
    (
        "ports",
        set_identity_grpc_port,
        "CHORUS_IDENTITY_ADDR=identity:50051, but identity listens on identity:50061",
    ),
    (
        "ports",
        set_identity_grpc_port,
        "identity: build argument PORT 50051 is not CHORUS_GRPC_PORT (50061)",
    ),
    (
        "ports",
        lambda c: env(c, "gateway").update(CHORUS_CPRO_API_URL="http://cpro-api:8080"),
        "gateway: CHORUS_CPRO_API_URL=http://cpro-api:8080, but cpro-api listens on"
        " http://cpro-api:8090",
    ),
    (
        "ports",
        lambda c: env(c, "gateway").update(CHORUS_PORTAL_BACKEND_URL="http://portal:8080"),
        "gateway: CHORUS_PORTAL_BACKEND_URL=http://portal:8080, but portal listens on"
        " http://portal:8070",
    ),
    (
        "ports",
        lambda c: env(c, "gateway").update(CHORUS_METRICS_PORT="0"),
        "gateway: no metrics port",
    ),
    (
        "images",
        lambda c: c["services"]["postgres"].update(image="postgres:latest"),
        "postgres: image postgres:latest is not pinned",
    ),
    (
        "images",
        lambda c: c["services"]["grafana"].update(image="grafana/grafana"),
        "grafana: image grafana/grafana has no tag",
    ),
    (
        "images",
        lambda c: c["services"]["prometheus"].update(image="prom/prometheus:v2"),
        "prometheus: image prom/prometheus:v2 is not pinned (a bare version v2 moves)",
    ),
    (
        "volumes",
        lambda c: c["services"]["postgres"]["volumes"].__setitem__(0, "pg-data:/var/lib/pg"),
        "postgres: volume pg-data is not declared under volumes:",
    ),
    (
        "volumes",
        lambda c: c["services"]["postgres"]["volumes"].__setitem__(0, "pg-data:/var/lib/pg"),
        "volumes: postgres-data is declared but no service mounts it",
    ),
    (
        "volumes",
        lambda c: c["services"]["grafana"]["volumes"].__setitem__(
            0, "./deploy/compose/grafana/provision:/etc/grafana/provisioning:ro"
        ),
        "grafana: bind mount ./deploy/compose/grafana/provision (for /etc/grafana/provisioning)"
        " does not exist",
    ),
    (
        "dependencies",
        lambda c: c["services"]["gateway"]["depends_on"].update(
            identiy={"condition": "service_healthy"}
        ),
        "gateway: depends on identiy, which is no service",
    ),
    (
        "dependencies",
        lambda c: c["services"]["invoices"]["depends_on"].update(
            {"otel-collector": {"condition": "service_healthy"}}
        ),
        "invoices: waits for otel-collector to be healthy, but otel-collector has no healthcheck",
    ),
    (
        "dependencies",
        lambda c: c["services"]["minio-setup"].update(restart="on-failure"),
        "invoices: waits for minio-setup to complete, but minio-setup restarts",
    ),
    (
        "prometheus",
        lambda c: c["services"]["prometheus"]["volumes"].pop(1),
        "prometheus: rule file /etc/prometheus/rules/chorus.rules.yaml is not mounted",
    ),
    (
        "prometheus",
        lambda c: c["services"]["prometheus"]["volumes"].pop(0),
        "prometheus: no prometheus service with its configuration bind-mounted",
    ),
]


@pytest.mark.parametrize(
    ("check", "breakage", "message"), BROKEN, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BROKEN)]
)
def test_a_broken_copy_fails_the_check(
    tmp_path: Path, check: str, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    found = problems(broken_copy(tmp_path, breakage), check)
    assert any(message in problem for problem in found), found


def test_every_check_is_exercised_by_a_broken_copy() -> None:
    assert {check for check, _, _ in BROKEN} == set(check_compose.CHECKS)


def test_a_digest_pins_an_image_too(tmp_path: Path) -> None:
    digest = "postgres@sha256:" + "0" * 64
    path = broken_copy(tmp_path, lambda c: c["services"]["postgres"].update(image=digest))
    assert problems(path, "images") == []


def unchanged(compose: dict[str, Any]) -> None:
    pass


def move_identity_metrics(compose: dict[str, Any]) -> None:
    env(compose, "identity")["CHORUS_METRICS_PORT"] = "9471"
    compose["services"]["identity"]["expose"] = ["50051", "9471"]


@pytest.mark.parametrize(
    ("breakage", "prometheus", "message"),
    [
        (
            unchanged,
            lambda p: job(p, "chorus-identity")["static_configs"][0].update(
                targets=["identity:9999"]
            ),
            "prometheus: job chorus-identity scrapes ['identity:9999'], but the service serves"
            " identity:9461",
        ),
        (
            move_identity_metrics,
            None,
            "prometheus: job chorus-identity scrapes ['identity:9461'], but the service serves"
            " identity:9471",
        ),
        (
            unchanged,
            lambda p: p["scrape_configs"].remove(job(p, "chorus-gateway")),
            "prometheus: no scrape job chorus-gateway (for gateway:9465)",
        ),
        (
            unchanged,
            lambda p: p["scrape_configs"].append(
                {"job_name": "chorus-billing", "static_configs": [{"targets": ["billing:9470"]}]}
            ),
            "prometheus: job chorus-billing scrapes ['billing:9470'], which is no Chorus server",
        ),
        (
            unchanged,
            lambda p: p.update(rule_files=["rules/chorus.rule.yaml"]),
            "prometheus: rule file /etc/prometheus/rules/chorus.rule.yaml is not mounted",
        ),
    ],
)
def test_prometheus_scrapes_what_the_services_serve(
    tmp_path: Path,
    breakage: Callable[[dict[str, Any]], None],
    prometheus: Callable[[dict[str, Any]], None] | None,
    message: str,
) -> None:
    found = problems(broken_copy(tmp_path, breakage, prometheus), "prometheus")
    assert any(message in problem for problem in found), found


def test_the_script_reports_and_exits_1(tmp_path: Path) -> None:
    def breakage(compose: dict[str, Any]) -> None:
        compose["services"]["kafka"]["image"] = "apache/kafka:latest"

    path = broken_copy(tmp_path, breakage)
    result = subprocess.run(
        [PYTHON, str(SCRIPT), str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 1
    assert "docker-compose.yml: kafka: image apache/kafka:latest is not pinned" in result.stdout


def test_interpolation_takes_the_defaults() -> None:
    assert check_compose.interpolate("chorus/identity:${CHORUS_IMAGE_TAG:-dev}") == (
        "chorus/identity:dev"
    )
    assert check_compose.interpolate("${UNSET}x${B-y}$$z") == "xy$z"


# --- the PostgreSQL init script, run for real ---------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[Any]:
    """A fresh throwaway server, as the postgres image starts on an empty volume."""
    from chorus_devstack.ports import free_port
    from chorus_devstack.postgres import PostgresServer

    server = PostgresServer(None, free_port(), ephemeral=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def psql(port: int, url_user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
         f"postgresql://{url_user}@127.0.0.1:{port}/{database}"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_the_init_script_gives_each_service_its_own_database_and_role(
    empty_postgres: Any,
) -> None:
    """deploy/compose/postgres/init-databases.sh as the postgres image runs it, then a
    service's `migrate` as its own role (it creates its extensions as the database owner),
    and one service's role kept out of another's database."""
    compose = yaml.safe_load(COMPOSE.read_text())
    port = int(empty_postgres.url.rsplit(":", 1)[1].split("/")[0])
    postgres_env = env(compose, "postgres")
    init = subprocess.run(
        ["sh", str(ROOT / "deploy/compose/postgres/init-databases.sh")],
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "POSTGRES_USER": "postgres",
            "SERVICE_DATABASES": postgres_env["SERVICE_DATABASES"],
            "SERVICE_DATABASE_PASSWORD": "secret",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
        },
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr

    roles = psql(port, "postgres", "postgres",
                 "SELECT rolname, rolsuper, rolcreatedb FROM pg_roles"
                 " WHERE rolname LIKE 'chorus_%' ORDER BY 1")  # fmt: skip
    assert roles.stdout.split() == [
        f"chorus_{name}|f|f" for name in ("identity", "invoices", "notifications", "structures")
    ]
    url = env(compose, "structures")["CHORUS_DATABASE_URL"]
    assert url.startswith("postgresql://chorus_structures:")
    migrate = subprocess.run(
        [str(Path(PYTHON).parent / "chorus-structures"), "migrate"],
        env={
            "PATH": "/usr/bin:/bin",
            "CHORUS_DATABASE_URL": f"postgresql://chorus_structures:secret@127.0.0.1:{port}/postgres",
        },
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    owners = psql(
        port,
        "postgres",
        "chorus_structures",
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
    )
    assert owners.stdout.split() == ["chorus_structures"]

    intruder = psql(port, "chorus_identity", "chorus_structures", "SELECT 1")
    assert intruder.returncode != 0
    assert "permission denied for database" in intruder.stderr
    assert psql(port, "chorus_identity", "chorus_identity", "SELECT 1").stdout.strip() == "1"
