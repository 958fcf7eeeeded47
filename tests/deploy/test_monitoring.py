"""The monitoring the chart ships: ServiceMonitors, the PrometheusRule, the dashboards.

The rules and dashboards are files of the chart (``deploy/helm/chorus/files``) that compose's
Prometheus and Grafana load too. These tests render the chart with monitoring on (Helm SDK, no
cluster) and check the objects, and hold the files to the shared contract
(``docs/design/production.md``): every metric a rule or a dashboard reads is one of section 2
(a metric renamed on one side fails here), every alert of section 3 exists, has a runbook
anchor and a promtool unit test. ``scripts/check_monitoring.sh`` (promtool, dashboard
structure) is run on the tree and on broken copies.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "chorus"
FILES = CHART / "files"
RULES = FILES / "rules" / "chorus.rules.yaml"
RULES_TEST = FILES / "rules" / "chorus.rules.test.yaml"
DASHBOARDS = FILES / "dashboards"
CONTRACT = ROOT / "docs" / "design" / "production.md"
CHECK = ROOT / "scripts" / "check_monitoring.sh"
RELEASE = "chorus"
NAMESPACE = "chorus"
MONITORING_ON = {
    "monitoring": {
        "serviceMonitors": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "prometheusRules": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "dashboards": {"enabled": True},
    }
}
# Series Prometheus itself writes, next to those the services export.
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan",
}  # fmt: skip
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed"
)


def render(values: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The release's objects by (kind, name)."""
    helm.disable_logging()
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for source, text in manifests.items():
        if source.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects[(document["kind"], document["metadata"]["name"])] = document
    return objects


def of_kind(objects: dict[tuple[str, str], dict[str, Any]], kind: str) -> dict[str, Any]:
    return {name: obj for (k, name), obj in objects.items() if k == kind}


# --- the contract ------------------------------------------------------------------------


def contract_section(number: int) -> str:
    text = CONTRACT.read_text()
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"section {number} not found in {CONTRACT}"
    return match.group(0)


def contract_metrics() -> set[str]:
    """Prometheus names of section 2's table (second column), histograms with their series."""
    names: set[str] = set()
    for line in contract_section(2).splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 4 or not cells[2].startswith("`"):
            continue
        for name in re.findall(r"`([a-z_:][a-z0-9_:]*\*?)`", cells[2]):
            if name.endswith("_*"):
                names.update(name[:-1] + suffix.lstrip("_") for suffix in HISTOGRAM_SUFFIXES)
            else:
                names.add(name)
    return names


def contract_alerts() -> set[str]:
    return set(re.findall(r"`(Chorus[A-Za-z]+)`", contract_section(3)))


