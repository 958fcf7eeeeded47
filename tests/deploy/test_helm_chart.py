"""The Helm chart's scaling objects, rendered by the Helm SDK (no cluster, no helm binary).

`scripts/lint_deploy.sh` lints the chart and validates every rendered manifest against the
Kubernetes schemas for the defaults and each ``ci/*-values.yaml``. These tests check what the
schemas cannot: that the invoices-documents Deployment runs the documents role with its
worker count and resources, that the invoices Deployment switches its role with
``invoicesDocuments.enabled``, that each HorizontalPodAutoscaler targets its Deployment (which
then leaves its replica count to it), that bad scaling values are refused, and that every
service documents the capacity of a replica in the one format the benchmark fills in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "chorus"
RELEASE = "chorus"


def render(values: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The release's objects (hooks included) by (kind, name)."""
    helm.disable_logging()
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values or {}, name=RELEASE, namespace="chorus", is_install=True)
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for source, text in manifests.items():
        if source.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects[(document["kind"], document["metadata"]["name"])] = document
    return objects


def render_error(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as error:
        render(values)
    return str(error.value)


def container(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    deployment = objects[("Deployment", f"{RELEASE}-{name}")]
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    """A Deployment's literal variables by name (Secret references as their secretKeyRef)."""
    return {
        entry["name"]: entry.get("value", entry.get("valueFrom"))
        for entry in container(objects, name).get("env", [])
    }


def of_kind(objects: dict[tuple[str, str], dict[str, Any]], kind: str) -> set[str]:
    return {name for (k, name) in objects if k == kind}


def test_invoices_documents_runs_the_documents_role_from_the_invoices_image() -> None:
    objects = render()

    documents = container(objects, "invoices-documents")
    invoices = container(objects, "invoices")
    assert documents["image"] == invoices["image"] == "chorus/invoices:0.1.0"
    assert documents["args"] == ["serve"]
    variables = env(objects, "invoices-documents")
    assert variables["CHORUS_INVOICES_ROLES"] == "documents"
    assert variables["CHORUS_DOCUMENT_WORKERS"] == "2"
    # Both queue the PDFs: invoices-documents renders them.
    assert variables["CHORUS_FACTURX_RENDERING"] == "queued"
    assert env(objects, "invoices")["CHORUS_FACTURX_RENDERING"] == "queued"
    assert variables["CHORUS_GRPC_PORT"] == "50053"
    assert variables["OTEL_SERVICE_NAME"] == "chorus-invoices-documents"
    assert variables["CHORUS_DATABASE_URL"] == env(objects, "invoices")["CHORUS_DATABASE_URL"]
    assert env(objects, "invoices")["CHORUS_INVOICES_ROLES"] == "api"
    # The same configuration as every service, probed like invoices on grpc.health.v1.
    assert documents["envFrom"] == invoices["envFrom"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert documents[probe] == invoices[probe]
    assert documents["securityContext"] == invoices["securityContext"]


def test_invoices_documents_takes_no_traffic() -> None:
    objects = render()

    assert ("Service", f"{RELEASE}-invoices-documents") not in objects
    selector = objects[("Service", f"{RELEASE}-invoices")]["spec"]["selector"]
    pod_labels = objects[("Deployment", f"{RELEASE}-invoices-documents")]["spec"]["template"][
        "metadata"
    ]["labels"]
    assert not selector.items() <= pod_labels.items()
    # Nor does any service learn an address for it.
    config = objects[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert not any("DOCUMENTS" in name for name in config)


def test_invoices_documents_resources_follow_the_worker_count() -> None:
    default = container(render(), "invoices-documents")["resources"]
    assert default == {
        "requests": {"cpu": "2000m", "memory": "700Mi"},
        "limits": {"cpu": "2500m", "memory": "1050Mi"},
    }

    objects = render({"invoicesDocuments": {"workers": 4}})
    assert env(objects, "invoices-documents")["CHORUS_DOCUMENT_WORKERS"] == "4"
    assert container(objects, "invoices-documents")["resources"] == {
        "requests": {"cpu": "4000m", "memory": "1200Mi"},
        "limits": {"cpu": "4500m", "memory": "1800Mi"},
    }

    explicit = {"requests": {"cpu": "3", "memory": "1Gi"}, "limits": {"cpu": "3", "memory": "2Gi"}}
    objects = render({"invoicesDocuments": {"resources": explicit}})
    assert container(objects, "invoices-documents")["resources"] == explicit


def test_the_chart_owns_the_roles_and_the_worker_count_of_invoices_documents() -> None:
    objects = render(
        {
            "services": {
                "invoices": {
                    "env": {
                        "CHORUS_INVOICES_ROLES": "api,documents",
                        "CHORUS_DATABASE_POOL_MAX": 20,
                        "CHORUS_DOCUMENT_TIMEOUT_SECONDS": 30,
                    }
                }
            },
            "invoicesDocuments": {
                "env": {"CHORUS_DOCUMENT_WORKERS": 9, "CHORUS_DOCUMENT_TIMEOUT_SECONDS": 90}
            },
        }
    )

    documents = env(objects, "invoices-documents")
    assert documents["CHORUS_INVOICES_ROLES"] == "documents"
    assert documents["CHORUS_DOCUMENT_WORKERS"] == "2"
    # The invoices settings are inherited; invoicesDocuments.env overrides them.
    assert documents["CHORUS_DATABASE_POOL_MAX"] == "20"
    assert documents["CHORUS_DOCUMENT_TIMEOUT_SECONDS"] == "90"
    # Both processes would render otherwise.
    assert env(objects, "invoices")["CHORUS_INVOICES_ROLES"] == "api"
    assert env(objects, "invoices")["CHORUS_DOCUMENT_TIMEOUT_SECONDS"] == "30"


def test_without_invoices_documents_invoices_runs_both_roles() -> None:
    objects = render({"invoicesDocuments": {"enabled": False}})

    assert env(objects, "invoices")["CHORUS_INVOICES_ROLES"] == "api,documents"
    # Nothing renders in the background: the service's default, each PDF on first download.
    assert "CHORUS_FACTURX_RENDERING" not in env(objects, "invoices")
    named = {name for (_, name) in objects}
    assert f"{RELEASE}-invoices-documents" not in named
    assert of_kind(objects, "HorizontalPodAutoscaler") == set()
    assert of_kind(objects, "PodDisruptionBudget") == set()


def test_invoices_documents_follows_the_invoices_service() -> None:
    objects = render({"services": {"invoices": {"enabled": False}}})

    assert not {name for (_, name) in objects if name.startswith(f"{RELEASE}-invoices")}


def test_invoices_documents_is_autoscaled_on_cpu_by_default() -> None:
    objects = render()

    assert of_kind(objects, "HorizontalPodAutoscaler") == {f"{RELEASE}-invoices-documents"}
    hpa = objects[("HorizontalPodAutoscaler", f"{RELEASE}-invoices-documents")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{RELEASE}-invoices-documents",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 10)
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 75},
            },
        }
    ]
    # The HPA owns the replica count; the other Deployments keep theirs.
    assert "replicas" not in objects[("Deployment", f"{RELEASE}-invoices-documents")]["spec"]
    assert objects[("Deployment", f"{RELEASE}-invoices")]["spec"]["replicas"] == 2


def test_invoices_documents_without_its_hpa_has_replicas() -> None:
    objects = render({"invoicesDocuments": {"autoscaling": {"enabled": False}, "replicas": 3}})

    assert of_kind(objects, "HorizontalPodAutoscaler") == set()
    assert objects[("Deployment", f"{RELEASE}-invoices-documents")]["spec"]["replicas"] == 3


def test_a_queue_metric_scales_invoices_documents_next_to_cpu() -> None:
    queue = {
        "type": "External",
        "external": {
            "metric": {"name": "chorus_invoices_document_queue_depth"},
            "target": {"type": "AverageValue", "averageValue": "50"},
        },
    }
    objects = render({"invoicesDocuments": {"autoscaling": {"metrics": [queue]}}})

    metrics = objects[("HorizontalPodAutoscaler", f"{RELEASE}-invoices-documents")]["spec"][
        "metrics"
    ]
    assert [m["type"] for m in metrics] == ["Resource", "External"]
    assert metrics[1] == queue


def test_invoices_documents_has_a_disruption_budget() -> None:
    objects = render()

    pdb = objects[("PodDisruptionBudget", f"{RELEASE}-invoices-documents")]
    assert pdb["spec"]["maxUnavailable"] == 1
    pod_labels = objects[("Deployment", f"{RELEASE}-invoices-documents")]["spec"]["template"][
        "metadata"
    ]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert (
        of_kind(
            render({"invoicesDocuments": {"podDisruptionBudget": {"enabled": False}}}),
            "PodDisruptionBudget",
        )
        == set()
    )


def test_a_service_hpa_takes_over_its_replicas() -> None:
    objects = render({"services": {"gateway": {"autoscaling": {"enabled": True}}}})

    hpa = objects[("HorizontalPodAutoscaler", f"{RELEASE}-gateway")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-gateway"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "AverageValue",
        "averageValue": "700m",
    }
    assert "replicas" not in objects[("Deployment", f"{RELEASE}-gateway")]["spec"]
    assert objects[("Deployment", f"{RELEASE}-cpro-api")]["spec"]["replicas"] == 2


def test_service_hpas_are_off_by_default() -> None:
    objects = render()

    for (kind, name), deployment in objects.items():
        if kind == "Deployment" and name != f"{RELEASE}-invoices-documents":
            assert deployment["spec"]["replicas"] == 2, name


def test_production_values_autoscale_every_deployment() -> None:
    values = yaml.safe_load((CHART / "ci" / "production-values.yaml").read_text())
    objects = render(values)

    deployments = of_kind(objects, "Deployment")
    assert len(deployments) == 7
    assert of_kind(objects, "HorizontalPodAutoscaler") == deployments
    for name in deployments:
        assert "replicas" not in objects[("Deployment", name)]["spec"], name
    for (kind, _), document in objects.items():
        if kind in {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Deployment"}:
            kubernetes_validate.validate(document, "1.27.0", strict=True)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"invoicesDocuments": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}},
            "invoices-documents autoscaling: minReplicas (5) is above maxReplicas (2)",
        ),
        (
            {"services": {"gateway": {"autoscaling": {"enabled": True, "targetCPU": None}}}},
            "gateway autoscaling: set targetCPU or metrics",
        ),
        ({"invoicesDocuments": {"workers": 0}}, "workers"),
        ({"invoicesDocuments": {"workers": 17}}, "workers"),
        ({"invoicesDocuments": {"autoscaling": {"targetCPU": "75 percent"}}}, "targetCPU"),
        ({"invoicesDocuments": {"autoscaling": {"targetCPU": "0%"}}}, "targetCPU"),
        ({"invoicesDocuments": {"replica": 2}}, "replica"),
        (
            {"services": {"invoices": {"autoscaling": {"enabled": True, "maxReplicas": None}}}},
            "maxReplicas",
        ),
    ],
)
def test_bad_scaling_values_are_refused(values: dict[str, Any], message: str) -> None:
    assert message in render_error(values)


