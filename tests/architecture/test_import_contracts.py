"""The architecture contracts (`.importlinter`) hold, and a deliberate violation fails them.

`make lint` runs `lint-imports` on the tree as it is. These tests prove the contracts can fail:
each copies one package to a scratch folder, adds one import that breaks one rule, puts the
copy ahead of the installed package on PYTHONPATH, and expects lint-imports to fail naming the
broken contract. The working tree is never modified.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Wide output: a contract's name and its KEPT/BROKEN stay on one line.
    env = {**os.environ, "PYTHONPATH": str(extra_path) if extra_path else "", "COLUMNS": "400"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(CONFIG)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


def with_violation(tmp_path: Path, package: str, module: str, source: str) -> Path:
    """A copy of ``package`` where ``module`` (a path inside it) also holds ``source``."""
    copy = tmp_path / package
    shutil.copytree(package_dir(package), copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = target.read_text() if target.exists() else ""
    target.write_text(existing + "\n" + source + "\n")
    return tmp_path


def test_the_tree_keeps_every_contract():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("package", "module", "source", "contract"),
    [
        pytest.param(
            "chorus_invoices",
            "domain/lifecycle.py",
            "import asyncpg  # noqa",
            "Domains are pure",
            id="domain-uses-the-database",
        ),
        pytest.param(
            "chorus_invoices",
            "domain/totals.py",
            "from chorus_platform import outbox  # noqa",
            "Domains are pure",
            id="domain-reaches-infrastructure-indirectly",
        ),
        pytest.param(
            "chorus_identity",
            "events/outgoing.py",
            "from chorus_identity.api import mapping  # noqa",
            "Every backend service",
            id="outgoing-events-import-the-api",
        ),
        pytest.param(
            "chorus_structures",
            "domain/spaces.py",
            "from chorus_structures import usecases  # noqa",
            "Every backend service",
            id="domain-imports-a-use-case",
        ),
        pytest.param(
            "chorus_notifications",
            "shortcuts.py",
            "X = 1",
            "Every backend service",
            id="a-module-outside-the-layers",
        ),
        pytest.param(
            "chorus_invoices",
            "api/servicer.py",
            "from chorus_invoices.store import invoices as _store  # noqa",
            "through use cases",
            id="api-reads-the-store",
        ),
        pytest.param(
            "chorus_structures",
            "usecases/structures.py",
            "import grpc  # noqa",
            "Use cases know no transport",
            id="use-case-speaks-grpc",
        ),
        pytest.param(
            "chorus_invoices",
            "usecases/reading.py",
            "import chorus_structures.domain  # noqa",
            "Services never import each other",
            id="service-imports-another",
        ),
        pytest.param(
            "chorus_platform",
            "outbox.py",
            "import chorus_invoices  # noqa",
            "chorus_platform is infrastructure only",
            id="platform-imports-a-service",
        ),
        pytest.param(
            "chorus_portal",
            "web/pages.py",
            "from chorus_gateway import api  # noqa",
            "Services never import each other",
            id="portal-imports-the-rest-api",
        ),
        pytest.param(
            "chorus_portal",
            "web/pages.py",
            "from chorus_portal import app  # noqa",
            "portal",
            id="portal-page-imports-the-app",
        ),
        pytest.param(
            "chorus_gateway",
            "relay.py",
            "from chorus_gateway import api  # noqa",
            "gateway",
            id="gateway-relay-imports-the-api",
        ),
        pytest.param(
            "chorus_edge",
            "problems.py",
            "import chorus_portal.web  # noqa",
            "chorus_edge is what the gateway and the portal share",
            id="edge-imports-the-portal",
        ),
        pytest.param(
            "chorus_edge",
            "clients/caller.py",
            "from chorus_edge import callers  # noqa",
            "chorus_edge:",
            id="edge-clients-import-the-callers",
        ),
        pytest.param(
            "chorus_cpro_api",
            "edge/envelope.py",
            "from chorus_cpro_api import api  # noqa",
            "cpro-api",
            id="cpro-api-edge-imports-its-routes",
        ),
        pytest.param(
            "chorus_cpro_api",
            "clients/invoices.py",
            "import chorus_invoices.domain  # noqa",
            "Services never import each other",
            id="cpro-api-imports-a-service",
        ),
    ],
)
def test_a_deliberate_violation_fails_the_lint(tmp_path, package, module, source, contract):
    result = lint_imports(with_violation(tmp_path, package, module, source))
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
