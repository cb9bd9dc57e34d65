"""Audio chunks: a node pulls a bulletin's audio piece by piece and checks each piece and the
whole file by sha256, so nothing but the broker connection is needed to get it."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from protocol.messages import Chunk, ChunkRequest, ChunkUnavailable

REPLY_EXPIRY_S = 60  # a node that asked and went away asks again; the broker drops the rest


def answer(audio_dir: Path, req: ChunkRequest) -> Chunk | ChunkUnavailable:
    """The requested piece of ``<sha256>.ogg``, or why there is none."""
    try:
        return read_chunk(audio_dir / f"{req.sha256}.ogg", req)
    except FileNotFoundError:
        return ChunkUnavailable(sha256=req.sha256, reason="no such audio on the controller")
    except OffsetError as exc:
        return ChunkUnavailable(sha256=req.sha256, reason=str(exc))


class OffsetError(ValueError):
    """A request that starts past the end of the file (a node never asks for one)."""


def read_chunk(path: Path, req: ChunkRequest) -> Chunk:
    with path.open("rb") as fh:
        total = fh.seek(0, 2)
        # checked before seeking: an offset past what a file offset can hold raises there
        if req.offset >= total:
            raise OffsetError(f"offset past the end of the audio ({total} bytes)")
        fh.seek(req.offset)
        data = fh.read(req.length)
    return Chunk(
        sha256=req.sha256,
        offset=req.offset,
        total_size=total,
        chunk_sha256=hashlib.sha256(data).hexdigest(),
        data=base64.b64encode(data).decode(),
    )
