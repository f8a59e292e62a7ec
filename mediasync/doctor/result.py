"""One doctor check's verdict, the way `mediasync doctor` prints and serializes it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"
_MARKS = {PASS: "✓", FAIL: "✗", SKIP: "-"}


@dataclass(frozen=True)
class Result:
    check: str
    status: str  # PASS, FAIL or SKIP (an earlier failure made the check meaningless)
    detail: str
    fix: str = ""
    # true but worth knowing even when the check passes
    warning: str = ""
    # the setting to correct when the check fails, if one is to blame
    variable: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def summary(self) -> str:
        """The check and what is wrong, naming the variable to correct."""
        blame = f"{self.variable}: " if self.variable else ""
        return f"{self.check}: {blame}{self.detail}"

    def line(self) -> str:
        text = f"{_MARKS[self.status]} {self.summary()}"
        if self.fix and not self.passed:
            text += f" — fix: {self.fix}"
        if self.warning:
            text += f" (warning: {self.warning})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(check: str, detail: str, warning: str = "") -> Result:
    return Result(check, PASS, detail, warning=warning)


def failed(check: str, detail: str, fix: str, variable: str = "") -> Result:
    return Result(check, FAIL, detail, fix, variable=variable)


def skipped(check: str, because: str) -> Result:
    return Result(check, SKIP, f"not checked: {because}")
