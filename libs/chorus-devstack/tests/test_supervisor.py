"""The supervisor against stand-in services (tests/standin/service.py), real infrastructure."""

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import asyncpg
import grpc
import pytest
from chorus_devstack.broker import KafkaBroker
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import free_port, port_is_open
from chorus_devstack.postgres import PostgresServer
from chorus_devstack.supervisor import SERVICES, Stack, StackError
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_ephemeral_stack_runs_migrates_seeds_and_stops(
    standin_bin: Path, tmp_path: Path
) -> None:
    crash_dir = tmp_path / "crash"
    crash_dir.mkdir()
    stack = Stack(
        ephemeral=True,
        bin_dir=standin_bin,
        logs_dir=tmp_path / "logs",
        extra_env={"STANDIN_CRASH_DIR": str(crash_dir)},
        ready_timeout=60,
        stop_timeout=5,
    )
    async with stack:
        env = stack.env
        assert env["CHORUS_DATABASE_URL"] == stack.postgres.url
        assert env["CHORUS_KAFKA_BOOTSTRAP"] == stack.broker.bootstrap
        assert env["CHORUS_SMTP_PORT"] == str(stack.mail_catcher.smtp_port)
        assert stack.gateway_url == f"http://127.0.0.1:{env['CHORUS_HTTP_PORT']}"
        assert env["CHORUS_PORTAL_URL"] == stack.gateway_url
        ports = {env[s.env].rsplit(":", 1)[-1] for s in SERVICES}
        assert len(ports) == len(SERVICES)  # every service got its own free port
        assert "55432" not in env["CHORUS_DATABASE_URL"]
        # Each service gets its own free admin (metrics) port, told to it alone.
        metrics_ports = {stack.child_env(s)["CHORUS_METRICS_PORT"] for s in SERVICES} - ports
        assert len(metrics_ports) == len(SERVICES)
        assert "CHORUS_METRICS_PORT" not in stack.child_env()
        assert stack.metrics_urls["invoices"] == (
            f"http://127.0.0.1:{stack.metrics_ports['invoices']}/metrics"
        )

        # Each HTTP service listens on its own port; the gateway is told where cpro-api is.
        assert env["CHORUS_CPRO_API_URL"] == f"http://{stack.addresses['cpro-api']}"
        assert env["CHORUS_CPRO_API_URL"] != stack.gateway_url
        assert (
            stack.child_env(stack._service("cpro-api"))["CHORUS_HTTP_PORT"]
            == (env["CHORUS_CPRO_API_URL"].rsplit(":", 1)[-1])
        )

        # The portal listens on its own port; the gateway is told where, the portal alone
        # trusts the relay's hop.
        assert env["CHORUS_PORTAL_BACKEND_URL"] == f"http://{stack.addresses['portal']}"
        portal_env = stack.child_env(stack._service("portal"))
        assert portal_env["CHORUS_TRUSTED_PROXY_HOPS"] == "1"
        assert portal_env["CHORUS_HTTP_PORT"] == env["CHORUS_PORTAL_BACKEND_URL"].rsplit(":")[-1]
        assert "CHORUS_TRUSTED_PROXY_HOPS" not in stack.child_env(stack._service("gateway"))
        assert f"http://{stack.addresses['portal']}" in stack.banner()

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{stack.gateway_url}/readyz") as response:
                assert response.status == 200
            async with http.get(f"{env['CHORUS_PORTAL_BACKEND_URL']}/readyz") as response:
                assert response.status == 200
            async with http.get(f"{env['CHORUS_CPRO_API_URL']}/readyz") as response:
                assert response.status == 200
            async with http.get(f"{stack.mail_api_url}/messages") as response:
                assert (await response.json())["total"] == 0
        async with grpc.aio.insecure_channel(env["CHORUS_INVOICES_ADDR"]) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        # Migrations ran for the four gRPC services, then the seed.
        connection = await asyncpg.connect(env["CHORUS_DATABASE_URL"])
        try:
            for name in ("identity", "structures", "invoices", "notifications"):
                await connection.execute(f"SELECT 1 FROM {name}_migrated")
            assert await connection.fetchval("SELECT count(*) FROM structures_migrated") == 1
        finally:
            await connection.close()

        log = stack.log_path("identity").read_text()
        assert "identity: migrated" in log and "identity: serving on" in log
        assert "structures: seeded démo" in stack.log_path("structures").read_text()
        pids = [child.process.pid for child in stack._children.values()]
        assert len(pids) == len(SERVICES)
        assert stack.service_pids() == {
            name: child.process.pid for name, child in stack._children.items()
        }
        assert set(stack.service_pids()) == {s.name for s in SERVICES}

        # One service restarted on purpose is not a failure.
        await stack.stop_service("identity")
        await stack.start_service("identity")
        stack.check()

        # Nor is one crashed on purpose (SIGKILL: no graceful goodbye), then started again.
        killed = stack._children["structures"].process.pid
        await stack.kill_service("structures")
        assert not _alive(killed)
        assert "structures" not in stack.service_pids()
        assert "structures: bye" not in stack.log_path("structures").read_text()
        await stack.start_service("structures")
        stack.check()

        # A service dying on its own is reported.
        (crash_dir / "notifications").touch()
        name, code = await asyncio.wait_for(stack.wait_for_failure(), 10)
        assert (name, code) == ("notifications", 3)
        with pytest.raises(StackError, match="notifications exited with code 3"):
            stack.check()
        pids = [child.process.pid for child in stack._children.values()]

    assert not any(_alive(pid) for pid in pids)
    assert not port_is_open("127.0.0.1", int(env["CHORUS_HTTP_PORT"]))
    assert not stack.broker.running and not stack.postgres.running
    assert "gateway: bye" in stack.log_path("gateway").read_text()  # SIGTERM, graceful


