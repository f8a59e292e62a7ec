"""The SDK conformance report: counting from a JUnit file, and the usage errors. (The
SDK's tests themselves are not ours and not in this repository; the issue note has the
numbers of a run against them.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudinary_emulator import conformance

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="test.test_api.ApiTest" name="test01_ok" time="0.1"/>
<testcase classname="test.test_api.ApiTest" name="test02_bad" time="0.1">
  <failure message="AssertionError: 2 != 3&#10;more">trace</failure></testcase>
<testcase classname="test.test_api.ApiTest" name="test03_setup" time="0.1">
  <error message="NotFound: Resource not found">trace</error></testcase>
<testcase classname="test.test_search.SearchTest" name="test_skip" time="0.0">
  <skipped message="needs RUN_SEARCH_TESTS" type="pytest.skip">x</skipped></testcase>
<testcase classname="test.test_search.SearchTest" name="test_ok" time="0.1"/>
</testsuite></testsuites>
"""


def test_counts_errors_as_failures_and_leaves_sdk_skips_out(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)

    table = conformance.outcomes(junit)
    text, rate = conformance.report(table)

    assert table["test_api.py"]["failed"] == [
        ("ApiTest::test02_bad", "AssertionError: 2 != 3")
    ]
    assert [name for name, _ in table["test_api.py"]["error"]] == [
        "ApiTest::test03_setup"
    ]
    assert rate == pytest.approx(2 / 4)  # the skipped one is not in the denominator
    assert "| test_api.py | 1 | 1 | 1 | 0 | 33.3 % |" in text
    assert "| test_search.py | 1 | 0 | 0 | 1 | 100.0 % |" in text
    assert "| **all** | 2 | 1 | 1 | 1 | 50.0 % |" in text


def test_refuses_a_directory_without_the_sdk_helpers(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        conformance.main(["--sdk-tests", str(tmp_path)])
    assert exit_.value.code == 2
