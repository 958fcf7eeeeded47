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
