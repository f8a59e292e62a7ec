"""`mediasync feed`: its command line, and a hub that fails ends the process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from mediasync.cli import build_parser
from webhook_receiver.change_feed import server
from webhook_receiver.change_feed.hub import Hub


def test_the_command_is_registered_with_its_options(capsys):
    args = build_parser().parse_args(["feed", "--port", "9001", "--max-clients", "5"])
    assert (args.host, args.port, args.max_clients) == ("127.0.0.1", 9001, 5)
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["feed", "--help"])
    assert exit_.value.code == 0
    assert "Last-Event-ID" in capsys.readouterr().out


def test_a_hub_that_fails_stops_the_feed_instead_of_serving_silence(
    monkeypatch, feed_settings
):
    async def broken(self: Hub) -> None:
        raise ValueError("a bug in the hub")

    monkeypatch.setattr(Hub, "_serve", broken)
    with pytest.raises(ValueError, match="a bug in the hub"):
        asyncio.run(
            asyncio.wait_for(server.serve(feed_settings, "127.0.0.1", 0), timeout=10)
        )


def test_an_unreachable_database_is_one_line_and_exit_1():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASYNC_")}
    env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:9/nowhere"
    done = subprocess.run(
        [sys.executable, "-m", "mediasync", "feed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "DATABASE_URL" in line
    assert "127.0.0.1:9" in line
