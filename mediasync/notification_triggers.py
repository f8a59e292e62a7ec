"""Which Cloudinary notification triggers mediasync needs, and what to change to get them.

Cloudinary posts a notification to every trigger whose event type matches (the Triggers API:
`GET/POST /triggers`, `PUT/DELETE /triggers/:id`). mediasync needs one trigger per event type
it applies (workers/inbox/handlers.py HANDLERS), or one `all` trigger, pointing at the
receiver's webhook. `mediasync connect` creates what is missing and `mediasync doctor` checks
it; neither touches triggers of other URLs (other consumers of the same account).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.cloudinary_client import CloudinaryClient
from workers.inbox.handlers import HANDLERS

WEBHOOK_PATH = "/webhooks/cloudinary"
# a trigger of this type fires for every event
ALL_EVENTS = "all"
APPLIED_EVENT_TYPES: tuple[str, ...] = tuple(sorted(HANDLERS))
# Cloudinary's documented precedence: an upload call's own notification_url wins over the
# account's triggers, so the mirror may miss those uploads' later events without any error.
OVERRIDE_WARNING = (
    "a per-upload notification_url overrides these triggers: "
    "uploads that set one must point it at the same receiver"
)


def webhook_url(public_url: str) -> str:
    """Where Cloudinary should post: the receiver's public base URL plus the webhook path."""
    return public_url.rstrip("/") + WEBHOOK_PATH


@dataclass(frozen=True)
class Change:
    action: str  # "create" (the only change connect makes)
    event_type: str
    uri: str

    def describe(self) -> str:
        return f"{self.action} trigger {self.event_type} -> {self.uri}"


def missing_event_types(triggers: Iterable[Mapping[str, Any]], url: str) -> list[str]:
    """The applied event types no trigger sends to `url` (none when an `all` one does)."""
    covered = {
        str(t.get("event_type"))
        for t in triggers
        if t.get("uri") == url and t.get("uri_type", "webhook") == "webhook"
    }
    if ALL_EVENTS in covered:
        return []
    return [event for event in APPLIED_EVENT_TYPES if event not in covered]


def plan(triggers: Iterable[Mapping[str, Any]], url: str) -> list[Change]:
    """What `connect` would change: a trigger for each applied event type still missing."""
    return [
        Change("create", event, url) for event in missing_event_types(triggers, url)
    ]


def apply(client: CloudinaryClient, changes: Iterable[Change]) -> list[Change]:
    """Make the changes; return the ones made (each is one Admin call)."""
    made = []
    for change in changes:
        client.create_trigger(change.uri, change.event_type)
        made.append(change)
    return made
