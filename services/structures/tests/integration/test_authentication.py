import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.testing.tokens import TestSigner


async def test_call_without_token_is_unauthenticated(stub, create_request, pool):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(create_request())
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    assert await pool.fetchval("SELECT count(*) FROM structures") == 0


async def test_token_from_an_unknown_key_is_unauthenticated(stub):
    stranger = TestSigner(kid="someone-else")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=stranger.metadata("u"))
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


async def test_expired_token_is_unauthenticated(stub, signer, user_id):
    token = signer.token(user_id, ttl=-60)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListMyMemberships(
            pb.ListMyMembershipsRequest(), metadata=(("authorization", f"Bearer {token}"),)
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
