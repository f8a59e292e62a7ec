"""body_check: a body is accepted only when Python and PostgreSQL's jsonb read it alike.

The property test stores every accepted body as jsonb on the real server and reads it
back the way a worker does (db/json_codec.py): it must read, and read as Python did."""

import json
import re
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import json_codec
from db.urls import libpq_url
from tests.webhook_receiver.helpers import as_floats
from webhook_receiver.body_check import (
    MAX_DEPTH,
    BodyRefused,
    parse_notification,
)


def wrap(value: str) -> bytes:
    return ('{"notification_type": "upload", "v": ' + value + "}").encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e5000", "number"),
        ("-2.5e4400", "number"),
        ("1E400", "number"),
        ("1e300", "number"),
        ("-1e300", "number"),
        ("1" + "0" * 300, "number"),  # 10**300 as an integer
        ("9" * 4301, "number"),  # past sys.int_max_str_digits
        ("1e-301", "number"),  # Python: 1e-301; jsonb: 301 digits after the point
        ("1e-5000", "number"),  # Python: 0.0
        ("0e-5000", "number"),  # jsonb prints 5,000 zeros
        ("0." + "0" * 400, "number"),
        (
            "1.5e99999999999999999999999",
            "number",
        ),  # past the decimal module's exponents
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ('"a\\u0000b"', "\\u0000"),
        ('{"\\u0000": 1}', "\\u0000"),
        ('"\\ud800"', "surrogate"),
        ('"\\udc00\\ud800"', "surrogate"),
        ('["ok", {"k": "\\udfff"}]', "surrogate"),
        ('"\\ud800\\u0041"', "surrogate"),
        ('"\\ud800x"', "surrogate"),
        # jsonb reads the value a later duplicate key replaces, and refuses the body
        ('{"k": "\\u0000", "k": 1}', "\\u0000"),
        ("[" * MAX_DEPTH + "]" * MAX_DEPTH, "nested"),
        ('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH, "nested"),
        ("[" * 100_000 + "]" * 100_000, "nested"),  # past Python's recursion limit
    ],
)
def test_bodies_the_readers_disagree_on_are_refused_saying_why(value, reason):
    expected = "a number" if reason == "number" else re.escape(reason)
    with pytest.raises(BodyRefused, match=expected):
        parse_notification(wrap(value))


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "0e-5",
        "1e299",
        "-9.99e299",
        "1e-300",
        "1.7976931348623157e-300",
        "9" * 300,
        "2.5e10",
        "123456789012345678901234567890",  # past 64 bits: json_codec reads it exactly
        '"\\ud83d\\ude00"',  # a surrogate pair is one character
        '"\\\\u0000"',  # an escaped backslash, then text: no NUL
        '"é 😀"',
        "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1),
        '"' + "[" * 200 + '"',  # brackets inside a string are not nesting
    ],
)
def test_bodies_every_reader_agrees_on_are_accepted(value):
    assert parse_notification(wrap(value)).notification_type == "upload"


def test_duplicate_keys_are_accepted_and_the_last_one_wins_everywhere():
    # json, orjson and jsonb all keep the last value: every reader sees the same object
    raw = b'{"notification_type": "upload", "notification_type": "delete", "v": 1}'
    assert parse_notification(raw).notification_type == "delete"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b"\xef\xbb\xbf{}", "not JSON"),  # a BOM
        (b'"\xed\xa0\x80"', "UTF-8"),  # a surrogate encoded in UTF-8
        (b"", "not JSON"),
        (b"{} {}", "not JSON"),
        (b"[1]", "object"),
        (b'{"notification_type": 1}', "notification_type"),
        (b'{"notification_type": ""}', "notification_type"),
        (b'{"v": 1}', "notification_type"),
    ],
)
def test_bodies_that_are_not_notifications_are_refused(raw, reason):
    with pytest.raises(BodyRefused, match=reason):
        parse_notification(raw)


def test_the_text_kept_is_the_body_as_sent():
    raw = b'{ "notification_type" : "upload",\n"v": 1.50e2 }'
    assert parse_notification(raw).text == raw.decode()


# -- the property: accepted means jsonb stores it and a worker reads it back alike ------

digits = st.text("0123456789", min_size=1, max_size=350)
number_literals = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(
        st.just("0"),
        st.builds(
            lambda a, b: a + b, st.sampled_from("123456789"), digits | st.just("")
        ),
    ),
    st.one_of(st.just(""), digits.map(lambda d: "." + d)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, s, n: e + s + str(n),
            st.sampled_from(["e", "E"]),
            st.sampled_from(["", "+", "-"]),
            st.one_of(st.integers(0, 20), st.integers(280, 420), st.integers(0, 6000)),
        ),
    ),
)
escapes = st.sampled_from(
    [
        "a",
        "\\u0000",
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "\\\\u0000",
        "\\n",
        "é",
        "[",
        "{",
    ]
)
string_literals = st.one_of(
    st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.lists(escapes, max_size=6).map(lambda parts: '"' + "".join(parts) + '"'),
)
scalars = st.one_of(
    number_literals, string_literals, st.sampled_from(["true", "false", "null"])
)


def _containers(children):
    arrays = st.lists(children, max_size=4).map(
        lambda items: "[" + ",".join(items) + "]"
    )
    objects = st.lists(st.tuples(string_literals, children), max_size=4).map(
        lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
    )
    return arrays | objects


json_texts = st.builds(
    lambda value, depth: "[" * depth + value + "]" * depth,
    st.recursive(scalars, _containers, max_leaves=12),
    st.one_of(st.just(0), st.integers(0, MAX_DEPTH + 5)),
)


@pytest.fixture(scope="module")
def pg(pg_server_url):
    with psycopg.connect(libpq_url(pg_server_url), autocommit=True) as conn:
        yield conn


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=json_texts)
def test_every_accepted_body_is_stored_by_jsonb_and_read_back_alike(pg, value):
    raw = wrap(value)
    try:
        accepted = parse_notification(raw)
    except BodyRefused:
        return
    stored = pg.execute("SELECT %s::jsonb::text", (accepted.text,)).fetchone()[0]
    exact = {"parse_float": Decimal, "parse_int": Decimal}
    # jsonb kept what was sent (printed its way: `1.50e2` as 150) ...
    assert json.loads(stored, **exact) == json.loads(raw, **exact)
    # ... and the worker reads it as the number Python reads from what was sent (an
    # exponent that makes a whole number comes back an int: `1e280` is 10**280)
    assert as_floats(json_codec.loads(stored)) == as_floats(json.loads(raw))
