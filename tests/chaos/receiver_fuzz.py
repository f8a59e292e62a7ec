"""Fuzzed requests for the receiver: bodies, headers and framing, each knowing what it is.

Every request is built whole as bytes (tests/webhook_receiver/raw_http.py) so framing no
HTTP client would send can be sent. A request records the body it carries when that body
is validly signed (only those may ever be stored, and only whole) and whether it is a
clean notification, validly signed and well framed (those must be stored).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.webhook_receiver import raw_http as h
from tests.webhook_receiver.helpers import SECRET
from webhook_receiver.signature import sign

QUICK_REQUESTS = 2_000
FULL_REQUESTS = 20_000


def initial_env(name: str) -> str | None:
    """`name` as the pytest process was started with it: tests/conftest.py deletes every
    MEDIASYNC_* variable at import; on Linux the initial environment still has it."""
    if name in os.environ:
        return os.environ[name]
    try:
        entries = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for entry in entries:
        key, _, value = entry.partition(b"=")
        if key.decode(errors="replace") == name:
            return value.decode(errors="replace")
    return None


def request_count() -> int:
    return FULL_REQUESTS if initial_env("MEDIASYNC_CHAOS") == "full" else QUICK_REQUESTS


@dataclass(frozen=True)
class Fuzzed:
    kind: str  # body/headers/framing labels, for the counts
    data: bytes  # the request as sent
    body: bytes | None  # the body, when it is validly signed
    clean: bool  # a plain notification, validly signed and well framed: must be stored

    @property
    def digest(self) -> str | None:
        return None if self.body is None else hashlib.sha256(self.body).hexdigest()


# -- bodies ---------------------------------------------------------------------------

TYPES = [
    "upload",
    "delete",
    "rename",
    "resource_tags_changed",
    "resource_context_changed",
]


def notification(rng: random.Random) -> dict[str, Any]:
    public_id = "fuzz/" + "".join(rng.choices(string.ascii_lowercase, k=10))
    body: dict[str, Any] = {
        "notification_type": rng.choice(TYPES),
        "public_id": public_id,
        "asset_id": f"{rng.getrandbits(128):032x}",
        "version": rng.randrange(1, 2**31),
        "resource_type": "image",
        "type": "upload",
        "tags": rng.sample(["a", "b", "é", "日本", "x y"], k=rng.randrange(0, 4)),
        "context": {"custom": {"alt": rng.choice(["", "a cat", "ü"])}},
        "bytes": rng.randrange(0, 10**7),
        "notification_context": {"triggered_at": "2026-11-20T14:00:00.000000Z"},
    }
    if body["notification_type"] == "delete":
        body["resources"] = [{"public_id": public_id, "resource_type": "image"}]
    return body


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.3:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if depth < 4 and roll < 0.6:
        return {
            rng.choice(["a", "notification_type", "public_id", "v", "é"]): random_json(
                rng, depth + 1
            )
            for _ in range(rng.randrange(0, 4))
        }
    return rng.choice(
        [None, True, 0, -1, 2**70, 1.5, "", "upload", "x" * rng.randrange(0, 50)]
    )


ODD_VALUES = [
    "1e5000",
    "-2.5e4400",
    "1e300",
    "1e-400",
    "0e-9000",
    "9" * 5000,
    "1" + "0" * 299,
    "1e299",
    "NaN",
    "-Infinity",
    '"\\u0000"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\\\u0000"',
    "[" * 70 + "]" * 70,
    "[" * 63 + "]" * 63,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 100 + "1" + "}" * 100,
    "12345678901234567890123",
    "-0.0",
    "1.5E+3",
]


def odd_notification(rng: random.Random) -> bytes:
    """A notification with one odd value spliced in as text (json.dumps cannot write
    most of them)."""
    text = json.dumps(notification(rng))
    value = rng.choice(ODD_VALUES)
    key = rng.choice(
        ['"v"', '"version"', '"public_id"', '"\\u0000"', '"notification_type"']
    )
    return (text[:-1] + f", {key}: {value}}}").encode()


def mutated(rng: random.Random) -> bytes:
    raw = bytearray(json.dumps(notification(rng)).encode())
    for _ in range(rng.randrange(1, 4)):
        if not raw:
            break
        at = rng.randrange(len(raw))
        operation = rng.random()
        if operation < 0.3:
            raw[at] = rng.randrange(256)
        elif operation < 0.5:
            del raw[at : at + rng.randrange(1, 10)]
        elif operation < 0.7:
            raw[at:at] = rng.choice(
                [
                    b",",
                    b"}",
                    b"[",
                    b'"',
                    b"\\",
                    b"\\u",
                    b"\xff",
                    b"\xc3",
                    b"\x00",
                    b"1e999",
                ]
            )
        else:
            raw = raw[: rng.randrange(len(raw))]
    return bytes(raw)


def body(rng: random.Random) -> tuple[str, bytes, bool]:
    """(kind, body, clean)."""
    roll = rng.random()
    if roll < 0.35:
        return "notification", json.dumps(notification(rng)).encode(), True
    if roll < 0.55:
        return "odd value", odd_notification(rng), False
    if roll < 0.75:
        return "mutated", mutated(rng), False
    if roll < 0.85:
        return "random json", json.dumps(random_json(rng)).encode(), False
    if roll < 0.9:
        return "binary", rng.randbytes(rng.randrange(0, 3000)), False
    if roll < 0.95:
        text = json.dumps(notification(rng)).encode()
        return "bad utf-8", text[:-2] + b'"\xed\xa0\x80' + text[-2:], False
    if roll < 0.98:
        depth = rng.choice([65, 999, 1001, 100_000])
        return "deep", b"[" * depth + b"]" * depth, False
    if roll < 0.99:
        filler = "x" * rng.choice([1024 * 1024 - 200, 1024 * 1024 + 10])
        return (
            "large",
            json.dumps({"notification_type": "big", "f": filler}).encode(),
            False,
        )
    return "empty", b"", False


# -- headers ----------------------------------------------------------------------------


def headers(rng: random.Random, raw: bytes) -> tuple[str, dict[str, str], bool]:
    """(kind, headers, validly signed)."""
    now = int(time.time())
    stamp = str(now - rng.randrange(0, 600))
    algorithm = rng.choice(["sha1", "sha256"])
    good = {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": stamp,
        "X-Cld-Signature": sign(raw, stamp, SECRET, algorithm),
    }
    roll = rng.random()
    if roll < 0.6:
        return "signed", good, True
    if roll < 0.65:
        odd_type = rng.choice(
            [
                "text/plain",
                "",
                "multipart/form-data",
                "application/x-www-form-urlencoded",
                "application/json; charset=latin-1",
            ]
        )
        return "signed, odd content type", {**good, "Content-Type": odd_type}, True
    variants: list[tuple[str, Callable[[], dict[str, str]]]] = [
        ("no signature", lambda: _without(good, "X-Cld-Signature")),
        ("no timestamp", lambda: _without(good, "X-Cld-Timestamp")),
        ("no headers", lambda: {"Content-Type": "application/json"}),
        (
            "wrong secret",
            lambda: {**good, "X-Cld-Signature": sign(raw, stamp, "not-ours")},
        ),
        (
            "flipped signature",
            lambda: {**good, "X-Cld-Signature": _flip(rng, good["X-Cld-Signature"])},
        ),
        (
            "uppercase signature",
            lambda: {**good, "X-Cld-Signature": good["X-Cld-Signature"].upper()},
        ),
        (
            "odd signature",
            lambda: {
                **good,
                "X-Cld-Signature": rng.choice(
                    ["", "0" * 40, "g" * 40, "a" * 63, "é" * 40, "0" * 1000]
                ),
            },
        ),
        ("stale", lambda: _resigned(raw, str(now - 7300 - rng.randrange(0, 10**6)))),
        ("future", lambda: _resigned(raw, str(now + 301 + rng.randrange(0, 10**6)))),
        (
            "odd timestamp",
            lambda: _resigned(
                raw,
                rng.choice(
                    [
                        "",
                        "-1",
                        " 12",
                        "1e9",
                        "0x10",
                        "٣",
                        "9" * 40,
                        str(now) + ".5",
                        f"+{now}",
                    ]
                ),
            ),
        ),
    ]
    kind, build = rng.choice(variants)
    return kind, build(), False


def _without(values: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if k != name}


def _flip(rng: random.Random, signature: str) -> str:
    at = rng.randrange(len(signature))
    digit = "0" if signature[at] != "0" else "1"
    return signature[:at] + digit + signature[at + 1 :]


def _resigned(raw: bytes, stamp: str) -> dict[str, str]:
    # signed correctly over a timestamp the receiver must refuse
    return {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": stamp,
        "X-Cld-Signature": sign(raw, stamp, SECRET),
    }


# -- framing ----------------------------------------------------------------------------


def framed(
    rng: random.Random, raw: bytes, values: dict[str, str]
) -> tuple[str, bytes, bool]:
    """(kind, request, well framed)."""
    roll = rng.random()
    if roll < 0.7:
        return "content-length", h.with_length(values, raw), True
    if roll < 0.8:
        return (
            "chunked",
            h.chunked(values, h.chunks(raw, size=rng.randrange(1, 5000))),
            True,
        )
    broken: list[tuple[str, Callable[[], bytes]]] = [
        (
            "chunk size zz",
            lambda: h.chunked(values, b"zz\r\n" + raw + b"\r\n0\r\n\r\n"),
        ),
        (
            "chunk size negative",
            lambda: h.chunked(values, b"-1\r\n" + raw + b"\r\n0\r\n\r\n"),
        ),
        (
            "chunk size huge",
            lambda: h.chunked(values, b"f" * rng.randrange(9, 30) + b"\r\n" + raw),
        ),
        (
            "chunk size past the body",
            lambda: h.chunked(
                values, b"%x\r\n" % (len(raw) + 1 + rng.randrange(1000)) + raw
            ),
        ),
        ("chunked cut off", lambda: _cut(rng, h.chunked(values, h.chunks(raw)))),
        (
            "no last chunk",
            lambda: (
                h.chunked(values, b"%x\r\n" % len(raw) + raw + b"\r\n")
                if raw
                else h.chunked(values, b"")
            ),
        ),
        (
            "chunk terminator wrong",
            lambda: (
                h.chunked(values, b"%x\r\n" % len(raw) + raw + b"XX0\r\n\r\n")
                if raw
                else h.chunked(values, b"1\r\nxXX")
            ),
        ),
        (
            "body shorter than length",
            lambda: h.with_length(values, raw[: len(raw) // 2], str(len(raw) + 1)),
        ),
        (
            "length not a number",
            lambda: h.with_length(
                values, raw, rng.choice(["abc", "-1", "1e3", "0x10", " ", "+5", "1.0"])
            ),
        ),
        ("length huge", lambda: h.with_length(values, raw, "9" * rng.randrange(8, 40))),
        (
            "transfer-encoding gzip",
            lambda: h.head({**values, "Transfer-Encoding": "gzip"}) + b"\r\n" + raw,
        ),
        ("no length", lambda: h.head(values) + b"\r\n"),
    ]
    kind, build = rng.choice(broken)
    return kind, build(), False


def _cut(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(data.index(b"\r\n\r\n") + 4, len(data))]


def fuzzed(rng: random.Random, previous: list[Fuzzed]) -> Fuzzed:
    if previous and rng.random() < 0.03:
        return previous[rng.randrange(len(previous))]  # a redelivery, byte for byte
    body_kind, raw, clean = body(rng)
    header_kind, values, signed_ok = headers(rng, raw)
    frame_kind, data, well_framed = framed(rng, raw, values)
    return Fuzzed(
        kind=f"{body_kind} | {header_kind} | {frame_kind}",
        data=data,
        # A broken frame may still deliver the whole signed body (Werkzeug accepts a
        # last chunk without its final LF): storing it is right, storing part is not.
        body=raw if signed_ok else None,
        clean=clean and signed_ok and well_framed,
    )
