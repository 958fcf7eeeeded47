import uuid

import pytest
from chorus_platform.settings import ChorusSettings


@pytest.fixture
async def platform_settings(kafka_broker, make_database):
    """Settings for a scratch service called 'platformtest' on its own database."""
    dsn = await make_database("platform")
    settings = ChorusSettings(
        service_name=f"pt{uuid.uuid4().hex[:8]}",
        database_url=dsn,
        database_name=dsn.rsplit("/", 1)[1],
        kafka_bootstrap=kafka_broker.bootstrap,
        outbox_poll_seconds=0.2,
        consumer_max_attempts=3,
        consumer_backoff_seconds=0.05,
    )
    return settings


class Metrics:
    """Reads what OpenTelemetry metrics recorded (through a real SDK, in memory)."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def total(self, name: str) -> int:
        """Sum over every data point of counter ``name`` collected so far."""
        data = self._reader.get_metrics_data()
        return sum(
            point.value
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        )


@pytest.fixture(scope="session")
def metrics_recorded():
    """The metrics recorded in this session: a process has one global meter provider, set
    here once (the platform's counters are created before, and bind to it then)."""
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Metrics(reader)
