"""One structured-metadata value checked against its field: type, datasource, validation.

Values arrive as the SDK sends them (strings in `k=v|k2=v2`, a set as a JSON list, or
JSON from a field definition's `default_value`) and leave in the type Cloudinary returns:
str for string, date and enum, int for integer, a list of external_ids for set.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from cloudinary_emulator.errors import ApiError

FIELD_TYPES = ("string", "integer", "date", "enum", "set")
RULE_TYPES = ("greater_than", "less_than", "strlen", "and")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def active_ids(field: dict[str, Any]) -> list[str]:
    values = (field.get("datasource") or {}).get("values") or []
    return [v["external_id"] for v in values if v.get("state", "active") == "active"]


def coerce(field: dict[str, Any], raw: Any) -> Any:
    """The stored form of `raw` for this field, or ValueError with the reason."""
    kind = field["type"]
    if kind == "integer":
        return _integer(raw)
    if kind == "date":
        return _date(raw)
    if kind == "set":
        return _set(field, raw)
    if isinstance(raw, (dict, list)):
        raise ValueError("a single value is expected")
    value = raw if isinstance(raw, str) else json.dumps(raw)
    if kind == "enum" and value not in active_ids(field):
        raise ValueError(f"{value} is not a valid datasource value")
    return value


def check(field: dict[str, Any], raw: Any) -> Any:
    """coerce, then the field's validation rule; ValueError says what is wrong."""
    value = coerce(field, raw)
    rule = field.get("validation")
    if rule and not satisfies(rule, field["type"], value):
        raise ValueError(f"{raw} does not pass the field's validation")
    return value


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("an integer is expected")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _INTEGER.match(raw.strip()):
        return int(raw.strip())
    raise ValueError("an integer is expected")


def _date(raw: Any) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DATE.match(text):
        raise ValueError("a date in the format yyyy-mm-dd is expected")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError("a date in the format yyyy-mm-dd is expected") from None
    return text


def _set(field: dict[str, Any], raw: Any) -> list[str]:
    items = raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise ValueError("a list of values is expected") from None
        else:
            items = [text] if text else []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError("a list of values is expected")
    allowed = active_ids(field)
    unknown = [i for i in items if i not in allowed]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a valid datasource value")
    return list(dict.fromkeys(items))


def satisfies(rule: dict[str, Any], kind: str, value: Any) -> bool:
    rule_type = rule.get("type")
    if rule_type == "and":
        return all(satisfies(r, kind, value) for r in rule.get("rules") or [])
    if rule_type == "strlen":
        length = len(value) if isinstance(value, str) else 0
        low, high = rule.get("min"), rule.get("max")
        return (low is None or length >= low) and (high is None or length <= high)
    if rule_type in ("greater_than", "less_than"):
        bound = _integer(rule["value"]) if kind == "integer" else rule["value"]
        if value == bound:
            return bool(rule.get("equals"))
        return bool(value > bound if rule_type == "greater_than" else value < bound)
    return True


def check_rule(rule: Any, kind: str) -> None:
    """A field definition's `validation`: its shape must suit the field type."""
    if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES:
        raise ApiError(400, "Validation type is invalid")
    rule_type = rule["type"]
    if rule_type == "and":
        rules = rule.get("rules")
        if not isinstance(rules, list) or not rules:
            raise ApiError(400, "Validation rules must be a non empty array")
        for inner in rules:
            check_rule(inner, kind)
    elif rule_type == "strlen":
        if kind != "string":
            raise ApiError(400, f"Validation strlen is not supported for type {kind}")
        for bound in ("min", "max"):
            value = rule.get(bound)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ApiError(400, f"Validation {bound} must be a positive integer")
        if rule.get("min") is None and rule.get("max") is None:
            raise ApiError(400, "Validation strlen requires min or max")
    else:
        if kind not in ("integer", "date"):
            raise ApiError(
                400, f"Validation {rule_type} is not supported for type {kind}"
            )
        try:
            _integer(rule.get("value")) if kind == "integer" else _date(
                rule.get("value")
            )
        except ValueError as exc:
            raise ApiError(400, f"Validation value is invalid: {exc}") from None
