"""Say plainly, at the end of the session, when the kustomize render could not be checked."""

from __future__ import annotations

from tests.deploy.tools import NOT_RENDERED, kubectl


def pytest_terminal_summary(terminalreporter):
    ran_here = any(
        "tests/deploy/test_kubernetes.py" in report.nodeid
        for reports in terminalreporter.stats.values()
        for report in reports
        if hasattr(report, "nodeid")
    )
    if ran_here and not kubectl():
        terminalreporter.write_sep("=", "deploy checks", yellow=True, bold=True)
        terminalreporter.write_line(NOT_RENDERED)
