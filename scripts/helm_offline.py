"""`helm lint` and `helm template` without a helm binary or a cluster.

Uses the Helm SDK compiled into the ``helm-python-sdk`` package (a dev dependency), so it works
on any machine after ``uv sync``:

    python scripts/helm_offline.py lint deploy/helm/chorus [-f values.yaml ...]
    python scripts/helm_offline.py template deploy/helm/chorus [-f values.yaml ...] > out.yaml

``lint`` is strict (warnings fail) and also renders the chart, because ``helm lint`` lets a
missing ``required`` value through. ``template`` prints the manifests, hooks included, as one
multi-document YAML stream, like ``helm template``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import helm_python as helm

SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def load_values(paths: list[Path]) -> dict[str, Any]:
    """Merges the values files left to right, as ``helm -f a.yaml -f b.yaml`` does."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, helm.values_from_yaml(path.read_text()))
    return merged


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def render(chart_dir: Path, values: dict[str, Any], name: str, namespace: str) -> str:
    with helm.Chart.load(chart_dir) as chart:
        manifests = chart.render(values, name=name, namespace=namespace, is_install=True)
    documents = []
    for source in sorted(manifests):
        if source.endswith("NOTES.txt"):
            continue
        for document in re.split(r"^---\s*$", manifests[source], flags=re.MULTILINE):
            if document.strip():
                documents.append(f"---\n# Source: {source}\n{document.strip()}\n")
    return "".join(documents)


def lint(chart_dir: Path, values: dict[str, Any], kube_version: str) -> int:
    report = helm.lint(chart_dir, values, strict=True, kube_version=kube_version)
    failed = False
    for message in report["messages"]:
        severity = message["severity"]
        failed |= severity >= 2
        print(f"[{SEVERITY.get(severity, severity)}] {message['path']}: {message['error'].strip()}")
    try:
        render(chart_dir, values, name="lint", namespace="default")
    except helm.HelmError as error:
        print(f"[ERROR] render: {error}")
        failed = True
    return 1 if failed or report["errors"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["lint", "template"])
    parser.add_argument("chart", type=Path)
    parser.add_argument("-f", "--values", type=Path, action="append", default=[])
    parser.add_argument("--name", default="chorus", help="release name (template)")
    parser.add_argument("--namespace", default="chorus", help="namespace (template)")
    parser.add_argument("--kube-version", default="v1.27.0", help="lint against (lint)")
    args = parser.parse_args()

    helm.disable_logging()
    values = load_values(args.values)
    if args.command == "lint":
        return lint(args.chart, values, args.kube_version)
    try:
        sys.stdout.write(render(args.chart, values, args.name, args.namespace))
    except helm.HelmError as error:
        print(f"helm template: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