CAPACITY = re.compile(
    r"^ *# capacity: ~(TODO\(bench\)|\d+(\.\d+)?) deposits/s"
    r" per (replica|worker) at \d+(\.\d+)? CPU\b"
)


def test_every_workload_documents_the_capacity_of_a_replica() -> None:
    """One `# capacity:` line in each service entry and in invoicesDocuments, in one format
    (the lead greps `capacity: ~TODO(bench)` to fill them in from `make bench`)."""
    text = (CHART / "values.yaml").read_text()
    found: dict[str, int] = {}
    section = entry = None
    for line in text.splitlines():
        if top := re.match(r"^([A-Za-z]\w*):", line):
            section, entry = top.group(1), None
        elif section == "services" and (child := re.match(r"^  ([a-z][a-z0-9-]*):\s*$", line)):
            entry = child.group(1)
        if "# capacity:" in line and not line.startswith("#"):
            assert CAPACITY.match(line), line
            owner = f"services.{entry}" if section == "services" else section
            found[owner] = found.get(owner, 0) + 1
    services = yaml.safe_load(text)["services"]
    assert found == {**{f"services.{name}": 1 for name in services}, "invoicesDocuments": 1}


def test_numbers_in_env_values_reach_the_pods_as_written() -> None:
    """Helm reads numbers as floats: 10485760 must not become "1.048576e+07"."""
    objects = render(
        {
            "global": {"env": {"CHORUS_OUTBOX_REPLAY_SECONDS": 86400000}},
            "services": {
                "invoices": {
                    "env": {
                        "CHORUS_MAX_DOCUMENT_BYTES": 10485760,
                        "CHORUS_BACKOFF_SECONDS": 0.5,
                        "CHORUS_SMTP_STARTTLS": True,
                    }
                }
            },
        }
    )

    assert objects[("ConfigMap", f"{RELEASE}-env")]["data"]["CHORUS_OUTBOX_REPLAY_SECONDS"] == (
        "86400000"
    )
    for name in ("invoices", "invoices-documents"):
        variables = env(objects, name)
        assert variables["CHORUS_MAX_DOCUMENT_BYTES"] == "10485760", name
        assert variables["CHORUS_BACKOFF_SECONDS"] == "0.5", name
        assert variables["CHORUS_SMTP_STARTTLS"] == "true", name
