"""Worker processes for the CPU-bound document work: validation, reading, Factur-X rendering.

SaxonC holds the GIL through a whole transform and PDF rendering is pure Python, so neither
may run on the event loop's process, not even in a thread. Workers are *spawned* (a grpc.aio
process must not fork), each compiles the usual schematrons once when it starts
(:func:`~chorus_invoices.documents.validation.warm_engine`) and keeps them for its life.

Domain errors raised in a worker cross back as the same platform error kind with the same
reason, message and field violations. A worker that dies (a hostile file that exhausts it) or
overruns ``timeout`` takes the pool down with it: the pool is rebuilt, and the caller gets
``INVALID_ARGUMENT DOCUMENT_UNPROCESSABLE`` for that file.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chorus_platform import errors

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class _Raised:
    """A DomainError as it crosses the process boundary (its class may not pickle)."""

    kind: str
    reason: str
    message: str
    violations: list[errors.FieldViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    def rebuild(self) -> errors.DomainError:
        cls = getattr(errors, self.kind, errors.InvalidArgument)
        return cls(self.reason, self.message, self.violations, self.metadata)


def _platform_kind(err: errors.DomainError) -> str:
    for cls in type(err).__mro__:
        if cls.__module__ == errors.__name__:
            return cls.__name__
    return "InvalidArgument"


def _call(fn: Callable[..., T], args: tuple) -> T | _Raised:
    try:
        return fn(*args)
    except errors.DomainError as err:
        return _Raised(_platform_kind(err), err.reason, err.message, err.violations, err.metadata)


def _start_worker(warm: bool) -> None:
    if warm:
        from chorus_invoices.documents.validation import warm_engine

        warm_engine()


class DocumentUnprocessable(errors.InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_UNPROCESSABLE",
            "Le document n'a pas pu être traité (trop lourd ou trop long à analyser).",
            [errors.FieldViolation("file", "Document impossible à traiter.")],
        )


class DocumentWorkers:
    def __init__(
        self,
        processes: int = 1,
        *,
        warm: bool = True,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._processes = processes
        self._warm = warm
        self._timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self.ready = False
        """True once :meth:`start` has seen every worker up (and warm)."""

    async def start(self) -> None:
        """Starts every worker and waits until each has compiled its stylesheets."""
        self._pool()
        await asyncio.gather(*(self.run(_ready) for _ in range(self._processes)))
        self.ready = True

    async def readiness_check(self) -> None:
        """For the server's readiness: fails while the workers are still starting."""
        if not self.ready:
            raise RuntimeError("document workers are starting")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; ``fn`` and its arguments and result must pickle."""
        executor = self._pool()
        loop = asyncio.get_running_loop()
        try:
            outcome = await asyncio.wait_for(
                loop.run_in_executor(executor, _call, fn, args), self._timeout
            )
        except (BrokenProcessPool, TimeoutError):
            self._discard(executor)
            raise DocumentUnprocessable() from None
        if isinstance(outcome, _Raised):
            raise outcome.rebuild()
        return outcome

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._warm,),
            )
        return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor = None
        # A stuck worker would never finish its task: end the processes, not just the pool.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)


def _ready() -> bool:
    return True