async def test_failed_migration_aborts_with_the_command_and_its_output(
    standin_bin: Path, tmp_path: Path
) -> None:
    stack = Stack(
        ephemeral=True,
        bin_dir=standin_bin,
        logs_dir=tmp_path,
        extra_env={"STANDIN_FAIL_MIGRATE": "invoices"},
    )
    with pytest.raises(StackError) as raised:
        await stack.start()
    message = str(raised.value)
    assert "`chorus-invoices migrate` failed with exit code 2" in message
    assert "migration 0002 failed" in message
    assert not stack.postgres.running and not stack.broker.running
    assert not stack.mail_catcher.running


async def test_readiness_timeout_names_the_service_and_stragglers_are_killed(
    standin_bin: Path, tmp_path: Path
) -> None:
    gateway = next(s for s in SERVICES if s.name == "gateway")
    stack = Stack(
        ephemeral=True,
        services=[gateway],
        setup_steps=(),
        bin_dir=standin_bin,
        logs_dir=tmp_path,
        extra_env={"STANDIN_NOT_SERVING": "gateway", "STANDIN_IGNORE_TERM": "gateway"},
        ready_timeout=2,
        stop_timeout=0.5,
    )
    with pytest.raises(StackError, match=r"not ready after 2s: gateway \(GET /readyz → 503\)"):
        await stack.start()
    log = stack.log_path("gateway").read_text()
    assert "gateway: serving on" in log and "gateway: bye" not in log  # it had to be killed
    assert not port_is_open("127.0.0.1", int(stack.env["CHORUS_HTTP_PORT"]))


async def test_missing_console_script_is_a_clear_error(tmp_path: Path) -> None:
    stack = Stack(ephemeral=True, bin_dir=tmp_path, logs_dir=tmp_path)
    with pytest.raises(StackError, match=r"chorus-identity.*run `uv sync`"):
        await stack.start()


async def test_cli_run_with_external_infrastructure_and_ctrl_c(
    standin_bin: Path,
    tmp_path: Path,
    postgres_server: PostgresServer,
    kafka_broker: KafkaBroker,
    mail_catcher: MailCatcher,
    make_database,
) -> None:
    database = await make_database("cli_run")
    env = {
        **os.environ,
        "CHORUS_DEVSTACK_DIR": str(tmp_path / "state"),
        "CHORUS_DEVSTACK_BIN_DIR": str(standin_bin),
        "CHORUS_DATABASE_URL": database,
        "CHORUS_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "CHORUS_SMTP_HOST": "127.0.0.1",
        "CHORUS_SMTP_PORT": str(mail_catcher.smtp_port),
        "CHORUS_HTTP_PORT": str(free_port()),
        **{s.env: f"127.0.0.1:{free_port()}" for s in SERVICES if s.kind == "grpc"},
        "CHORUS_CPRO_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chorus_devstack", "run", "--timeout", "60",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await process.stdout.readline()).decode()
                assert line, "\n".join(seen)
                seen.append(line.rstrip())
                if "Chorus is ready" in line:
                    break
        output = "\n".join(seen)
        assert "identity      | identity: serving on" in output
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    output += rest.decode()
    assert process.returncode == 0, output
    assert f"{database}" in output  # banner shows the database it was given
    assert re.search(r"Metrics identity +http://127\.0\.0\.1:\d+/metrics", output)
    for name in ("identity", "gateway"):
        assert f"{name}: bye" in output
    logs = tmp_path / "state" / "logs"
    assert "identity: serving on" in (logs / "identity.log").read_text()
    assert not (tmp_path / "state" / "pg").exists()  # external database: none started


async def test_cli_run_exits_1_when_a_migration_fails(
    standin_bin: Path, tmp_path: Path, kafka_broker: KafkaBroker, make_database
) -> None:
    env = {
        **os.environ,
        "CHORUS_DEVSTACK_DIR": str(tmp_path),
        "CHORUS_DEVSTACK_BIN_DIR": str(standin_bin),
        "CHORUS_DATABASE_URL": await make_database("cli_fail"),
        "CHORUS_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "CHORUS_SMTP_HOST": "127.0.0.1",
        "STANDIN_FAIL_MIGRATE": "structures",
        "CHORUS_HTTP_PORT": str(free_port()),
        **{s.env: f"127.0.0.1:{free_port()}" for s in SERVICES if s.kind == "grpc"},
        "CHORUS_CPRO_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chorus_devstack", "run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 1, output
    assert "`chorus-structures migrate` failed with exit code 2" in output
    assert "chorus-invoices migrate" not in output  # aborted at the first failure


def test_cli_infra_ephemeral_prints_exports(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chorus_devstack", "infra", "--ephemeral"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CHORUS_DEVSTACK_DIR": str(tmp_path)},
    )  # fmt: skip
    exports = {}
    try:
        for line in process.stdout:
            if line.startswith("export "):
                name, value = line.removeprefix("export ").strip().split("=", 1)
                exports[name] = value
            if "Ctrl-C" in line and not line.startswith("devstack"):
                break
        assert set(exports) == {
            "CHORUS_DATABASE_URL",
            "CHORUS_KAFKA_BOOTSTRAP",
            "CHORUS_SMTP_HOST",
            "CHORUS_SMTP_PORT",
        }
        host, port = exports["CHORUS_KAFKA_BOOTSTRAP"].split(":")
        assert port_is_open(host, int(port))
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert not port_is_open(host, int(port))
        assert (tmp_path / "logs" / "broker.log").exists()
    finally:
        if process.poll() is None:
            process.kill()
