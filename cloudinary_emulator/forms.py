"""Request parameter decoding: multipart and urlencoded forms, bracketed arrays, k=v|k=v."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

Params = dict[str, str | list[str]]

_DISPOSITION_PARAM = re.compile(
    r';\s*([\w*-]+)="((?:[^"\\]|\\.)*)"|;\s*([\w*-]+)=([^;\s]+)'
)


@dataclass
class UploadedFile:
    filename: str
    data: bytes


@dataclass
class Form:
    """Form fields by name. `name[]` fields become lists under `name`, which is how
    the SDK sends arrays and how the signature sees them (joined with commas)."""

    fields: Params = field(default_factory=dict)
    file: UploadedFile | None = None

    def get(self, name: str, default: str = "") -> str:
        value = self.fields.get(name, default)
        return ",".join(value) if isinstance(value, list) else value

    def list(self, name: str) -> list[str]:
        value = self.fields.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        return [item for item in value.split(",") if item]

    def flag(self, name: str, default: bool) -> bool:
        return parse_bool(self.get(name), default)


def parse_bool(value: object, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


def add_field(fields: Params, name: str, value: str) -> None:
    if name.endswith("[]"):
        existing = fields.setdefault(name[:-2], [])
        if isinstance(existing, list):
            existing.append(value)
        else:
            fields[name[:-2]] = [existing, value]
    else:
        fields[name] = value


def parse_query(query: str) -> Params:
    fields: Params = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        add_field(fields, name, value)
    return fields


def parse_form(content_type: str, body: bytes) -> Form:
    if content_type.lower().startswith("multipart/form-data"):
        return _parse_multipart(content_type, body)
    form = Form()
    form.fields = parse_query(body.decode("utf-8", errors="replace"))
    return form


def _header_params(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _DISPOSITION_PARAM.finditer(header):
        if match.group(1):
            params[match.group(1).lower()] = match.group(2).replace('\\"', '"')
        else:
            params[match.group(3).lower()] = match.group(4)
    return params


def _parse_multipart(content_type: str, body: bytes) -> Form:
    boundary = _header_params(content_type).get("boundary", "")
    form = Form()
    if not boundary:
        return form
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        disposition = ""
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disposition = line
        params = _header_params(disposition)
        name = _unescape_html5(params.get("name", ""))
        if not name:
            continue
        if "filename" in params:
            form.file = UploadedFile(_unescape_html5(params["filename"]), content)
        else:
            add_field(form.fields, name, content.decode("utf-8", errors="replace"))
    return form


def _unescape_html5(value: str) -> str:
    # urllib3 writes field names the HTML5 way: '"' as %22, CR/LF as %0D/%0A.
    return value.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


def parse_context(text: str) -> dict[str, str]:
    """`k=v|k2=v2` with `\\=` and `\\|` escapes inside values -> dict.

    Only those two are escapes: the SDK leaves other backslashes alone.
    """
    result: dict[str, str] = {}
    for pair in re.split(r"(?<!\\)\|", text):
        if not pair:
            continue
        parts = re.split(r"(?<!\\)=", pair, maxsplit=1)
        value = parts[1] if len(parts) > 1 else ""
        result[_unescape(parts[0])] = _unescape(value)
    return result


def _unescape(text: str) -> str:
    return text.replace("\\=", "=").replace("\\|", "|")


def parse_tags(value: object) -> list[str]:
    """Tags arrive comma-joined (Admin update) or as a list; order kept, duplicates dropped."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
