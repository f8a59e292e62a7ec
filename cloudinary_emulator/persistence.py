"""The store in a JSON file, so a development emulator keeps its assets across restarts."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from cloudinary_emulator.store import Store

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def save(store: Store, path: Path) -> None:
    """Write atomically (temp file + rename): a crash mid-write leaves the old file."""
    data = {"format": FORMAT_VERSION, **store.dump()}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=path.name, suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(store: Store, path: Path) -> int:
    """Fill the store from path if it exists; the number of assets loaded."""
    if not path.exists():
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown state file format {data.get('format')!r}")
    return store.restore(data)


class AutoSaver:
    """Saves the store every `interval` seconds when it changed, and once on stop."""

    def __init__(self, store: Store, path: Path, interval: float) -> None:
        self._store = store
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._saved_generation = store.generation
        self._thread = threading.Thread(
            target=self._run, name="emulator-autosave", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._save_if_changed()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._save_if_changed()
            except OSError:
                logger.exception("could not save emulator state to %s", self._path)

    def _save_if_changed(self) -> None:
        generation = self._store.generation
        if generation != self._saved_generation:
            save(self._store, self._path)
            self._saved_generation = generation
