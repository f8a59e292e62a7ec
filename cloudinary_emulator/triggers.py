"""Admin API notification triggers: list, create, update the URI, delete.

Cloudinary keeps, per account, the URLs it posts notifications to, one trigger per
(event type, URI); `mediasync connect` registers the receiver there and `mediasync doctor`
reads it back. The emulator only stores them (its deliveries still go to the URL it was
started with): the list lives beside the account's store, in memory, and is not persisted.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Store
from cloudinary_emulator.timefmt import iso_seconds

URI_TYPES = ("webhook", "flow", "poll")
Handler = Callable[[State, Request], Response]


class Triggers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}

    def listed(self, event_type: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(t)
                for t in self._items.values()
                if event_type is None or t["event_type"] == event_type
            ]

    def create(
        self, uri: str, event_type: str, uri_type: str, now: float
    ) -> dict[str, Any]:
        with self._lock:
            for existing in self._items.values():
                if (existing["uri"], existing["event_type"]) == (uri, event_type):
                    # Cloudinary refuses a second trigger for the same pair
                    raise ApiError(
                        409, f"Trigger for {event_type} {uri} already exists"
                    )
            trigger = {
                "id": uuid.uuid4().hex,
                "product_environment_id": "emulator",
                "uri": uri,
                "uri_type": uri_type,
                "event_type": event_type,
                "created_at": iso_seconds(now),
                "updated_at": iso_seconds(now),
            }
            self._items[trigger["id"]] = trigger
            return dict(trigger)

    def update(self, trigger_id: str, uri: str, now: float) -> None:
        with self._lock:
            trigger = self._found(trigger_id)
            trigger["uri"] = uri
            trigger["updated_at"] = iso_seconds(now)

    def delete(self, trigger_id: str) -> None:
        with self._lock:
            self._found(trigger_id)
            del self._items[trigger_id]

    def _found(self, trigger_id: str) -> dict[str, Any]:
        trigger = self._items.get(trigger_id)
        if trigger is None:
            raise ApiError(404, f"Trigger {trigger_id} not found")
        return trigger


# One list per emulator instance, keyed by its store (State itself is not hashable), and
# dropped with it.
_BY_STORE: weakref.WeakKeyDictionary[Store, Triggers] = weakref.WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()


def of(state: State) -> Triggers:
    with _BY_STORE_LOCK:
        found = _BY_STORE.get(state.store)
        if found is None:
            found = _BY_STORE[state.store] = Triggers()
        return found


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    """(endpoint name, handler) for /v1_1/<cloud>/triggers[/<id>], else None."""
    if not segments or segments[0] != "triggers":
        return None
    if len(segments) == 1 and method == "GET":
        return "triggers", list_triggers
    if len(segments) == 1 and method == "POST":
        return "create_trigger", create_trigger
    if len(segments) == 2 and method == "PUT":
        return "update_trigger", lambda s, r: update_trigger(s, r, segments[1])
    if len(segments) == 2 and method == "DELETE":
        return "delete_trigger", lambda s, r: delete_trigger(s, segments[1])
    return None


def list_triggers(state: State, req: Request) -> Response:
    event_type = req.query.get("event_type")
    wanted = event_type[-1] if isinstance(event_type, list) else event_type
    found = of(state).listed(str(wanted) if wanted else None)
    return ok({"triggers": found, "total": len(found)})


def create_trigger(state: State, req: Request) -> Response:
    params = req.json()
    uri, event_type = params.get("uri"), params.get("event_type")
    uri_type = params.get("uri_type", "webhook")
    if not isinstance(uri, str) or not uri:
        raise ApiError(400, "Missing required parameter - uri")
    if not isinstance(event_type, str) or not event_type:
        raise ApiError(400, "Missing required parameter - event_type")
    if uri_type not in URI_TYPES:
        raise ApiError(400, f"Invalid value {uri_type} for parameter uri_type")
    return ok(of(state).create(uri, event_type, uri_type, _now()))


def update_trigger(state: State, req: Request, trigger_id: str) -> Response:
    new_uri = req.json().get("new_uri")
    if not isinstance(new_uri, str) or not new_uri:
        raise ApiError(400, "Missing required parameter - new_uri")
    of(state).update(trigger_id, new_uri, _now())
    return ok({"message": "ok"})


def delete_trigger(state: State, trigger_id: str) -> Response:
    of(state).delete(trigger_id)
    return ok({"message": "ok"})


def _now() -> float:
    return time.time()
