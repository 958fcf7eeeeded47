"""Run in its own process by test_metrics.py (the meter provider is process-global): starts
the metrics endpoint on the port given (0: off), records a few instruments, prints one JSON
line ``{"port": <bound>}`` and serves until its standard input closes."""

import asyncio
import json
import sys

from chorus_platform.metrics import serve_metrics
from chorus_platform.settings import ChorusSettings
from opentelemetry import metrics


async def main(port: int) -> None:
    settings = ChorusSettings(service_name="probe", metrics_port=port)
    async with serve_metrics(settings) as bound:
        meter = metrics.get_meter("probe")
        meter.create_histogram("probe.wait.duration", unit="s", description="A wait.").record(
            0.03, {"step": "one"}
        )
        meter.create_counter("probe.things", unit="{thing}", description="Things.").add(3)
        print(json.dumps({"port": bound}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
