"""Turns CustomResourceDefinition YAML files into strict JSON schemas, one per served version.

    python deploy/schemas/convert_crds.py OUT_DIR CRD.yaml...

writes ``OUT_DIR/<group>/<kind>_<version>.json`` (kind in lower case) for every version of
each CRD, from its ``schema.openAPIV3Schema``. The schema data is the operators' own; this
script only translates the Kubernetes dialect of OpenAPI v3 into JSON Schema (draft 2020-12)
the way the API server reads it:

* an object with ``properties`` and neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields`` gets ``additionalProperties: false``: the API
  server prunes unknown fields (and ``kubectl apply`` refuses them with strict field
  validation), so a misspelt field is a mistake we want to see in lint, not silently dropped;
* ``nullable: true`` allows ``null``; ``x-kubernetes-int-or-string: true`` allows an integer
  or a string;
* descriptions are dropped (they make up most of the size and change with every release).

``metadata`` is left as the CRDs declare it (``type: object``): names and labels are checked
by ``kubernetes-validate`` on the chart, not here. CEL rules (``x-kubernetes-validations``)
cannot be evaluated offline and are dropped. See README.md for the sources and commits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DROPPED = {"description", "x-kubernetes-validations", "example"}


def strict(node: Any) -> Any:
    """``node`` (an OpenAPI v3 schema of a CRD) translated into strict JSON Schema."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: strict(child) for name, child in value.items()}
        else:
            out[key] = strict(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable"):
        out.pop("nullable")
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def convert(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """File name (``<group>/<kind>_<version>.json``) → JSON schema, for each served version."""
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    schemas = {}
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        properties = schema.setdefault("properties", {})
        # Pin apiVersion and kind so that a document is checked against the right schema only.
        properties["apiVersion"] = {"const": f"{group}/{version['name']}"}
        properties["kind"] = {"const": kind}
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
        schemas[f"{group}/{kind.lower()}_{version['name']}.json"] = {
            "$schema": DIALECT,
            "title": f"{kind} {group}/{version['name']}",
            **schema,
        }
    return schemas


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    for path in argv[1:]:
        for document in yaml.safe_load_all(Path(path).read_text()):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            for name, schema in convert(document).items():
                target = out_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
