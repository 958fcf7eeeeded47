"""Answers that must not tell whether an account exists last at least a fixed time.

Registration, the activation link resend and the password reset request answer alike for
every address (same status, same empty body), and do comparable work either way: one
transaction with its audit row. What is left differs by a few milliseconds of writes (a new
account's rows, a link's token and events), enough to sort addresses by timing. So each of
these answers is padded to ``Rules.anonymous_answer_min``: as long as the work stays under
that floor, every answer takes the floor plus scheduling noise, whatever the address
(``test_uniform_answers.py`` prints the figures). A cancelled request is not padded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta


@contextlib.asynccontextmanager
async def lasting_at_least(floor: timedelta) -> AsyncIterator[None]:
    """The block, then a sleep until ``floor`` has passed since it began (also when it
    raised, so that an error answers no sooner than a success)."""
    started = time.monotonic()

    async def pad() -> None:
        remaining = floor.total_seconds() - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)

    try:
        yield
    except asyncio.CancelledError:
        raise
    except Exception:
        await pad()
        raise
    await pad()
