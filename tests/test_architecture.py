"""Dependency direction (STYLE.md 2.2), checked in fresh interpreters."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("db.models", ["flask", "celery", "workers", "webhook_receiver"]),
        ("db.migrate", ["flask", "celery", "workers", "webhook_receiver"]),
        ("workers.config", ["flask", "webhook_receiver"]),
        ("mediasync.cli", ["flask", "webhook_receiver"]),
        ("cloudinary_emulator", ["db", "workers", "webhook_receiver"]),
    ],
)
def test_module_does_not_import(module, forbidden):
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == ""
