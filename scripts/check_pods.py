"""Fails when a rendered pod (Deployment, Job or CronJob) loses what the chart promises.

    python scripts/helm_offline.py template deploy/helm/chorus | python scripts/check_pods.py -

Each pod: non-root user 10001, seccomp RuntimeDefault, no service account token, a grace
period. Each container: read-only root filesystem, no privilege escalation, all capabilities
dropped, CPU and memory requests and limits, each env name once (server-side apply rejects a
repeated one; the schemas do not). Deployment containers: startup, readiness and liveness
probes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
#: Workloads whose pods run to completion: no probes.
RUN_TO_COMPLETION = {"Job", "CronJob"}


def pod_problems(pod: dict[str, Any]) -> Iterator[str]:
    security = pod.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True or security.get("runAsUser") != 10001:
        yield "pod must run as non-root user 10001"
    if (security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        yield "pod seccompProfile must be RuntimeDefault"
    if pod.get("automountServiceAccountToken") is not False:
        yield "pod must not mount a service account token"
    if "terminationGracePeriodSeconds" not in pod:
        yield "pod needs terminationGracePeriodSeconds"


def container_problems(container: dict[str, Any], needs_probes: bool) -> Iterator[str]:
    name = container.get("name")
    security = container.get("securityContext") or {}
    if security.get("readOnlyRootFilesystem") is not True:
        yield f"{name}: readOnlyRootFilesystem must be true"
    if security.get("allowPrivilegeEscalation") is not False:
        yield f"{name}: allowPrivilegeEscalation must be false"
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        yield f"{name}: capabilities must drop ALL"
    names = [entry["name"] for entry in container.get("env", [])]
    for repeated in sorted({n for n in names if names.count(n) > 1}):
        yield f"{name}: env {repeated} is set more than once"
    resources = container.get("resources") or {}
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (resources.get(bound) or {}):
                yield f"{name}: needs a {resource} {bound[:-1]}"
    if needs_probes:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe not in container:
                yield f"{name}: needs a {probe}"


def problems(manifest: dict[str, Any]) -> Iterator[str]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec["template"]["spec"]
    yield from pod_problems(pod)
    for container in pod.get("initContainers", []):
        yield from container_problems(container, needs_probes=False)
    for container in pod["containers"]:
        needs_probes = manifest["kind"] not in RUN_TO_COMPLETION
        yield from container_problems(container, needs_probes=needs_probes)


def main() -> int:
    paths = sys.argv[1:] or ["-"]
    failures = 0
    workloads = 0
    for path in paths:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        for manifest in yaml.safe_load_all(text):
            if not manifest or manifest.get("kind") not in WORKLOADS:
                continue
            workloads += 1
            for problem in problems(manifest):
                print(f"{manifest['kind']}/{manifest['metadata']['name']}: {problem}")
                failures += 1
    if workloads == 0:
        print("no workloads found in the manifests")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
