"""The terminal side of the stack's output: each child's lines prefixed with its name,
coloured per name when stdout is a terminal (and ``NO_COLOR`` is unset). Log files get the
same lines unprefixed (:mod:`chorus_devstack.children`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")


class Console:
    """Prints child output as ``name | line``, coloured per name when stdout is a terminal."""

    def __init__(self, names: Sequence[str], *, enabled: bool, stream: IO[str] | None = None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.width = max((len(n) for n in (*names, "devstack")), default=8)
        self.colour = enabled and self.stream.isatty() and not os.environ.get("NO_COLOR")
        self._codes = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(names)}
        self._codes["devstack"] = "1"

    def line(self, name: str, text: str) -> None:
        if not self.enabled:
            return
        prefix = f"{name:<{self.width}} |"
        if self.colour:
            prefix = f"\033[{self._codes.get(name, '0')}m{prefix}\033[0m"
        try:
            self.stream.write(f"{prefix} {text}\n")
            self.stream.flush()
        except (OSError, ValueError):  # terminal gone: keep the log files going
            self.enabled = False

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line("devstack", part)
