"""Uploaded files read into memory, bounded: what the gateway holds before a service decides.

The services apply their own (configurable) limits, 10 MB by default for an invoice's file;
:data:`MAX_UPLOAD_BYTES` bounds what the gateway reads of one file before asking them.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile

from chorus_edge.problems import ProblemError

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
_CHUNK = 1024 * 1024


async def read_bounded(file: UploadFile) -> bytes:
    """The file's content; ProblemError 413 FILE_TOO_LARGE beyond :data:`MAX_UPLOAD_BYTES`."""
    chunks, size = [], 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise ProblemError(
                413,
                "FILE_TOO_LARGE",
                f"Le fichier dépasse {MAX_UPLOAD_BYTES // 1024**2} Mo.",
            )
        chunks.append(chunk)
    return b"".join(chunks)
