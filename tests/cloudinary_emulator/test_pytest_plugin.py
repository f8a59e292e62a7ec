"""The `cloudinary_emulator` pytest plugin, used the way another project uses it: the
README's example runs as a separate pytest session with nothing of ours on its path but
the installed package, and this module's own tests ask for the fixture by name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from cloudinary_emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000185d114090000000049454e44ae426082"
)


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(
        r"<!-- plugin-example:[^>]*-->\n```python\n(.*?)```", readme, re.S
    )
    assert found, "README.md lost its plugin example"
    return found.group(1)


def test_readme_example_passes_in_a_project_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "test_avatars.py").write_text(_readme_example())
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_avatars.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        # nothing of this checkout on the path: the plugin comes from the entry point
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_fixture_points_the_sdk_at_an_empty_account(
    cloudinary_emulator: Emulator,
) -> None:
    assert cloudinary_emulator.client.count_assets() == 0
    assert cloudinary.config().upload_prefix == cloudinary_emulator.base_url

    cloudinary.uploader.upload(PNG_1X1, public_id="plugin/one", tags=["b", "a"])
    cloudinary.api.update("plugin/one", tags="c")

    found = cloudinary.api.resource("plugin/one")
    assert (found["width"], found["height"]) == (1, 1)
    kinds = [
        n["notification_type"] for n in cloudinary_emulator.captured_notifications()
    ]
    assert kinds == ["upload", "resource_tags_changed"]


def test_a_later_test_starts_empty_again(cloudinary_emulator: Emulator) -> None:
    cloudinary.uploader.upload(PNG_1X1, public_id="plugin/two")
    assert cloudinary_emulator.client.count_assets() == 1
    assert len(cloudinary_emulator.captured_notifications()) == 1


def test_faults_reach_the_sdk(cloudinary_emulator: Emulator) -> None:
    cloudinary_emulator.client.fault("get_resource", status=420)
    with pytest.raises(cloudinary.exceptions.Error, match="Rate Limit Exceeded"):
        cloudinary.api.resource("plugin/missing")
