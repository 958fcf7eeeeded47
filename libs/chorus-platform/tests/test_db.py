"""The pool: a connection comes back from a release without what its last user left open."""

import asyncpg
from chorus_platform.db import create_pool


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_is_released(
    platform_settings,
):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await conn.execute("CREATE TABLE pool_probe (n integer)")
    await conn.close()
    pool = await create_pool(platform_settings.database_dsn, max_size=1)
    try:
        async with pool.acquire() as first:
            await first.execute("BEGIN")
            await first.execute("INSERT INTO pool_probe VALUES (1)")
        async with pool.acquire() as again:  # the same connection (max_size=1)
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM pool_probe") == 0
    finally:
        await pool.close()
