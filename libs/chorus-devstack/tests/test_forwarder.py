import asyncio

import pytest
from chorus_devstack.forwarder import TcpForwarder
from chorus_devstack.ports import free_port, port_is_open


async def echo_server() -> asyncio.Server:
    async def echo(reader, writer):
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


async def test_relays_both_ways_while_open_and_cuts_connections_on_close() -> None:
    server = await echo_server()
    target = server.sockets[0].getsockname()[1]
    forwarder = TcpForwarder("127.0.0.1", free_port())
    assert not port_is_open("127.0.0.1", forwarder.port)
    await asyncio.to_thread(forwarder.open, target)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"facture")
        assert await asyncio.wait_for(reader.readexactly(7), 5) == b"FACTURE"

        await asyncio.to_thread(forwarder.close)
        assert await asyncio.wait_for(reader.read(1), 5) == b""  # cut
        assert not port_is_open("127.0.0.1", forwarder.port)
        writer.close()

        await asyncio.to_thread(forwarder.open, target)  # and it opens again
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"avoir")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"AVOIR"
        writer.close()
    finally:
        await asyncio.to_thread(forwarder.close)
        server.close()


async def test_a_target_that_hangs_up_ends_its_client_connection() -> None:
    async def answer_once(reader, writer):
        writer.write((await reader.read(1024)).upper())
        await writer.drain()
        writer.close()  # as a broker that dies

    server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    forwarder = TcpForwarder("127.0.0.1", free_port())
    await asyncio.to_thread(forwarder.open, server.sockets[0].getsockname()[1])
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"x")
        assert await asyncio.wait_for(reader.read(), 5) == b"X"  # then end of stream
        writer.close()
    finally:
        await asyncio.to_thread(forwarder.close)
        server.close()


def test_a_busy_port_is_an_error() -> None:
    forwarder = TcpForwarder("127.0.0.1", free_port())
    forwarder.open(free_port())
    try:
        with pytest.raises(OSError):
            TcpForwarder("127.0.0.1", forwarder.port).open(free_port())
    finally:
        forwarder.close()
