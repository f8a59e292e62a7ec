"""The README's first command: `mediasync demo` on embedded defaults, and `dev` stopping cleanly.

No DATABASE_URL, REDIS_URL or CLOUDINARY_URL: the stack starts its own PostgreSQL, Redis and
Cloudinary emulator under the state directory, as on a fresh machine.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def fresh_machine_env() -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "CLOUDINARY_URL", "CELERY_BROKER_URL")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("MEDIASYNC_", "FLOWER_"))
    }


def run_demo(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediasync", "demo", "--state-dir", str(state_dir)],
        cwd=ROOT,
        env=fresh_machine_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(600)
def test_demo_runs_on_embedded_defaults_and_a_second_run_reuses_the_data(server_dir):
    first = run_demo(server_dir)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "mirror and emulator AGREE" in first.stdout
    assert "upload 50 → rows in media_assets" in first.stdout
    second = run_demo(server_dir)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    # the first run's 25 surviving assets are still there, in both the emulator and the mirror
    before = next(line for line in second.stdout.splitlines() if "live rows in" in line)
    assert before.split()[-2:] == ["25", "50"]


@pytest.mark.timeout(300)
def test_ctrl_c_on_dev_stops_every_process_it_started(server_dir):
    dev = subprocess.Popen(
        [sys.executable, "-m", "mediasync", "dev", "--state-dir", str(server_dir)],
        cwd=ROOT,
        env=fresh_machine_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert dev.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = dev.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "mediasync dev is running" in line:
                break
        assert any("mediasync dev is running" in line for line in lines), "".join(lines)
        started = descendants(dev.pid)
        # postgres, redis, emulator, receiver, worker, beat, listener, flower and their kids
        assert len(started) >= 8
        dev.send_signal(signal.SIGINT)
        rest, _ = dev.communicate(timeout=120)
        assert dev.returncode == 0, rest[-3000:]
        assert "mediasync dev: stopped" in rest
        wait_until(
            lambda: not [pid for pid in started if alive(pid)],
            timeout=20,
            what="every process dev started to be gone",
        )
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
