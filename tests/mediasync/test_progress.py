import io
import time

from mediasync import progress as progress_module
from mediasync.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_output_gets_a_line_per_change(monkeypatch):
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_S", 0.02)
    steps = iter(["page 1", "page 1", "page 2"] + ["page 3"] * 1000)
    out = io.StringIO()
    with progress(lambda: next(steps), out):
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["page 1", "page 2", "page 3"]
    assert len(lines) == 3


def test_a_terminal_gets_one_line_rewritten_and_cleared():
    out = Terminal()
    with progress(lambda: "working", out):
        time.sleep(0.7)
    text = out.getvalue()
    assert "\r\033[Kworking" in text
    assert text.endswith("\r\033[K")


def test_a_failing_describe_never_breaks_the_work(monkeypatch):
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_S", 0.02)
    out = io.StringIO()

    def broken() -> str:
        raise RuntimeError("db down")

    with progress(broken, out):
        time.sleep(0.1)
    assert "progress unavailable: db down" in out.getvalue()
