"""Progress of a long CLI operation: a line rewritten in place on a terminal, plain lines
(every few seconds, only when something changed) otherwise."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

PLAIN_EVERY_S = 5.0
TERMINAL_EVERY_S = 0.5


@contextmanager
def progress(
    describe: Callable[[], str], stream: TextIO = sys.stderr
) -> Iterator[None]:
    """Show `describe()` while the block runs; `describe` must be cheap and thread-safe."""
    tty = stream.isatty()
    stop = threading.Event()

    def show() -> None:
        last = ""
        while not stop.wait(TERMINAL_EVERY_S if tty else PLAIN_EVERY_S):
            try:
                line = describe()
            except Exception as exc:  # progress must never break the work it watches
                line = f"(progress unavailable: {exc})"
            if line == last:
                continue
            last = line
            if tty:
                stream.write("\r\033[K" + line)
            else:
                stream.write(line + "\n")
            stream.flush()

    thread = threading.Thread(target=show, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if tty:
            stream.write("\r\033[K")
            stream.flush()
