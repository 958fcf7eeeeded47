"""Sustained throughput (issue #16), the measuring part: open-loop load, the "sustained"
verdict, the search for the highest sustained rate.

* :class:`OpenLoop`: requests fired at ``t0 + i / rate`` whatever the answers do, bounded only
  by an in-flight cap; hitting the cap, or the scheduler falling a second behind, is reported as
  "saturated at the client";
* :func:`hold`: one rate held while :class:`bench_backlogs.Backlogs` is read every second, then
  the drain followed;
* :func:`verdict`: a held rate is sustained when there were no errors, no stage's backlog trends
  up (the last third's mean not above the first third's by more than a margin) and every stage
  drains back to where it was within ``DRAIN_SECONDS``; otherwise it names the stage that
  saturated first (the one whose backlog left its margin for good earliest);
* :func:`find_sustained`: start at ``START_RATE``, double while sustained, then bisect.

Settings (environment): ``CHORUS_BENCH_HOLD_SECONDS`` (60, as the issue defines "sustained"),
``CHORUS_BENCH_START_RATE`` (10/s), ``CHORUS_BENCH_MAX_RATE`` (2,560/s),
``CHORUS_BENCH_BISECT_STEPS`` (3), ``CHORUS_BENCH_MAX_IN_FLIGHT`` (1,000),
``CHORUS_BENCH_DRAIN_SECONDS`` (10).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bench_backlogs import cpu_shares

if TYPE_CHECKING:
    from bench_backlogs import Backlogs


HOLD_SECONDS = float(os.environ.get("CHORUS_BENCH_HOLD_SECONDS", "60"))
START_RATE = float(os.environ.get("CHORUS_BENCH_START_RATE", "10"))
MAX_RATE = float(os.environ.get("CHORUS_BENCH_MAX_RATE", "2560"))
MIN_RATE = 1.0
BISECT_STEPS = int(os.environ.get("CHORUS_BENCH_BISECT_STEPS", "3"))
MAX_IN_FLIGHT = int(os.environ.get("CHORUS_BENCH_MAX_IN_FLIGHT", "1000"))
DRAIN_SECONDS = float(os.environ.get("CHORUS_BENCH_DRAIN_SECONDS", "10"))
#: Longest wait for the system to come back to its resting backlogs between two steps.
SETTLE_SECONDS = 300.0
#: A backlog "grows" only by more than max(MARGIN_FLOOR, MARGIN_SECONDS x rate) items: half a
#: second of arrivals is noise (a batch in progress), not a trend.
MARGIN_FLOOR = 5.0
MARGIN_SECONDS = 0.5
#: The scheduler is "behind" when a request leaves this late: the client itself saturates.
CLIENT_LATE_SECONDS = 1.0

CLIENT_STAGE = "client (in-flight cap / scheduler late)"
ERRORS_STAGE = "answers (errors)"
IN_FLIGHT_STAGE = "requests in flight (request path)"


# -- open-loop load -----------------------------------------------------------------------------


class Refused(Exception):
    """A deposit answered with anything but success (the message says what)."""


#: Sends deposit number ``index``; returns the invoice id, raises :class:`Refused`.
Send = Callable[[int], Awaitable[str]]


@dataclasses.dataclass
class Answer:
    invoice_id: str
    latency: float  # seconds, request sent -> answer read
    answered_at: datetime  # wall clock (the stack runs on the same machine)


@dataclasses.dataclass
class Load:
    """What an open-loop run did."""

    rate: float
    seconds: float
    answers: list[Answer] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    capped: int = 0  # requests not sent: the in-flight cap was reached
    late: int = 0  # requests sent more than CLIENT_LATE_SECONDS after their time
    in_flight: int = 0
    # Seconds from the start to the first error / the client's first cap or late send.
    first_error_at: float | None = None
    client_saturated_at: float | None = None

    @property
    def sent(self) -> int:
        return len(self.answers) + len(self.errors) + self.in_flight


class OpenLoop:
    """Fires ``send(i)`` at ``t0 + i / rate`` for ``seconds``, never waiting for answers (only
    the in-flight cap bounds it). ``next_index`` keeps numbers unique across runs."""

    def __init__(self, send: Send, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.send = send
        self.max_in_flight = max_in_flight
        self.next_index = 0
        self.load: Load | None = None

    async def run(self, rate: float, seconds: float) -> Load:
        load = self.load = Load(rate, seconds)
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        count = max(1, round(rate * seconds))
        start = loop.time()
        for i in range(count):
            at = start + i / rate
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # behind: still let the answers and the sampler run
                if -delay > CLIENT_LATE_SECONDS:
                    load.late += 1
                    load.client_saturated_at = load.client_saturated_at or (loop.time() - start)
            if load.in_flight >= self.max_in_flight:
                load.capped += 1
                load.client_saturated_at = load.client_saturated_at or (loop.time() - start)
                continue
            load.in_flight += 1
            task = loop.create_task(self._one(load, self.next_index, start))
            self.next_index += 1
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        return load

    async def _one(self, load: Load, index: int, start: float) -> None:
        sent = time.perf_counter()
        try:
            invoice_id = await self.send(index)
        except Exception as error:  # every failure is an error of the answer, counted
            load.errors.append(f"#{index}: {type(error).__name__}: {str(error)[:300]}")
            if load.first_error_at is None:
                load.first_error_at = asyncio.get_running_loop().time() - start
        else:
            load.answers.append(Answer(invoice_id, time.perf_counter() - sent, datetime.now(UTC)))
        finally:
            load.in_flight -= 1


# -- one held rate ------------------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    """One rate held: the load, the backlog samples, and the verdict."""

    rate: float
    load: Load
    baseline: dict[str, float]
    samples: list[dict[str, float]]  # one per second while the rate was held
    drain: dict[str, float]  # last sample of the drain
    drained_in: float | None  # seconds after the last send until every stage was back
    sustained: bool = False
    saturated: str = ""  # the stage that saturated first, when not sustained
    growth: dict[str, float] = dataclasses.field(default_factory=dict)
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)  # share of a core, hold

    @property
    def accepted(self) -> list[str]:
        return [a.invoice_id for a in self.load.answers]


def margin(rate: float) -> float:
    return max(MARGIN_FLOOR, MARGIN_SECONDS * rate)


def verdict(step: Step) -> None:
    """Sets ``sustained``, ``saturated`` and ``growth`` (see the module docstring)."""
    allowed = margin(step.rate)
    onsets: dict[str, float] = {}
    stages = sorted({s for sample in step.samples for s in sample})
    third = max(1, len(step.samples) // 3)
    for stage in stages:
        series = [sample.get(stage, 0.0) for sample in step.samples]
        base = step.baseline.get(stage, series[0] if series else 0.0)
        first, last = statistics.fmean(series[:third]), statistics.fmean(series[-third:])
        step.growth[stage] = last - first
        grows = last - first > allowed
        stuck = step.drain.get(stage, 0.0) > base + allowed
        if grows or stuck:
            # The onset: the first second after which it never came back within its margin.
            above = [v > base + allowed for v in series]
            # Sample k is read k + 1 seconds after the start: a stage above its margin from
            # sample k on left it after the previous reading, k seconds after the start.
            onset = len(series)
            while onset > 0 and above[onset - 1]:
                onset -= 1
            onsets[stage] = float(onset if any(above) else len(series))
    # Errors and the client's own limits are effects: at the same second, a stage comes first.
    if step.load.client_saturated_at is not None:
        onsets[CLIENT_STAGE] = step.load.client_saturated_at + 0.01
    if step.load.first_error_at is not None:
        onsets[ERRORS_STAGE] = step.load.first_error_at + 0.02
    if not onsets and step.drained_in is not None and step.drained_in > DRAIN_SECONDS:
        onsets[IN_FLIGHT_STAGE] = len(step.samples)  # answers came late, after the hold
    step.sustained = not onsets and step.drained_in is not None
    if onsets:
        step.saturated = min(onsets, key=lambda s: (onsets[s], -step.growth.get(s, 0.0)))
    elif not step.sustained:
        step.saturated = "did not drain"


async def hold(loop_: OpenLoop, backlogs: Backlogs, rate: float, seconds: float) -> Step:
    """Holds ``rate`` for ``seconds`` while sampling every second, then follows the drain."""
    baseline = await backlogs.sample()
    samples: list[dict[str, float]] = []
    cpu_before = backlogs.cpu.read()
    run = asyncio.create_task(loop_.run(rate, seconds))
    started = time.perf_counter()
    hold_end = started + seconds
    next_at = started + 1.0
    while next_at <= hold_end + 0.01 and not run.done():
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        sample = await backlogs.sample()
        sample[IN_FLIGHT_STAGE] = float(loop_.load.in_flight if loop_.load else 0)
        samples.append(sample)
        next_at += 1.0
    cpu = cpu_shares(cpu_before, backlogs.cpu.read(), time.perf_counter() - started)
    # The open loop returns once every answer is in: its tail is part of the drain, which
    # counts from the last send.
    load = await run
    drained_at = hold_end
    deadline = drained_at + DRAIN_SECONDS
    allowed = margin(rate)
    drained_in: float | None = None
    while True:
        drain = await backlogs.sample()
        if all(v <= baseline.get(s, 0.0) + allowed for s, v in drain.items()):
            drained_in = time.perf_counter() - drained_at
            break
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.25)
    baseline.setdefault(IN_FLIGHT_STAGE, 0.0)
    step = Step(rate, load, baseline, samples or [drain], drain, drained_in, cpu=cpu)
    verdict(step)
    return step


async def settle(
    backlogs: Backlogs, reference: dict[str, float], timeout: float = SETTLE_SECONDS
) -> dict[str, float]:
    """Waits until every stage is back to ``reference`` (plus the floor margin), at most
    ``timeout`` seconds, so that the next step starts from an idle system; returns the stages
    still above it (none: settled)."""
    deadline = time.perf_counter() + timeout
    while True:
        now = await backlogs.sample()
        above = {s: v for s, v in now.items() if v > reference.get(s, 0.0) + MARGIN_FLOOR}
        if not above or time.perf_counter() > deadline:
            return above
        await asyncio.sleep(1.0)


# -- the search ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Search:
    """The steps of one channel and what they say."""

    channel: str
    steps: list[Step] = dataclasses.field(default_factory=list)

    @property
    def best(self) -> Step | None:
        """The highest sustained step."""
        held = [s for s in self.steps if s.sustained]
        return max(held, key=lambda s: s.rate) if held else None

    @property
    def first_failed(self) -> Step | None:
        """The lowest rate that was not sustained (where the first saturated stage is read)."""
        failed = [s for s in self.steps if not s.sustained]
        return min(failed, key=lambda s: s.rate) if failed else None

    @property
    def accepted(self) -> Iterable[str]:
        for step in self.steps:
            yield from step.accepted


def next_rate(
    search: Search, bisections: int, start: float = START_RATE, bisect_steps: int = BISECT_STEPS
) -> float | None:
    """Double while sustained, halve while not, then bisect ``bisect_steps`` times."""
    best, failed = search.best, search.first_failed
    if failed is None:
        rate = (best.rate * 2) if best else start
        return rate if rate <= MAX_RATE else None
    if best is None:
        rate = failed.rate / 2
        return rate if rate >= MIN_RATE else None
    if bisections >= bisect_steps or failed.rate - best.rate <= max(1.0, 0.05 * best.rate):
        return None
    return round((best.rate + failed.rate) / 2, 1)


async def find_sustained(
    channel: str,
    loop_: OpenLoop,
    backlogs: Backlogs,
    seconds: float = HOLD_SECONDS,
    start: float = START_RATE,
    bisect_steps: int = BISECT_STEPS,
    report: Callable[[str], None] = print,
) -> Search:
    """The highest rate ``loop_`` holds for ``seconds`` with no backlog growing."""
    search = Search(channel)
    resting = await backlogs.sample()
    bisections = 0
    while (rate := next_rate(search, bisections, start, bisect_steps)) is not None:
        if search.best is not None and search.first_failed is not None:
            bisections += 1
        step = await hold(loop_, backlogs, rate, seconds)
        search.steps.append(step)
        report(describe(channel, step))
        if unsettled := await settle(backlogs, resting):
            report(f"  [{channel}] still above the resting level before the next step: {unsettled}")
    return search


def describe(channel: str, step: Step) -> str:
    load = step.load
    answers = [a.latency for a in load.answers]
    p50 = statistics.median(answers) * 1000 if answers else math.nan
    verdict_text = "sustained" if step.sustained else f"NOT sustained: {step.saturated}"
    growing = ", ".join(
        f"{s} +{g:.0f}" for s, g in sorted(step.growth.items(), key=lambda x: -x[1]) if g > 0
    )
    drained = f"{step.drained_in:.1f} s" if step.drained_in is not None else "no"
    return (
        f"  [{channel}] {step.rate:7.1f}/s x {load.seconds:.0f} s: {len(load.answers)} ok, "
        f"{len(load.errors)} errors, {load.capped} capped, {load.late} late, answer p50 "
        f"{p50:.0f} ms, drained {drained}; {verdict_text}"
        + (f" (growth: {growing})" if growing else "")
        + (f"; CPU {cpu_text(step.cpu)}" if step.cpu else "")
        + (f"; first error {load.errors[0]}" if load.errors else "")
    )


def cpu_text(shares: dict[str, float], parts: int = 6) -> str:
    """The busiest parts first, in % of one core."""
    busiest = sorted(shares.items(), key=lambda item: -item[1])[:parts]
    return ", ".join(f"{name} {share:.0%}" for name, share in busiest)


def percentile(samples: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method); ``nan`` without samples."""
    if not samples:
        return math.nan
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]
