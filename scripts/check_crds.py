"""Validates every custom resource in YAML files against the vendored schema of its CRD.

    python scripts/check_crds.py deploy/platform/*.yaml rendered.yaml [-]

``kubernetes-validate`` checks the built-in kinds and skips the others; this checks the rest:
each document whose API group is not a Kubernetes one (``apps``, ``batch``, ``*.k8s.io``, …)
must have a schema in ``deploy/schemas/<group>/<kind>_<version>.json`` (made from the
operators' own CRDs, pinned: deploy/schemas/README.md) and satisfy it. Unknown fields fail,
as ``kubectl apply`` with strict field validation refuses them. A custom kind with no schema
fails too, unless it is in :data:`ALLOWED_WITHOUT_SCHEMA` (printed on every run), so a new
operator's resource cannot slip through unchecked. ``-`` reads standard input.

Prints one line per custom resource found, every error with its document and field path,
and exits 1 when anything is wrong (2 on a usage error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "deploy" / "schemas"

#: ``group/Kind`` of custom resources accepted without a schema, each with its reason.
ALLOWED_WITHOUT_SCHEMA: dict[str, str] = {}


@dataclass(frozen=True)
class Resource:
    source: str
    index: int
    document: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.document.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kind(self) -> str:
        return str(self.document.get("kind", ""))

    @property
    def label(self) -> str:
        name = (self.document.get("metadata") or {}).get("name", "?")
        return f"{self.source}#{self.index} {self.kind} {name}"


def is_builtin(group: str) -> bool:
    """The core group, the dot-less built-in ones (apps, batch, …) and ``*.k8s.io``."""
    return "." not in group or group.endswith(".k8s.io")


def documents(source: str, text: str) -> Iterator[Resource]:
    for index, document in enumerate(yaml.safe_load_all(text)):
        if not document:
            continue
        if not isinstance(document, dict):
            raise ValueError(f"{source}#{index}: not a mapping")
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            for item in document["items"]:
                yield Resource(source, index, item)
        else:
            yield Resource(source, index, document)


@cache
def schema_for(schemas: Path, group: str, kind: str, version: str) -> dict[str, Any] | None:
    path = schemas / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def problems(resource: Resource, schemas: Path) -> list[str]:
    """What is wrong with one custom resource; empty when it is valid."""
    schema = schema_for(schemas, resource.group, resource.kind, resource.version)
    if schema is None:
        return [f"no schema for {resource.api_version} {resource.kind} in {schemas}"]
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in sorted(validator.iter_errors(resource.document), key=lambda e: list(e.path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(document)"
        found.append(f"{where}: {error.message}")
    return found


def check(sources: dict[str, str], schemas: Path = SCHEMAS, out=sys.stdout) -> int:
    """Checks every custom resource of ``sources`` (name → YAML text); returns the exit code."""
    allowed = ", ".join(f"{k} ({why})" for k, why in ALLOWED_WITHOUT_SCHEMA.items()) or "none"
    print(f"custom kinds allowed without a schema: {allowed}", file=out)
    failed = False
    checked = 0
    for source, text in sources.items():
        try:
            resources = list(documents(source, text))
        except (yaml.YAMLError, ValueError) as exc:
            print(f"FAIL  {source}: not valid YAML: {exc}", file=out)
            failed = True
            continue
        for resource in resources:
            if is_builtin(resource.group):
                continue
            if f"{resource.group}/{resource.kind}" in ALLOWED_WITHOUT_SCHEMA:
                print(f"skip  {resource.label} (allowed without a schema)", file=out)
                continue
            checked += 1
            found = problems(resource, schemas)
            print(f"{'FAIL' if found else 'ok  '}  {resource.label}", file=out)
            for problem in found:
                print(f"        {problem}", file=out)
            failed = failed or bool(found)
    print(f"{checked} custom resources checked", file=out)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="YAML files; - for standard input")
    parser.add_argument("--schemas", type=Path, default=SCHEMAS, help="schema directory")
    args = parser.parse_args(argv)
    sources = {}
    for name in args.files:
        if name == "-":
            sources["<stdin>"] = sys.stdin.read()
            continue
        try:
            sources[name] = Path(name).read_text()
        except OSError as exc:
            print(f"cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
    return check(sources, args.schemas)


if __name__ == "__main__":
    sys.exit(main())
