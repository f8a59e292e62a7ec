"""Bad requests and tokens get clear answers; good ones get the stream."""

from __future__ import annotations

import json
import socket

import pytest

from tests.change_feed.sse import API_TOKEN, FEED_TOKEN
from workers.config import Settings


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split(" ")[1]), headers, body.decode()


def error_of(body: str) -> str:
    return str(json.loads(body)["error"])


GOOD = f"Host: x\r\nAuthorization: Bearer {FEED_TOKEN}\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "says"),
    [
        (b"GET /api/changes\r\n\r\n", 400, "malformed request line"),
        (b"GET /api/changes HTTP/2.0\r\nHost: x\r\n\r\n", 400, "use HTTP/1.1"),
        (b"GET http://x/api/changes HTTP/1.1\r\nHost: x\r\n\r\n", 400, "origin form"),
        (b"GET /api/changes HTTP/1.1\r\n\r\n", 400, "Host header"),
        (b"GET /api/changes HTTP/1.1\nHost: x\n\n", 400, "CRLF"),
        (b"GET /api/changes HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "malformed header"),
        (b"GET /api/changes HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "given twice"),
        (
            b"GET /api/changes HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            400,
            "no body",
        ),
        (b"GET /api/changes HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431, "8192"),
        (b"GET /api/other HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not found"),
        (f"POST /api/changes HTTP/1.1\r\n{GOOD}\r\n".encode(), 405, "GET only"),
        (b"GET /api/changes HTTP/1.1\r\nHost: x\r\n\r\n", 401, "bearer token"),
        (
            b"GET /api/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n",
            401,
            "bearer token",
        ),
        (
            b"GET /api/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9v\r\n\r\n",
            401,
            "bearer token",
        ),
        (b"GET /api/changes?access_token=nope HTTP/1.1\r\nHost: x\r\n\r\n", 401, "bearer"),
        (f"GET /api/changes?colour=red HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "unknown parameter 'colour'"),
        (f"GET /api/changes?folder=a&folder=b HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "given twice"),
        (f"GET /api/changes?folder= HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "folder is empty"),
        (f"GET /api/changes?resource_type=pdf HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "image, video, raw"),
        (f"GET /api/changes?%zz HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "malformed query"),
        (f"GET /api/changes HTTP/1.1\r\n{GOOD}Last-Event-ID: -3\r\n\r\n".encode(), 400, "change id"),
        (f"GET /api/changes?last_event_id=x HTTP/1.1\r\n{GOOD}\r\n".encode(), 400, "change id"),
    ],
)  # fmt: skip
def test_bad_requests_get_clear_errors(feed, request_bytes, status, says):
    got, headers, body = raw(feed.port, request_bytes)
    assert got == status, body
    assert says in error_of(body)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    if status == 401:
        assert headers["www-authenticate"] == 'Bearer realm="mediasync"'
    if status == 405:
        assert headers["allow"] == "GET"


@pytest.mark.parametrize(
    "how",
    [
        {"token": FEED_TOKEN},
        {"token": API_TOKEN},
        {"token": None, "query": f"access_token={FEED_TOKEN}"},
        {"token": None, "query": f"access_token={API_TOKEN}&folder=a"},
    ],
)
def test_either_token_opens_the_stream(feed, how):
    client = feed.client(**how)
    assert client.status == 200
    assert client.head["content-type"] == "text/event-stream; charset=utf-8"
    assert client.head["cache-control"] == "no-store"


def test_the_operator_token_alone_opens_it_too(start_feed, feed_settings):
    only_api = Settings(**{**feed_settings.__dict__, "feed_token": None})
    feed = start_feed(only_api)
    assert feed.client(token=API_TOKEN).status == 200
    assert feed.client(token=FEED_TOKEN).status == 401


def test_no_token_configured_means_the_feed_is_off(start_feed, feed_settings):
    off = Settings(**{**feed_settings.__dict__, "feed_token": None, "api_token": None})
    feed = start_feed(off)
    client = feed.client()
    assert client.status == 404
    assert "MEDIASYNC_FEED_TOKEN" in client.error()


def test_health_routes_need_no_token(feed):
    assert raw(feed.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
    assert raw(feed.port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200


def test_a_client_that_never_finishes_its_headers_is_timed_out(start_feed):
    feed = start_feed(header_timeout_s=0.3)
    status, _, body = raw(feed.port, b"GET /api/changes HTTP/1.1\r\nHost: x\r\n")
    assert status == 408
    assert "took too long" in error_of(body)


def test_subscribers_beyond_the_limit_are_told_to_come_back(start_feed):
    feed = start_feed(max_clients=2)
    assert [feed.client().status for _ in range(3)] == [200, 200, 503]
