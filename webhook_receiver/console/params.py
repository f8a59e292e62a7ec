"""Reading the console's query strings and forms into the operations' filters.

Filters travel as plain query parameters (status, type, prefix, since, until) so that a
filtered list, its bulk-action preview and the confirming form all carry the same words;
`after` is the keyset cursor (the last id shown). A value the console cannot use is a
BadInput (a 400 page naming it), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webhook_receiver.console.blueprint import BadInput
from workers.operations.listings import CleanupFilter, InboxFilter, LogFilter

_DIGITS = re.compile(r"[0-9]{1,18}")
FILTER_FIELDS = ("status", "type", "prefix", "since", "until")


def text_arg(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if "\x00" in value:
        raise BadInput(f"{name} must not contain a NUL character")
    return value or None


def choice(
    args: Mapping[str, str], name: str, choices: tuple[str, ...], default: str
) -> str:
    value = text_arg(args, name) or default
    if value not in choices:
        raise BadInput(f"{name} must be one of {', '.join(choices)}")
    return value


def whole(args: Mapping[str, str], name: str) -> int | None:
    value = text_arg(args, name)
    if value is None:
        return None
    if not _DIGITS.fullmatch(value):
        raise BadInput(f"{name} must be a whole number")
    return int(value)


def time_arg(args: Mapping[str, str], name: str) -> datetime | None:
    """ISO 8601 (what <input type=datetime-local> sends); without a zone it is UTC."""
    value = text_arg(args, name)
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} must be a time like 2026-01-31T14:05 (UTC)") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def inbox_filter(args: Mapping[str, str], statuses: tuple[str, ...]) -> InboxFilter:
    return InboxFilter(
        status=choice(args, "status", statuses, "all"),
        notification_type=text_arg(args, "type"),
        public_id_prefix=text_arg(args, "prefix"),
        since=time_arg(args, "since"),
        until=time_arg(args, "until"),
    )


def cleanup_filter(args: Mapping[str, str], statuses: tuple[str, ...]) -> CleanupFilter:
    return CleanupFilter(
        status=choice(args, "status", statuses, "all"),
        reason=text_arg(args, "type"),
        public_id_prefix=text_arg(args, "prefix"),
        since=time_arg(args, "since"),
        until=time_arg(args, "until"),
    )


def log_filter(args: Mapping[str, str]) -> LogFilter:
    return LogFilter(
        operation=text_arg(args, "operation"),
        status=text_arg(args, "status"),
        source=text_arg(args, "source"),
        public_id_prefix=text_arg(args, "prefix"),
        actor=text_arg(args, "operator"),
        since=time_arg(args, "since"),
        until=time_arg(args, "until"),
    )


def kept(
    args: Mapping[str, str], names: tuple[str, ...] = FILTER_FIELDS
) -> dict[str, Any]:
    """The filter's own parameters, to carry into links and forms."""
    return {name: args[name] for name in names if args.get(name, "").strip()}
