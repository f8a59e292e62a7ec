"""Run the `cloudinary` SDK's own integration tests against a fresh emulator and report
how many pass, file by file.

The tests and their helpers are the SDK's, not ours, and are not shipped on PyPI whole
(the sdist lacks `helper_test.py`): check out github.com/cloudinary/pycloudinary at the
tag of the installed SDK and pass its `test` directory.

    python -m cloudinary_emulator.conformance --sdk-tests ~/src/pycloudinary/test

The headline is the share of the tests the SDK does not skip itself that pass; errors
(a failing class setup, say) count as failures. Exit status: 0 when that share reaches
--min-pass-rate, 1 below it, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

from cloudinary_emulator.emulator import Emulator

DEFAULT_FILES = (
    "test_api.py",
    "test_uploader.py",
    "test_search.py",
    "test_metadata.py",
    "test_metadata_rules.py",
)
OUTCOMES = ("passed", "failed", "error", "skipped")


def run(sdk_tests: Path, files: list[str], junit: Path, timeout: int) -> int:
    """pytest over the SDK's files, its environment pointed at a new emulator."""
    with Emulator(notification_base_delay=0.05) as emulator:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDINARY_")}
        env["CLOUDINARY_URL"] = emulator.cloudinary_url
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            *files,
        ]
        # cwd: the SDK's tests import their helpers as `test.helper_test`
        done = subprocess.run(
            command, cwd=sdk_tests.parent, env=env, timeout=timeout, check=False
        )
        return done.returncode


def outcomes(junit: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """file -> outcome -> [(test name, first line of the message)] from a JUnit report."""
    table: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    # the report is the one pytest just wrote for us, not outside input
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        module = (case.get("classname") or "").split(".")
        file = next((part for part in module if part.startswith("test_")), "?")
        name = f"{module[-1]}::{case.get('name')}"
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found = case.find(kind)
            if found is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                first = (found.get("message") or "").strip().splitlines()[:1]
                message = first[0][:160] if first else ""
                break
        table[f"{file}.py"][outcome].append((name, message))
    return table


def report(table: dict[str, dict[str, list[tuple[str, str]]]]) -> tuple[str, float]:
    """A Markdown table per file and the headline pass rate over tests not skipped."""
    lines = [
        "| file | passed | failed | errors | skipped by the SDK | pass rate (not skipped) |",
        "|---|---|---|---|---|---|",
    ]
    total: Counter[str] = Counter()
    for file in sorted(table):
        counts = Counter({o: len(table[file].get(o, [])) for o in OUTCOMES})
        total.update(counts)
        lines.append(_row(file, counts))
    lines.append(_row("**all**", total))
    ran = total["passed"] + total["failed"] + total["error"]
    return "\n".join(lines), (total["passed"] / ran if ran else 0.0)


def _row(label: str, counts: Counter[str]) -> str:
    ran = counts["passed"] + counts["failed"] + counts["error"]
    rate = f"{100 * counts['passed'] / ran:.1f} %" if ran else "-"
    return (
        f"| {label} | {counts['passed']} | {counts['failed']} | {counts['error']} "
        f"| {counts['skipped']} | {rate} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudinary_emulator.conformance", description=__doc__
    )
    parser.add_argument("--sdk-tests", type=Path, required=True, metavar="DIR")
    parser.add_argument("--files", nargs="+", default=list(DEFAULT_FILES))
    parser.add_argument("--min-pass-rate", type=float, default=0.8)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds, in all")
    parser.add_argument(
        "--failures", action="store_true", help="list every test that did not pass"
    )
    args = parser.parse_args(argv)
    tests = args.sdk_tests.resolve()
    if not (tests / "helper_test.py").is_file():
        parser.error(f"{tests} has no helper_test.py: pass the SDK repository's test/")
    missing = [f for f in args.files if not (tests / f).is_file()]
    if missing:
        parser.error(f"not in {tests}: {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        run(tests, [f"{tests.name}/{f}" for f in args.files], junit, args.timeout)
        table = outcomes(junit)
    text, rate = report(table)
    print(text)
    if args.failures:
        for file in sorted(table):
            for outcome in ("failed", "error"):
                for name, message in table[file].get(outcome, []):
                    print(f"{outcome.upper()} {file}::{name}: {message}")
    print(f"pass rate over the tests the SDK does not skip: {100 * rate:.1f} %")
    return 0 if rate >= args.min_pass_rate else 1


if __name__ == "__main__":
    sys.exit(main())
