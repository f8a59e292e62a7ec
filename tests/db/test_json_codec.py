"""db.json_codec reads and writes what `json` does, exactly, only faster."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from db import json_codec

BODY = {
    "notification_type": "upload",
    "public_id": "café/ünï — 名前 \U0001f600",
    "version": 1700000000,
    "bytes": 284913,
    "duration": 12.5,
    "tags": ["a", "b"],
    "context": {"custom": {"alt": 'quote " and \\ backslash'}},
    "placeholder": False,
    "etag": None,
}


@pytest.mark.parametrize(
    "number",
    [
        2**63 - 1,
        -(2**63),
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        10**30,
        -(10**30),
        1234567890123456789,
    ],
)
def test_integers_past_64_bits_read_and_write_exactly(number: int) -> None:
    text = json.dumps({"n": number, "list": [number]})
    assert json_codec.loads(text.encode()) == {"n": number, "list": [number]}
    assert json.loads(json_codec.dumps({"n": number})) == {"n": number}


@pytest.mark.parametrize("kind", [str, bytes, bytearray, memoryview])
def test_reads_what_json_reads(kind: type) -> None:
    text = json.dumps(BODY, ensure_ascii=False)
    data = text if kind is str else kind(text.encode())
    assert json_codec.loads(data) == json.loads(text) == BODY


def test_a_digit_run_inside_a_string_reads_the_same() -> None:
    body = {"public_id": "x" + "7" * 40, "n": 5}
    assert json_codec.loads(json.dumps(body).encode()) == body


def test_malformed_text_raises_json_s_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads(b'{"a": ')


def test_writes_datetimes_as_iso_8601_with_their_offset() -> None:
    aware = datetime(2026, 11, 20, 14, 0, 0, 123456, tzinfo=UTC)
    plus_two = datetime(2026, 11, 20, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    text = json_codec.dumps({"a": aware, "b": plus_two, "c": [1.5, None, True]})
    assert json.loads(text) == {
        "a": aware.isoformat(),
        "b": plus_two.isoformat(),
        "c": [1.5, None, True],
    }
    assert datetime.fromisoformat(json.loads(text)["b"]) == plus_two


def test_writes_what_json_writes_for_plain_values() -> None:
    assert json.loads(json_codec.dumps(BODY)) == BODY


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(TypeError):
        json_codec.dumps({"a": object()})


@dataclass(slots=True)
class Row:
    id: int | None
    tags: list[str] = field(default_factory=list)
    at: datetime | None = None


@pytest.mark.parametrize("number", [7, 2**70])
def test_writes_dataclass_instances_as_objects_a_key_per_field(number: int) -> None:
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    text = json_codec.dumps([Row(number, ["a"], at), Row(None)])
    assert json.loads(text) == [
        {"id": number, "tags": ["a"], "at": at.isoformat()},
        {"id": None, "tags": [], "at": None},
    ]
