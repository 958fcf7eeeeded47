"""The reference platform manifests (deploy/platform) and the custom-resource check.

`scripts/check_crds.py` validates custom resources against the vendored CRD schemas
(deploy/schemas); `scripts/lint_deploy.sh` runs it on deploy/platform and on the chart's
rendered manifests. These tests check that it passes what is valid and refuses what an API
server would refuse, and that the platform agrees with the code and the chart: the topics
are the ones Chorus declares, each service's Kafka user may do what its consumers and relay
do, and every service with a database has its database, role and Secret.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from chorus_invoices.events import directory, routing
from chorus_notifications.config import NotificationsSettings
from chorus_platform.topics import DECLARED_TOPICS, dlq_topic, events_topic

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "deploy" / "platform"
VALUES = ROOT / "deploy" / "helm" / "chorus" / "values.yaml"
SCRIPT = ROOT / "scripts" / "check_crds.py"

sys.path.insert(0, str(ROOT / "scripts"))
import check_crds  # noqa: E402


def platform() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(PLATFORM.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in platform() if d["kind"] == kind}


def run_check(documents: list[dict[str, Any]]) -> tuple[int, str]:
    out = io.StringIO()
    code = check_crds.check({"test.yaml": yaml.safe_dump_all(documents)}, out=out)
    return code, out.getvalue()


def test_every_platform_manifest_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, sorted(PLATFORM.glob("*.yaml")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "custom kinds allowed without a schema:" in result.stdout
    kinds = {line.split()[2] for line in result.stdout.splitlines() if line.startswith("ok")}
    assert kinds == {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "Cluster",
        "Database",
        "ScheduledBackup",
        "ServiceMonitor",
    }


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        # A field that does not exist (a guess at the spelling of another operator's API).
        (
            "Kafka",
            lambda d: d["spec"]["kafka"].__setitem__("replicas", 3),
            "spec/kafka: Additional properties are not allowed ('replicas' was unexpected)",
        ),
        # A value outside an enum: Strimzi listeners offer SCRAM-SHA-512 only.
        (
            "Kafka",
            lambda d: d["spec"]["kafka"]["listeners"][0]["authentication"].__setitem__(
                "type", "scram-sha-256"
            ),
            "spec/kafka/listeners/0/authentication/type: 'scram-sha-256' is not one of",
        ),
        # A wrong type.
        (
            "KafkaTopic",
            lambda d: d["spec"].__setitem__("partitions", "three"),
            "spec/partitions: 'three' is not of type 'integer'",
        ),
        # A required field missing.
        (
            "Database",
            lambda d: d["spec"].pop("owner"),
            "spec: 'owner' is a required property",
        ),
        # An ACL operation Kafka does not have.
        (
            "KafkaUser",
            lambda d: d["spec"]["authorization"]["acls"][0]["operations"].append("Produce"),
            "'Produce' is not one of",
        ),
    ],
)
def test_a_wrong_field_fails(kind: str, change: Any, expected: str) -> None:
    document = copy.deepcopy(next(iter(of_kind(kind).values())))
    assert run_check([document])[0] == 0
    change(document)
    code, output = run_check([document])
    assert code == 1
    assert f"FAIL  test.yaml#0 {kind}" in output
    assert expected in output


def test_a_custom_kind_without_a_schema_fails_and_builtin_kinds_are_left_alone() -> None:
    unknown = {
        "apiVersion": "example.org/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {},
    }
    builtin = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "bogus": 1}
    apps = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    code, output = run_check([unknown, builtin, apps])
    assert code == 1
    assert "no schema for example.org/v1 Widget" in output
    assert "ConfigMap" not in output and "Deployment" not in output
    # An apiVersion the vendored schemas do not have is not checked against another version.
    old = copy.deepcopy(next(iter(of_kind("KafkaTopic").values())))
    old["apiVersion"] = "kafka.strimzi.io/v1beta2"
    code, output = run_check([old])
    assert code == 1
    assert "no schema for kafka.strimzi.io/v1beta2 KafkaTopic" in output


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(broken), str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr
    out = io.StringIO()
    assert check_crds.check({"broken.yaml": "kind: [unclosed\n"}, out=out) == 1
    assert "FAIL  broken.yaml: not valid YAML" in out.getvalue()


def test_topics_are_the_declared_ones() -> None:
    topics = of_kind("KafkaTopic")
    declared = {
        topic.get("spec", {}).get("topicName", name): topic["spec"]["partitions"]
        for name, topic in topics.items()
    }
    assert declared == DECLARED_TOPICS
    for name, topic in topics.items():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "chorus"
        assert topic["spec"]["replicas"] == 3, name
        assert topic["spec"]["config"]["min.insync.replicas"] == 2, name


def test_retention_of_events_is_below_the_inbox_window() -> None:
    """Rewinding a consumer group to the earliest offset only re-reads records the inbox
    still dedupes: events leave the topic (retention + one segment) before their inbox rows
    (CHORUS_RETENTION_INBOX_DAYS, 14 days)."""
    day = 86_400_000
    for name, topic in of_kind("KafkaTopic").items():
        config = topic["spec"]["config"]
        if not name.endswith(".dlq"):
            assert config["retention.ms"] + config["segment.ms"] < 14 * day, name


def acls(user: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {
        (acl["resource"]["type"], acl["resource"].get("name", "")): set(acl["operations"])
        for acl in user["spec"]["authorization"]["acls"]
    }


def test_each_kafka_user_may_do_what_its_service_does() -> None:
    """Consumers (groups as the code names them) read their topics, park failures in the
    topic's .dlq and replay them to the topic; relays write their own topic; every service
    but the gateway follows identity's revocations."""
    users = of_kind("KafkaUser")
    consumers = {
        "invoices": [
            (routing.CONSUMER_NAME, events_topic("invoices")),
            (directory.CONSUMER_NAME, events_topic(directory.SOURCE)),
        ],
        "notifications": [
            (NotificationsSettings().service_name, events_topic(source))
            for source in ("identity", "structures", "invoices")
        ],
    }
    publishers = {"identity", "structures", "invoices"}
    revocation_followers = {"identity", "structures", "invoices", "notifications", "cpro-api"}
    assert set(users) == {f"chorus-{svc}-kafka" for svc in revocation_followers | {"ops"}}
    # The operators' user (kafka-ops.yaml) describes; it reads no record and changes nothing.
    assert set().union(*acls(users["chorus-ops-kafka"]).values()) == {"Describe", "DescribeConfigs"}
    for service in revocation_followers:
        user = users[f"chorus-{service}-kafka"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        granted = acls(user)
        assert {"Read", "Describe"} <= granted[("topic", events_topic("identity"))]
        if service in publishers:
            assert {"Write", "Describe"} <= granted[("topic", events_topic(service))]
            assert "Describe" in granted[("topic", dlq_topic(events_topic(service)))]
        groups = consumers.get(service, [])
        assert {name for kind, name in granted if kind == "group"} == {g for g, _ in groups}
        for group, topic in groups:
            assert granted[("group", group)] == {"Read"}
            assert {"Read", "Write", "Describe"} <= granted[("topic", topic)]
            assert {"Write", "Describe"} <= granted[("topic", dlq_topic(topic))]
        # Nothing else: no other topic, no wildcard, no cluster operation.
        allowed_topics = {events_topic("identity")}
        if service in publishers:
            allowed_topics |= {events_topic(service), dlq_topic(events_topic(service))}
        allowed_topics |= {t for _, topic in groups for t in (topic, dlq_topic(topic))}
        assert {name for kind, name in granted if kind == "topic"} == allowed_topics
        assert all(
            acl["resource"].get("patternType", "literal") == "literal"
            for acl in user["spec"]["authorization"]["acls"]
        )


def test_the_chart_defaults_find_the_platform() -> None:
    """Kafka bootstrap, SMTP host and the databases of the services that migrate."""
    values = yaml.safe_load(VALUES.read_text())
    env = values["global"]["env"]
    (kafka,) = of_kind("Kafka").values()
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert env["CHORUS_KAFKA_BOOTSTRAP"] == bootstrap
    assert listener["tls"] is True
    smtp = of_kind("Service")[env["CHORUS_SMTP_HOST"]]
    assert int(env["CHORUS_SMTP_PORT"]) in {port["port"] for port in smtp["spec"]["ports"]}

    with_database = {name for name, svc in values["services"].items() if svc.get("migrate")}
    (cluster,) = of_kind("Cluster").values()
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind("Database").values()}
    assert set(databases) == {f"chorus_{svc}" for svc in with_database}
    assert set(roles) == set(databases)
    for svc in with_database:
        database = databases[f"chorus_{svc}"]
        assert database["spec"]["owner"] == f"chorus_{svc}"
        assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert roles[f"chorus_{svc}"]["passwordSecret"]["name"] == f"chorus-{svc}-database"
        assert roles[f"chorus_{svc}"].get("superuser", False) is False
    (backup,) = of_kind("ScheduledBackup").values()
    assert backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]


