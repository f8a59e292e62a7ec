"""workers/sql.py: the flows' named statements in .sql files."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from db import asset_columns
from workers import sql

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ROOT / "workers"
SQL_FILES = sorted(WORKERS.rglob("*.sql"))

TWO = """\
-- what the file holds

-- name: first
-- what first does: not part of it
SELECT 1
  -- a comment inside stays
  FROM t

-- name: second
  -- name-like text in a comment (name: x) is no header
UPDATE t SET a = :a
-- trailing comments are not part of it either
"""


def test_statements_by_name_without_the_comments_around_them() -> None:
    statements = sql.parse(TWO, "two.sql")
    assert statements.names() == ("first", "second")
    assert statements["first"] == "SELECT 1\n  -- a comment inside stays\n  FROM t"
    assert statements["second"] == "UPDATE t SET a = :a"


def test_a_name_defined_twice_is_an_error() -> None:
    text = "-- name: one\nSELECT 1\n-- name: two\nSELECT 2\n--name:  one\nSELECT 3\n"
    with pytest.raises(
        sql.SQLFileError, match=r"dup\.sql:5: statement 'one' defined twice"
    ):
        sql.parse(text, "dup.sql")


def test_a_missing_name_is_an_error_that_names_it() -> None:
    statements = sql.parse(TWO, "two.sql")
    with pytest.raises(
        sql.UnknownStatement, match=r"'third' in two\.sql.*first, second"
    ):
        statements["third"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "-- name: empty\n-- only a comment\n\n-- name: next\nSELECT 1\n",
            "'empty' is empty",
        ),
        ("-- name: last\n", "'last' is empty"),
        ("SELECT 0\n-- name: one\nSELECT 1\n", "SQL before the first"),
        ("-- name: Bad-Name\nSELECT 1\n", "bad statement name 'Bad-Name'"),
        ("-- name:\nSELECT 1\n", "bad statement name ''"),
    ],
)
def test_a_file_it_cannot_read_is_an_error(text: str, error: str) -> None:
    with pytest.raises(sql.SQLFileError, match=re.escape(error)):
        sql.parse(text, "bad.sql")


def test_a_file_is_parsed_once() -> None:
    assert sql.load("workers.inbox") is sql.load("workers.inbox")


def test_the_flows_have_their_files() -> None:
    assert {path.relative_to(WORKERS).as_posix() for path in SQL_FILES} >= {
        "inbox/queries.sql",
        "reconcile/queries.sql",
    }


@pytest.mark.parametrize(
    "path", SQL_FILES, ids=lambda p: p.relative_to(WORKERS).as_posix()
)
def test_every_statement_loads_and_is_used(path: Path) -> None:
    package = ".".join(path.parent.relative_to(ROOT).parts)
    statements = sql.load(package, path.name)
    assert statements.names()
    sources = "\n".join(p.read_text() for p in path.parent.glob("*.py"))
    text = path.read_text()
    for name in statements.names():
        assert statements[name].strip(), name
        # callers look a statement up by its name as a string literal; a fragment may
        # instead be included by another statement
        assert re.search(rf"""["']{name}["']""", sources) or re.search(
            rf"/\*\s*include:\s*{name}\s*\*/", text
        ), f"{name} is used by no module and included by no statement"


def test_a_statement_includes_a_fragment() -> None:
    statements = sql.parse(
        "-- name: rows\nVALUES (1)\n-- name: query\nSELECT * FROM /* include: rows */ AS t"
    )
    assert statements["query"] == "SELECT * FROM VALUES (1) AS t"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-- name: q\nSELECT /* include: nothing */", "unknown 'nothing'"),
        (
            "-- name: a\n/* include: b */\n-- name: b\n/* include: a */",
            "includes itself",
        ),
    ],
)
def test_a_bad_include_is_an_error(text: str, error: str) -> None:
    with pytest.raises(sql.SQLFileError, match=error):
        sql.parse(text)


def test_an_installed_package_has_the_files() -> None:
    """pyproject's package-data takes every .sql file beside a flow into the wheel."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]
    patterns = package_data["workers"]
    for path in SQL_FILES:
        relative = path.relative_to(WORKERS).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_apply_writes_every_column_of_its_rows() -> None:
    """insert_assets and update_assets carry each column of db/asset_columns.WRITTEN (a
    column added to MediaAsset is added to the statements as well)."""
    statements = sql.load("workers.inbox")
    for name in ("insert_assets", "update_assets"):
        words = set(re.findall(r"\w+", statements[name]))
        assert set(asset_columns.WRITTEN) <= words, name
