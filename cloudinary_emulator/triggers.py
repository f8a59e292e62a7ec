"""Admin API notification triggers: list, create, update the URI, delete.

Cloudinary keeps, per account, the URLs it posts notifications to, one trigger per
(event type, URI); `mediasync connect` registers the receiver there and `mediasync doctor`
reads it back. The emulator only stores them (its deliveries still go to the URL it was
started with): the list (trigger_list.py) is part of the emulator's state, in memory, emptied by a
reset and not persisted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.trigger_list import Triggers

URI_TYPES = ("webhook", "flow", "poll")
Handler = Callable[[State, Request], Response]


def of(state: State) -> Triggers:
    return state.triggers


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