# --- reading PromQL ----------------------------------------------------------------------


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads: identifiers left once strings, label matchers, ranges,
    grouping label lists, functions and keywords are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*(?![\w(])", expr):
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or match.group(0).lower() in PROMQL_WORDS:
            continue
        names.add(match.group(0))
    return names


def load_rules(path: Path = RULES) -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def recorded() -> set[str]:
    return {rule["record"] for rule in load_rules() if "record" in rule}


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def dashboard_queries(board: dict[str, Any]) -> Iterator[str]:
    for panel in panels(board["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            # label_values(<series selector>, <label>): the selector is PromQL.
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", text)
            yield inner.group(1) if inner else text


def unknown_metrics(exprs: list[str], allowed: set[str]) -> dict[str, set[str]]:
    found = {expr: metric_names(expr) - allowed for expr in exprs}
    return {expr: names for expr, names in found.items() if names}


def allowed_metrics() -> set[str]:
    return contract_metrics() | PROMETHEUS_SERIES | recorded()


# --- the files against the contract ------------------------------------------------------


def test_the_contract_lists_the_metrics_this_test_reads() -> None:
    metrics = contract_metrics()
    assert "http_server_request_duration_seconds_bucket" in metrics
    assert "chorus_emails_failed_total" in metrics
    assert "chorus_emails_sent_total" in metrics
    assert "db_client_connection_max" in metrics
    assert len(metrics) > 25
    assert len(contract_alerts()) == 9


def test_the_promql_reader_finds_metric_names() -> None:
    expr = (
        'sum by (job, le) (rate(http_server_request_duration_seconds_bucket{job=~"$job",'
        ' http_route="/a{b}"}[$__rate_interval])) / on (job) group_left (x)'
        " max without (instance) (db_client_connection_max offset 5m) > bool 90 * 86400"
        " unless up == 0"
    )
    assert metric_names(expr) == {
        "http_server_request_duration_seconds_bucket",
        "db_client_connection_max",
        "up",
    }


def test_every_metric_the_rules_read_is_in_the_contract() -> None:
    exprs = [rule["expr"] for rule in load_rules()]
    assert unknown_metrics(exprs, allowed_metrics()) == {}


def test_every_metric_the_dashboards_read_is_in_the_contract() -> None:
    boards = dashboards()
    assert set(boards) == {"chorus-overview.json", "chorus-events.json", "chorus-resources.json"}
    exprs = [expr for board in boards.values() for expr in dashboard_queries(board)]
    assert unknown_metrics(exprs, allowed_metrics()) == {}


def test_a_renamed_metric_is_caught() -> None:
    """The check is not vacuous: a rule or a panel reading a name the contract does not list
    (here the OTel name before the exporter's renaming) is reported."""
    rules = [rule["expr"] for rule in load_rules()]
    renamed = [
        expr.replace("chorus_outbox_oldest_age_seconds", "chorus_outbox_oldest_age")
        for expr in rules
    ]
    assert set().union(*unknown_metrics(renamed, allowed_metrics()).values()) == {
        "chorus_outbox_oldest_age"
    }
    board = dashboards()["chorus-events.json"]
    exprs = [
        e.replace("chorus_consumer_lag", "kafka_consumer_lag") for e in dashboard_queries(board)
    ]
    assert set().union(*unknown_metrics(exprs, allowed_metrics()).values()) == {
        "kafka_consumer_lag"
    }


def test_the_dashboards_show_every_metric_of_the_contract() -> None:
    used = {
        name
        for board in dashboards().values()
        for expr in dashboard_queries(board)
        for name in metric_names(expr)
    }
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    missing = {
        name
        for name in contract_metrics()
        if name not in used and re.sub(r"_(bucket|count|sum)$", "", name) not in families
    }
    assert missing == set()


def test_the_rules_raise_exactly_the_contracts_alerts() -> None:
    rules = load_rules()
    alerts = {rule["alert"] for rule in rules if "alert" in rule}
    assert alerts == contract_alerts()
    for rule in rules:
        if "alert" not in rule:
            continue
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert rule["annotations"]["runbook_url"] == f"deploy/README.md#alert-{name.lower()}"
        assert re.fullmatch(r"\d+[mh]", rule["for"]), name


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not() -> None:
    tests = yaml.safe_load(RULES_TEST.read_text())
    assert tests["rule_files"] == [RULES.name]
    fires: set[str] = set()
    quiet: set[str] = set()
    for group in tests["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case["exp_alerts"] else quiet).add(case["alertname"])
    assert fires == contract_alerts()
    assert quiet == contract_alerts()


@needs_promtool
def test_promtool_fails_when_an_alert_stops_firing(tmp_path: Path) -> None:
    """The unit tests can fail: with the outbox threshold raised, the expected alert is
    missing."""
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    (tmp_path / RULES.name).write_text(
        RULES.read_text().replace(
            '(chorus_outbox_oldest_age_seconds{job=~"chorus-.+"}) > 300',
            '(chorus_outbox_oldest_age_seconds{job=~"chorus-.+"}) > 900',
        )
    )
    assert (tmp_path / RULES.name).read_text() != RULES.read_text()
    result = subprocess.run(
        ["promtool", "test", "rules", RULES_TEST.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ChorusOutboxBacklogOld" in result.stdout + result.stderr


# --- scripts/check_monitoring.sh ---------------------------------------------------------


def run_check(files: Path = FILES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CHECK)],
        env={"PATH": "/usr/bin:/bin", "CHORUS_MONITORING_FILES": str(files)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@needs_promtool
def test_check_monitoring_passes_on_the_tree() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert result.stdout.count("ok ") >= 4


def first_panel(board: dict[str, Any]) -> dict[str, Any]:
    return next(panel for panel in panels(board["panels"]) if panel.get("targets"))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda board: first_panel(board)["targets"][0].update(expr="sum(rate(up[5m])"),
            "dashboard queries are PromQL",
        ),
        (
            lambda board: first_panel(board).update(
                datasource={"type": "prometheus", "uid": "abc"}
            ),
            "datasource is not ${datasource}",
        ),
        (lambda board: board["templating"]["list"].pop(1), "no `namespace` query variable"),
        (
            lambda board: first_panel(board)["targets"][0].update(expr="sum(up)"),
            'not filtered by job=~"$job"',
        ),
    ],
)
@needs_promtool
def test_check_monitoring_fails_on_a_broken_dashboard(
    tmp_path: Path, breakage: Any, message: str
) -> None:
    files = tmp_path / "files"
    shutil.copytree(FILES, files)
    path = files / "dashboards" / "chorus-overview.json"
    board = json.loads(path.read_text())
    breakage(board)
    path.write_text(json.dumps(board))

    result = run_check(files)
    assert result.returncode == 1
    assert message in result.stdout


@needs_promtool
def test_check_monitoring_fails_on_a_broken_rule_file(tmp_path: Path) -> None:
    files = tmp_path / "files"
    shutil.copytree(FILES, files)
    rules = files / "rules" / RULES.name
    rules.write_text(rules.read_text().replace("for: 2m", "for: two minutes"))

    result = run_check(files)
    assert result.returncode == 1
    assert "FAIL  promtool check rules" in result.stdout


# --- the chart ----------------------------------------------------------------------------


def test_monitoring_is_off_by_default() -> None:
    objects = render()
    kinds = {kind for kind, _ in objects}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert not [name for name in of_kind(objects, "ConfigMap") if "dashboard" in name]


def test_a_service_monitor_scrapes_each_services_metrics_port() -> None:
    objects = render(MONITORING_ON)
    monitors = of_kind(objects, "ServiceMonitor")
    services = of_kind(objects, "Service")
    assert set(monitors) == {
        f"{RELEASE}-{name}"
        for name in (
            "identity",
            "structures",
            "invoices",
            "notifications",
            "gateway",
            "portal",
            "cpro-api",
        )
    }
    for name, monitor in monitors.items():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        selected = [
            service
            for service in services.values()
            if selector.items() <= service["metadata"]["labels"].items()
        ]
        assert [
            s["metadata"]["name"] for s in selected if s["spec"].get("clusterIP") != "None"
        ] == [name]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == "metrics"
        assert endpoint["path"] == "/metrics"
        assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
        # The job the alerts and dashboards select, whatever the release is called.
        assert {
            "targetLabel": "job",
            "replacement": name.replace(RELEASE, "chorus", 1),
            "action": "replace",
        } in endpoint["relabelings"]
        assert endpoint["relabelings"][0] == {
            "sourceLabels": ["__meta_kubernetes_service_cluster_ip"],
            "regex": "None",
            "action": "drop",
        }


def test_every_scraped_service_has_a_metrics_port() -> None:
    """The port the monitors name exists: each selected Service has a port named `metrics`
    pointing at the container port of that name."""
    objects = render(MONITORING_ON)
    for name in of_kind(objects, "ServiceMonitor"):
        service = objects[("Service", name)]
        ports = {port["name"]: port for port in service["spec"]["ports"]}
        assert "metrics" in ports, f"Service {name} has no port named metrics"
        assert ports["metrics"]["targetPort"] == "metrics"
    for (kind, name), deployment in objects.items():
        if kind == "Deployment":
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            names = {port.get("name") for port in container.get("ports", [])}
            assert "metrics" in names, f"Deployment {name} has no container port named metrics"


def test_invoices_documents_is_scraped_through_a_pod_monitor() -> None:
    objects = render(MONITORING_ON)
    (monitor,) = of_kind(objects, "PodMonitor").values()
    assert monitor["metadata"]["name"] == f"{RELEASE}-invoices-documents"
    pod_labels = objects[("Deployment", f"{RELEASE}-invoices-documents")]["spec"]["template"][
        "metadata"
    ]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    other_pods = [
        obj["spec"]["template"]["metadata"]["labels"]
        for (kind, name), obj in objects.items()
        if kind == "Deployment" and name != f"{RELEASE}-invoices-documents"
    ]
    assert not any(
        monitor["spec"]["selector"]["matchLabels"].items() <= p.items() for p in other_pods
    )
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert {
        "targetLabel": "job",
        "replacement": "chorus-invoices-documents",
        "action": "replace",
    } in endpoint["relabelings"]


def test_monitors_follow_the_enabled_workloads() -> None:
    objects = render(
        {
            **MONITORING_ON,
            "services": {"cpro-api": {"enabled": False}},
            "invoicesDocuments": {"enabled": False},
        }
    )
    assert f"{RELEASE}-cpro-api" not in of_kind(objects, "ServiceMonitor")
    assert of_kind(objects, "PodMonitor") == {}


def test_the_job_name_does_not_depend_on_the_release_name() -> None:
    helm.disable_logging()
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(
            MONITORING_ON, name="prod", namespace="einvoicing", is_install=True
        )
    monitors = [
        doc
        for source, text in manifests.items()
        if not source.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc and doc["kind"] == "ServiceMonitor"
    ]
    jobs = {
        relabel["replacement"]
        for monitor in monitors
        for relabel in monitor["spec"]["endpoints"][0]["relabelings"]
        if relabel.get("targetLabel") == "job"
    }
    assert "chorus-identity" in jobs
    assert all(job.startswith("chorus-") for job in jobs)
    assert {m["metadata"]["name"] for m in monitors} >= {"prod-chorus-identity"}


def test_the_prometheus_rule_is_the_rules_file() -> None:
    objects = render(MONITORING_ON)
    (rule,) = of_kind(objects, "PrometheusRule").values()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    assert rule["spec"]["groups"][0]["name"] == "chorus"


def test_the_runbook_base_url_prefixes_every_runbook_link() -> None:
    values = json.loads(json.dumps(MONITORING_ON))
    values["monitoring"]["prometheusRules"]["runbookBaseUrl"] = "https://git.example.org/chorus/"
    (rule,) = of_kind(render(values), "PrometheusRule").values()
    links = [
        r["annotations"]["runbook_url"]
        for group in rule["spec"]["groups"]
        for r in group["rules"]
        if "alert" in r
    ]
    assert len(links) == 10
    assert all(
        re.fullmatch(r"https://git\.example\.org/chorus/deploy/README\.md#alert-chorus[a-z]+", link)
        for link in links
    ), links
    # Templates in annotations reach Prometheus as written, not expanded by Helm.
    assert "{{ $labels.job }}" in rule["spec"]["groups"][0]["rules"][0]["annotations"]["summary"]


def test_each_dashboard_is_a_configmap_for_grafanas_sidecar() -> None:
    objects = render(MONITORING_ON)
    maps = {name: cm for name, cm in of_kind(objects, "ConfigMap").items() if "dashboard" in name}
    assert set(maps) == {f"{RELEASE}-dashboard-{n}" for n in ("overview", "events", "resources")}
    for configmap in maps.values():
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["namespace"] == NAMESPACE
        ((key, text),) = configmap["data"].items()
        assert json.loads(text) == json.loads((DASHBOARDS / key).read_text())


def test_the_dashboard_label_and_namespace_are_configurable() -> None:
    values = json.loads(json.dumps(MONITORING_ON))
    values["monitoring"]["dashboards"].update(
        label="grafana-dashboards",
        labelValue="chorus",
        namespace="grafana",
        annotations={"grafana_folder": "Chorus"},
    )
    objects = render(values)
    maps = [cm for name, cm in of_kind(objects, "ConfigMap").items() if "dashboard" in name]
    assert len(maps) == 3
    for configmap in maps:
        assert configmap["metadata"]["labels"]["grafana-dashboards"] == "chorus"
        assert "grafana_dashboard" not in configmap["metadata"]["labels"]
        assert configmap["metadata"]["namespace"] == "grafana"
        assert configmap["metadata"]["annotations"] == {"grafana_folder": "Chorus"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"monitoring": {"serviceMonitors": {"enabled": True, "interval": "30 seconds"}}},
            "interval",
        ),
        (
            {"monitoring": {"prometheusRules": {"enabled": True, "runbookBaseUrl": "git.example"}}},
            "runbookBaseUrl",
        ),
        ({"monitoring": {"dashboards": {"enabled": "yes"}}}, "enabled"),
        ({"monitoring": {"serviceMonitor": {"enabled": True}}}, "serviceMonitor"),
    ],
)
def test_bad_monitoring_values_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as error:
        render(values)
    assert message in str(error.value)
