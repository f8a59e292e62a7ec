"""`mediasync dev` as a supervisor: a dead child is named, explained and restarted (or dev stops
with exit 1 when it keeps dying), Ctrl-C ends everything within 10 s, and /metrics adds up
every receiver worker so its counters never go backwards.

Each test runs the real `python -m mediasync dev` on embedded servers, as a new user would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.mediasync.test_dev_and_demo import (
    ROOT,
    alive,
    descendants,
    fresh_machine_env,
)
from tests.waiting import wait_until


class RunningDev:
    """`mediasync dev` in a subprocess, its output collected line by line."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mediasync", "dev", "--state-dir", str(state_dir)],
            cwd=ROOT,
            env=fresh_machine_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for("mediasync dev is running", timeout=180)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if any(text in line for line in self.lines):
                return True
            assert self.process.poll() is None, (
                f"dev exited ({self.process.returncode}) before printing {text!r}:\n"
                + self.output[-4000:]
            )
            return False

        try:
            wait_until(seen, timeout=timeout, interval=0.1, what=repr(text))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output[-4000:]}") from None

    def pids(self) -> dict[str, int]:
        pids: dict[str, int] = json.loads(
            (self.state_dir / "children.json").read_text()
        )
        return pids

    def receiver_url(self) -> str:
        url: str = json.loads((self.state_dir / "dev.json").read_text())["urls"][
            "receiver"
        ]
        return url

    def kill_child(self, name: str) -> int:
        pid = self.pids()[name]
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        def new_pid() -> int | None:
            pid = self.pids().get(name)
            return pid if pid and pid != old_pid and alive(pid) else None

        return wait_until(new_pid, timeout=timeout, what=f"{name} to run again")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def dev(server_dir: Path):
    running = RunningDev(server_dir)
    try:
        yield running
    finally:
        running.close()


def assert_stops_everything_within_10_s(dev: RunningDev, sig: int) -> None:
    started = descendants(dev.process.pid)
    assert len(started) >= 8, dev.output[-3000:]
    sent = time.monotonic()
    dev.process.send_signal(sig)
    dev.process.wait(timeout=15)
    left = [pid for pid in started if alive(pid)]
    took = time.monotonic() - sent
    assert took < 10, f"dev took {took:.1f} s to stop\n{dev.output[-3000:]}"
    assert left == [], f"still running after dev stopped: {left}"
    assert dev.process.returncode == 0, dev.output[-3000:]
    assert not (dev.state_dir / "children.json").exists()


@pytest.mark.timeout(300)
def test_a_killed_child_is_named_explained_and_restarted_and_ctrl_c_ends_all_in_10_s(
    dev: RunningDev,
):
    pids = dev.pids()
    expected = {"postgres", "redis", "emulator", "receiver", "worker", "beat"}
    assert expected | {"listener", "flower"} == set(pids)

    old_beat = dev.kill_child("beat")
    dev.wait_for("beat killed by SIGKILL; its last lines:")
    dev.wait_for("restarting beat (restart 1 of at most 3 within 60 s)")
    dev.wait_restarted("beat", old_beat)
    # the report quotes what beat printed before it died, not nothing
    report = dev.output.split("beat killed by SIGKILL; its last lines:", 1)[1]
    assert re.search(r"dev \|   beat \| \S", report), report[:3000]

    # the embedded Redis too: it comes back on its port, and the stack keeps working
    old_redis = dev.kill_child("redis")
    dev.wait_for("redis killed by SIGKILL; its last lines:")
    dev.wait_restarted("redis", old_redis)
    # and PostgreSQL: the stack goes on with its data
    old_postgres = dev.kill_child("postgres")
    dev.wait_for("postgres killed by SIGKILL; its last lines:")
    dev.wait_restarted("postgres", old_postgres)
    # whatever lost its database meanwhile (beat may) was restarted too: all run again
    wait_until(
        lambda: all(alive(pid) for pid in dev.pids().values()),
        timeout=60,
        what="every child to run again",
    )
    assert dev.process.poll() is None

    assert_stops_everything_within_10_s(dev, signal.SIGINT)
    assert "mediasync dev: stopped" in dev.output


@pytest.mark.timeout(300)
def test_a_child_that_keeps_dying_stops_everything_with_exit_1(dev: RunningDev):
    started = descendants(dev.process.pid)
    for restart in (1, 2, 3):
        old = dev.kill_child("listener")
        dev.wait_for(f"restarting listener (restart {restart} of at most 3")
        dev.wait_restarted("listener", old)
    dev.kill_child("listener")
    dev.process.wait(timeout=30)
    assert dev.process.returncode == 1, dev.output[-3000:]
    assert "listener killed by SIGKILL and was already restarted 3 times" in dev.output
    wait_until(
        lambda: not [pid for pid in started if alive(pid)],
        timeout=5,
        what="every process dev started to be gone",
    )


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("mediasync_receiver_requests_total{"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


@pytest.mark.timeout(300)
def test_metrics_add_up_every_receiver_worker_and_never_go_backwards(
    dev: RunningDev,
):
    url = dev.receiver_url()
    webhooks = 40
    for _ in range(webhooks):
        # unsigned: refused with 401, and counted by whichever worker answered
        request = urllib.request.Request(
            f"{url}/webhooks/cloudinary", data=b"{}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        refused.value.close()
        assert refused.value.code == 401
    refused_key = (
        'mediasync_receiver_requests_total{route="/webhooks/cloudinary",status="401"}'
    )
    scrapes_key = 'mediasync_receiver_requests_total{route="/metrics",status="200"}'
    seen = [scrape(url) for _ in range(12)]
    # every scrape sees all 40, whichever worker answers it
    assert [s.get(refused_key) for s in seen] == [float(webhooks)] * len(seen)
    # and each scrape counts the ones before it: +1 every time, never backwards
    scrapes = [s.get(scrapes_key, 0.0) for s in seen]
    assert scrapes == [float(n) for n in range(len(seen))], scrapes
    assert_stops_everything_within_10_s(dev, signal.SIGTERM)


@pytest.mark.timeout(300)
def test_the_banner_names_an_operator_api_url_that_answers(dev: RunningDev):
    banner = next(line for line in dev.lines if "operator API" in line)
    url = re.search(r"http://\S+", banner)
    token = re.search(r"MEDIASYNC_API_TOKEN=(\S+)\)", banner)
    assert url, banner
    assert token, banner
    assert url.group(0).endswith("/api/openapi.json")
    request = urllib.request.Request(
        url.group(0), headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read())["openapi"].startswith("3.")
