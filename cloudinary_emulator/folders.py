"""Admin API folders (dynamic folder mode): list root and sub folders, create, rename,
delete an empty folder, and search folders.

A folder exists once created, or once an asset's `asset_folder` is it or lies below it
(folder_list.Folders.sync). Renaming a folder moves its assets with it.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import admin_payloads, cursor
from cloudinary_emulator.errors import ApiError, bad_param
from cloudinary_emulator.folder_list import Folder
from cloudinary_emulator.listing import param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State

Handler = Callable[[State, Request], Response]
MAX_FOLDERS = 2000  # Cloudinary's cap per page of root or sub folders


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if not segments or segments[0] != "folders":
        return None
    if segments == ["folders", "search"] and method in ("GET", "POST"):
        return "search_folders", search
    path = "/".join(unquote(s) for s in segments[1:]).strip("/")
    if not path:
        return (
            ("root_folders", lambda s, r: listed(s, r, "")) if method == "GET" else None
        )
    handlers: dict[str, tuple[str, Callable[[State, Request, str], Response]]] = {
        "GET": ("subfolders", listed),
        "POST": ("create_folder", create),
        "PUT": ("rename_folder", rename),
        "DELETE": ("delete_folder", delete),
    }
    found = handlers.get(method)
    if found is None:
        return None
    name, handler = found
    return name, lambda s, r: handler(s, r, path)


def _synced(state: State) -> None:
    """Make every folder an asset names exist (caller holds the store lock)."""
    folders = {a.asset_folder for a in state.store.snapshot() if a.asset_folder}
    state.folders.sync(folders, time.time())


def _not_found(path: str) -> ApiError:
    return ApiError(404, f"Can't find folder with path {path}")


def _limit(params: dict[str, Any], default: int, top: int) -> int:
    raw = param(params, "max_results")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_param("max_results", raw) from None
    if not 1 <= value <= top:
        raise ApiError(400, f"max_results must be between 1 and {top}, got {value}")
    return value


def _page(
    folders: list[Folder], params: dict[str, Any], kind: str, default: int, top: int
) -> tuple[list[Folder], str | None]:
    limit = _limit(params, default, top)
    if token := param(params, "next_cursor"):
        after = str(cursor.decode(token, kind)[0])
        folders = [f for f in folders if f["path"] > after]
    page = folders[:limit]
    more = len(folders) > limit
    return page, cursor.encode(kind, [page[-1]["path"]]) if more else None


def listed(state: State, req: Request, parent: str) -> Response:
    with state.store.lock:
        _synced(state)
        if parent and state.folders.get(parent) is None:
            raise _not_found(parent)
        depth = parent.count("/") + 1 if parent else 0
        children = sorted(
            (
                f
                for f in state.folders.all()
                if f["path"].count("/") == depth
                and (not parent or f["path"].startswith(parent + "/"))
            ),
            key=lambda f: f["path"],
        )
    page, next_cursor = _page(
        children, dict(req.query), "folders", MAX_FOLDERS, MAX_FOLDERS
    )
    return ok(
        {
            "folders": [
                {"name": f["name"], "path": f["path"], "external_id": f["external_id"]}
                for f in page
            ],
            "next_cursor": next_cursor,
            "total_count": len(children),
        }
    )


def create(state: State, req: Request, path: str) -> Response:
    params = req.json()
    with state.store.lock:
        _synced(state)
        created = state.folders.add(path, time.time())
        notes = [
            admin_payloads.folder_created(f, state.account.api_key) for f in created
        ]
        state.notify(notes, param(params, "notification_url"))
    return ok({"success": True, "path": path, "name": path.rpartition("/")[2]})


def _inside(folder: str, path: str) -> bool:
    return folder == path or folder.startswith(path + "/")


def delete(state: State, req: Request, path: str) -> Response:
    params = {**req.query, **req.json()}
    with state.store.lock:
        _synced(state)
        if state.folders.get(path) is None:
            raise _not_found(path)
        if any(_inside(a.asset_folder, path) for a in state.store.snapshot()):
            raise ApiError(400, "Folder is not empty")
        doomed = sorted(
            (f for f in state.folders.all() if _inside(f["path"], path)),
            key=lambda f: f["path"],
            reverse=True,  # deepest first, as each is deleted before its parent
        )
        state.folders.remove(path)
        notes = [
            admin_payloads.folder_deleted(f, state.account.api_key) for f in doomed
        ]
        state.notify(notes, param(params, "notification_url"))
    return ok({"deleted": [f["path"] for f in doomed]})


def rename(state: State, req: Request, path: str) -> Response:
    params = req.json()
    target = param(params, "to_folder").strip("/")
    if not target:
        raise ApiError(400, "Missing required parameter - to_folder")
    if _inside(target, path):
        raise ApiError(400, f"Can't move folder {path} into itself")
    store = state.store
    with store.lock:
        _synced(state)
        folder = state.folders.get(path)
        if folder is None:
            raise _not_found(path)
        if state.folders.get(target) is not None:
            raise ApiError(409, f"Folder {target} already exists")
        now = time.time()
        moved = [f for f in state.folders.all() if _inside(f["path"], path)]
        state.folders.remove(path)
        for each in moved:
            new_path = target + each["path"][len(path) :]
            state.folders.add(new_path, now)
            renamed = state.folders.get(new_path)
            if renamed is not None:  # keep the folder's identity across the move
                renamed["external_id"] = each["external_id"]
                renamed["created_at"] = each["created_at"]
        for asset in store.snapshot():
            if _inside(asset.asset_folder, path):
                asset.asset_folder = target + asset.asset_folder[len(path) :]
                asset.updated_at = max(now, asset.updated_at + 1e-6)
        store.touch()
        note = admin_payloads.folder_moved(
            path, target, folder["external_id"], state.account.api_key
        )
        state.notify([note], param(params, "notification_url"))
    return ok(
        {
            "from": {"name": path.rpartition("/")[2], "path": path},
            "to": {"name": target.rpartition("/")[2], "path": target},
        }
    )


_TERM = re.compile(r'^\s*(name|path|id|external_id)\s*(=|:)\s*"?([^"]*)"?\s*$')


def _matcher(expression: str) -> Callable[[Folder], bool]:
    """The folder search subset: `name`/`path`/`external_id` terms joined by AND;
    `=` is exact, `:` matches a word or prefix; `*` is a wildcard in either."""
    terms = []
    for raw in re.split(r"\s+AND\s+", expression.strip(), flags=re.IGNORECASE):
        if not raw.strip():
            continue
        match = _TERM.match(raw)
        if match is None:
            raise ApiError(400, f"Invalid search expression: {raw.strip()}")
        field, op, value = match.groups()
        terms.append(("external_id" if field == "id" else field, op, value))

    def keep(folder: Folder) -> bool:
        for field, op, value in terms:
            actual = str(folder[field])
            if op == "=":
                ok_ = fnmatch.fnmatchcase(actual, value)
            else:
                words = re.split(r"[/_\-\s.]+", actual.lower())
                wanted = value.lower()
                ok_ = fnmatch.fnmatchcase(actual.lower(), wanted) or any(
                    fnmatch.fnmatchcase(w, wanted) or w.startswith(wanted)
                    for w in words
                )
            if not ok_:
                return False
        return True

    return keep


def search(state: State, req: Request) -> Response:
    started = time.monotonic()
    params = req.json() if req.method == "POST" else dict(req.query)
    keep = _matcher(param(params, "expression"))
    with state.store.lock:
        _synced(state)
        found = sorted(
            (f for f in state.folders.all() if keep(f)), key=lambda f: f["path"]
        )
    page, next_cursor = _page(found, params, "folder-search", 50, 500)
    body: dict[str, Any] = {
        "total_count": len(found),
        "time": int((time.monotonic() - started) * 1000),
        "folders": page,
    }
    if next_cursor:
        body["next_cursor"] = next_cursor
    return ok(body)
