"""Shared fixtures for the devstack's own tests."""

import sys
from pathlib import Path

import pytest
from chorus_devstack.supervisor import SERVICES

STANDIN = Path(__file__).parent / "standin" / "service.py"


@pytest.fixture(scope="session")
def standin_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin directory with one stand-in console script per service in SERVICES."""
    bin_dir = tmp_path_factory.mktemp("standin-bin")
    for service in SERVICES:
        script = bin_dir / service.script
        script.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {service.name} {service.kind} "$@"\n'
        )
        script.chmod(0o755)
    return bin_dir
