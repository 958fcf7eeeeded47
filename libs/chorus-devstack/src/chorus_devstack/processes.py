"""How the devstack spawns and ends its child processes.

Contract:

* Children run in their own session (``start_new_session=True``) so a Ctrl-C in the terminal
  reaches only the supervisor, which then stops them in order.
* :func:`die_with_parent` is a ``preexec_fn`` asking Linux to send SIGTERM to the child when the
  process that spawned it dies (even by SIGKILL), so a killed supervisor leaves no orphans.
  Linux ties this to the spawning *thread*: spawn from a long-lived thread (the event loop's),
  not from a short-lived worker. It is a no-op on other systems.
* :func:`signal_group` signals a child's whole process group (the child and whatever it forked),
  ignoring processes that are already gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: have the kernel SIGTERM this child when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (falls back to the process alone)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
