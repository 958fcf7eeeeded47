"""The Helm chart, rendered by the Helm SDK (no cluster, no helm binary).

`scripts/lint_deploy.sh` lints the chart and validates every rendered manifest against the
Kubernetes schemas (and checkov) for the defaults and each ``ci/*-values.yaml``. These tests
check what the schemas cannot:

- scaling: that the invoices-documents Deployment runs the documents role with its worker
  count and resources, that the invoices Deployment switches its role with
  ``invoicesDocuments.enabled``, that each HorizontalPodAutoscaler targets its Deployment
  (which then leaves its replica count to it), that bad scaling values are refused, and that
  every service documents the capacity of a replica in the one format the benchmark fills in;
- hardening (issue #12): that the NetworkPolicies let each service be called only by the
  services whose code calls it (read from the services' sources), egress go only where each
  workload needs, every credential come from its Secret (per service for the databases), the
  gRPC addresses name the headless Services, the drain delay fit the grace period, the
  retention CronJobs run the right commands hardened, and every checkov skip give a reason.
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
    assert f"{RELEASE}-invoices-documents" not in of_kind(objects, "PodDisruptionBudget")


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
            "metric": {"name": "chorus_documents_queue"},
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
    assert f"{RELEASE}-invoices-documents" not in of_kind(
        render({"invoicesDocuments": {"podDisruptionBudget": {"enabled": False}}}),
        "PodDisruptionBudget",
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
    assert len(deployments) == 8
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


# --- Hardening (issue #12) -------------------------------------------------------------------

SERVICES_DIR = ROOT / "services"
GRPC = {"identity": 50051, "structures": 50052, "invoices": 50053, "notifications": 50054}
METRICS = {
    "identity": 9461,
    "structures": 9462,
    "invoices": 9463,
    "notifications": 9464,
    "gateway": 9465,
    "cpro-api": 9466,
    "portal": 9467,
    "invoices-documents": 9463,
}
WITH_DATABASE = ("identity", "structures", "invoices", "notifications")


def ci_values(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / f"{name}-values.yaml").read_text())


def production() -> dict[tuple[str, str], dict[str, Any]]:
    return render(ci_values("production"))


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(document: dict[str, Any]) -> dict[str, str]:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["metadata"]["labels"]


def workloads(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: document
        for (kind, name), document in objects.items()
        if kind in {"Deployment", "Job", "CronJob"}
    }


def env_of(document: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(document)["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in only.get("env", [])}


def secret_ref(document: dict[str, Any], variable: str) -> tuple[str, str] | None:
    ref = env_of(document).get(variable)
    if not isinstance(ref, dict):
        return None
    return ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]


def code_callers() -> dict[str, set[str]]:
    """Who calls whom, read from the services' code: `channel_for(settings, "<svc>")`, the
    SERVICES tuple of a clients/ package (a channel to each), the identity token verifier and
    revocation feed (calls to identity), and the gateway's relays to CHORUS_CPRO_API_URL and
    CHORUS_PORTAL_BACKEND_URL. A service depending on chorus-edge (the gateway, the portal)
    also runs that lib's code (its clients/ package). invoices-documents runs the invoices
    code. Returns callee -> callers."""
    callers: dict[str, set[str]] = {}
    edge = "\n".join(p.read_text() for p in (ROOT / "libs/chorus-edge").glob("src/*/**/*.py"))
    for service_dir in sorted(SERVICES_DIR.iterdir()):
        source = "\n".join(p.read_text() for p in service_dir.glob("src/*/**/*.py"))
        if not source:
            continue
        if '"chorus-edge"' in (service_dir / "pyproject.toml").read_text():
            source += "\n" + edge
        callees = set(re.findall(r"channel_for\(\s*settings,\s*\"([a-z-]+)\"\)", source))
        for group in re.findall(r"^SERVICES = \(([^)]*)\)", source, flags=re.MULTILINE):
            callees |= set(re.findall(r"\"([a-z-]+)\"", group))
        if re.search(r"identity_(token_verifier|revocation_feed)\(", source):
            callees.add("identity")
        if "settings.cpro_api_url" in source:
            callees.add("cpro-api")
        if "settings.portal_backend_url" in source:
            callees.add("portal")
        names = [service_dir.name] + (
            ["invoices-documents"] if service_dir.name == "invoices" else []
        )
        for callee in callees:
            for name in names:
                if name != callee:
                    callers.setdefault(callee, set()).add(name)
    return callers


def policy(objects: dict[tuple[str, str], dict[str, Any]], component: str) -> dict[str, Any]:
    return objects[("NetworkPolicy", f"{RELEASE}-{component}")]["spec"]


def api_rule(spec: dict[str, Any]) -> dict[str, Any] | None:
    rules = [r for r in spec.get("ingress", []) if r["ports"][0]["port"] in {"grpc", "http"}]
    assert len(rules) <= 1
    return rules[0] if rules else None


def peer_components(rule: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for peer in rule.get("from", []):
        for expression in (peer.get("podSelector") or {}).get("matchExpressions", []):
            if expression["key"] == "app.kubernetes.io/component":
                found |= set(expression["values"])
    return found


def egress_ports(spec: dict[str, Any]) -> set[int | str]:
    return {port["port"] for rule in spec.get("egress", []) for port in rule["ports"]}


def test_network_policies_are_off_by_default_and_on_in_production() -> None:
    assert of_kind(render(), "NetworkPolicy") == set()
    assert of_kind(render(ci_values("dev")), "NetworkPolicy") == set()
    assert f"{RELEASE}-default-deny" in of_kind(production(), "NetworkPolicy")


def test_every_pod_of_the_release_is_denied_by_default_and_has_its_own_policy() -> None:
    objects = production()
    deny = policy(objects, "default-deny")
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    assert deny["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "chorus",
        "app.kubernetes.io/instance": RELEASE,
    }
    selectors = [
        objects[("NetworkPolicy", name)]["spec"]["podSelector"]["matchLabels"]
        for name in of_kind(objects, "NetworkPolicy")
        if name not in {f"{RELEASE}-default-deny", f"{RELEASE}-dns"}
    ]
    assert len(workloads(objects)) == 4 + 8 + 5  # migrate Jobs, Deployments, CronJobs
    for name, document in workloads(objects).items():
        labels = pod_labels(document)
        assert deny["podSelector"]["matchLabels"].items() <= labels.items(), name
        own = [s for s in selectors if s.items() <= labels.items()]
        assert len(own) == 1, name
        assert own[0]["app.kubernetes.io/component"] == labels["app.kubernetes.io/component"]
    # DNS for every pod, to kube-dns only.
    dns = policy(objects, "dns")
    assert dns["podSelector"] == deny["podSelector"]
    (rule,) = dns["egress"]
    assert {(p["port"], p["protocol"]) for p in rule["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_each_service_is_reachable_only_by_the_services_whose_code_calls_it() -> None:
    callers = code_callers()
    # The graph the code gives, so that a new call shows up here before it fails in a cluster.
    assert callers["identity"] >= {"gateway", "cpro-api", "structures", "invoices"}
    assert callers["cpro-api"] == {"gateway"}
    assert callers["portal"] == {"gateway"}
    assert callers["structures"] >= {"gateway", "portal", "cpro-api"}
    objects = production()
    for component in ("identity", "structures", "invoices", "notifications", "cpro-api", "portal"):
        rule = api_rule(policy(objects, component))
        assert rule is not None, component
        assert peer_components(rule) == callers.get(component, set()), component
        port = objects[("Deployment", f"{RELEASE}-{component}")]["spec"]["template"]["spec"][
            "containers"
        ][0]["ports"][0]
        assert rule["ports"] == [{"port": port["name"], "protocol": "TCP"}], component
    # Nobody calls the gateway or invoices-documents from inside.
    assert peer_components(api_rule(policy(objects, "gateway"))) == set()
    assert api_rule(policy(objects, "invoices-documents")) is None
    # And each caller may open connections to exactly what it calls.
    calls: dict[str, set[str]] = {}
    for callee, names in callers.items():
        for name in names:
            calls.setdefault(name, set()).add(callee)
    ports = {**GRPC, "cpro-api": 8090, "portal": 8070}
    for component in METRICS:
        allowed = {p for p in egress_ports(policy(objects, component)) if p in ports.values()}
        expected = {ports[c] for c in calls.get(component, set())}
        assert allowed == expected, component


def test_only_gateway_portal_and_cpro_api_take_traffic_from_the_ingress_controller() -> None:
    values = ci_values("production")
    objects = render(values)
    selector = values["networkPolicies"]["ingressNamespaceSelector"]
    for component in METRICS:
        rule = api_rule(policy(objects, component))
        namespaces = [p for p in (rule or {}).get("from", []) if "namespaceSelector" in p]
        if component in {"gateway", "portal", "cpro-api"}:
            (peer,) = namespaces
            assert peer["namespaceSelector"] == selector
            assert peer["podSelector"] == values["networkPolicies"]["ingressPodSelector"]
        else:
            assert namespaces == [], component


def test_prometheus_may_scrape_each_metrics_port_named_metrics() -> None:
    values = ci_values("production")
    objects = render(values)
    prometheus = values["networkPolicies"]["prometheus"]
    assert objects[("ConfigMap", f"{RELEASE}-env")]["data"]["CHORUS_METRICS_HOST"] == "0.0.0.0"
    for component, port in METRICS.items():
        deployment = objects[("Deployment", f"{RELEASE}-{component}")]
        ports = pod_spec(deployment)["containers"][0]["ports"]
        assert {"name": "metrics", "containerPort": port, "protocol": "TCP"} in ports
        assert env_of(deployment)["CHORUS_METRICS_PORT"] == str(port)
        rules = [
            r for r in policy(objects, component)["ingress"] if r["ports"][0]["port"] == "metrics"
        ]
        assert rules == [
            {
                "ports": [{"port": "metrics", "protocol": "TCP"}],
                "from": [
                    {
                        "namespaceSelector": prometheus["namespaceSelector"],
                        "podSelector": prometheus["podSelector"],
                    }
                ],
            }
        ], component
        if component != "invoices-documents":
            service = objects[("Service", f"{RELEASE}-{component}")]
            assert {
                "name": "metrics",
                "port": port,
                "targetPort": "metrics",
                "protocol": "TCP",
            } in (service["spec"]["ports"])
    # A Job serves no metrics.
    for name, document in workloads(objects).items():
        if document["kind"] != "Deployment":
            assert env_of(document)["CHORUS_METRICS_PORT"] == "0", name


def test_egress_goes_only_where_each_workload_needs() -> None:
    values = ci_values("production")
    objects = render(values)
    egress = values["networkPolicies"]["egress"]

    def peers(component: str) -> list[list[dict[str, Any]]]:
        return [rule.get("to") for rule in policy(objects, component)["egress"]]

    kinds = {key: egress[key]["to"] for key in ("postgresql", "kafka", "smtp", "otlp", "s3")}
    expected = {
        "identity": {"postgresql", "kafka", "otlp"},
        "structures": {"postgresql", "kafka", "otlp"},
        "invoices": {"postgresql", "kafka", "s3", "otlp"},
        "invoices-documents": {"postgresql", "kafka", "s3", "otlp"},
        "notifications": {"postgresql", "kafka", "smtp", "otlp"},
        "gateway": {"otlp"},
        "portal": {"otlp"},
        "cpro-api": {"kafka", "otlp"},
        "identity-migrate": {"postgresql", "otlp"},
        "notifications-purge-records": {"postgresql", "otlp"},
        "invoices-purge-documents": {"postgresql", "s3", "otlp"},
    }
    for component, wanted in expected.items():
        found = {key for key, to in kinds.items() if to in peers(component)}
        assert found == wanted, component
    # Each rule carries the ports of its entry.
    notifications = policy(objects, "notifications")["egress"]
    smtp = next(r for r in notifications if r.get("to") == egress["smtp"]["to"])
    assert smtp["ports"] == egress["smtp"]["ports"]
    # A job takes no connections.
    assert "ingress" not in policy(objects, "invoices-purge-documents")


def test_an_egress_entry_without_peers_allows_its_ports_anywhere() -> None:
    objects = render({"networkPolicies": {"enabled": True}})

    rules = policy(objects, "notifications")["egress"]
    smtp = [r for r in rules if {p["port"] for p in r["ports"]} == {25, 587}]
    assert smtp == [{"ports": [{"port": 25, "protocol": "TCP"}, {"port": 587, "protocol": "TCP"}]}]
    # Without ports, no rule at all (and not an allow-all one).
    objects = render({"networkPolicies": {"enabled": True, "egress": {"smtp": {"ports": []}}}})
    rules = policy(objects, "notifications")["egress"]
    assert all(rule.get("ports") for rule in rules)
    assert 587 not in egress_ports(policy(objects, "notifications"))


def test_each_service_reads_its_own_database_secret_or_the_shared_one() -> None:
    objects = production()
    for name, document in workloads(objects).items():
        service = next((s for s in WITH_DATABASE if name.startswith(f"{RELEASE}-{s}")), None)
        if service is None:
            assert "CHORUS_DATABASE_URL" not in env_of(document), name
            continue
        assert secret_ref(document, "CHORUS_DATABASE_URL") == (
            f"chorus-{service}-database",
            "database-url",
        ), name

    objects = render(
        {
            "postgresql": {
                "identity": {"existingSecret": "identity-role", "existingSecretKey": "uri"},
                "structures": {"url": "postgresql://chorus_structures:pw@pg:5432/postgres"},
            }
        }
    )
    identity = objects[("Deployment", f"{RELEASE}-identity")]
    assert secret_ref(identity, "CHORUS_DATABASE_URL") == ("identity-role", "uri")
    migrate = objects[("Job", f"{RELEASE}-identity-migrate")]
    assert secret_ref(migrate, "CHORUS_DATABASE_URL") == ("identity-role", "uri")
    structures = objects[("Deployment", f"{RELEASE}-structures")]
    assert secret_ref(structures, "CHORUS_DATABASE_URL") == (
        f"{RELEASE}-structures-database",
        "database-url",
    )
    created = objects[("Secret", f"{RELEASE}-structures-database")]
    assert created["stringData"] == {
        "database-url": "postgresql://chorus_structures:pw@pg:5432/postgres"
    }
    # A hook, like the migrate Job that reads it before anything else exists.
    assert created["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    for service in ("invoices", "notifications"):
        deployment = objects[("Deployment", f"{RELEASE}-{service}")]
        assert secret_ref(deployment, "CHORUS_DATABASE_URL") == ("chorus-database", "database-url")


def test_credentials_reach_only_the_workloads_that_use_them_from_their_secrets() -> None:
    objects = production()
    users = {
        "CHORUS_KAFKA_SASL_PASSWORD": (
            ("chorus", "password"),
            {
                "identity",
                "structures",
                "invoices",
                "invoices-documents",
                "notifications",
                "cpro-api",
            },
        ),
        "CHORUS_SMTP_PASSWORD": (("chorus-smtp", "password"), {"notifications"}),
        "CHORUS_KEK": (("chorus-kek", "kek"), {"identity", "notifications"}),
        "CHORUS_S3_ACCESS_KEY_ID": (
            ("chorus-s3", "access-key-id"),
            {"invoices", "invoices-documents", "invoices-purge-documents"},
        ),
        "CHORUS_S3_SECRET_ACCESS_KEY": (
            ("chorus-s3", "secret-access-key"),
            {"invoices", "invoices-documents", "invoices-purge-documents"},
        ),
    }
    for variable, (ref, components) in users.items():
        holders = {
            pod_labels(d)["app.kubernetes.io/component"]
            for d in workloads(objects).values()
            if variable in env_of(d)
        }
        assert holders == components, variable
        for document in workloads(objects).values():
            if variable in env_of(document):
                assert secret_ref(document, variable) == ref, variable
    invoices = env_of(objects[("Deployment", f"{RELEASE}-invoices")])
    assert invoices["CHORUS_DOCUMENT_STORE"] == "s3"
    assert invoices["CHORUS_S3_ENDPOINT_URL"] == "https://s3.example.org"
    assert invoices["CHORUS_S3_BUCKET"] == "chorus-documents"
    assert invoices["CHORUS_S3_REGION"] == "eu-west-3"
    # The Kafka CA, mounted read-only from its Secret where Kafka is used.
    notifications = objects[("Deployment", f"{RELEASE}-notifications")]
    assert env_of(notifications)["CHORUS_KAFKA_SSL_CAFILE"] == "/etc/chorus/kafka/ca.crt"
    assert env_of(notifications)["CHORUS_KAFKA_SASL_USERNAME"] == "chorus"
    (volume,) = [v for v in pod_spec(notifications)["volumes"] if v["name"] == "kafka-tls"]
    assert volume["projected"]["sources"] == [
        {
            "secret": {
                "name": "chorus-cluster-ca-cert",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            }
        }
    ]
    mounts = pod_spec(notifications)["containers"][0]["volumeMounts"]
    assert {"name": "kafka-tls", "mountPath": "/etc/chorus/kafka", "readOnly": True} in mounts
    gateway = objects[("Deployment", f"{RELEASE}-gateway")]
    assert "kafka-tls" not in {v["name"] for v in pod_spec(gateway)["volumes"]}
    # The chart created none of them: they all exist already.
    assert of_kind(objects, "Secret") == set()


def test_the_chart_creates_a_secret_only_from_an_explicit_value() -> None:
    assert of_kind(render(), "Secret") == set()

    objects = render(
        {
            "kafka": {"sasl": {"username": "svc", "password": "kafka-pw"}},
            "smtp": {"password": "smtp-pw"},
            "kek": {"existingSecret": "", "keys": "k1:" + "A" * 43 + "="},
            "documents": {"store": "s3", "s3": {"accessKeyId": "ak", "secretAccessKey": "sk"}},
        }
    )
    assert of_kind(objects, "Secret") == {
        f"{RELEASE}-kafka",
        f"{RELEASE}-smtp",
        f"{RELEASE}-kek",
        f"{RELEASE}-s3",
    }
    assert objects[("Secret", f"{RELEASE}-s3")]["stringData"] == {
        "access-key-id": "ak",
        "secret-access-key": "sk",
    }
    identity = objects[("Deployment", f"{RELEASE}-identity")]
    assert secret_ref(identity, "CHORUS_KEK") == (f"{RELEASE}-kek", "kek")
    assert secret_ref(identity, "CHORUS_KAFKA_SASL_PASSWORD") == (f"{RELEASE}-kafka", "password")
    # Never a literal credential in a pod.
    for document in workloads(objects).values():
        for secret in ("kafka-pw", "smtp-pw", "sk"):
            assert secret not in yaml.safe_dump(pod_spec(document))

    # An existing Secret wins over an explicit value: nothing is created.
    objects = render({"smtp": {"password": "smtp-pw", "existingSecret": "relay"}})
    assert of_kind(objects, "Secret") == set()
    notifications = objects[("Deployment", f"{RELEASE}-notifications")]
    assert secret_ref(notifications, "CHORUS_SMTP_PASSWORD") == ("relay", "password")


def test_s3_without_credentials_is_refused() -> None:
    assert "documents.s3.existingSecret" in render_error({"documents": {"store": "s3"}})


def test_kafka_topology_and_security_come_from_values() -> None:
    config = render()[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert (
        config["CHORUS_KAFKA_PARTITIONS"],
        config["CHORUS_KAFKA_REPLICATION_FACTOR"],
        config["CHORUS_KAFKA_MIN_INSYNC_REPLICAS"],
    ) == ("3", "1", "1")
    assert config["CHORUS_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert "CHORUS_KAFKA_SASL_MECHANISM" not in config

    config = production()[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert (
        config["CHORUS_KAFKA_PARTITIONS"],
        config["CHORUS_KAFKA_REPLICATION_FACTOR"],
        config["CHORUS_KAFKA_MIN_INSYNC_REPLICAS"],
    ) == ("3", "3", "2")
    assert config["CHORUS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["CHORUS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"


def test_grpc_addresses_name_the_headless_services() -> None:
    objects = render()
    config = objects[("ConfigMap", f"{RELEASE}-env")]["data"]
    for name, port in GRPC.items():
        headless = objects[("Service", f"{RELEASE}-{name}-headless")]["spec"]
        normal = objects[("Service", f"{RELEASE}-{name}")]["spec"]
        assert headless["clusterIP"] == "None"
        assert headless["publishNotReadyAddresses"] is False
        assert headless["selector"] == normal["selector"]
        assert headless["ports"] == [
            {
                "name": "grpc",
                "port": port,
                "targetPort": "grpc",
                "protocol": "TCP",
                "appProtocol": "kubernetes.io/h2c",
            }
        ]
        assert config[f"CHORUS_{name.upper()}_ADDR"] == f"dns:///{RELEASE}-{name}-headless:{port}"
    assert ("Service", f"{RELEASE}-gateway-headless") not in objects

    objects = render({"services": {"identity": {"headless": False}}})
    assert ("Service", f"{RELEASE}-identity-headless") not in objects
    config = objects[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert config["CHORUS_IDENTITY_ADDR"] == f"{RELEASE}-identity:50051"


def test_pods_drain_within_their_grace_period_without_a_prestop_hook() -> None:
    objects = production()
    assert objects[("ConfigMap", f"{RELEASE}-env")]["data"]["CHORUS_SHUTDOWN_DELAY_SECONDS"] == "5"
    for name, document in workloads(objects).items():
        spec = pod_spec(document)
        assert spec["terminationGracePeriodSeconds"] == 30, name
        assert "lifecycle" not in spec["containers"][0], name
    error = render_error({"shutdownDelaySeconds": 20})
    assert "terminationGracePeriodSeconds (30) must cover shutdownDelaySeconds (20)" in error


def test_liveness_is_the_process_and_readiness_the_database() -> None:
    objects = render()
    for name in GRPC:
        (only,) = pod_spec(objects[("Deployment", f"{RELEASE}-{name}")])["containers"]
        assert only["livenessProbe"]["grpc"] == {"port": GRPC[name], "service": "chorus.liveness"}
        assert only["startupProbe"]["grpc"] == {"port": GRPC[name], "service": "chorus.liveness"}
        # The default entry: NOT_SERVING while the database does not answer.
        assert only["readinessProbe"]["grpc"] == {"port": GRPC[name]}


def test_retention_cronjobs_purge_every_database_and_the_documents() -> None:
    assert of_kind(render(), "CronJob") == set()

    objects = production()
    cronjobs = {name: d for (kind, name), d in objects.items() if kind == "CronJob"}
    assert {name: pod_spec(d)["containers"][0]["args"] for name, d in cronjobs.items()} == {
        **{f"{RELEASE}-{s}-purge-records": ["purge-records"] for s in WITH_DATABASE},
        f"{RELEASE}-invoices-purge-documents": ["purge-documents"],
    }
    reference = pod_spec(objects[("Deployment", f"{RELEASE}-identity")])
    for name, cronjob in cronjobs.items():
        spec = cronjob["spec"]
        assert spec["schedule"] == "17 3 * * *"
        assert spec["concurrencyPolicy"] == "Forbid"
        assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 3)
        assert spec["jobTemplate"]["spec"]["backoffLimit"] == 2
        pod = pod_spec(cronjob)
        assert pod["restartPolicy"] == "Never"
        assert pod["securityContext"] == reference["securityContext"]
        assert pod["automountServiceAccountToken"] is False
        (only,) = pod["containers"]
        assert only["securityContext"] == reference["containers"][0]["securityContext"]
        service = name.removeprefix(f"{RELEASE}-").split("-purge-")[0]
        image = pod_spec(objects[("Deployment", f"{RELEASE}-{service}")])["containers"][0]["image"]
        assert only["image"] == image, name
    documents = env_of(cronjobs[f"{RELEASE}-invoices-purge-documents"])
    assert documents["CHORUS_DOCUMENT_STORE"] == "s3"
    assert "CHORUS_DOCUMENT_STORE" not in env_of(cronjobs[f"{RELEASE}-invoices-purge-records"])


def test_every_deployment_has_a_disruption_budget_that_never_blocks_a_drain() -> None:
    objects = render()
    deployments = of_kind(objects, "Deployment")
    assert of_kind(objects, "PodDisruptionBudget") == deployments
    for name in deployments:
        pdb = objects[("PodDisruptionBudget", name)]["spec"]
        assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb
        labels = objects[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items()


def test_production_pins_every_image_by_digest() -> None:
    for name, document in workloads(production()).items():
        image = pod_spec(document)["containers"][0]["image"]
        pinned = r"ghcr\.io/example/chorus/[a-z-]+:0\.1\.0@sha256:[0-9a-f]{64}"
        assert re.fullmatch(pinned, image), name


SKIP = re.compile(r"^checkov\.io/skip\d+$")


@pytest.mark.parametrize("value_set", ["defaults", "dev", "production", "minimal"])
def test_every_checkov_skip_names_a_check_and_gives_a_reason(value_set: str) -> None:
    objects = render(None if value_set == "defaults" else ci_values(value_set))
    skipped: dict[str, set[str]] = {}
    for (kind, name), document in objects.items():
        annotations = document["metadata"].get("annotations") or {}
        numbers = []
        for key, value in annotations.items():
            if not key.startswith("checkov.io/"):
                continue
            assert SKIP.match(key), (name, key)
            numbers.append(int(key.removeprefix("checkov.io/skip")))
            check, _, reason = value.partition("=")
            assert re.fullmatch(r"CKV2?_K8S_\d+", check), (name, value)
            # checkov splits on "=": a second one would break the skip.
            assert "=" not in reason and len(reason.split()) >= 8, (name, value)
            skipped.setdefault(check, set()).add(f"{kind}/{name}")
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), name
    if value_set == "production":
        # Digests pinned and NetworkPolicies on: only the environment-variable credentials.
        assert set(skipped) == {"CKV_K8S_35"}
    else:
        assert "CKV2_K8S_6" in skipped and "CKV_K8S_43" in skipped


def test_the_value_sets_make_lint_renders() -> None:
    assert sorted(p.name for p in (CHART / "ci").glob("*-values.yaml")) == [
        "dev-values.yaml",
        "minimal-values.yaml",
        "production-values.yaml",
    ]
    values = ci_values("production")
    assert values["networkPolicies"]["enabled"] and values["retention"]["enabled"]
    assert values["documents"]["store"] == "s3"
    assert values["kafka"]["securityProtocol"] == "SASL_SSL"
    for name in ("dev", "minimal"):
        render(ci_values(name))


def test_the_ingress_routes_the_api_to_the_gateway_and_the_rest_to_the_portal() -> None:
    objects = render({"ingress": {"enabled": True}})
    rules = objects[("Ingress", f"{RELEASE}-gateway")]["spec"]["rules"]
    routes = {
        path["path"]: path["backend"]["service"]["name"] for path in rules[0]["http"]["paths"]
    }
    assert routes == {
        "/cpro": f"{RELEASE}-cpro-api",
        "/api/oauth": f"{RELEASE}-cpro-api",
        "/api": f"{RELEASE}-gateway",
        "/.well-known": f"{RELEASE}-gateway",
        "/static/swagger-ui": f"{RELEASE}-gateway",
        "/static/api-docs": f"{RELEASE}-gateway",
        "/": f"{RELEASE}-portal",
    }
    # The gateway relays the portal's paths for in-cluster callers and port-forwards.
    env = objects[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert env["CHORUS_PORTAL_BACKEND_URL"] == f"http://{RELEASE}-portal:8070"
    portal = objects[("Deployment", f"{RELEASE}-portal")]["spec"]["template"]["spec"]
    (container,) = portal["containers"]
    assert container["ports"][0]["containerPort"] == 8070
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_without_the_portal_the_ingress_sends_everything_to_the_gateway() -> None:
    objects = render({"ingress": {"enabled": True}, "services": {"portal": {"enabled": False}}})
    rules = objects[("Ingress", f"{RELEASE}-gateway")]["spec"]["rules"]
    paths = {p["path"]: p["backend"]["service"]["name"] for p in rules[0]["http"]["paths"]}
    assert paths["/"] == f"{RELEASE}-gateway"
    assert "/api" not in paths
    env = objects[("ConfigMap", f"{RELEASE}-env")]["data"]
    assert env["CHORUS_PORTAL_BACKEND_URL"] == ""
