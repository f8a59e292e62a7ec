"""The feed's HTTP edge: a minimal, strict HTTP/1.1 GET parser, the token check and answers.

It serves one resource, so it parses only what that needs and refuses the rest plainly:
400 a malformed request (or one with a body, or a bad parameter), 401 no or a wrong token,
404 another path (or the feed is off: no token is configured), 405 another method,
431 header lines too long or too many. Error answers are JSON and close the connection.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from webhook_receiver.change_feed import grants
from webhook_receiver.change_feed.queries import Filters

FEED_PATH = "/api/changes"
HEALTH_PATHS = ("/healthz", "/readyz")
MAX_LINE = 8192
MAX_HEADERS = 64
RESOURCE_TYPES = ("image", "video", "raw")
PARAMETERS = ("public_id", "folder", "resource_type", "last_event_id", "access_token")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"/[\x21-\x7e]*")
_CHANGE_ID = re.compile(r"[0-9]{1,18}")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class HttpError(Exception):
    """An answer other than the stream: its status and a message safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The client closed the connection before its request was complete."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass(frozen=True)
class FeedRequest:
    filters: Filters
    last_event_id: int | None
    # a console grant's expiry (unix time): the stream ends then; None for a token
    expires_at: float | None = None


async def read_request(reader: asyncio.StreamReader) -> Request:
    """The request line and headers (the stream's limit must be at least MAX_LINE)."""
    request_line = await _line(reader)
    parts = request_line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(400, f"unsupported protocol {version[:16]!r}: use HTTP/1.1")
    if not _TARGET.fullmatch(target):
        raise HttpError(400, "the request target must be a path (origin form)")
    headers: dict[str, str] = {}
    while line := await _line(reader):
        if len(headers) >= MAX_HEADERS:
            raise HttpError(431, f"more than {MAX_HEADERS} header fields")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            # also obsolete line folding: a line starting with whitespace
            raise HttpError(400, "malformed header field")
        key = name.lower()
        if key in headers:
            raise HttpError(400, f"header {name} is given twice")
        headers[key] = value.strip(" \t")
    if version == "HTTP/1.1" and "host" not in headers:
        raise HttpError(400, "an HTTP/1.1 request needs a Host header")
    if "transfer-encoding" in headers or headers.get("content-length", "0") != "0":
        raise HttpError(400, "a GET request has no body")
    parts_ = urlsplit(target)
    return Request(method, parts_.path, parts_.query, headers)


async def _line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HttpError(
            431, f"a request line or header over {MAX_LINE} bytes"
        ) from None
    except asyncio.IncompleteReadError:
        raise ClientGone from None
    if not raw.endswith(b"\r\n"):
        raise HttpError(400, "lines must end with CRLF")
    # header values may carry obs-text; latin-1 maps every byte, and names are checked
    return raw[:-2].decode("latin-1")


def authorize(request: Request, tokens: tuple[str | None, ...]) -> float | None:
    """A bearer token (header, or `access_token` for EventSource, which cannot set
    headers) equal to one configured, or a console's grant signed under one (grants.py);
    404 when none is configured: the feed is off. A grant's expiry, None for a token."""
    configured = tuple(t for t in tokens if t)
    if not configured:
        raise HttpError(
            404,
            "not found (the change feed is off: set MEDIASYNC_FEED_TOKEN or "
            "MEDIASYNC_API_TOKEN)",
        )
    given: str | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
    else:
        given = dict(_query_pairs(request.query)).get("access_token")
    if given is not None and given.startswith(grants.PREFIX):
        grant = grants.verify(given, configured)
        if grant is not None:
            return grant.expires_at
    # compare with every token, on bytes: constant time whichever matches
    matched = False
    for token in configured:
        matched |= given is not None and hmac.compare_digest(
            given.encode(), token.encode()
        )
    if not matched:
        if given is not None and given.startswith(grants.PREFIX):
            raise HttpError(401, "the console's grant is expired or not valid")
        raise HttpError(401, "missing or wrong bearer token")
    return None


def feed_request(request: Request, expires_at: float | None = None) -> FeedRequest:
    """The filters and the id to resume after; 400 naming what is wrong."""
    values: dict[str, str] = {}
    for name, value in _query_pairs(request.query):
        if name not in PARAMETERS:
            raise HttpError(
                400, f"unknown parameter {name[:40]!r} (known: {', '.join(PARAMETERS)})"
            )
        if name in values:
            raise HttpError(400, f"parameter {name} is given twice")
        if not value:
            raise HttpError(400, f"parameter {name} is empty")
        values[name] = value
    resource_type = values.get("resource_type")
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise HttpError(
            400, f"resource_type must be one of {', '.join(RESOURCE_TYPES)}"
        )
    folder = values.get("folder")
    if folder is not None:
        folder = folder.strip("/")
        if not folder:
            raise HttpError(400, "folder must name a folder")
    # the header (EventSource sends it on every reconnect) wins over the first URL's value
    raw_id = request.headers.get("last-event-id", values.get("last_event_id"))
    last_event_id = None
    if raw_id is not None and raw_id != "":
        if not _CHANGE_ID.fullmatch(raw_id):
            raise HttpError(400, "Last-Event-ID must be a change id (a whole number)")
        last_event_id = int(raw_id)
    filters = Filters(values.get("public_id"), folder, resource_type)
    return FeedRequest(filters, last_event_id, expires_at)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    if not query:
        return []
    try:
        return parse_qsl(
            query, keep_blank_values=True, strict_parsing=True, max_num_fields=16
        )
    except ValueError:  # also bad UTF-8 after percent-decoding, and too many fields
        raise HttpError(400, "malformed query string") from None


def error_answer(status: int, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    extra = ""
    if status == 401:
        extra = 'WWW-Authenticate: Bearer realm="mediasync"\r\n'
    elif status == 405:
        extra = "Allow: GET\r\n"
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        f"{extra}Connection: close\r\n\r\n"
    ).encode() + body


def plain_answer(status: int, text: str) -> bytes:
    body = text.encode()
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


# The stream's head. No length: the body ends when the connection does. `retry` tells
# EventSource to reconnect after 3 s; X-Accel-Buffering keeps nginx from holding events.
# Any origin may read it (the console's pages are on another origin): the credential is
# the token in the request, never a cookie, so CORS grants nothing the token does not.
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-store\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"X-Accel-Buffering: no\r\n"
    b"Connection: close\r\n\r\n"
    b"retry: 3000\n\n"
)
