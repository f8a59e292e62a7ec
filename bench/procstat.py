"""CPU time and resident memory of processes and threads, read from /proc (Linux).

The benchmarks report these beside their figures so a reader can tell whether the load
generator or the emulator, rather than the system under test, was the bottleneck.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def cores() -> int:
    return os.cpu_count() or 1


def tree(pid: int) -> list[int]:
    """`pid` and every live descendant (gunicorn's workers, Celery's pool children)."""
    found = [pid]
    for parent in found:  # grows while it is walked: breadth first
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue  # exited meanwhile
        for tid in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{tid}/children").read_text()
            except OSError:
                continue
            found += [int(child) for child in children.split()]
    return found


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: fields restart after the last ")"
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of each process, with the children it has reaped.

    Counting reaped children (cutime + cstime) keeps a child that exits between two
    readings in the total; a process that is gone counts 0. Resolution: one clock tick.
    """
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # stat fields 14-17: utime, stime, cutime, cstime (fields[0] is field 3)
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def rss_bytes(pids: Iterable[int]) -> int:
    """The sum of each process's resident set (a page shared by two counts twice)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * PAGE_BYTES


class CpuWindow:
    """CPU seconds of some processes' trees over a window, read at its two ends."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups  # name -> root pids; each root's tree is read at each end
        self._start: dict[str, float] = {}
        self._started = 0.0
        self.wall_s = 0.0
        self.cpu_s: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        return {
            name: cpu_seconds(pid for root in roots for pid in tree(root))
            for name, roots in self.groups.items()
        }

    def open(self) -> None:
        self._started = time.perf_counter()
        self._start = self._read()

    def close(self) -> None:
        end = self._read()
        self.wall_s = time.perf_counter() - self._started
        self.cpu_s = {name: end[name] - self._start[name] for name in end}

    def share(self, name: str) -> float:
        """CPU seconds / wall seconds: the share of one core (divide by cores() for
        the share of the machine)."""
        return self.cpu_s[name] / self.wall_s if self.wall_s else 0.0


class MachineCpu:
    """The share of all cores busy since it was created (/proc/stat: not idle, not iowait)."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def busy_share(self) -> float:
        busy, total = self._read()
        elapsed = total - self._start[1]
        return (busy - self._start[0]) / elapsed if elapsed else 0.0


class OtherThreadsCpu:
    """CPU seconds this process spends outside the calling thread while the block runs.

    For an emulator serving from threads of the benchmark's own process while the calling
    thread drives the system under test: process CPU time (every thread, including
    threads that exit during the block, which /proc/self/task would miss) minus the calling
    thread's own CPU time.
    """

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self.threads: list[str] = []

    def __enter__(self) -> OtherThreadsCpu:
        self._names = _thread_names()
        self._process, self._thread = time.process_time(), time.thread_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        thread = time.thread_time() - self._thread
        self.cpu_s = time.process_time() - self._process - thread
        self.wall_s = time.perf_counter() - self._wall
        # what else ran (alive at either end), so a reader can check it was all emulator
        self.threads = sorted(self._names | _thread_names())

    @property
    def share(self) -> float:
        """The share of one core over the block."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


def _thread_names() -> set[str]:
    # "Thread-7 (process_request_thread)" -> "process_request_thread"
    current = threading.current_thread()
    return {
        t.name.rsplit(" (", 1)[-1].rstrip(")")
        for t in threading.enumerate()
        if t is not current
    }


class RssSampler:
    """Peak RSS of each process tree (root and descendants, summed), sampled from a thread
    while the block runs. A peak shorter than the interval can fall between samples."""

    def __init__(self, roots: dict[str, int], interval: float = 0.05) -> None:
        self.roots, self.interval = roots, interval
        self.peak_bytes = dict.fromkeys(roots, 0)
        self.processes = dict.fromkeys(roots, 0)  # most processes seen in the tree
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler")

    def _sample(self) -> None:
        for name, root in self.roots.items():
            pids = tree(root)
            self.peak_bytes[name] = max(self.peak_bytes[name], rss_bytes(pids))
            self.processes[name] = max(self.processes[name], len(pids))
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
