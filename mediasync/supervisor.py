"""Child processes for `mediasync dev`: started, watched, restarted within bounds, stopped fast.

Each child runs in a process group of its own (so a Ctrl-C in the terminal reaches only the
supervisor, and a stop can take its grandchildren, such as gunicorn's or Celery's workers,
with it) and gets a parent-death signal, so nothing outlives the supervisor even on SIGKILL.
When a child dies the supervisor says which one and why (its exit status and last log lines)
and starts it again, at most `RestartPolicy.max_restarts` times within `window_s`; past that it
gives up and the caller stops everything.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
TAIL_LINES = 15

Launch = Callable[[], "subprocess.Popen[bytes]"]


def die_with_parent() -> None:
    os.setsid()  # Ctrl-C reaches the supervisor only; it stops children in order
    ctypes.CDLL("libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def piped(argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A child whose output (stdout and stderr) the supervisor reads and prefixes."""
    return subprocess.Popen(
        argv,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def log_tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of a log file (the embedded servers write theirs to a file)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            text = log.read().decode(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


@dataclass
class RestartPolicy:
    """At most `max_restarts` restarts of one child within any `window_s` seconds."""

    max_restarts: int = 3
    window_s: float = 60.0

    def allows(self, earlier: deque[float], now: float) -> bool:
        while earlier and now - earlier[0] > self.window_s:
            earlier.popleft()
        return len(earlier) < self.max_restarts


@dataclass
class Child:
    name: str
    launch: Launch
    process: subprocess.Popen[bytes]
    # where its last lines come from when its output goes to a file rather than to us
    log_file: Path | None = None
    # the leader's polite stop: SIGTERM for ours, SIGINT for PostgreSQL ("fast shutdown")
    stop_signal: int = signal.SIGTERM
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    restarts: deque[float] = field(default_factory=deque)

    def last_lines(self) -> list[str]:
        if self.log_file is not None:
            return log_tail(self.log_file)
        return list(self.tail)


class Supervisor:
    def __init__(
        self,
        emit: Callable[[str, str], None],
        *,
        pid_file: Path | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.emit = emit
        self.pid_file = pid_file
        self.policy = policy or RestartPolicy()
        self.children: dict[str, Child] = {}
        self._pumps: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(
        self,
        name: str,
        launch: Launch,
        *,
        log_file: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        child = Child(name, launch, launch(), log_file, stop_signal)
        self.children[name] = child
        self._watch_output(child)
        self.write_pids()

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return self.children[name].process

    def _watch_output(self, child: Child) -> None:
        stream = child.process.stdout
        if stream is None:
            return
        pump = threading.Thread(
            target=self._pump,
            args=(child, stream),
            name=f"log-{child.name}",
            daemon=True,
        )
        pump.start()
        self._pumps.append(pump)

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            child.tail.append(line)
            self.emit(child.name, line)

    def write_pids(self) -> None:
        """children.json in the state directory: which pid is which, for operators and tests."""
        if self.pid_file is None:
            return
        pids = {name: child.process.pid for name, child in self.children.items()}
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(json.dumps(pids, indent=2) + "\n")

    # -- watching ------------------------------------------------------------------------

    def check(self) -> str | None:
        """Restart the children that died; a message when one died too often to go on."""
        for child in self.children.values():
            returncode = child.process.poll()
            if returncode is None:
                continue
            self._join_pump(child)
            self.emit("dev", f"{child.name} {exit_reason(returncode)}; its last lines:")
            for line in child.last_lines() or ["(no output)"]:
                self.emit("dev", f"  {child.name} | {line}")
            now = time.monotonic()
            if not self.policy.allows(child.restarts, now):
                return (
                    f"{child.name} {exit_reason(returncode)} and was already restarted "
                    f"{self.policy.max_restarts} times within "
                    f"{self.policy.window_s:.0f} s; stopping everything"
                )
            child.restarts.append(now)
            self.emit(
                "dev",
                f"restarting {child.name} (restart {len(child.restarts)} of at most "
                f"{self.policy.max_restarts} within {self.policy.window_s:.0f} s)",
            )
            self._kill_group(
                child.process
            )  # what it left behind, e.g. gunicorn workers
            child.tail.clear()
            try:
                child.process = child.launch()
            except Exception as exc:  # reported, and the stack stops
                return f"{child.name} could not be restarted: {exc}"
            self._watch_output(child)
            self.write_pids()
        return None

    def _join_pump(self, child: Child) -> None:
        # the dead child's last words are still in the pipe: read them before reporting
        for pump in self._pumps:
            if pump.name == f"log-{child.name}":
                pump.join(timeout=1)

    # -- stopping ------------------------------------------------------------------------

    def stop(self, names: tuple[str, ...], grace_s: float) -> None:
        """Stop `names` in that order (the doors first), then SIGKILL every group still there."""
        children = [self.children[n] for n in names if n in self.children]
        deadline = time.monotonic() + grace_s
        for child in children:
            if child.process.poll() is None:
                self.emit("dev", f"stopping {child.name}")
                child.process.send_signal(child.stop_signal)
                # a short head start, so a door closes before the workers behind it stop
                _wait(child.process, min(0.5, deadline - time.monotonic()))
        for child in children:
            if not _wait(child.process, deadline - time.monotonic()):
                self.emit(
                    "dev", f"{child.name} did not stop in {grace_s:.0f} s; killing it"
                )
            self._kill_group(child.process)
        for pump in self._pumps:
            pump.join(timeout=0.5)

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        # the leader may be gone while its group (gunicorn or Celery workers) is not
        _signal_group(process, signal.SIGKILL)
        if process.poll() is None:
            process.wait(5)


def _wait(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(max(0.0, seconds))
    except subprocess.TimeoutExpired:
        return False
    return True


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # setsid in the child: its pid is its group's id
