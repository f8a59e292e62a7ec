"""`mediasync emulator` speaks as itself: its usage names the command a user typed."""

from __future__ import annotations

import subprocess
import sys


def run_emulator_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediasync", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_shows_the_mediasync_emulator_usage():
    result = run_emulator_command("--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mediasync emulator ")


def test_a_bad_flag_is_a_usage_error_naming_mediasync_emulator():
    result = run_emulator_command("--port", "not-a-port")

    assert result.returncode == 2
    assert "usage: mediasync emulator " in result.stderr
    assert "mediasync emulator: error: argument --port" in result.stderr
