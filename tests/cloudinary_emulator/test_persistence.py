"""--state-file: the store survives a restart, and is saved while running."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.conftest import configure_sdk


def test_assets_and_version_floors_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    with Emulator(state_file=state) as first:
        configure_sdk(first)
        try:
            kept = cloudinary.uploader.upload(b"x", public_id="kept", tags=["t"])
            gone = cloudinary.uploader.upload(b"x", public_id="gone")
            cloudinary.uploader.destroy("gone")
        finally:
            cloudinary.reset_config()
    assert json.loads(state.read_text())["format"] == 1

    with Emulator(state_file=state) as second:
        configure_sdk(second)
        try:
            again = cloudinary.api.resource("kept")
            assert (again["asset_id"], again["tags"]) == (kept["asset_id"], ["t"])
            reborn = cloudinary.uploader.upload(b"x", public_id="gone")
            assert reborn["version"] > gone["version"]
        finally:
            cloudinary.reset_config()


def test_changes_are_saved_while_running(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "state.json"
    with Emulator(state_file=state, autosave_interval=0.05) as em:
        em.client.seed(3)
        deadline = time.monotonic() + 5
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(json.loads(state.read_text())["assets"]) == 3


def test_a_foreign_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "other.json"
    state.write_text('{"format": 99}')
    em = Emulator(state_file=state)
    with pytest.raises(ValueError, match="unknown state file format"):
        em.start()
    em.stop()
