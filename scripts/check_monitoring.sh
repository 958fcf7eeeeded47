#!/usr/bin/env bash
# Offline checks of the monitoring the chart ships and compose loads
# (deploy/helm/chorus/files/): the Prometheus rules and the Grafana dashboards.
#
#   scripts/check_monitoring.sh
#
#   - `promtool check rules` on the rules file, and `promtool test rules` on its unit tests
#     (every alert fires on synthetic series, and stays quiet on healthy ones);
#   - each dashboard is JSON with a unique uid, a templated Prometheus datasource
#     (${datasource}) used by every panel and query, `job` and `namespace` variables;
#   - every dashboard query is PromQL: with Grafana's variables replaced, the queries are
#     written as recording rules into a scratch file that `promtool check rules` parses;
#   - compose's Prometheus configuration (`promtool check config`), with the rules beside it.
# Needs promtool (Debian package `prometheus`) and the worktree's .venv. Prints one line per
# check and the tool's output under a failing one; exits 1 if any fails. lint_deploy.sh runs it.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
bin=${VENV:-$root/.venv}/bin
files=${CHORUS_MONITORING_FILES:-deploy/helm/chorus/files}
rules=$files/rules/chorus.rules.yaml
rules_test=$files/rules/chorus.rules.test.yaml
dashboards=$files/dashboards
prometheus_config=${CHORUS_PROMETHEUS_CONFIG:-deploy/compose/prometheus/prometheus.yml}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

check() {
  local name=$1
  shift
  if "$@" >"$work/output" 2>&1; then
    printf 'ok    %s\n' "$name"
  else
    printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$work/output"
    failed=1
  fi
}

if ! command -v promtool >/dev/null; then
  echo "FAIL  promtool not found (apt-get install prometheus)"
  exit 1
fi

check "promtool check rules $rules" promtool check rules "$rules"
check "promtool test rules $rules_test" promtool test rules "$rules_test"

# check_dashboards DIR OUT: checks the dashboards' structure and writes their queries, Grafana
# variables replaced, as a rule file OUT for promtool.
# shellcheck disable=SC2329
check_dashboards() {
  "$bin/python" - "$1" "$2" <<'PYTHON'
import json
import re
import sys
from pathlib import Path

directory, out = Path(sys.argv[1]), Path(sys.argv[2])
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
VARIABLES = {
    "$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
    "$job": "chorus-.+", "$namespace": ".*",
}
errors, rules, uids = [], [], {}
paths = sorted(directory.glob("*.json"))
if not paths:
    errors.append(f"{directory}: no dashboard")


def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


for path in paths:
    try:
        board = json.loads(path.read_text())
    except ValueError as error:
        errors.append(f"{path}: not JSON: {error}")
        continue
    if not board.get("uid") or not board.get("title"):
        errors.append(f"{path}: no uid or title")
    if board.get("uid") in uids:
        errors.append(f"{path}: uid {board['uid']} also in {uids[board['uid']]}")
    uids[board.get("uid")] = path
    variables = {v.get("name"): v for v in board.get("templating", {}).get("list", [])}
    source = variables.get("datasource", {})
    if source.get("type") != "datasource" or source.get("query") != "prometheus":
        errors.append(f"{path}: no `datasource` variable of Prometheus data sources")
    for name in ("job", "namespace"):
        if variables.get(name, {}).get("type") != "query":
            errors.append(f"{path}: no `{name}` query variable")
        elif variables[name].get("datasource") != DATASOURCE:
            errors.append(f"{path}: variable {name} does not query ${{datasource}}")
    for panel in panels(board.get("panels", [])):
        if panel.get("type") == "row":
            continue
        title = f"{path.name}: panel {panel.get('title')!r}"
        if panel.get("datasource") != DATASOURCE:
            errors.append(f"{title}: datasource is not ${{datasource}}")
        if not panel.get("targets"):
            errors.append(f"{title}: no query")
        for target in panel.get("targets", []):
            if target.get("datasource", DATASOURCE) != DATASOURCE:
                errors.append(f"{title}: a query's datasource is not ${{datasource}}")
            expr = target.get("expr", "")
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            if "$" in expr:
                errors.append(f"{title}: unknown variable in {target.get('expr')!r}")
            if not re.search(r'job=~"\$job"', target.get("expr", "")):
                errors.append(f"{title}: query not filtered by job=~\"$job\"")
            rules.append({"record": f"dashboard:{len(rules)}", "expr": expr})
out.write_text(json.dumps({"groups": [{"name": "dashboard-queries", "rules": rules}]}))
for error in errors:
    print(error)
sys.exit(1 if errors else 0)
PYTHON
}

check "dashboards $dashboards" check_dashboards "$dashboards" "$work/queries.yaml"
if [[ -s $work/queries.yaml ]]; then
  check "dashboard queries are PromQL (promtool)" promtool check rules "$work/queries.yaml"
fi

# compose's Prometheus reads the rules from rules/ beside its configuration (bind mounts).
if [[ -f $prometheus_config ]]; then
  mkdir -p "$work/prometheus/rules"
  cp "$prometheus_config" "$work/prometheus/prometheus.yml"
  cp "$rules" "$work/prometheus/rules/"
  check "promtool check config $prometheus_config" \
    promtool check config "$work/prometheus/prometheus.yml"
fi

exit "$failed"
