"""The shared command line: the event loop a service process runs on."""

import os
import subprocess
import sys

import pytest

# A command run through run_cli, as ``chorus-<svc> <command>`` does: it prints its loop's class.
PROBE = """
import asyncio
from chorus_platform.cli import run_cli
from chorus_platform.settings import ChorusSettings

async def probe(settings):
    print(type(asyncio.get_running_loop()).__module__)

async def serve(settings):
    raise AssertionError("not this one")

run_cli(ChorusSettings(), serve=serve, migrations_dir=None,
        extra={"probe": ("print the loop", probe)}, argv=["probe"])
"""


@pytest.mark.parametrize(
    ("setting", "loop_module"),
    [(None, "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events")],
)
def test_commands_run_on_uvloop_unless_the_setting_turns_it_off(setting, loop_module):
    env = {k: v for k, v in os.environ.items() if k != "CHORUS_EVENT_LOOP"}
    if setting is not None:
        env["CHORUS_EVENT_LOOP"] = setting
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == loop_module


def test_an_unknown_event_loop_is_refused():
    from chorus_platform.settings import ChorusSettings
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="event_loop"):
        ChorusSettings(event_loop="tokio")
