"""Keeps compose, the images and the Helm chart on the one registry in docs/configuration.md.

    python scripts/check_env_registry.py docker-compose.yml deploy/docker/Dockerfile \
        rendered-chart.yaml ...

Services ignore variables they do not define, so a misspelt name in a deployment file would be
dropped silently. This fails when a file sets a ``CHORUS_*``/``OTEL_*`` variable that the
registry does not list, or when the registry lists a ``CHORUS_*`` variable that no service's
settings define.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from chorus_platform.settings import ChorusSettings

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "docs" / "configuration.md"
# Baked into the images for deploy/docker/healthcheck.py; no service reads them.
IMAGE_ONLY = {"CHORUS_IMAGE_SERVICE", "CHORUS_IMAGE_PORT"}
NAME = re.compile(r"\b((?:CHORUS|OTEL)_[A-Z0-9_]+)\b")


def registry_names() -> set[str]:
    """Names in the first column of the tables of docs/configuration.md."""
    names: set[str] = set()
    for line in REGISTRY.read_text().splitlines():
        if line.startswith("| `"):
            names.update(NAME.findall(line.split("|")[1]))
    return names


def settings_names() -> set[str]:
    """Variables the settings classes define: the platform base and every service's config."""
    modules = ["chorus_platform.settings"]
    for config in sorted(ROOT.glob("services/*/src/chorus_*/config.py")):
        modules.append(f"{config.parent.name}.config")
    names: set[str] = set()
    for module_name in modules:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ChorusSettings):
                prefix = value.model_config.get("env_prefix", "")
                names.update(f"{prefix}{field}".upper() for field in value.model_fields)
    return names


def compose_names(document: dict[str, Any]) -> Iterator[str]:
    for service in document.get("services", {}).values():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        yield from (name for name in environment if NAME.fullmatch(name))


def manifest_names(document: dict[str, Any]) -> Iterator[str]:
    if document.get("kind") == "ConfigMap":
        yield from (name for name in document.get("data") or {} if NAME.fullmatch(name))
        return
    spec = document.get("spec") or {}
    if document.get("kind") == "CronJob":  # its pods are one level further down
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        yield from (entry["name"] for entry in container.get("env", []))


def names_used(path: Path) -> Iterable[str]:
    text = path.read_text()
    if path.suffix not in {".yml", ".yaml"}:  # a Dockerfile: ENV NAME=value
        return re.findall(r"\b((?:CHORUS|OTEL)_[A-Z0-9_]+)=", text)
    documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    if any("services" in d and "kind" not in d for d in documents):
        return [name for d in documents for name in compose_names(d)]
    return [name for d in documents for name in manifest_names(d)]


def main() -> int:
    documented = registry_names()
    failures = []
    for argument in sys.argv[1:]:
        for name in sorted(set(names_used(Path(argument))) - documented):
            failures.append(f"{argument}: {name} is not in docs/configuration.md")
    defined = settings_names() | IMAGE_ONLY
    for name in sorted(n for n in documented - defined if n.startswith("CHORUS_")):
        failures.append(f"docs/configuration.md: {name} is not a setting of any service")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
