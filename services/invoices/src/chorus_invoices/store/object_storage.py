"""The S3-compatible object storage behind ``CHORUS_DOCUMENT_STORE=s3`` (MinIO, Ceph, AWS).

One :class:`ObjectStorage` per process: its aioboto3 client (and so its HTTP connection pool)
is opened at first use, on the running loop, and reused by every call until :meth:`close`.
Whatever the storage answers that is not "no such object" — unreachable, timing out, refusing
the credentials, no such bucket, a 5xx — is logged and raised as
:class:`~chorus_invoices.domain.errors.DocumentStoreUnavailable` (gRPC UNAVAILABLE, never
INTERNAL); the credentials never appear in a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from chorus_invoices.domain.errors import DocumentStoreUnavailable

log = logging.getLogger("chorus.invoices.objects")

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_DELETE_BATCH = 1000
"""Most keys one DeleteObjects call takes (the S3 limit)."""


@dataclass(frozen=True)
class S3Location:
    """Where the objects are and how to reach them (from ``CHORUS_S3_*``)."""

    bucket: str
    region: str
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""

    def __repr__(self) -> str:  # never the keys, whatever logs it
        return f"S3Location(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True)
class StoredObject:
    key: str
    last_modified: datetime


class ObjectStorage:
    """Objects of one bucket: put, get, delete, list, and the bucket's reachability."""

    def __init__(
        self,
        location: S3Location,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        max_connections: int = 32,
    ) -> None:
        self.location = location
        self._config = AioConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_connections,
            # Few quick retries: an outage answers UNAVAILABLE within seconds, not minutes.
            retries={"max_attempts": 2, "mode": "standard"},
            # No CRC trailers botocore adds by default since 1.36: several S3-compatible stores
            # (older MinIO, Ceph RGW) refuse them. Contents are checked by their SHA-256 on read.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = None
        self._exit = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    where = self.location
                    session = aioboto3.Session()
                    self._client = await self._exit.enter_async_context(
                        session.client(
                            "s3",
                            region_name=where.region,
                            endpoint_url=where.endpoint_url or None,
                            aws_access_key_id=where.access_key_id or None,
                            aws_secret_access_key=where.secret_access_key or None,
                            config=self._config,
                        )
                    )
        return self._client

    async def close(self) -> None:
        """Closes the client and its connections (the next call opens them again)."""
        async with self._opening:
            self._client = None
            await self._exit.aclose()

    @contextlib.asynccontextmanager
    async def _call(self, operation: str, key: str = "") -> AsyncIterator[Any]:
        try:
            yield await self._s3()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise
            _unavailable(operation, key, error)
        except (TimeoutError, BotoCoreError, OSError) as error:
            _unavailable(operation, key, error)

    async def put(self, key: str, content: bytes, media_type: str, sha256: str) -> None:
        async with self._call("put", key) as s3:
            await s3.put_object(
                Bucket=self.location.bucket,
                Key=key,
                Body=content,
                ContentType=media_type,
                Metadata={"sha256": sha256},
            )

    async def get(self, key: str) -> bytes | None:
        """The object's bytes; None when there is no such object."""
        try:
            async with self._call("get", key) as s3:
                answer = await s3.get_object(Bucket=self.location.bucket, Key=key)
                async with answer["Body"] as body:
                    return await body.read()
        except ClientError:  # only "no such key" gets here
            return None

    async def delete(self, keys: list[str]) -> None:
        """Deletes ``keys`` (absent ones are no error)."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            async with self._call("delete", batch[0]) as s3:
                answer = await s3.delete_objects(
                    Bucket=self.location.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            failed = answer.get("Errors") or []
            if failed:
                log.warning(
                    "object storage kept some objects asked to delete",
                    extra={"count": len(failed), "first_key": failed[0].get("Key", "")},
                )

    async def pages(self, prefix: str) -> AsyncIterator[list[StoredObject]]:
        """The objects under ``prefix``, a page (at most 1000) at a time."""
        token = None
        while True:
            arguments: dict[str, Any] = {"Bucket": self.location.bucket, "Prefix": prefix}
            if token:
                arguments["ContinuationToken"] = token
            async with self._call("list", prefix) as s3:
                answer = await s3.list_objects_v2(**arguments)
            contents = answer.get("Contents") or []
            if contents:
                yield [StoredObject(item["Key"], item["LastModified"]) for item in contents]
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                return

    async def check(self) -> None:
        """Readiness: the bucket answers a HEAD (reachable, exists, credentials accepted)."""
        try:
            async with asyncio.timeout(5):
                async with self._call("head_bucket") as s3:
                    await s3.head_bucket(Bucket=self.location.bucket)
        except ClientError as error:  # a 404: no such bucket
            _unavailable("head_bucket", "", error)


def _unavailable(operation: str, key: str, error: BaseException) -> None:
    log.warning(
        "object storage unavailable",
        extra={
            "operation": operation,
            "key": key,
            "error": f"{type(error).__name__}: {error}",
        },
    )
    raise DocumentStoreUnavailable() from error