def test_the_kafka_toolbox_logs_in_as_the_read_only_user() -> None:
    (kafka,) = of_kind("Kafka").values()
    toolbox = of_kind("Deployment")["kafka-ops"]
    assert toolbox["spec"]["replicas"] == 0
    secrets = {
        volume["secret"]["secretName"]
        for volume in toolbox["spec"]["template"]["spec"]["volumes"]
        if "secret" in volume
    }
    assert secrets == {"chorus-ops-kafka", f"{kafka['metadata']['name']}-cluster-ca-cert"}
    assert "chorus-ops-kafka" in of_kind("KafkaUser")
    (container,) = toolbox["spec"]["template"]["spec"]["containers"]
    assert all("valueFrom" not in entry for entry in container.get("env", []))


def test_crd_conversion_reads_the_kubernetes_dialect() -> None:
    """deploy/schemas/convert_crds.py: unknown fields refused unless the CRD keeps them,
    nullable and int-or-string spelt in JSON Schema, apiVersion and kind pinned."""
    spec = importlib.util.spec_from_file_location(
        "convert_crds", ROOT / "deploy" / "schemas" / "convert_crds.py"
    )
    assert spec and spec.loader
    convert_crds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert_crds)
    crd = {
        "spec": {
            "group": "example.org",
            "names": {"kind": "Widget"},
            "versions": [
                {"name": "v1alpha1", "served": False, "schema": {"openAPIV3Schema": {}}},
                {
                    "name": "v1",
                    "served": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "description": "dropped",
                                    "properties": {
                                        "size": {"x-kubernetes-int-or-string": True},
                                        "note": {"type": "string", "nullable": True},
                                        "free": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                            "properties": {"known": {"type": "string"}},
                                        },
                                    },
                                }
                            },
                        }
                    },
                },
            ],
        }
    }
    (name, schema), *others = convert_crds.convert(crd).items()
    assert name == "example.org/widget_v1.json" and not others
    spec_schema = schema["properties"]["spec"]
    assert "description" not in spec_schema
    assert spec_schema["additionalProperties"] is False
    assert spec_schema["properties"]["size"]["type"] == ["integer", "string"]
    assert spec_schema["properties"]["note"]["type"] == ["string", "null"]
    assert "additionalProperties" not in spec_schema["properties"]["free"]

    valid = {
        "apiVersion": "example.org/v1",
        "kind": "Widget",
        "spec": {"size": "10%", "note": None, "free": {"anything": 1}},
    }
    jsonschema.validate(valid, schema)
    for wrong in (
        {**valid, "spec": {"sise": 1}},
        {**valid, "apiVersion": "example.org/v2"},
        {**valid, "spec": {"size": 1.5}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
