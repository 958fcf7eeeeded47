"""Worker processes for the CPU-bound document work: validation, reading, Factur-X rendering.

SaxonC holds the GIL through a whole transform and PDF rendering is pure Python, so neither
may run on the event loop's process, not even in a thread. Workers are *spawned* (a grpc.aio
process must not fork); each compiles the usual schematrons once when it starts
(:func:`~chorus_invoices.documents.validation.warm_engine`) and keeps them for its life.

Guarantees, per document handed to :meth:`DocumentWorkers.run`:

- A domain error raised in the worker crosses back as the same platform error kind with the
  same reason, message and field violations.
- Any other exception in the worker (a library failing on a hostile file) is
  ``INVALID_ARGUMENT DOCUMENT_UNREADABLE`` for that document; the worker lives on.
- A worker that dies (a file that exhausts it) or overruns ``timeout`` is ended and
  replaced; its document gets ``INVALID_ARGUMENT DOCUMENT_UNPROCESSABLE``.
- One document never fails another: each worker is a pool of its own, given one document
  at a time, so a death takes down only the document it was working on (a shared
  ``ProcessPoolExecutor`` would fail every document queued behind it).

Start-up is in the background (:meth:`start`, run by the service as a background job): the
server is ready before the schematrons are compiled. A document arriving meanwhile waits for
a warm worker at most ``startup_wait`` seconds, then gets ``UNAVAILABLE
DOCUMENT_WORKERS_STARTING`` (the gateway's 503: try again shortly). Once started, documents
queue for a free worker without such a bound (the caller's deadline bounds them).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chorus_platform import errors
from chorus_platform.metrics import LastValues
from opentelemetry import metrics

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_STARTUP_WAIT_SECONDS = 20.0
# A worker whose start-up fails (it died while compiling) is started again after this pause.
_RESTART_PAUSE_SECONDS = 1.0

_meter = metrics.get_meter("chorus_invoices.documents")
#: ``chorus.documents.queue``: jobs waiting, by ``queue``: ``validation`` (calls waiting for a
#: free worker of this process) and ``rendering`` (the Factur-X renderings queued in the
#: database, set by the rendering job).
documents_queue = LastValues(
    _meter,
    "chorus.documents.queue",
    description="Document jobs waiting, by queue: validation (for a worker), rendering.",
)
#: ``chorus.documents.duration``, by ``task``: validate and render (one document in a worker),
#: flow (one flow processed by the flow worker, every file).
documents_duration = _meter.create_histogram(
    "chorus.documents.duration",
    unit="s",
    description="Duration of document work, by task: validate, render, flow.",
)
_waiting_for_worker = 0


def _task_of(fn: Callable[..., Any]) -> str:
    return "render" if "facturx" in getattr(fn, "__name__", "") else "validate"


log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Failed:
    """Any other exception in the worker: its type name only (the message may quote the
    document, and the exception itself may not pickle)."""

    error_type: str


def _platform_kind(err: errors.DomainError) -> str:
    for cls in type(err).__mro__:
        if cls.__module__ == errors.__name__:
            return cls.__name__
    return "InvalidArgument"


def _call(fn: Callable[..., T], args: tuple) -> T | _Raised | _Failed:
    try:
        return fn(*args)
    except errors.DomainError as err:
        return _Raised(_platform_kind(err), err.reason, err.message, err.violations, err.metadata)
    except Exception as err:
        return _Failed(type(err).__name__)


def _start_worker(warm: bool) -> None:
    if warm:
        from chorus_invoices.documents.validation import warm_engine

        warm_engine()
        # What only the workers load (the server process never does): PDF reading and
        # rendering, so the first Factur-X is not a second slower than the next.
        for module in ("pypdf", "facturx", "chorus_invoices.documents.pdf_rendering"):
            importlib.import_module(module)


class DocumentUnprocessable(errors.InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_UNPROCESSABLE",
            "Le document n'a pas pu être traité (trop lourd ou trop long à analyser).",
            [errors.FieldViolation("file", "Document impossible à traiter.")],
        )


class DocumentUnreadable(errors.InvalidArgument):
    def __init__(self) -> None:
        message = (
            "Le document n'a pas pu être lu : sa structure est inattendue. Vérifiez qu'il"
            " respecte la norme (UBL 2.1, CII D16B ou Factur-X) et déposez-le à nouveau."
        )
        super().__init__(
            "DOCUMENT_UNREADABLE", message, [errors.FieldViolation("file", "Document illisible.")]
        )


class WorkersStarting(errors.Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_WORKERS_STARTING",
            "Le service de lecture des factures démarre : réessayez dans quelques secondes.",
        )


class _Worker:
    """One worker process, as a pool of one: what goes wrong in it stays in it."""

    def __init__(self, warm: bool) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(warm,),
        )

    def end(self) -> None:
        # A stuck worker would never finish its task: end the process, not just the pool.
        for process in list(getattr(self.executor, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


class DocumentWorkers:
    """``processes`` warm worker processes; :meth:`run` gives each a document at a time."""

    def __init__(
        self,
        processes: int = 1,
        *,
        warm: bool = True,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        startup_wait: float = DEFAULT_STARTUP_WAIT_SECONDS,
    ) -> None:
        self._processes = processes
        self._warm = warm
        self._timeout = timeout
        self._startup_wait = startup_wait
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._starting: set[asyncio.Task] = set()
        self._start_task: asyncio.Task | None = None
        self._closed = False
        self.ready = False
        """True once every worker of the first start is up (and warm)."""
        self.replaced = 0
        """Workers ended and replaced since the start (died, overran, abandoned)."""

    @property
    def processes(self) -> int:
        """How many worker processes run (documents that can be worked on at once)."""
        return self._processes

    async def start(self) -> None:
        """Starts every worker and waits until each has compiled its stylesheets (once: a
        second call waits for the first start)."""
        await asyncio.shield(self._ensure_started())

    def _ensure_started(self) -> asyncio.Task:
        if self._start_task is None:
            self._start_task = asyncio.get_running_loop().create_task(self._start_all())
        return self._start_task

    async def _start_all(self) -> None:
        started = time.monotonic()
        await asyncio.gather(*(self._start_one() for _ in range(self._processes)))
        if not self._closed:
            self.ready = True
            log.info(
                "document workers ready",
                extra={"workers": self._processes, "seconds": round(time.monotonic() - started, 2)},
            )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; ``fn`` and its arguments and result must pickle.

        InvalidArgument DOCUMENT_UNREADABLE (``fn`` raised something else than a domain
        error), DOCUMENT_UNPROCESSABLE (the worker died or overran); Unavailable
        DOCUMENT_WORKERS_STARTING (no warm worker within ``startup_wait`` after a start)."""
        global _waiting_for_worker
        _waiting_for_worker += 1
        documents_queue.set(_waiting_for_worker, {"queue": "validation"})
        try:
            worker = await self._take()
        finally:
            _waiting_for_worker -= 1
            documents_queue.set(_waiting_for_worker, {"queue": "validation"})
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return await self._run_on(worker, fn, args)
        finally:
            documents_duration.record(loop.time() - started, {"task": _task_of(fn)})

    async def _run_on(self, worker: _Worker, fn: Callable[..., T], args: tuple) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        future = loop.run_in_executor(worker.executor, _call, fn, args)
        future.add_done_callback(mark_retrieved)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except asyncio.CancelledError:
            # The caller gave up; the worker is still busy with its document.
            self._release_when_done(worker, future, deadline)
            raise
        except (BrokenProcessPool, TimeoutError):
            self._replace(worker)
            log.warning(
                "document worker died or overran; replaced", extra={"function": fn.__name__}
            )
            raise DocumentUnprocessable() from None
        except Exception as err:  # the result or an argument did not cross the boundary
            self._release(worker)
            log.warning(
                "document work failed",
                extra={"function": fn.__name__, "error_type": type(err).__name__},
            )
            raise DocumentUnreadable() from None
        self._release(worker)
        if isinstance(outcome, _Raised):
            raise outcome.rebuild()
        if isinstance(outcome, _Failed):
            log.warning(
                "document work failed",
                extra={"function": fn.__name__, "error_type": outcome.error_type},
            )
            raise DocumentUnreadable()
        return outcome

    async def close(self) -> None:
        self._closed = True
        if self._start_task is not None:
            self._start_task.cancel()
        for task in list(self._starting):
            task.cancel()
        workers, self._all = list(self._all), set()
        for worker in workers:
            await asyncio.to_thread(worker.executor.shutdown, wait=True, cancel_futures=True)

    def _queue(self) -> asyncio.Queue[_Worker]:
        if self._idle is None:
            self._idle = asyncio.Queue()
        return self._idle

    async def _take(self) -> _Worker:
        queue = self._queue()
        # Never started (tests, tools): start now, in the background.
        self._ensure_started()
        if self.ready:
            return await queue.get()
        try:
            async with asyncio.timeout(self._startup_wait):
                return await queue.get()
        except TimeoutError:
            raise WorkersStarting() from None

    async def _start_one(self) -> None:
        """One worker, warm, in the idle queue; started again until it comes up."""
        while not self._closed:
            worker = _Worker(self._warm)
            self._all.add(worker)
            try:
                await asyncio.get_running_loop().run_in_executor(worker.executor, _ready)
            except asyncio.CancelledError:
                self._discard(worker)
                raise
            except Exception:
                log.warning("document worker did not start; trying again", exc_info=True)
                self._discard(worker)
                await asyncio.sleep(_RESTART_PAUSE_SECONDS)
                continue
            self._queue().put_nowait(worker)
            return

    def _spawn_start(self) -> None:
        self._track(asyncio.get_running_loop().create_task(self._start_one()))

    def _track(self, task: asyncio.Task) -> None:
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    def _release(self, worker: _Worker) -> None:
        if worker in self._all:
            self._queue().put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        self._discard(worker)
        self.replaced += 1
        if not self._closed:
            self._spawn_start()

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        worker.end()

    def _release_when_done(self, worker: _Worker, future: asyncio.Future, deadline: float):
        """Gives the worker back once its abandoned document is done (or replaces it when
        the document overruns), without making anyone wait for it."""

        async def watch() -> None:
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
            try:
                await asyncio.wait_for(future, remaining)
            except (BrokenProcessPool, TimeoutError):
                self._replace(worker)
                return
            except Exception:  # its failure concerns nobody now: the worker is fine
                log.info("abandoned document failed", exc_info=True)
            self._release(worker)

        self._track(asyncio.get_running_loop().create_task(watch()))


def _ready() -> bool:
    return True


def mark_retrieved(future: asyncio.Future) -> None:
    """Marks the outcome seen (a done callback): the failure of a document someone gave up
    on is expected, not news."""
    if not future.cancelled():
        future.exception()
