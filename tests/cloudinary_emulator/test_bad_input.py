"""Whatever a client sends to any Admin or Upload endpoint, authenticated and signed, the
emulator answers as Cloudinary does: a status below 500 and, for an error, the JSON shape
`{"error": {"message": "…"}}`. Generated parameter sets, JSON bodies and forms."""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudinary_emulator import Emulator
from cloudinary_emulator.signing import digest, string_to_sign

# EMULATOR_FUZZ_EXAMPLES=5000 for a longer hunt
EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "150"))
ADMIN = [
    ("GET", "metadata_fields"),
    ("POST", "metadata_fields"),
    ("GET", "metadata_fields/f1"),
    ("PUT", "metadata_fields/f1"),
    ("DELETE", "metadata_fields/f1"),
    ("PUT", "metadata_fields/f1/datasource"),
    ("DELETE", "metadata_fields/f1/datasource"),
    ("POST", "metadata_fields/f1/datasource_restore"),
    ("POST", "metadata_fields/f1/datasource/order"),
    ("PUT", "metadata_fields/order"),
    ("GET", "metadata_rules"),
    ("POST", "metadata_rules"),
    ("PUT", "metadata_rules/r1"),
    ("DELETE", "metadata_rules/r1"),
    ("GET", "transformations"),
    ("POST", "transformations"),
    ("GET", "transformations/t1"),
    ("PUT", "transformations/t1"),
    ("DELETE", "transformations/t1"),
    ("GET", "folders"),
    ("GET", "folders/a"),
    ("POST", "folders/a/b"),
    ("PUT", "folders/a"),
    ("DELETE", "folders/a"),
    ("GET", "folders/search"),
    ("POST", "folders/search"),
    ("POST", "resources/image/upload/restore"),
    ("POST", "resources/restore"),
    ("DELETE", "derived_resources"),
    ("GET", "resources/image/moderations/manual/pending"),
    ("GET", "resources/by_asset_folder"),
    ("GET", "resources/image/upload/p1"),
    ("POST", "resources/image/upload/p1"),
    ("DELETE", "resources/image/upload"),
    ("GET", "resources/image"),
    ("GET", "resources"),
    ("GET", "tags/image"),
    ("GET", "config"),
    ("GET", "usage/2020-13-45"),
    ("GET", "upload_presets"),
    ("POST", "upload_presets"),
    ("PUT", "upload_presets/u1"),
    ("GET", "upload_mappings"),
    ("POST", "upload_mappings"),
    ("POST", "resources/related_assets/image/upload/p1"),
    ("DELETE", "resources/related_assets/image/upload/p1"),
    ("POST", "resources/image/publish_resources"),
    ("GET", "triggers"),
    ("POST", "triggers"),
    ("POST", "resources/search"),
]
UPLOAD = [
    "upload",
    "explicit",
    "rename",
    "destroy",
    "tags",
    "context",
    "metadata",
    "text",
    "sprite",
    "multi",
    "explode",
    "generate_archive",
]
NAMES = [
    "public_id",
    "public_ids",
    "prefix",
    "type",
    "max_results",
    "next_cursor",
    "tags",
    "context",
    "metadata",
    "external_id",
    "label",
    "default_value",
    "validation",
    "datasource",
    "values",
    "external_ids",
    "order_by",
    "direction",
    "transformation",
    "transformations",
    "eager",
    "format",
    "allowed_for_strict",
    "unsafe_update",
    "name",
    "expression",
    "sort_by",
    "with_field",
    "moderation_status",
    "access_control",
    "asset_folder",
    "display_name",
    "versions",
    "asset_ids",
    "from_public_id",
    "to_public_id",
    "command",
    "file",
    "mandatory",
    "condition",
    "result",
    "keep_original",
    "backup",
    "moderation",
    "clear_invalid",
    "uri",
    "event_type",
    "text",
    "font_size",
    "mode",
    "folder",
    "template",
    "settings",
    "start_at",
    "derived_next_cursor",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "9" * 30, "a|b=c", "{", "[]", "\x00", "é/../x"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
params = st.dictionaries(st.sampled_from(NAMES), values, max_size=5)


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(rate_limit=1_000_000) as emulator:
        yield emulator


def _send(em: Emulator, method: str, path: str, body: bytes, kind: str) -> Any:
    parts = urlsplit(em.base_url)
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=10
    )
    account = em.account
    auth = base64.b64encode(f"{account.api_key}:{account.api_secret}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": kind}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _assert_answer(status: int, raw: bytes, what: str) -> None:
    assert status < 500, f"{what}: {status} {raw[:300]!r}"
    if status >= 400:
        error = json.loads(raw)["error"]
        assert isinstance(error["message"], str), what
        assert error["message"], what


def _form(values: dict[str, Any]) -> dict[str, str]:
    """How a form carries a value: JSON for structures, text for the rest."""
    return {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()
        if v is not None
    }


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(endpoint=st.sampled_from(ADMIN), body=params, as_json=st.booleans())
def test_admin_endpoints_never_answer_500(
    server: Emulator, endpoint: tuple[str, str], body: dict[str, Any], as_json: bool
) -> None:
    method, path = endpoint
    url = f"/v1_1/{server.account.cloud_name}/{path}"
    if method == "GET":
        url += "?" + urlencode(_form(body))
        status, raw = _send(server, method, url, b"", "application/json")
    elif as_json:
        payload = json.dumps(body).encode()
        status, raw = _send(server, method, url, payload, "application/json")
    else:
        form = urlencode(_form(body)).encode()
        status, raw = _send(
            server, method, url, form, "application/x-www-form-urlencoded"
        )
    _assert_answer(status, raw, f"{method} {path} {body!r}")


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(action=st.sampled_from(UPLOAD), body=params)
def test_signed_upload_calls_never_answer_500(
    server: Emulator, action: str, body: dict[str, Any]
) -> None:
    account = server.account
    form: dict[str, str | list[str]] = dict(_form(body))
    form.pop("file", None)
    if action == "upload":
        form["file"] = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    form["timestamp"] = str(int(time.time()))
    form["signature"] = digest(
        string_to_sign(form, action) + account.api_secret, account.signature_algorithm
    )
    form["api_key"] = account.api_key
    url = f"/v1_1/{account.cloud_name}/image/{action}"
    payload = urlencode(form).encode()
    status, raw = _send(
        server, "POST", url, payload, "application/x-www-form-urlencoded"
    )
    _assert_answer(status, raw, f"{action} {body!r}")
