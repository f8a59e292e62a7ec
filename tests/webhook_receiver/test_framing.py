"""Broken HTTP framing gets a 4xx, never a 500 (or a crash), from both servers the
receiver runs under: gunicorn (`mediasync receiver`) and Werkzeug's development server.
Requests are written byte by byte on real sockets."""

import time

import pytest

from tests.inbox import payloads as p
from tests.webhook_receiver import raw_http as h
from tests.webhook_receiver.helpers import inbox_bodies, signed
from tests.webhook_receiver.servers import own_database, served
from workers.config import Settings


@pytest.fixture(scope="module", params=["gunicorn", "werkzeug"])
def receiver(request, pg_server_url, template_db, _redis_db_index, tmp_path_factory):
    """One server per module: (port, database URL)."""
    with own_database(pg_server_url, template_db) as url:
        settings = Settings(
            database_url=url, redis_url=_redis_db_index, cloudinary=None
        )
        log = tmp_path_factory.mktemp("framing") / "receiver.log"
        with served(request.param, settings, log) as port:
            yield port, url


@pytest.fixture
def port(receiver):
    return receiver[0]


@pytest.fixture
def stored(receiver):
    """Rows this test stored so far."""
    before = len(inbox_bodies(receiver[1]))
    return lambda: len(inbox_bodies(receiver[1])) - before


def notification():
    # a new public_id each time: every well-framed one is a new row
    return signed(p.upload(f"framing/{time.time_ns()}", 1))


def cut(body):
    return body[: len(body) // 2]


# (name, request builder, answers allowed). gunicorn refuses some framing itself (400)
# before the app sees it; the development server leaves it to the app.
BROKEN = [
    ("chunk size zz", lambda b, hd: h.chunked(hd, b"zz\r\n" + b + b"\r\n0\r\n\r\n")),
    (
        "chunk size negative",
        lambda b, hd: h.chunked(hd, b"-5\r\n" + b + b"\r\n0\r\n\r\n"),
    ),
    (
        "chunk size past the body",
        lambda b, hd: h.chunked(hd, b"%x\r\n" % (len(b) + 50) + b),
    ),
    (
        "chunk size of 2**80",
        lambda b, hd: h.chunked(hd, b"f" * 20 + b"\r\n" + b + b"\r\n0\r\n\r\n"),
    ),
    ("no last chunk", lambda b, hd: h.chunked(hd, b"%x\r\n" % len(b) + b + b"\r\n")),
    (
        "chunk without its CRLF",
        lambda b, hd: h.chunked(hd, b"%x\r\n" % len(b) + b + b"XX0\r\n\r\n"),
    ),
    ("chunked body cut off", lambda b, hd: cut(h.chunked(hd, h.chunks(b)))),
    ("empty chunked framing", lambda b, hd: h.chunked(hd, b"")),
    (
        "body shorter than Content-Length",
        lambda b, hd: h.with_length(hd, cut(b), str(len(b))),
    ),
    ("Content-Length abc", lambda b, hd: h.with_length(hd, b, "abc")),
    ("Content-Length -1", lambda b, hd: h.with_length(hd, b, "-1")),
    ("Content-Length 1e3", lambda b, hd: h.with_length(hd, b, "1e3")),
    (
        "Transfer-Encoding gzip",
        lambda b, hd: h.head({**hd, "Transfer-Encoding": "gzip"}) + b"\r\n" + b,
    ),
]


@pytest.mark.parametrize(("name", "build"), BROKEN, ids=[name for name, _ in BROKEN])
def test_broken_framing_gets_400_and_stores_nothing(port, stored, name, build):
    raw, headers = notification()
    assert h.exchange(port, build(raw, headers)) == 400, name
    assert stored() == 0
    # the server still serves: a well-framed notification after it is stored
    raw, headers = notification()
    assert h.exchange(port, h.with_length(headers, raw)) == 202
    assert stored() == 1


def test_well_framed_variants_are_stored(port, stored):
    raw, headers = notification()
    assert h.exchange(port, h.chunked(headers, h.chunks(raw, size=7))) == 202
    raw, headers = notification()
    assert h.exchange(port, h.with_length(headers, raw, "000" + str(len(raw)))) == 202
    # Content-Type is not signed and not checked: the signature vouches for the body
    raw, headers = notification()
    odd = {**headers, "Content-Type": "text/plain"}
    assert h.exchange(port, h.with_length(odd, raw)) == 202
    raw, headers = notification()
    del headers["Content-Type"]
    assert h.exchange(port, h.with_length(headers, raw)) == 202
    assert stored() == 4


def test_lengths_past_the_limit_get_413_unread(port, stored):
    raw, headers = notification()
    for length in (str(1024 * 1024 + 1), "9" * 30):
        assert h.exchange(port, h.with_length(headers, raw, length)) == 413
    # past 4,300 digits gunicorn refuses the header itself (400); Werkzeug passes it on
    assert h.exchange(port, h.with_length(headers, raw, "1" + "0" * 5000)) in (400, 413)
    assert stored() == 0


def test_missing_signature_headers_get_401_whatever_the_framing(port, stored):
    raw, headers = notification()
    for drop in ("X-Cld-Signature", "X-Cld-Timestamp"):
        partial = {k: v for k, v in headers.items() if k != drop}
        assert h.exchange(port, h.with_length(partial, raw)) == 401
        assert h.exchange(port, h.chunked(partial, h.chunks(raw))) == 401
    # no body at all (no length, not chunked): nothing was signed
    assert h.exchange(port, h.head(headers) + b"\r\n") == 401
    assert stored() == 0
