"""A request's raw body, read whole, with every framing fault a client can make as a 4xx.

Two servers feed the view: gunicorn (`mediasync receiver`) and Werkzeug's development
server (tests, local runs). Each reports a broken body its own way while it is being read
(gunicorn: InvalidChunkSize, ChunkMissingTerminator, NoMoreData; Werkzeug: OSError,
ValueError, ClientDisconnected), and each returns a body cut short by a closed
connection as if it were complete. Either way it is the sender's framing, never ours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from flask import Request

logger = logging.getLogger(__name__)

# RFC 9110: 1*DIGIT. Werkzeug reads "abc" and "-1" as 0 (a signed body would then be
# checked as empty: a confusing 401); gunicorn refuses them itself.
_LENGTH = re.compile(r"[0-9]+")


class BodyTooLarge(Exception):
    """Over the limit (413): said by Content-Length before reading, or found by reading."""


class MalformedBody(Exception):
    """The body's framing is broken (400); the message says how, in the sender's terms."""


def read_body(request: Request, limit: int) -> bytes:
    """The raw body; BodyTooLarge or MalformedBody instead of a body that is not whole."""
    environ = request.environ
    transfer = environ.get("HTTP_TRANSFER_ENCODING", "")
    if transfer:
        if transfer.strip().lower() != "chunked":
            raise MalformedBody("unsupported Transfer-Encoding (only chunked)")
        if not environ.get("wsgi.input_terminated"):
            # a server that does not de-chunk would hand us the chunk sizes as body
            raise MalformedBody("chunked bodies are not supported by this server")
        with _framing_faults():
            return _read_to_end(request.input_stream, limit)
    declared = environ.get("CONTENT_LENGTH") or ""
    if not declared:
        return b""  # no length, not chunked: HTTP says there is no body
    if not _LENGTH.fullmatch(declared):
        raise MalformedBody("Content-Length is not a number")
    # More digits than the limit has is too large already (and int() refuses more than
    # 4,300 of them).
    digits = declared.lstrip("0") or "0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise BodyTooLarge()
    length = int(digits)
    # cache=False: the bytes are only hashed and stored, never re-read by Flask
    with _framing_faults():
        raw = request.get_data(cache=False)
    if len(raw) != length:
        # gunicorn returns what came before the connection closed
        raise MalformedBody("the body is shorter than its Content-Length")
    return raw


@contextmanager
def _framing_faults() -> Iterator[None]:
    try:
        yield
    except BodyTooLarge:
        raise
    except Exception as exc:
        # Only the client's bytes and the socket are involved here: whatever the server
        # raises while reading is a request it could not frame (its type, for the log).
        logger.info("refused a request body: %s", type(exc).__name__)
        raise MalformedBody("the body's framing is broken") from exc


def _read_to_end(stream: IO[bytes], limit: int) -> bytes:
    # The server de-chunked the body and marks its end. Werkzeug's own max-length guard
    # truncates such a body silently at the limit; one byte more tells us.
    pieces: list[bytes] = []
    size = 0
    while size <= limit:
        piece = _read_some(stream, limit + 1 - size)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    if size > limit:
        raise BodyTooLarge()
    return b"".join(pieces)


def _read_some(stream: IO[bytes], size: int) -> bytes:
    readinto = getattr(stream, "readinto", None)
    if readinto is None:  # gunicorn's Body
        return stream.read(size)
    # Werkzeug's DechunkedInput assigns short reads (a body cut off mid-chunk) into the
    # buffer it is given: a bytearray (what read() passes) shrinks, and read() then copies
    # the length it was told from past its end, which crashed the development server
    # with SIGSEGV here. A memoryview cannot shrink: the assignment raises ValueError.
    view = memoryview(bytearray(size))
    count = readinto(view)
    if not count:
        return b""
    if count > size:
        raise ValueError("the server reported more bytes than it was given room for")
    return view[:count].tobytes()
